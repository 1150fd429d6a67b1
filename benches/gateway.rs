//! Data-plane micro-benchmarks: route matching at 10, 1,000 and 10,000 routes (the cost should
//! stay nearly flat), the canary choice, and building a Lambda proxy event.
//!
//! Run: `cargo bench --bench gateway`
#![allow(clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use gw::aws::lambda::{encode_event, EventInput, PayloadVersion};
use gw::control::import::{import, ImportOptions};
use gw::gateway::router::Router;
use std::collections::BTreeMap;

/// A spec with `n` routes spread over a realistic tree: `/svcK/items`, `/svcK/items/{id}`,
/// `/svcK/items/{id}/parts/{proxy+}`, ...
fn spec(n: usize) -> String {
    let mut s = String::from("openapi: 3.0.1\ninfo: {title: bench, version: '1'}\npaths:\n");
    let integration = "      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{\"statusCode\": 200}'}}\n";
    let mut count = 0;
    let mut k = 0;
    while count < n {
        for path in [
            format!("/svc{k}/items"),
            format!("/svc{k}/items/{{id}}"),
            format!("/svc{k}/items/{{id}}/parts"),
            format!("/svc{k}/items/{{id}}/parts/{{proxy+}}"),
        ] {
            if count == n {
                break;
            }
            s.push_str(&format!("  {path}:\n    get:\n      responses: {{'200': {{description: ok}}}}\n{integration}"));
            count += 1;
        }
        k += 1;
    }
    s
}

fn routing(c: &mut Criterion) {
    let mut group = c.benchmark_group("route_match");
    for n in [10usize, 1_000, 10_000] {
        let imported = import("bench.yaml", spec(n).as_bytes(), &ImportOptions::default())
            .expect("the generated spec imports");
        let api = imported.api;
        let router = Router::new(&api);
        // The last service in the tree, so nothing is found early by luck.
        let k = (n - 1) / 4;
        let path = format!("/svc{k}/items/42");
        assert!(router.find(&api, "GET", &path).is_some());
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                router
                    .find(black_box(&api), black_box("GET"), black_box(&path))
                    .is_some()
            })
        });
    }
    group.finish();
}

fn canary(c: &mut Criterion) {
    c.bench_function("canary_choose", |b| {
        let mut draw = 0.0f64;
        b.iter(|| {
            draw = (draw + 7.31) % 100.0;
            gw::gateway::canary::choose(black_box(10.0), black_box(draw))
        })
    });
}

fn lambda_event(c: &mut Criterion) {
    let mut headers = http::HeaderMap::new();
    for (k, v) in [
        ("host", "abc123.execute-api.localhost:4566"),
        ("user-agent", "curl/8.0"),
        ("accept", "application/json"),
        ("content-type", "application/json"),
        ("x-request-id", "7d6f3e"),
    ] {
        headers.insert(k, http::HeaderValue::from_static(v));
    }
    let vars: BTreeMap<String, String> =
        [("backend".to_string(), "127.0.0.1:8080".to_string())].into();
    let params = vec![("id".to_string(), "42".to_string())];
    let body = br#"{"name":"Rex","tag":"dog"}"#;
    for version in [PayloadVersion::V1, PayloadVersion::V2] {
        c.bench_function(&format!("lambda_event_{}", version.as_str()), |b| {
            b.iter(|| {
                let input = EventInput {
                    payload_version: version,
                    http_method: "POST",
                    route_method: "POST",
                    path: "/pets/42",
                    resource_path: "/pets/{id}",
                    resource_id: "x7k2p9",
                    headers: &headers,
                    raw_query: Some("limit=10&tag=dog&tag=cat"),
                    path_parameters: &params,
                    stage_variables: &vars,
                    body,
                    body_is_binary: false,
                    api_id: "a1b2c3d4e5",
                    stage: "prod",
                    deployment_id: "d1e2f3",
                    request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                    extended_request_id: "c6af9ac67b6111e=",
                    source_ip: "127.0.0.1",
                    domain_name: "abc123.execute-api.localhost",
                    protocol: "HTTP/1.1",
                    request_time_epoch_ms: 1_795_742_400_000,
                    account_id: "000000000000",
                    authorizer: None,
                    client_cert: None,
                    scheme: "http",
                    port: 4566,
                };
                encode_event(black_box(&input)).len()
            })
        });
    }
}

criterion_group!(benches, routing, canary, lambda_event);
criterion_main!(benches);
