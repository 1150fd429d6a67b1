//! The backend client of HTTP_PROXY and HTTP integrations: HTTP/1.1 over pooled keep-alive
//! connections, driven by the request's own task. There is no connection task and no channel:
//! the request is written, the answer's head read and its body streamed by whoever polls them,
//! so a proxied request costs two socket reads and two writes and nothing else. Each worker
//! thread owns one [`Upstream`], so a pooled connection never crosses threads.
//!
//! Framing follows RFC 9112: a response body is delimited by `Transfer-Encoding: chunked`, by
//! `Content-Length`, or by the end of the connection; `HEAD`, 1xx, 204 and 304 have none. Interim
//! 1xx answers are skipped. While a large request body streams out, the answer is already being
//! read, so a backend that answers early (a 401 before reading an upload) is relayed. A
//! connection goes back to the pool only after a complete exchange with nothing left over, and
//! only when both sides keep it alive. The fields that decide framing and reuse are read from the
//! raw head; the answer handed back carries only end-to-end fields (hop-by-hop ones, and those
//! `Connection` names, are left out).
//!
//! This module is the client's API ([`Upstream::send`]) and one exchange from request to
//! response (the retry on a fresh connection, the body's framing turned into a response), with
//! the limits every part shares. The parts: `pool` (connections, the idle pool, connecting),
//! `send` (the request head and body as they are written), `framing` (the response head and how
//! its body is delimited), `response_body` (a response body streamed from the connection).

mod framing;
mod pool;
mod response_body;
mod send;

use crate::net::body::{self, Body, BoxError};
use crate::net::headers::Relayed;
use bytes::Buf;
use framing::{read_head, response_framing, Framing, Head};
use http::{Method, Response};
use http_body_util::BodyExt;
pub use pool::TlsTarget;
use pool::{connect, until, Conn, Idle};
use response_body::{State, UpstreamBody};
use send::{prepare_body, send_streamed, Outbound};
use std::io::ErrorKind;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

pub use send::RequestHead;

/// Idle connections kept per backend (per worker thread).
const MAX_IDLE_PER_BACKEND: usize = 256;
/// An idle connection older than this is closed instead of reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// A response head (status line and headers) larger than this is refused.
const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 128;
/// A chunk-size or trailer line longer than this is refused.
const MAX_LINE_BYTES: usize = 16 * 1024;
const READ_CHUNK: usize = 16 * 1024;
/// Request bodies up to this size are read in full and sent with the head in one write, which
/// also lets a request be replayed when a pooled connection turns out to be closed. Larger (or
/// unknown-length) bodies are streamed on a fresh connection.
const BUFFER_BODY_BYTES: u64 = 64 * 1024;
/// A response body up to this size that arrived with its head is copied out of the read buffer
/// rather than sliced from it.
const COPY_BODY_BYTES: u64 = 4 * 1024;

/// Why a backend exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot connect to {backend}: {source}")]
    Connect {
        backend: String,
        source: std::io::Error,
    },
    /// No connection within the deadline (nothing was sent).
    #[error("cannot connect to {backend}: no answer in time")]
    ConnectTimedOut { backend: String },
    /// The TLS handshake with an `https://` backend failed (its certificate, most often).
    #[error("TLS with {backend} failed: {reason}")]
    Tls { backend: String, reason: String },
    #[error("connection to the backend failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the backend closed the connection without answering")]
    Closed,
    #[error("the backend's answer is not valid HTTP/1.x: {0}")]
    Malformed(String),
    /// The client's request body failed (too large, or the client went away).
    #[error("reading the request body: {0}")]
    RequestBody(BoxError),
    /// No answer (head) before the deadline.
    #[error("the backend did not answer in time")]
    TimedOut,
}

/// What to send to `backend` (`host:port`), over TLS when `tls` is given.
pub struct Outgoing<'a> {
    pub method: &'a Method,
    pub backend: &'a str,
    pub tls: Option<&'a TlsTarget>,
    /// The request line and header fields; the framing is added once the body is known.
    pub head: RequestHead,
    pub body: Body,
}

/// One worker's backend connections, idle ones keyed by `host:port`.
#[derive(Clone, Default)]
pub struct Upstream {
    idle: Arc<Mutex<crate::net::fnv::Map<Arc<str>, Vec<Idle>>>>,
    /// The TLS configurations for `https://` backends; the system's when not given.
    tls: Option<Arc<crate::net::tls::ClientTls>>,
}

impl Upstream {
    pub fn new() -> Upstream {
        Upstream::default()
    }

    /// A client verifying `https://` backends with `tls` (the system's roots and extra CAs).
    pub fn with_tls(tls: Arc<crate::net::tls::ClientTls>) -> Upstream {
        Upstream {
            tls: Some(tls),
            ..Upstream::default()
        }
    }

    /// The TLS configurations for `https://` backends (`None` when they cannot be built).
    pub fn tls(&self) -> Option<Arc<crate::net::tls::ClientTls>> {
        self.tls.clone().or_else(crate::net::tls::ClientTls::system)
    }

