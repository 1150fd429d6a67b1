//! What one guest instance can see and touch: the per-request `Store` data for each contract, the
//! memory limiter that remembers whether it refused a growth (so an out-of-memory guest is told
//! apart from one that merely trapped), a bounded log pipe for guest stderr, and the outbound-HTTP
//! hooks (deny everything unless the invocation carries a policy, which decides each request).
//!
//! Architecture invariant: nothing here grants a capability. Every WASI context is built from
//! `WasiCtxBuilder::new()` (no preopens, no sockets, no inherited environment) plus exactly the
//! pipes and environment variables the caller passes; an outgoing HTTP request leaves only when
//! the caller's [`OutboundPolicy`] routes it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// Most resources (streams, fields, …) one component instance may hold at once.
const MAX_RESOURCES: usize = 10_000;

/// Store data for a WASIp1 core module (Lambda-style command).
pub(crate) struct P1Host {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limiter: Limiter,
}

/// Store data for a component: a WASIp2 command or a `wasi:http/proxy` handler.
pub(crate) struct P2Host {
    ctx: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    pub(crate) hooks: OutboundHooks,
    pub(crate) limiter: Limiter,
}

impl P2Host {
    pub(crate) fn new(ctx: WasiCtx, limiter: Limiter, outbound: Outbound) -> P2Host {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        P2Host {
            ctx,
            table,
            http: WasiHttpCtx::new(),
            hooks: OutboundHooks { outbound },
            limiter,
        }
    }
}

impl WasiView for P2Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for P2Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Where a function's outgoing HTTP requests may go: asked once per request, before any
/// connection is made. The runtime knows nothing of links or hosts; the gateway implements this.
pub trait OutboundPolicy: Send + Sync {
    /// The route for a request to `host` (`port` as the URL gives it or its scheme's default),
    /// or `None`: refused (the implementation logs why; the guest sees `HTTP-request-denied`).
    fn route(&self, method: &http::Method, host: &str, port: u16, https: bool) -> Option<Route>;
}

/// Where one allowed request goes.
pub struct Route {
    /// `ip:port` to connect to instead of the URL's authority (a VPC link's picked target), or
    /// `None` to connect where the URL says. The `Host` field stays the URL's.
    pub connect: Option<String>,
    /// Called with whether the connection (and the answer's head) succeeded.
    pub done: Option<Box<dyn FnOnce(bool) + Send>>,
}

/// A function's outbound HTTP policy: none (the default) refuses every request.
#[derive(Clone, Default)]
pub struct Outbound(Option<Arc<dyn OutboundPolicy>>);

impl Outbound {
    pub fn new(policy: Arc<dyn OutboundPolicy>) -> Outbound {
        Outbound(Some(policy))
    }

    /// Whether any request may go out.
    pub fn allows_any(&self) -> bool {
        self.0.is_some()
    }
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Outbound(policy)"
        } else {
            "Outbound(none)"
        })
    }
}

/// The `wasi:http` hooks: every outgoing request asks the policy, and an allowed one is sent by
/// wasmtime's own client (a connection per request, HTTP/1.1; HTTPS verified against the public
/// web roots), connected where the policy says.
pub(crate) struct OutboundHooks {
    pub(crate) outbound: Outbound,
}

type IoFuture = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;
type Sent =
    Result<(http::Response<wasmtime_wasi_http::WasiBody>, IoFuture), wasmtime_wasi_http::Error>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: IoFuture,
    ) -> Box<dyn Future<Output = Sent> + Send> {
        use wasmtime_wasi_http::Error;
        let Some(policy) = self.outbound.0.clone() else {
            tracing::debug!(target: "gw::function", uri = %request.uri(), "outbound HTTP denied");
            return Box::new(async { Err(Error::HttpRequestDenied) });
        };
        Box::new(async move {
            let uri = request.uri();
            // The name checked must be the name connected to: no `user@` before it.
            if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
                return Err(Error::HttpRequestDenied);
            }
            let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
            let host = uri
                .host()
                .ok_or(Error::HttpRequestUriInvalid)?
                .to_ascii_lowercase();
            let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
            let route = policy
                .route(request.method(), &host, port, https)
                .ok_or(Error::HttpRequestDenied)?;
            if let Some(connect) = &route.connect {
                let mut parts = request.uri().clone().into_parts();
                parts.authority =
                    Some(connect.parse().map_err(|_| {
                        Error::InternalError(Some(format!("bad target {connect}")))
                    })?);
                *request.uri_mut() =
                    http::Uri::from_parts(parts).map_err(|_| Error::HttpRequestUriInvalid)?;
            }
            let sent = wasmtime_wasi_http::default_send_request(request, options).await;
            if let Some(done) = route.done {
                done(sent.is_ok());
            }
            let (resp, io) = sent?;
            Ok((
                resp.map(http_body_util::BodyExt::boxed_unsync),
                Box::new(io) as IoFuture,
            ))
        })
    }
}

