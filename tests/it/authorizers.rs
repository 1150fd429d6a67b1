//! Lambda authorizers (TOKEN and REQUEST) through the real server, with the `authorizer` example
//! function: identity checks before the call, the policy evaluated against the method ARN, AWS's
//! 401 / 403 / 500 answers, the context reaching Lambda, MOCK and HTTP integrations, and the
//! result cache.
//!
//! Needs the guests: run `scripts/build-functions.sh` first.

use crate::common;

use bytes::Bytes;
use common::{client, guest, send, Gw, Reply, TestClient};
use serde_json::{json, Value};

fn lambda_uri(function: &str) -> String {
    format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/\
         arn:aws:lambda:us-east-1:123456789012:function:{function}/invocations"
    )
}

fn proxy(function: &str) -> Value {
    json!({"type": "aws_proxy", "httpMethod": "POST", "uri": lambda_uri(function)})
}

fn token_scheme(function: &str, ttl: i64) -> Value {
    json!({
        "type": "apiKey", "name": "Authorization", "in": "header",
        "x-amazon-apigateway-authtype": "custom",
        "x-amazon-apigateway-authorizer": {
            "type": "token",
            "authorizerUri": lambda_uri(function),
            "identityValidationExpression": "^Bearer [-0-9a-zA-Z._]+$",
            "authorizerResultTtlInSeconds": ttl
        }
    })
}

/// The test API: echo behind a TOKEN authorizer (uncached and cached), a MOCK and an HTTP_PROXY
/// behind a REQUEST authorizer, and a route whose authorizer function is not registered.
fn spec(upstream: std::net::SocketAddr) -> Value {
    // Pulumi writes an empty identitySource; the scheme's header name stands in for it, as on AWS.
    let mut token_auth = token_scheme("authorizer", 0);
    token_auth["x-amazon-apigateway-authorizer"]["identitySource"] = json!("");
    json!({
        "openapi": "3.0.1",
        "info": {"title": "authorized", "version": "1"},
        "components": {"securitySchemes": {
            "tokenAuth": token_auth,
            "cachedAuth": token_scheme("authorizer", 300),
            "missingAuth": token_scheme("nowhere", 0),
            "requestAuth": {
                "type": "apiKey", "name": "Unused", "in": "header",
                "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {
                    "type": "request",
                    "authorizerUri": lambda_uri("authorizer"),
                    "identitySource": "method.request.querystring.user",
                    "authorizerResultTtlInSeconds": 0
                }
            }
        }},
        "paths": {
            "/pets": {
                "get": {"security": [{"tokenAuth": []}], "x-amazon-apigateway-integration": proxy("echo"),
                        "responses": {"200": {"description": "ok"}}},
                "post": {"security": [{"tokenAuth": []}], "x-amazon-apigateway-integration": proxy("echo"),
                         "responses": {"200": {"description": "ok"}}}
            },
            "/cached": {
                "get": {"security": [{"cachedAuth": []}], "x-amazon-apigateway-integration": proxy("echo"),
                        "responses": {"200": {"description": "ok"}}},
                "post": {"security": [{"cachedAuth": []}], "x-amazon-apigateway-integration": proxy("echo"),
                         "responses": {"200": {"description": "ok"}}}
            },
            "/open": {
                "get": {"x-amazon-apigateway-integration": proxy("echo"),
                        "responses": {"200": {"description": "ok"}}}
            },
            "/missing": {
                "get": {"security": [{"missingAuth": []}], "x-amazon-apigateway-integration": proxy("echo"),
                        "responses": {"200": {"description": "ok"}}}
            },
            "/mock": {
                "get": {"security": [{"requestAuth": []}],
                        "responses": {"200": {"description": "ok"}},
                        "x-amazon-apigateway-integration": {
                            "type": "mock",
                            "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                            "responses": {"default": {"statusCode": "200", "responseTemplates": {
                                "application/json": "{\"who\": \"$context.authorizer.principalId\", \"level\": \"$context.authorizer.level\"}"
                            }}}
                        }}
            },
            "/backend": {
                "get": {"security": [{"requestAuth": []}],
                        "responses": {"200": {"description": "ok"}},
                        "x-amazon-apigateway-integration": {
                            "type": "http_proxy", "httpMethod": "GET",
                            "uri": format!("http://{upstream}/seen"),
                            "requestParameters": {
                                "integration.request.header.X-Principal": "context.authorizer.principalId"
                            }
                        }}
            }
        }
    })
}

struct Api {
    gw: Gw,
    server: common::Server,
    client: TestClient,
}

impl Api {
    async fn new() -> Api {
        let upstream = common::echo_upstream("backend").await;
        let gw = Gw::new();
        for name in ["authorizer", "echo"] {
            gw.ok(&["function", "put", name, guest(name).to_str().unwrap()]);
        }
        let path = gw.state().join("authorized.json");
        std::fs::write(&path, spec(upstream).to_string()).unwrap();
        let out = gw.ok(&["import", path.to_str().unwrap(), "--json"]);
        let warnings = serde_json::from_str::<Value>(&out).unwrap()["warnings"].clone();
        assert!(warnings.is_array(), "{out}");
        assert!(
            !warnings.to_string().contains("authoriz"),
            "TOKEN and REQUEST authorizers are honoured, so import has nothing to warn about: {warnings}"
        );
        gw.ok(&["deploy", "--stage", "prod"]);
        let server = gw.serve(&[]);
        Api {
            gw,
            server,
            client: client(),
        }
    }

