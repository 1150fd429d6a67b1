//! WebAssembly functions: `function put | delete` and the `functions` listing.

use super::{parse_kv, store, JsonFlag};
use crate::output::{date, print_json, Table};
use anyhow::{Context, Result};
use clap::Subcommand;
use gw::control;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum FunctionCommand {
    /// Add a new version of a function from a .wasm file ($LATEST moves to it).
    Put {
        /// The function's name (the NAME of the spec's `...:function:NAME` Lambda ARNs).
        name: String,
        /// The .wasm file: a WASI program (event on stdin, response on stdout) or a wasi:http/proxy
        /// component.
        file: PathBuf,
        /// Memory limit per invocation, MiB.
        #[arg(long, default_value_t = 128)]
        memory: i64,
        /// Time limit per invocation, seconds (the integration's timeoutInMillis may be shorter).
        #[arg(long, default_value_t = 29)]
        timeout: i64,
        /// Environment variable K=V given to the function (repeatable).
        #[arg(long = "env", value_name = "K=V")]
        env: Vec<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete a function and all its versions.
    Delete {
        /// The function's name.
        name: String,
    },
}

pub fn function_command(state: &Option<PathBuf>, cmd: FunctionCommand) -> Result<()> {
    let store = store(state)?;
    match cmd {
        FunctionCommand::Put {
            name,
            file,
            memory,
            timeout,
            env,
            json,
        } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read {}; check the path", file.display()))?;
            let env = parse_kv(&env, "--env")?;
            let (v, kind) = control::put_function(&store, &name, &bytes, memory, timeout, &env)?;
            if json.json {
                return print_json(&v);
            }
            outln!(
                "function {}:{} ({kind}, {} bytes) registered; $LATEST -> {}",
                v.name,
                v.version,
                v.size,
                v.version
            );
        }
        FunctionCommand::Delete { name } => {
            let n = store.write(|tx| tx.delete_function(&name))?;
            outln!("deleted function {name} ({n} version(s))");
        }
    }
    Ok(())
}

pub fn functions(state: &Option<PathBuf>, json: JsonFlag) -> Result<()> {
    let list = store(state)?.read(|tx| tx.functions())?;
    if json.json {
        return print_json(&serde_json::json!({ "item": list }));
    }
    let mut latest: BTreeMap<&str, i64> = BTreeMap::new();
    for f in &list {
        let e = latest.entry(f.name.as_str()).or_default();
        *e = (*e).max(f.version);
    }
    let mut t = Table::new(&[
        "NAME", "VERSION", "KIND", "SIZE", "MEMORY", "TIMEOUT", "CREATED",
    ]);
    for f in &list {
        let kind = f
            .kind
            .parse::<gw::wasm::ContractKind>()
            .map(|k| k.to_string())
            .unwrap_or_else(|_| f.kind.clone());
        let version = if latest.get(f.name.as_str()) == Some(&f.version) {
            format!("{} ($LATEST)", f.version)
        } else {
            f.version.to_string()
        };
        t.row(vec![
            f.name.clone(),
            version,
            kind,
            format!("{} KiB", (f.size + 1023) / 1024),
            format!("{} MiB", f.memory_mb),
            format!("{} s", f.timeout_seconds),
            date(f.created_date),
        ]);
    }
    if t.is_empty() {
        outln!("no functions yet: add one with `gw function put NAME FILE.wasm`");
    } else {
        out!("{t}");
    }
    Ok(())
}
