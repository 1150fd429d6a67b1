//! One client connection. gw answers plain HTTP/1.1 itself: it reads each request head with
//! httparse, a body of known length up to [`SHORT_BODY_BYTES`] in full, hands the request to
//! the front door ([`door::handle`]) and writes the answer, so a keep-alive request costs one read and one
//! write, with no dispatcher, channel or per-request timer between the socket and the gateway.
//!
//! Everything else — HTTP/1.0, HTTP/2 (h2c), a chunked or larger body, `Expect`, `Upgrade`, a
//! head gw does not take (too large, too many headers, malformed) — is handed to hyper together
//! with the bytes already read, at that request's first byte, and hyper serves the connection
//! from there on. The short path only ever sees whole requests it fully understands; the
//! rare cases keep hyper's complete implementation (its 400s, 431s and 100-continue included).
//!
//! Time limits: a request head must arrive within `header_read_timeout` of its first byte (of
//! the connection's start, for the first request); a keep-alive connection may wait
//! [`IDLE_TIMEOUT`] for its next request. One timer per connection enforces both, re-armed only
//! when it fires early, never per request.

use super::door::{self, Door};
use crate::gateway::dispatch;
use crate::net::body::{self, Body};
use crate::net::headers::tokens;
use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use std::future::Future as _;
use std::io::{self, Write as _};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// Request bodies with a `Content-Length` up to this size are read in full on the short path.
pub const SHORT_BODY_BYTES: u64 = 64 * 1024;
/// A request head larger than this goes to hyper (which answers 431).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// A request with more headers than this goes to hyper.
const MAX_HEADERS: usize = 64;
const READ_CHUNK: usize = 8 * 1024;
/// Response bodies up to this size are written together with the head, in one write.
const COALESCE_BYTES: usize = 16 * 1024;
/// How long a keep-alive connection may wait for its next request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// What the worker knows about a connection, to close it at shutdown.
#[derive(Default)]
pub struct Flags {
    /// Waiting for the first byte of a request: nothing is lost by closing it now.
    pub idle: AtomicBool,
}

/// What every connection of a worker shares.
pub struct Worker {
    pub door: Arc<Door>,
    pub hyper: auto::Builder<TokioExecutor>,
    pub header_read_timeout: Duration,
    /// Set at shutdown: finish the request in flight, then close.
    pub stop: Arc<AtomicBool>,
}

