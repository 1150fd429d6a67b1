//! The Lambda proxy integration's two pieces of wire format, as API Gateway speaks them: the
//! event a function receives (payload format 1.0 for REST APIs, 2.0 for HTTP APIs) and the
//! validation and translation of the response it returns.
//!
//! Architecture invariant: pure functions, no I/O and no clock. Everything that varies per
//! request (ids, time, source IP) comes in through [`EventInput`], so events are exactly
//! reproducible in tests.
//!
//! Choices where AWS is not fully specified (documented here so callers can rely on them):
//! - Payload 1.0 header names are rendered in canonical `Title-Case` (`user-agent` →
//!   `User-Agent`), which is what AWS passes through for the usual clients; HTTP/1 and HTTP/2
//!   hand gw lower-cased names, so the client's original casing is not available. Hop-by-hop
//!   headers (`Connection`, `Keep-Alive`, …) are dropped; `X-Forwarded-For` gets the source IP.
//! - Payload 2.0 omits `cookies`, `queryStringParameters`, `pathParameters`, `stageVariables` and
//!   `body` when empty (as AWS does), and prefixes `rawPath` and `requestContext.http.path` with
//!   `/{stage}` unless the stage is `$default`.
//! - Response headers are returned as a list in which a name may repeat: a 1.0
//!   `multiValueHeaders` entry yields one header line per value, followed by the `headers` value of
//!   the same name (so a client that joins repeated headers sees `value-multi, value-solo`, as
//!   AWS answers); 2.0 `cookies` become one `set-cookie` line each.
//! - A function error object (`{"errorMessage": .., "errorType": ..}`) is malformed in both
//!   formats.
//!
//! The pieces: `authorizer` (what a Lambda authorizer granted, [`Authorized`], as the event and
//! `$context` carry it), `event` (the event, one submodule per payload format) and `response`
//! (the response contract: a fast path for the usual 1.0 answer, the general path for everything
//! else and for every error message). Their public items are re-exported here, so callers name
//! them `aws::lambda::X`.

mod authorizer;
mod event;
mod response;

pub use crate::aws::{DEFAULT_ACCOUNT_ID, DEFAULT_REGION};
pub use authorizer::{Authorized, Grant};
pub use event::{build_event, encode_event, EventInput};
pub use response::{parse_response, MalformedResponse, ProxyResponse};

/// The Lambda proxy payload format (`payloadFormatVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PayloadVersion {
    /// "1.0": REST APIs (and HTTP APIs that ask for it).
    #[default]
    V1,
    /// "2.0": the HTTP API format.
    V2,
}

impl PayloadVersion {
    /// Parses `payloadFormatVersion` ("1.0" or "2.0").
    pub fn from_format(s: &str) -> Option<PayloadVersion> {
        match s {
            "1.0" => Some(PayloadVersion::V1),
            "2.0" => Some(PayloadVersion::V2),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PayloadVersion::V1 => "1.0",
            PayloadVersion::V2 => "2.0",
        }
    }
}
