//! Cognito user-pool authorizers enforced through the real server: tokens from a local user pool
//! (`gw user-pool create`, `gw token`) and from an external pool whose JWKS `gw serve --jwks`
//! reads; every way a token can be wrong answers 401, a missing scope 403, and a good token's
//! claims reach a mapping template and the Lambda event.

use crate::common::{client, guest, send, Gw, Reply, Server, TestClient};
use bytes::Bytes;
use serde_json::{json, Value};

const POOL: &str = "us-east-1_TestPool1";
const EXTERNAL: &str = "us-east-1_External9";

fn arn(pool: &str) -> String {
    format!("arn:aws:cognito-idp:us-east-1:123456789012:userpool/{pool}")
}

fn spec() -> Value {
    let mock = |template: &str| {
        json!({
            "type": "mock",
            "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
            "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": template}}}
        })
    };
    let echo = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:echo/invocations";
    json!({
        "openapi": "3.0.1",
        "info": {"title": "cognito", "version": "1"},
        "components": {"securitySchemes": {
            "pool": {
                "type": "apiKey", "name": "Authorization", "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": [arn(POOL)]}
            },
            "external": {
                "type": "apiKey", "name": "Authorization", "in": "header",
                "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": [arn(EXTERNAL)]}
            }
        }},
        "paths": {
            "/pets": {"get": {
                "security": [{"pool": []}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": mock("{\"sub\": \"$context.authorizer.claims.sub\", \"email\": \"$context.authorizer.claims.email\"}")
            }},
            "/scoped": {"get": {
                "security": [{"pool": ["pets/read"]}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": mock("{\"scoped\": \"$context.authorizer.claims.sub\"}")
            }},
            "/event": {"get": {
                "security": [{"pool": []}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": echo}
            }},
            "/external": {"get": {
                "security": [{"external": []}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": mock("{\"external\": \"$context.authorizer.claims.sub\"}")
            }},
            "/open": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": mock("open")
            }}
        }
    })
}

/// A token of a local pool of `gw` (`gw token` with `args`).
fn token(gw: &Gw, pool: &str, args: &[&str]) -> String {
    let mut all = vec!["token", "--user-pool", pool];
    all.extend_from_slice(args);
    gw.ok(&all).trim().to_owned()
}

