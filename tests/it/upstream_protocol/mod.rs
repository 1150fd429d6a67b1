//! The backend side of HTTP_PROXY through the real `gw serve`: every way HTTP/1.1 delimits a
//! response body (length, chunked with extensions and trailers, end of connection, none for HEAD,
//! 204 and interim 100), request bodies small, large and of unknown length, a backend that answers
//! before reading a large body, and keep-alive connections reused when they can be and replaced
//! when the backend closed them.

use crate::common;

use bytes::Bytes;
use common::{client, get, send, Gw, Server};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SPEC: &str = r#"
openapi: 3.0.1
info: {title: protocol, version: "1"}
paths:
  /{proxy+}:
    x-amazon-apigateway-any-method:
      parameters:
        - {name: proxy, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: ANY
        uri: "http://@UP@/{proxy}"
        requestParameters:
          integration.request.path.proxy: method.request.path.proxy
"#;

const BIG: usize = 1024 * 1024 + 17;

/// One request as the backend received it.
#[derive(Debug, Clone)]
struct Seen {
    connection: usize,
    method: String,
    path: String,
    /// "none", "length N" or "chunked".
    framing: String,
    body: Vec<u8>,
}

/// A scripted HTTP/1.1 backend on port 0 that answers by path and records what it got.
struct Backend {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// `/trickle` holds the rest of its answer until this is notified.
    release: Arc<tokio::sync::Notify>,
}

impl Backend {
    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
    fn last(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads until `buf` holds at least `n` bytes; false at end of stream.
async fn fill(s: &mut TcpStream, buf: &mut Vec<u8>, n: usize) -> bool {
    let mut chunk = vec![0u8; 64 * 1024];
    while buf.len() < n {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
        }
    }
    true
}

/// Reads until `buf` contains `needle`; returns its position.
async fn fill_until(s: &mut TcpStream, buf: &mut Vec<u8>, needle: &[u8]) -> Option<usize> {
    loop {
        if let Some(i) = find(buf, needle) {
            return Some(i);
        }
        let want = buf.len() + 1;
        if !fill(s, buf, want).await {
            return None;
        }
    }
}

/// Reads one request (head and body) from the front of `buf`/`s`.
async fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, Vec<u8>, String)> {
    let end = fill_until(s, buf, b"\r\n\r\n").await?;
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    buf.drain(..end + 4);
    let lower = head.to_ascii_lowercase();
    let header = |name: &str| {
        lower
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
    };
    let (framing, body) = if let Some(n) = header("content-length") {
        let n: usize = n.trim().parse().unwrap();
        if !fill(s, buf, n).await {
            return None;
        }
        (format!("length {n}"), buf.drain(..n).collect())
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let eol = fill_until(s, buf, b"\r\n").await?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&buf[..eol]).unwrap(), 16).unwrap();
            buf.drain(..eol + 2);
            if size == 0 {
                fill_until(s, buf, b"\r\n").await?;
                buf.drain(..2);
                break;
            }
            if !fill(s, buf, size + 2).await {
                return None;
            }
            body.extend(buf.drain(..size));
            buf.drain(..2);
        }
        ("chunked".to_string(), body)
    } else {
        ("none".to_string(), Vec::new())
    };
    Some((head, body, framing))
}

