//! Routing through the real `gw serve` process with a fake upstream on port 0: path and method
//! precedence, the three invoke-URL forms, gateway errors, parameter mapping into the backend
//! request, hop-by-hop headers, MOCK integrations and the spec's gateway-response customisation.

use crate::common;

use bytes::Bytes;
use common::{client, echo_upstream, get, send, Gw, Reply, Server};
use std::net::SocketAddr;

// ---- fixtures ----

/// A spec exercising precedence: literal and `{param}` siblings under `/shop/items`, a greedy
/// `{proxy+}` under `/shop`, a resource with both GET and ANY, and a GET-only resource with
/// static / mapped request parameters. `@UP@` is replaced by the upstream's address.
const ROUTES: &str = r#"
openapi: 3.0.1
info: {title: routes, version: "1"}
paths:
  /shop/items:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: "http://@UP@/literal/items"
  /shop/items/special:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: "http://@UP@/literal/special"
  /shop/items/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: "http://@UP@/param/{id}"
        requestParameters:
          integration.request.path.id: method.request.path.id
  /shop/{proxy+}:
    x-amazon-apigateway-any-method:
      parameters:
        - {name: proxy, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: ANY
        uri: "http://@UP@/greedy/{proxy}"
        requestParameters:
          integration.request.path.proxy: method.request.path.proxy
  /things:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: "http://@UP@/things/get"
    x-amazon-apigateway-any-method:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: ANY
        uri: "http://@UP@/things/any"
  /only-get:
    get:
      parameters:
        - {name: q, in: query, required: false, schema: {type: string}}
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: "http://@UP@/only-get"
        requestParameters:
          integration.request.header.X-Static: "'static-value'"
          integration.request.header.X-From-Query: method.request.querystring.q
          integration.request.querystring.mapped: method.request.header.X-In
"#;

/// Import `spec` (with `@UP@` replaced by `up`) under `name`; returns the API id.
fn import(gw: &Gw, name: &str, spec: &str, up: SocketAddr) -> String {
    let path = gw.state().join(format!("{name}.yaml"));
    std::fs::write(&path, spec.replace("@UP@", &up.to_string())).unwrap();
    let out = gw.ok(&["import", path.to_str().unwrap(), "--name", name, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// Import a spec file of `specs/` as is.
fn import_file(gw: &Gw, file: &str) -> String {
    let out = gw.ok(&["import", &format!("specs/{file}"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["id"].as_str().unwrap().to_string()
}

fn deploy(gw: &Gw, api: &str, stage: &str, vars: &[&str]) -> String {
    let mut args = vec!["deploy", "--api", api, "--stage", stage, "--json"];
    for v in vars {
        args.push("--var");
        args.push(v);
    }
    let v: serde_json::Value = serde_json::from_str(&gw.ok(&args)).unwrap();
    v["deployment"]["id"].as_str().unwrap().to_string()
}

/// A state with the precedence API deployed to `prod`, served, and an echo upstream.
async fn routes() -> (Gw, Server, String) {
    let up = echo_upstream("routes").await;
    let gw = Gw::new();
    let id = import(&gw, "routes", ROUTES, up);
    deploy(&gw, &id, "prod", &[]);
    let server = gw.serve(&[]);
    (gw, server, id)
}

/// The backend path the echo upstream saw.
fn backend_path(r: &Reply) -> String {
    assert_eq!(
        r.status,
        200,
        "expected the upstream's answer, got {}: {}",
        r.status,
        r.text()
    );
    r.json()["path"].as_str().unwrap().to_string()
}

async fn path_of(server: &Server, method: &str, path: &str) -> String {
    let r = send(&client(), method, &server.url(path), &[], Bytes::new()).await;
    backend_path(&r)
}

/// AWS's answer for no route: 403, this exact body, the error type and both request ids.
fn assert_missing_token(r: &Reply) {
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.text(), r#"{"message":"Missing Authentication Token"}"#);
    assert_eq!(
        r.header("x-amzn-ErrorType"),
        Some("MissingAuthenticationTokenException")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let rid = r.header("x-amzn-RequestId").expect("x-amzn-RequestId");
    assert!(uuid_shaped(rid), "request id {rid:?} is not a UUID");
    let ext = r.header("x-amz-apigw-id").expect("x-amz-apigw-id");
    assert_eq!(ext.len(), 16, "extended request id {ext:?}");
}

fn uuid_shaped(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
}

/// An upstream that answers every request with fixed raw bytes (hop-by-hop response headers).
async fn raw_upstream(response: &'static [u8]) -> SocketAddr {
    use tokio::io::AsyncWriteExt;
    common::raw_upstream(move |mut s| async move {
        // Read the request head, then answer and close.
        if common::read_head(&mut s).await.is_some() {
            let _ = s.write_all(response).await;
            let _ = s.shutdown().await;
        }
    })
    .await
}

const MOCK_CONTEXT: &str = r#"
openapi: 3.0.1
info: {title: mock-context, version: "1"}
paths:
  /ctx:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates:
          application/json: '{"statusCode": 200}'
        responses:
          default:
            statusCode: "200"
            responseTemplates:
              application/json: '{"time": "$context.requestTime", "epoch": "$context.requestTimeEpoch", "ua": "$context.identity.userAgent", "account": "$context.accountId", "color": "$stageVariables[''color'']", "braced": "${stageVariables["color"]}", "method": "$context[''httpMethod'']"}'
"#;

mod precedence;
mod responses;
