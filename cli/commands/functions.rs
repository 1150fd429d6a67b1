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
        /// The .wasm file: a handler-world component (wit/handler.wit), a WASI program (event on
        /// stdin, response on stdout) or a wasi:http/proxy component. Leave it out to build from
        /// source with --runtime, --handler and --code.
        #[arg(required_unless_present = "code", conflicts_with = "code")]
        file: Option<PathBuf>,
        /// Build from source: python3.12 (any python3.x) or nodejs20.x (any nodejsN.x).
        #[arg(long, requires = "code")]
        runtime: Option<String>,
        /// Build from source: the handler as Lambda names it, MODULE.FUNCTION (app.handler for
        /// handler() in app.py, index.handler for index.mjs).
        #[arg(long, requires = "code")]
        handler: Option<String>,
        /// Build from source: the directory of the function's code (its vendored pure-Python
        /// packages or node_modules included).
        #[arg(long, requires_all = ["runtime", "handler"])]
        code: Option<PathBuf>,
        /// Memory limit per invocation, MiB.
        #[arg(long, default_value_t = 128)]
        memory: i64,
        /// Time limit per invocation, seconds (the integration's timeoutInMillis may be shorter).
        #[arg(long, default_value_t = 29)]
        timeout: i64,
        /// Environment variable K=V given to the function (repeatable).
        #[arg(long = "env", value_name = "K=V")]
        env: Vec<String>,
        /// Handler-world functions: most invocations running at once, each in its own warm
        /// environment (like Lambda's reserved concurrency; default 10). Beyond it a request
        /// waits up to 1 s, then is throttled (429).
        #[arg(long)]
        concurrency: Option<i64>,
        /// Let the function make outgoing HTTP requests (wasi:http/outgoing-handler) to a VPC
        /// link, addressed as http://LINK/..., or to HOST:PORT (repeatable). Everything else is
        /// refused inside the sandbox. Default: no outgoing requests.
        #[arg(long = "allow-http", value_name = "LINK|HOST:PORT")]
        allow_http: Vec<String>,
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
            runtime,
            handler,
            code,
            memory,
            timeout,
            env,
            concurrency,
            allow_http,
            json,
        } => {
            let env = parse_kv(&env, "--env")?;
            let (bytes, built) = match (&file, &code, &runtime, &handler) {
                (Some(file), ..) => (
                    std::fs::read(file).with_context(|| {
                        format!("cannot read {}; check the path", file.display())
                    })?,
                    None,
                ),
                (None, Some(code), Some(runtime), Some(handler)) => {
                    let built =
                        control::build::build(runtime, handler, code, &mut |note: &str| {
                            eprintln!("gw: {note}")
                        })?;
                    if !built.cached {
                        eprintln!(
                            "gw: built {} KiB in {:.1} s (cached for the next put of the same code)",
                            built.wasm.len() / 1024,
                            built.seconds
                        );
                    }
                    (built.wasm, Some((runtime.clone(), handler.clone())))
                }
                _ => anyhow::bail!(
                    "give a .wasm file, or --runtime, --handler and --code to build from source"
                ),
            };
            let settings = gw::store::FunctionSettings {
                concurrency,
                runtime: built.as_ref().map(|b| b.0.clone()),
                handler: built.map(|b| b.1),
                allow_http,
            };
            let (v, kind) =
                control::put_function(&store, &name, &bytes, memory, timeout, &env, &settings)?;
            if concurrency.is_some() && kind != gw::wasm::ContractKind::Handler {
                eprintln!(
                    "gw: warning: --concurrency applies to handler-world functions only; {kind} functions start a fresh instance per request"
                );
            }
            for link in control::unknown_links(&store, &settings.allow_http)? {
                eprintln!(
                    "gw: warning: --allow-http {link}: no VPC link has this name or id yet; requests to http://{link}/ are refused until one does (gw vpc-link create {link} --target HOST:PORT)"
                );
            }
            if !settings.allow_http.is_empty() && kind == gw::wasm::ContractKind::LambdaCommandP1 {
                eprintln!(
                    "gw: warning: --allow-http applies to component functions (wasm32-wasip2); a {kind} function cannot make HTTP requests"
                );
            }
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
        "NAME",
        "VERSION",
        "KIND",
        "SIZE",
        "MEMORY",
        "TIMEOUT",
        "ALLOW HTTP",
        "CREATED",
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
            if f.allow_http.is_empty() {
                "-".into()
            } else {
                f.allow_http.join(",")
            },
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

/// `gw logs FUNCTION [--follow]`: the function's log as Lambda writes it (START, the function's
/// output, END, REPORT per invocation), from every server on this state directory.
pub fn logs(state: &Option<PathBuf>, name: &str, follow: bool) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let store = store(state)?;
    if !control::valid_function_name(name) {
        anyhow::bail!("function name {name:?} is invalid: use letters, digits, - and _");
    }
    let known = store.read(|tx| tx.function(name, None))?.is_some();
    let path = gw::wasm::logs::log_path(&store.function_log_dir(), name);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !known {
                anyhow::bail!("no function named {name:?}; `gw functions` lists them");
            }
            if !follow {
                eprintln!("function {name} has no log yet: it has not been invoked by `gw serve` on this state directory");
                return Ok(());
            }
            None
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut out = std::io::stdout().lock();
    let mut pos = 0u64;
    loop {
        if file.is_none() {
            file = std::fs::File::open(&path).ok();
        }
        if let Some(f) = file.as_mut() {
            // A log shorter than what was read was truncated or replaced: read it from the start.
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            if len < pos {
                pos = 0;
            }
            f.seek(SeekFrom::Start(pos))?;
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)?;
            pos += buf.len() as u64;
            out.write_all(&buf)?;
            out.flush()?;
        }
        if !follow {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}
