//! AWS_IAM methods verify botocore signatures.

use super::*;

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
