//! `AWS` integrations to Lambda (non-proxy): the request template builds the event, the result or
//! error goes through `selectionPattern` (matched against `errorMessage`) and response templates,
//! as API Gateway documents; other AWS services answer 500 naming the service.

use super::lambda_uri;
use crate::common::{client, get, guest, Gw};
use serde_json::{json, Value};

fn spec() -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": "nonproxy", "version": "1"},
        "paths": {
            "/greet/{name}": {"get": {
                "parameters": [
                    {"name": "name", "in": "path", "required": true, "type": "string"},
                    {"name": "mode", "in": "query", "type": "string"}
                ],
                "responses": {"200": {"description": "ok"}, "400": {"description": "bad"}},
                "x-amazon-apigateway-integration": {
                    "type": "aws",
                    "httpMethod": "POST",
                    "uri": lambda_uri("nonproxy"),
                    "passthroughBehavior": "when_no_templates",
                    "requestTemplates": {
                        "application/json": "{\"queryStringParameters\": {\"mode\": \"$input.params('mode')\"}, \"who\": \"$input.params('name')\"}"
                    },
                    "responses": {
                        "default": {
                            "statusCode": "200",
                            "responseParameters": {"method.response.header.x-inits": "integration.response.body.statusCode"},
                            "responseTemplates": {"application/json": "{\"answer\": $input.json('$.body'), \"by\": \"$context.stage\"}"}
                        },
                        "bad input.*": {
                            "statusCode": "400",
                            "responseTemplates": {"application/json": "{\"error\": \"$input.path('$.errorMessage')\", \"type\": \"$input.path('$.errorType')\"}"}
                        }
                    }
                }
            }},
            "/table": {"post": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "aws",
                    "httpMethod": "POST",
                    "uri": "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem"
                }
            }}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_proxy_lambda_method_maps_results_and_selects_errors_by_pattern() {
    let gw = Gw::new();
    let imported = gw.run(&["import", &{
        let f = gw.state().join("nonproxy.json");
        std::fs::write(&f, serde_json::to_vec(&spec()).unwrap()).unwrap();
        f.to_str().unwrap().to_owned()
    }]);
    let said = String::from_utf8_lossy(&imported.stderr).into_owned()
        + &String::from_utf8_lossy(&imported.stdout);
    assert!(imported.status.success(), "{said}");
    assert!(
        said.contains("AWS service integration to dynamodb is kept but not emulated"),
        "import says which methods will not work: {said}"
    );
    assert!(!said.contains("to lambda"), "{said}");
    gw.ok(&[
        "function",
        "put",
        "nonproxy",
        guest("lambda_hostile").to_str().unwrap(),
    ]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();

    // A result: the default response, its template over the function's JSON, a header mapped
    // from a field of it.
    let r = get(&c, &server.url("/prod/greet/ann")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-inits"), Some("200"));
    let b: Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(b["by"], "prod");
    let answer: Value = serde_json::from_str(b["answer"].as_str().unwrap()).unwrap();
    assert_eq!(answer["count"], 1, "{b}");

    // An error whose message matches `bad input.*`: 400 through that response's template.
    let r = get(&c, &server.url("/prod/greet/ann?mode=error")).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        serde_json::from_str::<Value>(&r.text()).unwrap(),
        json!({"error": "bad input: error mode", "type": "ValueError"})
    );

    // An error no pattern matches (the guest trapped: Lambda's Runtime.ExitError) takes the
    // default response, as on AWS: 200.
    let r = get(&c, &server.url("/prod/greet/ann?mode=trap")).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Another AWS service: 500 naming it.
    let r = crate::common::send(
        &c,
        "POST",
        &server.url("/prod/table"),
        &[("content-type", "application/json")],
        bytes::Bytes::from_static(b"{}"),
    )
    .await;
    assert_eq!(r.status, 500);
    assert!(
        r.text()
            .contains("AWS service integration to dynamodb (POST /table) is not emulated by gw"),
        "{}",
        r.text()
    );
}
