//! The AWS CLI and boto3 drive the whole flow; SigV4 when it is required.

use super::*;

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

    // The stage's history saw every change made through the AWS API, as gw's verbs write them.
    let history: Value =
        serde_json::from_str(&gw.ok(&["stage", "history", "prod", "--json"])).unwrap();
    let seen: Vec<(&str, Option<f64>, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                s(&e["action"]),
                e["percent"].as_f64(),
                s(&e["deploymentId"]),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("deploy", None, d1.as_str()),
            ("deploy", Some(10.0), d1.as_str()),
            ("percent", Some(25.0), d1.as_str()),
            ("promote", Some(0.0), d2.as_str()),
        ],
        "{history:#}"
    );
    assert_eq!(history[3]["canaryDeploymentId"], d2.as_str());
    assert!(
        s(&history[3]["reason"]).starts_with("UpdateStage"),
        "{history:#}"
    );

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
