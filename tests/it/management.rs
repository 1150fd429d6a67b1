//! The AWS-compatible management API, driven by the real AWS CLI and boto3 (from PyPI, in the
//! repo's `.venv`, made by `scripts/setup-python.sh`) against the real `gw serve`.

use crate::common;

use common::Gw;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The repo's virtualenv, or a failure naming the script that makes it.
fn venv_bin(tool: &str) -> PathBuf {
    let p = common::root().join(".venv/bin").join(tool);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-python.sh (it creates .venv with the AWS CLI and boto3 from PyPI)",
        p.display()
    );
    p
}

/// The AWS CLI pointed at `addr`, with test credentials and no user configuration.
struct Aws {
    endpoint: String,
    access_key: String,
    secret: String,
}

impl Aws {
    fn new(addr: SocketAddr) -> Aws {
        Aws {
            endpoint: format!("http://{addr}"),
            access_key: "test".into(),
            secret: "test".into(),
        }
    }

    fn with_keys(addr: SocketAddr, key: &str, secret: &str) -> Aws {
        Aws {
            access_key: key.into(),
            secret: secret.into(),
            ..Aws::new(addr)
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(venv_bin("aws"))
            .args([
                "--endpoint-url",
                &self.endpoint,
                "--output",
                "json",
                "apigateway",
            ])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/gw-test-aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/gw-test-aws-credentials",
            )
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .current_dir(common::root())
            .output()
            .unwrap()
    }

    /// Run, assert success, parse stdout (empty stdout → Null).
    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "aws apigateway {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        }
    }

    /// Run, assert failure, return stderr (where the CLI prints `An error occurred (Code) ...`).
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "aws apigateway {args:?} should have failed"
        );
        String::from_utf8(out.stderr).unwrap()
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Import petstore and deploy `prod` (d1) with variables; returns (api id, d1).
fn import_and_deploy(aws: &Aws, backend: &str) -> (String, String) {
    let api = aws.json(&["import-rest-api", "--body", "fileb://specs/petstore.yaml"]);
    let id = s(&api["id"]).to_string();
    let d1 = aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--description",
        "v1",
    ]);
    let d1 = s(&d1["id"]).to_string();
    aws.json(&[
        "create-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--deployment-id",
        &d1,
        "--variables",
        &format!("backend={backend},version=v1"),
    ]);
    (id, d1)
}

