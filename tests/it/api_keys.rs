//! API keys through the real server: methods with `apiKeyRequired` accept an enabled key of a
//! usage plan bound to their stage (`x-api-key`, or the authorizer's `usageIdentifierKey` when
//! `apiKeySource` is `AUTHORIZER`), and answer AWS's 403 `{"message":"Forbidden"}` otherwise.
//! Keys made with the CLI (`gw api-key create --stage`).

use crate::common;

use bytes::Bytes;
use common::{client, guest, send, Gw, Reply, TestClient};
use serde_json::{json, Value};

fn mock(text: &str) -> Value {
    json!({
        "type": "mock",
        "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": text}}}
    })
}

fn keyed_spec(title: &str, key_source: &str) -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": title, "version": "1"},
        "x-amazon-apigateway-api-key-source": key_source,
        "securityDefinitions": {
            "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
            "requestAuth": {
                "type": "apiKey", "name": "Unused", "in": "header",
                "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {
                    "type": "request",
                    "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:authorizer/invocations",
                    "identitySource": "method.request.header.X-User",
                    "authorizerResultTtlInSeconds": 0
                }
            }
        },
        "paths": {
            "/pets": {"get": {
                "security": [{"api_key": []}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": mock("pets")
            }},
            "/guarded": {"get": {
                "security": [{"api_key": []}, {"requestAuth": []}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": mock("guarded")
            }},
            "/open": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": mock("open")
            }}
        }
    })
}

fn import(gw: &Gw, spec: &Value) {
    let path = gw.state().join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    gw.ok(&["import", path.to_str().unwrap()]);
}

async fn call(c: &TestClient, url: &str, headers: &[(&str, &str)]) -> Reply {
    send(c, "GET", url, headers, Bytes::new()).await
}

fn assert_forbidden(r: &Reply) {
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);
    assert_eq!(r.header("x-amzn-errortype"), Some("ForbiddenException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_opens_the_stages_of_its_usage_plan_and_nothing_else() {
    let gw = Gw::new();
    import(&gw, &keyed_spec("keyed", "HEADER"));
    gw.ok(&["deploy", "--stage", "prod"]);
    gw.ok(&["deploy", "--stage", "dev"]);
    let server = gw.serve(&[]);
    let c = client();
    let prod = server.url("/prod/pets");
    let dev = server.url("/dev/pets");

    assert_forbidden(&call(&c, &prod, &[]).await);
    let r = call(&c, &server.url("/prod/open"), &[]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "open"));

    let out = gw.ok(&["api-key", "create", "alice", "--stage", "prod", "--json"]);
    let created: Value = serde_json::from_str(&out).unwrap();
    let value = created["key"]["value"].as_str().unwrap().to_string();
    assert_eq!(value.len(), 40);
    assert_eq!(created["usagePlans"][0]["name"], "keyed/prod");

    // The CLI returns once the running server serves the change.
    let r = call(&c, &prod, &[("x-api-key", &value)]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "pets"));
    assert_forbidden(&call(&c, &dev, &[("x-api-key", &value)]).await);
    assert_forbidden(&call(&c, &prod, &[("x-api-key", "not-a-key-not-a-key-00")]).await);

    // A key with a chosen value, for both stages.
    let chosen = "bob-key-0123456789abcdef";
    gw.ok(&[
        "api-key", "create", "bob", "--value", chosen, "--stage", "prod", "--stage", "dev",
    ]);
    assert_eq!(call(&c, &dev, &[("x-api-key", chosen)]).await.status, 200);
    let err = gw.fails(&["api-key", "create", "carol", "--value", chosen]);
    assert!(err.contains("API Key value already exists"), "{err}");
    let err = gw.fails(&["api-key", "create", "carol", "--value", "short"]);
    assert!(err.contains("at least 20 characters"), "{err}");
    let err = gw.fails(&["api-key", "create", "carol", "--stage", "qa"]);
    assert!(err.contains("no stage \"qa\""), "{err}");

    let listed = gw.ok(&["api-keys"]);
    assert!(
        listed.contains("alice") && listed.contains("bob"),
        "{listed}"
    );
    assert!(
        listed.contains("keyed/prod, keyed/dev"),
        "stages by API name: {listed}"
    );

    gw.ok(&["api-key", "delete", "alice"]);
    assert_forbidden(&call(&c, &prod, &[("x-api-key", &value)]).await);
    assert_eq!(call(&c, &prod, &[("x-api-key", chosen)]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_key_source_authorizer_the_key_comes_from_the_authorizer() {
    let gw = Gw::new();
    gw.ok(&[
        "function",
        "put",
        "authorizer",
        guest("authorizer").to_str().unwrap(),
    ]);
    import(&gw, &keyed_spec("keyed", "AUTHORIZER"));
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();
    let url = server.url("/prod/guarded");
    let key = "usage-key-0123456789abcdef";
    gw.ok(&[
        "api-key", "create", "dana", "--value", key, "--stage", "prod",
    ]);

    let r = call(&c, &url, &[("x-user", "dana"), ("x-usage-key", key)]).await;
    assert_eq!((r.status, r.text().as_str()), (200, "guarded"));
    // The x-api-key header is not where the key is read from with this source.
    assert_forbidden(&call(&c, &url, &[("x-user", "dana"), ("x-api-key", key)]).await);
    assert_forbidden(
        &call(
            &c,
            &url,
            &[
                ("x-user", "dana"),
                ("x-usage-key", "some-other-key-0123456789"),
            ],
        )
        .await,
    );
    // No identity: the authorizer refuses first.
    assert_eq!(call(&c, &url, &[("x-usage-key", key)]).await.status, 401);
}
