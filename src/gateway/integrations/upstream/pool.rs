//! Backend connections and the per-worker pool: a connection with its read buffer, its head
//! buffer and its one exchange timer; connecting; taking an idle connection (only one that is
//! still open and silent) and giving one back after a complete exchange.

use super::{Upstream, UpstreamError, IDLE_TIMEOUT, MAX_IDLE_PER_BACKEND, READ_CHUNK};
use bytes::BytesMut;
use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpStream;

pub(super) struct Idle {
    conn: Conn,
    since: Instant,
}

pub(super) struct Conn {
    pub(super) stream: TcpStream,
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
            let mut byte = [0u8; 1];
            if matches!(conn.stream.try_read(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock)
            {
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

pub(super) async fn connect(
    backend: &str,
    started: Instant,
    deadline: tokio::time::Instant,
) -> Result<Conn, UpstreamError> {
    let stream = tokio::time::timeout_at(deadline, TcpStream::connect(backend))
        .await
        .map_err(|_| UpstreamError::TimedOut)?
        .map_err(|source| UpstreamError::Connect {
            backend: backend.to_string(),
            source,
        })?;
    stream.set_nodelay(true)?;
    Ok(Conn {
        stream,
        buf: BytesMut::with_capacity(READ_CHUNK),
        heads: BytesMut::new(),
        backend: Arc::from(backend),
        reused: false,
        started,
        timer: Box::pin(tokio::time::sleep_until(deadline)),
    })
}
