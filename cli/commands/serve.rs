//! The long-running commands: `serve`, `demo` (set up the bundled demo API, then serve) and
//! `demo backend` (only the demo's pet backend, for the README's loop).

use super::store;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the CLI prints URLs with the one chosen);
    /// `off` serves HTTPS only (with --tls-listen).
    #[arg(long, default_value = "127.0.0.1:4566")]
    listen: String,
    /// Also serve HTTPS on this address (TLS 1.2/1.3, HTTP/2 or HTTP/1.1 by ALPN). Without
    /// --tls-cert, certificates come from a local CA kept in the state directory (`gw tls ca`).
    #[arg(long, value_name = "ADDR")]
    tls_listen: Option<String>,
    /// The certificate (PEM, leaf first) the HTTPS listener serves for every name without a
    /// custom domain certificate of its own.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
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
    /// The keys of a user pool (or JWT issuer) gw does not hold: POOL_ID=FILE or POOL_ID=URL
    /// (http://; read once at start, 5 s timeout), or ISSUER_URL=FILE for a JWT authorizer's
    /// issuer (repeatable). Local pools (`gw user-pool create`) need nothing.
    #[arg(long = "jwks", value_name = "POOL_ID=FILE|URL")]
    jwks: Vec<String>,
    /// Also trust the CA certificates in this PEM file when calling https:// backends, beside
    /// the system's roots (repeatable).
    #[arg(long = "backend-ca", value_name = "FILE")]
    backend_ca: Vec<PathBuf>,
    /// Keep usage-plan and stage throttles and quotas in this Redis, shared by every gw node
    /// given the same URL (redis://[:PASSWORD@]HOST:PORT[/DB]); by default each server counts
    /// alone.
    #[arg(long, value_name = "redis://HOST:PORT", env = "GW_COUNTERS")]
    counters: Option<String>,
    /// What a limit check does while --counters' Redis does not answer: count on this node
    /// alone (local), admit (allow) or refuse with 429 (deny).
    #[arg(
        long,
        value_name = "local|allow|deny",
        default_value = "local",
        requires = "counters"
    )]
    counters_unavailable: String,
    /// Where Lambda authorizers' cached answers are kept: this server's memory (local), or the
    /// --counters Redis (redis), shared by every node.
    #[arg(long, value_name = "local|redis", default_value = "local")]
    authorizer_cache: String,
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
    let backend_tls = if args.backend_ca.is_empty() {
        None
    } else {
        let mut extra = Vec::new();
        for path in &args.backend_ca {
            extra.extend(gw::net::tls::read_certs(path).map_err(|e| {
                anyhow::anyhow!("--backend-ca {e}; give a PEM file of CA certificates")
            })?);
        }
        Some(std::sync::Arc::new(
            gw::net::tls::ClientTls::new(&extra).map_err(|e| anyhow::anyhow!("{e}"))?,
        ))
    };
    let certificate = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |p: &PathBuf, what: &str| {
                std::fs::read_to_string(p)
                    .with_context(|| format!("--tls-{what} {}: cannot read the file", p.display()))
            };
            let certified = gw::server::tls::certified_from_pem(&read(cert, "cert")?, &read(key, "key")?)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "--tls-cert {} --tls-key {}: {e}; give a PEM certificate (leaf first) and its private key",
                        cert.display(),
                        key.display()
                    )
                })?;
            Some(certified)
        }
        _ => None,
    };
    if certificate.is_some() && args.tls_listen.is_none() {
        bail!(
            "--tls-cert and --tls-key are for the HTTPS listener: add --tls-listen 127.0.0.1:4443"
        );
    }
    let shared_authorizers = match args.authorizer_cache.as_str() {
        "local" => false,
        "redis" if args.counters.is_some() => true,
        "redis" => bail!(
            "--authorizer-cache redis keeps the answers in the --counters Redis: add --counters redis://HOST:PORT"
        ),
        other => bail!("--authorizer-cache {other:?}: use local or redis"),
    };
    let counters = match &args.counters {
        Some(url) => Some(gw::gateway::counters::Config {
            url: url.clone(),
            unavailable: args
                .counters_unavailable
                .parse()
                .map_err(|e: String| anyhow::anyhow!(e))?,
            authorizers: shared_authorizers,
        }),
        None => None,
    };
    let plain_off = args.listen.eq_ignore_ascii_case("off");
    if plain_off && args.tls_listen.is_none() {
        bail!("--listen off leaves no listener: add --tls-listen 127.0.0.1:4443, or give --listen an address");
    }
    if plain_off && demo.is_some() {
        bail!("gw demo needs the plain listener: give --listen an address");
    }
    runtime()?.block_on(async move {
        let issuers = load_jwks(&args.jwks).await?;
        let listener = if plain_off {
            None
        } else {
            Some(bind(&args.listen, "is another gw (or LocalStack) running?").await?)
        };
        let tls = match &args.tls_listen {
            None => None,
            Some(addr) => Some(gw::server::TlsListen {
                listener: bind(addr, "is another server using it?").await?,
                certificate,
            }),
        };
        if let (Some(functions), Some(listener)) = (&demo, &listener) {
            gw::demo::prepare(&store, listener, functions.as_deref()).await?;
        }
        let config = gw::server::Config {
            deployment_header: !args.no_deployment_header,
            require_sigv4,
            access_log: match &args.access_log {
                Some(path) => gw::gateway::access_log::Sink::File(path.clone()),
                None => gw::gateway::access_log::Sink::Stdout,
            },
            metrics: !args.no_metrics,
            issuers,
            backend_tls,
            counters,
            ..Default::default()
        };
        gw::server::run_with(listener, tls, store, config, gw::server::shutdown_signal()).await?;
        Ok(())
    })
}