/// A body and its chunked encoding, both from `seed`: chunks of 1 to 300 bytes, some with
/// extensions, and sometimes trailer fields.
fn random_chunked(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut body = Vec::new();
    let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..rng.random_range(0..12) {
        let chunk: Vec<u8> = (0..rng.random_range(1..=300))
            .map(|_| rng.random())
            .collect();
        let size = if rng.random_bool(0.5) {
            format!("{:x}", chunk.len())
        } else {
            format!("{:X}", chunk.len())
        };
        wire.extend_from_slice(size.as_bytes());
        if rng.random_ratio(1, 3) {
            wire.extend_from_slice(b";name=\"va;lue\"");
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(&chunk);
        wire.extend_from_slice(b"\r\n");
        body.extend_from_slice(&chunk);
    }
    wire.extend_from_slice(b"0\r\n");
    if rng.random_ratio(1, 3) {
        wire.extend_from_slice(b"X-Checksum: abc\r\nX-More: 1\r\n");
    }
    wire.extend_from_slice(b"\r\n");
    (body, wire)
}

async fn backend() -> Backend {
    let connections = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let release = Arc::new(tokio::sync::Notify::new());
    let (count, log, gate) = (connections.clone(), seen.clone(), release.clone());
    let addr = common::raw_upstream(move |mut s| {
        let connection = count.fetch_add(1, Ordering::SeqCst) + 1;
        let log = log.clone();
        let gate = gate.clone();
        async move {
            let mut buf = Vec::new();
            let mut served = 0;
            while let Some((head, body, framing)) = read_request(&mut s, &mut buf).await {
                served += 1;
                let mut words = head.split_whitespace();
                let method = words.next().unwrap_or_default().to_string();
                let path = words.next().unwrap_or_default().to_string();
                log.lock().unwrap().push(Seen {
                    connection,
                    method: method.clone(),
                    path: path.clone(),
                    framing: framing.clone(),
                    body: body.clone(),
                });
                if path == "/flaky" && served > 1 {
                    return; // a keep-alive connection that dies under the next request
                }
                if path == "/trickle" {
                    // The first chunk now, the rest only once the test has seen it arrive.
                    let _ = s.set_nodelay(true);
                    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n";
                    if s.write_all(head).await.is_err() {
                        return;
                    }
                    gate.notified().await;
                    let _ = s.write_all(b"4\r\nlast\r\n0\r\n\r\n").await;
                    continue;
                }
                if let Some(seed) = path.strip_prefix("/random/") {
                    // A chunked answer written in random pieces, pausing now and then so that gw
                    // reads it across every kind of boundary.
                    let (_, wire) = random_chunked(seed.parse().unwrap());
                    let _ = s.set_nodelay(true);
                    let mut rng = SmallRng::seed_from_u64(seed.parse::<u64>().unwrap() ^ 0x5eed);
                    let mut rest = wire.as_slice();
                    while !rest.is_empty() {
                        let n = rng.random_range(1..=rest.len().min(48));
                        if s.write_all(&rest[..n]).await.is_err() {
                            return;
                        }
                        rest = &rest[n..];
                        if rng.random_ratio(1, 4) {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                    continue;
                }
                let answer: Vec<u8> = match path.as_str() {
                    "/chunked" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n".to_vec(),
                    "/both" => b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_vec(),
                    "/close" => b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close".to_vec(),
                    "/head" => b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n".to_vec(),
                    "/nocontent" => b"HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n".to_vec(),
                    "/continue" => b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter".to_vec(),
                    "/big" => {
                        let mut a = format!("HTTP/1.1 200 OK\r\nContent-Length: {BIG}\r\n\r\n").into_bytes();
                        a.extend((0..BIG).map(|i| (i % 251) as u8));
                        a
                    }
                    "/drop" => b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndrop".to_vec(),
                    "/chatty" => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
                    "/fields" => b"HTTP/1.1 200 OK\r\nServer: up\r\nx-amzn-RequestId: theirs\r\nX-GW-Canary: maybe\r\nConnection: keep-alive, X-Private\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nX-Spaced:   v w  \r\nX-Bare:v\r\nX-Empty:\r\nSet-Cookie: a=1\r\nContent-Length: 2\r\nSet-Cookie: b=2\r\n\r\nok".to_vec(),
                    "/flaky" => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nflaky".to_vec(),
                    _ => {
                        let mut a = format!(
                            "HTTP/1.1 200 OK\r\nX-Framing: {framing}\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        a.extend_from_slice(&body);
                        a
                    }
                };
                // Large answers go out in pieces, so gw sees a body still arriving.
                for piece in answer.chunks(100_000) {
                    if s.write_all(piece).await.is_err() {
                        return;
                    }
                }
                if path == "/chatty" {
                    // Bytes nobody asked for, shaped like an answer to the next request.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged")
                        .await;
                }
                if path == "/close" || path == "/drop" {
                    return; // closes, though /drop's answer promised keep-alive
                }
            }
        }
    })
    .await;
    Backend {
        addr,
        connections,
        seen,
        release,
    }
}

async fn setup() -> (Gw, Server, Backend) {
    let up = backend().await;
    // The test client keeps one connection to gw, so its requests share one worker's pool.
    let (gw, server) = serve_proxy_to(up.addr);
    (gw, server, up)
}

/// `SPEC` imported with every route proxied to `up`, deployed to `prod` and served.
fn serve_proxy_to(up: SocketAddr) -> (Gw, Server) {
    let gw = Gw::new();
    let spec = gw.state().join("protocol.yaml");
    std::fs::write(&spec, SPEC.replace("@UP@", &up.to_string())).unwrap();
    gw.ok(&["import", spec.to_str().unwrap()]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    (gw, server)
}

/// Sends `total` bytes as a chunked request body on a raw connection (in its own task, since gw
/// may answer and stop reading before the end) and returns the status line of the answer. The
/// writing half stays open until the answer is read, as an HTTP client keeps it (hyper's server
/// takes a half-closed connection for a closed one).
async fn chunked_post_status(server: &Server, total: usize) -> String {
    let s = TcpStream::connect(server.addr).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn(async move {
        let send = async {
            wr.write_all(
                b"POST /prod/upload HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n",
            )
            .await?;
            let piece = vec![b'z'; 64 * 1024];
            let mut sent = 0;
            while sent < total {
                let n = piece.len().min(total - sent);
                wr.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                wr.write_all(&piece[..n]).await?;
                wr.write_all(b"\r\n").await?;
                sent += n;
            }
            wr.write_all(b"0\r\n\r\n").await
        };
        let sent: std::io::Result<()> = send.await;
        let _ = done_rx.await;
        sent
    });
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match tokio::time::timeout(Duration::from_secs(20), rd.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&chunk[..n]),
            other => panic!("no answer: {other:?}\n{}", server.log()),
        }
    }
    let _ = done_tx.send(());
    let _ = writer.await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    text.lines().next().unwrap_or_default().to_string()
}

/// Sends `request` on a fresh connection to `addr` and reads the answer until gw closes it.
async fn exchange_raw(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("gw did not close the connection")
        .unwrap();
    String::from_utf8(out).unwrap()
}

mod framing;
mod mapped_headers;
