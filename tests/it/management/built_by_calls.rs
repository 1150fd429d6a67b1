//! APIs, authorizers and API keys made call by call through the management API serve as imported ones do.

use super::*;

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

/// A COGNITO_USER_POOLS authorizer made with the AWS CLI (CreateAuthorizer, PutMethod with
/// authorizationScopes) is enforced like an imported one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cognito_authorizer_created_through_the_api_is_enforced() {
    let gw = Gw::new();
    let pool = "us-east-1_MgmtPool1";
    gw.ok(&[
        "user-pool",
        "create",
        "mgmt",
        "--id",
        pool,
        "--client",
        "app",
    ]);
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "cognito-by-calls"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let created = aws.json(&[
        "create-authorizer",
        "--rest-api-id",
        &id,
        "--name",
        "users",
        "--type",
        "COGNITO_USER_POOLS",
        "--provider-arns",
        &format!("arn:aws:cognito-idp:us-east-1:123456789012:userpool/{pool}"),
        "--identity-source",
        "method.request.header.Authorization",
    ]);
    assert_eq!(created["type"], "COGNITO_USER_POOLS");
    let aid = s(&created["id"]).to_string();
    let calls = MethodCalls { aws: &aws, id: &id };
    let m = calls.ok(
        "put-method",
        &root,
        "GET",
        &[
            "--authorization-type",
            "COGNITO_USER_POOLS",
            "--authorizer-id",
            &aid,
            "--authorization-scopes",
            "orders/read",
        ],
    );
    assert_eq!(m["authorizationScopes"], serde_json::json!(["orders/read"]));
    calls.mock_answer(&root, "GET", "hello $context.authorizer.claims.sub");
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);

    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/"));
    let r = common::send(&client, "GET", &url, &[], "").await;
    assert_eq!(r.status, 401, "no token: {}", r.text());
    let id_token = gw.ok(&["token", "--user-pool", "mgmt", "--sub", "ana"]);
    let r = common::send(
        &client,
        "GET",
        &url,
        &[("authorization", id_token.trim())],
        "",
    )
    .await;
    assert_eq!(r.status, 401, "an ID token has no scope: {}", r.text());
    let other = gw.ok(&[
        "token",
        "--user-pool",
        "mgmt",
        "--sub",
        "ana",
        "--scope",
        "orders/write",
    ]);
    let r = common::send(&client, "GET", &url, &[("authorization", other.trim())], "").await;
    assert_eq!(r.status, 403, "wrong scope: {}", r.text());
    let access = gw.ok(&[
        "token",
        "--user-pool",
        "mgmt",
        "--sub",
        "ana",
        "--scope",
        "orders/read",
    ]);
    let r = common::send(
        &client,
        "GET",
        &url,
        &[("authorization", access.trim())],
        "",
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "hello ana"));
}