#[test]
fn aws_cli_drives_the_whole_flow() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);

    // import-rest-api → get-rest-apis
    let api = aws.json(&["import-rest-api", "--body", "fileb://specs/petstore.yaml"]);
    let id = s(&api["id"]).to_string();
    assert_eq!(api["name"], "petstore");
    assert_eq!(api["version"], "1.0");
    assert_eq!(api["apiKeySource"], "HEADER");
    assert_eq!(api["endpointConfiguration"]["types"][0], "EDGE");
    assert!(api["createdDate"].is_number(), "epoch seconds: {api}");
    assert!(api["rootResourceId"].is_string());
    let apis = aws.json(&["get-rest-apis"]);
    assert_eq!(apis["items"].as_array().unwrap().len(), 1);
    assert_eq!(apis["items"][0]["id"], id.as_str());

    // get-resources (with and without embedded methods)
    let resources = aws.json(&["get-resources", "--rest-api-id", &id, "--embed", "methods"]);
    let items = resources["items"].as_array().unwrap();
    let pets = items.iter().find(|r| r["path"] == "/pets").unwrap();
    assert_eq!(pets["pathPart"], "pets");
    assert_eq!(pets["parentId"], api["rootResourceId"]);
    assert_eq!(
        pets["resourceMethods"]["GET"]["methodIntegration"]["type"],
        "HTTP_PROXY"
    );
    assert_eq!(
        pets["resourceMethods"]["OPTIONS"]["methodIntegration"]["integrationResponses"]["200"]
            ["statusCode"],
        "200"
    );
    let plain = aws.json(&["get-resources", "--rest-api-id", &id]);
    let pets_plain = plain["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "/pets")
        .unwrap();
    assert_eq!(pets_plain["resourceMethods"]["GET"], serde_json::json!({}));

    // create-deployment → create-stage
    let d1 = aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--description",
        "first",
    ]);
    let d1 = s(&d1["id"]).to_string();
    let stage = aws.json(&[
        "create-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--deployment-id",
        &d1,
        "--variables",
        "backend=localhost:1,version=v1,keep=yes",
    ]);
    assert_eq!(stage["stageName"], "prod");
    assert_eq!(stage["deploymentId"], d1.as_str());
    assert_eq!(stage["cacheClusterEnabled"], false);
    assert_eq!(stage["cacheClusterStatus"], "NOT_AVAILABLE");
    assert_eq!(stage["methodSettings"], serde_json::json!({}));
    assert_eq!(stage["tracingEnabled"], false);
    assert_eq!(stage["variables"]["version"], "v1");
    assert!(stage["createdDate"].is_number() && stage["lastUpdatedDate"].is_number());
    assert!(stage.get("canarySettings").is_none());

    // What the AWS CLI created, gw's own CLI shows.
    let gw_stages: Value = serde_json::from_str(&gw.ok(&["stages", "--json"])).unwrap();
    assert!(gw_stages.to_string().contains(&d1), "{gw_stages}");

    // create-deployment with --canary-settings
    let d2 = aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--canary-settings",
        "percentTraffic=10,stageVariableOverrides={version=v2}",
    ]);
    let d2 = s(&d2["id"]).to_string();
    let stage = aws.json(&["get-stage", "--rest-api-id", &id, "--stage-name", "prod"]);
    assert_eq!(stage["deploymentId"], d1.as_str(), "production unchanged");
    assert_eq!(stage["canarySettings"]["deploymentId"], d2.as_str());
    assert_eq!(stage["canarySettings"]["percentTraffic"], 10.0);
    assert_eq!(stage["canarySettings"]["useStageCache"], false);
    assert_eq!(
        stage["canarySettings"]["stageVariableOverrides"]["version"],
        "v2"
    );

    // update-stage percentTraffic
    let stage = aws.json(&[
        "update-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--patch-operations",
        "op=replace,path=/canarySettings/percentTraffic,value=25",
    ]);
    assert_eq!(stage["canarySettings"]["percentTraffic"], 25.0);

    // The three-operation promotion: production takes d2, overrides merge, canary kept at 0.
    let stage = aws.json(&[
        "update-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--patch-operations",
        "op=replace,path=/canarySettings/percentTraffic,value=0.0",
        "op=copy,from=/canarySettings/stageVariableOverrides,path=/variables",
        "op=copy,from=/canarySettings/deploymentId,path=/deploymentId",
    ]);
    assert_eq!(stage["deploymentId"], d2.as_str());
    assert_eq!(stage["variables"]["version"], "v2");
    assert_eq!(stage["variables"]["keep"], "yes");
    assert_eq!(stage["canarySettings"]["percentTraffic"], 0.0);

    // remove /canarySettings
    let stage = aws.json(&[
        "update-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--patch-operations",
        "op=remove,path=/canarySettings",
    ]);
    assert!(stage.get("canarySettings").is_none(), "{stage}");
    assert_eq!(stage["deploymentId"], d2.as_str());

    // get-stages / get-deployments
    let stages = aws.json(&["get-stages", "--rest-api-id", &id]);
    let item = stages["item"].as_array().unwrap();
    assert_eq!(item.len(), 1);
    assert_eq!(item[0]["deploymentId"], d2.as_str());
    let deployments = aws.json(&["get-deployments", "--rest-api-id", &id]);
    let ids: Vec<&str> = deployments["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| s(&d["id"]))
        .collect();
    assert_eq!(ids, [d1.as_str(), d2.as_str()]);
    assert_eq!(deployments["items"][0]["description"], "first");

    // Errors as the CLI reports them.
    let err = aws.fails(&[
        "delete-deployment",
        "--rest-api-id",
        &id,
        "--deployment-id",
        &d2,
    ]);
    assert!(
        err.contains("(BadRequestException) when calling the DeleteDeployment operation: Active stages pointing to this deployment must be moved or deleted"),
        "{err}"
    );
    let err = aws.fails(&["get-stage", "--rest-api-id", &id, "--stage-name", "nope"]);
    assert!(
        err.contains("(NotFoundException) when calling the GetStage operation: Invalid Stage identifier specified"),
        "{err}"
    );

    // get-export: the deployed API, with integration extensions on request.
    let out = gw.state().join("export.json");
    aws.json(&[
        "get-export",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--export-type",
        "oas30",
        "--parameters",
        "extensions=integrations",
        "--accepts",
        "application/json",
        out.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(doc["openapi"], "3.0.1");
    assert_eq!(
        doc["paths"]["/pets/{petId}"]["get"]["x-amazon-apigateway-integration"]
            ["requestParameters"]["integration.request.path.id"],
        "method.request.path.petId"
    );

    // delete: the deployment (no longer used), the stage, the API.
    assert_eq!(
        aws.json(&[
            "delete-deployment",
            "--rest-api-id",
            &id,
            "--deployment-id",
            &d1
        ]),
        Value::Null
    );
    aws.json(&["delete-stage", "--rest-api-id", &id, "--stage-name", "prod"]);
    assert_eq!(
        aws.json(&["get-stages", "--rest-api-id", &id])["item"],
        serde_json::json!([])
    );
    aws.json(&["delete-rest-api", "--rest-api-id", &id]);
    assert_eq!(aws.json(&["get-rest-apis"])["items"], serde_json::json!([]));
    assert!(gw.ok(&["apis"]).contains("no APIs") || !gw.ok(&["apis"]).contains(&id));
}

#[test]
fn boto3_flow_and_exact_errors() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let out = Command::new(venv_bin("python"))
        .arg(common::root().join("tests/python/boto3_flow.py"))
        .arg(format!("http://{}", server.addr))
        .arg(common::root().join("specs/petstore.yaml"))
        .env("AWS_CONFIG_FILE", "/nonexistent/gw-test-aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/gw-test-aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("ok"),
        "boto3 script failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A stage the AWS CLI created answers at its stage URL with the canary split, and `gw promote`
/// shows in `aws apigateway get-stage`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_created_stage_serves_a_canary_split_and_gw_promote_shows_in_get_stage() {
    let backend = common::echo_upstream("backend").await;
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let (id, d1) = import_and_deploy(&aws, &backend.to_string());
    let d2 = aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--canary-settings",
        "percentTraffic=50,stageVariableOverrides={version=v2}",
    ]);
    let d2 = s(&d2["id"]).to_string();

    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/pets"));
    // No waiting: a management call answers only once its change is served.
    // Forced choices.
    let forced = |target: &'static str| {
        let client = client.clone();
        let url = url.clone();
        async move { common::send(&client, "GET", &url, &[("x-gw-target", target)], "").await }
    };
    let r = forced("canary").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-gw-canary"), Some("true"));
    assert_eq!(r.header("x-gw-deployment"), Some(d2.as_str()));
    assert_eq!(
        r.json()["path"],
        "/v2/pets",
        "canary sees the overridden variable"
    );
    let r = forced("production").await;
    assert_eq!(r.header("x-gw-canary"), Some("false"));
    assert_eq!(r.header("x-gw-deployment"), Some(d1.as_str()));
    assert_eq!(r.json()["path"], "/v1/pets");

    // The random split at 50 %: both sides answer, each with its own variables.
    let (mut canary, mut production) = (0, 0);
    for _ in 0..60 {
        let r = common::get(&client, &url).await;
        assert_eq!(r.status, 200, "{}", r.text());
        match r.header("x-gw-canary") {
            Some("true") => {
                canary += 1;
                assert_eq!(r.json()["path"], "/v2/pets");
            }
            Some("false") => {
                production += 1;
                assert_eq!(r.json()["path"], "/v1/pets");
            }
            other => panic!("x-gw-canary: {other:?}"),
        }
    }
    // P(either side < 10 of 60 at p = 0.5) < 1e-7.
    assert!(
        canary >= 10 && production >= 10,
        "canary {canary}, production {production}"
    );

    // gw promote → the AWS CLI sees it.
    gw.ok(&["promote", "--stage", "prod"]);
    let stage = aws.json(&["get-stage", "--rest-api-id", &id, "--stage-name", "prod"]);
    assert_eq!(stage["deploymentId"], d2.as_str());
    assert_eq!(stage["variables"]["version"], "v2");
    assert!(stage.get("canarySettings").is_none(), "{stage}");

    // And the data plane has followed the promotion by the time `gw promote` returned.
    let r = common::get(&client, &url).await;
    assert_eq!(r.header("x-gw-deployment"), Some(d2.as_str()));
    assert_eq!(r.header("x-gw-canary"), Some("false"));
    assert_eq!(r.json()["path"], "/v2/pets");
}

