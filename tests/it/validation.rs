//! Request validators through the real server: required parameters checked before the
//! integration runs, AWS's 400 answer, and methods whose validator does not check parameters.

use crate::common;

use bytes::Bytes;
use common::{client, send, Gw};
use serde_json::json;

fn mock() -> serde_json::Value {
    json!({
        "type": "mock",
        "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "ok"}}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_parameters_are_checked_when_the_validator_asks() {
    let spec = json!({
        "openapi": "3.0.1",
        "info": {"title": "validated", "version": "1"},
        "x-amazon-apigateway-request-validators": {
            "params": {"validateRequestBody": false, "validateRequestParameters": true},
            "body-only": {"validateRequestBody": true, "validateRequestParameters": false}
        },
        "x-amazon-apigateway-request-validator": "params",
        "paths": {
            "/items/{id}": {
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                        {"name": "page", "in": "query", "required": true, "schema": {"type": "string"}},
                        {"name": "sort", "in": "query", "required": false, "schema": {"type": "string"}},
                        {"name": "X-Version", "in": "header", "required": true, "schema": {"type": "string"}}
                    ],
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": mock()
                },
                "put": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                        {"name": "page", "in": "query", "required": true, "schema": {"type": "string"}}
                    ],
                    "x-amazon-apigateway-request-validator": "body-only",
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": mock()
                }
            }
        }
    });
    let gw = Gw::new();
    let path = gw.state().join("validated.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    gw.ok(&["import", path.to_str().unwrap()]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();
    let url = |p: &str| server.url(&format!("/prod{p}"));

    let r = send(
        &c,
        "GET",
        &url("/items/7?page=2"),
        &[("x-version", "1")],
        Bytes::new(),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));

    for (query, headers, missing) in [
        ("", vec![], "[X-Version, page]"),
        ("?sort=asc", vec![("x-version", "1")], "[page]"),
        ("?page=", vec![("x-version", "1")], "[page]"),
        ("?page=2", vec![], "[X-Version]"),
        ("?page=2", vec![("x-version", "")], "[X-Version]"),
    ] {
        let r = send(
            &c,
            "GET",
            &url(&format!("/items/7{query}")),
            &headers,
            Bytes::new(),
        )
        .await;
        assert_eq!(r.status, 400, "{query} {headers:?}: {}", r.text());
        assert_eq!(
            r.json(),
            json!({"message": format!("Missing required request parameters: {missing}")})
        );
        assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));
    }

    // The PUT's own validator checks bodies only: a missing required parameter passes.
    let r = send(&c, "PUT", &url("/items/7"), &[], Bytes::new()).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
}

/// Body validation against the method's model (JSON Schema draft 4): Swagger 2.0 `definitions`
/// with a nested `$ref`, and OpenAPI 3 `components.schemas` and an inline schema. A valid body
/// reaches the backend unchanged; an invalid one gets AWS's 400 without reaching it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_validated_against_their_models() {
    let upstream = common::echo_upstream("validated").await;
    let swagger = json!({
        "swagger": "2.0",
        "info": {"title": "bodies2", "version": "1"},
        "consumes": ["application/json"],
        "x-amazon-apigateway-request-validators": {
            "all": {"validateRequestBody": true, "validateRequestParameters": true}
        },
        "definitions": {
            "Pet": {
                "type": "object",
                "required": ["name", "owner"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "age": {"type": "integer", "minimum": 0},
                    "owner": {"$ref": "#/definitions/Owner"}
                }
            },
            "Owner": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}},
            "Unused": {"type": "string"}
        },
        "paths": {
            "/pets": {"post": {
                "x-amazon-apigateway-request-validator": "all",
                "parameters": [{"name": "pet", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Pet"}}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "http_proxy", "httpMethod": "POST", "uri": format!("http://{upstream}/pets")
                }
            }}
        }
    });
    let openapi = json!({
        "openapi": "3.0.1",
        "info": {"title": "bodies3", "version": "1"},
        "x-amazon-apigateway-request-validators": {
            "body": {"validateRequestBody": true, "validateRequestParameters": false}
        },
        "x-amazon-apigateway-request-validator": "body",
        "components": {"schemas": {
            "Order": {"type": "object", "required": ["items"],
                      "properties": {"items": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}
        }},
        "paths": {
            "/orders": {"post": {
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": mock()
            }},
            "/notes": {"put": {
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": {"text": {"type": "string", "maxLength": 5}}
                }}}},
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": mock()
            }}
        }
    });
    let c = client();
    let invalid = json!({"message": "Invalid request body"});

    for (title, spec) in [("bodies2", swagger), ("bodies3", openapi)] {
        let gw = Gw::new();
        let path = gw.state().join(format!("{title}.json"));
        std::fs::write(&path, spec.to_string()).unwrap();
        let out = gw.ok(&["import", path.to_str().unwrap(), "--json"]);
        let warnings = serde_json::from_str::<serde_json::Value>(&out).unwrap()["warnings"].clone();
        assert_eq!(
            warnings,
            json!([]),
            "{title}: body validation is honoured: {warnings}"
        );
        gw.ok(&["deploy", "--stage", "prod"]);
        let server = gw.serve(&[]);
        let url = |p: &str| server.url(&format!("/prod{p}"));
        let json_type = [("content-type", "application/json")];
        let cases: Vec<(&str, &str, &str, bool)> = if title == "bodies2" {
            vec![
                (
                    "POST",
                    "/pets",
                    r#"{"name":"Rex","age":3,"owner":{"email":"a@b"}}"#,
                    true,
                ),
                ("POST", "/pets", r#"{"name":"Rex","owner":{}}"#, false),
                (
                    "POST",
                    "/pets",
                    r#"{"name":"","owner":{"email":"a@b"}}"#,
                    false,
                ),
                (
                    "POST",
                    "/pets",
                    r#"{"name":"Rex","age":-1,"owner":{"email":"a@b"}}"#,
                    false,
                ),
                ("POST", "/pets", "not json", false),
                ("POST", "/pets", "", false),
            ]
        } else {
            vec![
                ("POST", "/orders", r#"{"items":["a"]}"#, true),
                ("POST", "/orders", r#"{"items":[]}"#, false),
                ("POST", "/orders", r#"{"items":[1]}"#, false),
                ("PUT", "/notes", r#"{"text":"hi"}"#, true),
                ("PUT", "/notes", r#"{"text":"too long"}"#, false),
                ("PUT", "/notes", r#"{"other":1}"#, false),
            ]
        };
        for (method, p, body, ok) in cases {
            let r = send(&c, method, &url(p), &json_type, body.to_string()).await;
            if ok {
                assert_eq!(r.status, 200, "{title} {method} {p} {body}: {}", r.text());
                if p == "/pets" {
                    // The validated body reaches the backend as sent.
                    assert_eq!(r.json()["body"], body, "{}", r.text());
                }
            } else {
                assert_eq!(r.status, 400, "{title} {method} {p} {body}: {}", r.text());
                assert_eq!(r.json(), invalid);
                assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));
            }
        }
        // Without a Content-Type the body is taken as application/json.
        let r = send(
            &c,
            "POST",
            &url(if title == "bodies2" {
                "/pets"
            } else {
                "/orders"
            }),
            &[],
            "{}",
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text());
    }
}
