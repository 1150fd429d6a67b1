//! The Update* calls Terraform and the CDK make on a second apply, driven by the AWS CLI with the
//! patch paths Terraform's resources send (terraform-provider-aws, `internal/service/apigateway`):
//! `aws_api_gateway_method` (`/authorizationType`, `/apiKeyRequired`, `/operationName`,
//! `/requestParameters/NAME`, `/requestModels/CT`), `aws_api_gateway_integration` (`/uri`,
//! `/timeoutInMillis`, `/passthroughBehavior`, `/requestTemplates/CT`,
//! `/requestParameters/NAME`, `/cacheKeyParameters/NAME`), `aws_api_gateway_method_response`
//! (`/responseParameters/NAME`, `/responseModels/CT`), `aws_api_gateway_integration_response`
//! (`/selectionPattern`, `/responseTemplates/CT`, `/responseParameters/NAME`),
//! `aws_api_gateway_resource` (`/pathPart`, `/parentId`) and `aws_api_gateway_deployment`
//! (`/description`); the data plane serves what they changed.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_calls_with_terraforms_patch_paths_change_what_is_served() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "tf"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let res = aws.json(&[
        "create-resource",
        "--rest-api-id",
        &id,
        "--parent-id",
        &root,
        "--path-part",
        "old",
    ]);
    let rid = s(&res["id"]).to_string();
    let calls = MethodCalls { aws: &aws, id: &id };
    calls.ok("put-method", &rid, "GET", &["--authorization-type", "NONE"]);
    calls.mock_answer(&rid, "GET", "first");
    // A MOCK shows no connection type or HTTP method, as on AWS.
    let mock = calls.ok("get-integration", &rid, "GET", &[]);
    assert_eq!(mock["type"], "MOCK");
    assert!(
        mock.get("connectionType").is_none() && mock.get("httpMethod").is_none(),
        "{mock}"
    );
    let patch = |cmd: &str, extra: &[&str], ops: &[&str]| {
        let mut args = vec![cmd, "--rest-api-id", id.as_str()];
        args.extend_from_slice(extra);
        args.push("--patch-operations");
        args.extend_from_slice(ops);
        aws.json(&args)
    };
    let on = ["--resource-id", rid.as_str(), "--http-method", "GET"];

    // aws_api_gateway_method
    let m = patch(
        "update-method",
        &on,
        &[
            "op=replace,path=/operationName,value=getThing",
            "op=replace,path=/apiKeyRequired,value=false",
            "op=add,path=/requestParameters/method.request.querystring.q,value=false",
            "op=add,path=/requestModels/application~1json,value=Empty",
        ],
    );
    assert_eq!(m["operationName"], "getThing");
    assert_eq!(
        m["requestParameters"]["method.request.querystring.q"],
        false
    );
    assert_eq!(m["requestModels"]["application/json"], "Empty");
    let m = patch(
        "update-method",
        &on,
        &["op=remove,path=/requestParameters/method.request.querystring.q"],
    );
    assert!(m.get("requestParameters").is_none(), "{m}");
    let err = aws.fails(&[
        "update-method",
        "--rest-api-id",
        &id,
        "--resource-id",
        &rid,
        "--http-method",
        "GET",
        "--patch-operations",
        "op=replace,path=/nonsense,value=1",
    ]);
    assert!(
        err.contains("BadRequestException") && err.contains("Invalid patch path /nonsense"),
        "{err}"
    );

    // aws_api_gateway_integration
    let i = patch(
        "update-integration",
        &on,
        &[
            "op=replace,path=/timeoutInMillis,value=5000",
            "op=replace,path=/passthroughBehavior,value=WHEN_NO_TEMPLATES",
            "op=add,path=/cacheKeyParameters/method.request.querystring.q",
        ],
    );
    assert_eq!(i["timeoutInMillis"], 5000);
    // The CLI's shorthand drops quotes: a static mapping value goes as JSON.
    let i = patch(
        "update-integration",
        &on,
        &[
            r#"[{"op": "add", "path": "/requestParameters/integration.request.header.x-id", "value": "'abc'"}]"#,
        ],
    );
    assert_eq!(i["timeoutInMillis"], 5000);
    assert_eq!(i["passthroughBehavior"], "WHEN_NO_TEMPLATES");
    assert_eq!(
        i["requestParameters"]["integration.request.header.x-id"],
        "'abc'"
    );
    assert_eq!(
        i["cacheKeyParameters"],
        serde_json::json!(["method.request.querystring.q"])
    );
    let err = aws.fails(&[
        "update-integration",
        "--rest-api-id",
        &id,
        "--resource-id",
        &rid,
        "--http-method",
        "GET",
        "--patch-operations",
        "op=replace,path=/timeoutInMillis,value=99999",
    ]);
    assert!(err.contains("BadRequestException"), "{err}");
    // The mock now answers 201 (its request template's statusCode).
    patch(
        "update-integration",
        &on,
        &[
            r#"[{"op": "replace", "path": "/requestTemplates/application~1json", "value": "{\"statusCode\": 201}"}]"#,
        ],
    );

    // aws_api_gateway_method_response: a 201 response with a header.
    calls.ok(
        "put-method-response",
        &rid,
        "GET",
        &["--status-code", "201"],
    );
    let mr = patch(
        "update-method-response",
        &[
            "--resource-id",
            &rid,
            "--http-method",
            "GET",
            "--status-code",
            "201",
        ],
        &[
            "op=add,path=/responseParameters/method.response.header.x-kind,value=false",
            "op=add,path=/responseModels/application~1json,value=Empty",
        ],
    );
    assert_eq!(
        mr["responseParameters"]["method.response.header.x-kind"],
        false
    );
    assert_eq!(mr["responseModels"]["application/json"], "Empty");

    // aws_api_gateway_integration_response: the default response becomes the "201" one.
    let ir = patch(
        "update-integration-response",
        &[
            "--resource-id",
            &rid,
            "--http-method",
            "GET",
            "--status-code",
            "200",
        ],
        &[
            "op=replace,path=/selectionPattern,value=201",
            "op=replace,path=/responseTemplates/application~1json,value=second",
        ],
    );
    patch(
        "update-integration-response",
        &[
            "--resource-id",
            &rid,
            "--http-method",
            "GET",
            "--status-code",
            "200",
        ],
        &[
            r#"[{"op": "add", "path": "/responseParameters/method.response.header.x-kind", "value": "'patched'"}]"#,
        ],
    );
    assert_eq!(ir["selectionPattern"], "201");
    assert_eq!(ir["responseTemplates"]["application/json"], "second");

    // aws_api_gateway_resource: rename /old to /new.
    let r = aws.json(&[
        "update-resource",
        "--rest-api-id",
        &id,
        "--resource-id",
        &rid,
        "--patch-operations",
        "op=replace,path=/pathPart,value=new",
    ]);
    assert_eq!(r["path"], "/new");
    assert_eq!(r["pathPart"], "new");

    // aws_api_gateway_deployment: deploy, then edit the description.
    let d = aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--description",
        "one",
    ]);
    let did = s(&d["id"]).to_string();
    let d = aws.json(&[
        "update-deployment",
        "--rest-api-id",
        &id,
        "--deployment-id",
        &did,
        "--patch-operations",
        "op=replace,path=/description,value=two",
    ]);
    assert_eq!(d["description"], "two");
    let d = aws.json(&[
        "get-deployment",
        "--rest-api-id",
        &id,
        "--deployment-id",
        &did,
    ]);
    assert_eq!(d["description"], "two");

    // What is served: the renamed path, the patched mock, its selected response and header.
    let client = common::client();
    let r = common::send(
        &client,
        "GET",
        &server.url(&format!("/_aws/execute-api/{id}/prod/new")),
        &[],
        "",
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "second"),
        "{:?}",
        r.headers
    );
    assert_eq!(r.header("x-kind"), Some("patched"));
    let old = common::send(
        &client,
        "GET",
        &server.url(&format!("/_aws/execute-api/{id}/prod/old")),
        &[],
        "",
    )
    .await;
    assert_ne!(old.status, 200);
}

