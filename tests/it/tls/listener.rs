//! The HTTPS listener with real clients (curl): the local CA verified by the client (no
//! "insecure" flag), HTTP/2 by ALPN, custom domains with base-path mappings on both listeners,
//! SNI choosing a domain's own certificate, `--tls-cert/--tls-key`, and mutual TLS.

use super::common::{self, client, guest, send, Gw, Server, TestCa};
use bytes::Bytes;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A MOCK API titled `title` whose `GET /pets` answers `{title} {stage} {domainName}`.
fn mock_spec(title: &str) -> Value {
    json!({
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1"},
        "paths": {"/pets": {"get": {
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "mock",
                "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                "responses": {"default": {
                    "statusCode": "200",
                    "responseTemplates": {"application/json": format!("{title} $context.stage $context.domainName")}
                }}
            }
        }}}
    })
}

/// The HTTPS address a server announced.
fn https_addr(server: &Server) -> SocketAddr {
    for _ in 0..200 {
        if let Some(line) = server
            .log()
            .lines()
            .find_map(|l| l.strip_prefix("listening on https://").map(str::to_string))
        {
            return line.trim().parse().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("no https listener announced: {}", server.log());
}

/// `curl` with `args`: (status, HTTP version, body), or the failure's stderr.
fn curl(args: &[&str]) -> Result<(u16, String, String), String> {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-w",
            "\n%{http_code} %{http_version}",
        ])
        .args(args)
        .output()
        .expect("curl is installed");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, tail) = text.rsplit_once('\n').unwrap_or(("", &text));
    let (code, version) = tail.split_once(' ').unwrap_or((tail, ""));
    Ok((
        code.parse().unwrap_or(0),
        version.to_string(),
        body.to_string(),
    ))
}

