//! Import of the largest corpus spec: Stripe's 4 MB OpenAPI 3.0 document (318 paths, 468
//! operations), parse + model build. The budget is under a second in a release build.
//!
//! Run: `cargo bench --bench import` (reads `../shared/corpus/specs/` at run time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use gw::import::{import, ImportOptions};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

fn stripe_bytes() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/specs/stripe-spec3-2023-09.yaml");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// As published, Stripe names sibling path variables differently (`/v1/application_fees/{id}` next
/// to `/v1/application_fees/{fee}/refunds`), which API Gateway (and gw) rejects partway through the
/// build. Renaming them to one name per level makes all 468 operations import, so the benchmark
/// covers the whole model build.
fn unify_sibling_path_variables(bytes: &[u8]) -> String {
    let mut root: Value = serde_yaml::from_slice(bytes).unwrap();
    let paths = root["paths"].as_object_mut().unwrap();
    let mut chosen: HashMap<String, String> = HashMap::new();
    for (path, item) in std::mem::take(paths) {
        let mut out = String::new();
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            let seg = if seg.starts_with('{') {
                chosen
                    .entry(out.clone())
                    .or_insert_with(|| seg.to_string())
                    .clone()
            } else {
                seg.to_string()
            };
            out.push('/');
            out.push_str(&seg);
        }
        paths.insert(out, item);
    }
    serde_yaml::to_string(&root).unwrap()
}

fn stripe(c: &mut Criterion) {
    let published = stripe_bytes();
    let importable = unify_sibling_path_variables(&published);
    let options = ImportOptions::default();
    let imported = import("stripe.yaml", importable.as_bytes(), &options).unwrap();
    assert_eq!(imported.api.method_count(), 468);

    let mut group = c.benchmark_group("import");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("stripe_4mb_468_methods", |b| {
        b.iter(|| import("stripe.yaml", black_box(importable.as_bytes()), &options).unwrap())
    });
    group.bench_function("stripe_as_published_rejected", |b| {
        b.iter(|| import("stripe.yaml", black_box(&published), &options).unwrap_err())
    });
    group.finish();
}

criterion_group!(benches, stripe);
criterion_main!(benches);