#[test]
fn require_sigv4_refuses_wrong_signatures_and_accepts_the_right_one() {
    let gw = Gw::new();
    let server = gw.serve(&["--require-sigv4", "AKIDLOCAL:localsecret"]);

    let wrong_secret = Aws::with_keys(server.addr, "AKIDLOCAL", "not-the-secret");
    let err = wrong_secret.fails(&["get-rest-apis"]);
    assert!(
        err.contains("(InvalidSignatureException) when calling the GetRestApis operation: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."),
        "{err}"
    );
    let wrong_key = Aws::with_keys(server.addr, "AKIDOTHER", "localsecret");
    let err = wrong_key.fails(&["get-rest-apis"]);
    assert!(
        err.contains("(UnrecognizedClientException) when calling the GetRestApis operation: The security token included in the request is invalid."),
        "{err}"
    );

    // Correctly signed: reads, a raw-body import (payload hash), a query (canonical query) and
    // a PATCH with a JSON body all pass.
    let right = Aws::with_keys(server.addr, "AKIDLOCAL", "localsecret");
    assert_eq!(
        right.json(&["get-rest-apis"])["items"],
        serde_json::json!([])
    );
    let (id, _) = import_and_deploy(&right, "localhost:1");
    let resources = right.json(&["get-resources", "--rest-api-id", &id, "--embed", "methods"]);
    assert!(resources["items"].as_array().unwrap().len() >= 3);
    let stage = right.json(&[
        "update-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--patch-operations",
        "op=replace,path=/variables/note,value=a:b/c?d=e",
    ]);
    assert_eq!(stage["variables"]["note"], "a:b/c?d=e");
    // A wrong signature changes nothing.
    let err = wrong_secret.fails(&["delete-rest-api", "--rest-api-id", &id]);
    assert!(err.contains("InvalidSignatureException"), "{err}");
    assert_eq!(
        right.json(&["get-rest-apis"])["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// `aws apigateway CMD --rest-api-id ID --resource-id RID --http-method VERB EXTRA...`: the calls
/// on one method of one resource.
struct MethodCalls<'a> {
    aws: &'a Aws,
    id: &'a str,
}

impl MethodCalls<'_> {
    fn args<'s>(
        &'s self,
        cmd: &'s str,
        rid: &'s str,
        verb: &'s str,
        extra: &[&'s str],
    ) -> Vec<&'s str> {
        let mut args = vec![
            cmd,
            "--rest-api-id",
            self.id,
            "--resource-id",
            rid,
            "--http-method",
            verb,
        ];
        args.extend_from_slice(extra);
        args
    }

    fn ok(&self, cmd: &str, rid: &str, verb: &str, extra: &[&str]) -> Value {
        self.aws.json(&self.args(cmd, rid, verb, extra))
    }

    fn fails(&self, cmd: &str, rid: &str, verb: &str, extra: &[&str]) -> String {
        self.aws.fails(&self.args(cmd, rid, verb, extra))
    }

    /// A MOCK integration on an existing method answering 200 with `answer` (a template).
    fn mock_answer(&self, rid: &str, verb: &str, answer: &str) {
        let template = r#"{"application/json": "{\"statusCode\": 200}"}"#;
        self.ok(
            "put-integration",
            rid,
            verb,
            &["--type", "MOCK", "--request-templates", template],
        );
        self.ok("put-method-response", rid, verb, &["--status-code", "200"]);
        let answer = serde_json::json!({ "application/json": answer }).to_string();
        self.ok(
            "put-integration-response",
            rid,
            verb,
            &["--status-code", "200", "--response-templates", &answer],
        );
    }
}

