//! Aggregation (`x-gw-aggregate`) through the real server: calls in parallel answer in about
//! the slowest call's time, a later call's template reads an earlier call's answer, a failed
//! call makes the answer AWS's 502 — or, with `partial: true`, the composed body with
//! `x-gw-completed: false`.

use crate::common::{client, send, Gw};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A backend whose `/delay/MS/NAME` answers `{"name", "body"}` after MS milliseconds.
async fn slow_backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        let path = req.uri().path().to_string();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let mut parts = path.trim_start_matches('/').split('/');
                        let (_, ms, name) = (parts.next(), parts.next(), parts.next());
                        let ms: u64 = ms.and_then(|m| m.parse().ok()).unwrap_or(0);
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        let out = json!({"name": name, "body": String::from_utf8_lossy(&body)})
                            .to_string();
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                            Bytes::from(out),
                        )))
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn spec(backend: SocketAddr, dead: SocketAddr) -> Value {
    let call = |name: &str, ms: u64| json!({"name": name, "uri": format!("http://{backend}/delay/{ms}/{name}")});
    json!({
        "openapi": "3.0.1",
        "info": {"title": "aggregate", "version": "1"},
        "paths": {
            "/parallel": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-gw-aggregate": {
                    "calls": [call("users", 300), call("orders", 300), call("stock", 300)],
                    "responseTemplate": "{\"users\": \"$calls.users.body.name\", \"orders\": \"$calls.orders.body.name\", \"stock\": $calls.stock.status}"
                }
            }},
            "/staged": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-gw-aggregate": {
                    "calls": [
                        call("first", 0),
                        {"name": "second", "uri": format!("http://{backend}/delay/0/second"), "httpMethod": "POST",
                         "after": ["first"], "requestTemplate": "{\"saw\": \"$calls.first.body.name\"}"}
                    ],
                    "responseTemplate": "$calls.second.body.body"
                }
            }},
            "/failing": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-gw-aggregate": {
                    "calls": [call("users", 0), {"name": "broken", "uri": format!("http://{dead}/x")}],
                    "responseTemplate": "{\"users\": \"$calls.users.body.name\"}"
                }
            }},
            "/partial": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-gw-aggregate": {
                    "partial": true,
                    "calls": [call("users", 0), {"name": "late", "uri": format!("http://{backend}/delay/2000/late"), "timeoutInMillis": 200}],
                    "responseTemplate": "{\"users\": \"$calls.users.body.name\", \"late\": #if($calls.late)true#{else}false#end}"
                }
            }}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_run_in_parallel_in_stages_and_fail_as_configured() {
    let backend = slow_backend().await;
    // A port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let gw = Gw::new();
    gw.import_spec("aggregate.json", &spec(backend, dead));
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();

    let started = Instant::now();
    let r = send(&c, "GET", &server.url("/prod/parallel"), &[], Bytes::new()).await;
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"users": "users", "orders": "orders", "stock": 200})
    );
    assert_eq!(r.header("x-gw-completed"), Some("true"));
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(700),
        "three 300 ms calls took {took:?}: about the slowest, not the sum"
    );

    let r = send(&c, "GET", &server.url("/prod/staged"), &[], Bytes::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        r#"{"saw": "first"}"#,
        "the second call's body was made from the first's answer"
    );

    let r = send(&c, "GET", &server.url("/prod/failing"), &[], Bytes::new()).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (502, r#"{"message": "Internal server error"}"#)
    );

    let started = Instant::now();
    let r = send(&c, "GET", &server.url("/prod/partial"), &[], Bytes::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"users": "users", "late": false}));
    assert_eq!(r.header("x-gw-completed"), Some("false"));
    assert!(
        started.elapsed() < Duration::from_millis(1_000),
        "the late call was cut at 200 ms"
    );

    // A malformed aggregate is refused at import, naming it.
    let bad = json!({
        "openapi": "3.0.1", "info": {"title": "bad", "version": "1"},
        "paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}},
            "x-gw-aggregate": {"calls": [{"name": "a", "uri": "http://h/", "after": ["b"]}]}}}}
    });
    let path = gw.state().join("bad.json");
    std::fs::write(&path, bad.to_string()).unwrap();
    let err = gw.fails(&["import", path.to_str().unwrap()]);
    assert!(
        err.contains("x-gw-aggregate") && err.contains("names no earlier call"),
        "{err}"
    );
}

/// The example in `specs/aggregate.yaml` composes its three calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_spec_composes_three_calls() {
    let backend = crate::common::echo_upstream("pets").await;
    let gw = Gw::new();
    let spec = crate::common::root().join("specs/aggregate.yaml");
    gw.ok(&["import", spec.to_str().unwrap()]);
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--var",
        &format!("backend={backend}"),
    ]);
    let server = gw.serve(&[]);
    let r = send(
        &client(),
        "GET",
        &server.url("/prod/overview/7"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["pets"]["path"], "/v1/pets");
    assert_eq!(v["pet"]["path"], "/v1/pets/7");
    assert_eq!(v["canary"]["path"], "/v2/pets/7");
    assert_eq!(r.header("x-gw-completed"), Some("true"));
}