/// `--jwks KEY=SOURCE`: each source's keys, under the issuer its key names.
async fn load_jwks(items: &[String]) -> Result<gw::gateway::jwt::Issuers> {
    let mut issuers = gw::gateway::jwt::Issuers::default();
    for item in items {
        let Some((key, source)) = item
            .split_once('=')
            .filter(|(k, s)| !k.is_empty() && !s.is_empty())
        else {
            bail!(
                "--jwks {item:?} is not POOL_ID=FILE|URL, like --jwks us-east-1_AbC123=jwks.json"
            );
        };
        let text = if source.starts_with("https://") {
            bail!(
                "--jwks {key}={source}: gw does not fetch over https yet; download it (curl -o jwks.json {source}) and give the file: --jwks {key}=jwks.json"
            );
        } else if source.starts_with("http://") {
            fetch(source)
                .await
                .with_context(|| format!("--jwks {key}={source}: cannot fetch the JWKS"))?
        } else {
            std::fs::read_to_string(source)
                .with_context(|| format!("--jwks {key}={source}: cannot read the file"))?
        };
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("--jwks {key}={source}: not JSON"))?;
        let keys = gw::aws::jwt::Keys::from_jwks(&json)
            .map_err(|e| anyhow::anyhow!("--jwks {key}={source}: {e}"))?;
        issuers.insert(
            gw::gateway::jwt::issuer_of(key),
            gw::gateway::jwt::Issuer {
                keys,
                clients: Vec::new(),
            },
        );
    }
    Ok(issuers)
}

/// GET an http:// URL's body (5 s in all).
async fn fetch(url: &str) -> Result<String> {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let uri: hyper::Uri = url.parse().context("not a URL")?;
    let get = async {
        let resp = client.get(uri).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, anyhow::Error>((status, body))
    };
    let (status, body) = tokio::time::timeout(std::time::Duration::from_secs(5), get)
        .await
        .context("timed out after 5 s")??;
    if !status.is_success() {
        bail!("the server answered {status}");
    }
    if body.len() > 1 << 20 {
        bail!("the answer is larger than 1 MiB: not a JWKS");
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
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
