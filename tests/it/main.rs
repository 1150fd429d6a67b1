//! The integration tests, one binary (one link of wasmtime and SQLite instead of one per file).
//! Each module is one area; `cargo test --test it NAME` runs the tests whose path contains NAME
//! (e.g. `routing::` or `prop_import`). Shared helpers are in `common`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod aggregate;
mod api_keys;
mod authorizers;
mod binary;
mod canary;
mod cli_json;
mod cognito;
mod cors;
mod dashboard;
mod functions;
mod handlers;
mod http_abuse;
mod import_corpus;
mod import_snapshots;
mod lifecycle;
mod links;
mod management;
mod mapping_templates;
mod metrics;
mod nodes;
mod postgres;
mod prop_authorizer;
mod prop_import;
mod prop_patch;
mod prop_router;
mod prop_vtl;
mod ramp;
mod routing;
mod shutdown;
mod store_concurrency;
mod store_faults;
mod tls;
mod traffic;
mod upstream_chaos;
mod upstream_faults;
mod upstream_protocol;
mod validation;
mod wasm_runtime;