/// `StoreLimits` plus a flag, shared with the invoker, that records whether a memory (or table)
/// growth was refused. A Rust guest whose allocation fails aborts with an ordinary trap, so the
/// trap alone cannot tell "out of memory" from "bug"; the flag can.
pub(crate) struct Limiter {
    inner: StoreLimits,
    refused: Arc<AtomicBool>,
    /// The largest linear memory granted so far, in bytes (Lambda's "Max Memory Used").
    peak: Arc<AtomicUsize>,
}

impl Limiter {
    /// Limits one instance to `memory_bytes` of linear memory (per memory), trapping on a refused
    /// growth so the failure is immediate and clear.
    pub(crate) fn new(memory_bytes: usize) -> (Limiter, Arc<AtomicBool>) {
        let refused = Arc::new(AtomicBool::new(false));
        let inner = StoreLimitsBuilder::new()
            .memory_size(memory_bytes)
            .trap_on_grow_failure(true)
            .build();
        (
            Limiter {
                inner,
                refused: refused.clone(),
                peak: Arc::new(AtomicUsize::new(0)),
            },
            refused,
        )
    }

    /// The largest memory granted so far, shared.
    pub(crate) fn peak(&self) -> Arc<AtomicUsize> {
        self.peak.clone()
    }

    fn note<T>(&self, r: wasmtime::Result<T>, allowed: impl Fn(&T) -> bool) -> wasmtime::Result<T> {
        if r.as_ref().map_or(true, |v| !allowed(v)) {
            self.refused.store(true, Ordering::Relaxed);
        }
        r
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.inner.memory_growing(current, desired, maximum);
        if matches!(r, Ok(true)) {
            self.peak.fetch_max(desired, Ordering::Relaxed);
        }
        self.note(r, |ok| *ok)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.refused.store(true, Ordering::Relaxed);
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let r = self.inner.table_growing(current, desired, maximum);
        self.note(r, |ok| *ok)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.refused.store(true, Ordering::Relaxed);
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// A bounded, never-failing sink for guest log output (stderr, and stdout of `wasi:http`
/// handlers). Bytes beyond the capacity are counted and dropped: a chatty guest loses log lines,
/// it never traps because of them (unlike `MemoryOutputPipe`, whose overflow is a trap).
#[derive(Clone)]
pub(crate) struct LogPipe {
    buf: Arc<Mutex<LogBuf>>,
}

struct LogBuf {
    bytes: Vec<u8>,
    capacity: usize,
    dropped: usize,
}

impl LogPipe {
    pub(crate) fn new(capacity: usize) -> LogPipe {
        LogPipe {
            buf: Arc::new(Mutex::new(LogBuf {
                bytes: Vec::new(),
                capacity,
                dropped: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LogBuf> {
        // A poisoned lock only means another writer panicked mid-append; the bytes are still fine.
        self.buf.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn append(&self, data: &[u8]) {
        let mut b = self.lock();
        let room = b.capacity.saturating_sub(b.bytes.len());
        let take = room.min(data.len());
        b.bytes.extend_from_slice(&data[..take]);
        b.dropped += data.len() - take;
    }

    /// Puts bytes taken with [`take`](Self::take) back in front of what comes next.
    pub(crate) fn put_back(&self, data: &[u8]) {
        let mut b = self.lock();
        let mut bytes = data.to_vec();
        bytes.append(&mut b.bytes);
        b.bytes = bytes;
    }

    /// Everything captured so far, and how many bytes were dropped.
    pub(crate) fn take(&self) -> (Vec<u8>, usize) {
        let mut b = self.lock();
        let dropped = std::mem::take(&mut b.dropped);
        (std::mem::take(&mut b.bytes), dropped)
    }
}

impl OutputStream for LogPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogPipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for LogPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}
