//! The request side of an exchange: the request head as it is written (request line, fields,
//! then the framing once the body is known), and the body: read in full when small (sent with
//! the head in one write, and replayable), streamed otherwise, exactly `Content-Length` bytes or
//! chunked, while the answer is already being read so that a backend answering early is relayed.

use super::framing::{read_head, Head};
use super::pool::Conn;
use super::{UpstreamError, BUFFER_BODY_BYTES};
use crate::net::body::Body;
use bytes::Bytes;
use http::Method;
use http_body::Body as _;
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

/// A request head being written: the request line, then one line per field. The fields must
/// not include framing (`Content-Length`, `Transfer-Encoding`) or hop-by-hop ones.
#[derive(Clone)]
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
    pub(super) fn finish(self, framing: Option<Option<u64>>) -> Vec<u8> {
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

/// The request body, as it will be sent.
pub(super) enum Outbound {
    Buffered(Bytes),
    Streamed(Body, Option<u64>),
}

/// Reads a small body in full; leaves a large or unknown-length one to stream.
pub(super) async fn prepare_body(body: Body) -> Result<Outbound, UpstreamError> {
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
pub(super) async fn send_streamed(
    conn: &mut Conn,
    head: &[u8],
    mut body: Body,
    len: Option<u64>,
) -> Result<(Head, bool), UpstreamError> {
    let early = {
        let (mut rd, mut wr) = tokio::io::split(&mut conn.stream);
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

#[cfg(test)]
mod tests {
    use super::*;

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
