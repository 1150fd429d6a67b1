//! Backends that fail: refused connections, a backend slower than `timeoutInMillis`, one that
//! hangs up without answering; and request bodies over API Gateway's 10 MB limit. Each answer is
//! AWS's gateway error, and the server keeps serving afterwards.

use crate::common;

use bytes::Bytes;
use common::{client, echo_upstream, get, send, Gw, Reply, Server};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SPEC: &str = r#"
openapi: 3.0.1
info: {title: faults, version: "1"}
paths:
  /up:
    x-amazon-apigateway-any-method:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: ANY
        uri: "http://@UP@/up"
  /down:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: "http://@DOWN@/down"
  /slow:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: "http://@SLOW@/slow"
        timeoutInMillis: 300
  /hangup:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: "http://@HANGUP@/hangup"
"#;

/// API Gateway's payload limit, 10 MB.
const LIMIT: usize = 10 * 1024 * 1024;
/// The integration timeout the spec sets on `/slow`.
const TIMEOUT: Duration = Duration::from_millis(300);
/// How long the slow backend takes.
const SLOW: Duration = Duration::from_secs(2);

/// A port nothing listens on: bound, then released.
async fn refused_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr
}

/// A backend that reads the request head, then either sleeps `delay` and answers 200, or (with
/// `None`) closes the connection without a word. Counts the requests it saw.
async fn raw_backend(delay: Option<Duration>) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let addr = common::raw_upstream(move |mut s| {
        let counter = counter.clone();
        async move {
            if common::read_head(&mut s).await.is_none() {
                return;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")
                    .await;
            }
            let _ = s.shutdown().await;
        }
    })
    .await;
    (addr, hits)
}

struct Setup {
    _gw: Gw,
    server: Server,
    slow_hits: Arc<AtomicUsize>,
    hangup_hits: Arc<AtomicUsize>,
}

async fn setup() -> Setup {
    let up = echo_upstream("faults").await;
    let down = refused_port().await;
    let (slow, slow_hits) = raw_backend(Some(SLOW)).await;
    let (hangup, hangup_hits) = raw_backend(None).await;
    let gw = Gw::new();
    let spec = gw.state().join("faults.yaml");
    let text = SPEC
        .replace("@UP@", &up.to_string())
        .replace("@DOWN@", &down.to_string())
        .replace("@SLOW@", &slow.to_string())
        .replace("@HANGUP@", &hangup.to_string());
    std::fs::write(&spec, text).unwrap();
    gw.ok(&["import", spec.to_str().unwrap()]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    Setup {
        _gw: gw,
        server,
        slow_hits,
        hangup_hits,
    }
}

/// A good request right after a fault still answers from the backend.
async fn assert_healthy(server: &Server) {
    let r = get(&client(), &server.url("/prod/up")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["tag"], "faults");
}

fn assert_gateway_error(r: &Reply, status: u16, body: &str, error_type: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.text(), body);
    assert_eq!(r.header("x-amzn-ErrorType"), Some(error_type));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("x-amzn-RequestId").is_some());
    assert!(r.header("x-amz-apigw-id").is_some());
}

#[tokio::test]
async fn a_refused_connection_is_aws_internal_server_error() {
    let s = setup().await;
    let c = client();
    for _ in 0..3 {
        let r = get(&c, &s.server.url("/prod/down")).await;
        // AWS answers an unreachable HTTP backend with 500 and this body (note the space after
        // the colon, as AWS writes its integration errors).
        assert_gateway_error(
            &r,
            500,
            r#"{"message": "Internal server error"}"#,
            "InternalServerErrorException",
        );
        assert_healthy(&s.server).await;
    }
}

#[tokio::test]
async fn a_backend_slower_than_the_timeout_is_504_at_the_timeout() {
    let s = setup().await;
    let c = client();
    let started = Instant::now();
    let r = get(&c, &s.server.url("/prod/slow")).await;
    let took = started.elapsed();
    assert_gateway_error(
        &r,
        504,
        r#"{"message": "Endpoint request timed out"}"#,
        "InternalServerErrorException",
    );
    let bound = TIMEOUT + Duration::from_millis(100);
    assert!(
        took <= bound,
        "the 504 came after {took:?}; bound {bound:?}"
    );
    // The backend did get the request: the gateway gave up on it, not before sending it.
    assert_eq!(s.slow_hits.load(Ordering::SeqCst), 1);
    assert_healthy(&s.server).await;
    // Several at once time out independently and leave the server serving.
    let mut all = Vec::new();
    for _ in 0..4 {
        let url = s.server.url("/prod/slow");
        all.push(tokio::spawn(async move { get(&client(), &url).await }));
    }
    assert_healthy(&s.server).await;
    for t in all {
        assert_eq!(t.await.unwrap().status, 504);
    }
    assert_healthy(&s.server).await;
}

