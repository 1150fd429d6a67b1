//! Handler-world functions (`wit/handler.wit`) through the real `gw serve`: warm execution
//! environments (globals survive, `init` once, Init Duration only on cold starts), hostile guests
//! recycling only their own environment, the concurrency limit, and the function log.
//!
//! Needs the guests: run `scripts/build-functions.sh` first.

mod languages;
mod non_proxy;
mod warm;

use crate::common::{self, Gw};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The Lambda ARN integration URI for `function`.
pub fn lambda_uri(function: &str) -> String {
    format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/\
         arn:aws:lambda:us-east-1:123456789012:function:{function}/invocations"
    )
}

/// An API with one GET AWS_PROXY route per `(path, function, timeout ms)`.
pub fn proxy_spec(title: &str, routes: &[(&str, &str, u64)]) -> Value {
    let mut paths = serde_json::Map::new();
    for (path, function, timeout) in routes {
        paths.insert(
            (*path).to_owned(),
            json!({"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "aws_proxy",
                    "httpMethod": "POST",
                    "uri": lambda_uri(function),
                    "timeoutInMillis": timeout,
                },
            }}),
        );
    }
    json!({"openapi": "3.0.1", "info": {"title": title, "version": "1"}, "paths": paths})
}

/// A state directory with `function` registered from guest `wasm` (extra `put` arguments in
/// `put`) behind `/prod/f`, deployed.
pub fn setup(function: &str, wasm: &str, put: &[&str], timeout_ms: u64) -> Gw {
    let gw = Gw::new();
    gw.import_spec(
        "handlers.json",
        &proxy_spec("handlers", &[("/f", function, timeout_ms)]),
    );
    let file: PathBuf = common::guest(wasm);
    let mut args = vec!["function", "put", function, file.to_str().unwrap()];
    args.extend_from_slice(put);
    gw.ok(&args);
    gw.ok(&["deploy", "--stage", "prod"]);
    gw
}