fn resolve(host: &str, addr: SocketAddr) -> String {
    format!("{host}:{}:127.0.0.1", addr.port())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn https_with_the_local_ca_http2_and_base_path_mappings() {
    let gw = Gw::new();
    for title in ["alpha", "beta"] {
        gw.import_spec(&format!("{title}.json"), &mock_spec(title));
        gw.ok(&["deploy", "--api", title, "--stage", "prod"]);
    }
    gw.ok(&["domain", "create", "api.example.test"]);
    gw.ok(&[
        "domain",
        "map",
        "api.example.test",
        "--api",
        "alpha",
        "--stage",
        "prod",
        "--base-path",
        "v1",
    ]);
    gw.ok(&[
        "domain",
        "map",
        "api.example.test",
        "--api",
        "beta",
        "--stage",
        "prod",
        "--base-path",
        "v2",
    ]);
    gw.ok(&["domain", "create", "other.example.test"]);
    gw.ok(&[
        "domain",
        "map",
        "other.example.test",
        "--api",
        "beta",
        "--stage",
        "prod",
    ]);
    let listed: Value = serde_json::from_str(&gw.ok(&["domains", "--json"])).unwrap();
    assert_eq!(listed["item"].as_array().unwrap().len(), 2, "{listed}");

    let server = gw.serve(&["--tls-listen", "127.0.0.1:0"]);
    let https = https_addr(&server);
    let ca = gw.ok(&["tls", "ca"]);
    let ca = ca.lines().next().unwrap().trim().to_string();
    assert!(
        Path::new(&ca).exists(),
        "gw tls ca prints the CA file: {ca}"
    );
    let port = https.port();

    // The local CA verified by the client, HTTP/2 chosen by ALPN; HTTP/1.1 when asked.
    let url = format!("https://alpha.execute-api.localhost:{port}/prod/pets");
    let host = resolve("alpha.execute-api.localhost", https);
    let (code, version, body) =
        curl(&["--cacert", &ca, "--resolve", &host, "--http2", &url]).unwrap();
    assert_eq!((code, version.as_str()), (200, "2"));
    assert_eq!(
        body,
        format!("alpha prod alpha.execute-api.localhost:{port}")
    );
    let (code, version, _) =
        curl(&["--cacert", &ca, "--resolve", &host, "--http1.1", &url]).unwrap();
    assert_eq!((code, version.as_str()), (200, "1.1"));
    // localhost by IP address too (no SNI): the CA's certificate names the loopback addresses.
    let (code, _, _) = curl(&[
        "--cacert",
        &ca,
        "-H",
        &format!("Host: alpha.execute-api.localhost:{port}"),
        &format!("https://127.0.0.1:{port}/prod/pets"),
    ])
    .unwrap();
    assert_eq!(code, 200);

    // Base-path mappings, as AWS routes them: stripped, longest first, `(none)` on another domain.
    let on = |domain: &str, path: &str| {
        curl(&[
            "--cacert",
            &ca,
            "--resolve",
            &resolve(domain, https),
            &format!("https://{domain}:{port}{path}"),
        ])
        .unwrap()
    };
    assert_eq!(
        on("api.example.test", "/v1/pets").2,
        format!("alpha prod api.example.test:{port}")
    );
    assert_eq!(
        on("api.example.test", "/v2/pets").2,
        format!("beta prod api.example.test:{port}")
    );
    let (code, _, body) = on("api.example.test", "/v3/pets");
    assert_eq!((code, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
    assert_eq!(
        on("other.example.test", "/pets").2,
        format!("beta prod other.example.test:{port}")
    );

    // The plain listener routes custom domains by Host the same way.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client();
        let r = send(
            &c,
            "GET",
            &server.url("/v1/pets"),
            &[("host", "api.example.test")],
            Bytes::new(),
        )
        .await;
        assert_eq!(
            (r.status, r.text()),
            (200, "alpha prod api.example.test".to_string())
        );
        let r = send(
            &c,
            "GET",
            &server.url("/nothing/pets"),
            &[("host", "api.example.test")],
            Bytes::new(),
        )
        .await;
        assert_eq!(r.status, 403);
    });

    // Unmapped and deleted, live.
    gw.ok(&["domain", "unmap", "api.example.test", "--base-path", "v2"]);
    assert_eq!(on("api.example.test", "/v2/pets").0, 403);
    gw.ok(&["domain", "delete", "other.example.test"]);
    let err = gw.fails(&[
        "domain",
        "map",
        "other.example.test",
        "--api",
        "beta",
        "--stage",
        "prod",
    ]);
    assert!(
        err.contains("Invalid domain name identifier specified"),
        "{err}"
    );
    let err = gw.fails(&[
        "domain",
        "map",
        "api.example.test",
        "--api",
        "beta",
        "--stage",
        "qa",
        "--base-path",
        "x",
    ]);
    assert!(err.contains("Invalid stage identifier specified"), "{err}");
}

#[test]
fn sni_chooses_a_domains_own_certificate_and_tls_cert_serves_the_one_given() {
    let dir = tempfile::tempdir().unwrap();
    let own = TestCa::new("own domain CA");
    let (cert, key) = own.issue("own.example.test", &["own.example.test"]);
    let (cert_file, key_file) = (
        write(dir.path(), "own.pem", &cert),
        write(dir.path(), "own-key.pem", &key),
    );
    let own_ca = write(dir.path(), "own-ca.pem", &own.cert_pem);

    let gw = Gw::new();
    gw.import_spec("alpha.json", &mock_spec("alpha"));
    gw.ok(&["deploy", "--stage", "prod"]);
    gw.ok(&[
        "domain",
        "create",
        "own.example.test",
        "--cert",
        s(&cert_file),
        "--key",
        s(&key_file),
    ]);
    gw.ok(&[
        "domain",
        "map",
        "own.example.test",
        "--api",
        "alpha",
        "--stage",
        "prod",
    ]);
    // A key that does not go with the certificate is refused, naming both.
    let (_, other_key) = own.issue("x.example.test", &["x.example.test"]);
    let wrong = write(dir.path(), "wrong-key.pem", &other_key);
    let err = gw.fails(&[
        "domain",
        "create",
        "bad.example.test",
        "--cert",
        s(&cert_file),
        "--key",
        s(&wrong),
    ]);
    assert!(err.contains("do not go together"), "{err}");

    let server = gw.serve(&["--tls-listen", "127.0.0.1:0"]);
    let https = https_addr(&server);
    let port = https.port();
    let local_ca = gw.state().join("tls/ca.pem");
    let own_url = format!("https://own.example.test:{port}/pets");
    let own_host = resolve("own.example.test", https);
    let (code, _, body) =
        curl(&["--cacert", s(&own_ca), "--resolve", &own_host, &own_url]).unwrap();
    assert_eq!(
        (code, body.as_str()),
        (200, format!("alpha prod own.example.test:{port}").as_str())
    );
    // The local CA did not sign it: the domain's own certificate was served.
    assert!(curl(&["--cacert", s(&local_ca), "--resolve", &own_host, &own_url]).is_err());
    // Other names get the local CA's.
    let (code, _, _) = curl(&[
        "--cacert",
        s(&local_ca),
        &format!("https://localhost:{port}/prod/pets"),
    ])
    .unwrap();
    assert_eq!(code, 200);
    drop(server);

    // --tls-cert/--tls-key: that certificate for every other name.
    let given = TestCa::new("given CA");
    let (cert, key) = given.issue("localhost", &["localhost"]);
    let (cert_file, key_file) = (
        write(dir.path(), "given.pem", &cert),
        write(dir.path(), "given-key.pem", &key),
    );
    let given_ca = write(dir.path(), "given-ca.pem", &given.cert_pem);
    let server = gw.serve(&[
        "--tls-listen",
        "127.0.0.1:0",
        "--tls-cert",
        s(&cert_file),
        "--tls-key",
        s(&key_file),
    ]);
    let port = https_addr(&server).port();
    let url = format!("https://localhost:{port}/prod/pets");
    assert_eq!(curl(&["--cacert", s(&given_ca), &url]).unwrap().0, 200);
    assert!(curl(&["--cacert", s(&local_ca), &url]).is_err());
    // HTTPS only: --listen off.
    drop(server);
    let only = gw.start(
        &["serve", "--listen", "off", "--tls-listen", "127.0.0.1:0"],
        "listening on https://",
    );
    let url = format!("https://localhost:{}/prod/pets", only.addr.port());
    assert_eq!(curl(&["--cacert", s(&local_ca), &url]).unwrap().0, 200);
}

#[test]
fn mutual_tls_needs_a_client_certificate_from_the_truststore() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = TestCa::new("clients CA");
    let stranger = TestCa::new("someone else's CA");
    let truststore = write(dir.path(), "truststore.pem", &trusted.cert_pem);
    let (alice, alice_key) = trusted.issue("alice", &["alice.example.test"]);
    let (mallory, mallory_key) = stranger.issue("mallory", &["mallory.example.test"]);
    let files = [
        write(dir.path(), "alice.pem", &alice),
        write(dir.path(), "alice-key.pem", &alice_key),
        write(dir.path(), "mallory.pem", &mallory),
        write(dir.path(), "mallory-key.pem", &mallory_key),
    ];

    let gw = Gw::new();
    gw.ok(&["function", "put", "echo", guest("echo").to_str().unwrap()]);
    gw.import_spec(
        "whoami.json",
        &json!({
            "openapi": "3.0.1",
            "info": {"title": "whoami", "version": "1"},
            "paths": {"/whoami": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "aws_proxy",
                    "httpMethod": "POST",
                    "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:echo/invocations"
                }
            }}}
        }),
    );
    gw.ok(&["deploy", "--stage", "prod"]);
    gw.ok(&[
        "domain",
        "create",
        "mtls.example.test",
        "--truststore",
        s(&truststore),
    ]);
    gw.ok(&[
        "domain",
        "map",
        "mtls.example.test",
        "--api",
        "whoami",
        "--stage",
        "prod",
    ]);
    let server = gw.serve(&["--tls-listen", "127.0.0.1:0"]);
    let https = https_addr(&server);
    let ca = gw.state().join("tls/ca.pem");
    let host = resolve("mtls.example.test", https);
    let url = format!("https://mtls.example.test:{}/whoami", https.port());

    let (code, _, body) = curl(&[
        "--cacert",
        s(&ca),
        "--resolve",
        &host,
        "--cert",
        s(&files[0]),
        "--key",
        s(&files[1]),
        &url,
    ])
    .unwrap();
    assert_eq!(code, 200, "{body}");
    let event: Value = serde_json::from_str(&body).unwrap();
    let cert = &event["requestContext"]["identity"]["clientCert"];
    assert!(
        cert["subjectDN"].as_str().unwrap().contains("CN=alice"),
        "{cert}"
    );
    assert!(
        cert["issuerDN"].as_str().unwrap().contains("CN=clients CA"),
        "{cert}"
    );
    assert!(cert["clientCertPem"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(
        cert["validity"]["notAfter"]
            .as_str()
            .unwrap()
            .ends_with("GMT"),
        "{cert}"
    );
    assert_eq!(
        event["headers"]["X-Forwarded-Proto"], "https",
        "{}",
        event["headers"]
    );
    assert_eq!(
        event["headers"]["X-Forwarded-Port"],
        https.port().to_string()
    );

    // No certificate, or one from another CA: the handshake is refused.
    let none = curl(&["--cacert", s(&ca), "--resolve", &host, &url]);
    assert!(none.is_err(), "without a client certificate: {none:?}");
    let other = curl(&[
        "--cacert",
        s(&ca),
        "--resolve",
        &host,
        "--cert",
        s(&files[2]),
        "--key",
        s(&files[3]),
        &url,
    ]);
    assert!(other.is_err(), "with another CA's certificate: {other:?}");
    // The domain is reached only through its own mutual-TLS handshake: not with its name in
    // the Host header of another name's connection, nor over plain HTTP.
    let sneaky = curl(&[
        "--cacert",
        s(&ca),
        "-H",
        "Host: mtls.example.test",
        &format!("https://localhost:{}/whoami", https.port()),
    ])
    .unwrap();
    assert_eq!(
        (sneaky.0, sneaky.2.as_str()),
        (403, r#"{"message":"Forbidden"}"#)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let plain = rt.block_on(async {
        send(
            &client(),
            "GET",
            &server.url("/whoami"),
            &[("host", "mtls.example.test")],
            Bytes::new(),
        )
        .await
    });
    assert_eq!(plain.status, 403);
    // Other names on the same listener ask for no certificate.
    let (code, _, _) = curl(&[
        "--cacert",
        s(&ca),
        &format!("https://localhost:{}/prod/whoami", https.port()),
    ])
    .unwrap();
    assert_eq!(code, 200);
    let _ = common::root();
}