/// Tags at creation and with TagResource / UntagResource / GetTags; no `tags` field on an API
/// without tags (AWS leaves it out); `endpointConfiguration.ipAddressType` always there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_on_rest_apis_as_aws_keeps_them() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let plain = aws.json(&["create-rest-api", "--name", "untagged"]);
    assert!(plain.get("tags").is_none(), "{plain}");
    assert_eq!(plain["endpointConfiguration"]["ipAddressType"], "ipv4");
    let api = aws.json(&[
        "create-rest-api",
        "--name",
        "tagged",
        "--tags",
        "team=pets,env=dev",
    ]);
    assert_eq!(
        api["tags"],
        serde_json::json!({"team": "pets", "env": "dev"})
    );
    let id = s(&api["id"]).to_string();
    let arn = format!("arn:aws:apigateway:us-east-1::/restapis/{id}");
    aws.json(&[
        "tag-resource",
        "--resource-arn",
        &arn,
        "--tags",
        "owner=ana",
    ]);
    let tags = aws.json(&["get-tags", "--resource-arn", &arn]);
    assert_eq!(
        tags["tags"],
        serde_json::json!({"team": "pets", "env": "dev", "owner": "ana"})
    );
    aws.json(&[
        "untag-resource",
        "--resource-arn",
        &arn,
        "--tag-keys",
        "env",
        "team",
    ]);
    let got = aws.json(&["get-rest-api", "--rest-api-id", &id]);
    assert_eq!(got["tags"], serde_json::json!({"owner": "ana"}));

    // Stages: tags at CreateStage, then the same three calls on the stage's ARN.
    let root = s(&api["rootResourceId"]).to_string();
    let calls = MethodCalls { aws: &aws, id: &id };
    calls.ok(
        "put-method",
        &root,
        "GET",
        &["--authorization-type", "NONE"],
    );
    calls.mock_answer(&root, "GET", "ok");
    let d = aws.json(&["create-deployment", "--rest-api-id", &id]);
    let stage = aws.json(&[
        "create-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "dev",
        "--deployment-id",
        s(&d["id"]),
        "--tags",
        "tier=test",
    ]);
    assert_eq!(stage["tags"], serde_json::json!({"tier": "test"}));
    let stage_arn = format!("{arn}/stages/dev");
    aws.json(&[
        "tag-resource",
        "--resource-arn",
        &stage_arn,
        "--tags",
        "cost=low",
    ]);
    aws.json(&[
        "untag-resource",
        "--resource-arn",
        &stage_arn,
        "--tag-keys",
        "tier",
    ]);
    let tags = aws.json(&["get-tags", "--resource-arn", &stage_arn]);
    assert_eq!(tags["tags"], serde_json::json!({"cost": "low"}));
    let got = aws.json(&["get-stage", "--rest-api-id", &id, "--stage-name", "dev"]);
    assert_eq!(got["tags"], serde_json::json!({"cost": "low"}));
    let err = aws.fails(&["get-tags", "--resource-arn", &format!("{arn}/stages/nope")]);
    assert!(err.contains("NotFoundException"), "{err}");
}

