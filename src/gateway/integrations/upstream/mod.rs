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

use crate::net::body::{self, Body, BoxError};
use crate::net::headers::{tokens, Relayed};
use bytes::{Buf, Bytes, BytesMut};
use http::{Method, Response, StatusCode};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt;
use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// What to send to `backend` (`host:port`).
pub struct Outgoing<'a> {
    pub method: &'a Method,
    pub backend: &'a str,
    /// The request line and header fields; the framing is added once the body is known.
    pub head: RequestHead,
    pub body: Body,
}

/// A request head being written: the request line, then one line per field. The fields must
/// not include framing (`Content-Length`, `Transfer-Encoding`) or hop-by-hop ones.
pub struct RequestHead(Vec<u8>);

impl RequestHead {
    /// `target` is the request target (`/path?query`; empty means `/`); `fields` a hint of how
    /// many fields follow.
    pub fn new(method: &Method, target: &str, fields: usize) -> RequestHead {
        let mut out = Vec::with_capacity(128 + target.len() + fields * 48);
        out.extend_from_slice(method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(if target.is_empty() { "/" } else { target }.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        RequestHead(out)
    }

    /// Adds the field `name: value`, the value given in `parts` written one after the other.
    /// Parts with a control character (CR, LF, ...) would break the head: such a field is left
    /// out, and `false` returned.
    pub fn field(&mut self, name: &str, parts: &[&[u8]]) -> bool {
        let bad = |b: &u8| (*b < 0x20 && *b != b'\t') || *b == 0x7f;
        if parts.iter().any(|p| p.iter().any(bad)) {
            return false;
        }
        self.0.extend_from_slice(name.as_bytes());
        self.0.extend_from_slice(b": ");
        for p in parts {
            self.0.extend_from_slice(p);
        }
        self.0.extend_from_slice(b"\r\n");
        true
    }

    /// The finished head. `framing`: `None` for no body, `Some(Some(n))` for
    /// `Content-Length: n`, `Some(None)` for chunked.
    fn finish(self, framing: Option<Option<u64>>) -> Vec<u8> {
        let mut out = self.0;
        match framing {
            None => {}
            Some(Some(n)) => {
                out.extend_from_slice(b"content-length: ");
                out.extend_from_slice(n.to_string().as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Some(None) => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// One worker's backend connections, idle ones keyed by `host:port`.
#[derive(Clone, Default)]
pub struct Upstream {
    idle: Arc<Mutex<crate::net::fnv::Map<Arc<str>, Vec<Idle>>>>,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

struct Conn {
    stream: TcpStream,
    /// Bytes read from the backend and not yet consumed.
    buf: BytesMut,
    /// Where answer heads are copied to (see [`parse_head`]). Shared with the heads it holds,
    /// and reclaimed in place once they are dropped, so a copy costs no allocation.
    heads: BytesMut,
    backend: Arc<str>,
    /// Whether this connection came from the pool (and so may have been closed by the backend).
    reused: bool,
    /// When the current exchange started (the idle time in the pool counts from it).
    started: Instant,
    /// Bounds each exchange: armed once, moved earlier when a deadline needs it and re-armed
    /// when it fires before the deadline, so an exchange usually costs no timer operation.
    timer: Pin<Box<tokio::time::Sleep>>,
}

/// Run `work` until `deadline` on `timer` (see [`Conn::timer`]).
async fn until<T>(
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

/// The request body, as it will be sent.
enum Outbound {
    Buffered(Bytes),
    Streamed(Body, Option<u64>),
}

impl Upstream {
    pub fn new() -> Upstream {
        Upstream::default()
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
        match outbound {
            Outbound::Buffered(bytes) => {
                head.extend_from_slice(&bytes);
                if let Some(conn) = self.take(req.backend, started) {
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
                let conn = connect(req.backend, started, deadline).await?;
                self.exchange(conn, &head, req.method, deadline)
                    .await
                    .map_err(Attempt::into_error)
            }
            Outbound::Streamed(body, len) => {
                let mut conn = connect(req.backend, started, deadline).await?;
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

    /// An idle connection to `backend` that is still open and silent, if there is one. Bytes
    /// arriving on an idle connection are never taken as the answer to a later request.
    fn take(&self, backend: &str, now: Instant) -> Option<Conn> {
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
    fn release(&self, conn: Conn, keep_alive: bool) {
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
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Methods whose empty body is still announced with `Content-Length: 0`.
fn expects_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

async fn connect(
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

/// Reads a small body in full; leaves a large or unknown-length one to stream.
async fn prepare_body(body: Body) -> Result<Outbound, UpstreamError> {
    if body.is_end_stream() {
        return Ok(Outbound::Buffered(Bytes::new()));
    }
    match body.size_hint().exact() {
        Some(n) if n <= BUFFER_BODY_BYTES => {
            let bytes = body
                .collect()
                .await
                .map_err(UpstreamError::RequestBody)?
                .to_bytes();
            Ok(Outbound::Buffered(bytes))
        }
        len => Ok(Outbound::Streamed(body, len)),
    }
}

/// Sends the head and a streamed body while watching for the answer: a backend may answer (a
/// 401, a 413) without reading the body, and that answer is relayed, not a failed write. An early
/// answer that is not an error is relayed only once the client's body has ended within the size
/// limit (a body over it is refused, as API Gateway refuses it whatever the backend says).
/// Returns the answer's head and whether the whole request went out.
async fn send_streamed(
    conn: &mut Conn,
    head: &[u8],
    mut body: Body,
    len: Option<u64>,
) -> Result<(Head, bool), UpstreamError> {
    let early = {
        let (mut rd, mut wr) = conn.stream.split();
        let (buf, heads) = (&mut conn.buf, &mut conn.heads);
        let send = async {
            wr.write_all(head).await?;
            write_streamed(&mut wr, &mut body, len).await
        };
        let answer = read_head(&mut rd, buf, heads);
        tokio::pin!(send, answer);
        tokio::select! {
            biased;
            sent = &mut send => match sent {
                Ok(()) => return Ok((answer.await?, true)),
                // The backend may have answered and closed (a write then fails): its answer, if
                // readable, beats the error.
                Err(e @ UpstreamError::Io(_)) => match answer.await {
                    Ok(head) => head,
                    Err(_) => return Err(e),
                },
                Err(e) => return Err(e),
            },
            head = &mut answer => head?,
        }
    };
    if early.status.is_success() || early.status.is_redirection() {
        while let Some(frame) = body.frame().await {
            frame.map_err(UpstreamError::RequestBody)?;
        }
    }
    // Otherwise the body is dropped unread: a client still sending it is drained
    // (`body::from_client`), so that it reads this answer instead of a reset connection.
    Ok((early, false))
}

/// Streams a large request body: exactly `len` bytes, or chunked when the length is unknown.
async fn write_streamed<W: tokio::io::AsyncWrite + Unpin>(
    stream: &mut W,
    body: &mut Body,
    len: Option<u64>,
) -> Result<(), UpstreamError> {
    let mut sent = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(UpstreamError::RequestBody)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers are not forwarded
        };
        if data.is_empty() {
            continue;
        }
        sent += data.len() as u64;
        match len {
            Some(n) if sent > n => {
                return Err(UpstreamError::RequestBody(
                    "the request body is longer than its Content-Length".into(),
                ))
            }
            Some(_) => stream.write_all(&data).await?,
            None => {
                stream
                    .write_all(format!("{:x}\r\n", data.len()).as_bytes())
                    .await?;
                stream.write_all(&data).await?;
                stream.write_all(b"\r\n").await?;
            }
        }
    }
    match len {
        Some(n) if sent != n => Err(UpstreamError::RequestBody(
            "the request body is shorter than its Content-Length".into(),
        )),
        Some(_) => Ok(()),
        None => Ok(stream.write_all(b"0\r\n\r\n").await?),
    }
}

/// A response head, parsed. `headers` holds the end-to-end fields only: hop-by-hop ones (and
/// those `Connection` names) are read for the framing and connection handling here and never
/// reach the caller.
struct Head {
    status: StatusCode,
    /// The end-to-end fields, as received.
    relayed: Relayed,
    keep_alive: bool,
    /// `Transfer-Encoding` was present: `Some(true)` when its last coding is `chunked`.
    transfer_encoding: Option<bool>,
    /// The `Content-Length` value(s), agreed; an error when invalid or conflicting.
    content_length: Result<Option<u64>, &'static str>,
    /// As much of a small body (up to [`COPY_BODY_BYTES`]) as came with the head, copied.
    body: Bytes,
}

/// Reads the response head, skipping interim 1xx answers (but not 101).
async fn read_head<R: tokio::io::AsyncRead + Unpin>(
    stream: &mut R,
    buf: &mut BytesMut,
    heads: &mut BytesMut,
) -> Result<Head, UpstreamError> {
    let mut received = false;
    loop {
        if !buf.is_empty() {
            if let Some(head) = parse_head(buf, heads)? {
                let interim = head.status.is_informational()
                    && head.status != StatusCode::SWITCHING_PROTOCOLS;
                if !interim {
                    return Ok(head);
                }
                continue;
            }
            if buf.len() > MAX_HEAD_BYTES {
                return Err(UpstreamError::Malformed(format!(
                    "the response head is larger than {MAX_HEAD_BYTES} bytes"
                )));
            }
        }
        buf.reserve(READ_CHUNK);
        if stream.read_buf(buf).await? == 0 {
            return Err(if received {
                UpstreamError::Malformed("the connection closed in the middle of the head".into())
            } else {
                UpstreamError::Closed
            });
        }
        received = true;
    }
}

/// Whether `name` is a hop-by-hop field (RFC 9110 §7.6.1), compared without regard to case.
fn is_hop_by_hop_name(name: &[u8]) -> bool {
    super::http::HOP_BY_HOP
        .iter()
        .any(|h| h.len() == name.len() && h.as_bytes().eq_ignore_ascii_case(name))
}

/// Parses one head from the front of `buf` and consumes it (the body stays in `buf`); `None`
/// when more bytes are needed. The head is copied to `heads`.
fn parse_head(buf: &mut BytesMut, heads: &mut BytesMut) -> Result<Option<Head>, UpstreamError> {
    let mut slots = [std::mem::MaybeUninit::<httparse::Header>::uninit(); MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut parsed,
        buf,
        &mut slots,
    ) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(UpstreamError::Malformed(e.to_string())),
    };
    let code = parsed.code.unwrap_or(0);
    let status = StatusCode::from_u16(code)
        .map_err(|_| UpstreamError::Malformed(format!("status code {code}")))?;
    // The fields that govern framing and the connection, read from the raw head.
    let (mut close, mut keep_alive_token, mut listed) = (false, false, false);
    let mut transfer_encoding = None;
    let mut content_length: Result<Option<u64>, &'static str> = Ok(None);
    for h in parsed.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"connection") {
            for t in tokens(h.value) {
                if t.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if t.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive_token = true;
                } else if !is_hop_by_hop_name(t) {
                    listed = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let mut chunked = transfer_encoding.unwrap_or(false);
            for t in tokens(h.value) {
                chunked = t.eq_ignore_ascii_case(b"chunked");
            }
            transfer_encoding = Some(chunked);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            for part in h.value.split(|b| *b == b',') {
                let part = part.trim_ascii();
                let n = std::str::from_utf8(part)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok());
                content_length = match (content_length, n) {
                    (Err(e), _) => Err(e),
                    (_, None) => Err("invalid Content-Length"),
                    (Ok(Some(l)), Some(n)) if l != n => Err("conflicting Content-Length values"),
                    (Ok(_), Some(n)) => Ok(Some(n)),
                };
            }
        }
    }
    // Fields `Connection` names beyond the standard hop-by-hop ones (rare).
    let listed: Vec<&[u8]> = if listed {
        parsed
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("connection"))
            .flat_map(|h| tokens(h.value))
            .collect()
    } else {
        Vec::new()
    };
    // One copy of the end-to-end fields, as `name: value` lines, followed by a small body that
    // came with the head. The read buffer itself is not shared, so the connection keeps reusing
    // it; the lines go to the client as they are (see [`Relayed`]).
    let body_with_head = match (transfer_encoding, content_length) {
        (None, Ok(Some(n))) if n <= COPY_BODY_BYTES => (n as usize).min(buf.len() - len),
        _ => 0,
    };
    // Room for both at once (a rebuilt line is at most two bytes longer than the original: a
    // space after the colon, a CR before a bare LF), so the buffer is not regrown between them
    // and the lines, once split off, share it.
    heads.reserve(len + 2 * parsed.headers.len() + body_with_head);
    let (mut has_date, mut names) = (false, 0u64);
    let head_start = buf.as_ptr() as usize;
    // Lines that follow each other in the head are copied as one run.
    let mut run: Option<(usize, usize)> = None;
    for h in parsed.headers.iter() {
        let name = h.name.as_bytes();
        if is_hop_by_hop_name(name)
            || name.eq_ignore_ascii_case(b"content-length")
            || listed.iter().any(|l| l.eq_ignore_ascii_case(name))
        {
            continue;
        }
        has_date |= name.eq_ignore_ascii_case(b"date");
        names |= crate::net::headers::name_bit(name);
        // The line as the backend wrote it (httparse has checked it), when it ends right after
        // its value; otherwise rebuilt.
        let start = (name.as_ptr() as usize).wrapping_sub(head_start);
        let end = (h.value.as_ptr() as usize)
            .wrapping_sub(head_start)
            .wrapping_add(h.value.len());
        let verbatim = !h.value.is_empty()
            && start < end
            && end.checked_add(2).is_some_and(|e| e <= len)
            && buf[end..end + 2] == *b"\r\n";
        if verbatim {
            match &mut run {
                Some((_, run_end)) if *run_end == start => *run_end = end + 2,
                _ => {
                    if let Some((a, b)) = run.take() {
                        heads.extend_from_slice(&buf[a..b]);
                    }
                    run = Some((start, end + 2));
                }
            }
            continue;
        }
        if let Some((a, b)) = run.take() {
            heads.extend_from_slice(&buf[a..b]);
        }
        heads.extend_from_slice(name);
        heads.extend_from_slice(b": ");
        heads.extend_from_slice(h.value);
        heads.extend_from_slice(b"\r\n");
    }
    if let Some((a, b)) = run {
        heads.extend_from_slice(&buf[a..b]);
    }
    let lines = heads.split().freeze();
    heads.extend_from_slice(&buf[len..len + body_with_head]);
    let body = heads.split().freeze();
    // A length beside `Transfer-Encoding` is wrong by definition (RFC 9112 §6.3): the client
    // never sees a length the relayed body does not have.
    let relayed = Relayed::new(
        lines,
        match (transfer_encoding, &content_length) {
            (None, Ok(n)) => *n,
            _ => None,
        },
        has_date,
        names,
    );
    // HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only when asked to. A
    // length beside `Transfer-Encoding` makes the connection untrusted for reuse.
    let keep_alive = if parsed.version == Some(1) {
        !close
    } else {
        keep_alive_token
    };
    let conflict = transfer_encoding.is_some() && !matches!(content_length, Ok(None));
    buf.advance(len);
    Ok(Some(Head {
        status,
        relayed,
        keep_alive: keep_alive && !conflict,
        transfer_encoding,
        content_length,
        body,
    }))
}

enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// How the response body is delimited (RFC 9112 §6.3).
fn response_framing(method: &Method, head: &Head) -> Result<Framing, UpstreamError> {
    let status = head.status;
    if *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(Framing::Length(0));
    }
    match (head.transfer_encoding, head.content_length) {
        (Some(true), _) => Ok(Framing::Chunked),
        (Some(false), _) => Ok(Framing::UntilClose),
        (None, Err(e)) => Err(UpstreamError::Malformed(e.into())),
        (None, Ok(Some(n))) => Ok(Framing::Length(n)),
        (None, Ok(None)) => Ok(Framing::UntilClose),
    }
}

/// Where a streamed response body is.
enum State {
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    UntilClose,
    Done,
}

/// A response body read from the backend connection as the client takes it. Complete, the
/// connection goes back to the pool; dropped early, it is closed.
struct UpstreamBody {
    conn: Option<Conn>,
    state: State,
    keep_alive: bool,
    pool: Upstream,
}

fn broken(msg: &str) -> BoxError {
    msg.to_string().into()
}

impl UpstreamBody {
    fn finish(&mut self) {
        self.state = State::Done;
        if let Some(conn) = self.conn.take() {
            self.pool.release(conn, self.keep_alive);
        }
    }
}

/// Reads more from the backend into `conn.buf`; `Ok(0)` at the end of the connection.
fn poll_fill(conn: &mut Conn, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
    conn.buf.reserve(READ_CHUNK);
    loop {
        ready!(conn.stream.poll_read_ready(cx))?;
        match conn.stream.try_read_buf(&mut conn.buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            other => return Poll::Ready(other),
        }
    }
}

/// The line before the first CRLF in `buf`, consumed with it; `None` until a whole line is there.
fn take_line(buf: &mut BytesMut) -> Result<Option<Bytes>, BoxError> {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(i) => {
            let line = buf.split_to(i).freeze();
            buf.advance(2);
            Ok(Some(line))
        }
        None if buf.len() > MAX_LINE_BYTES => Err(broken("a chunked-body line is too long")),
        None => Ok(None),
    }
}

fn chunk_size(line: &[u8]) -> Result<u64, BoxError> {
    let digits = line.split(|b| *b == b';').next().unwrap_or_default();
    let digits = std::str::from_utf8(digits)
        .map_err(|_| broken("invalid chunk size"))?
        .trim();
    if digits.is_empty() || digits.len() > 15 {
        return Err(broken("invalid chunk size"));
    }
    u64::from_str_radix(digits, 16).map_err(|_| broken("invalid chunk size"))
}

impl http_body::Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            // Consume what is buffered; `None` means more bytes are needed.
            let step: Option<Result<Frame<Bytes>, BoxError>> = match this.state {
                State::Done => {
                    this.finish();
                    return Poll::Ready(None);
                }
                State::Length(0) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                State::Length(n) if !conn.buf.is_empty() => {
                    let take = n.min(conn.buf.len() as u64);
                    let data = conn.buf.split_to(take as usize).freeze();
                    this.state = State::Length(n - take);
                    if take == n {
                        // Release now: a consumer that sees the end may not poll again.
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                State::ChunkData(n) if !conn.buf.is_empty() => {
                    let take = n.min(conn.buf.len() as u64);
                    this.state = if take == n {
                        State::ChunkEnd
                    } else {
                        State::ChunkData(n - take)
                    };
                    Some(Ok(Frame::data(conn.buf.split_to(take as usize).freeze())))
                }
                State::UntilClose if !conn.buf.is_empty() => {
                    Some(Ok(Frame::data(conn.buf.split().freeze())))
                }
                State::ChunkSize => match take_line(&mut conn.buf) {
                    Err(e) => Some(Err(e)),
                    Ok(None) => None,
                    Ok(Some(line)) => match chunk_size(&line) {
                        Err(e) => Some(Err(e)),
                        Ok(0) => {
                            this.state = State::Trailers;
                            continue;
                        }
                        Ok(n) => {
                            this.state = State::ChunkData(n);
                            continue;
                        }
                    },
                },
                State::ChunkEnd if conn.buf.len() >= 2 => {
                    if &conn.buf[..2] != b"\r\n" {
                        Some(Err(broken("a chunk does not end with CRLF")))
                    } else {
                        conn.buf.advance(2);
                        this.state = State::ChunkSize;
                        continue;
                    }
                }
                State::Trailers => match take_line(&mut conn.buf) {
                    Err(e) => Some(Err(e)),
                    Ok(None) => None,
                    Ok(Some(line)) => {
                        if line.is_empty() {
                            this.finish();
                            return Poll::Ready(None);
                        }
                        continue; // trailer fields are not forwarded
                    }
                },
                _ => None,
            };
            if let Some(result) = step {
                if result.is_err() {
                    this.conn = None; // never reuse a connection in an unknown state
                    this.state = State::Done;
                }
                return Poll::Ready(Some(result));
            }
            match ready!(poll_fill(conn, cx)) {
                Ok(0) => {
                    if matches!(this.state, State::UntilClose) {
                        this.conn = None;
                        this.state = State::Done;
                        return Poll::Ready(None);
                    }
                    this.conn = None;
                    this.state = State::Done;
                    return Poll::Ready(Some(Err(broken(
                        "the backend closed the connection before the end of the body",
                    ))));
                }
                Ok(_) => {}
                Err(e) => {
                    this.conn = None;
                    this.state = State::Done;
                    return Poll::Ready(Some(Err(Box::new(e))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none() || matches!(self.state, State::Done | State::Length(0))
    }

    fn size_hint(&self) -> SizeHint {
        match self.state {
            State::Length(n) => SizeHint::with_exact(n),
            State::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Result<Option<Head>, UpstreamError> {
        parse_head(&mut BytesMut::from(raw), &mut BytesMut::new())
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_header() {
        let cases: [(&[u8], bool); 4] = [
            (b"HTTP/1.1 200 OK\r\n\r\n", true),
            (b"HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n", false),
            (b"HTTP/1.0 200 OK\r\n\r\n", false),
            (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", true),
        ];
        for (raw, keep) in cases {
            let h = head(raw).unwrap().unwrap();
            assert_eq!(h.keep_alive, keep, "{}", String::from_utf8_lossy(raw));
        }
        assert!(head(b"HTTP/1.1 200 OK\r\nContent-").unwrap().is_none());
        assert!(head(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").is_err());
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let f = |m: &Method, status: u16, fields: &[(&str, &str)]| {
            let mut raw = format!("HTTP/1.1 {status} X\r\n");
            for (k, v) in fields {
                raw.push_str(&format!("{k}: {v}\r\n"));
            }
            raw.push_str("\r\n");
            let h = head(raw.as_bytes()).unwrap().unwrap();
            match response_framing(m, &h) {
                Ok(Framing::Length(n)) => format!("length {n}"),
                Ok(Framing::Chunked) => "chunked".into(),
                Ok(Framing::UntilClose) => "close".into(),
                Err(e) => format!("error: {e}"),
            }
        };
        let get = &Method::GET;
        assert_eq!(f(get, 200, &[("content-length", "12")]), "length 12");
        assert_eq!(f(get, 200, &[("Content-Length", "12, 12")]), "length 12");
        assert_eq!(
            f(
                get,
                200,
                &[("content-length", "12"), ("content-length", "12")]
            ),
            "length 12"
        );
        assert!(f(get, 200, &[("content-length", "12, 13")]).starts_with("error"));
        assert!(f(
            get,
            200,
            &[("content-length", "12"), ("content-length", "13")]
        )
        .starts_with("error"));
        assert!(f(get, 200, &[("content-length", "-1")]).starts_with("error"));
        assert!(f(get, 200, &[("content-length", "+5")]).starts_with("error"));
        assert!(f(get, 200, &[("content-length", "")]).starts_with("error"));
        let te = [
            ("transfer-encoding", "gzip, chunked"),
            ("content-length", "3"),
        ];
        assert_eq!(f(get, 200, &te), "chunked");
        assert_eq!(
            f(
                get,
                200,
                &[
                    ("transfer-encoding", "gzip"),
                    ("transfer-encoding", "Chunked")
                ]
            ),
            "chunked"
        );
        assert_eq!(
            f(get, 200, &[("transfer-encoding", "chunked, gzip")]),
            "close"
        );
        assert_eq!(
            f(
                get,
                200,
                &[("transfer-encoding", "chunked"), ("content-length", "x")]
            ),
            "chunked",
            "a length beside Transfer-Encoding is not read"
        );
        assert_eq!(f(get, 200, &[]), "close");
        let cl = [("content-length", "12")];
        assert_eq!(f(&Method::HEAD, 200, &cl), "length 0");
        assert_eq!(f(get, 204, &[]), "length 0");
        assert_eq!(f(get, 304, &cl), "length 0");
    }

    #[test]
    fn hop_by_hop_fields_never_reach_the_caller() {
        let h = head(
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=5\r\n\
              X-Private: 1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nTE: x\r\n\
              Trailer: y\r\nUpgrade: z\r\nProxy-Authenticate: w\r\nX-Kept: 2\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        let names: Vec<&[u8]> = h.relayed.lines().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"X-Kept"[..]]);
        assert_eq!(h.relayed.content_length, None);
        assert!(
            !h.keep_alive,
            "a length beside Transfer-Encoding: not reused"
        );
        let h = head(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nDate: x\r\nX-A:1\r\nX-B:\r\n\r\nok",
        )
        .unwrap()
        .unwrap();
        let lines: Vec<&[u8]> = h.relayed.lines().map(|(_, l)| l).collect();
        assert_eq!(lines, [&b"Date: x\r\n"[..], b"X-A:1\r\n", b"X-B: \r\n"]);
        assert_eq!(h.relayed.content_length, Some(2));
        assert!(h.relayed.has_date);
        assert!(h.keep_alive);
        assert_eq!(&h.body[..], b"ok", "the small body is copied with the head");
    }

    #[test]
    fn chunk_sizes_are_hex_with_optional_extensions() {
        assert_eq!(chunk_size(b"1a").unwrap(), 26);
        assert_eq!(chunk_size(b"A;name=value").unwrap(), 10);
        assert_eq!(chunk_size(b"0").unwrap(), 0);
        assert!(chunk_size(b"").is_err());
        assert!(chunk_size(b"xyz").is_err());
        assert!(chunk_size(b"1234567890abcdef0").is_err());
    }

    #[test]
    fn the_request_head_carries_the_framing() {
        let head = |method: &Method, target: &str| {
            let mut h = RequestHead::new(method, target, 1);
            assert!(h.field("host", &[b"backend", b":8080"]));
            assert!(
                !h.field("x-bad", &[b"a\r\nx-injected: 1"]),
                "a value with CR LF is refused"
            );
            h
        };
        let raw = head(&Method::POST, "/a?b=1").finish(Some(Some(5)));
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            "POST /a?b=1 HTTP/1.1\r\nhost: backend:8080\r\ncontent-length: 5\r\n\r\n"
        );
        let raw = head(&Method::GET, "").finish(None);
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            "GET / HTTP/1.1\r\nhost: backend:8080\r\n\r\n"
        );
        let raw = RequestHead::new(&Method::PUT, "/x", 0).finish(Some(None));
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            "PUT /x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
        );
    }
}
