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

// ---- precedence ----

#[tokio::test]
async fn a_literal_segment_beats_a_path_parameter() {
    let (_gw, server, _) = routes().await;
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/items/special").await,
        "/literal/special"
    );
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/items").await,
        "/literal/items"
    );
    // A literal spelled with percent-escapes is the same literal.
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/items/speci%61l").await,
        "/literal/special"
    );
}

#[tokio::test]
async fn a_path_parameter_beats_a_greedy_sibling_of_its_parent() {
    let (_gw, server, _) = routes().await;
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/items/42").await,
        "/param/42"
    );
    // One more segment: {id} cannot match it, so the greedy resource does.
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/items/42/reviews").await,
        "/greedy/items/42/reviews"
    );
}

#[tokio::test]
async fn greedy_proxy_is_substituted_into_the_backend_path_with_its_slashes() {
    let (_gw, server, _) = routes().await;
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/a/b/c").await,
        "/greedy/a/b/c"
    );
    assert_eq!(
        path_of(&server, "DELETE", "/prod/shop/x").await,
        "/greedy/x"
    );
    // Escapes inside the greedy value survive, slashes between segments stay slashes.
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/x%20y/z%3Fw").await,
        "/greedy/x%20y/z%3Fw"
    );
    // {proxy+} needs at least one segment: /shop itself has no method.
    assert_missing_token(&get(&client(), &server.url("/prod/shop")).await);
}

#[tokio::test]
async fn an_explicit_method_beats_any() {
    let (_gw, server, _) = routes().await;
    assert_eq!(path_of(&server, "GET", "/prod/things").await, "/things/get");
    assert_eq!(
        path_of(&server, "POST", "/prod/things").await,
        "/things/any"
    );
    assert_eq!(
        path_of(&server, "PATCH", "/prod/things").await,
        "/things/any"
    );
}

#[tokio::test]
async fn a_trailing_slash_is_ignored() {
    let (_gw, server, _) = routes().await;
    assert_eq!(
        path_of(&server, "GET", "/prod/things/").await,
        "/things/get"
    );
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/items/special/").await,
        "/literal/special"
    );
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/items/7/").await,
        "/param/7"
    );
}

#[tokio::test]
async fn percent_encoded_path_parameters_are_decoded_then_re_encoded_for_the_backend() {
    let (_gw, server, _) = routes().await;
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/items/a%20b").await,
        "/param/a%20b"
    );
    // An encoded slash is one segment: it matches {id} and stays encoded for the backend.
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/items/a%2Fb").await,
        "/param/a%2Fb"
    );
    assert_eq!(
        path_of(&server, "GET", "/prod/shop/items/caf%C3%A9").await,
        "/param/caf%C3%A9"
    );
}

// ---- no match ----

#[tokio::test]
async fn no_route_for_the_path_is_403_missing_authentication_token() {
    let (_gw, server, _) = routes().await;
    let c = client();
    assert_missing_token(&get(&c, &server.url("/prod/nothing/here")).await);
    assert_missing_token(&get(&c, &server.url("/prod/")).await);
    assert_missing_token(&get(&c, &server.url("/prod")).await);
}

#[tokio::test]
async fn no_route_for_the_method_is_403_missing_authentication_token() {
    let (_gw, server, _) = routes().await;
    let c = client();
    let r = send(&c, "POST", &server.url("/prod/only-get"), &[], "x").await;
    assert_missing_token(&r);
    let r = send(&c, "PUT", &server.url("/prod/only-get/"), &[], Bytes::new()).await;
    assert_missing_token(&r);
    // Each answer carries its own request id.
    let a = get(&c, &server.url("/prod/nothing")).await;
    let b = get(&c, &server.url("/prod/nothing")).await;
    assert_ne!(a.header("x-amzn-RequestId"), b.header("x-amzn-RequestId"));
}

#[tokio::test]
async fn an_unknown_stage_is_a_clear_404() {
    let (_gw, server, id) = routes().await;
    let r = get(&client(), &server.url("/staging/things")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.header("x-amzn-ErrorType"), Some("NotFoundException"));
    assert!(r.header("x-amzn-RequestId").is_some());
    let msg = r.json()["message"].as_str().unwrap().to_string();
    assert!(msg.contains("'staging'"), "{msg}");
    assert!(msg.contains(&id), "{msg}");
    assert!(
        msg.contains("prod"),
        "the message should list the deployed stages: {msg}"
    );
}

