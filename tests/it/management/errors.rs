//! AWS's answers for calls naming what does not exist, table-driven: the outermost missing parent
//! is the one named (a missing API before a missing resource, a resource before a method, ...),
//! with AWS's exception and message.

use super::*;

/// AWS's NotFoundException messages, by what is missing.
const API: &str = "Invalid API identifier specified 000000000000:nosuchapi1";
const RES: &str = "Invalid Resource identifier specified";
const METHOD: &str = "Invalid Method identifier specified";
const INTEGRATION: &str = "Invalid Integration identifier specified";
const RESPONSE: &str = "Invalid Response status code specified";
const STAGE: &str = "Invalid Stage identifier specified";
const DEPLOYMENT: &str = "Invalid Deployment identifier specified";
const AUTHORIZER: &str = "Invalid Authorizer identifier specified";
const VALIDATOR: &str = "Invalid Request Validator identifier specified";
const MODEL: &str = "Invalid model name specified: NoModel";
const DOC_PART: &str = "Invalid Documentation part identifier specified";
const DOC_VERSION: &str = "Invalid Documentation version specified";

/// Every operation on an API's children: verb, AWS's path (placeholders in braces), body.
const OPERATIONS: &[(&str, &str, &str)] = &[
    ("GET", "/restapis/{api}", ""),
    (
        "PUT",
        "/restapis/{api}",
        r#"{"swagger":"2.0","info":{"title":"x","version":"1"},"paths":{}}"#,
    ),
    ("PATCH", "/restapis/{api}", r#"{"patchOperations":[]}"#),
    ("DELETE", "/restapis/{api}", ""),
    ("GET", "/restapis/{api}/resources", ""),
    ("GET", "/restapis/{api}/resources/{rid}", ""),
    (
        "POST",
        "/restapis/{api}/resources/{rid}",
        r#"{"pathPart":"child"}"#,
    ),
    (
        "PATCH",
        "/restapis/{api}/resources/{rid}",
        r#"{"patchOperations":[]}"#,
    ),
    ("DELETE", "/restapis/{api}/resources/{rid}", ""),
    ("GET", "/restapis/{api}/resources/{rid}/methods/{m}", ""),
    (
        "PUT",
        "/restapis/{api}/resources/{rid}/methods/{m}",
        r#"{"authorizationType":"NONE"}"#,
    ),
    (
        "PATCH",
        "/restapis/{api}/resources/{rid}/methods/{m}",
        r#"{"patchOperations":[]}"#,
    ),
    ("DELETE", "/restapis/{api}/resources/{rid}/methods/{m}", ""),
    (
        "POST",
        "/restapis/{api}/resources/{rid}/methods/{m}",
        r#"{"pathWithQueryString":"/"}"#,
    ),
    (
        "GET",
        "/restapis/{api}/resources/{rid}/methods/{m}/responses/{code}",
        "",
    ),
    (
        "PUT",
        "/restapis/{api}/resources/{rid}/methods/{m}/responses/{code}",
        "{}",
    ),
    (
        "PATCH",
        "/restapis/{api}/resources/{rid}/methods/{m}/responses/{code}",
        r#"{"patchOperations":[]}"#,
    ),
    (
        "DELETE",
        "/restapis/{api}/resources/{rid}/methods/{m}/responses/{code}",
        "",
    ),
    (
        "GET",
        "/restapis/{api}/resources/{rid}/methods/{m}/integration",
        "",
    ),
    (
        "PUT",
        "/restapis/{api}/resources/{rid}/methods/{m}/integration",
        r#"{"type":"MOCK"}"#,
    ),
    (
        "PATCH",
        "/restapis/{api}/resources/{rid}/methods/{m}/integration",
        r#"{"patchOperations":[]}"#,
    ),
    (
        "DELETE",
        "/restapis/{api}/resources/{rid}/methods/{m}/integration",
        "",
    ),
    (
        "GET",
        "/restapis/{api}/resources/{rid}/methods/{m}/integration/responses/{code}",
        "",
    ),
    (
        "PUT",
        "/restapis/{api}/resources/{rid}/methods/{m}/integration/responses/{code}",
        "{}",
    ),
    (
        "PATCH",
        "/restapis/{api}/resources/{rid}/methods/{m}/integration/responses/{code}",
        r#"{"patchOperations":[]}"#,
    ),
    (
        "DELETE",
        "/restapis/{api}/resources/{rid}/methods/{m}/integration/responses/{code}",
        "",
    ),
    ("GET", "/restapis/{api}/stages", ""),
    (
        "POST",
        "/restapis/{api}/stages",
        r#"{"stageName":"s","deploymentId":"nodep1"}"#,
    ),
    ("GET", "/restapis/{api}/stages/{stage}", ""),
    (
        "PATCH",
        "/restapis/{api}/stages/{stage}",
        r#"{"patchOperations":[]}"#,
    ),
    ("DELETE", "/restapis/{api}/stages/{stage}", ""),
    ("GET", "/restapis/{api}/stages/{stage}/exports/oas30", ""),
    ("DELETE", "/restapis/{api}/stages/{stage}/cache/data", ""),
    (
        "DELETE",
        "/restapis/{api}/stages/{stage}/cache/authorizers",
        "",
    ),
    ("GET", "/restapis/{api}/deployments", ""),
    ("POST", "/restapis/{api}/deployments", "{}"),
    ("GET", "/restapis/{api}/deployments/{dep}", ""),
    (
        "PATCH",
        "/restapis/{api}/deployments/{dep}",
        r#"{"patchOperations":[]}"#,
    ),
    ("DELETE", "/restapis/{api}/deployments/{dep}", ""),
    ("GET", "/restapis/{api}/authorizers", ""),
    (
        "POST",
        "/restapis/{api}/authorizers",
        r#"{"name":"a","type":"TOKEN","authorizerUri":"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations","identitySource":"method.request.header.Authorization"}"#,
    ),
    ("GET", "/restapis/{api}/authorizers/{auth}", ""),
    (
        "PATCH",
        "/restapis/{api}/authorizers/{auth}",
        r#"{"patchOperations":[]}"#,
    ),
    ("DELETE", "/restapis/{api}/authorizers/{auth}", ""),
    ("GET", "/restapis/{api}/requestvalidators", ""),
    (
        "POST",
        "/restapis/{api}/requestvalidators",
        r#"{"name":"v"}"#,
    ),
    ("GET", "/restapis/{api}/requestvalidators/{val}", ""),
    (
        "PATCH",
        "/restapis/{api}/requestvalidators/{val}",
        r#"{"patchOperations":[]}"#,
    ),
    ("DELETE", "/restapis/{api}/requestvalidators/{val}", ""),
    ("GET", "/restapis/{api}/models", ""),
    (
        "POST",
        "/restapis/{api}/models",
        r#"{"name":"M","contentType":"application/json","schema":"{}"}"#,
    ),
    ("GET", "/restapis/{api}/models/{model}", ""),
    (
        "PATCH",
        "/restapis/{api}/models/{model}",
        r#"{"patchOperations":[]}"#,
    ),
    ("DELETE", "/restapis/{api}/models/{model}", ""),
    ("GET", "/restapis/{api}/gatewayresponses", ""),
    ("GET", "/restapis/{api}/gatewayresponses/DEFAULT_4XX", ""),
    ("PUT", "/restapis/{api}/gatewayresponses/DEFAULT_4XX", "{}"),
    (
        "PATCH",
        "/restapis/{api}/gatewayresponses/DEFAULT_4XX",
        r#"{"patchOperations":[]}"#,
    ),
    ("DELETE", "/restapis/{api}/gatewayresponses/DEFAULT_4XX", ""),
    ("GET", "/restapis/{api}/documentation/parts", ""),
    (
        "POST",
        "/restapis/{api}/documentation/parts",
        r#"{"location":{"type":"API"},"properties":"{}"}"#,
    ),
    ("GET", "/restapis/{api}/documentation/parts/{part}", ""),
    (
        "PATCH",
        "/restapis/{api}/documentation/parts/{part}",
        r#"{"patchOperations":[]}"#,
    ),
    ("DELETE", "/restapis/{api}/documentation/parts/{part}", ""),
    ("GET", "/restapis/{api}/documentation/versions", ""),
    (
        "POST",
        "/restapis/{api}/documentation/versions",
        r#"{"documentationVersion":"v1"}"#,
    ),
    ("GET", "/restapis/{api}/documentation/versions/{docv}", ""),
    (
        "PATCH",
        "/restapis/{api}/documentation/versions/{docv}",
        r#"{"patchOperations":[]}"#,
    ),
    (
        "DELETE",
        "/restapis/{api}/documentation/versions/{docv}",
        "",
    ),
];

/// One way to be missing, outermost first: the placeholder, the value that is missing there,
/// and AWS's message. A placeholder's good value is in `present` below; `{m}` is missing twice
/// on the way to an integration (no such method, then a method without an integration).
fn levels(path: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    let all = [
        ("{rid}", "nores1", RES),
        ("{m}", "PATCH", METHOD),
        ("/integration", "POST", INTEGRATION),
        ("{code}", "299", RESPONSE),
        ("{stage}", "nostage", STAGE),
        ("{dep}", "nodep1", DEPLOYMENT),
        ("{auth}", "noauth", AUTHORIZER),
        ("{val}", "noval", VALIDATOR),
        ("{model}", "NoModel", MODEL),
        ("{part}", "nopart", DOC_PART),
        ("{docv}", "nover", DOC_VERSION),
    ];
    let mut out = vec![("{api}", "nosuchapi1", API)];
    for (marker, bad, message) in all {
        if path.contains(marker) {
            // A missing integration is the method placeholder naming one without it.
            let ph = if marker == "/integration" {
                "{m}"
            } else {
                marker
            };
            out.push((ph, bad, message));
        }
    }
    out
}

/// AWS's answers for calls naming what does not exist, for every operation on an API's
/// children, by raw HTTP: each way the path can be missing something is tried with everything
/// inside it missing too, and the outermost missing thing is the one named. A PUT to the last
/// thing in its path creates it, so that case is not an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_names_the_outermost_missing_parent() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let client = common::client();
    let call = |verb: &'static str, path: String, body: String| {
        let client = client.clone();
        let url = server.url(&path);
        async move {
            common::send(
                &client,
                verb,
                &url,
                &[(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/apigateway/aws4_request, SignedHeaders=host, Signature=0",
                )],
                body,
            )
            .await
        }
    };
    let api = call("POST", "/restapis".into(), r#"{"name":"errors"}"#.into())
        .await
        .json();
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    // GET has a MOCK integration and no responses; POST has no integration.
    for (path, body) in [
        ("methods/GET", r#"{"authorizationType":"NONE"}"#),
        ("methods/GET/integration", r#"{"type":"MOCK"}"#),
        ("methods/POST", r#"{"authorizationType":"NONE"}"#),
    ] {
        let r = call(
            "PUT",
            format!("/restapis/{id}/resources/{root}/{path}"),
            body.into(),
        )
        .await;
        assert_eq!(r.status, 201, "{path}: {}", r.text());
    }
    let present = |ph: &str| -> String {
        match ph {
            "{api}" => id.clone(),
            "{rid}" => root.clone(),
            "{m}" => "GET".into(),
            _ => unreachable!("only the outer placeholders are ever present: {ph}"),
        }
    };
    let mut wrong = Vec::new();
    let mut tried = 0;
    for &(verb, path, body) in OPERATIONS {
        let levels = levels(path);
        for (k, &(ph, bad, message)) in levels.iter().enumerate() {
            // A PUT to the innermost thing creates it.
            if verb == "PUT" && k > 0 && k == levels.len() - 1 {
                continue;
            }
            // Outer placeholders present, this one missing, every inner one missing too.
            let mut url = path.to_string();
            for (j, &(p, b, _)) in levels.iter().enumerate() {
                if !url.contains(p) {
                    continue;
                }
                let value = if p == ph {
                    bad.to_string()
                } else if j < k {
                    present(p)
                } else {
                    b.to_string()
                };
                url = url.replace(p, &value);
            }
            tried += 1;
            let r = call(verb, url.clone(), body.to_string()).await;
            let got = (
                r.status,
                r.header("x-amzn-errortype").unwrap_or("").to_string(),
                r.json()["message"].as_str().unwrap_or("").to_string(),
            );
            if got != (404, "NotFoundException".to_string(), message.to_string()) {
                wrong.push(format!(
                    "{verb} {url}\n  want 404 NotFoundException {message:?}\n  got  {} {} {:?}",
                    got.0, got.1, got.2
                ));
            }
        }
    }
    assert!(tried > 130, "only {tried} cases were generated");
    assert!(
        wrong.is_empty(),
        "{} of {tried} answered otherwise:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// A new REST API has AWS's two default models; CreateRestApi checks what AWS checks.
#[test]
fn a_new_api_has_the_default_models_and_bad_create_parameters_are_refused() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "models"]);
    let id = s(&api["id"]).to_string();
    let models = aws.json(&["get-models", "--rest-api-id", &id]);
    let names: Vec<&str> = models["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["name"]))
        .collect();
    assert_eq!(names, ["Empty", "Error"], "{models}");
    let error = aws.json(&["get-model", "--rest-api-id", &id, "--model-name", "Error"]);
    assert!(s(&error["schema"]).contains("Error Schema"), "{error}");
    for bad in [
        vec![
            "create-rest-api",
            "--name",
            "x",
            "--api-key-source",
            "COOKIE",
        ],
        vec![
            "create-rest-api",
            "--name",
            "x",
            "--endpoint-configuration",
            "types=SIDEWAYS",
        ],
        vec![
            "create-rest-api",
            "--name",
            "x",
            "--endpoint-configuration",
            "types=EDGE,REGIONAL",
        ],
        vec!["create-rest-api", "--name", ""],
    ] {
        let err = aws.fails(&bad);
        assert!(err.contains("BadRequestException"), "{bad:?}: {err}");
    }
}

/// As on AWS, two REST APIs may share a name (the id is the identity); gw's CLI then asks for
/// the id, naming both.
#[test]
fn rest_api_names_may_repeat_and_the_cli_asks_for_the_id() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let a = s(&aws.json(&["create-rest-api", "--name", "twin"])["id"]).to_string();
    let b = s(&aws.json(&["create-rest-api", "--name", "twin"])["id"]).to_string();
    assert_ne!(a, b);
    let c = s(&aws.json(&["import-rest-api", "--body", "fileb://specs/petstore.yaml"])["id"])
        .to_string();
    let d = s(&aws.json(&["import-rest-api", "--body", "fileb://specs/petstore.yaml"])["id"])
        .to_string();
    assert_ne!(c, d, "ImportRestApi twice makes two APIs");
    let all = aws.json(&["get-rest-apis"]);
    let twins = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["name"] == "twin")
        .count();
    assert_eq!(twins, 2, "{all}");
    let out = gw.run(&["stages", "--api", "twin"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("2 APIs are named \"twin\"") && said.contains(&a) && said.contains(&b),
        "{said}"
    );
    gw.ok(&["stages", "--api", &a]);
    // gw's own import keeps names unique, so --api NAME stays unambiguous for what it made.
    let spec = common::root().join("specs/petstore.yaml");
    gw.ok(&["import", spec.to_str().unwrap(), "--name", "mine"]);
    let again = gw.run(&["import", spec.to_str().unwrap(), "--name", "mine"]);
    assert!(
        !again.status.success(),
        "gw import refuses a second API named mine"
    );
}

/// `failonwarnings` fails an import only for what AWS warns about: gw's own notes (a VPC link, a
/// resource policy, compression it does not do) neither fail it nor appear in `warnings`.
#[test]
fn fail_on_warnings_counts_only_what_aws_warns_about() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let dir = tempfile::tempdir().unwrap();
    let noted = dir.path().join("noted.json");
    std::fs::write(
        &noted,
        serde_json::json!({
            "openapi": "3.0.1",
            "info": {"title": "noted", "version": "1"},
            "x-amazon-apigateway-minimum-compression-size": 1024,
            "x-amazon-apigateway-policy": {"Version": "2012-10-17", "Statement": []},
            "paths": {"/p": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "http_proxy", "httpMethod": "GET", "uri": "http://example.com/p",
                    "connectionType": "VPC_LINK", "connectionId": "abc123"
                }
            }}}
        })
        .to_string(),
    )
    .unwrap();
    let api = aws.json(&[
        "import-rest-api",
        "--fail-on-warnings",
        "--body",
        &format!("fileb://{}", noted.display()),
    ]);
    assert!(api.get("warnings").is_none(), "{api}");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        serde_json::json!({
            "openapi": "3.0.1",
            "info": {"title": "bad", "version": "1"},
            "paths": {"/p": {"get": {
                "security": [{"undefined": []}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}
            }}}
        })
        .to_string(),
    )
    .unwrap();
    let err = aws.fails(&[
        "import-rest-api",
        "--fail-on-warnings",
        "--body",
        &format!("fileb://{}", bad.display()),
    ]);
    assert!(err.contains("BadRequestException"), "{err}");
}

/// CreateApiKey without a name makes a key without one, as AWS does.
#[test]
fn an_api_key_may_have_no_name() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let key = aws.json(&["create-api-key", "--enabled"]);
    assert!(key.get("name").is_none(), "{key}");
    assert_eq!(key["enabled"], true);
    let got = aws.json(&["get-api-key", "--api-key", s(&key["id"])]);
    assert!(got.get("name").is_none(), "{got}");
}
