//! The one HTTP body type the data plane passes around, and small constructors for it.

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Boxed error carried by a streaming body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A streaming HTTP body: the client's request body, a backend's response body, or a buffer.
pub type Body = BoxBody<Bytes, BoxError>;

/// A body holding `bytes` in full.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body (a zero-sized one: boxing it allocates nothing).
pub fn empty() -> Body {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}

/// API Gateway's payload limit (10 MB), the largest body any plane reads.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A body read in full, refused past [`MAX_BODY_BYTES`] (a frame loop: `http_body_util`'s
/// `Limited(..).collect()` inside the request future trips rustc's higher-ranked `Send` check).
pub async fn read_bounded(mut body: Body) -> Result<Vec<u8>, String> {
    use http_body_util::BodyExt as _;
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Some(data) = frame.data_ref() {
            if out.len() + data.len() > MAX_BODY_BYTES {
                return Err("the body is larger than 10 MB".into());
            }
            out.extend_from_slice(data);
        }
    }
    Ok(out)
}

/// How much of an unwanted request body is read at most, and for how long, once it is dropped.
const DISCARD_BYTES: usize = 4 * MAX_BODY_BYTES;
const DISCARD_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// A client's request body as hyper reads it (on hyper's path in `conn`). Dropped before its end
/// (the answer was decided without it: refused from the headers, too large, answered early by
/// the backend, a gateway error), the rest is read and thrown away in the background, bounded in
/// bytes and time. Closing a socket with unread data makes the kernel reset the connection, and
/// most clients (hyper, Python requests, fetch) then report a broken pipe instead of the answer.
///
/// `expects_continue`: the client sent `Expect: 100-continue` and waits for our answer before
/// sending the body; unless the body was read from (hyper then sent `100 Continue`), it is not
/// drained, since reading it would invite the client to send what no one wants.
pub fn from_client(incoming: hyper::body::Incoming, expects_continue: bool) -> Body {
    ClientBody {
        inner: Some(incoming),
        drain: !expects_continue,
    }
    .boxed()
}

struct ClientBody {
    /// `None` only once dropped.
    inner: Option<hyper::body::Incoming>,
    /// Whether an unfinished body is drained when dropped.
    drain: bool,
}

impl http_body::Body for ClientBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        this.drain = true;
        match this.inner.as_mut() {
            Some(body) => Pin::new(body)
                .poll_frame(cx)
                .map_err(|e| Box::new(e) as BoxError),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.as_ref().map_or_else(
            || http_body::SizeHint::with_exact(0),
            http_body::Body::size_hint,
        )
    }
}

impl Drop for ClientBody {
    fn drop(&mut self) {
        use http_body::Body as _;
        let Some(body) = self.inner.take() else {
            return;
        };
        if !self.drain || body.is_end_stream() {
            return;
        }
        // Dropped outside a runtime (never on the data plane), the body is simply let go.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let drain = async {
                    let mut body = body;
                    let mut read = 0usize;
                    while let Some(Ok(frame)) = body.frame().await {
                        read += frame.data_ref().map_or(0, Bytes::len);
                        if read > DISCARD_BYTES {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(DISCARD_TIME, drain).await;
            });
        }
    }
}