async fn call(c: &TestClient, server: &Server, path: &str, token: Option<&str>) -> Reply {
    let mut headers = Vec::new();
    if let Some(t) = token {
        headers.push(("authorization", t));
    }
    send(c, "GET", &server.url(path), &headers, Bytes::new()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_authorizers_refuse_every_bad_token_and_pass_claims_on() {
    // Another state directory plays the external pool (and forges tokens for ours).
    let other = Gw::new();
    other.ok(&[
        "user-pool",
        "create",
        "ext",
        "--id",
        EXTERNAL,
        "--client",
        "extclient",
    ]);
    other.ok(&[
        "user-pool",
        "create",
        "forger",
        "--id",
        POOL,
        "--client",
        "web",
    ]);
    let other_server = other.serve(&[]);
    let c = client();
    let jwks = send(
        &c,
        "GET",
        &other_server.url(&format!("/_gw/user-pools/{EXTERNAL}/.well-known/jwks.json")),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(jwks.status, 200, "{}", jwks.text());
    let oidc: Value = send(
        &c,
        "GET",
        &other_server.url("/_gw/user-pools/ext/.well-known/openid-configuration"),
        &[],
        Bytes::new(),
    )
    .await
    .json();
    assert_eq!(
        oidc["issuer"],
        format!("https://cognito-idp.us-east-1.amazonaws.com/{EXTERNAL}")
    );
    assert!(oidc["jwks_uri"]
        .as_str()
        .unwrap()
        .ends_with("/.well-known/jwks.json"));

    let gw = Gw::new();
    let created: Value = serde_json::from_str(&gw.ok(&[
        "user-pool",
        "create",
        "pets",
        "--id",
        POOL,
        "--client",
        "web",
        "--json",
    ]))
    .unwrap();
    assert_eq!(created["id"], POOL);
    let jwks_file = gw.state().join("external-jwks.json");
    std::fs::write(&jwks_file, &jwks.body).unwrap();
    gw.import_spec("cognito.json", &spec());
    gw.ok(&["function", "put", "echo", guest("echo").to_str().unwrap()]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&["--jwks", &format!("{EXTERNAL}={}", jwks_file.display())]);

    let good = token(
        &gw,
        "pets",
        &["--sub", "alice", "--claim", "email=alice@example.com"],
    );
    let unauthorized = r#"{"message":"Unauthorized"}"#;
    // No token, an empty one, garbage.
    for t in [None, Some(""), Some("not-a-jwt"), Some("Bearer a.b.c")] {
        let r = call(&c, &server, "/prod/pets", t).await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (401, unauthorized),
            "token {t:?}"
        );
    }
    // Expired.
    let short = token(&gw, "pets", &["--sub", "alice", "--ttl", "1s"]);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        call(&c, &server, "/prod/pets", Some(&short)).await.status,
        401,
        "expired"
    );
    // Signed by another key claiming our pool's issuer.
    let forged = token(&other, "forger", &["--sub", "mallory"]);
    assert_eq!(
        call(&c, &server, "/prod/pets", Some(&forged)).await.status,
        401,
        "wrong signature"
    );
    // Another pool's token (wrong issuer for /pets).
    let external = token(&other, "ext", &["--sub", "eve"]);
    assert_eq!(
        call(&c, &server, "/prod/pets", Some(&external))
            .await
            .status,
        401,
        "wrong issuer"
    );
    // Not one of the pool's app clients.
    let wrong_aud = token(
        &gw,
        "pets",
        &["--sub", "alice", "--claim", "aud=someone-else"],
    );
    assert_eq!(
        call(&c, &server, "/prod/pets", Some(&wrong_aud))
            .await
            .status,
        401,
        "wrong audience"
    );
    // Not an ID or access token.
    let refresh = token(
        &gw,
        "pets",
        &["--sub", "alice", "--claim", "token_use=refresh"],
    );
    assert_eq!(
        call(&c, &server, "/prod/pets", Some(&refresh)).await.status,
        401,
        "token_use"
    );

    // A good ID token: 200, its claims in the mapping template (with or without `Bearer `).
    for t in [good.clone(), format!("Bearer {good}")] {
        let r = call(&c, &server, "/prod/pets", Some(&t)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({"sub": "alice", "email": "alice@example.com"})
        );
    }
    // ...and in the Lambda event, as requestContext.authorizer.claims.
    let r = call(&c, &server, "/prod/event", Some(&good)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event = r.json();
    let claims = &event["requestContext"]["authorizer"]["claims"];
    assert_eq!(claims["sub"], "alice", "{event}");
    assert_eq!(claims["aud"], "web");
    assert_eq!(claims["token_use"], "id");
    assert_eq!(
        claims["iss"],
        format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}")
    );
    assert!(
        claims["exp"].as_str().is_some(),
        "claims are strings: {claims}"
    );

    // Scopes: an access token with the scope → 200; without it → 403; an ID token → 401.
    let read = token(&gw, "pets", &["--sub", "bob", "--scope", "pets/read"]);
    let r = call(&c, &server, "/prod/scoped", Some(&read)).await;
    assert_eq!((r.status, r.json()), (200, json!({"scoped": "bob"})));
    let write = token(&gw, "pets", &["--sub", "bob", "--scope", "pets/write"]);
    let r = call(&c, &server, "/prod/scoped", Some(&write)).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        call(&c, &server, "/prod/scoped", Some(&good)).await.status,
        401
    );

    // The external pool, from the JWKS file --jwks gave.
    let r = call(&c, &server, "/prod/external", Some(&external)).await;
    assert_eq!((r.status, r.json()), (200, json!({"external": "eve"})));
    assert_eq!(
        call(&c, &server, "/prod/external", Some(&good))
            .await
            .status,
        401
    );
    // A method without an authorizer stays open.
    assert_eq!(call(&c, &server, "/prod/open", None).await.status, 200);
}