/// Serve one connection until the client closes it, a time limit passes or the worker stops.
pub async fn serve(
    stream: TcpStream,
    remote: SocketAddr,
    worker: Arc<Worker>,
    flags: Arc<Flags>,
    graceful: Watcher,
) {
    let mut stream = stream;
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = Vec::with_capacity(1024);
    let timer = tokio::time::sleep(worker.header_read_timeout);
    tokio::pin!(timer);
    let mut first = true;
    let mut peer = dispatch::Peer::new(remote);
    peer.local_port = stream.local_addr().map_or(0, |a| a.port());
    loop {
        if worker.stop.load(Ordering::Relaxed) {
            return;
        }
        // A whole request head, or the reason to stop.
        let mut deadline = None;
        let head = loop {
            if !buf.is_empty() {
                match parse_head(&mut buf) {
                    Ok(Some(head)) => break head,
                    Ok(None) => {}
                    Err(Unsupported) => {
                        let read = buf.split().freeze();
                        return to_hyper(stream, read, peer, first, &worker, graceful).await;
                    }
                }
            }
            let waiting_for_first_byte = buf.is_empty() && !first;
            let limit = match deadline {
                Some(d) => d,
                None => {
                    let d = Instant::now()
                        + if waiting_for_first_byte {
                            IDLE_TIMEOUT
                        } else {
                            worker.header_read_timeout
                        };
                    deadline = Some(d);
                    d
                }
            };
            flags.idle.store(buf.is_empty(), Ordering::Relaxed);
            let read = fill(&mut stream, &mut buf, timer.as_mut(), limit).await;
            flags.idle.store(false, Ordering::Relaxed);
            match read {
                Ok(0) | Err(_) => return,
                Ok(_) if waiting_for_first_byte => {
                    // The head's own limit runs from its first byte.
                    deadline = None;
                }
                Ok(_) => {}
            }
        };
        first = false;
        let Head {
            mut request,
            body_len,
            close,
        } = head;
        if body_len > 0 {
            let limit = Instant::now() + IDLE_TIMEOUT;
            while (buf.len() as u64) < body_len {
                match fill(&mut stream, &mut buf, timer.as_mut(), limit).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
            *request.body_mut() = body::full(buf.split_to(body_len as usize).freeze());
        }
        let head_request = request.method() == Method::HEAD;
        let response = door::handle(&worker.door, request, &peer).await;
        match write_response(&mut stream, &mut out, response, head_request, close).await {
            Ok(true) => {}
            Ok(false) | Err(_) => return,
        }
    }
}

/// The parsed request, ready for [`door::handle`] (its body filled in once read).
struct Head {
    request: Request<Body>,
    body_len: u64,
    /// The client asked to close the connection after this request.
    close: bool,
}

/// The request is not for the short path: hyper takes the connection.
struct Unsupported;

/// Where a header sits in the buffer: name and value as byte ranges.
#[derive(Clone, Copy, Default)]
struct Span {
    name: (u32, u32),
    value: (u32, u32),
}

/// Parse the request head at the start of `buf`. `Ok(None)`: incomplete; on success the head's
/// bytes are taken out of `buf` (header values and the path are slices of them, not copies).
fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, Unsupported> {
    let mut spans = [Span::default(); MAX_HEADERS];
    let mut slots = [MaybeUninit::<httparse::Header>::uninit(); MAX_HEADERS];
    let base = buf.as_ptr() as usize;
    let offset = |s: &[u8]| (s.as_ptr() as usize - base) as u32;
    let (len, method, path, count, body_len, close) = {
        let mut req = httparse::Request::new(&mut []);
        let len = match req.parse_with_uninit_headers(&buf[..], &mut slots) {
            Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD_BYTES => len,
            Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD_BYTES => return Ok(None),
            Ok(httparse::Status::Complete(_)) => return Err(Unsupported),
            Ok(httparse::Status::Partial) | Err(_) => return Err(Unsupported),
        };
        if req.version != Some(1) {
            return Err(Unsupported);
        }
        let method = Method::from_bytes(req.method.unwrap_or_default().as_bytes())
            .map_err(|_| Unsupported)?;
        let path = req.path.ok_or(Unsupported)?.as_bytes();
        let path = (offset(path), offset(path) + path.len() as u32);
        let mut body_len = None;
        let mut close = false;
        for (span, h) in spans.iter_mut().zip(req.headers.iter()) {
            let name = h.name.as_bytes();
            let lower = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
            if lower("content-length") {
                let n = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .ok_or(Unsupported)?;
                if body_len.is_some_and(|b| b != n) || n > SHORT_BODY_BYTES {
                    return Err(Unsupported);
                }
                body_len = Some(n);
            } else if lower("transfer-encoding") || lower("expect") || lower("upgrade") {
                return Err(Unsupported);
            } else if lower("connection") {
                close |= tokens(h.value).any(|t| t.eq_ignore_ascii_case(b"close"));
            }
            *span = Span {
                name: (offset(name), offset(name) + name.len() as u32),
                value: (offset(h.value), offset(h.value) + h.value.len() as u32),
            };
        }
        (
            len,
            method,
            path,
            req.headers.len(),
            body_len.unwrap_or(0),
            close,
        )
    };
    let head = buf.split_to(len).freeze();
    let slice = |(a, b): (u32, u32)| head.slice(a as usize..b as usize);
    let uri = Uri::from_maybe_shared(slice(path)).map_err(|_| Unsupported);
    let mut headers = crate::net::headers::map(count);
    for span in &spans[..count] {
        let (a, b) = span.name;
        let name = HeaderName::from_bytes(&head[a as usize..b as usize]);
        let value = HeaderValue::from_maybe_shared(slice(span.value));
        match (name, value) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => return put_back(buf, head),
        }
    }
    let Ok(uri) = uri else {
        return put_back(buf, head);
    };
    let mut request = Request::new(body::empty());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(Some(Head {
        request,
        body_len,
        close,
    }))
}