#[tokio::test]
async fn a_backend_that_hangs_up_is_internal_server_error() {
    let s = setup().await;
    let r = get(&client(), &s.server.url("/prod/hangup")).await;
    assert_gateway_error(
        &r,
        500,
        r#"{"message": "Internal server error"}"#,
        "InternalServerErrorException",
    );
    assert!(s.hangup_hits.load(Ordering::SeqCst) >= 1);
    assert_healthy(&s.server).await;
}

#[tokio::test]
async fn a_body_over_10_mb_with_a_content_length_is_413() {
    let s = setup().await;
    let c = client();
    // Exactly 10 MB passes.
    let r = send(
        &c,
        "POST",
        &s.server.url("/prod/up"),
        &[],
        vec![b'a'; LIMIT],
    )
    .await;
    assert_eq!(r.status, 200, "{}", &r.text()[..r.text().len().min(200)]);
    assert_eq!(r.json()["body"].as_str().unwrap().len(), LIMIT);
    // One byte more does not; the Content-Length alone decides, before the body is read.
    let r = send(
        &client(),
        "POST",
        &s.server.url("/prod/up"),
        &[],
        vec![b'a'; LIMIT + 1],
    )
    .await;
    assert_gateway_error(
        &r,
        413,
        r#"{"message":"Request Too Long"}"#,
        "RequestTooLongException",
    );
    assert_healthy(&s.server).await;
}

/// Send a chunked POST of `total` bytes over a raw connection; returns the status line and body.
async fn chunked_post(addr: SocketAddr, path: &str, total: usize) -> (String, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let chunk = vec![b'b'; 1024 * 1024];
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk.len());
            wr.write_all(format!("{n:x}\r\n").as_bytes()).await?;
            wr.write_all(&chunk[..n]).await?;
            wr.write_all(b"\r\n").await?;
            left -= n;
        }
        wr.write_all(b"0\r\n\r\n").await?;
        Ok::<_, std::io::Error>(wr)
    });
    let mut buf = Vec::new();
    let mut tmp = vec![0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = rd.read(&mut tmp).await.unwrap();
        assert!(
            n > 0,
            "connection closed before a response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .expect("a content-length");
    while buf.len() < head_end + length {
        let n = rd.read(&mut tmp).await.unwrap();
        assert!(n > 0, "connection closed mid-body");
        buf.extend_from_slice(&tmp[..n]);
    }
    writer.abort();
    let status = head.lines().next().unwrap().to_string();
    (
        status,
        String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string(),
    )
}

#[tokio::test]
async fn a_chunked_body_over_10_mb_is_413() {
    let s = setup().await;
    let (status, body) = chunked_post(s.server.addr, "/prod/up", LIMIT + 1024 * 1024).await;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large", "{body}");
    assert_eq!(body, r#"{"message":"Request Too Long"}"#);
    // A chunked body under the limit streams through.
    let (status, body) = chunked_post(s.server.addr, "/prod/up", 3 * 1024 * 1024 + 7).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["body"].as_str().unwrap().len(), 3 * 1024 * 1024 + 7);
    assert_healthy(&s.server).await;
}

#[tokio::test]
async fn backend_errors_pass_through_http_proxy_unchanged() {
    // A backend's own 5xx is its answer, not a gateway error.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nX-Backend: yes\r\n\r\nbusy")
                    .await;
                let _ = s.shutdown().await;
            });
        }
    });
    let gw = Gw::new();
    let spec = gw.state().join("faults.yaml");
    std::fs::write(
        &spec,
        SPEC.replace("@UP@", &addr.to_string())
            .replace("@DOWN@", "127.0.0.1:9")
            .replace("@SLOW@", "127.0.0.1:9")
            .replace("@HANGUP@", "127.0.0.1:9"),
    )
    .unwrap();
    gw.ok(&["import", spec.to_str().unwrap()]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let r = send(&client(), "GET", &server.url("/prod/up"), &[], Bytes::new()).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), "busy");
    assert_eq!(r.header("x-backend"), Some("yes"));
    assert!(r.header("x-amzn-ErrorType").is_none());
    assert!(r.header("x-gw-deployment").is_some());
}
