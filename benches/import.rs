//! Import of the largest corpus spec: Stripe's 4 MB OpenAPI 3.0 document (318 paths, 468
//! operations), parse + model build. The budget is under a second in a release build.
//!
//! Run: `cargo bench --bench import` (reads `../shared/corpus/specs/` at run time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use gw::control::import::{import, ImportOptions};
use serde_json::Value;

#[path = "../tests/it/common/stripe.rs"]
mod stripe;

use std::path::PathBuf;
use std::time::Duration;

fn stripe_bytes() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/specs/stripe-spec3-2023-09.yaml");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn stripe(c: &mut Criterion) {
    let published = stripe_bytes();
    let mut root: Value = serde_yaml::from_slice(&published).unwrap();
    stripe::unify_sibling_path_variables(&mut root);
    let importable = serde_yaml::to_string(&root).unwrap();
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