/// A head httparse took but the `http` types refuse: its bytes go back in front of the buffer,
/// for hyper to answer.
fn put_back(buf: &mut BytesMut, head: Bytes) -> Result<Option<Head>, Unsupported> {
    let mut whole = BytesMut::with_capacity(head.len() + buf.len());
    whole.extend_from_slice(&head);
    whole.extend_from_slice(buf);
    *buf = whole;
    Err(Unsupported)
}

/// Read more into `buf`, giving up at `deadline`. The timer is shared by every wait of the
/// connection: it is moved earlier when needed, and when it fires before `deadline` it is
/// simply re-armed, so a wait usually costs no timer operation at all.
async fn fill(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    mut timer: Pin<&mut Sleep>,
    deadline: Instant,
) -> io::Result<usize> {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(READ_CHUNK);
    }
    let deadline = tokio::time::Instant::from_std(deadline);
    if timer.deadline() > deadline {
        timer.as_mut().reset(deadline);
    }
    loop {
        tokio::select! {
            biased;
            read = stream.read_buf(buf) => return read,
            () = &mut timer => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                timer.as_mut().reset(deadline);
            }
        }
    }
}

/// Write `response`; `Ok(false)` when the connection must close afterwards.
async fn write_response(
    stream: &mut TcpStream,
    out: &mut Vec<u8>,
    answer: dispatch::Answer,
    head_request: bool,
    client_close: bool,
) -> io::Result<bool> {
    let dispatch::Answer {
        response,
        relayed,
        fields,
    } = answer;
    let (parts, mut body) = response.into_parts();
    let status = parts.status;
    // A proxied answer's fields, as the backend sent them (the map holds only gw's own).
    let relayed = relayed.as_ref();
    // gw's own fields, beside the map too: they replace fields of their names.
    let replaced_by_gw = |name: &[u8]| fields.sets(name);
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(relayed) = relayed {
        // A field gw sets replaces the backend's of that name.
        let replaces = |name: &[u8]| {
            replaced_by_gw(name)
                || parts.headers.keys().any(|k| {
                    k.as_str().len() == name.len()
                        && k.as_str().as_bytes().eq_ignore_ascii_case(name)
                })
        };
        if relayed.may_have_any(dispatch::GATEWAY_NAME_BITS)
            || parts
                .headers
                .keys()
                .any(|k| relayed.may_have(k.as_str().as_bytes()))
        {
            for (name, line) in relayed.lines() {
                if !replaces(name) {
                    out.extend_from_slice(line);
                }
            }
        } else {
            out.extend_from_slice(relayed.all());
        }
    }
    // The map's fields, and what they say about the length, the date and the connection, read
    // in the same pass (the framing fields are gw's to write, below).
    let mut declared = None;
    let mut close = client_close;
    let mut has_date = relayed.is_some_and(|r| r.has_date);
    let mut has_connection = false;
    for (name, value) in &parts.headers {
        if name == CONTENT_LENGTH {
            if declared.is_none() {
                declared = std::str::from_utf8(value.as_bytes())
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok());
            }
            continue;
        }
        if name == TRANSFER_ENCODING || replaced_by_gw(name.as_str().as_bytes()) {
            continue;
        }
        if name == DATE {
            has_date = true;
        } else if name == CONNECTION {
            has_connection = true;
            close |= tokens(value.as_bytes()).any(|t| t.eq_ignore_ascii_case(b"close"));
        }
        header_line(out, name.as_str().as_bytes(), value.as_bytes());
    }
    for (name, value) in fields.iter() {
        header_line(out, name.as_bytes(), value);
    }
    let declared = declared.or(relayed.and_then(|r| r.content_length));
    let no_body = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    // The body's own length wins, except for HEAD, whose answer announces the length a GET would
    // have (the body itself is empty).
    let length = if head_request {
        declared.or(body.size_hint().exact())
    } else {
        body.size_hint().exact().or(declared)
    };
    if !has_date {
        date_line(out);
    }
    let chunked = if status.is_informational() || status == StatusCode::NO_CONTENT {
        false
    } else if status == StatusCode::NOT_MODIFIED {
        if let Some(n) = declared {
            length_line(out, n);
        }
        false
    } else if let Some(n) = length {
        length_line(out, n);
        false
    } else {
        !head_request
    };
    if chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    if close && !has_connection {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    crate::net::headers::recycle(parts.headers);
    if no_body {
        stream.write_all(out).await?;
        return Ok(!close);
    }
    // The body: what is ready at once goes out with the head in one write; whatever has to be
    // waited for is preceded by a flush, so a slow or streaming body is relayed as it comes.
    let mut written = 0u64;
    loop {
        let mut next = std::pin::pin!(body.frame());
        let ready = std::future::poll_fn(|cx| Poll::Ready(next.as_mut().poll(cx))).await;
        let frame = match ready {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                if !out.is_empty() {
                    stream.write_all(out).await?;
                    out.clear();
                }
                next.await
            }
        };
        let Some(frame) = frame else { break };
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                // The head (and what came of the body) still goes out: the client sees the
                // answer cut short, not a connection closed without one.
                stream.write_all(out).await?;
                return Err(io::Error::other(e));
            }
        };
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers are not relayed
        };
        if let Some(n) = length {
            // Never more than the length announced.
            let room = n.saturating_sub(written);
            if (data.len() as u64) > room {
                data.truncate(room as usize);
            }
        }
        if data.is_empty() {
            continue;
        }
        written += data.len() as u64;
        if chunked {
            let _ = write!(out, "{:x}\r\n", data.len());
        }
        if out.len() + data.len() <= COALESCE_BYTES {
            out.extend_from_slice(&data);
        } else {
            stream.write_all(out).await?;
            out.clear();
            write_bytes(stream, data).await?;
        }
        if chunked {
            out.extend_from_slice(b"\r\n");
        }
    }
    if chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    if !out.is_empty() {
        stream.write_all(out).await?;
    }
    // A body shorter than announced leaves the client waiting for bytes that never come: close.
    let complete = length.is_none_or(|n| n == written);
    Ok(complete && !close)
}

