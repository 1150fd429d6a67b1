//! The AWS-compatible management API (REST API v1, `apigateway` service, rest-json): requests
//! signed for the `apigateway` service arrive on gw's listener and are answered here, in AWS's
//! wire format, against the same store the CLI uses.

use crate::body::{self, Body};
use http::{HeaderMap, Response, StatusCode};

/// Whether a request is a management call: SigV4-signed for the `apigateway` service.
pub fn is_management_request(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.starts_with("AWS4-HMAC-SHA256") && a.contains("/apigateway/aws4_request")
        })
}

/// Answer one management call.
pub async fn handle(
    _shared: &crate::dispatch::Shared,
    _parts: http::request::Parts,
    _body: bytes::Bytes,
) -> Response<Body> {
    let mut r = Response::new(body::full(
        r#"{"message":"The management API is not implemented yet"}"#,
    ));
    *r.status_mut() = StatusCode::NOT_IMPLEMENTED;
    r
}