/// Gateway responses through the AWS CLI (Terraform's `aws_api_gateway_gateway_response` sends
/// PutGatewayResponse, then `/statusCode`, `/responseParameters/NAME` and
/// `/responseTemplates/CT` patches), and their effect on what a deployed stage answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_responses_are_put_patched_listed_deleted_and_served() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "responses"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let calls = MethodCalls { aws: &aws, id: &id };
    calls.ok(
        "put-method",
        &root,
        "GET",
        &["--authorization-type", "NONE"],
    );
    calls.mock_answer(&root, "GET", "home");

    let all = aws.json(&["get-gateway-responses", "--rest-api-id", &id]);
    let items = all["items"]
        .as_array()
        .or(all["item"].as_array())
        .unwrap()
        .clone();
    assert!(items.len() >= 20, "{all}");
    assert!(items.iter().all(|i| i["defaultResponse"] == true), "{all}");
    let missing = items
        .iter()
        .find(|i| i["responseType"] == "MISSING_AUTHENTICATION_TOKEN")
        .unwrap();
    assert_eq!(missing["statusCode"], "403");

    let put = aws.json(&[
        "put-gateway-response",
        "--rest-api-id",
        &id,
        "--response-type",
        "MISSING_AUTHENTICATION_TOKEN",
        "--status-code",
        "404",
        "--response-templates",
        r#"{"application/json": "{\"error\": \"no such route\"}"}"#,
    ]);
    assert_eq!(put["defaultResponse"], false);
    assert_eq!(put["statusCode"], "404");
    let patched = aws.json(&[
        "update-gateway-response", "--rest-api-id", &id, "--response-type", "MISSING_AUTHENTICATION_TOKEN",
        "--patch-operations",
        r#"[{"op": "replace", "path": "/statusCode", "value": "410"},
            {"op": "add", "path": "/responseParameters/gatewayresponse.header.x-why", "value": "'gone'"}]"#,
    ]);
    assert_eq!(patched["statusCode"], "410");
    assert_eq!(
        patched["responseParameters"]["gatewayresponse.header.x-why"],
        "'gone'"
    );
    let err = aws.fails(&[
        "get-gateway-response",
        "--rest-api-id",
        &id,
        "--response-type",
        "NOT_A_TYPE",
    ]);
    assert!(err.contains("BadRequestException"), "{err}");
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);

    let client = common::client();
    let r = common::send(
        &client,
        "GET",
        &server.url(&format!("/_aws/execute-api/{id}/prod/nowhere")),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, 410, "{}", r.text());
    assert_eq!(r.header("x-why"), Some("gone"));
    assert_eq!(r.text(), r#"{"error": "no such route"}"#);

    aws.json(&[
        "delete-gateway-response",
        "--rest-api-id",
        &id,
        "--response-type",
        "MISSING_AUTHENTICATION_TOKEN",
    ]);
    let back = aws.json(&[
        "get-gateway-response",
        "--rest-api-id",
        &id,
        "--response-type",
        "MISSING_AUTHENTICATION_TOKEN",
    ]);
    assert_eq!(back["defaultResponse"], true);
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);
    let r = common::send(
        &client,
        "GET",
        &server.url(&format!("/_aws/execute-api/{id}/prod/nowhere")),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
}