async fn write_bytes(stream: &mut TcpStream, mut data: Bytes) -> io::Result<()> {
    while data.has_remaining() {
        let n = stream.write(&data).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        data.advance(n);
    }
    Ok(())
}

fn header_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn length_line(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"content-length: ");
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

thread_local! {
    /// The `date` header line, formatted once per second per worker.
    static DATE_LINE: std::cell::RefCell<(i64, Vec<u8>)> = const { std::cell::RefCell::new((i64::MIN, Vec::new())) };
}

fn date_line(out: &mut Vec<u8>) {
    let now = chrono::Utc::now();
    DATE_LINE.with_borrow_mut(|(second, line)| {
        if *second != now.timestamp() {
            *second = now.timestamp();
            line.clear();
            line.extend_from_slice(
                now.format("date: %a, %d %b %Y %H:%M:%S GMT\r\n")
                    .to_string()
                    .as_bytes(),
            );
        }
        out.extend_from_slice(line);
    });
}

/// Hand the connection to hyper, `read` (the bytes read and not yet answered) first. `first`:
/// no request has been served on it yet.
async fn to_hyper(
    stream: TcpStream,
    read: Bytes,
    peer: dispatch::Peer,
    first: bool,
    worker: &Worker,
    graceful: Watcher,
) {
    let io = Rewind {
        prefix: read,
        inner: stream,
    };
    serve_hyper(io, peer, first, worker, graceful).await
}

/// Serve one TLS connection: the handshake (bounded by the header read timeout; the name the
/// client asks for chooses the certificate, and whether a client certificate is required), then
/// hyper, HTTP/2 or HTTP/1.1 as ALPN chose.
pub async fn serve_tls(
    stream: TcpStream,
    remote: SocketAddr,
    worker: Arc<Worker>,
    tls: Arc<super::tls::Acceptance>,
    graceful: Watcher,
) {
    let mut peer = dispatch::Peer::new(remote);
    peer.local_port = stream.local_addr().map_or(0, |a| a.port());
    let handshake = tls.accept(stream);
    let (stream, info) = match tokio::time::timeout(worker.header_read_timeout, handshake).await {
        Ok(Ok(accepted)) => accepted,
        Ok(Err(e)) => {
            tracing::debug!("TLS connection from {remote}: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!(
                "TLS connection from {remote}: no handshake within {:?}; closed",
                worker.header_read_timeout
            );
            return;
        }
    };
    peer.tls = Some(Arc::new(info));
    serve_hyper(stream, peer, true, &worker, graceful).await
}

