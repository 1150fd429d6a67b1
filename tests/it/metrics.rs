//! Live metrics through the real server: a known number of requests on each side of a canary,
//! read back from `/_gw/metrics` by a real Prometheus text parser (Python's `prometheus_client`)
//! and from `/_gw/stats`, exactly.

use crate::common::{self, client, get, send, Gw};
use bytes::Bytes;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

/// The samples of an OpenMetrics text, as `[name, labels, value]`, parsed by
/// `prometheus_client.openmetrics.parser` in the repo's venv.
pub fn parse_openmetrics(text: &str) -> Vec<(String, serde_json::Map<String, Value>, f64)> {
    let python = common::root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-python.sh",
        python.display()
    );
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused gw's metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<(String, serde_json::Map<String, Value>, f64)> =
        serde_json::from_slice(&out.stdout).unwrap();
    v
}

/// The sum of the samples named `name` whose labels include every pair of `want`.
pub fn sum(
    samples: &[(String, serde_json::Map<String, Value>, f64)],
    name: &str,
    want: &[(&str, &str)],
) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.get(*k).and_then(Value::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

pub fn canary_spec(backend: &str) -> Value {
    json!({
        "openapi": "3.0.1",
        "info": {"title": "metrics", "version": "1"},
        "paths": {
            "/m": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "ok"}}}
                }
            }},
            "/down": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "http_proxy", "httpMethod": "GET", "uri": format!("http://{backend}/x")
                }
            }}
        }
    })
}

