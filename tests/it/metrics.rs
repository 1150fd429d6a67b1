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
