//! The proxy event a function reads on stdin: [`EventInput`] (everything that varies per
//! request, so an event is exactly reproducible), written as JSON straight from the request with
//! no intermediate tree ([`encode_event`]), or as a tree for tests and inspection
//! ([`build_event`]).
//!
//! The two payload formats are `v1` (REST APIs) and `v2` (HTTP APIs); what they share is here:
//! the hop-by-hop headers both drop, JSON objects written from ordered pairs, the body (base64
//! when binary), the path parameters, the stage variables and the staged path.

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine as _;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

use super::{Authorized, PayloadVersion};

mod v1;
mod v2;

use v1::v1_event;
use v2::v2_event;

/// Everything the event is built from. `path` is the request path without the stage prefix.
#[derive(Debug, Clone)]
pub struct EventInput<'a> {
    pub payload_version: PayloadVersion,
    pub http_method: &'a str,
    /// The matched route's method: the request's, or `ANY` for an any-method route. Payload 2.0's
    /// `routeKey` is `{route_method} {resource_path}` (AWS: `"ANY /pets/{proxy+}"`).
    pub route_method: &'a str,
    /// Request path WITHOUT the stage prefix, e.g. "/pets/1".
    pub path: &'a str,
    /// The matched resource, e.g. "/pets/{id}" (or "$default" for an HTTP API default route).
    pub resource_path: &'a str,
    pub resource_id: &'a str,
    pub headers: &'a http::HeaderMap,
    /// The raw query string, without the `?`.
    pub raw_query: Option<&'a str>,
    pub path_parameters: &'a [(String, String)],
    pub stage_variables: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    /// The request's content type matched `binaryMediaTypes`: the body is passed base64-encoded.
    pub body_is_binary: bool,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub deployment_id: &'a str,
    pub request_id: &'a str,
    pub extended_request_id: &'a str,
    pub source_ip: &'a str,
    pub domain_name: &'a str,
    /// e.g. "HTTP/1.1".
    pub protocol: &'a str,
    pub request_time_epoch_ms: i64,
    /// e.g. [`DEFAULT_ACCOUNT_ID`](crate::aws::DEFAULT_ACCOUNT_ID).
    pub account_id: &'a str,
    /// What the method's Lambda authorizer granted, if it has one.
    pub authorizer: Option<&'a Authorized>,
    /// The client's certificate (mutual TLS on a custom domain).
    pub client_cert: Option<&'a crate::aws::context::ClientCert>,
    /// `http` or `https` and the port the client connected to: the `X-Forwarded-Proto` and
    /// `X-Forwarded-Port` headers API Gateway adds (left out when empty / 0).
    pub scheme: &'a str,
    pub port: u16,
}

/// Builds the proxy event for `input.payload_version`, as a JSON tree (tests, inspection).
/// Exactly what [`encode_event`] writes.
pub fn build_event(input: &EventInput) -> Value {
    let encoded = match input.payload_version {
        PayloadVersion::V1 => serde_json::to_value(v1_event(input)),
        PayloadVersion::V2 => serde_json::to_value(v2_event(input)),
    };
    // Every part is a string, number, bool, null or a map with string keys: encoding cannot fail.
    encoded.unwrap_or(Value::Null)
}

/// Writes the proxy event for `input.payload_version` as JSON bytes, straight from the request
/// (no intermediate tree): what a function reads on stdin.
pub fn encode_event(input: &EventInput) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + input.body.len() * 4 / 3);
    let written = match input.payload_version {
        PayloadVersion::V1 => serde_json::to_writer(&mut out, &v1_event(input)),
        PayloadVersion::V2 => serde_json::to_writer(&mut out, &v2_event(input)),
    };
    // As above: cannot fail for these types, and writing to a Vec does no I/O.
    debug_assert!(written.is_ok());
    out
}

/// Hop-by-hop headers: they describe gw's connection, not the request.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// `null` for an empty map, as payload 1.0 has it.
fn non_empty<T>(items: Vec<T>) -> Option<Entries<T>> {
    (!items.is_empty()).then_some(Entries(items))
}