/// Terraform's `aws_api_gateway_resource` / `_method` / `_integration` / `_method_response` /
/// `_integration_response` path, through the AWS CLI: an API built call by call, deployed, and
/// answering at its stage URL; then the same pieces read back and removed, with AWS's errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_built_call_by_call_serves_after_deployment() {
    let backend = common::echo_upstream("built").await;
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "built"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let calls = MethodCalls { aws: &aws, id: &id };
    let create = |parent: &str, part: &str| {
        aws.run(&[
            "create-resource",
            "--rest-api-id",
            &id,
            "--parent-id",
            parent,
            "--path-part",
            part,
        ])
    };
    let json = |out: std::process::Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };

    let items = json(create(&root, "items"));
    assert_eq!(items["path"], "/items");
    assert_eq!(items["parentId"], root.as_str());
    let items = s(&items["id"]).to_string();
    let item = json(create(&items, "{id}"));
    assert_eq!(item["path"], "/items/{id}");
    let item = s(&item["id"]).to_string();

    // GET /items: a MOCK with a method response and an integration response template.
    let none = ["--authorization-type", "NONE"];
    let m = calls.ok("put-method", &items, "GET", &none);
    assert_eq!(m["httpMethod"], "GET");
    assert_eq!(m["authorizationType"], "NONE");
    let template = r#"{"application/json": "{\"statusCode\": 200}"}"#;
    let i = calls.ok(
        "put-integration",
        &items,
        "GET",
        &["--type", "MOCK", "--request-templates", template],
    );
    assert_eq!(i["type"], "MOCK");
    assert_eq!(i["passthroughBehavior"], "WHEN_NO_MATCH");
    assert_eq!(i["timeoutInMillis"], 29000);
    let status = ["--status-code", "200"];
    let declared = "method.response.header.X-Kind=false";
    let mr = calls.ok(
        "put-method-response",
        &items,
        "GET",
        &[&status[..], &["--response-parameters", declared]].concat(),
    );
    assert_eq!(mr["statusCode"], "200");
    let mapped = r#"{"method.response.header.X-Kind": "'mock'"}"#;
    let answer = r#"{"application/json": "{\"stage\": \"$context.stage\"}"}"#;
    let ir = calls.ok(
        "put-integration-response",
        &items,
        "GET",
        &[
            &status[..],
            &[
                "--response-parameters",
                mapped,
                "--response-templates",
                answer,
            ],
        ]
        .concat(),
    );
    assert_eq!(ir["statusCode"], "200");
    assert_eq!(
        ir["responseParameters"]["method.response.header.X-Kind"],
        "'mock'"
    );

    // ANY /items/{id}: HTTP_PROXY to the echo backend with the path parameter mapped.
    calls.ok("put-method", &item, "ANY", &none);
    let uri = format!("http://{backend}/things/{{id}}");
    calls.ok(
        "put-integration",
        &item,
        "ANY",
        &[
            "--type",
            "HTTP_PROXY",
            "--integration-http-method",
            "ANY",
            "--uri",
            &uri,
            "--request-parameters",
            "integration.request.path.id=method.request.path.id",
        ],
    );

    // Read back as Terraform does after each create.
    let got = calls.ok("get-method", &items, "GET", &[]);
    assert_eq!(got["methodResponses"]["200"]["statusCode"], "200");
    assert_eq!(
        got["methodIntegration"]["integrationResponses"]["200"]["responseTemplates"]
            ["application/json"],
        "{\"stage\": \"$context.stage\"}"
    );
    let got = calls.ok("get-method-response", &items, "GET", &status);
    assert_eq!(
        got["responseParameters"]["method.response.header.X-Kind"],
        false
    );
    let got = calls.ok("get-integration-response", &items, "GET", &status);
    assert_eq!(got["statusCode"], "200");

    // Nothing is served before a deployment; after it, both routes answer.
    let client = common::client();
    let url = |path: &str| server.url(&format!("/_aws/execute-api/{id}/dev{path}"));
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "dev",
    ]);
    let r = common::get(&client, &url("/items")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"stage": "dev"}));
    assert_eq!(r.header("x-kind"), Some("mock"));
    let r = common::send(&client, "DELETE", &url("/items/42"), &[], "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/things/42");
    assert_eq!(r.json()["method"], "DELETE");

    // AWS's refusals.
    let stderr = |out: std::process::Output| {
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = stderr(create(&root, "items"));
    assert!(err.contains("(ConflictException)"), "{err}");
    assert!(
        err.contains("Another resource with the same parent already has this name: items"),
        "{err}"
    );
    let err = stderr(create(&items, "{other}"));
    assert!(err.contains("A sibling ({id}) of this resource already has a variable path part -- only one is allowed"), "{err}");
    let err = calls.fails("put-method", &items, "GET", &none);
    assert!(
        err.contains("(ConflictException)")
            && err.contains("Method already exists for this resource"),
        "{err}"
    );
    let err = calls.fails("put-method", &items, "TRACE", &none);
    assert!(
        err.contains("(BadRequestException)") && err.contains("Invalid HttpMethod specified"),
        "{err}"
    );
    let err = calls.fails(
        "put-integration",
        &item,
        "ANY",
        &["--type", "HTTP_PROXY", "--integration-http-method", "GET"],
    );
    assert!(
        err.contains("(BadRequestException)") && err.contains("uri"),
        "{err}"
    );
    let err = aws.fails(&[
        "delete-resource",
        "--rest-api-id",
        &id,
        "--resource-id",
        &root,
    ]);
    assert!(err.contains("(BadRequestException)"), "{err}");

    // Removal, piece by piece, then the resource with what is under it.
    calls.ok("delete-integration-response", &items, "GET", &status);
    calls.ok("delete-method-response", &items, "GET", &status);
    calls.ok("delete-integration", &items, "GET", &[]);
    let err = calls.fails("get-integration", &items, "GET", &[]);
    assert!(err.contains("(NotFoundException)"), "{err}");
    calls.ok("delete-method", &items, "GET", &[]);
    aws.json(&[
        "delete-resource",
        "--rest-api-id",
        &id,
        "--resource-id",
        &items,
    ]);
    let resources = aws.json(&["get-resources", "--rest-api-id", &id]);
    let paths: Vec<&str> = resources["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| s(&r["path"]))
        .collect();
    assert_eq!(paths, ["/"]);
    // The deployment is frozen: the stage still serves what was deployed.
    let r = common::get(&client, &url("/items")).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Terraform's `aws_api_gateway_authorizer` path through the AWS CLI: a TOKEN authorizer created,
/// listed and attached to a method with `authorizationType CUSTOM`; the deployed method calls the
/// `authorizer` example function; AWS's refusals for a bad authorizer id and for deleting an
/// authorizer a method still uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorizer_created_through_the_api_guards_its_method() {
    let gw = Gw::new();
    gw.ok(&[
        "function",
        "put",
        "authorizer",
        common::guest("authorizer").to_str().unwrap(),
    ]);
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "guarded"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:authorizer/invocations";
    let created = aws.json(&[
        "create-authorizer",
        "--rest-api-id",
        &id,
        "--name",
        "tokens",
        "--type",
        "TOKEN",
        "--authorizer-uri",
        uri,
        "--identity-source",
        "method.request.header.Authorization",
        "--authorizer-result-ttl-in-seconds",
        "0",
    ]);
    assert_eq!(created["name"], "tokens");
    assert_eq!(created["type"], "TOKEN");
    assert_eq!(created["authorizerResultTtlInSeconds"], 0);
    let aid = s(&created["id"]).to_string();
    let listed = aws.json(&["get-authorizers", "--rest-api-id", &id]);
    assert_eq!(listed["items"][0]["id"], aid.as_str());
    let one = aws.json(&[
        "get-authorizer",
        "--rest-api-id",
        &id,
        "--authorizer-id",
        &aid,
    ]);
    assert_eq!(one["authorizerUri"], uri);
    let updated = aws.json(&[
        "update-authorizer",
        "--rest-api-id",
        &id,
        "--authorizer-id",
        &aid,
        "--patch-operations",
        "op=replace,path=/authorizerResultTtlInSeconds,value=120",
    ]);
    assert_eq!(updated["authorizerResultTtlInSeconds"], 120);
    let err = aws.fails(&[
        "update-authorizer",
        "--rest-api-id",
        &id,
        "--authorizer-id",
        &aid,
        "--patch-operations",
        "op=replace,path=/authorizerResultTtlInSeconds,value=9999",
    ]);
    assert!(err.contains("BadRequestException"), "{err}");
    let err = aws.fails(&[
        "create-authorizer",
        "--rest-api-id",
        &id,
        "--name",
        "tokens",
        "--type",
        "TOKEN",
        "--authorizer-uri",
        uri,
        "--identity-source",
        "method.request.header.Authorization",
    ]);
    assert!(err.contains("ConflictException"), "{err}");

    let calls = MethodCalls { aws: &aws, id: &id };
    let err = calls.fails(
        "put-method",
        &root,
        "GET",
        &["--authorization-type", "CUSTOM", "--authorizer-id", "nope"],
    );
    assert!(
        err.contains("BadRequestException") && err.contains("Invalid authorizer ID specified"),
        "{err}"
    );
    let m = calls.ok(
        "put-method",
        &root,
        "GET",
        &["--authorization-type", "CUSTOM", "--authorizer-id", &aid],
    );
    assert_eq!(m["authorizationType"], "CUSTOM");
    assert_eq!(m["authorizerId"], aid.as_str());
    calls.mock_answer(&root, "GET", "hello $context.authorizer.principalId");
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);

    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/"));
    let r = common::send(
        &client,
        "GET",
        &url,
        &[("authorization", "Bearer gina")],
        "",
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "hello gina"));
    let r = common::send(&client, "GET", &url, &[], "").await;
    assert_eq!(r.status, 401, "{}", r.text());
    let r = common::send(
        &client,
        "GET",
        &url,
        &[("authorization", "Bearer deny")],
        "",
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());

    let err = aws.fails(&[
        "delete-authorizer",
        "--rest-api-id",
        &id,
        "--authorizer-id",
        &aid,
    ]);
    assert!(
        err.contains("ConflictException") && err.contains("GET /"),
        "{err}"
    );
    calls.ok("delete-method", &root, "GET", &[]);
    aws.json(&[
        "delete-authorizer",
        "--rest-api-id",
        &id,
        "--authorizer-id",
        &aid,
    ]);
    let listed = aws.json(&["get-authorizers", "--rest-api-id", &id]);
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );
}

