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
