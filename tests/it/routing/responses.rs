//! Mock templates, signature complaints and the control surface under /_gw/.

use super::*;

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
