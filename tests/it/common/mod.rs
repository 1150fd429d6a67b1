//! Shared test helpers: run the real `gw` binary against a temporary state directory, start the
//! real server on 127.0.0.1:0, fake upstreams on port 0, a small HTTP client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod postgres;
pub mod redis;
pub mod stripe;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpus/specs`, read at test time. The corpus lives beside the project, not in it:
/// every test that reads it starts with `if common::skip_without_corpus() { return; }`.
pub fn corpus_dir() -> PathBuf {
    root().join("../shared/corpus/specs")
}

/// Whether the calling test must be skipped because `corpus_dir()` is not there (a clone with
/// nothing beside it); if so, first writes one `SKIPPED <test>: ...` line. libtest names each
/// test's thread after the test.
///
/// The line goes to the stderr handle directly, not through `eprintln!`: libtest captures the
/// print macros of a test that passes, so an `eprintln!` would never show in `cargo test` output,
/// while direct writes to the handle are not captured.
pub fn skip_without_corpus() -> bool {
    if corpus_dir().is_dir() {
        return false;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a corpus test");
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {test}: ../shared/corpus/specs not found (the corpus lives beside the project)"
    );
    true
}

/// A built guest function (`scripts/build-functions.sh` builds them).
pub fn guest(name: &str) -> PathBuf {
    let p = root()
        .join("target/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        p.exists(),
        "{} is missing: run scripts/build-functions.sh (the README's test command does)",
        p.display()
    );
    p
}

/// A temporary state directory with helpers to run `gw` in it.
pub struct Gw {
    pub dir: tempfile::TempDir,
    /// `--store` (`GW_STORE`): a PostgreSQL database instead of the directory's SQLite file.
    pub database: Option<String>,
}

impl Gw {
    pub fn new() -> Gw {
        Gw {
            dir: tempfile::tempdir().unwrap(),
            database: None,
        }
    }

    /// A state directory of its own whose database is `url` (`postgres://...`).
    pub fn on_database(url: &str) -> Gw {
        Gw {
            dir: tempfile::tempdir().unwrap(),
            database: Some(url.to_string()),
        }
    }

    pub fn state(&self) -> &Path {
        self.dir.path()
    }

    /// Write `spec` into the state directory as `FILE_NAME`, `gw import` it, and return the
    /// import's warnings (from `--json`).
    pub fn import_spec(&self, file_name: &str, spec: &serde_json::Value) -> serde_json::Value {
        let path = self.state().join(file_name);
        std::fs::write(&path, spec.to_string()).unwrap();
        let out = self.ok(&["import", path.to_str().unwrap(), "--json"]);
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["warnings"].clone()
    }

    pub fn store(&self) -> gw::store::Store {
        gw::store::Store::open_at(self.state(), self.database.as_deref()).unwrap()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gw"));
        c.env("GW_STATE", self.state()).current_dir(root());
        match &self.database {
            Some(url) => c.env("GW_STORE", url),
            None => c.env_remove("GW_STORE"),
        };
        c
    }

    /// Run `gw ARGS`; returns the output whatever the status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Run `gw ARGS`, assert success, return stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "gw {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run `gw ARGS`, assert failure, return stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "gw {args:?} should have failed");
        String::from_utf8(out.stderr).unwrap()
    }

    /// Start `gw serve --listen 127.0.0.1:0`; waits for the `listening on` line.
    pub fn serve(&self, extra: &[&str]) -> Server {
        self.serve_with_env(extra, &[])
    }

    /// [`Gw::serve`] with extra environment variables.
    pub fn serve_with_env(&self, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        self.start_with_env(&args, "listening on http://", env)
    }

    /// Start a long-running `gw ARGS`; waits for the stderr line starting with `announce` and
    /// takes the address that follows it.
    pub fn start(&self, args: &[&str], announce: &str) -> Server {
        self.start_with_env(args, announce, &[])
    }

    /// [`Gw::start`] with extra environment variables.
    pub fn start_with_env(&self, args: &[&str], announce: &str, env: &[(&str, &str)]) -> Server {
        let mut child = self
            .cmd()
            .args(args)
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        let addr = loop {
            line.clear();
            let n = reader.read_line(&mut line).unwrap();
            assert!(n > 0, "gw {args:?} exited before listening");
            if let Some(a) = line.trim().strip_prefix(announce) {
                let a = a.split(|c: char| c.is_whitespace()).next().unwrap_or(a);
                break a.parse::<SocketAddr>().unwrap();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe; keep the lines.
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut l = String::new();
            while reader.read_line(&mut l).map(|n| n > 0).unwrap_or(false) {
                sink.lock().unwrap().push_str(&l);
                l.clear();
            }
        });
        Server { child, addr, log }
    }
}

/// A running `gw serve` process, killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read in full.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub type TestClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub fn client() -> TestClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Send one request. `headers` may include `host`.
pub async fn send(
    client: &TestClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let mut b = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = client
        .request(b.body(Full::new(body.into())).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

pub async fn get(client: &TestClient, url: &str) -> Reply {
    send(client, "GET", url, &[], Bytes::new()).await
}

/// What the echo upstreams answer: JSON describing the request, `tag` telling upstreams apart.
async fn echo(
    tag: &'static str,
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let headers: serde_json::Map<String, serde_json::Value> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                serde_json::Value::String(v.to_str().unwrap_or("").to_string()),
            )
        })
        .collect();
    let out = serde_json::json!({
        "tag": tag,
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    let mut resp = http::Response::new(Full::new(Bytes::from(out.to_string())));
    resp.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// A fake upstream on 127.0.0.1:0 that answers every request with JSON describing it:
/// `{"method", "path", "query", "headers": {...}, "body", "tag"}`. `tag` tells upstreams apart.
pub async fn echo_upstream(tag: &'static str) -> SocketAddr {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            tokio::spawn(async move {
                let service = service_fn(move |req| echo(tag, req));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// [`echo_upstream`] over TLS with `cert_pem`/`key_pem`; also counts the TLS connections it
/// accepted.
pub async fn tls_echo_upstream(
    tag: &'static str,
    cert_pem: &str,
    key_pem: &str,
) -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use hyper::service::service_fn;
    let certs = gw::net::tls::certs_from_pem(cert_pem.as_bytes()).unwrap();
    let key = gw::net::tls::key_from_pem(key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(gw::net::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let (acceptor, counted) = (acceptor.clone(), counted.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake here.
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let service = service_fn(move |req| echo(tag, req));
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, connections)
}

/// A certificate authority for tests, and certificates it issues.
pub struct TestCa {
    pub cert_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            cert_pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A leaf certificate for `names` (DNS names or IP addresses) with common name `cn`:
    /// (certificate PEM, key PEM).
    pub fn issue(&self, cn: &str, names: &[&str]) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Start the real server in-process on 127.0.0.1:0 (for tests that need a seeded canary draw or
/// want to stop it). Returns its address and a sender that shuts it down.
pub async fn serve_in_process(
    store: gw::store::Store,
    config: gw::server::Config,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        gw::server::run(listener, store, config, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    // The server answers once its first snapshot is loaded.
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    (addr, tx, handle)
}

/// Read a request head (up to the blank line) from a raw connection; `None` if the peer closed,
/// failed or took more than 5 s.
pub async fn read_head(s: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
    }
    Some(buf)
}

/// A raw TCP upstream on 127.0.0.1:0 for fault tests: `serve` gets every accepted connection
/// (typically: `read_head`, then write bytes, stall, reset or close).
pub async fn raw_upstream<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve(s));
        }
    });
    addr
}
