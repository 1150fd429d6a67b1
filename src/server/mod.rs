//! The listener: accepts connections and hands each to a worker, where [`conn`] serves it
//! (HTTP/1.1 itself, anything else through hyper); keeps the serving snapshot in step with the
//! store, and shuts down gracefully.
//!
//! Hot reload ([`Reloader`]): a watcher thread polls `PRAGMA data_version` (a few microseconds)
//! every `reload_interval`; when another process has committed, it rebuilds the snapshot off the
//! request path and swaps it in atomically. A write through the management API syncs the same
//! way before it is answered. In-flight requests finish on the snapshot they
//! started with; new ones see the new one.

pub mod conn;
mod dashboard;
pub mod door;
pub mod nodes;
pub mod peers;
pub mod prometheus;
pub mod ramp;
pub mod surface;
pub mod tls;
mod user_pools;

use crate::gateway::dispatch::{Draw, Shared};
use crate::gateway::snapshot::{self, Reloader};
use crate::store::Store;
use crate::store::StoreError;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Config {
    /// Add `x-gw-deployment` / `x-gw-canary` to responses.
    pub deployment_header: bool,
    /// How often the store is checked for changes.
    pub reload_interval: Duration,
    /// Seed the canary draw (tests); `None` draws from the thread's RNG.
    pub canary_seed: Option<u64>,
    /// A client must send its request headers within this time.
    pub header_read_timeout: Duration,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_grace: Duration,
    /// `ACCESS_KEY`, `SECRET`: management calls must be SigV4-signed with this key.
    pub require_sigv4: Option<(String, String)>,
    /// Announce the address: print `listening on http://ADDR` on stderr once ready, and record
    /// it in the serving marker, so that CLI commands print invoke URLs on this port
    /// ([`crate::store::serving::listening`]). Off for a private server (`gw invoke`'s).
    pub announce: bool,
    /// Where stages with `accessLogSettings` write their lines.
    pub access_log: crate::gateway::access_log::Sink,
    /// Count requests for `/_gw/metrics` and the canary figures.
    pub metrics: bool,
    /// Token issuers beside the local user pools (`gw serve --jwks`).
    pub issuers: crate::gateway::jwt::Issuers,
    /// How `https://` backends are verified (`gw serve --backend-ca`); the system's roots when
    /// `None`.
    pub backend_tls: Option<Arc<crate::net::tls::ClientTls>>,
    /// Throttle and quota counters shared with other nodes (`gw serve --counters redis://...`).
    pub counters: Option<crate::gateway::counters::Config>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            deployment_header: true,
            reload_interval: Duration::from_millis(20),
            canary_seed: None,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            require_sigv4: None,
            announce: true,
            access_log: crate::gateway::access_log::Sink::Stdout,
            metrics: true,
            issuers: Default::default(),
            backend_tls: None,
            counters: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}; choose another file with --access-log")]
    AccessLog(std::io::Error),
    #[error("HTTPS listener: {0}")]
    Tls(String),
    #[error("{0}")]
    Counters(String),
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Serve on `listener` until `shutdown` resolves, then let in-flight requests finish (bounded
/// by `shutdown_grace`). Prints `listening on http://ADDR` on stderr once ready.
///
/// One worker thread per core, each with its own single-threaded runtime, accept loop and
/// backend connection pool: a request is read, dispatched, proxied and answered on one thread,
/// with no cross-thread wake-ups (which cost more than the gateway's own work).
pub async fn run(
    listener: TcpListener,
    store: Store,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    run_with(Some(listener), None, store, config, shutdown).await
}

/// The HTTPS listener: its socket, and the certificate given for it (`--tls-cert/--tls-key`;
/// `None`: the state directory's local CA issues them).
pub struct TlsListen {
    pub listener: TcpListener,
    pub certificate: Option<Arc<rustls::sign::CertifiedKey>>,
}

/// [`run`] on a plain listener, an HTTPS one, or both. Prints `listening on http://ADDR` and
/// `listening on https://ADDR` on stderr once ready.
pub async fn run_with(
    plain: Option<TcpListener>,
    tls: Option<TlsListen>,
    store: Store,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let plain_addr = plain.as_ref().map(TcpListener::local_addr).transpose()?;
    let tls_addr = tls.as_ref().map(|t| t.listener.local_addr()).transpose()?;
    let Some(addr) = plain_addr.or(tls_addr) else {
        return Err(ServerError::Io(std::io::Error::other(
            "no listener: give --listen or --tls-listen",
        )));
    };
    let reloader = {
        let store = store.clone();
        let listen = config.announce.then_some(addr);
        let issuers = config.issuers.clone();
        tokio::task::spawn_blocking(move || {
            snapshot::Reloader::open_with_issuers(&store, listen, issuers)
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??
    };
    let reloader = Arc::new(reloader);
    let draw = Arc::new(match config.canary_seed {
        Some(seed) => Draw::seeded(seed),
        None => Draw::Random,
    });
    let authorizers = Arc::new(crate::gateway::authorizer::Cache::default());
    let limiter = Arc::new(crate::gateway::throttle::Limiter::default());
    let links = Arc::new(crate::gateway::links::Links::default());
    let counters = match &config.counters {
        Some(c) => {
            // The URL is checked here, once; each worker connects on its first check.
            redis::Client::open(c.url.as_str()).map_err(|e| {
                ServerError::Counters(format!(
                    "--counters {}: {e}; give a URL such as redis://127.0.0.1:6379",
                    crate::net::redacted_url(&c.url)
                ))
            })?;
            Some(Arc::new(crate::gateway::counters::Status::default()))
        }
        None => None,
    };
    let access_log = crate::gateway::access_log::Writer::start(&config.access_log)
        .map_err(ServerError::AccessLog)?;
    let management = {
        let reloader = reloader.clone();
        let cache = authorizers.clone();
        let counters = limiter.clone();
        let shared = config.counters.clone().filter(|c| c.authorizers);
        Arc::new(crate::management::Management::with_hooks(
            store.clone(),
            Box::new(move || reloader.sync().map(|_| ()).map_err(|e| e.to_string())),
            crate::management::Hooks {
                flush_authorizers: Some(Arc::new(move |api: &str, stage: &str| {
                    cache.flush_stage(api, stage);
                    if let Some(c) = &shared {
                        if let Err(e) = crate::gateway::counters::flush_authorizers(c, api, stage) {
                            tracing::warn!(
                                "FlushStageAuthorizersCache: the answers cached in Redis stay: {e}"
                            );
                        }
                    }
                })),
                usage: Some(Box::new(move |plan: &str| counters.usage(plan))),
            },
            config.require_sigv4.clone(),
        ))
    };
    let metrics = Arc::new(crate::gateway::metrics::Metrics::default());
    let (tls_listener, acceptance) = match tls {
        None => (None, None),
        Some(TlsListen {
            listener,
            certificate,
        }) => {
            let dir = store.dir().to_path_buf();
            let certificates =
                tokio::task::spawn_blocking(move || tls::Certificates::new(&dir, certificate))
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .map_err(|e| ServerError::Tls(e.to_string()))?;
            let live = reloader.clone();
            let acceptance = Arc::new(tls::Acceptance {
                certificates,
                domains: Box::new(move |name: &str| {
                    live.current().domain(name).map(|d| d.tls.clone())
                }),
            });
            (Some(listener), Some(acceptance))
        }
    };
    let surface = Arc::new(surface::Surface {
        version: env!("CARGO_PKG_VERSION"),
        started: std::time::Instant::now(),
        reloader: reloader.clone(),
        metrics: metrics.clone(),
        store: store.clone(),
        links: links.clone(),
        counters: counters.clone(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let reload = spawn_watcher(reloader.clone(), stop.clone(), config.reload_interval)?;
    let health = {
        let live = reloader.clone();
        crate::gateway::links::spawn_checks(links.clone(), move || live.current(), stop.clone())?
    };
    // Ramps are driven by the servers other commands can see (a private server, `gw invoke`'s,
    // does not drive them).
    let ramps = if config.announce {
        Some(ramp::spawn(
            store.clone(),
            reloader.clone(),
            format!("{}@{addr}", std::process::id()),
            stop.clone(),
        )?)
    } else {
        None
    };
    // So is the node registry (`gw nodes`).
    let node = if config.announce {
        Some(nodes::spawn(
            store.clone(),
            reloader.clone(),
            addr.to_string(),
            stop.clone(),
        )?)
    } else {
        None
    };

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut handles = Vec::with_capacity(workers);
    let mut queues = Vec::with_capacity(workers);
    for i in 0..workers {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Accepted>();
        queues.push(tx);
        let config = config.clone();
        let draw = draw.clone();
        let (reloader, management) = (reloader.clone(), management.clone());
        let surface = surface::router(surface.clone());
        let cells = config.metrics.then(|| metrics.worker());
        let authorizers = authorizers.clone();
        let limiter = limiter.clone();
        let links = links.clone();
        let counters = counters.clone();
        let access_log = access_log.clone();
        let acceptance = acceptance.clone();
        let handle = std::thread::Builder::new()
            .name(format!("gw-worker-{i}"))
            .spawn(move || -> Result<(), ServerError> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let counters = match (&config.counters, counters) {
                        (Some(c), Some(status)) => Some(
                            crate::gateway::counters::Remote::connect(c, status)
                                .map_err(ServerError::Counters)?,
                        ),
                        _ => None,
                    };
                    let gateway = Shared {
                        snapshot: crate::gateway::snapshot::WorkerSnapshot::new(reloader),
                        client: match &config.backend_tls {
                            Some(tls) => {
                                crate::gateway::integrations::upstream::Upstream::with_tls(
                                    tls.clone(),
                                )
                            }
                            None => crate::gateway::integrations::http::client(),
                        },
                        deployment_header: config.deployment_header,
                        require_sigv4: config.require_sigv4.clone(),
                        draw,
                        authorizers,
                        limiter,
                        counters,
                        links,
                        access_log,
                        metrics: cells,
                    };
                    let door = Arc::new(door::Door {
                        gateway,
                        management,
                        surface,
                    });
                    worker(rx, door, acceptance, &config).await;
                    Ok(())
                })
            })?;
        handles.push(handle);
    }
    if config.announce {
        if let Some(a) = plain_addr {
            eprintln!("listening on http://{a}");
        }
        if let Some(a) = tls_addr {
            eprintln!("listening on https://{a}");
        }
    }
    tracing::info!(
        "serving on {} with {workers} worker threads",
        [
            plain_addr.map(|a| format!("http://{a}")),
            tls_addr.map(|a| format!("https://{a}"))
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" and ")
    );

    tracing::info!(
        "store: {}; throttles and quotas: {}",
        store.location(),
        match &config.counters {
            Some(c) => format!("shared in {}", crate::net::redacted_url(&c.url)),
            None => "this server's own".to_string(),
        }
    );

    // One acceptor hands connections to the workers in turn, so they share the load evenly
    // (a function invocation keeps its worker busy for tens of microseconds).
    tokio::pin!(shutdown);
    let mut next = 0usize;
    loop {
        let ((stream, remote), is_tls) = tokio::select! {
            (accepted, is_tls) = accept(plain.as_ref(), tls_listener.as_ref()) => match accepted {
                Ok(a) => (a, is_tls),
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        if let Some(q) = queues.get(next % workers) {
            let _ = q.send((stream, remote, is_tls));
        }
        next = next.wrapping_add(1);
    }
    drop(plain);
    drop(tls_listener);
    // Closing the queues tells every worker to stop and drain.
    drop(queues);
    tracing::info!("shutting down: waiting for in-flight requests");
    let joined = tokio::task::spawn_blocking(move || {
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Ok(())))
            .collect::<Result<Vec<()>, ServerError>>()
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    stop.store(true, Ordering::Relaxed);
    let _ = reload.join();
    let _ = health.join();
    if let Some(r) = ramps {
        let _ = r.join();
    }
    if let Some(n) = node {
        let _ = n.join();
    }
    joined.map(|_| ())
}

/// A connection handed to a worker: the socket (non-blocking), the client's address, and
/// whether it came to the HTTPS listener.
type Accepted = (std::net::TcpStream, std::net::SocketAddr, bool);

/// The next connection on either listener, and whether it is the HTTPS one.
async fn accept(
    plain: Option<&TcpListener>,
    tls: Option<&TcpListener>,
) -> (
    std::io::Result<(tokio::net::TcpStream, std::net::SocketAddr)>,
    bool,
) {
    tokio::select! {
        a = accept_on(plain) => (a, false),
        a = accept_on(tls) => (a, true),
    }
}

/// The next connection on `listener`; never, without one.
async fn accept_on(
    listener: Option<&TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, std::net::SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// One worker: serve the connections it is handed, on this thread, until its queue closes;
/// then close idle connections, let requests in flight finish (bounded by `shutdown_grace`).
async fn worker(
    mut queue: tokio::sync::mpsc::UnboundedReceiver<Accepted>,
    door: Arc<door::Door>,
    acceptance: Option<Arc<tls::Acceptance>>,
    config: &Config,
) {
    let mut hyper = auto::Builder::new(TokioExecutor::new());
    hyper
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(64 * 1024);
    let stop = Arc::new(AtomicBool::new(false));
    let worker = Arc::new(conn::Worker {
        door,
        hyper,
        header_read_timeout: config.header_read_timeout,
        stop: stop.clone(),
    });
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut open: HashMap<tokio::task::Id, (Arc<conn::Flags>, tokio::task::AbortHandle)> =
        HashMap::new();
    loop {
        tokio::select! {
            accepted = queue.recv() => {
                let Some((stream, remote, is_tls)) = accepted else { break };
                let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let flags = Arc::new(conn::Flags::default());
                let handle = match (&acceptance, is_tls) {
                    (Some(tls), true) => tasks.spawn(conn::serve_tls(
                        stream,
                        remote,
                        worker.clone(),
                        tls.clone(),
                        graceful.watcher(),
                    )),
                    _ => tasks.spawn(conn::serve(
                        stream,
                        remote,
                        worker.clone(),
                        flags.clone(),
                        graceful.watcher(),
                    )),
                };
                open.insert(handle.id(), (flags, handle));
            }
            Some(done) = tasks.join_next_with_id() => {
                match done {
                    Ok((id, ())) => open.remove(&id),
                    Err(e) => open.remove(&e.id()),
                };
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for (flags, handle) in open.values() {
        if flags.idle.load(Ordering::Relaxed) {
            handle.abort();
        }
    }
    let drain = async {
        graceful.shutdown().await;
        while tasks.join_next().await.is_some() {}
    };
    if tokio::time::timeout(config.shutdown_grace, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            "in-flight requests still running after {:?}; exiting",
            config.shutdown_grace
        );
    }
}

fn spawn_watcher(
    reloader: Arc<Reloader>,
    stop: Arc<AtomicBool>,
    interval: Duration,
) -> Result<std::thread::JoinHandle<()>, ServerError> {
    Ok(std::thread::Builder::new()
        .name("gw-reload".into())
        .spawn(move || {
            let mut last_error = None;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(interval);
                match reloader.sync() {
                    Ok(true) => tracing::info!("reloaded: the store changed"),
                    Ok(false) => {}
                    // Tried again on the next tick; said once per distinct error.
                    Err(e) => {
                        let msg = e.to_string();
                        if last_error.as_ref() != Some(&msg) {
                            tracing::error!(
                                "reload failed, still serving the previous state: {msg}"
                            );
                            last_error = Some(msg);
                        }
                        continue;
                    }
                }
                last_error = None;
            }
        })?)
}
