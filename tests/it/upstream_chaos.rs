//! Faulty upstreams behind HTTP_PROXY routes of a real `gw serve`: connection refused, closed
//! before answering, reset before and in the middle of a response, headers never sent (with
//! `timeoutInMillis: 300`), a truncated chunked body, and a non-HTTP answer. Each request gets
//! API Gateway's answer (a 5xx; 504 for the timeout) or, once the headers have been relayed, a
//! broken body — and the server stays healthy and gives back every socket it opened: the open fd
//! count of the `gw serve` process returns to its baseline (± `FD_TOLERANCE`) after the storm.
//!
//! Short (CI):  cargo test --test upstream_chaos          (204 faulty requests)
//! Long:        GW_LONG_TESTS=1 cargo test --test upstream_chaos -- --nocapture   (2,040)

use crate::common;

use bytes::Bytes;
use common::{client, get, Gw, TestClient};
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn long() -> bool {
    std::env::var("GW_LONG_TESTS").is_ok_and(|v| v == "1")
}

/// Open fds of the server may differ from the baseline by this much after settling (a pooled
/// keep-alive connection or two, the runtime's lazily created descriptors).
const FD_TOLERANCE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Nothing listens on the port.
    Refused,
    /// Accepts, reads the request, closes without a byte.
    CloseBeforeAnswer,
    /// Accepts, reads the request, resets (SO_LINGER 0).
    ResetBeforeAnswer,
    /// Sends the status line, headers (Content-Length 1000) and 7 bytes, then resets.
    ResetMidResponse,
    /// Reads the request and never answers (the route's timeoutInMillis is 300).
    Silent,
    /// A chunked body that stops after one chunk (clean close, no last chunk).
    TruncatedChunked,
    /// Answers something that is not HTTP.
    Garbage,
}

const FAULTS: [Fault; 7] = [
    Fault::Refused,
    Fault::CloseBeforeAnswer,
    Fault::ResetBeforeAnswer,
    Fault::ResetMidResponse,
    Fault::Silent,
    Fault::TruncatedChunked,
    Fault::Garbage,
];

fn route(f: Fault) -> &'static str {
    match f {
        Fault::Refused => "refused",
        Fault::CloseBeforeAnswer => "close",
        Fault::ResetBeforeAnswer => "reset-early",
        Fault::ResetMidResponse => "reset-mid",
        Fault::Silent => "silent",
        Fault::TruncatedChunked => "truncated",
        Fault::Garbage => "garbage",
    }
}

/// A raw TCP upstream with one fault; `Refused` returns a port nobody listens on.
async fn fake_upstream(fault: Fault) -> SocketAddr {
    if fault == Fault::Refused {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        return listener.local_addr().unwrap();
    }
    common::raw_upstream(move |mut s| async move {
        common::read_head(&mut s).await;
        match fault {
            Fault::Refused => {}
            Fault::CloseBeforeAnswer => {}
            Fault::ResetBeforeAnswer => {
                let _ = s.set_zero_linger();
            }
            Fault::ResetMidResponse => {
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\npartial")
                    .await;
                let _ = s.flush().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = s.set_zero_linger();
            }
            Fault::Silent => {
                // Hold the connection until gw gives up on it (it closes: EOF here).
                let mut sink = [0u8; 1024];
                let _ = tokio::time::timeout(Duration::from_secs(60), async {
                    while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
                })
                .await;
            }
            Fault::TruncatedChunked => {
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
                    .await;
                let _ = s.flush().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Fault::Garbage => {
                let _ = s
                    .write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n\x00\xff garbage")
                    .await;
            }
        }
        drop(s);
    })
    .await
}

fn deploy(gw: &Gw, ok: SocketAddr, faulty: &[(Fault, SocketAddr)]) {
    let mut spec = String::from("openapi: 3.0.1\ninfo: {title: chaos, version: '1'}\npaths:\n");
    let mut add = |name: &str, addr: SocketAddr, timeout: u64| {
        spec.push_str(&format!(
            "  /{name}:\n    get:\n      x-amazon-apigateway-integration:\n        type: http_proxy\n        httpMethod: GET\n        uri: http://{addr}/{name}\n        timeoutInMillis: {timeout}\n"
        ));
    };
    add("ok", ok, 29_000);
    for (f, addr) in faulty {
        let timeout = if *f == Fault::Silent { 300 } else { 29_000 };
        add(route(*f), *addr, timeout);
    }
    let file = gw.state().join("chaos.yaml");
    std::fs::write(&file, spec).unwrap();
    gw.ok(&["import", file.to_str().unwrap()]);
    gw.ok(&["deploy", "--stage", "prod"]);
}

/// What the client saw: a status, and the body or the error reading it.
#[derive(Debug)]
struct Outcome {
    status: u16,
    body: Result<Bytes, String>,
}

async fn try_get(c: &TestClient, url: &str) -> Result<Outcome, String> {
    let req = http::Request::get(url)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(30), c.request(req))
        .await
        .map_err(|_| format!("{url}: no response head within 30 s"))?
        .map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    let body = tokio::time::timeout(Duration::from_secs(30), resp.into_body().collect())
        .await
        .map_err(|_| format!("{url}: body not finished within 30 s"))?
        .map(|b| b.to_bytes())
        .map_err(|e| e.to_string());
    Ok(Outcome { status, body })
}

