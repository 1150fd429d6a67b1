//! Backend connections and the per-worker pool: a connection with its read buffer, its head
//! buffer and its one exchange timer; connecting; taking an idle connection (only one that is
//! still open and silent) and giving one back after a complete exchange.

use super::{Upstream, UpstreamError, IDLE_TIMEOUT, MAX_IDLE_PER_BACKEND, READ_CHUNK};
use bytes::BytesMut;
use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::AsyncRead as _;
use tokio::net::TcpStream;

pub(super) struct Idle {
    conn: Conn,
    since: Instant,
}

/// A backend connection: plain TCP, or TLS over it (an `https://` backend).
pub(super) enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    /// Whether an idle connection is still open and has said nothing. A TLS connection is read
    /// through rustls (without waiting), so records it handles itself, such as session tickets,
    /// do not count, and plaintext it already holds does.
    fn idle_and_open(&mut self) -> bool {
        match self {
            Stream::Plain(s) => {
                let mut byte = [0u8; 1];
                matches!(s.try_read(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock)
            }
            Stream::Tls(s) => {
                let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                let mut byte = [0u8; 1];
                let mut read = tokio::io::ReadBuf::new(&mut byte);
                Pin::new(&mut **s)
                    .poll_read(&mut cx, &mut read)
                    .is_pending()
            }
        }
    }

    /// Reads what is there into `buf` (at least one byte, or `Ok(0)` at the end).
    pub(super) fn poll_fill(
        &mut self,
        cx: &mut std::task::Context<'_>,
        buf: &mut BytesMut,
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::{ready, Poll};
        match self {
            Stream::Plain(s) => loop {
                ready!(s.poll_read_ready(cx))?;
                match s.try_read_buf(buf) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                    other => return Poll::Ready(other),
                }
            },
            Stream::Tls(s) => {
                let mut chunk = [0u8; 8 * 1024];
                let mut read = tokio::io::ReadBuf::new(&mut chunk);
                ready!(Pin::new(&mut **s).poll_read(cx, &mut read))?;
                buf.extend_from_slice(read.filled());
                Poll::Ready(Ok(read.filled().len()))
            }
        }
    }
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, data),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write(cx, data),
        }
    }

    fn poll_flush(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
        }
    }
}

/// How to reach a backend over TLS: the name its certificate must have and the configuration.
#[derive(Clone)]
pub struct TlsTarget {
    pub server_name: rustls::pki_types::ServerName<'static>,
    pub config: Arc<rustls::ClientConfig>,
}

pub(super) struct Conn {
    pub(super) stream: Stream,
    /// Bytes read from the backend and not yet consumed.
    pub(super) buf: BytesMut,
    /// Where answer heads are copied to (see `framing::parse_head`). Shared with the heads it holds,
    /// and reclaimed in place once they are dropped, so a copy costs no allocation.
    pub(super) heads: BytesMut,
    pub(super) backend: Arc<str>,
    /// Whether this connection came from the pool (and so may have been closed by the backend).
    pub(super) reused: bool,
    /// When the current exchange started (the idle time in the pool counts from it).
    pub(super) started: Instant,
    /// Bounds each exchange: armed once, moved earlier when a deadline needs it and re-armed
    /// when it fires before the deadline, so an exchange usually costs no timer operation.
    pub(super) timer: Pin<Box<tokio::time::Sleep>>,
}

/// Run `work` until `deadline` on `timer` (see [`Conn::timer`]).
pub(super) async fn until<T>(
    timer: &mut Pin<Box<tokio::time::Sleep>>,
    deadline: tokio::time::Instant,
    work: impl std::future::Future<Output = Result<T, UpstreamError>>,
) -> Result<T, UpstreamError> {
    if timer.deadline() > deadline {
        timer.as_mut().reset(deadline);
    }
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            done = &mut work => return done,
            () = timer.as_mut() => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(UpstreamError::TimedOut);
                }
                timer.as_mut().reset(deadline);
            }
        }
    }
}

impl Upstream {
    /// An idle connection to `backend` that is still open and silent, if there is one. Bytes
    /// arriving on an idle connection are never taken as the answer to a later request.
    pub(super) fn take(&self, backend: &str, now: Instant) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.get_mut(backend)?;
        while let Some(Idle { mut conn, since }) = list.pop() {
            if now.saturating_duration_since(since) > IDLE_TIMEOUT {
                continue;
            }
            // A closed (or chattering) idle connection reads something; an open one would block.
            if conn.stream.idle_and_open() {
                conn.reused = true;
                conn.started = now;
                return Some(conn);
            }
        }
        None
    }

    /// Returns a connection whose exchange is complete to the pool (or closes it).
    pub(super) fn release(&self, conn: Conn, keep_alive: bool) {
        if !keep_alive || !conn.buf.is_empty() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = match idle.get_mut(&conn.backend) {
            Some(list) => list,
            None => idle.entry(conn.backend.clone()).or_default(),
        };
        if list.len() < MAX_IDLE_PER_BACKEND {
            list.push(Idle {
                // The exchange's start, not its end: a little early, never late.
                since: conn.started,
                conn,
            });
        }
    }
}

/// A new connection to `backend` (`host:port`), over TLS with `tls`; pooled under `key`.
pub(super) async fn connect(
    backend: &str,
    key: &str,
    tls: Option<&TlsTarget>,
    started: Instant,
    deadline: tokio::time::Instant,
) -> Result<Conn, UpstreamError> {
    let tcp = tokio::time::timeout_at(deadline, TcpStream::connect(backend))
        .await
        .map_err(|_| UpstreamError::ConnectTimedOut {
            backend: backend.to_string(),
        })?
        .map_err(|source| UpstreamError::Connect {
            backend: backend.to_string(),
            source,
        })?;
    tcp.set_nodelay(true)?;
    let stream = match tls {
        None => Stream::Plain(tcp),
        Some(t) => {
            let connector = tokio_rustls::TlsConnector::from(t.config.clone());
            let tls =
                tokio::time::timeout_at(deadline, connector.connect(t.server_name.clone(), tcp))
                    .await
                    .map_err(|_| UpstreamError::TimedOut)?
                    .map_err(|e| UpstreamError::Tls {
                        backend: backend.to_string(),
                        reason: e.to_string(),
                    })?;
            Stream::Tls(Box::new(tls))
        }
    };
    Ok(Conn {
        stream,
        buf: BytesMut::with_capacity(READ_CHUNK),
        heads: BytesMut::new(),
        backend: Arc::from(key),
        reused: false,
        started,
        timer: Box::pin(tokio::time::sleep_until(deadline)),
    })
}