/// A deployed API (stage `prod`) whose root GET is a MOCK answering "keyed" and requires an API
/// key; returns its id.
fn api_requiring_a_key(aws: &Aws) -> String {
    let api = aws.json(&["create-rest-api", "--name", "keyed"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let calls = MethodCalls { aws, id: &id };
    calls.ok(
        "put-method",
        &root,
        "GET",
        &["--authorization-type", "NONE", "--api-key-required"],
    );
    calls.mock_answer(&root, "GET", "keyed");
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);

    id
}

/// Terraform's `aws_api_gateway_api_key` / `_usage_plan` / `_usage_plan_key` path through the AWS
/// CLI: a key in a usage plan bound to a stage opens the stage's `apiKeyRequired` methods; a
/// disabled key, a key taken out of the plan, or none at all gets AWS's 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_usage_plans_open_methods_that_require_a_key() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let id = api_requiring_a_key(&aws);

    let key = aws.json(&["create-api-key", "--name", "ci", "--enabled"]);
    let key_id = s(&key["id"]).to_string();
    let value = s(&key["value"]).to_string();
    assert_eq!(key["enabled"], true);
    let off = aws.json(&[
        "create-api-key",
        "--name",
        "off",
        "--value",
        "disabled-key-0123456789",
    ]);
    assert_eq!(
        off["enabled"], false,
        "AWS creates keys disabled by default"
    );
    let stages = format!("apiId={id},stage=prod");
    let plan = aws.json(&[
        "create-usage-plan",
        "--name",
        "basic",
        "--api-stages",
        &stages,
    ]);
    let plan_id = s(&plan["id"]).to_string();
    assert_eq!(plan["apiStages"][0]["apiId"], id.as_str());
    let err = aws.fails(&[
        "create-usage-plan",
        "--name",
        "nowhere",
        "--api-stages",
        &format!("apiId={id},stage=qa"),
    ]);
    assert!(err.contains("BadRequestException"), "{err}");
    for k in [&key_id, s(&off["id"])] {
        let pk = aws.json(&[
            "create-usage-plan-key",
            "--usage-plan-id",
            &plan_id,
            "--key-id",
            k,
            "--key-type",
            "API_KEY",
        ]);
        assert_eq!(pk["type"], "API_KEY");
    }
    let keys = aws.json(&["get-usage-plan-keys", "--usage-plan-id", &plan_id]);
    assert_eq!(keys["items"].as_array().map(Vec::len), Some(2), "{keys}");
    let listed = aws.json(&["get-api-keys", "--include-values"]);
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["value"] == value.as_str()),
        "{listed}"
    );
    let one = aws.json(&["get-api-key", "--api-key", &key_id]);
    assert!(one.get("value").is_none(), "no value unless asked: {one}");

    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/"));
    let r = common::send(&client, "GET", &url, &[("x-api-key", value.as_str())], "").await;
    assert_eq!((r.status, r.text().as_str()), (200, "keyed"));
    let forbidden = r#"{"message":"Forbidden"}"#;
    for headers in [
        vec![],
        vec![("x-api-key", "disabled-key-0123456789")],
        vec![("x-api-key", "nobody-0123456789abcdef")],
    ] {
        let r = common::send(&client, "GET", &url, &headers, "").await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (403, forbidden),
            "{headers:?}"
        );
    }

    // UpdateApiKey: a disabled key is refused, an enabled one accepted again.
    for (enabled, status) in [("false", 403), ("true", 200)] {
        let k = aws.json(&[
            "update-api-key",
            "--api-key",
            &key_id,
            "--patch-operations",
            &format!("op=replace,path=/enabled,value={enabled}"),
        ]);
        assert_eq!(k["enabled"], enabled == "true");
        let r = common::send(&client, "GET", &url, &[("x-api-key", value.as_str())], "").await;
        assert_eq!(r.status, status, "enabled={enabled}: {}", r.text());
    }
    aws.json(&[
        "delete-usage-plan-key",
        "--usage-plan-id",
        &plan_id,
        "--key-id",
        &key_id,
    ]);
    let r = common::send(&client, "GET", &url, &[("x-api-key", value.as_str())], "").await;
    assert_eq!(r.status, 403, "{}", r.text());
    aws.json(&["delete-usage-plan", "--usage-plan-id", &plan_id]);
    aws.json(&["delete-api-key", "--api-key", &key_id]);
    let err = aws.fails(&["get-api-key", "--api-key", &key_id]);
    assert!(err.contains("NotFoundException"), "{err}");
}