/// A JSON object from key/value pairs in order (keys are unique).
struct Entries<T>(Vec<T>);

impl<K: Serialize, V: Serialize> Serialize for Entries<(K, V)> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Names with all their values, in order of first appearance.
type Multi<'a> = Vec<(Cow<'a, str>, Vec<Cow<'a, str>>)>;

/// The matched path parameters; absent (1.0: `null`) when there are none.
fn path_parameters<'a>(input: &'a EventInput) -> Option<Entries<(&'a str, &'a str)>> {
    non_empty(
        input
            .path_parameters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    )
}

/// The stage variables (canary overrides already merged); absent (1.0: `null`) when none.
fn stage_variables<'a>(input: &EventInput<'a>) -> Option<&'a BTreeMap<String, String>> {
    (!input.stage_variables.is_empty()).then_some(input.stage_variables)
}

fn lossy(v: &http::HeaderValue) -> Cow<'_, str> {
    String::from_utf8_lossy(v.as_bytes())
}

fn event_body<'a>(input: &EventInput<'a>) -> (Option<Cow<'a, str>>, bool) {
    if input.body.is_empty() {
        (None, false)
    } else if input.body_is_binary {
        (
            Some(Cow::Owned(
                base64::engine::general_purpose::STANDARD.encode(input.body),
            )),
            true,
        )
    } else {
        (Some(String::from_utf8_lossy(input.body)), false)
    }
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<Cow<'a, str>> {
    headers.get(name).map(lossy)
}

fn staged_path(stage: &str, path: &str) -> String {
    if stage == "$default" {
        path.to_owned()
    } else {
        format!("/{stage}{path}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::aws::DEFAULT_ACCOUNT_ID;

    pub(super) const V1: PayloadVersion = PayloadVersion::V1;
    pub(super) const V2: PayloadVersion = PayloadVersion::V2;

    pub(super) struct Fixture {
        pub(super) headers: http::HeaderMap,
        pub(super) params: Vec<(String, String)>,
        pub(super) vars: BTreeMap<String, String>,
    }

    pub(super) fn fixture() -> Fixture {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "abc123.execute-api.localhost:4566".parse().unwrap());
        headers.insert("user-agent", "curl/8.5.0".parse().unwrap());
        headers.append("x-multi", "one".parse().unwrap());
        headers.append("x-multi", "two".parse().unwrap());
        headers.insert("connection", "keep-alive".parse().unwrap());
        headers.insert("cookie", "a=1; b=2".parse().unwrap());
        Fixture {
            headers,
            params: vec![("id".into(), "42".into())],
            vars: BTreeMap::from([("GREETING".to_string(), "hi".to_string())]),
        }
    }

    pub(super) fn input<'a>(f: &'a Fixture, version: PayloadVersion) -> EventInput<'a> {
        EventInput {
            payload_version: version,
            http_method: "POST",
            route_method: "POST",
            path: "/pets/42",
            resource_path: "/pets/{id}",
            resource_id: "r1",
            headers: &f.headers,
            raw_query: Some("a=1&b=x%20y&a=2&flag&c=d+e"),
            path_parameters: &f.params,
            stage_variables: &f.vars,
            body: br#"{"n":1}"#,
            body_is_binary: false,
            api_id: "abc123",
            stage: "prod",
            deployment_id: "d1",
            request_id: "11111111-2222-3333-4444-555555555555",
            extended_request_id: "Ab1Cd2Ef3=",
            source_ip: "127.0.0.1",
            domain_name: "abc123.execute-api.localhost",
            protocol: "HTTP/1.1",
            request_time_epoch_ms: 1_428_582_896_000,
            account_id: DEFAULT_ACCOUNT_ID,
            authorizer: None,
            client_cert: None,
            scheme: "",
            port: 0,
        }
    }

    #[test]
    fn binary_body_is_base64() {
        let f = fixture();
        let mut i = input(&f, V1);
        i.body = &[0xff, 0x00, 0x01];
        i.body_is_binary = true;
        let e = build_event(&i);
        assert_eq!(e["body"], "/wAB");
        assert_eq!(e["isBase64Encoded"], true);
    }
}
