//! A streamed response body: read from the backend connection as the client takes it,
//! delimited by its length, by chunks (sizes, data, trailers, which are not forwarded) or by the
//! end of the connection. Complete, it gives the connection back to the pool; dropped early or
//! broken, the connection is closed.

use super::pool::Conn;
use super::{Upstream, MAX_LINE_BYTES, READ_CHUNK};
use crate::net::body::BoxError;
use bytes::{Buf, Bytes, BytesMut};
use http_body::{Frame, SizeHint};

use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Where a streamed response body is.
pub(super) enum State {
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
pub(super) struct UpstreamBody {
    pub(super) conn: Option<Conn>,
    pub(super) state: State,
    pub(super) keep_alive: bool,
    pub(super) pool: Upstream,
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
    conn.stream.poll_fill(cx, &mut conn.buf)
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

    #[test]
    fn chunk_sizes_are_hex_with_optional_extensions() {
        assert_eq!(chunk_size(b"1a").unwrap(), 26);
        assert_eq!(chunk_size(b"A;name=value").unwrap(), 10);
        assert_eq!(chunk_size(b"0").unwrap(), 0);
        assert!(chunk_size(b"").is_err());
        assert!(chunk_size(b"xyz").is_err());
        assert!(chunk_size(b"1234567890abcdef0").is_err());
    }
}