/// An address nothing listens on.
pub fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_request_of_each_side_exactly() {
    let gw = Gw::new();
    gw.import_spec("metrics.json", &canary_spec(&closed_port()));
    gw.ok(&["deploy", "--stage", "prod"]);
    gw.ok(&["deploy", "--stage", "prod", "--canary", "25"]);
    let stages: Value = serde_json::from_str(&gw.ok(&["stages", "--json"])).unwrap();
    let production = stages["item"][0]["deploymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let canary = stages["item"][0]["canarySettings"]["deploymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = gw.serve(&[]);
    let c = client();
    let (n_production, n_canary, n_down) = (37, 23, 4);
    for (side, n) in [("production", n_production), ("canary", n_canary)] {
        for _ in 0..n {
            let r = send(
                &c,
                "GET",
                &server.url("/prod/m"),
                &[("x-gw-target", side)],
                Bytes::new(),
            )
            .await;
            assert_eq!(r.status, 200);
        }
    }
    for _ in 0..n_down {
        let r = send(
            &c,
            "GET",
            &server.url("/prod/down"),
            &[("x-gw-target", "production")],
            Bytes::new(),
        )
        .await;
        assert_eq!(r.status, 500);
    }
    // Requests outside any stage are not a deployment's: not counted.
    assert_eq!(get(&c, &server.url("/nostage")).await.status, 404);

    let r = get(&c, &server.url("/_gw/metrics")).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        r.header("content-type")
    );
    let samples = parse_openmetrics(&r.text());
    let requests = |want: &[(&str, &str)]| sum(&samples, "gw_requests_total", want);
    assert_eq!(
        requests(&[
            ("side", "production"),
            ("resource", "/m"),
            ("status", "200")
        ]),
        n_production as f64
    );
    assert_eq!(
        requests(&[
            ("side", "canary"),
            ("deployment", &canary),
            ("class", "2xx")
        ]),
        n_canary as f64
    );
    assert_eq!(
        requests(&[
            ("side", "production"),
            ("deployment", &production),
            ("resource", "/down"),
            ("class", "5xx")
        ]),
        n_down as f64
    );
    assert_eq!(requests(&[]), (n_production + n_canary + n_down) as f64);
    assert_eq!(
        sum(
            &samples,
            "gw_request_duration_seconds_count",
            &[("side", "canary")]
        ),
        n_canary as f64
    );
    assert_eq!(
        sum(
            &samples,
            "gw_request_duration_seconds_bucket",
            &[("side", "canary"), ("le", "+Inf")]
        ),
        n_canary as f64
    );
    assert_eq!(
        sum(&samples, "gw_integration_duration_seconds_count", &[]),
        (n_production + n_canary + n_down) as f64
    );
    assert_eq!(
        sum(
            &samples,
            "gw_upstream_connect_errors_total",
            &[("resource", "/down")]
        ),
        n_down as f64
    );
    assert_eq!(
        sum(
            &samples,
            "gw_canary_percent",
            &[("stage", "prod"), ("deployment", &canary)]
        ),
        25.0
    );

    // The same figures as JSON, per canary epoch, for `gw canary status`.
    let stats = get(&c, &server.url("/_gw/stats")).await.json();
    let counted: u64 = stats["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["labels"]["epoch"] == canary.as_str())
        .flat_map(|s| s["counts"]["statuses"].as_array().unwrap().clone())
        .map(|p| p[1].as_u64().unwrap())
        .sum();
    assert_eq!(counted, (n_production + n_canary + n_down) as u64);
    assert_eq!(stats["stages"][0]["percent"], 25.0);
}

/// `gw canary status --json` counts exactly the requests each side answered since the canary
/// started (a new canary starts from zero), and `gw promote --check` refuses a canary over a
/// gate — printing the figures beside the gates, changing nothing — and promotes one under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_status_and_gated_promotion() {
    let gw = Gw::new();
    gw.import_spec("metrics.json", &canary_spec(&closed_port()));
    gw.ok(&["deploy", "--stage", "prod"]);
    gw.ok(&["deploy", "--stage", "prod", "--canary", "10"]);
    let server = gw.serve(&[]);
    let c = client();
    let hit = |side: &'static str, path: &'static str| {
        let url = server.url(path);
        let c = c.clone();
        async move {
            send(&c, "GET", &url, &[("x-gw-target", side)], Bytes::new())
                .await
                .status
        }
    };
    // Production before the canary's numbers count: 11 on the production side (all since the
    // canary started), then a canary answering 5xx on 6 of 20.
    for _ in 0..11 {
        assert_eq!(hit("production", "/prod/m").await, 200);
    }
    for _ in 0..14 {
        assert_eq!(hit("canary", "/prod/m").await, 200);
    }
    for _ in 0..6 {
        assert_eq!(hit("canary", "/prod/down").await, 500);
    }
    let status: Value = serde_json::from_str(&gw.ok(&["canary", "status", "--json"])).unwrap();
    assert_eq!(status["stage"], "prod");
    assert_eq!(status["percent"], 10.0);
    assert_eq!(status["production"]["requests"], 11);
    assert_eq!(status["production"]["errors5xx"], 0);
    assert_eq!(status["canary"]["requests"], 20);
    assert_eq!(status["canary"]["errors5xx"], 6);
    assert!((status["canary"]["errorRate"].as_f64().unwrap() - 0.3).abs() < 1e-9);
    for key in ["p50Ms", "p95Ms", "p99Ms"] {
        assert!(status["canary"][key].as_f64().unwrap() > 0.0, "{status}");
    }
    let canary = status["canary"]["deployment"].as_str().unwrap().to_owned();
    let table = gw.ok(&["canary", "status"]);
    assert!(table.contains("30.00 %"), "{table}");

    // Over the gate: refused, figures beside the gates, nothing changed.
    let out = gw.run(&[
        "promote",
        "--check",
        "--max-error-rate",
        "1",
        "--min-requests",
        "10",
    ]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("FAIL max-error-rate: 30.00 % (6 of 20 answered 5xx), at most 1 %"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pass min-requests: 20 requests, at least 10"),
        "{stdout}"
    );
    assert!(stderr.contains("not promoted"), "{stderr}");
    let stages: Value = serde_json::from_str(&gw.ok(&["stages", "--json"])).unwrap();
    assert_eq!(
        stages["item"][0]["canarySettings"]["deploymentId"],
        canary.as_str()
    );
    // A gate needs --check, and --check needs a gate.
    assert!(gw
        .fails(&["promote", "--max-error-rate", "1"])
        .contains("--check"));
    assert!(gw
        .fails(&["promote", "--check"])
        .contains("at least one gate"));

    // A new canary starts from zero and, healthy, passes.
    gw.ok(&["rollback"]);
    gw.ok(&["deploy", "--stage", "prod", "--canary", "10"]);
    let fresh: Value = serde_json::from_str(&gw.ok(&["canary", "status", "--json"])).unwrap();
    assert_eq!(fresh["canary"]["requests"], 0);
    assert_eq!(fresh["production"]["requests"], 0);
    for _ in 0..12 {
        assert_eq!(hit("canary", "/prod/m").await, 200);
    }
    let out = gw.ok(&[
        "promote",
        "--check",
        "--max-error-rate",
        "1",
        "--min-requests",
        "10",
        "--max-p99",
        "5s",
    ]);
    assert!(
        out.contains("pass max-error-rate: 0.00 % (0 of 12 answered 5xx)"),
        "{out}"
    );
    assert!(out.contains("promoted"), "{out}");
    let stages: Value = serde_json::from_str(&gw.ok(&["stages", "--json"])).unwrap();
    assert!(stages["item"][0]["canarySettings"].is_null(), "{stages}");
}

/// One span per request names the API, stage, deployment, side and request id
/// (`RUST_LOG=gw=debug`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_has_a_span_with_its_side() {
    let gw = Gw::new();
    gw.import_spec("metrics.json", &canary_spec(&closed_port()));
    gw.ok(&["deploy", "--stage", "prod"]);
    gw.ok(&["deploy", "--stage", "prod", "--canary", "50"]);
    let server = gw.serve_with_env(&[], &[("RUST_LOG", "gw=debug")]);
    let c = client();
    let r = send(
        &c,
        "GET",
        &server.url("/prod/m"),
        &[("x-gw-target", "canary")],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200);
    let request_id = r.header("x-amzn-requestid").unwrap().to_owned();
    let deployment = r.header("x-gw-deployment").unwrap().to_owned();
    let wanted = format!("deployment={deployment} side=\"canary\" request_id={request_id}");
    let mut log = String::new();
    for _ in 0..100 {
        log = server.log();
        if log.contains(&wanted) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(log.contains(&wanted), "no span with {wanted:?} in:\n{log}");
    assert!(log.contains("stage=prod"), "{log}");
}
