//! The one HTTP body type the data plane passes around, and small constructors for it.

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};

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

/// How much of an unwanted request body [`discard`] reads at most, and for how long.
const DISCARD_BYTES: usize = 4 * crate::dispatch::MAX_BODY_BYTES;
const DISCARD_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Read and throw away (bounded, in the background) the rest of a request body no one will use,
/// once the answer is decided. Closing a socket with unread data makes the kernel reset the
/// connection, and most clients (hyper, Python requests, fetch) then report a broken pipe
/// instead of the answer. Must be called within a tokio runtime.
pub fn discard(body: Body) {
    use http_body::Body as _;
    if body.is_end_stream() {
        return;
    }
    tokio::spawn(async move {
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