#[tokio::test]
async fn an_unknown_api_is_a_clear_404_in_both_addressed_forms() {
    let (_gw, server, _) = routes().await;
    let c = client();
    let host = format!("nosuchapi1.execute-api.localhost:{}", server.addr.port());
    let by_host = send(
        &c,
        "GET",
        &server.url("/prod/things"),
        &[("host", &host)],
        Bytes::new(),
    )
    .await;
    let by_path = get(&c, &server.url("/_aws/execute-api/nosuchapi1/prod/things")).await;
    for r in [by_host, by_path] {
        assert_eq!(r.status, 404, "{}", r.text());
        assert_eq!(r.header("x-amzn-ErrorType"), Some("NotFoundException"));
        assert_eq!(
            r.json()["message"],
            "The API id 'nosuchapi1' does not correspond to a deployed API Gateway API"
        );
    }
}

// ---- URL forms ----

#[tokio::test]
async fn all_three_url_forms_reach_the_same_route() {
    let (_gw, server, id) = routes().await;
    let c = client();
    let port = server.addr.port();
    let short = get(&c, &server.url("/prod/shop/items/9?x=1")).await;
    let by_id = send(
        &c,
        "GET",
        &server.url("/prod/shop/items/9?x=1"),
        &[("host", &format!("{id}.execute-api.localhost:{port}"))],
        Bytes::new(),
    )
    .await;
    // The host form also takes the API's name, case-insensitively.
    let by_name = send(
        &c,
        "GET",
        &server.url("/prod/shop/items/9?x=1"),
        &[("host", &format!("Routes.execute-api.localhost:{port}"))],
        Bytes::new(),
    )
    .await;
    let by_path = get(
        &c,
        &server.url(&format!("/_aws/execute-api/{id}/prod/shop/items/9?x=1")),
    )
    .await;
    for r in [&short, &by_id, &by_name, &by_path] {
        assert_eq!(backend_path(r), "/param/9");
        assert_eq!(r.json()["query"], "x=1");
        assert_eq!(r.header("x-gw-canary"), Some("false"));
    }
    let deployments: Vec<_> = [&short, &by_id, &by_name, &by_path]
        .iter()
        .map(|r| r.header("x-gw-deployment").unwrap().to_string())
        .collect();
    assert!(
        deployments.iter().all(|d| d == &deployments[0]),
        "{deployments:?}"
    );
}

#[tokio::test]
async fn the_short_form_is_refused_when_several_apis_have_stages() {
    let up = echo_upstream("two").await;
    let gw = Gw::new();
    let a = import(&gw, "first", ROUTES, up);
    let b = import_file(&gw, "mock.yaml");
    deploy(&gw, &a, "prod", &[]);
    deploy(&gw, &b, "prod", &[]);
    let server = gw.serve(&[]);
    let c = client();
    let r = get(&c, &server.url("/prod/things")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let msg = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("ambiguous") && msg.contains(&a) && msg.contains(&b),
        "{msg}"
    );
    // The addressed forms still work.
    let r = get(
        &c,
        &server.url(&format!("/_aws/execute-api/{a}/prod/things")),
    )
    .await;
    assert_eq!(backend_path(&r), "/things/get");
    let r = get(
        &c,
        &server.url(&format!("/_aws/execute-api/{b}/prod/status")),
    )
    .await;
    assert_eq!(r.status, 200);
}

// ---- what the backend receives ----

#[tokio::test]
async fn static_and_mapped_request_parameters_reach_the_backend() {
    let (_gw, server, _) = routes().await;
    let r = send(
        &client(),
        "GET",
        &server.url("/prod/only-get?q=from%20query&keep=1"),
        &[("x-in", "hdr")],
        Bytes::new(),
    )
    .await;
    assert_eq!(backend_path(&r), "/only-get");
    let j = r.json();
    assert_eq!(j["headers"]["x-static"], "static-value");
    assert_eq!(j["headers"]["x-from-query"], "from query");
    // HTTP_PROXY passes the client's query through verbatim; mapped parameters are appended.
    assert_eq!(j["query"], "q=from%20query&keep=1&mapped=hdr");
}

#[tokio::test]
async fn http_proxy_forwards_method_query_headers_and_body() {
    let (_gw, server, _) = routes().await;
    let r = send(
        &client(),
        "PUT",
        &server.url("/prod/shop/cart?a=1&a=2&b=two%20words&empty="),
        &[("x-custom", "yes"), ("content-type", "text/plain")],
        "the body",
    )
    .await;
    assert_eq!(backend_path(&r), "/greedy/cart");
    let j = r.json();
    assert_eq!(j["method"], "PUT");
    assert_eq!(j["query"], "a=1&a=2&b=two%20words&empty=");
    assert_eq!(j["body"], "the body");
    assert_eq!(j["headers"]["x-custom"], "yes");
    assert_eq!(j["headers"]["content-type"], "text/plain");
    assert_eq!(j["headers"]["x-forwarded-for"], "127.0.0.1");
    // The backend is addressed by its own authority, not the gateway's.
    let up = j["headers"]["host"].as_str().unwrap();
    assert!(
        up.starts_with("127.0.0.1:") && up != server.addr.to_string(),
        "{up}"
    );
}