/// Serve a connection through hyper from its next byte on.
async fn serve_hyper<I>(
    io: I,
    peer: dispatch::Peer,
    first: bool,
    worker: &Worker,
    graceful: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let door = worker.door.clone();
    let remote = peer.addr;
    let peer = Arc::new(peer);
    // hyper's header read timeout starts only once the HTTP version is known; a client that
    // trickles the HTTP/2 preface would hold its socket and task forever. Until the first
    // request arrives, the same timeout bounds it here.
    let started = Arc::new(AtomicBool::new(!first));
    let seen = started.clone();
    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
        seen.store(true, Ordering::Relaxed);
        let (door, peer) = (door.clone(), peer.clone());
        let expects_continue = req
            .headers()
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let req = req.map(|b| body::from_client(b, expects_continue));
        async move {
            let answer = door::handle(&door, req, &peer).await;
            Ok::<_, std::convert::Infallible>(answer.into_response())
        }
    });
    let io = TokioIo::new(io);
    let conn = graceful.watch(worker.hyper.serve_connection(io, service).into_owned());
    tokio::pin!(conn);
    let result = tokio::select! {
        r = &mut conn => r,
        () = tokio::time::sleep(worker.header_read_timeout) => {
            if !started.load(Ordering::Relaxed) {
                tracing::debug!("connection from {remote}: no request within {:?}; closed", worker.header_read_timeout);
                return;
            }
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!("connection from {remote}: {e}");
    }
}

/// A socket with bytes already read from it put back in front.
struct Rewind {
    prefix: Bytes,
    inner: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<Option<Head>, Unsupported> {
        let mut buf = BytesMut::from(raw.as_bytes());
        parse_head(&mut buf)
    }

    #[test]
    fn plain_requests_take_the_short_path() {
        let mut buf = BytesMut::from(
            &b"POST /prod/pets?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nX-Y: z\r\nConnection: keep-alive, close\r\n\r\nhiGET"[..],
        );
        let Ok(Some(head)) = parse_head(&mut buf) else {
            panic!("not parsed")
        };
        assert_eq!(head.request.method(), Method::POST);
        assert_eq!(head.request.uri().path(), "/prod/pets");
        assert_eq!(head.request.uri().query(), Some("x=1"));
        assert_eq!(head.request.headers()["x-y"], "z");
        assert_eq!(head.body_len, 2);
        assert!(head.close);
        assert_eq!(
            &buf[..],
            b"hiGET",
            "the body and what follows stay in the buffer"
        );
        assert!(matches!(parse("GET / HTTP/1.1\r\nHost: a\r\n"), Ok(None)));
    }

    #[test]
    fn everything_else_goes_to_hyper() {
        for raw in [
            "GET / HTTP/1.0\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
        ] {
            assert!(matches!(parse(raw), Err(Unsupported)), "{raw:?}");
        }
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "a: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert!(matches!(parse(&many), Err(Unsupported)));
    }

    #[test]
    fn a_refused_head_is_put_back_whole() {
        // httparse takes this path; http's Uri refuses `<` (hyper answers it with a 400).
        let raw = b"GET /a<b HTTP/1.1\r\nx: y\r\n\r\nnext";
        let mut buf = BytesMut::from(&raw[..]);
        assert!(matches!(parse_head(&mut buf), Err(Unsupported)));
        assert_eq!(&buf[..], &raw[..]);
    }

    #[test]
    fn lengths_are_written_in_decimal() {
        let mut out = Vec::new();
        length_line(&mut out, 0);
        length_line(&mut out, 1234567);
        assert_eq!(out, b"content-length: 0\r\ncontent-length: 1234567\r\n");
    }
}
