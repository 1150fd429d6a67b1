//! The response head and the framing it decides (RFC 9112): reading the head (interim 1xx
//! answers skipped), parsing it with httparse straight from the read buffer, reading the fields
//! that govern framing and reuse (`Connection`, `Transfer-Encoding`, `Content-Length`) from the
//! raw head, and copying the end-to-end fields once, as the lines the backend wrote, for the
//! caller (`Relayed`); then how the body is delimited.

use super::{UpstreamError, COPY_BODY_BYTES, MAX_HEADERS, MAX_HEAD_BYTES, READ_CHUNK};
use crate::net::headers::{tokens, Relayed};
use bytes::{Buf, Bytes, BytesMut};
use http::{Method, StatusCode};
use tokio::io::AsyncReadExt;

/// A response head, parsed. `headers` holds the end-to-end fields only: hop-by-hop ones (and
/// those `Connection` names) are read for the framing and connection handling here and never
/// reach the caller.
pub(super) struct Head {
    pub(super) status: StatusCode,
    /// The end-to-end fields, as received.
    pub(super) relayed: Relayed,
    pub(super) keep_alive: bool,
    /// `Transfer-Encoding` was present: `Some(true)` when its last coding is `chunked`.
    pub(super) transfer_encoding: Option<bool>,
    /// The `Content-Length` value(s), agreed; an error when invalid or conflicting.
    pub(super) content_length: Result<Option<u64>, &'static str>,
    /// As much of a small body (up to [`COPY_BODY_BYTES`]) as came with the head, copied.
    pub(super) body: Bytes,
}

/// Reads the response head, skipping interim 1xx answers (but not 101).
pub(super) async fn read_head<R: tokio::io::AsyncRead + Unpin>(
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
    crate::gateway::integrations::http::HOP_BY_HOP
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

pub(super) enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// How the response body is delimited (RFC 9112 §6.3).
pub(super) fn response_framing(method: &Method, head: &Head) -> Result<Framing, UpstreamError> {
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
}