#[tokio::test]
async fn the_client_address_is_appended_to_x_forwarded_for() {
    let (_gw, server, _) = routes().await;
    let r = send(
        &client(),
        "GET",
        &server.url("/prod/things"),
        &[("x-forwarded-for", "203.0.113.7")],
        Bytes::new(),
    )
    .await;
    assert_eq!(backend_path(&r), "/things/get");
    assert_eq!(
        r.json()["headers"]["x-forwarded-for"],
        "203.0.113.7, 127.0.0.1"
    );
}

#[tokio::test]
async fn hop_by_hop_request_headers_are_not_forwarded() {
    let (_gw, server, _) = routes().await;
    let r = send(
        &client(),
        "GET",
        &server.url("/prod/shop/hop"),
        &[
            ("connection", "keep-alive, x-listed"),
            ("x-listed", "drop me"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic Zm9vOmJhcg=="),
            ("te", "trailers"),
            ("x-kept", "keep me"),
        ],
        Bytes::new(),
    )
    .await;
    assert_eq!(backend_path(&r), "/greedy/hop");
    let headers = r.json()["headers"].as_object().unwrap().clone();
    for gone in ["x-listed", "keep-alive", "proxy-authorization", "te"] {
        assert!(
            !headers.contains_key(gone),
            "{gone} reached the backend: {headers:?}"
        );
    }
    assert_eq!(headers["x-kept"], "keep me");
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

#[tokio::test]
async fn hop_by_hop_response_headers_are_not_returned() {
    let up = raw_upstream(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close, x-hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nX-Ok: yes\r\n\r\nok",
    )
    .await;
    let gw = Gw::new();
    let id = import(&gw, "routes", ROUTES, up);
    deploy(&gw, &id, "prod", &[]);
    let server = gw.serve(&[]);
    let r = get(&client(), &server.url("/prod/things")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "ok");
    assert_eq!(r.header("x-ok"), Some("yes"));
    for gone in ["x-hop", "keep-alive", "proxy-authenticate"] {
        assert!(
            r.header(gone).is_none(),
            "{gone} came back: {:?}",
            r.headers
        );
    }
    assert_ne!(r.header("connection"), Some("close, x-hop"));
}

// ---- MOCK ----

#[tokio::test]
async fn mock_answers_from_its_integration_response() {
    let gw = Gw::new();
    let id = import_file(&gw, "mock.yaml");
    let deployment = deploy(&gw, &id, "beta", &["color=blue"]);
    let server = gw.serve(&[]);
    let c = client();
    let r = get(&c, &server.url("/beta/status")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-gw-deployment"), Some(deployment.as_str()));
    assert_eq!(
        r.json(),
        serde_json::json!({"status": "ok", "stage": "beta", "color": "blue"})
    );
    // The request template's status selects the "4\d{2}" response over default.
    let r = get(&c, &server.url("/beta/teapot")).await;
    assert_eq!(r.status, 418, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"message": "short and stout"}));
    // No route in a MOCK-only API is the same 403 as anywhere.
    assert_missing_token(&get(&c, &server.url("/beta/kettle")).await);
}

// ---- the spec's gateway responses ----

#[tokio::test]
async fn petstore_customises_missing_authentication_token() {
    let up = echo_upstream("pets").await;
    let gw = Gw::new();
    let id = import_file(&gw, "petstore.yaml");
    deploy(&gw, &id, "prod", &[&format!("backend={up}"), "version=v1"]);
    let server = gw.serve(&[]);
    let c = client();
    let r = get(&c, &server.url("/prod/owners")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        r.text(),
        r#"{"message": "Missing Authentication Token", "type": "MISSING_AUTHENTICATION_TOKEN"}"#
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("x-amzn-ErrorType"),
        Some("MissingAuthenticationTokenException")
    );
    assert!(r.header("x-amzn-RequestId").is_some());
    // The wrong method is the same customised answer.
    let r = send(&c, "DELETE", &server.url("/prod/pets"), &[], Bytes::new()).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    // The routes themselves: {petId} mapped to {id}, a static header, stage variables in the URI.
    let r = get(&c, &server.url("/prod/pets/42")).await;
    assert_eq!(backend_path(&r), "/v1/pets/42");
    assert_eq!(r.json()["headers"]["x-pet-store"], "gw");
    let r = get(&c, &server.url("/prod/pets?limit=2")).await;
    assert_eq!(backend_path(&r), "/v1/pets");
    assert_eq!(r.json()["query"], "limit=2");
    // The CORS preflight is a MOCK with static headers and an empty template.
    let r = send(&c, "OPTIONS", &server.url("/prod/pets"), &[], Bytes::new()).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET,POST,OPTIONS")
    );
    assert_eq!(r.text(), "");
}

