//! The function registry: registering a WebAssembly function version (checked against Lambda's
//! limits and the two guest contracts, compiled into the on-disk cache before it is stored) and
//! the warning a deploy gives for functions its integrations call that are not registered.

use super::{invalid, Result};
use crate::model::{self, RestApi};
use crate::store::{self, Store, StoreError};
use std::collections::BTreeMap;

/// Lambda's rule for function names: letters, digits, `-` and `_`, at most 64 characters.
pub fn valid_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// An `--allow-http` entry: `HOST:PORT`, or a VPC link's name or id (no `:`, `/` or spaces;
/// the guest addresses it as `http://NAME/...`).
pub fn valid_allow_http(entry: &str) -> bool {
    if entry.contains(':') {
        return super::links::valid_target(entry);
    }
    !entry.is_empty()
        && entry.len() <= 253
        && entry
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

/// The `--allow-http` entries of `allowed` naming no link or link id `store` has: said as a
/// warning (the link may be created later; until then requests to it are refused).
pub fn unknown_links(store: &Store, allowed: &[String]) -> Result<Vec<String>> {
    let links = store.read(|tx| tx.vpc_links())?;
    Ok(allowed
        .iter()
        .filter(|e| !e.contains(':'))
        .filter(|e| {
            !links
                .iter()
                .any(|l| &l.id == *e || l.name.eq_ignore_ascii_case(e))
        })
        .cloned()
        .collect())
}

/// Largest `--concurrency` a function may ask for (the runtime's instance pool is
/// `wasm::MAX_CONCURRENT_INSTANCES`; beyond it invocations wait for a slot).
pub const MAX_CONCURRENCY: i64 = 1000;

/// Largest `--memory` a function may ask for, in MiB.
pub const MAX_FUNCTION_MEMORY_MB: i64 = (crate::wasm::MAX_MEMORY_BYTES >> 20) as i64;

/// Register `wasm` as a new version of function `name`: checked (WebAssembly, one of the two
/// contracts), compiled into the on-disk cache, stored; `$LATEST` moves to it.
pub fn put_function(
    store: &Store,
    name: &str,
    wasm: &[u8],
    memory_mb: i64,
    timeout_seconds: i64,
    environment: &BTreeMap<String, String>,
    settings: &store::FunctionSettings,
) -> Result<(store::FunctionVersion, crate::wasm::ContractKind)> {
    use sha2::Digest;
    if !valid_function_name(name) {
        return Err(invalid(format!(
            "function name {name:?} is invalid: use letters, digits, - and _ (at most 64 characters)"
        )));
    }
    if !(1..=MAX_FUNCTION_MEMORY_MB).contains(&memory_mb) {
        return Err(invalid(format!(
            "--memory {memory_mb} is out of range: use 1 to {MAX_FUNCTION_MEMORY_MB} (MiB)"
        )));
    }
    if !(1..=900).contains(&timeout_seconds) {
        return Err(invalid(format!(
            "--timeout {timeout_seconds} is out of range: use 1 to 900 (seconds), as Lambda does"
        )));
    }
    if let Some(c) = settings.concurrency {
        if !(1..=MAX_CONCURRENCY).contains(&c) {
            return Err(invalid(format!(
                "--concurrency {c} is out of range: use 1 to {MAX_CONCURRENCY} (invocations at once)"
            )));
        }
    }
    for entry in &settings.allow_http {
        if !valid_allow_http(entry) {
            return Err(invalid(format!(
                "--allow-http {entry:?} is invalid: give a VPC link's name or id, or HOST:PORT (e.g. api.example.com:443)"
            )));
        }
    }
    for k in environment.keys() {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            return Err(invalid(format!(
                "environment variable name {k:?} is invalid"
            )));
        }
    }
    let runtime = crate::wasm::Runtime::new(store.function_cache_dir())
        .map_err(|e| StoreError::Invalid(format!("cannot start the WebAssembly runtime: {e}")))?;
    let sha = hex::encode(sha2::Sha256::digest(wasm));
    let kind = runtime
        .classify_into_cache(&sha, wasm)
        .map_err(|e| invalid(format!("cannot use this file as function {name}: {e}")))?;
    let version = store.write(|tx| {
        tx.put_function(
            name,
            wasm,
            &sha,
            kind.as_str(),
            memory_mb,
            timeout_seconds,
            environment,
            settings,
        )
    })?;
    Ok((version, kind))
}

/// Warnings about functions a deployment calls that are not registered (names taken from stage
/// variables are resolved with `variables`).
pub fn missing_functions(
    store: &Store,
    api: &RestApi,
    variables: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let registered = store.read(|tx| tx.functions())?;
    let mut out = Vec::new();
    for (r, m) in api.routes() {
        let Some(i) = &m.method_integration else {
            continue;
        };
        if !matches!(
            i.kind,
            model::IntegrationType::AwsProxy | model::IntegrationType::Aws
        ) {
            continue;
        }
        let uri =
            crate::aws::uri::substitute_stage_variables(i.uri.as_deref().unwrap_or(""), variables);
        let Some(f) = crate::aws::uri::parse_function_uri(&uri) else {
            continue;
        };
        let found = registered.iter().any(|v| {
            v.name == f.name
                && match f.qualifier.as_deref() {
                    None | Some("$LATEST") => true,
                    Some(q) => q.parse::<i64>().is_ok_and(|n| n == v.version),
                }
        });
        if !found {
            let label = match &f.qualifier {
                Some(q) => format!("{}:{q}", f.name),
                None => f.name.clone(),
            };
            out.push(format!(
                "{} {} calls function {label}, which is not registered: it will answer 500 until `gw function put {} FILE.wasm`",
                m.http_method, r.path, f.name
            ));
        }
    }
    Ok(out)
}
