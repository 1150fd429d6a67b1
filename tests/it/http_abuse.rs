//! Abusive HTTP clients against a real `gw serve` (and, where a short header timeout is needed,
//! the same server run in-process): oversized bodies (Content-Length and chunked), oversized and
//! too many headers, slowloris and silent clients, traversal and invalid bytes in paths, and
//! thousands of idle connections. The server must answer or close, never panic, never leave the
//! stage a request addressed, and keep serving everyone else.
//!
//! Short (CI):  cargo test --test http_abuse
//! Long:        GW_LONG_TESTS=1 cargo test --test http_abuse -- --nocapture   (10,000 idle connections)

use crate::common;

use common::{client, get, send, Gw, Server};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn long() -> bool {
    std::env::var("GW_LONG_TESTS").is_ok_and(|v| v == "1")
}

const MB: usize = 1024 * 1024;

struct Deployed {
    prod: String,
    beta: String,
}

/// Import an API with a mock route and a greedy HTTP_PROXY route to `upstream` (under `/base`),
/// deploy it to `prod` and (as a separate deployment) to `beta`.
fn deploy(gw: &Gw, upstream: SocketAddr) -> Deployed {
    let spec = format!(
        r#"
openapi: 3.0.1
info: {{title: abuse, version: "1"}}
paths:
  /mock:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {{application/json: '{{"statusCode": 200}}'}}
        responses: {{default: {{statusCode: "200"}}}}
  /{{proxy+}}:
    x-amazon-apigateway-any-method:
      parameters: [{{name: proxy, in: path, required: true, schema: {{type: string}}}}]
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: ANY
        uri: http://{upstream}/base/{{proxy}}
        requestParameters: {{integration.request.path.proxy: method.request.path.proxy}}
"#
    );
    let file = gw.state().join("abuse.yaml");
    std::fs::write(&file, spec).unwrap();
    gw.ok(&["import", file.to_str().unwrap()]);
    let id = |out: String| -> String {
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["deployment"]["id"].as_str().unwrap().to_string()
    };
    let prod = id(gw.ok(&["deploy", "--stage", "prod", "--json"]));
    let beta = id(gw.ok(&["deploy", "--stage", "beta", "--json"]));
    assert_ne!(prod, beta);
    Deployed { prod, beta }
}

/// What came back on a raw connection.
#[derive(Debug)]
struct Raw {
    status: Option<u16>,
    head: String,
    bytes: Vec<u8>,
    /// The server closed the connection (EOF or reset) before `limit`.
    closed: bool,
}

impl Raw {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

fn parse_raw(bytes: Vec<u8>, closed: bool) -> Raw {
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_string();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok());
    Raw {
        status,
        head,
        bytes,
        closed,
    }
}

/// Read until the server closes, or `limit` passes.
async fn read_all(stream: &mut TcpStream, limit: Duration) -> Raw {
    let mut bytes = Vec::new();
    let deadline = Instant::now() + limit;
    let mut buf = vec![0u8; 64 * 1024];
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => break false,
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
        }
    };
    parse_raw(bytes, closed)
}

/// Send `request` on a fresh connection (the caller adds `Connection: close`) and read the answer.
async fn exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> Raw {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may close early (that is often the point): ignore write errors.
    let _ = s.write_all(request).await;
    read_all(&mut s, limit).await
}

/// A normal request still gets a normal answer.
async fn healthy(addr: SocketAddr) {
    let c = client();
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        get(&c, &format!("http://{addr}/prod/health?x=1")),
    )
    .await
    .expect("a normal request was not answered within 10 s");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/base/health");
}

fn no_panics(server: &Server) {
    let log = server.log();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_length_over_10_mb_is_refused_before_the_body_arrives() {
    let upstream = common::echo_upstream("up").await;
    let gw = Gw::new();
    deploy(&gw, upstream);
    let server = gw.serve(&[]);
    for path in ["/prod/upload", "/prod/mock"] {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            server.addr,
            20 * MB
        )
        .into_bytes();
        req.extend(std::iter::repeat_n(b'x', 1024));
        let started = Instant::now();
        // Only 1 KB of the announced 20 MB is sent: an answer means the server did not wait for it.
        let raw = exchange(server.addr, &req, Duration::from_secs(10)).await;
        assert_eq!(raw.status, Some(413), "{path}: {:?}", raw.head);
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(raw.header("x-amzn-requestid").is_some(), "{}", raw.head);
    }
    // Exactly at the limit is allowed through to the route (here: the mock answers without reading).
    let req = format!(
        "GET /prod/mock HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        10 * MB
    );
    let raw = exchange(server.addr, req.as_bytes(), Duration::from_secs(10)).await;
    assert_eq!(raw.status, Some(200), "{}", raw.head);
    healthy(server.addr).await;
    no_panics(&server);
}

