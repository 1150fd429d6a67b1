//! WebAssembly function cost: one `Runtime::invoke_lambda` of the `hello` guest, i.e. take a pool
//! slot, build a fresh store, instantiate from the pre-instantiated template, run `main` on a real
//! payload 1.0 event, collect stdout, drop the store. Both builds of the same source: the
//! wasm32-wasip1 core module and the wasm32-wasip2 component.
//!
//! The guest's stderr line is captured either way; with no tracing subscriber installed (as here)
//! forwarding it to the log costs next to nothing, so this is the runtime's cost alone. What the
//! log line costs a real server is measured by `scripts/bench-wasm.sh` (GW_LOG=info vs warn).
//!
//! Run: `scripts/build-functions.sh && cargo bench --bench wasm`
//! Target (2-core dev box): median < 50 µs per instantiate+call.
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use gw::aws::lambda::{encode_event, EventInput, PayloadVersion};
use gw::wasm::{Limits, Runtime};
use sha2::{Digest, Sha256};

fn guest(target: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(target)
        .join("release/hello.wasm");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the guests first: scripts/build-functions.sh",
            path.display()
        )
    })
}

/// The event `gw serve` would build for `GET /prod/hello?name=bench`.
fn event() -> Vec<u8> {
    let mut headers = http::HeaderMap::new();
    for (k, v) in [
        ("host", "a1b2c3d4e5.execute-api.localhost:4566"),
        ("user-agent", "wrk"),
        ("accept", "*/*"),
    ] {
        headers.insert(k, http::HeaderValue::from_static(v));
    }
    let vars = BTreeMap::from([("helloVersion".to_string(), "1".to_string())]);
    let input = EventInput {
        payload_version: PayloadVersion::V1,
        http_method: "GET",
        route_method: "GET",
        path: "/hello",
        resource_path: "/hello",
        resource_id: "x7k2p9",
        headers: &headers,
        raw_query: Some("name=bench"),
        path_parameters: &[],
        stage_variables: &vars,
        body: b"",
        body_is_binary: false,
        api_id: "a1b2c3d4e5",
        stage: "prod",
        deployment_id: "d1e2f3",
        request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        extended_request_id: "c6af9ac67b6111e=",
        source_ip: "127.0.0.1",
        domain_name: "a1b2c3d4e5.execute-api.localhost:4566",
        protocol: "HTTP/1.1",
        request_time_epoch_ms: 1_795_742_400_000,
        account_id: "000000000000",
        authorizer: None,
        client_cert: None,
        scheme: "http",
        port: 4566,
    };
    encode_event(&input)
}

fn invoke(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("a temporary cache directory");
    let runtime = Runtime::new(cache.path().to_owned()).expect("the engine starts");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let event = event();
    let env = vec![("GREETING".to_string(), "bench".to_string())];
    let limits = Limits {
        memory_bytes: 128 << 20,
        timeout: Duration::from_secs(29),
        ..Limits::default()
    };

    let mut group = c.benchmark_group("wasm_invoke_hello");
    for (name, target) in [("p1", "wasm32-wasip1"), ("p2", "wasm32-wasip2")] {
        let wasm = guest(target);
        let sha = hex::encode(Sha256::digest(&wasm));
        let loaded = runtime
            .load(&format!("hello-{name}:1"), &sha, &wasm)
            .expect("hello loads");
        // Sanity: the guest really answers.
        let out = rt
            .block_on(runtime.invoke_lambda(&loaded, event.clone(), &env, &limits, "bench"))
            .expect("hello answers");
        assert!(String::from_utf8_lossy(&out).contains("hello, bench"));

        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(runtime.invoke_lambda(&loaded, event.clone(), &env, &limits, "bench"))
                    .expect("hello answers")
                    .len()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = invoke
}
criterion_main!(benches);
