//! AWS's answers for calls naming what does not exist, table-driven: the outermost missing parent
//! is the one named (a missing API before a missing resource, a resource before a method, ...),
//! with AWS's exception and message.

use super::*;

/// One call: its CLI arguments (`{api}`, `{rid}` replaced) and the error AWS answers.
struct Case {
    args: &'static [&'static str],
    error: &'static str,
    message: &'static str,
}

const API: &str = "Invalid API identifier specified 000000000000:nosuchapi1";
const RES: &str = "Invalid Resource identifier specified";
const METHOD: &str = "Invalid Method identifier specified";

#[test]
fn missing_parents_are_named_outermost_first() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "errors"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    // A method without an integration or responses, on the root.
    aws.json(&[
        "put-method",
        "--rest-api-id",
        &id,
        "--resource-id",
        &root,
        "--http-method",
        "GET",
        "--authorization-type",
        "NONE",
    ]);
    let not_found = "NotFoundException";
    let cases = [
        // A missing API comes first, whatever else is missing.
        Case {
            args: &["get-rest-api", "--rest-api-id", "nosuchapi1"],
            error: not_found,
            message: API,
        },
        Case {
            args: &["get-resources", "--rest-api-id", "nosuchapi1"],
            error: not_found,
            message: API,
        },
        Case {
            args: &[
                "get-resource",
                "--rest-api-id",
                "nosuchapi1",
                "--resource-id",
                "nores1",
            ],
            error: not_found,
            message: API,
        },
        Case {
            args: &[
                "get-method",
                "--rest-api-id",
                "nosuchapi1",
                "--resource-id",
                "nores1",
                "--http-method",
                "GET",
            ],
            error: not_found,
            message: API,
        },
        Case {
            args: &[
                "get-integration",
                "--rest-api-id",
                "nosuchapi1",
                "--resource-id",
                "nores1",
                "--http-method",
                "GET",
            ],
            error: not_found,
            message: API,
        },
        Case {
            args: &[
                "get-stage",
                "--rest-api-id",
                "nosuchapi1",
                "--stage-name",
                "prod",
            ],
            error: not_found,
            message: API,
        },
        Case {
            args: &[
                "get-deployment",
                "--rest-api-id",
                "nosuchapi1",
                "--deployment-id",
                "nodep1",
            ],
            error: not_found,
            message: API,
        },
        Case {
            args: &[
                "get-authorizer",
                "--rest-api-id",
                "nosuchapi1",
                "--authorizer-id",
                "noauth",
            ],
            error: not_found,
            message: API,
        },
        Case {
            args: &[
                "get-request-validator",
                "--rest-api-id",
                "nosuchapi1",
                "--request-validator-id",
                "noval",
            ],
            error: not_found,
            message: API,
        },
        Case {
            args: &[
                "get-model",
                "--rest-api-id",
                "nosuchapi1",
                "--model-name",
                "NoModel",
            ],
            error: not_found,
            message: API,
        },
        // Then the resource, before the method.
        Case {
            args: &[
                "get-resource",
                "--rest-api-id",
                "{api}",
                "--resource-id",
                "nores1",
            ],
            error: not_found,
            message: RES,
        },
        Case {
            args: &[
                "get-method",
                "--rest-api-id",
                "{api}",
                "--resource-id",
                "nores1",
                "--http-method",
                "GET",
            ],
            error: not_found,
            message: RES,
        },
        Case {
            args: &[
                "get-integration",
                "--rest-api-id",
                "{api}",
                "--resource-id",
                "nores1",
                "--http-method",
                "GET",
            ],
            error: not_found,
            message: RES,
        },
        Case {
            args: &[
                "get-method-response",
                "--rest-api-id",
                "{api}",
                "--resource-id",
                "nores1",
                "--http-method",
                "GET",
                "--status-code",
                "200",
            ],
            error: not_found,
            message: RES,
        },
        // Then the method, before its integration or responses.
        Case {
            args: &[
                "get-method",
                "--rest-api-id",
                "{api}",
                "--resource-id",
                "{rid}",
                "--http-method",
                "POST",
            ],
            error: not_found,
            message: METHOD,
        },
        Case {
            args: &[
                "get-integration",
                "--rest-api-id",
                "{api}",
                "--resource-id",
                "{rid}",
                "--http-method",
                "POST",
            ],
            error: not_found,
            message: METHOD,
        },
        Case {
            args: &[
                "get-method-response",
                "--rest-api-id",
                "{api}",
                "--resource-id",
                "{rid}",
                "--http-method",
                "POST",
                "--status-code",
                "200",
            ],
            error: not_found,
            message: METHOD,
        },
        // The method exists: its missing integration and responses.
        Case {
            args: &[
                "get-integration",
                "--rest-api-id",
                "{api}",
                "--resource-id",
                "{rid}",
                "--http-method",
                "GET",
            ],
            error: not_found,
            message: "No integration defined for method",
        },
        Case {
            args: &[
                "get-method-response",
                "--rest-api-id",
                "{api}",
                "--resource-id",
                "{rid}",
                "--http-method",
                "GET",
                "--status-code",
                "200",
            ],
            error: not_found,
            message: "Invalid Response status code specified",
        },
        // The API's other children.
        Case {
            args: &[
                "get-stage",
                "--rest-api-id",
                "{api}",
                "--stage-name",
                "prod",
            ],
            error: not_found,
            message: "Invalid Stage identifier specified",
        },
        Case {
            args: &[
                "get-deployment",
                "--rest-api-id",
                "{api}",
                "--deployment-id",
                "nodep1",
            ],
            error: not_found,
            message: "Invalid Deployment identifier specified",
        },
        Case {
            args: &[
                "get-authorizer",
                "--rest-api-id",
                "{api}",
                "--authorizer-id",
                "noauth",
            ],
            error: not_found,
            message: "Invalid Authorizer identifier specified",
        },
        Case {
            args: &[
                "get-request-validator",
                "--rest-api-id",
                "{api}",
                "--request-validator-id",
                "noval",
            ],
            error: not_found,
            message: "Invalid Request Validator identifier specified",
        },
        Case {
            args: &[
                "get-model",
                "--rest-api-id",
                "{api}",
                "--model-name",
                "NoModel",
            ],
            error: not_found,
            message: "Invalid model name specified: NoModel",
        },
    ];
    let mut wrong = Vec::new();
    for case in &cases {
        let args: Vec<String> = case
            .args
            .iter()
            .map(|a| a.replace("{api}", &id).replace("{rid}", &root))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = aws.fails(&args);
        let want = format!("({}) when calling", case.error);
        if !(err.contains(&want) && err.trim_end().ends_with(case.message)) {
            wrong.push(format!(
                "{args:?}\n  want {} {:?}\n  got  {}",
                case.error,
                case.message,
                err.trim()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} answered otherwise:\n{}",
        wrong.len(),
        cases.len(),
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
