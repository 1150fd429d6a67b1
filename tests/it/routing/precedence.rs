//! Path and method precedence, trailing slashes, encodings and the no-route answers.

use super::*;

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
    // LocalStack's path form, so clients written for LocalStack work unchanged.
    let localstack = get(
        &c,
        &server.url(&format!(
            "/restapis/{id}/prod/_user_request_/shop/items/9?x=1"
        )),
    )
    .await;
    for r in [&short, &by_id, &by_name, &by_path, &localstack] {
        assert_eq!(backend_path(r), "/param/9");
        assert_eq!(r.json()["query"], "x=1");
        assert_eq!(r.header("x-gw-canary"), Some("false"));
    }
    let deployments: Vec<_> = [&short, &by_id, &by_name, &by_path, &localstack]
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