    async fn call(&self, method: &str, path: &str, token: Option<&str>) -> Reply {
        let auth;
        let mut headers = vec![];
        if let Some(t) = token {
            auth = t.to_string();
            headers.push(("authorization", auth.as_str()));
        }
        send(
            &self.client,
            method,
            &self.server.url(&format!("/prod{path}")),
            &headers,
            Bytes::new(),
        )
        .await
    }
}

fn assert_gateway_error(r: &Reply, status: u16, body: &str, error_type: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.text(), body);
    assert_eq!(r.header("x-amzn-errortype"), Some(error_type));
    assert!(r.header("x-amzn-requestid").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_authorizer_grants_limits_and_denies_as_aws_does() {
    let api = Api::new().await;

    // Allowed: the function's principal and context (values stringified) reach the Lambda event.
    let r = api.call("GET", "/pets", Some("Bearer alice")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event = r.json();
    let authorizer = &event["requestContext"]["authorizer"];
    assert_eq!(authorizer["principalId"], "alice");
    assert_eq!(authorizer["user"], "alice");
    assert_eq!(authorizer["level"], "3");
    assert_eq!(authorizer["admin"], "false");
    assert!(authorizer["integrationLatency"].is_u64(), "{authorizer}");
    // The same token may POST: its policy covers every method of the stage.
    assert_eq!(
        api.call("POST", "/pets", Some("Bearer alice")).await.status,
        200
    );

    // A policy naming GET only: POST is implicitly denied.
    assert_eq!(
        api.call("GET", "/pets", Some("Bearer reader-bob"))
            .await
            .status,
        200
    );
    let r = api.call("POST", "/pets", Some("Bearer reader-bob")).await;
    assert_gateway_error(
        &r,
        403,
        r#"{"Message":"User is not authorized to access this resource"}"#,
        "AccessDeniedException",
    );

    // An explicit Deny.
    let r = api.call("GET", "/pets", Some("Bearer deny")).await;
    assert_gateway_error(
        &r,
        403,
        r#"{"Message":"User is not authorized to access this resource with an explicit deny"}"#,
        "AccessDeniedException",
    );

    // No header, a value the validation expression refuses, and the function's "Unauthorized".
    let unauthorized = r#"{"message":"Unauthorized"}"#;
    for token in [
        None,
        Some("alice"),
        Some("Bearer two words"),
        Some("Bearer unauthorized"),
    ] {
        let r = api.call("GET", "/pets", token).await;
        assert_gateway_error(&r, 401, unauthorized, "UnauthorizedException");
    }

    // An answer that is not a policy, and an authorizer whose function is not registered.
    let config_error = r#"{"message": null}"#;
    let r = api.call("GET", "/pets", Some("Bearer broken")).await;
    assert_gateway_error(&r, 500, config_error, "AuthorizerConfigurationException");
    let r = api.call("GET", "/missing", Some("Bearer alice")).await;
    assert_gateway_error(&r, 500, config_error, "AuthorizerConfigurationException");

    // A method without an authorizer has no `authorizer` in its event.
    let r = api.call("GET", "/open", None).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["requestContext"].get("authorizer").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_authorizer_feeds_mock_templates_and_backend_headers() {
    let api = Api::new().await;
    let url = |q: &str| api.server.url(&format!("/prod{q}"));

    let r = send(
        &api.client,
        "GET",
        &url("/mock?user=carol"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"who": "carol", "level": "3"}));

    let r = send(
        &api.client,
        "GET",
        &url("/backend?user=dave"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = r.json();
    assert_eq!(seen["tag"], "backend");
    assert_eq!(seen["headers"]["x-principal"], "dave", "{seen}");

    // The identity source is missing or empty: 401 without calling the function.
    for q in ["/mock", "/mock?user=", "/backend?other=x"] {
        let r = send(&api.client, "GET", &url(q), &[], Bytes::new()).await;
        assert_gateway_error(
            &r,
            401,
            r#"{"message":"Unauthorized"}"#,
            "UnauthorizedException",
        );
    }
    let r = send(
        &api.client,
        "GET",
        &url("/mock?user=deny"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_policy_is_reused_for_its_ttl_and_evaluated_per_method() {
    let api = Api::new().await;
    assert_eq!(
        api.call("GET", "/cached", Some("Bearer reader-erin"))
            .await
            .status,
        200
    );
    assert_eq!(
        api.call("GET", "/pets", Some("Bearer reader-erin"))
            .await
            .status,
        200
    );

    // Replace the authorizer function with one that traps. The cached route keeps the answer it
    // has (TTL 300 s) and evaluates the cached policy against each method: GET is still allowed,
    // POST is still denied. The uncached route calls the new function every time: 500.
    api.gw.ok(&[
        "function",
        "put",
        "authorizer",
        guest("trap").to_str().unwrap(),
    ]);
    let r = api.call("GET", "/cached", Some("Bearer reader-erin")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["requestContext"]["authorizer"]["integrationLatency"],
        0
    );
    let r = api
        .call("POST", "/cached", Some("Bearer reader-erin"))
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = api.call("GET", "/pets", Some("Bearer reader-erin")).await;
    assert_gateway_error(
        &r,
        500,
        r#"{"message": null}"#,
        "AuthorizerConfigurationException",
    );
    // Another token is not in the cache: the trapping function answers it.
    let r = api.call("GET", "/cached", Some("Bearer frank")).await;
    assert_eq!(r.status, 500, "{}", r.text());
}