/// Write `total` bytes as 64 KB chunks, then the last chunk; stop at the first write error.
/// Returns the bytes sent and the write half: dropping it would half-close the connection, and
/// hyper (half_close off) drops a connection whose client half-closed, answer or not.
async fn write_chunked(
    mut w: tokio::net::tcp::OwnedWriteHalf,
    head: String,
    total: usize,
) -> (usize, tokio::net::tcp::OwnedWriteHalf) {
    if w.write_all(head.as_bytes()).await.is_err() {
        return (0, w);
    }
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        let n = chunk.len().min(total - sent);
        let mut frame = format!("{n:x}\r\n").into_bytes();
        frame.extend_from_slice(&chunk[..n]);
        frame.extend_from_slice(b"\r\n");
        if w.write_all(&frame).await.is_err() {
            return (sent, w);
        }
        sent += n;
    }
    let _ = w.write_all(b"0\r\n\r\n").await;
    (sent, w)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_over_10_mb_is_413() {
    let upstream = common::echo_upstream("up").await;
    let gw = Gw::new();
    deploy(&gw, upstream);
    let server = gw.serve(&[]);
    let head = |host: SocketAddr| {
        format!(
            "POST /prod/upload HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
    };
    // 11 MB: refused.
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut r, w) = stream.into_split();
    let writer = tokio::spawn(write_chunked(w, head(server.addr), 11 * MB));
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), r.read_to_end(&mut bytes)).await;
    assert!(
        read.is_ok(),
        "no answer to an 11 MB chunked body within 60 s"
    );
    let raw = parse_raw(bytes, true);
    assert_eq!(raw.status, Some(413), "{}", raw.head);
    let _ = writer.await;
    // 2 MB: passes through whole.
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut r, w) = stream.into_split();
    let writer = tokio::spawn(write_chunked(w, head(server.addr), 2 * MB));
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), r.read_to_end(&mut bytes))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(writer.await.unwrap().0, 2 * MB);
    let raw = parse_raw(bytes, true);
    assert_eq!(
        raw.status,
        Some(200),
        "{:?}",
        String::from_utf8_lossy(&raw.bytes[..raw.bytes.len().min(600)])
    );
    let text = String::from_utf8_lossy(&raw.bytes);
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    assert!(
        body.contains(&"a".repeat(1000)),
        "the upstream did not get the body"
    );
    healthy(server.addr).await;
    no_panics(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_too_many_headers_are_refused_and_the_server_keeps_serving() {
    let upstream = common::echo_upstream("up").await;
    let gw = Gw::new();
    deploy(&gw, upstream);
    let server = gw.serve(&[]);
    let big = format!(
        "GET /prod/x HTTP/1.1\r\nHost: {}\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        "b".repeat(100 * 1024)
    );
    let mut many = format!("GET /prod/x HTTP/1.1\r\nHost: {}\r\n", server.addr);
    for i in 0..10_000 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("Connection: close\r\n\r\n");
    let long_line = format!(
        "GET /prod/{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        "p".repeat(200 * 1024),
        server.addr
    );
    for (name, req) in [
        ("100 KB header", big),
        ("10,000 headers", many),
        ("200 KB request line", long_line),
    ] {
        let raw = exchange(server.addr, req.as_bytes(), Duration::from_secs(10)).await;
        // 431 (or 414 / 400), or the connection is simply closed.
        match raw.status {
            Some(s) => assert!([400, 413, 414, 431].contains(&s), "{name}: {}", raw.head),
            None => assert!(raw.closed, "{name}: neither an answer nor a close in 10 s"),
        }
        healthy(server.addr).await;
    }
    no_panics(&server);
}

/// Slowloris (one byte a second) and silent clients are cut off after the header read timeout;
/// meanwhile, others are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_and_silent_clients_are_cut_off_after_the_header_timeout() {
    let upstream = common::echo_upstream("up").await;
    let gw = Gw::new();
    deploy(&gw, upstream);
    let config = gw::server::Config {
        header_read_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let (addr, stop, handle) = common::serve_in_process(gw.store(), config).await;

    let request =
        format!("GET /prod/slow HTTP/1.1\r\nHost: {addr}\r\nX-Padding: 1234567890\r\n\r\n");
    // Slowloris: one byte per second. Returns (bytes sent, seconds until the server closed).
    let slowloris = |request: String| async move {
        let started = Instant::now();
        let s = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = s.into_split();
        let reader = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf).await;
            (started.elapsed(), buf)
        });
        let mut sent = 0;
        for b in request.bytes() {
            if reader.is_finished() || w.write_all(&[b]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let (elapsed, buf) = tokio::time::timeout(Duration::from_secs(30), reader)
            .await
            .expect("the slowloris connection is still open")
            .unwrap();
        (sent, elapsed, buf)
    };
    // Silent: connects and sends nothing. Trickling the HTTP/2 preface: stays in version detection.
    let silent = |prefix: &'static [u8]| async move {
        let started = Instant::now();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(prefix).await.unwrap();
        let mut buf = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(15), s.read_to_end(&mut buf)).await;
        (r.is_ok(), started.elapsed())
    };
    let loris = tokio::spawn(slowloris(request.clone()));
    let quiet = tokio::spawn(silent(b""));
    let h2ish = tokio::spawn(silent(b"PRI * HTTP/2.0\r\n"));
    // Others are served while those hang on.
    let c = client();
    for _ in 0..5 {
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            get(&c, &format!("http://{addr}/prod/other")),
        )
        .await
        .expect("a normal client was not served during a slowloris");
        assert_eq!(r.status, 200);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (sent, elapsed, buf) = loris.await.unwrap();
    assert!(
        sent < request.len(),
        "the server waited for the whole slow request"
    );
    // 1 s timeout; bound generously.
    assert!(
        elapsed < Duration::from_secs(10),
        "closed only after {elapsed:?}"
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    let (closed, after) = quiet.await.unwrap();
    assert!(
        closed,
        "a client that never sent a byte was never disconnected"
    );
    assert!(after < Duration::from_secs(10), "{after:?}");
    let (closed, after) = h2ish.await.unwrap();
    assert!(
        closed,
        "a client stuck in the HTTP/2 preface was never disconnected"
    );
    assert!(after < Duration::from_secs(10), "{after:?}");
    healthy(addr).await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_and_invalid_bytes_in_paths_never_leave_the_stage() {
    let upstream = common::echo_upstream("up").await;
    let gw = Gw::new();
    let d = deploy(&gw, upstream);
    let server = gw.serve(&[]);
    let targets: Vec<Vec<u8>> = [
        "/prod/%2e%2e/%2e%2e/etc/passwd",
        "/prod/..%2f..%2fbeta%2fx",
        "/prod/%2E%2E%2Fbeta/x",
        "/prod/../beta/x",
        "/prod/./../../beta/x",
        "/prod/%00",
        "/prod/a%00b/%00/",
        "/prod/%zz/%ff/%c3%28",
        "/prod/%",
        "/prod//////x",
        "/prod/%2f%2f/x",
        "/prod/%5c..%5c..%5cbeta",
        "/prod/..\\..\\beta",
        "/%2e%2e/beta/x",
        "/%2e%2e/%2e%2e/prod/x",
        "/./prod/x",
        "/../prod/x",
        "/prod%2fx",
        "/prod%00/x",
        "/pro%64/x",
        "//prod/x",
        "/_aws/execute-api/%2e%2e/prod/x",
        "/_aws/execute-api/../beta/x",
        "/prod/mock/..",
        "/prod/mock%2f..%2f..",
        "*",
        "http://evil.example/prod/..%2fbeta/x",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain([
        b"/prod/\xff\xfe/x".to_vec(),
        b"/prod/\xc3\x28".to_vec(),
        b"/prod/caf\xc3\xa9".to_vec(),
        b"/\xffprod/x".to_vec(),
    ])
    .collect();
    let mut upstream_paths = Vec::new();
    for target in &targets {
        let mut req = b"GET ".to_vec();
        req.extend_from_slice(target);
        req.extend_from_slice(
            format!(
                " HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                server.addr
            )
            .as_bytes(),
        );
        let shown = String::from_utf8_lossy(target).into_owned();
        let raw = exchange(server.addr, &req, Duration::from_secs(10)).await;
        let status = raw
            .status
            .unwrap_or_else(|| panic!("{shown}: no HTTP answer: {:?}", raw.bytes));
        // gw's own answers carry a request id; only hyper's refusal of an unparseable request
        // line (400) does not.
        if raw.header("x-amzn-requestid").is_none() {
            assert_eq!(status, 400, "{shown}: {}", raw.head);
        }
        let deployment = raw.header("x-gw-deployment");
        assert_ne!(
            deployment.as_deref(),
            Some(d.beta.as_str()),
            "{shown} reached stage beta"
        );
        if let Some(dep) = &deployment {
            assert_eq!(dep, &d.prod, "{shown}");
        }
        if status == 200 && raw.header("content-type").as_deref() == Some("application/json") {
            let body = String::from_utf8_lossy(&raw.bytes)
                .split_once("\r\n\r\n")
                .map(|x| x.1.to_string());
            if let Some(v) = body.and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok()) {
                if let Some(p) = v["path"].as_str() {
                    assert!(
                        p.starts_with("/base/"),
                        "{shown} reached the upstream outside /base: {p}"
                    );
                    upstream_paths.push((shown.clone(), p.to_string()));
                }
            }
        }
    }
    assert!(!upstream_paths.is_empty());
    // A decoded `%2e%2e` or `%2e` must never reach the upstream as a dot segment, or an upstream
    // that normalises paths would serve something outside `/base`: gw re-encodes them.
    for (from, to) in &upstream_paths {
        eprintln!("  {from:40} -> upstream {to}");
        assert!(
            !to.split('/').any(|seg| seg == ".." || seg == "."),
            "{from} reached the upstream as a dot segment: {to}"
        );
    }
    healthy(server.addr).await;
    no_panics(&server);
}

/// The soft `RLIMIT_NOFILE` of this process.
fn open_file_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_connections_do_not_starve_a_normal_client() {
    let upstream = common::echo_upstream("up").await;
    let gw = Gw::new();
    deploy(&gw, upstream);
    let server = gw.serve(&[]);
    let wanted = if long() { 10_000 } else { 2_000 };
    // Stay under the fd limit (both processes inherit the same one): leave 300 spare.
    let n = wanted.min(open_file_limit().saturating_sub(300));
    assert!(
        n >= 500,
        "ulimit -n is too low for this test ({})",
        open_file_limit()
    );
    if n < wanted {
        eprintln!("ulimit -n allows {n} idle connections, not {wanted}");
    }
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let sem = sem.clone();
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            let mut s = TcpStream::connect(addr).await.ok()?;
            // A third say nothing, a third start a request line, a third send a full header
            // block minus the final CRLF.
            let _ = match i % 3 {
                0 => Ok(()),
                1 => s.write_all(b"GET /prod/").await,
                _ => {
                    s.write_all(format!("GET /prod/idle HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
                        .await
                }
            };
            Some(s)
        }));
    }
    let mut held = Vec::with_capacity(n);
    for t in tasks {
        if let Some(s) = t.await.unwrap() {
            held.push(s);
        }
    }
    assert!(
        held.len() >= n * 9 / 10,
        "only {} of {n} connections opened",
        held.len()
    );
    // With all of them open, a normal client is answered promptly, again and again.
    let c = client();
    for i in 0..20 {
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            send(
                &c,
                "POST",
                &server.url(&format!("/prod/live/{i}")),
                &[],
                "hi",
            ),
        )
        .await
        .unwrap_or_else(|_| {
            panic!(
                "request {i} not answered within 5 s with {} idle connections",
                held.len()
            )
        });
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["body"], "hi");
    }
    eprintln!(
        "{} idle connections held; 20 normal requests answered",
        held.len()
    );
    drop(held);
    healthy(server.addr).await;
    no_panics(&server);
}