/// A usage plan's `throttle` and `quota` through the AWS CLI: past the burst (with a rate too slow
/// to refill during the test) a key gets 429 "Too Many Requests"; past the quota, 429 "Limit
/// Exceeded"; each key spends its own allowance. (The quota is per UTC day: a run that crosses
/// midnight UTC between the calls would see it reset.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_plan_throttle_and_quota_answer_429() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let id = api_requiring_a_key(&aws);
    let stages = format!("apiId={id},stage=prod");
    // (value, id)
    let key = |name: &str| -> (String, String) {
        let k = aws.json(&["create-api-key", "--name", name, "--enabled"]);
        (s(&k["value"]).to_string(), s(&k["id"]).to_string())
    };
    let plan = |name: &str, limit: &[&str]| -> String {
        let mut args = vec!["create-usage-plan", "--name", name, "--api-stages", &stages];
        args.extend_from_slice(limit);
        let p = aws.json(&args);
        s(&p["id"]).to_string()
    };
    let join = |plan_id: &str, (_, key_id): &(String, String)| {
        aws.json(&[
            "create-usage-plan-key",
            "--usage-plan-id",
            plan_id,
            "--key-id",
            key_id,
            "--key-type",
            "API_KEY",
        ]);
    };
    let slow = plan("slow", &["--throttle", "burstLimit=2,rateLimit=0.001"]);
    let (a, b) = (key("a"), key("b"));
    join(&slow, &a);
    join(&slow, &b);
    let capped = plan("capped", &["--quota", "limit=3,period=DAY"]);
    let c = key("c");
    join(&capped, &c);

    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/"));
    let call = |(value, _): &(String, String)| {
        let (client, url, value) = (client.clone(), url.clone(), value.clone());
        async move { common::send(&client, "GET", &url, &[("x-api-key", value.as_str())], "").await }
    };
    for _ in 0..2 {
        assert_eq!(call(&a).await.status, 200);
    }
    let r = call(&a).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (429, r#"{"message":"Too Many Requests"}"#)
    );
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    assert_eq!(call(&b).await.status, 200, "b has its own bucket");

    for _ in 0..3 {
        assert_eq!(call(&c).await.status, 200);
    }
    let r = call(&c).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (429, r#"{"message":"Limit Exceeded"}"#)
    );
    assert_eq!(r.header("x-amzn-errortype"), Some("LimitExceededException"));

    // UpdateUsagePlan: a higher quota lets c on (3 of 10 used); without a throttle, a goes on.
    let updated = aws.json(&[
        "update-usage-plan",
        "--usage-plan-id",
        &capped,
        "--patch-operations",
        "op=replace,path=/quota/limit,value=10",
    ]);
    assert_eq!(updated["quota"]["limit"], 10.0);
    assert_eq!(call(&c).await.status, 200);
    aws.json(&[
        "update-usage-plan",
        "--usage-plan-id",
        &slow,
        "--patch-operations",
        "op=remove,path=/throttle",
    ]);
    for _ in 0..3 {
        assert_eq!(call(&a).await.status, 200);
    }
    let err = aws.fails(&[
        "update-usage-plan",
        "--usage-plan-id",
        &slow,
        "--patch-operations",
        "op=replace,path=/quota/period,value=YEAR",
    ]);
    assert!(err.contains("BadRequestException"), "{err}");
}

