//! Request validators through the real server: required parameters checked before the
//! integration runs, AWS's 400 answer, and methods whose validator does not check parameters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

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
    let out = gw.ok(&["import", path.to_str().unwrap(), "--json"]);
    assert!(
        out.contains("does not validate request bodies"),
        "a validator asking for body validation is warned about: {out}"
    );
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
