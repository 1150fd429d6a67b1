//! Automatic canary ramps through real `gw serve` processes: a failing canary is rolled back
//! within one step, a healthy one ramps to 100 % and is promoted, and two servers on one state
//! directory advance a ramp exactly once per step. Every transition is in `gw stage history`.

use crate::common::{client, echo_upstream, send, Gw, Server};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn spec() -> Value {
    json!({
        "openapi": "3.0.1",
        "info": {"title": "ramp", "version": "1"},
        "paths": {
            "/x": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "http_proxy", "httpMethod": "GET",
                    "uri": "http://${stageVariables.backend}/x"
                }
            }}
        }
    })
}

/// An upstream that answers 500 to 3 requests in 10 (by a counter) and 200 to the rest.
async fn flaky_upstream() -> SocketAddr {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let n = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let n = n.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req: http::Request<hyper::body::Incoming>| {
                    let i = n.fetch_add(1, Ordering::Relaxed);
                    async move {
                        let mut r = http::Response::new(Full::new(Bytes::from_static(b"flaky")));
                        if i % 10 < 3 {
                            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                        }
                        Ok::<_, std::convert::Infallible>(r)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// What the traffic saw: (side was canary, status) per answer.
type Seen = Arc<Mutex<Vec<(bool, u16)>>>;

/// Sends `GET /prod/x` continuously from a few tasks, spread over `servers`, until `stop`.
fn traffic(servers: &[&Server], stop: Arc<AtomicBool>) -> Seen {
    let seen: Seen = Arc::default();
    let urls: Vec<String> = servers.iter().map(|s| s.url("/prod/x")).collect();
    for i in 0..4 {
        let (seen, stop, urls) = (seen.clone(), stop.clone(), urls.clone());
        tokio::spawn(async move {
            let c = client();
            let mut k = i;
            while !stop.load(Ordering::Relaxed) {
                let url = &urls[k % urls.len()];
                k += 1;
                let r = send(&c, "GET", url, &[], Bytes::new()).await;
                let canary = r.header("x-gw-canary") == Some("true");
                seen.lock().unwrap().push((canary, r.status));
            }
        });
    }
    seen
}

fn history(gw: &Gw) -> Vec<Value> {
    let out = gw.ok(&["stage", "history", "prod", "--json"]);
    serde_json::from_str::<Vec<Value>>(&out).unwrap()
}

/// Waits (at most 20 s) until the history has an entry by the ramp with `action`.
async fn wait_for(gw: &Gw, action: &str) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let h = history(gw);
        if h.iter().any(|e| e["by"] == "ramp" && e["action"] == action) {
            return h;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no {action} by the ramp within 20 s; history: {h:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn transitions(h: &[Value]) -> Vec<(String, Option<f64>)> {
    h.iter()
        .filter(|e| e["by"] == "ramp" && e["action"] != "extend")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["percent"].as_f64(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_canary_is_rolled_back_within_one_step() {
    let gw = Gw::new();
    let good = echo_upstream("production").await;
    let bad = flaky_upstream().await;
    gw.import_spec("ramp.json", &spec());
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--var",
        &format!("backend={good}"),
    ]);
    let server = gw.serve(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let seen = traffic(&[&server], stop.clone());
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--canary",
        "20",
        "--canary-var",
        &format!("backend={bad}"),
        "--ramp",
        "50,100",
        "--step",
        "1s",
        "--max-error-rate",
        "5",
        "--min-requests",
        "20",
    ]);
    let h = wait_for(&gw, "rollback").await;
    stop.store(true, Ordering::Relaxed);
    let rollback = h.iter().find(|e| e["action"] == "rollback").unwrap();
    let reason = rollback["reason"].as_str().unwrap();
    assert!(reason.contains("max-error-rate: "), "{reason}");
    assert!(reason.contains("answered 5xx), at most 5 %"), "{reason}");
    // Rolled back at the first step's end: the percentage never rose, the step was not
    // extended, and the rollback came one step (1 s, judged every 250 ms; slack for a loaded
    // machine) after the deploy.
    assert_eq!(transitions(&h), [("rollback".to_owned(), None)], "{h:#?}");
    assert!(!h.iter().any(|e| e["action"] == "extend"), "{h:#?}");
    let at = |e: &Value| {
        chrono::DateTime::parse_from_rfc3339(e["time"].as_str().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    let deployed = h.iter().rfind(|e| e["action"] == "deploy").unwrap();
    let took = at(rollback) - at(deployed);
    assert!(
        (1000..5000).contains(&took),
        "rolled back after {took} ms: {h:#?}"
    );
    let stages: Value = serde_json::from_str(&gw.ok(&["stages", "--json"])).unwrap();
    assert!(stages["item"][0]["canarySettings"].is_null(), "{stages}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = seen.lock().unwrap();
    let production: Vec<u16> = seen.iter().filter(|(c, _)| !c).map(|(_, s)| *s).collect();
    assert!(production.len() > 20, "{}", production.len());
    assert!(
        production.iter().all(|s| *s == 200),
        "production failed: {production:?}"
    );
    assert!(seen.iter().any(|(c, s)| *c && *s == 500));
}

async fn healthy_ramp(servers: usize) -> (Gw, Vec<Value>) {
    let gw = Gw::new();
    let good = echo_upstream("production").await;
    let next = echo_upstream("canary").await;
    gw.import_spec("ramp.json", &spec());
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--var",
        &format!("backend={good}"),
    ]);
    let running: Vec<Server> = (0..servers).map(|_| gw.serve(&[])).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let refs: Vec<&Server> = running.iter().collect();
    let seen = traffic(&refs, stop.clone());
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--canary",
        "10",
        "--canary-var",
        &format!("backend={next}"),
        "--ramp",
        "50,100",
        "--step",
        "1s",
        "--max-error-rate",
        "5",
        "--min-requests",
        "5",
    ]);
    let h = wait_for(&gw, "promote").await;
    stop.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(seen.lock().unwrap().iter().all(|(_, s)| *s == 200));
    (gw, h)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_healthy_canary_ramps_to_100_and_is_promoted() {
    let (gw, h) = healthy_ramp(1).await;
    assert_eq!(
        transitions(&h),
        [
            ("percent".to_owned(), Some(50.0)),
            ("percent".to_owned(), Some(100.0)),
            ("promote".to_owned(), None)
        ],
        "{h:#?}"
    );
    // The user's deploys come first.
    let by_user: Vec<&str> = h
        .iter()
        .filter(|e| e["by"] == "user")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(by_user, ["deploy", "deploy"]);
    assert_eq!(h[1]["percent"], 10.0);
    let canary = h[1]["canaryDeploymentId"].as_str().unwrap();
    let promoted = h.last().unwrap();
    assert_eq!(promoted["deploymentId"], canary);
    assert!(promoted["reason"].as_str().unwrap().contains("step passed"));
    let stages: Value = serde_json::from_str(&gw.ok(&["stages", "--json"])).unwrap();
    assert_eq!(stages["item"][0]["deploymentId"], canary);
    assert!(stages["item"][0]["canarySettings"].is_null());
    let table = gw.ok(&["stage", "history", "prod"]);
    assert!(
        table.contains("promote") && table.contains("ramp"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_advance_a_ramp_once_per_step() {
    let (_gw, h) = healthy_ramp(2).await;
    assert_eq!(
        transitions(&h),
        [
            ("percent".to_owned(), Some(50.0)),
            ("percent".to_owned(), Some(100.0)),
            ("promote".to_owned(), None)
        ],
        "{h:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_abort_and_stage_show() {
    let gw = Gw::new();
    let good = echo_upstream("production").await;
    gw.import_spec("ramp.json", &spec());
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--var",
        &format!("backend={good}"),
    ]);
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--canary",
        "10",
        "--ramp",
        "50,100",
        "--step",
        "10m",
        "--max-error-rate",
        "1",
    ]);
    let show = gw.ok(&["stage", "show", "prod"]);
    assert!(show.contains("ramp:        next 50 %"), "{show}");
    let show: Value = serde_json::from_str(&gw.ok(&["stage", "show", "prod", "--json"])).unwrap();
    assert_eq!(show["ramp"]["nextPercent"], 50.0);
    assert_eq!(show["ramp"]["stepMs"], 600_000);
    assert_eq!(show["ramp"]["gates"]["maxErrorRatePercent"], 1.0);
    gw.ok(&["canary", "--pause"]);
    assert!(gw.ok(&["stage", "show", "prod"]).contains("paused"));
    gw.ok(&["canary", "--resume"]);
    gw.ok(&["canary", "--abort"]);
    let show = gw.ok(&["stage", "show", "prod"]);
    assert!(!show.contains("ramp:"), "{show}");
    let actions: Vec<String> = history(&gw)
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["deploy", "deploy", "pause", "resume", "rollback"]);
    let err = gw.fails(&[
        "deploy", "--stage", "prod", "--canary", "50", "--ramp", "20", "--step", "1s",
    ]);
    assert!(err.contains("--ramp 20"), "{err}");
    let err = gw.fails(&["deploy", "--stage", "prod", "--canary", "5", "--ramp", "50"]);
    assert!(err.contains("--step"), "{err}");
}

#[test]
fn promote_or_rollback_by_hand_ends_the_ramp() {
    let gw = Gw::new();
    gw.import_spec("ramp.json", &spec());
    gw.ok(&["deploy", "--stage", "prod", "--var", "backend=127.0.0.1:9"]);
    for (verb, reason) in [
        ("promote", "promoted by hand: the ramp ended"),
        ("rollback", "rolled back by hand: the ramp ended"),
    ] {
        gw.ok(&[
            "deploy", "--stage", "prod", "--canary", "10", "--ramp", "100", "--step", "10m",
        ]);
        assert!(gw.ok(&["stage", "show", "prod"]).contains("ramp:"));
        gw.ok(&[verb]);
        assert!(!gw.ok(&["stage", "show", "prod"]).contains("ramp:"));
        let h = history(&gw);
        let last = h.last().unwrap();
        assert_eq!(last["action"], verb);
        assert_eq!(last["by"], "user");
        assert_eq!(last["reason"], reason);
    }
    gw.ok(&["deploy", "--stage", "prod", "--canary", "10"]);
    gw.ok(&["canary", "--percent", "30"]);
    let h = history(&gw);
    let last = h.last().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["percent"].as_f64()),
        (Some("percent"), Some(30.0))
    );
    let err = gw.fails(&["canary", "--pause"]);
    assert!(err.contains("has no ramp"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_server_takes_over_the_lease_when_its_holder_dies() {
    let gw = Gw::new();
    let good = echo_upstream("production").await;
    gw.import_spec("ramp.json", &spec());
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--var",
        &format!("backend={good}"),
    ]);
    let mut servers: Vec<Server> = (0..2).map(|_| gw.serve(&[])).collect();
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--canary",
        "10",
        "--ramp",
        "50,100",
        "--step",
        "1s",
        "--min-requests",
        "5",
    ]);
    let store = gw.store();
    let start = Instant::now();
    let owner = loop {
        let ramps = store.read(|tx| tx.ramps()).unwrap();
        if let Some(owner) = ramps.first().and_then(|(_, _, r)| r.lease_owner.clone()) {
            break owner;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no server took the lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let holder = servers
        .iter()
        .position(|s| owner.ends_with(&format!("@{}", s.addr)))
        .unwrap_or_else(|| panic!("lease owner {owner} is none of the servers"));
    drop(servers.remove(holder));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = traffic(&[&servers[0]], stop.clone());
    let h = wait_for(&gw, "promote").await;
    stop.store(true, Ordering::Relaxed);
    assert_eq!(
        transitions(&h),
        [
            ("percent".to_owned(), Some(50.0)),
            ("percent".to_owned(), Some(100.0)),
            ("promote".to_owned(), None)
        ],
        "{h:#?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(seen.lock().unwrap().iter().all(|(_, s)| *s == 200));
}
