//! The long-running commands: `serve`, `demo` (set up the bundled demo API, then serve) and
//! `demo backend` (only the demo's pet backend, for the README's loop).

use super::store;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the CLI prints URLs with the one chosen).
    #[arg(long, default_value = "127.0.0.1:4566")]
    listen: String,
    /// Do not add the x-gw-deployment / x-gw-canary / x-gw-function-version response headers.
    #[arg(long)]
    no_deployment_header: bool,
    /// Management API calls (AWS CLI, boto3, Terraform) must be SigV4-signed with this key pair;
    /// by default any credentials are accepted.
    #[arg(long, value_name = "ACCESS_KEY:SECRET", env = "GW_REQUIRE_SIGV4")]
    require_sigv4: Option<String>,
    /// Append the access-log lines of stages with accessLogSettings to FILE instead of
    /// standard output.
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
    /// Do not count requests (/_gw/metrics, gw canary status and --check see nothing from this
    /// server).
    #[arg(long)]
    no_metrics: bool,
}

#[derive(Args)]
pub struct DemoArgs {
    #[command(subcommand)]
    command: Option<DemoCommand>,
    #[command(flatten)]
    serve: ServeArgs,
    /// Directory holding the built example functions (hello.wasm, echo.wasm, authorizer.wasm).
    #[arg(long, value_name = "DIR")]
    functions: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum DemoCommand {
    /// Serve only the demo's pet backend (the HTTP service specs/petstore.yaml proxies to).
    ///
    /// GET /VERSION/pets and /VERSION/pets/ID answer JSON naming VERSION, so production and canary
    /// (stage variable `version`) are told apart. specs/demo.yaml proxies to the same service.
    Backend {
        /// Address to listen on (the stage variable `backend` of the README's loop).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
}

pub fn serve(state: &Option<PathBuf>, args: ServeArgs) -> Result<()> {
    run_server(state, args, None)
}

pub fn demo(state: &Option<PathBuf>, args: DemoArgs) -> Result<()> {
    match args.command {
        Some(DemoCommand::Backend { listen }) => demo_backend(&listen),
        None => run_server(state, args.serve, Some(args.functions)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Binds `listen`, or says why not and what to do; `in_use` is the likely cause of a port taken.
async fn bind(listen: &str, in_use: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
                "cannot listen on {listen}: the address is in use; {in_use} choose another with --listen 127.0.0.1:PORT"
            ),
            _ => anyhow::anyhow!(
                "cannot listen on {listen}: {e}; give a local address and port such as --listen 127.0.0.1:4566"
            ),
        })
}

/// `demo`: `Some(functions dir)` to set up the demo API first.
fn run_server(
    state: &Option<PathBuf>,
    args: ServeArgs,
    demo: Option<Option<PathBuf>>,
) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GW_LOG")
                .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("RUST_LOG"))
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("gw=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let store = store(state)?;
    let require_sigv4 = match &args.require_sigv4 {
        None => None,
        Some(pair) => match pair.split_once(':') {
            Some((key, secret)) if !key.is_empty() && !secret.is_empty() => {
                Some((key.to_string(), secret.to_string()))
            }
            _ => bail!(
                "--require-sigv4 {pair:?} is not ACCESS_KEY:SECRET; write it as e.g. --require-sigv4 AKIDLOCAL:localsecret"
            ),
        },
    };
    runtime()?.block_on(async move {
        let listener = bind(&args.listen, "is another gw (or LocalStack) running?").await?;
        if let Some(functions) = &demo {
            gw::demo::prepare(&store, &listener, functions.as_deref()).await?;
        }
        let config = gw::server::Config {
            deployment_header: !args.no_deployment_header,
            require_sigv4,
            access_log: match &args.access_log {
                Some(path) => gw::gateway::access_log::Sink::File(path.clone()),
                None => gw::gateway::access_log::Sink::Stdout,
            },
            metrics: !args.no_metrics,
            ..Default::default()
        };
        gw::server::run(listener, store, config, gw::server::shutdown_signal()).await?;
        Ok(())
    })
}

/// `demo backend`: the pet backend alone, until Ctrl-C.
fn demo_backend(listen: &str) -> Result<()> {
    runtime()?.block_on(async move {
        let listener = bind(listen, "is the backend already running?").await?;
        let addr = listener.local_addr()?;
        eprintln!(
            "demo pet backend on http://{addr} (stage variable backend={addr}); try curl http://{addr}/v1/pets; Ctrl-C stops it"
        );
        tokio::select! {
            () = gw::demo::serve_backend(listener) => {}
            () = gw::server::shutdown_signal() => {}
        }
        Ok(())
    })
}