// ---- methods ANY covers, host case, MOCK template values ----

#[tokio::test]
async fn any_covers_the_seven_api_gateway_methods_and_nothing_else() {
    let (_gw, server, _) = routes().await;
    let c = client();
    for method in ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] {
        let r = send(&c, method, &server.url("/prod/shop/a/b"), &[], Bytes::new()).await;
        assert_eq!(r.status, 200, "{method} through ANY: {}", r.text());
    }
    // Methods API Gateway does not know, and a lower-case `get` (methods are case-sensitive),
    // match no route: not the ANY route, not the greedy one.
    for method in ["TRACE", "PROPFIND", "FOO", "get"] {
        for path in ["/prod/things", "/prod/shop/a/b"] {
            let r = send(&c, method, &server.url(path), &[], Bytes::new()).await;
            assert_missing_token(&r);
        }
    }
}

#[tokio::test]
async fn the_host_form_is_case_insensitive() {
    let (_gw, server, id) = routes().await;
    let c = client();
    let host = format!(
        "{}.EXECUTE-API.LocalHost:{}",
        id.to_ascii_uppercase(),
        server.addr.port()
    );
    let r = send(
        &c,
        "GET",
        &server.url("/prod/things"),
        &[("host", &host)],
        Bytes::new(),
    )
    .await;
    assert_eq!(backend_path(&r), "/things/get");
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

#[tokio::test]
async fn mock_templates_fill_request_time_user_agent_account_and_bracket_references() {
    let gw = Gw::new();
    let up: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let id = import(&gw, "mock-context", MOCK_CONTEXT, up);
    deploy(&gw, &id, "beta", &["color=teal"]);
    let server = gw.serve(&[]);
    let r = send(
        &client(),
        "GET",
        &server.url("/beta/ctx"),
        &[("user-agent", "probe/1.0")],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["ua"], "probe/1.0");
    assert_eq!(v["account"], "000000000000");
    assert_eq!(v["color"], "teal");
    assert_eq!(v["braced"], "teal");
    assert_eq!(v["method"], "GET");
    // requestTime is Common Log Format, in UTC, at the request's epoch millisecond.
    let epoch: i64 = v["epoch"].as_str().unwrap().parse().unwrap();
    let expected = chrono::DateTime::from_timestamp_millis(epoch)
        .unwrap()
        .format("%d/%b/%Y:%H:%M:%S +0000")
        .to_string();
    assert_eq!(v["time"], expected.as_str());
}

#[tokio::test]
async fn no_route_with_a_bearer_token_is_aws_signature_complaint() {
    use base64::Engine;
    use sha2::Digest;
    let (_gw, server, _) = routes().await;
    let c = client();
    let auth = "Bearer eyJhbGciOiJIUzI1NiJ9.e30.token";
    let r = send(
        &c,
        "GET",
        &server.url("/prod/nowhere"),
        &[("authorization", auth)],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.header("x-amzn-ErrorType"),
        Some("IncompleteSignatureException")
    );
    let hash =
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(auth.as_bytes()));
    assert_eq!(
        r.json()["message"],
        format!(
            "Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '{hash}'."
        )
    );
    // The route itself answers whatever the header (gw runs no authorizers yet), and a header
    // with key=value pairs on no route is the plain missing-token answer.
    let r = send(
        &c,
        "GET",
        &server.url("/prod/things"),
        &[("authorization", auth)],
        Bytes::new(),
    )
    .await;
    assert_eq!(backend_path(&r), "/things/get");
    let r = send(
        &c,
        "GET",
        &server.url("/prod/nowhere"),
        &[("authorization", "Digest realm=x")],
        Bytes::new(),
    )
    .await;
    assert_missing_token(&r);
}

/// The front door: `/_gw/` is gw's own control surface (JSON, never a stage request), everything
/// else with no SigV4 signature for `apigateway` is a stage request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_surface_answers_under_gw() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let c = client();
    let r = get(&c, &server.url("/_gw/health")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(v["generation"].is_i64(), "{v}");
    assert!(r.header("x-amzn-requestid").is_some());
    assert!(r.header("x-amz-apigw-id").is_none(), "no API answered");

    let r = get(&c, &server.url("/_gw/nothing-here")).await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("/_gw/nothing-here"),
        "{}",
        r.text()
    );

    // Not under /_gw/: the data plane's answer (no API is deployed).
    let r = get(&c, &server.url("/_gwx/health")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-amzn-errortype"), Some("NotFoundException"));
}