/// The answer API Gateway gives for each fault (or a broken body once headers were relayed).
fn check(fault: Fault, o: &Outcome) {
    match fault {
        Fault::Silent => {
            assert_eq!(o.status, 504, "{fault:?}: {o:?}");
            let body: serde_json::Value = serde_json::from_slice(o.body.as_ref().unwrap()).unwrap();
            assert_eq!(body["message"], "Endpoint request timed out", "{o:?}");
        }
        Fault::Refused | Fault::CloseBeforeAnswer | Fault::ResetBeforeAnswer | Fault::Garbage => {
            assert!((500..=599).contains(&o.status), "{fault:?}: {o:?}");
            assert!(
                o.body.is_ok(),
                "{fault:?}: a gateway error with a broken body: {o:?}"
            );
        }
        Fault::ResetMidResponse | Fault::TruncatedChunked => {
            // Either gw saw the fault before relaying the head (5xx), or the client's body breaks
            // or comes out short: never a complete 200.
            let complete_200 = o.status == 200
                && match (&o.body, fault) {
                    (Ok(b), Fault::ResetMidResponse) => b.len() == 1000,
                    (Ok(b), _) => b.as_ref() != b"hello",
                    (Err(_), _) => false,
                };
            assert!(
                (500..=599).contains(&o.status) || (o.status == 200 && !complete_200),
                "{fault:?}: {o:?}"
            );
        }
    }
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_upstreams_get_aws_errors_and_leak_nothing() {
    let ok = common::echo_upstream("ok").await;
    let mut faulty = Vec::new();
    for f in FAULTS {
        faulty.push((f, fake_upstream(f).await));
    }
    let gw = Gw::new();
    deploy(&gw, ok, &faulty);
    let server = gw.serve(&[]);
    let pid = server.child.id();
    let url = |name: &str| server.url(&format!("/prod/{name}"));

    // Warm up: every path once (runtime threads, the pool's connection to the healthy upstream).
    {
        let c = client();
        for f in FAULTS {
            let o = try_get(&c, &url(route(f))).await.unwrap();
            check(f, &o);
        }
        assert_eq!(get(&c, &url("ok")).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = open_fds(pid);
    let baseline_threads = threads(pid);

    let rounds = if long() { 300 } else { 30 };
    let mut seen = std::collections::BTreeMap::<(String, u16, bool), usize>::new();
    let mut total = 0;
    for round in 0..rounds {
        // A new client per round: its keep-alive connections to gw close when it is dropped.
        let c = client();
        let mut batch = Vec::new();
        for f in FAULTS {
            let (c, u) = (c.clone(), url(route(f)));
            batch.push(tokio::spawn(async move { (f, try_get(&c, &u).await) }));
        }
        for t in batch {
            let (f, o) = t.await.unwrap();
            let o = o.unwrap_or_else(|e| panic!("round {round}: {e}"));
            check(f, &o);
            *seen
                .entry((format!("{f:?}"), o.status, o.body.is_ok()))
                .or_default() += 1;
            total += 1;
        }
        if round % 10 == 9 {
            assert_eq!(
                get(&c, &url("ok")).await.status,
                200,
                "healthy route after round {round}"
            );
        }
    }
    assert_eq!(total, rounds * FAULTS.len());
    let peak = open_fds(pid);

    // Settle: wait (bounded) for the count to come back to the baseline; then it must be within
    // the tolerance of it.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut now = open_fds(pid);
    while now > baseline && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        now = open_fds(pid);
    }
    eprintln!(
        "{total} faulty requests; server fds: baseline {baseline}, right after {peak}, settled {now} (tolerance {FD_TOLERANCE}); threads {baseline_threads} -> {}",
        threads(pid)
    );
    for ((f, status, body_ok), n) in &seen {
        eprintln!(
            "  {f:18} status {status} body {} x{n}",
            if *body_ok { "ok" } else { "broken" }
        );
    }
    assert!(
        now <= baseline + FD_TOLERANCE,
        "the server holds {now} fds after the storm, baseline {baseline} (+{FD_TOLERANCE} allowed)"
    );
    let c = client();
    let r = get(&c, &url("ok")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["tag"], "ok");
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
}