/// Terraform's `aws_api_gateway_model` / `_request_validator` path through the AWS CLI: models
/// (one referring to another by AWS's model URL) and a body validator attached with PutMethod;
/// the deployed method refuses a body its model does not accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_and_request_validators_made_through_the_api_check_bodies() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "models"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let model = |name: &str, schema: &str| {
        aws.json(&[
            "create-model",
            "--rest-api-id",
            &id,
            "--name",
            name,
            "--content-type",
            "application/json",
            "--schema",
            schema,
        ])
    };
    model(
        "Owner",
        r#"{"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}}"#,
    );
    let pet = model(
        "Pet",
        &format!(
            r#"{{"type": "object", "required": ["name"], "properties": {{"name": {{"type": "string"}},
               "owner": {{"$ref": "https://apigateway.amazonaws.com/restapis/{id}/models/Owner"}}}}}}"#
        ),
    );
    assert_eq!(pet["name"], "Pet");
    let err = aws.fails(&[
        "create-model",
        "--rest-api-id",
        &id,
        "--name",
        "Bad",
        "--content-type",
        "application/json",
        "--schema",
        "{not json",
    ]);
    assert!(err.contains("BadRequestException"), "{err}");
    let models = aws.json(&["get-models", "--rest-api-id", &id]);
    assert_eq!(
        models["items"].as_array().map(Vec::len),
        Some(2),
        "{models}"
    );

    let v = aws.json(&[
        "create-request-validator",
        "--rest-api-id",
        &id,
        "--name",
        "body",
        "--validate-request-body",
    ]);
    let vid = s(&v["id"]).to_string();
    assert_eq!(v["validateRequestBody"], true);
    let calls = MethodCalls { aws: &aws, id: &id };
    let err = calls.fails(
        "put-method",
        &root,
        "POST",
        &[
            "--authorization-type",
            "NONE",
            "--request-models",
            "application/json=Nope",
        ],
    );
    assert!(err.contains("BadRequestException"), "{err}");
    let m = calls.ok(
        "put-method",
        &root,
        "POST",
        &[
            "--authorization-type",
            "NONE",
            "--request-validator-id",
            &vid,
            "--request-models",
            "application/json=Pet",
        ],
    );
    assert_eq!(m["requestModels"]["application/json"], "Pet");
    calls.mock_answer(&root, "POST", "stored");
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);

    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/"));
    let json_type = [("content-type", "application/json")];
    let r = common::send(
        &client,
        "POST",
        &url,
        &json_type,
        r#"{"name": "Rex", "owner": {"email": "a@b"}}"#,
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "stored"));
    for bad in [
        r#"{"owner": {"email": "a@b"}}"#,
        r#"{"name": "Rex", "owner": {}}"#,
        "[]",
    ] {
        let r = common::send(&client, "POST", &url, &json_type, bad).await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (400, r#"{"message":"Invalid request body"}"#),
            "{bad}"
        );
    }

    // UpdateModel: Pet now needs an age too (it still refers to Owner); redeployed, it applies.
    let updated = aws.json(&[
        "update-model",
        "--rest-api-id",
        &id,
        "--model-name",
        "Pet",
        "--patch-operations",
        &serde_json::json!([{"op": "replace", "path": "/schema", "value": format!(
            r#"{{"type": "object", "required": ["name", "age"], "properties": {{"name": {{"type": "string"}},
               "owner": {{"$ref": "https://apigateway.amazonaws.com/restapis/{id}/models/Owner"}}}}}}"#
        )}])
        .to_string(),
    ]);
    assert!(s(&updated["schema"]).contains("age"), "{updated}");
    let err = aws.fails(&[
        "update-model",
        "--rest-api-id",
        &id,
        "--model-name",
        "Pet",
        "--patch-operations",
        r#"[{"op": "replace", "path": "/schema", "value": "{broken"}]"#,
    ]);
    assert!(err.contains("Invalid model schema specified"), "{err}");
    let redeploy = || {
        aws.json(&[
            "create-deployment",
            "--rest-api-id",
            &id,
            "--stage-name",
            "prod",
        ]);
    };
    redeploy();
    let r = common::send(&client, "POST", &url, &json_type, r#"{"name": "Rex"}"#).await;
    assert_eq!(r.status, 400, "age is required now");
    let r = common::send(
        &client,
        "POST",
        &url,
        &json_type,
        r#"{"name": "Rex", "age": 3}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    // UpdateRequestValidator: bodies no longer checked.
    let v = aws.json(&[
        "update-request-validator",
        "--rest-api-id",
        &id,
        "--request-validator-id",
        &vid,
        "--patch-operations",
        "op=replace,path=/validateRequestBody,value=false",
        "op=replace,path=/name,value=lenient",
    ]);
    assert_eq!(
        (v["validateRequestBody"].clone(), v["name"].clone()),
        (false.into(), "lenient".into())
    );
    redeploy();
    let r = common::send(&client, "POST", &url, &json_type, "[]").await;
    assert_eq!(r.status, 200, "the validator checks nothing now");

    let err = aws.fails(&["delete-model", "--rest-api-id", &id, "--model-name", "Pet"]);
    assert!(err.contains("ConflictException"), "{err}");
    let err = aws.fails(&[
        "delete-request-validator",
        "--rest-api-id",
        &id,
        "--request-validator-id",
        &vid,
    ]);
    assert!(err.contains("ConflictException"), "{err}");
    calls.ok("delete-method", &root, "POST", &[]);
    aws.json(&["delete-model", "--rest-api-id", &id, "--model-name", "Pet"]);
    aws.json(&[
        "delete-request-validator",
        "--rest-api-id",
        &id,
        "--request-validator-id",
        &vid,
    ]);
    let validators = aws.json(&["get-request-validators", "--rest-api-id", &id]);
    assert_eq!(
        validators["items"].as_array().map(Vec::len),
        Some(0),
        "{validators}"
    );
}

/// `aws apigateway update-stage` with method throttling (`/*/*/throttling/...` and one method's
/// own) and access-log settings, as the developer guide sets them: the limits answer 429 per
/// method, GetStage shows them in AWS's shape, and every request leaves an access-log line in the
/// stage's format (here in the file `gw serve --access-log` names).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_method_throttles_and_access_logs_follow_update_stage() {
    let gw = Gw::new();
    let log_path = gw.dir.path().join("access.log");
    let server = gw.serve(&["--access-log", log_path.to_str().unwrap()]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "limited"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let pets = aws.json(&[
        "create-resource",
        "--rest-api-id",
        &id,
        "--parent-id",
        &root,
        "--path-part",
        "pets",
    ]);
    let pets = s(&pets["id"]).to_string();
    let calls = MethodCalls { aws: &aws, id: &id };
    for rid in [&root, &pets] {
        calls.ok("put-method", rid, "GET", &["--authorization-type", "NONE"]);
        calls.mock_answer(rid, "GET", "ok");
    }
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);

    let format = r#"{"requestId":"$context.requestId","resourcePath":"$context.resourcePath","status":"$context.status","error":"$context.error.message","caller":"$context.identity.caller"}"#;
    let ops = serde_json::json!([
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"},
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.001"},
        {"op": "replace", "path": "/~1pets/GET/throttling/burstLimit", "value": "4"},
        {"op": "replace", "path": "/~1pets/GET/throttling/rateLimit", "value": "0.001"},
        {"op": "replace", "path": "/accessLogSettings/format", "value": format},
        {"op": "replace", "path": "/accessLogSettings/destinationArn",
         "value": "arn:aws:logs:us-east-1:000000000000:log-group:gw-access"},
    ])
    .to_string();
    let stage = aws.json(&[
        "update-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--patch-operations",
        &ops,
    ]);
    assert_eq!(stage["methodSettings"]["*/*"]["throttlingBurstLimit"], 2);
    assert_eq!(stage["methodSettings"]["*/*"]["throttlingRateLimit"], 0.001);
    assert_eq!(
        stage["methodSettings"]["pets/GET"]["throttlingBurstLimit"],
        4
    );
    assert_eq!(stage["methodSettings"]["*/*"]["cachingEnabled"], false);
    assert_eq!(stage["accessLogSettings"]["format"], format);
    let shown = aws.json(&["get-stage", "--rest-api-id", &id, "--stage-name", "prod"]);
    assert_eq!(shown["methodSettings"], stage["methodSettings"]);

    let client = common::client();
    let get = |path: &str| {
        let (client, url) = (
            client.clone(),
            server.url(&format!("/_aws/execute-api/{id}/prod{path}")),
        );
        async move { common::send(&client, "GET", &url, &[], "").await }
    };
    // `*/*` gives the root method 2 requests; /pets has its own bucket of 4.
    for _ in 0..2 {
        assert_eq!(get("/").await.status, 200);
    }
    let r = get("/").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (429, r#"{"message":"Too Many Requests"}"#)
    );
    for _ in 0..4 {
        assert_eq!(get("/pets").await.status, 200);
    }
    assert_eq!(get("/pets").await.status, 429);

    // Every request above has its line, in order, in the stage's format.
    let lines = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            if lines.len() >= 8 || std::time::Instant::now() > deadline {
                break lines;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    assert_eq!(lines.len(), 8, "{lines:#?}");
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(parsed[0]["resourcePath"], "/");
    assert_eq!(parsed[0]["status"], "200");
    assert_eq!(parsed[0]["error"], "-");
    assert_eq!(parsed[0]["caller"], "-");
    assert_eq!(parsed[2]["status"], "429");
    assert_eq!(parsed[2]["error"], "Too Many Requests");
    assert_eq!(parsed[7]["resourcePath"], "/pets");
    assert_eq!(parsed[7]["status"], "429");
    assert!(parsed.iter().all(|p| s(&p["requestId"]).len() == 36));

    // Limits and logs removed: the root answers again, and no more lines are written.
    let ops = serde_json::json!([
        {"op": "remove", "path": "/*/*/throttling/rateLimit"},
        {"op": "remove", "path": "/accessLogSettings"},
    ])
    .to_string();
    let stage = aws.json(&[
        "update-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--patch-operations",
        &ops,
    ]);
    assert!(stage.get("accessLogSettings").is_none());
    assert!(stage["methodSettings"].get("*/*").is_none());
    assert_eq!(get("/").await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(text.lines().count(), 8);

    // AWS's checks on the settings themselves.
    let e = aws.fails(&[
        "update-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--patch-operations",
        "op=replace,path=/accessLogSettings/format,value=$context.status",
    ]);
    assert!(
        e.contains("Access Log format must contain at least one of $context.requestId or $context.extendedRequestId"),
        "{e}"
    );
}

/// A usage plan's per-method throttle (`apiStages[].throttle`, keyed `/RESOURCE_PATH/METHOD`)
/// takes the place of the plan's own for that method; and a key may sit in only one plan per API
/// stage, as on AWS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_plan_method_throttles_and_one_plan_per_key_and_stage() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let id = api_requiring_a_key(&aws);
    let stages = serde_json::json!([{
        "apiId": id,
        "stage": "prod",
        "throttle": {"//GET": {"burstLimit": 1, "rateLimit": 0.001}}
    }])
    .to_string();
    let plan = aws.json(&[
        "create-usage-plan",
        "--name",
        "per-method",
        "--api-stages",
        &stages,
        "--throttle",
        "burstLimit=100,rateLimit=100",
    ]);
    assert_eq!(plan["apiStages"][0]["throttle"]["//GET"]["burstLimit"], 1.0);
    let plan_id = s(&plan["id"]).to_string();
    let key = aws.json(&["create-api-key", "--name", "k", "--enabled"]);
    let (key_id, value) = (s(&key["id"]).to_string(), s(&key["value"]).to_string());
    let join = |plan: &str| {
        vec![
            "create-usage-plan-key".to_string(),
            "--usage-plan-id".to_string(),
            plan.to_string(),
            "--key-id".to_string(),
            key_id.clone(),
            "--key-type".to_string(),
            "API_KEY".to_string(),
        ]
    };
    let args = join(&plan_id);
    aws.json(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/"));
    let call = || {
        let (client, url, value) = (client.clone(), url.clone(), value.clone());
        async move { common::send(&client, "GET", &url, &[("x-api-key", value.as_str())], "").await }
    };
    assert_eq!(call().await.status, 200);
    let r = call().await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (429, r#"{"message":"Too Many Requests"}"#),
        "the method's burst of 1, not the plan's 100"
    );

    let other = aws.json(&[
        "create-usage-plan",
        "--name",
        "other",
        "--api-stages",
        &format!("apiId={id},stage=prod"),
    ]);
    let args = join(s(&other["id"]));
    let e = aws.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(e.contains("ConflictException"), "{e}");
    assert!(
        e.contains("cannot reference multiple Usage Plans with the same API Stage"),
        "{e}"
    );
}

/// AWS_IAM methods on the data plane, called by botocore-signed requests (service
/// `execute-api`): with `gw serve --require-sigv4 KEY:SECRET` a request signed with that key
/// passes (its body read and passed on), a wrong secret or another key gets AWS's 403, and an
/// unsigned request "Missing Authentication Token".
#[test]
fn aws_iam_methods_verify_botocore_signatures() {
    let spec = serde_json::json!({
        "openapi": "3.0.1",
        "info": {"title": "iam", "version": "1"},
        "components": {"securitySchemes": {"sigv4": {
            "type": "apiKey", "name": "Authorization", "in": "header",
            "x-amazon-apigateway-authtype": "awsSigv4"
        }}},
        "paths": {"/secure": {"x-amazon-apigateway-any-method": {
            "security": [{"sigv4": []}],
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "mock",
                "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                "responses": {"default": {
                    "statusCode": "200",
                    "responseTemplates": {"application/json": "hello $context.httpMethod"}
                }}
            }
        }}}
    });
    let gw = Gw::new();
    assert_eq!(
        gw.import_spec("iam.json", &spec),
        serde_json::json!([]),
        "IAM authorization is honoured"
    );
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&["--require-sigv4", "AKIDGW:gw-secret"]);
    let out = Command::new(venv_bin("python"))
        .arg(common::root().join("tests/python/iam_invoke.py"))
        .arg(server.url("/prod/secure"))
        .args(["AKIDGW", "gw-secret"])
        .env("AWS_CONFIG_FILE", "/nonexistent/gw-test-aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/gw-test-aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "200 hello POST",
            "200 hello GET",
            r#"403 {"message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}"#,
            r#"403 {"message":"The security token included in the request is invalid."}"#,
            r#"403 {"message":"Missing Authentication Token"}"#,
        ]
    );
}
