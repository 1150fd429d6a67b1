//! HTTP_PROXY and HTTP integrations calling `https://` backends.

use super::common::{self, client, send, Gw, TestCa};
use bytes::Bytes;
use serde_json::{json, Value};

fn proxy_spec(backend: &str, insecure: bool) -> Value {
    let mut integration = json!({
        "type": "http_proxy",
        "httpMethod": "ANY",
        "uri": format!("https://{backend}/svc/{{proxy}}"),
        "requestParameters": {"integration.request.path.proxy": "method.request.path.proxy"}
    });
    if insecure {
        integration["tlsConfig"] = json!({"insecureSkipVerification": true});
    }
    json!({
        "openapi": "3.0.1",
        "info": {"title": "tls-backend", "version": "1"},
        "paths": {"/{proxy+}": {"x-amazon-apigateway-any-method": {
            "parameters": [{"name": "proxy", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": integration
        }}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_backends_are_verified_pooled_and_refused_when_unverifiable() {
    let ca = TestCa::new("gw test backend CA");
    let (cert, key) = ca.issue("localhost", &["localhost", "127.0.0.1"]);
    let (addr, connections) = common::tls_echo_upstream("secure", &cert, &key).await;
    let backend = format!("localhost:{}", addr.port());
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("backend-ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();

    // Verified against --backend-ca: answered, over one pooled connection.
    let gw = Gw::new();
    gw.import_spec("tls.json", &proxy_spec(&backend, false));
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&["--backend-ca", ca_file.to_str().unwrap()]);
    let c = client();
    for i in 0..6 {
        let r = send(
            &c,
            "GET",
            &server.url(&format!("/prod/pets/{i}?q=1")),
            &[],
            Bytes::new(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let echoed = r.json();
        assert_eq!(echoed["tag"], "secure");
        assert_eq!(echoed["path"], format!("/svc/pets/{i}"));
        assert_eq!(echoed["headers"]["host"], backend.as_str(), "{echoed}");
    }
    // Each worker thread keeps its own pool (the server runs one per core): six requests
    // reuse at most one TLS connection per worker, and fewer than six in all.
    let made = connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=2).contains(&made),
        "six requests, {made} TLS connections"
    );
    drop(server);

    // Without the CA the certificate cannot be verified: AWS's 500, the reason in the log.
    let server = gw.serve(&[]);
    let r = send(&c, "GET", &server.url("/prod/pets/1"), &[], Bytes::new()).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (500, r#"{"message": "Internal server error"}"#)
    );
    let log = server.log();
    assert!(
        log.contains("TLS with") && log.contains("certificate"),
        "the log names the certificate failure: {log}"
    );
    drop(server);

    // The same backend with tlsConfig.insecureSkipVerification: answered without the CA.
    let gw = Gw::new();
    gw.import_spec("tls.json", &proxy_spec(&backend, true));
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let r = send(
        &c,
        "POST",
        &server.url("/prod/orders"),
        &[],
        Bytes::from("{}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], "{}");
}
