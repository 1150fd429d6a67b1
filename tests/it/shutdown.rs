//! SIGTERM to a real `gw serve`: a request in flight (its upstream answers after 1 s) completes
//! with 200, new connections are refused at once, and the process exits 0 — within the shutdown
//! grace period (10 s) even when a request never finishes.
//!
//! Short and long are the same:  cargo test --test shutdown

use crate::common;

use bytes::Bytes;
use common::{client, send, Gw, Server};
use http_body_util::Full;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// An upstream that reports each request on `seen`, waits `delay`, then answers 200 "slow done".
async fn slow_upstream(delay: Duration, seen: mpsc::UnboundedSender<()>) -> SocketAddr {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req: http::Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    async move {
                        let _ = seen.send(());
                        tokio::time::sleep(delay).await;
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from("slow done"),
                        )))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn deploy(gw: &Gw, upstream: SocketAddr) {
    let spec = format!(
        "openapi: 3.0.1\ninfo: {{title: shutdown, version: '1'}}\npaths:\n  /slow:\n    get:\n      x-amazon-apigateway-integration:\n        type: http_proxy\n        httpMethod: GET\n        uri: http://{upstream}/slow\n"
    );
    let file = gw.state().join("shutdown.yaml");
    std::fs::write(&file, spec).unwrap();
    gw.ok(&["import", file.to_str().unwrap()]);
    gw.ok(&["deploy", "--stage", "prod"]);
}

fn sigterm(server: &Server) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Wait (bounded) for the process to exit; its exit code.
fn wait_exit(server: &mut Server, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status.code();
        }
        assert!(
            Instant::now() < deadline,
            "gw serve still running {limit:?} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_refuses_new_ones_and_exits_0() {
    let (tx, mut seen) = mpsc::unbounded_channel();
    let upstream = slow_upstream(Duration::from_secs(1), tx).await;
    let gw = Gw::new();
    deploy(&gw, upstream);
    let mut server = gw.serve(&[]);
    let c = client();
    let url = server.url("/prod/slow");
    let in_flight = tokio::spawn(async move { send(&c, "GET", &url, &[], Bytes::new()).await });
    // The request has reached the upstream: it is in flight in gw.
    tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .unwrap()
        .unwrap();
    let signalled = Instant::now();
    sigterm(&server);

    // New connections are refused while the in-flight request is still running.
    let mut refused_at = None;
    while signalled.elapsed() < Duration::from_secs(5) {
        match tokio::net::TcpStream::connect(server.addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                refused_at = Some(signalled.elapsed());
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    let refused_at = refused_at.expect("new connections were still accepted 5 s after SIGTERM");
    assert!(!in_flight.is_finished() || refused_at < Duration::from_secs(1));

    let reply = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), "slow done");
    let code = tokio::task::spawn_blocking(move || {
        let code = wait_exit(&mut server, Duration::from_secs(15));
        (code, server.log())
    })
    .await
    .unwrap();
    assert_eq!(code.0, Some(0), "exit status; log:\n{}", code.1);
    assert!(!code.1.contains("panicked"), "{}", code.1);
    eprintln!(
        "new connections refused {refused_at:?} after SIGTERM; in-flight request answered 200"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_when_idle_exits_0_promptly() {
    let (tx, _seen) = mpsc::unbounded_channel();
    let upstream = slow_upstream(Duration::from_secs(1), tx).await;
    let gw = Gw::new();
    deploy(&gw, upstream);
    let mut server = gw.serve(&[]);
    // Idle connections must not hold the shutdown up: one that never sent a byte, and one kept
    // alive after an answer.
    let _silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut kept = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    kept.write_all(b"GET /prod/slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    while !String::from_utf8_lossy(&answer).contains("slow done") {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(10), kept.read(&mut chunk))
            .await
            .expect("no answer")
            .unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&chunk[..n]);
    }
    let started = Instant::now();
    sigterm(&server);
    let code = tokio::task::spawn_blocking(move || wait_exit(&mut server, Duration::from_secs(12)))
        .await
        .unwrap();
    assert_eq!(code, Some(0));
    // Well inside the 10 s grace period: nothing was waited for.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "exit took {:?}",
        started.elapsed()
    );
    // The kept-alive connection was closed, not left open.
    let mut rest = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(2), kept.read(&mut rest))
        .await
        .expect("the idle connection is still open")
        .unwrap_or(0);
    assert_eq!(n, 0);
}

/// A request that never finishes (upstream silent, default 29 s integration timeout) does not
/// hold the process past the grace period (10 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_within_the_grace_period_when_a_request_never_finishes() {
    let (tx, mut seen) = mpsc::unbounded_channel();
    let upstream = slow_upstream(Duration::from_secs(3600), tx).await;
    let gw = Gw::new();
    deploy(&gw, upstream);
    let mut server = gw.serve(&[]);
    let c = client();
    let url = server.url("/prod/slow");
    let stuck = tokio::spawn(async move {
        let req = http::Request::get(url)
            .body(Full::new(Bytes::new()))
            .unwrap();
        c.request(req).await.map(|r| r.status().as_u16())
    });
    tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .unwrap()
        .unwrap();
    let signalled = Instant::now();
    sigterm(&server);
    let code = tokio::task::spawn_blocking(move || wait_exit(&mut server, Duration::from_secs(20)))
        .await
        .unwrap();
    let took = signalled.elapsed();
    assert_eq!(code, Some(0));
    // Grace 10 s; bound with margin for a loaded machine.
    assert!(took < Duration::from_secs(20), "{took:?}");
    // The stuck client sees its connection end (an error or a gateway answer), not a hang.
    let r = tokio::time::timeout(Duration::from_secs(5), stuck)
        .await
        .unwrap()
        .unwrap();
    assert!(r.is_err() || r.as_ref().is_ok_and(|s| *s >= 500), "{r:?}");
    eprintln!("exited {took:?} after SIGTERM with a request stuck in flight");
}
