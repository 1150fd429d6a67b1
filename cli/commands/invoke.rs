//! `invoke`: one request through the real server, started on a free loopback port for the
//! occasion, without a running `gw serve` (for scripts and tests).

use super::{store, ApiFlag};
use crate::output::emit_bytes;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct InvokeArgs {
    /// The path after the stage, e.g. /pets/1?limit=2.
    path: String,
    #[command(flatten)]
    api: ApiFlag,
    /// The stage to call.
    #[arg(long)]
    stage: String,
    /// The request's method.
    #[arg(long, short = 'X', default_value = "GET")]
    method: String,
    /// Request header NAME:VALUE (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE")]
    headers: Vec<String>,
    /// Request body.
    #[arg(long, short = 'd')]
    data: Option<String>,
    /// Force the canary (or, with --production, production) instead of the random draw.
    #[arg(long, conflicts_with = "production")]
    canary: bool,
    /// Force production instead of the random draw.
    #[arg(long)]
    production: bool,
    /// Print the status line and headers before the body.
    #[arg(long, short = 'i')]
    include: bool,
}

/// Start the real server on a free loopback port, send one request through it, print the answer.
/// A status other than 2xx or 3xx ends the program with exit code 22 (as `curl --fail`).
pub fn invoke(state: &Option<PathBuf>, args: InvokeArgs) -> Result<()> {
    use http_body_util::BodyExt;
    let store = store(state)?;
    let api = store.read(|tx| tx.resolve_api(args.api.api.as_deref()))?;
    let path = if args.path.starts_with('/') {
        args.path.clone()
    } else {
        format!("/{}", args.path)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(gw::server::run(
            listener,
            store,
            gw::server::Config {
                announce: false,
                ..Default::default()
            },
            async {
                let _ = stopped.await;
            },
        ));
        let url = format!(
            "http://{addr}/_aws/execute-api/{}/{}{path}",
            api.id, args.stage
        );
        let mut req = http::Request::builder()
            .method(args.method.as_str())
            .uri(&url);
        for h in &args.headers {
            let Some((k, v)) = h.split_once(':') else {
                bail!("--header {h:?} is not NAME:VALUE");
            };
            req = req.header(k.trim(), v.trim());
        }
        if args.canary {
            req = req.header(gw::gateway::dispatch::TARGET_HEADER, "canary");
        } else if args.production {
            req = req.header(gw::gateway::dispatch::TARGET_HEADER, "production");
        }
        let body = gw::net::body::full(args.data.clone().unwrap_or_default());
        let req = req
            .body(body)
            .with_context(|| format!("invalid request {} {path}", args.method))?;
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<gw::net::body::Body>();
        let resp = client.request(req).await.context("the request failed")?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .context("reading the response")?
            .to_bytes();
        if args.include {
            outln!("HTTP/1.1 {}", parts.status);
            for (k, v) in &parts.headers {
                outln!("{k}: {}", v.to_str().unwrap_or("<binary>"));
            }
            outln!();
        }
        emit_bytes(&body);
        if !body.ends_with(b"\n") {
            outln!();
        }
        let _ = stop.send(());
        let _ = server.await;
        if !parts.status.is_success() && !parts.status.is_redirection() {
            std::process::exit(22);
        }
        Ok(())
    })
}