    /// Sends the request and returns the backend's response, its body streaming from the
    /// connection, and its fields (the response's map is left for the fields gw sets); fails with [`UpstreamError::TimedOut`] when the answer's head has not come
    /// within `timeout` of `started` (the body's time is the caller's).
    pub async fn send(
        &self,
        req: Outgoing<'_>,
        started: Instant,
        timeout: Duration,
    ) -> Result<(Response<Body>, Relayed), UpstreamError> {
        let deadline = tokio::time::Instant::from_std(started + timeout);
        let outbound = prepare_body(req.body).await?;
        let framing = match &outbound {
            Outbound::Buffered(b) if b.is_empty() && !expects_body(req.method) => None,
            Outbound::Buffered(b) => Some(Some(b.len() as u64)),
            Outbound::Streamed(_, len) => Some(*len),
        };
        let mut head = req.head.finish(framing);
        // TLS connections are pooled apart from plain ones to the same address, and verified
        // ones apart from unverified ones.
        let key = match req.tls {
            None => std::borrow::Cow::Borrowed(req.backend),
            Some(t) => std::borrow::Cow::Owned(format!(
                "tls:{:p}:{:?}:{}",
                Arc::as_ptr(&t.config),
                t.server_name,
                req.backend
            )),
        };
        let key = key.as_ref();
        match outbound {
            Outbound::Buffered(bytes) => {
                head.extend_from_slice(&bytes);
                if let Some(conn) = self.take(key, started) {
                    match self.exchange(conn, &head, req.method, deadline).await {
                        Ok(resp) => return Ok(resp),
                        Err(Attempt::Retry(e)) => {
                            tracing::debug!(
                                "pooled backend connection failed ({e}); retrying on a new one"
                            );
                        }
                        Err(Attempt::Fail(e)) => return Err(e),
                    }
                }
                let conn = connect(req.backend, key, req.tls, started, deadline).await?;
                self.exchange(conn, &head, req.method, deadline)
                    .await
                    .map_err(Attempt::into_error)
            }
            Outbound::Streamed(body, len) => {
                let mut conn = connect(req.backend, key, req.tls, started, deadline).await?;
                // The connection is busy sending: this rare case gets a timer of its own.
                let mut timer = Box::pin(tokio::time::sleep_until(deadline));
                let (head, complete) = until(
                    &mut timer,
                    deadline,
                    send_streamed(&mut conn, &head, body, len),
                )
                .await?;
                self.respond(conn, head, complete, req.method)
            }
        }
    }

    /// Writes a buffered request on `conn` and reads the answer's head.
    async fn exchange(
        &self,
        mut conn: Conn,
        request: &[u8],
        method: &Method,
        deadline: tokio::time::Instant,
    ) -> Result<(Response<Body>, Relayed), Attempt> {
        let reused = conn.reused;
        let Conn {
            stream,
            buf,
            heads,
            timer,
            ..
        } = &mut conn;
        let head = until(timer, deadline, async {
            if let Err(e) = stream.write_all(request).await {
                // Nothing complete reached the backend: any request may go again.
                return Ok(Err(e.into()));
            }
            read_head(stream, buf, heads).await.map(Ok)
        })
        .await;
        match head {
            Ok(Ok(head)) => self
                .respond(conn, head, true, method)
                .map_err(Attempt::Fail),
            Ok(Err(e)) if reused => Err(Attempt::Retry(e)),
            Ok(Err(e)) => Err(Attempt::Fail(e)),
            Err(e) if reused && idempotent(method) && closed_before_answer(&e) => {
                Err(Attempt::Retry(e))
            }
            Err(e) => Err(Attempt::Fail(e)),
        }
    }

    /// The response for `head`, its body read from `conn`. `request_complete`: whether the whole
    /// request went out (if not, the connection cannot be reused).
    fn respond(
        &self,
        mut conn: Conn,
        head: Head,
        request_complete: bool,
        method: &Method,
    ) -> Result<(Response<Body>, Relayed), UpstreamError> {
        let framing = response_framing(method, &head)?;
        let keep_alive =
            request_complete && head.keep_alive && !matches!(framing, Framing::UntilClose);
        let body = match framing {
            Framing::Length(0) => {
                self.release(conn, keep_alive);
                body::empty()
            }
            Framing::Length(n) if head.body.len() == n as usize => {
                // The usual small answer: it came with its head, and was copied with it. The
                // connection is free again.
                conn.buf.advance(n as usize);
                self.release(conn, keep_alive);
                body::full(head.body)
            }
            Framing::Length(n) if conn.buf.len() as u64 >= n => {
                // Read in full, too large to copy: the connection's buffer is shared with it.
                let data = conn.buf.split_to(n as usize).freeze();
                self.release(conn, keep_alive);
                body::full(data)
            }
            framing => {
                let state = match framing {
                    Framing::Length(n) => State::Length(n),
                    Framing::Chunked => State::ChunkSize,
                    Framing::UntilClose => State::UntilClose,
                };
                UpstreamBody {
                    conn: Some(conn),
                    state,
                    keep_alive,
                    pool: self.clone(),
                }
                .boxed()
            }
        };
        let mut response = Response::new(body);
        *response.status_mut() = head.status;
        // Room for the fields gw adds (request ids, deployment).
        *response.headers_mut() = crate::net::headers::map(6);
        Ok((response, head.relayed))
    }
}

/// The outcome of one try on one connection.
enum Attempt {
    /// Failed on a pooled connection before the backend can have answered: try a fresh one.
    Retry(UpstreamError),
    Fail(UpstreamError),
}

impl Attempt {
    fn into_error(self) -> UpstreamError {
        match self {
            Attempt::Retry(e) | Attempt::Fail(e) => e,
        }
    }
}

fn closed_before_answer(e: &UpstreamError) -> bool {
    match e {
        UpstreamError::Closed => true,
        UpstreamError::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
        ),
        _ => false,
    }
}

/// Methods RFC 9110 calls idempotent: safe to send again when a reused connection dies before
/// any answer, since the backend may or may not have seen the first copy.
pub(crate) fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Methods whose empty body is still announced with `Content-Length: 0`.
fn expects_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}
