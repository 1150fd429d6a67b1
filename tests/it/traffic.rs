//! Continuous traffic from several clients while the stage goes through deploy → canary →
//! percent change → promote → canary → rollback in the CLI: no request fails, and every answer
//! comes from a deployment (with the variables) that was live on the stage while it was in flight.

use crate::common;

use bytes::Bytes;
use common::{client, echo_upstream, send, Gw};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SPEC: &str = r#"
openapi: 3.0.1
info: {title: traffic, version: "1"}
paths:
  /t:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: "http://${stageVariables.backend}/${stageVariables.version}/t"
"#;

/// What served one request: deployment, canary flag, backend path (which carries `version`).
type Served = (String, bool, String);

/// One state of the stage, live in the store from `from` (the start of the CLI command that
/// made it; its commit cannot come earlier) until `to` (the end of the command that replaced
/// it, plus the reload bound).
struct Phase {
    name: &'static str,
    from: Option<Instant>,
    to: Option<Instant>,
    live: BTreeSet<Served>,
}

/// The server follows a commit within this (`gw serve` polls the store every 20 ms;
/// `tests/it/lifecycle.rs` asserts the 100 ms bound).
const RELOAD_BOUND: Duration = Duration::from_millis(100);
/// How long each phase holds before the next change.
const HOLD: Duration = Duration::from_millis(400);
const CLIENTS: usize = 8;

struct Answer {
    sent: Instant,
    received: Instant,
    served: Result<Served, String>,
}

fn deploy(gw: &Gw, args: &[&str]) -> String {
    let mut all = vec!["deploy", "--json"];
    all.extend_from_slice(args);
    let v: serde_json::Value = serde_json::from_str(&gw.ok(&all)).unwrap();
    v["deployment"]["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_request_fails_and_each_is_served_by_a_live_deployment() {
    let up = echo_upstream("traffic").await;
    let gw = Arc::new(Gw::new());
    let spec = gw.state().join("traffic.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    gw.ok(&["import", spec.to_str().unwrap()]);
    let backend = format!("backend={up}");
    let d1 = deploy(
        &gw,
        &["--stage", "prod", "--var", &backend, "--var", "version=v1"],
    );
    let server = gw.serve(&[]);
    let url = server.url("/prod/t");

    // Clients: back-to-back GETs on keep-alive connections until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (stop, answers, url) = (stop.clone(), answers.clone(), url.clone());
        clients.push(tokio::spawn(async move {
            let c = client();
            let mut mine = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let r = send(&c, "GET", &url, &[], Bytes::new()).await;
                let received = Instant::now();
                let served = if r.status == 200 {
                    Ok((
                        r.header("x-gw-deployment").unwrap_or("").to_string(),
                        r.header("x-gw-canary") == Some("true"),
                        r.json()["path"].as_str().unwrap_or("").to_string(),
                    ))
                } else {
                    Err(format!("{} {}", r.status, r.text()))
                };
                mine.push(Answer {
                    sent,
                    received,
                    served,
                });
            }
            answers.lock().unwrap().extend(mine);
        }));
    }

    // The changes, run off the async workers; each records when it started and returned.
    let changes = {
        let gw = gw.clone();
        tokio::task::spawn_blocking(move || {
            let p = |d: &str, canary: bool, version: &str| {
                (d.to_string(), canary, format!("/{version}/t"))
            };
            let mut phases = vec![Phase {
                name: "initial",
                from: None,
                to: None,
                live: [p(&d1, false, "v1")].into(),
            }];
            let step = |phases: &mut Vec<Phase>,
                        name: &'static str,
                        run: &dyn Fn() -> BTreeSet<Served>| {
                std::thread::sleep(HOLD);
                let start = Instant::now();
                let live = run();
                let end = Instant::now();
                phases.last_mut().unwrap().to = Some(end + RELOAD_BOUND);
                phases.push(Phase {
                    name,
                    from: Some(start),
                    to: None,
                    live,
                });
            };
            let d2 = std::cell::RefCell::new(String::new());
            let c3 = std::cell::RefCell::new(String::new());
            step(&mut phases, "deploy", &|| {
                *d2.borrow_mut() = deploy(&gw, &["--stage", "prod"]);
                [p(&d2.borrow(), false, "v1")].into()
            });
            step(&mut phases, "canary 20 %", &|| {
                *c3.borrow_mut() = deploy(
                    &gw,
                    &[
                        "--stage",
                        "prod",
                        "--canary",
                        "20",
                        "--canary-var",
                        "version=v2",
                    ],
                );
                [p(&d2.borrow(), false, "v1"), p(&c3.borrow(), true, "v2")].into()
            });
            step(&mut phases, "canary 80 %", &|| {
                gw.ok(&["canary", "--percent", "80"]);
                [p(&d2.borrow(), false, "v1"), p(&c3.borrow(), true, "v2")].into()
            });
            step(&mut phases, "promote", &|| {
                gw.ok(&["promote"]);
                [p(&c3.borrow(), false, "v2")].into()
            });
            step(&mut phases, "canary 50 %", &|| {
                let c4 = deploy(
                    &gw,
                    &[
                        "--stage",
                        "prod",
                        "--canary",
                        "50",
                        "--canary-var",
                        "version=v3",
                    ],
                );
                [p(&c3.borrow(), false, "v2"), p(&c4, true, "v3")].into()
            });
            step(&mut phases, "rollback", &|| {
                gw.ok(&["rollback"]);
                [p(&c3.borrow(), false, "v2")].into()
            });
            std::thread::sleep(HOLD);
            phases
        })
    };
    let phases = changes.await.unwrap();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let answers = answers.lock().unwrap();

    // Zero failed requests.
    let failed: Vec<&String> = answers
        .iter()
        .filter_map(|a| a.served.as_ref().err())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed, e.g. {:?}",
        failed.len(),
        answers.len(),
        &failed[..failed.len().min(5)]
    );

    // Each answer matches a phase whose live window overlaps the request's own window.
    let overlaps = |ph: &Phase, a: &Answer| {
        ph.from.is_none_or(|f| f <= a.received) && ph.to.is_none_or(|t| t >= a.sent)
    };
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for a in answers.iter() {
        let served = a.served.as_ref().unwrap();
        let candidates: Vec<&Phase> = phases.iter().filter(|ph| overlaps(ph, a)).collect();
        assert!(
            candidates.iter().any(|ph| ph.live.contains(served)),
            "{served:?} was not live while the request was in flight; phases then: {:?}",
            candidates
                .iter()
                .map(|ph| (ph.name, &ph.live))
                .collect::<Vec<_>>()
        );
        for ph in &candidates {
            if ph.live.contains(served) {
                *seen.entry(ph.name).or_default() += 1;
            }
        }
    }
    // Not vacuous: every live (deployment, canary, variables) combination answered some request.
    let all_live: BTreeSet<&Served> = phases.iter().flat_map(|ph| ph.live.iter()).collect();
    let answered: BTreeSet<&Served> = answers
        .iter()
        .filter_map(|a| a.served.as_ref().ok())
        .collect();
    assert_eq!(all_live, answered, "some live deployment never answered");
    eprintln!(
        "{} requests from {CLIENTS} clients; answers per phase: {seen:?}",
        answers.len()
    );
}