/// GetAccount shows AWS's default account throttle; UpdateAccount sets the CloudWatch role.
#[test]
fn the_account_reads_back_what_update_account_set() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let account = aws.json(&["get-account"]);
    assert_eq!(account["throttleSettings"]["burstLimit"], 5000);
    assert_eq!(account["throttleSettings"]["rateLimit"], 10000.0);
    assert!(account.get("cloudwatchRoleArn").is_none(), "{account}");
    let role = "arn:aws:iam::123456789012:role/apigw-logs";
    let updated = aws.json(&[
        "update-account",
        "--patch-operations",
        &format!("op=replace,path=/cloudwatchRoleArn,value={role}"),
    ]);
    assert_eq!(updated["cloudwatchRoleArn"], role);
    assert_eq!(aws.json(&["get-account"])["cloudwatchRoleArn"], role);
    let err = aws.fails(&[
        "update-account",
        "--patch-operations",
        "op=replace,path=/throttle/rateLimit,value=5",
    ]);
    assert!(err.contains("BadRequestException"), "{err}");
}

/// FlushStageAuthorizersCache forgets the stage's cached authorizer answers: a changed
/// authorizer function decides the next request at once. FlushStageCache is accepted (gw keeps
/// no response cache).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushing_the_authorizer_cache_makes_the_authorizer_decide_again() {
    let policy = |effect: &str| {
        serde_json::json!({
            "principalId": "u",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": "*"}
            ]}
        })
        .to_string()
    };
    let gw = Gw::new();
    let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:authz/invocations";
    gw.import_spec(
        "flush.json",
        &serde_json::json!({
            "openapi": "3.0.1",
            "info": {"title": "flush", "version": "1"},
            "components": {"securitySchemes": {"tok": {
                "type": "apiKey", "name": "Authorization", "in": "header",
                "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": uri, "authorizerResultTtlInSeconds": 300}
            }}},
            "paths": {"/p": {"get": {
                "security": [{"tok": []}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "in"}}}
                }
            }}}
        }),
    );
    let respond = common::guest("respond");
    gw.ok(&[
        "function",
        "put",
        "authz",
        respond.to_str().unwrap(),
        "--env",
        &format!("RESPONSE={}", policy("Allow")),
    ]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let id = s(&aws.json(&["get-rest-apis"])["items"][0]["id"]).to_string();
    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/p"));
    let call = || common::send(&client, "GET", &url, &[("authorization", "t1")], "");
    assert_eq!(call().await.status, 200);
    gw.ok(&[
        "function",
        "put",
        "authz",
        respond.to_str().unwrap(),
        "--env",
        &format!("RESPONSE={}", policy("Deny")),
    ]);
    assert_eq!(call().await.status, 200, "the cached answer still allows");
    aws.json(&[
        "flush-stage-authorizers-cache",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);
    assert_eq!(call().await.status, 403, "flushed: the new function denies");
    aws.json(&[
        "flush-stage-cache",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);
    let err = aws.fails(&[
        "flush-stage-authorizers-cache",
        "--rest-api-id",
        &id,
        "--stage-name",
        "nope",
    ]);
    assert!(
        err.contains("NotFoundException") && err.contains("Invalid Stage identifier specified"),
        "{err}"
    );
}
