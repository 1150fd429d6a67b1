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

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::aws::context::{clf_time, domain_prefix};
use base64::Engine as _;
use bytes::Bytes;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::aws::{DEFAULT_ACCOUNT_ID, DEFAULT_REGION};

/// What a Lambda authorizer answered: its `principalId`, its `context` (values stringified, as
/// REST APIs pass them on) and its `usageIdentifierKey`. Shared (cached answers are reused).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    pub principal_id: String,
    pub context: Vec<(String, String)>,
    /// The API key the authorizer named, for `apiKeySource: AUTHORIZER`.
    pub usage_identifier_key: Option<String>,
}

/// A request's authorization: the authorizer's [`Grant`] and how long the authorizer took (0 when
/// the answer was cached). Payload 1.0 events carry it as `requestContext.authorizer`, payload
/// 2.0 as `requestContext.authorizer.lambda`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorized {
    pub grant: std::sync::Arc<Grant>,
    pub integration_latency_ms: u64,
}

impl Authorized {
    /// `$context.authorizer.KEY`: `principalId` or a context key.
    pub fn get(&self, key: &str) -> Option<&str> {
        if key == "principalId" {
            return Some(&self.grant.principal_id);
        }
        self.grant
            .context
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Payload 1.0's `requestContext.authorizer`: `principalId`, `integrationLatency`, then the
/// context keys.
struct V1Authorizer<'a>(&'a Authorized);

impl Serialize for V1Authorizer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut map = s.serialize_map(Some(a.grant.context.len() + 2))?;
        for (k, v) in &a.grant.context {
            if k != "principalId" && k != "integrationLatency" {
                map.serialize_entry(k, v)?;
            }
        }
        map.serialize_entry("principalId", &a.grant.principal_id)?;
        map.serialize_entry("integrationLatency", &a.integration_latency_ms)?;
        map.end()
    }
}

/// Payload 2.0's `requestContext.authorizer`: `{"lambda": {context...}}`.
struct V2Authorizer<'a>(&'a Authorized);

impl Serialize for V2Authorizer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Lambda<'a>(&'a Authorized);
        impl Serialize for Lambda<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let grant = &self.0.grant;
                let mut map = s.serialize_map(Some(grant.context.len() + 1))?;
                for (k, v) in &grant.context {
                    if k != "principalId" {
                        map.serialize_entry(k, v)?;
                    }
                }
                map.serialize_entry("principalId", &grant.principal_id)?;
                map.end()
            }
        }
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("lambda", &Lambda(self.0))?;
        map.end()
    }
}

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
    /// e.g. [`DEFAULT_ACCOUNT_ID`].
    pub account_id: &'a str,
    /// What the method's Lambda authorizer granted, if it has one.
    pub authorizer: Option<&'a Authorized>,
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

/// Serialises as the last element of a non-empty list.
struct Last<'v, T>(&'v [T]);

impl<T: Serialize> Serialize for Last<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.last() {
            Some(v) => v.serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// Names with all their values, in order of first appearance.
type Multi<'a> = Vec<(Cow<'a, str>, Vec<Cow<'a, str>>)>;
/// Name → last value, as payload 1.0's single-value maps (`null` when empty).
type SingleMap<'a> = Option<Entries<(&'a str, Last<'a, Cow<'a, str>>)>>;
/// Name → every value, as payload 1.0's multi-value maps (`null` when empty).
type MultiMap<'a> = Option<Entries<(&'a str, &'a [Cow<'a, str>])>>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Event<'a> {
    resource: &'a str,
    path: &'a str,
    http_method: &'a str,
    headers: SingleMap<'a>,
    multi_value_headers: MultiMap<'a>,
    query_string_parameters: SingleMap<'a>,
    multi_value_query_string_parameters: MultiMap<'a>,
    path_parameters: Option<Entries<(&'a str, &'a str)>>,
    stage_variables: Option<&'a BTreeMap<String, String>>,
    request_context: V1Context<'a>,
    body: Option<Cow<'a, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Context<'a> {
    account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<V1Authorizer<'a>>,
    api_id: &'a str,
    deployment_id: &'a str,
    domain_name: &'a str,
    domain_prefix: &'a str,
    extended_request_id: &'a str,
    http_method: &'a str,
    identity: V1Identity<'a>,
    path: String,
    protocol: &'a str,
    request_id: &'a str,
    request_time: String,
    request_time_epoch: i64,
    resource_id: &'a str,
    resource_path: &'a str,
    stage: &'a str,
}

/// Caller identity: only the source IP and user agent are known without an authorizer; the
/// other fields are always `null` (`()`), so build it with `..Default::default()`.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct V1Identity<'a> {
    access_key: (),
    account_id: (),
    caller: (),
    cognito_authentication_provider: (),
    cognito_authentication_type: (),
    cognito_identity_id: (),
    cognito_identity_pool_id: (),
    principal_org_id: (),
    source_ip: &'a str,
    user: (),
    user_agent: Option<Cow<'a, str>>,
    user_arn: (),
}

/// Serialises a payload 1.0 event; `headers` and `query` hold the parts it borrows from.
fn v1_event<'a>(input: &'a EventInput<'a>) -> V1Owned<'a> {
    let headers = v1_headers(input);
    let query = crate::aws::query::grouped(input.raw_query);
    V1Owned {
        input,
        headers,
        query,
    }
}

fn single<'s>(list: &'s Multi<'_>) -> Vec<(&'s str, Last<'s, Cow<'s, str>>)> {
    list.iter()
        .map(|(k, v)| (k.as_ref(), Last(v.as_slice())))
        .collect()
}

fn multi<'s>(list: &'s Multi<'_>) -> Vec<(&'s str, &'s [Cow<'s, str>])> {
    list.iter()
        .map(|(k, v)| (k.as_ref(), v.as_slice()))
        .collect()
}

/// A payload 1.0 event together with the header and query lists it is built from.
struct V1Owned<'a> {
    input: &'a EventInput<'a>,
    headers: Multi<'a>,
    query: Multi<'a>,
}

impl Serialize for V1Owned<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let input = self.input;
        let (body, is_base64_encoded) = event_body(input);
        V1Event {
            resource: input.resource_path,
            path: input.path,
            http_method: input.http_method,
            headers: non_empty(single(&self.headers)),
            multi_value_headers: non_empty(multi(&self.headers)),
            query_string_parameters: non_empty(single(&self.query)),
            multi_value_query_string_parameters: non_empty(multi(&self.query)),
            path_parameters: path_parameters(input),
            stage_variables: stage_variables(input),
            request_context: V1Context {
                account_id: input.account_id,
                authorizer: input.authorizer.map(V1Authorizer),
                api_id: input.api_id,
                deployment_id: input.deployment_id,
                domain_name: input.domain_name,
                domain_prefix: domain_prefix(input.domain_name),
                extended_request_id: input.extended_request_id,
                http_method: input.http_method,
                identity: V1Identity {
                    source_ip: input.source_ip,
                    user_agent: header_str(input.headers, "user-agent"),
                    ..Default::default()
                },
                path: staged_path(input.stage, input.path),
                protocol: input.protocol,
                request_id: input.request_id,
                request_time: clf_time(input.request_time_epoch_ms),
                request_time_epoch: input.request_time_epoch_ms,
                resource_id: input.resource_id,
                resource_path: input.resource_path,
                stage: input.stage,
            },
            body,
            is_base64_encoded,
        }
        .serialize(s)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Event<'a> {
    version: &'static str,
    route_key: &'a str,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cookies: Vec<Cow<'a, str>>,
    headers: Entries<(&'a str, Cow<'a, str>)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_parameters: Option<Entries<(&'a str, String)>>,
    request_context: V2Context<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_parameters: Option<Entries<(&'a str, &'a str)>>,
    is_base64_encoded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_variables: Option<&'a BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Context<'a> {
    account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<V2Authorizer<'a>>,
    api_id: &'a str,
    domain_name: &'a str,
    domain_prefix: &'a str,
    http: V2Http<'a>,
    request_id: &'a str,
    route_key: &'a str,
    stage: &'a str,
    time: String,
    time_epoch: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Http<'a> {
    method: &'a str,
    path: &'a str,
    protocol: &'a str,
    source_ip: &'a str,
    user_agent: Cow<'a, str>,
}

fn v2_event<'a>(input: &'a EventInput<'a>) -> V2Owned<'a> {
    V2Owned {
        input,
        query: crate::aws::query::grouped(input.raw_query),
        route_key: if input.resource_path == "$default" {
            "$default".to_owned()
        } else {
            format!("{} {}", input.route_method, input.resource_path)
        },
        raw_path: if input.stage == "$default" {
            input.path.to_owned()
        } else {
            staged_path(input.stage, input.path)
        },
    }
}

/// A payload 2.0 event together with the parts it borrows from.
struct V2Owned<'a> {
    input: &'a EventInput<'a>,
    query: Multi<'a>,
    route_key: String,
    raw_path: String,
}

impl Serialize for V2Owned<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let input = self.input;
        let mut cookies: Vec<Cow<str>> = Vec::new();
        let mut headers: Vec<(&str, Cow<str>)> = Vec::with_capacity(input.headers.keys_len() + 1);
        for name in input.headers.keys() {
            let mut values = input.headers.get_all(name).iter().map(lossy);
            if name == http::header::COOKIE {
                for v in input.headers.get_all(name) {
                    match lossy(v) {
                        Cow::Borrowed(text) => {
                            cookies.extend(cookie_pairs(text).map(Cow::Borrowed))
                        }
                        // Not UTF-8: with replacement characters it is an owned string.
                        Cow::Owned(text) => {
                            cookies.extend(cookie_pairs(&text).map(|c| Cow::Owned(c.to_owned())))
                        }
                    }
                }
                continue;
            }
            if HOP_BY_HOP.contains(&name.as_str()) {
                continue;
            }
            let first = values.next().unwrap_or_default();
            let joined = values.fold(first, |mut acc, v| {
                let s = acc.to_mut();
                s.push(',');
                s.push_str(&v);
                acc
            });
            headers.push((name.as_str(), joined));
        }
        if !input.source_ip.is_empty() {
            match headers.iter_mut().find(|(n, _)| *n == "x-forwarded-for") {
                Some((_, v)) => {
                    let v = v.to_mut();
                    v.push_str(", ");
                    v.push_str(input.source_ip);
                }
                None => headers.push(("x-forwarded-for", Cow::Borrowed(input.source_ip))),
            }
        }
        let query: Vec<(&str, String)> = self
            .query
            .iter()
            .map(|(k, values)| (k.as_ref(), values.join(",")))
            .collect();
        let (body, is_base64_encoded) = event_body(input);
        V2Event {
            version: "2.0",
            route_key: &self.route_key,
            raw_path: &self.raw_path,
            raw_query_string: input.raw_query.unwrap_or(""),
            cookies,
            headers: Entries(headers),
            query_string_parameters: non_empty(query),
            request_context: V2Context {
                account_id: input.account_id,
                authorizer: input.authorizer.map(V2Authorizer),
                api_id: input.api_id,
                domain_name: input.domain_name,
                domain_prefix: domain_prefix(input.domain_name),
                http: V2Http {
                    method: input.http_method,
                    path: &self.raw_path,
                    protocol: input.protocol,
                    source_ip: input.source_ip,
                    user_agent: header_str(input.headers, "user-agent").unwrap_or_default(),
                },
                request_id: input.request_id,
                route_key: &self.route_key,
                stage: input.stage,
                time: clf_time(input.request_time_epoch_ms),
                time_epoch: input.request_time_epoch_ms,
            },
            body,
            path_parameters: path_parameters(input),
            is_base64_encoded,
            stage_variables: stage_variables(input),
        }
        .serialize(s)
    }
}

/// The `name=value` pairs of a `Cookie` header.
fn cookie_pairs(text: &str) -> impl Iterator<Item = &str> {
    text.split(';').map(str::trim).filter(|c| !c.is_empty())
}

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

/// Payload 1.0 headers: Title-Case names in first-appearance order, all values of each.
fn v1_headers<'a>(input: &EventInput<'a>) -> Multi<'a> {
    let mut out: Multi<'a> = Vec::with_capacity(input.headers.keys_len() + 1);
    for name in input.headers.keys() {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        let values = input.headers.get_all(name).iter().map(lossy).collect();
        out.push((Cow::Owned(title_case(name.as_str())), values));
    }
    match out.iter_mut().find(|(n, _)| n == "X-Forwarded-For") {
        Some((_, values)) => {
            if let Some(last) = values.last_mut() {
                let last = last.to_mut();
                last.push_str(", ");
                last.push_str(input.source_ip);
            }
        }
        None if !input.source_ip.is_empty() => {
            out.push((
                Cow::Borrowed("X-Forwarded-For"),
                vec![Cow::Borrowed(input.source_ip)],
            ));
        }
        None => {}
    }
    out
}

/// `user-agent` → `User-Agent`.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if upper {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        upper = c == '-';
    }
    out
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

/// A function's answer, translated into an HTTP response. Header names may repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// The function answered something API Gateway refuses; the client gets 502
/// `{"message": "Internal server error"}` (500 `Internal Server Error` for HTTP APIs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Malformed Lambda proxy response: {reason}")]
pub struct MalformedResponse {
    pub reason: String,
}

fn malformed<T>(reason: impl Into<String>) -> Result<T, MalformedResponse> {
    Err(MalformedResponse {
        reason: reason.into(),
    })
}

/// Validates and translates a function's stdout. `request_accept` is the request's `Accept`
/// header; with payload 1.0 an `isBase64Encoded` body is decoded only when the first type it lists
/// matches `binary_media_types` (payload 2.0 always decodes).
pub fn parse_response(
    version: PayloadVersion,
    stdout: &[u8],
    request_accept: Option<&str>,
    binary_media_types: &[String],
) -> Result<ProxyResponse, MalformedResponse> {
    if version == PayloadVersion::V1 {
        let decode = accept_is_binary(request_accept, binary_media_types);
        if let Some(plain) = plain_v1(stdout, decode) {
            return Ok(plain);
        }
    }
    parse_response_tree(version, stdout, request_accept, binary_media_types)
}

/// The general path of [`parse_response`]: any JSON, read as a tree, every problem explained.
fn parse_response_tree(
    version: PayloadVersion,
    stdout: &[u8],
    request_accept: Option<&str>,
    binary_media_types: &[String],
) -> Result<ProxyResponse, MalformedResponse> {
    let value: Value = match serde_json::from_slice(stdout) {
        Ok(v) => v,
        Err(e) => return malformed(format!("not JSON ({e})")),
    };
    if let Some(obj) = value.as_object() {
        if let Some(message) = obj.get("errorMessage") {
            return malformed(format!("the function failed: {message}"));
        }
    }
    match version {
        PayloadVersion::V1 => {
            let Value::Object(obj) = value else {
                return malformed(format!("expected a JSON object, got {}", kind_of(&value)));
            };
            if let Some(key) = obj.keys().find(|k| !V1_KEYS.contains(&k.as_str())) {
                return malformed(format!("unknown key {key:?}"));
            }
            let decode = accept_is_binary(request_accept, binary_media_types);
            structured(&obj, decode, "Content-Type")
        }
        PayloadVersion::V2 => match value {
            Value::Object(obj) if obj.contains_key("statusCode") => {
                structured(&obj, true, "content-type")
            }
            // Valid JSON without a statusCode is the body itself.
            Value::String(s) => Ok(json_body(Bytes::from(s))),
            _ => Ok(json_body(Bytes::copy_from_slice(trim_ascii(stdout)))),
        },
    }
}

/// A `multiValueHeaders` value: `null`, or a list whose `null` items are skipped.
type MultiValue<'a> = Option<Vec<Option<Cow<'a, str>>>>;

/// The usual payload 1.0 answer: only the known keys, each of its plain type (`statusCode` a
/// number, header values strings). Read straight into this shape, without a JSON tree.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainV1<'a> {
    #[serde(rename = "statusCode", default)]
    status_code: Option<u64>,
    #[serde(default, borrow)]
    headers: Option<Pairs<'a, Option<Cow<'a, str>>>>,
    #[serde(rename = "multiValueHeaders", default, borrow)]
    multi_value_headers: Option<Pairs<'a, MultiValue<'a>>>,
    #[serde(default, borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(rename = "isBase64Encoded", default)]
    is_base64_encoded: Option<bool>,
}

/// A JSON object's entries in document order.
struct Pairs<'a, V>(Vec<(Cow<'a, str>, V)>);

impl<'de: 'a, 'a, V: Deserialize<'de>> Deserialize<'de> for Pairs<'a, V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<'a, V>(std::marker::PhantomData<(&'a (), V)>);
        impl<'de: 'a, 'a, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<'a, V> {
            type Value = Pairs<'a, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Borrowed<'a>, V>()? {
                    out.push((k.0, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// A string borrowed from the input where it has no escapes.
struct Borrowed<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Inner<'a>(#[serde(borrow)] Cow<'a, str>);
        Inner::deserialize(d).map(|i| Borrowed(i.0))
    }
}

/// The fast path of [`parse_response`] for payload 1.0: `Some` only for an answer that the general
/// path would accept, with exactly its result; anything else (other types, unknown keys, an error
/// object, repeated names, invalid headers or base64) is left to the general path to explain.
fn plain_v1(stdout: &[u8], decode_base64: bool) -> Option<ProxyResponse> {
    let plain: PlainV1 = serde_json::from_slice(stdout).ok()?;
    let status = match plain.status_code {
        None => 200,
        Some(c @ 100..=599) => c as u16, // in 100..=599: fits in u16
        Some(_) => return None,
    };
    let multi = plain.multi_value_headers.map_or_else(Vec::new, |p| p.0);
    let solo = plain.headers.map_or_else(Vec::new, |p| p.0);
    if has_repeats(multi.iter().map(|(k, _)| k)) || has_repeats(solo.iter().map(|(k, _)| k)) {
        return None; // a JSON object with a repeated key: the last one wins, as the tree has it
    }
    let mut headers: Vec<(String, String)> = Vec::with_capacity(multi.len() + solo.len() + 1);
    for (name, values) in &multi {
        for v in values.iter().flatten().flatten() {
            headers.push((name.to_string(), v.to_string()));
        }
    }
    for (name, value) in &solo {
        if let Some(v) = value {
            headers.push((name.to_string(), v.to_string()));
        }
    }
    for (name, value) in &headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value).is_err()
        {
            return None;
        }
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let body = match plain.body {
        None => Bytes::new(),
        Some(s) if plain.is_base64_encoded == Some(true) && decode_base64 => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .ok()?,
        ),
        Some(s) => Bytes::from(s.into_owned()),
    };
    Some(ProxyResponse {
        status,
        headers,
        body,
    })
}

fn has_repeats<'k>(names: impl ExactSizeIterator<Item = &'k Cow<'k, str>>) -> bool {
    if names.len() > 32 {
        return true; // unusual: let the general path handle it
    }
    let names: Vec<&str> = names.map(|n| n.as_ref()).collect();
    names
        .iter()
        .enumerate()
        .any(|(i, n)| names[..i].contains(n))
}

const V1_KEYS: &[&str] = &[
    "statusCode",
    "headers",
    "multiValueHeaders",
    "body",
    "isBase64Encoded",
];

fn json_body(body: Bytes) -> ProxyResponse {
    ProxyResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `{statusCode, headers, multiValueHeaders, body, isBase64Encoded, cookies}` form.
fn structured(
    obj: &Map<String, Value>,
    decode_base64: bool,
    content_type_name: &str,
) -> Result<ProxyResponse, MalformedResponse> {
    let status = status_code(obj.get("statusCode"))?;

    let solo = header_map(obj.get("headers"), "headers", |v| {
        scalar(v).map(|s| vec![s])
    })?;
    let multi = header_map(
        obj.get("multiValueHeaders"),
        "multiValueHeaders",
        |v| match v {
            Value::Array(items) => items
                .iter()
                .filter(|i| !i.is_null())
                .map(scalar)
                .collect::<Option<Vec<_>>>(),
            _ => None,
        },
    )?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, values) in &multi {
        for v in values {
            headers.push((name.clone(), v.clone()));
        }
    }
    for (name, values) in &solo {
        for v in values {
            headers.push((name.clone(), v.clone()));
        }
    }
    match obj.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for c in items {
                let Value::String(c) = c else {
                    return malformed("cookies must be strings");
                };
                headers.push(("set-cookie".into(), c.clone()));
            }
        }
        Some(_) => return malformed("cookies must be a list"),
    }
    for (name, value) in &headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return malformed(format!("invalid header name {name:?}"));
        }
        if http::HeaderValue::from_str(value).is_err() {
            return malformed(format!("invalid value for header {name:?}"));
        }
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.push((content_type_name.into(), "application/json".into()));
    }

    let is_b64 = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return malformed(format!(
                "isBase64Encoded must be a boolean, got {}",
                kind_of(v)
            ))
        }
    };
    let body = match obj.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if is_b64 && decode_base64 => {
            match base64::engine::general_purpose::STANDARD.decode(s.trim()) {
                Ok(b) => Bytes::from(b),
                Err(e) => return malformed(format!("body is not valid base64 ({e})")),
            }
        }
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(v) => return malformed(format!("body must be a string, got {}", kind_of(v))),
    };
    Ok(ProxyResponse {
        status,
        headers,
        body,
    })
}

fn status_code(v: Option<&Value>) -> Result<u16, MalformedResponse> {
    let code = match v {
        None | Some(Value::Null) => return Ok(200),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match code {
        Some(c @ 100..=599) => Ok(c as u16), // in 100..=599: fits in u16
        _ => malformed(format!(
            "statusCode {} is not an HTTP status",
            v.map_or(Value::Null, Clone::clone)
        )),
    }
}

/// A header value: strings as they are, booleans and numbers as their JSON text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn header_map(
    v: Option<&Value>,
    field: &str,
    values: impl Fn(&Value) -> Option<Vec<String>>,
) -> Result<Vec<(String, Vec<String>)>, MalformedResponse> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match values(v) {
                Some(list) => Ok((k.clone(), list)),
                None => malformed(format!("{field}.{k} has an invalid value")),
            })
            .collect(),
        Some(other) => malformed(format!("{field} must be an object, got {}", kind_of(other))),
    }
}

/// Whether the first media type in `Accept` matches one of `binaryMediaTypes` (which may use
/// wildcards such as `image/*` or `*/*`).
fn accept_is_binary(accept: Option<&str>, binary_media_types: &[String]) -> bool {
    let Some(first) = accept.and_then(|a| a.split(',').next()) else {
        return false;
    };
    let first = first
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if first.is_empty() {
        return false;
    }
    binary_media_types
        .iter()
        .any(|t| media_type_matches(&t.trim().to_ascii_lowercase(), &first))
}

fn media_type_matches(pattern: &str, actual: &str) -> bool {
    let split = |s: &str| -> (String, String) {
        let (t, sub) = s.split_once('/').unwrap_or((s, ""));
        (t.to_owned(), sub.to_owned())
    };
    let (pt, ps) = split(pattern);
    let (at, asub) = split(actual);
    (pt == "*" || at == "*" || pt == at) && (ps == "*" || asub == "*" || ps == asub)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    // ---- response table ----

    /// `None`: malformed. Otherwise (status, headers, body).
    type Want = Option<(u16, &'static [(&'static str, &'static str)], &'static str)>;

    struct Case {
        name: &'static str,
        version: PayloadVersion,
        stdout: &'static str,
        accept: Option<&'static str>,
        binary: &'static [&'static str],
        want: Want,
    }

    const V1: PayloadVersion = PayloadVersion::V1;
    const V2: PayloadVersion = PayloadVersion::V2;
    const JSON_CT: (&str, &str) = ("Content-Type", "application/json");
    const JSON_CT2: (&str, &str) = ("content-type", "application/json");

    fn case(name: &'static str, version: PayloadVersion, stdout: &'static str, want: Want) -> Case {
        Case {
            name,
            version,
            stdout,
            accept: None,
            binary: &[],
            want,
        }
    }

    fn cases() -> Vec<Case> {
        vec![
            case(
                "status only",
                V1,
                r#"{"statusCode":200}"#,
                Some((200, &[JSON_CT], "")),
            ),
            case("empty object", V1, "{}", Some((200, &[JSON_CT], ""))),
            case(
                "headers only",
                V1,
                r#"{"headers":{"x-a":"1"}}"#,
                Some((200, &[("x-a", "1"), JSON_CT], "")),
            ),
            case(
                "string status",
                V1,
                r#"{"statusCode":"201","body":"made"}"#,
                Some((201, &[JSON_CT], "made")),
            ),
            case("non-integer status", V1, r#"{"statusCode":"test"}"#, None),
            case("fractional status", V1, r#"{"statusCode":200.5}"#, None),
            case("status out of range", V1, r#"{"statusCode":1000}"#, None),
            case("unknown key", V1, r#"{"statusCode":200,"foo":"bar"}"#, None),
            case("bare string", V1, r#""hello""#, None),
            case("bare number", V1, "42", None),
            case("not json", V1, "this is not JSON {", None),
            case("empty stdout", V1, "", None),
            case(
                "multiValueHeaders not a list",
                V1,
                r#"{"multiValueHeaders":{"x":"y"}}"#,
                None,
            ),
            case(
                "function error",
                V1,
                r#"{"errorMessage":"boom","errorType":"Error"}"#,
                None,
            ),
            case(
                "body not a string",
                V1,
                r#"{"statusCode":200,"body":{"a":1}}"#,
                None,
            ),
            case(
                "headers null",
                V1,
                r#"{"statusCode":204,"headers":null}"#,
                Some((204, &[JSON_CT], "")),
            ),
            case(
                "bool header values",
                V1,
                r#"{"headers":{"x-yes":true,"x-no":false,"content-type":"text/plain"}}"#,
                Some((
                    200,
                    &[
                        ("x-yes", "true"),
                        ("x-no", "false"),
                        ("content-type", "text/plain"),
                    ],
                    "",
                )),
            ),
            case(
                "same name in headers and multiValueHeaders",
                V1,
                r#"{"headers":{"x-h":"value-solo"},"multiValueHeaders":{"x-h":["value-multi"]}}"#,
                Some((
                    200,
                    &[("x-h", "value-multi"), ("x-h", "value-solo"), JSON_CT],
                    "",
                )),
            ),
            case(
                "multi-value set-cookie stays separate",
                V1,
                r#"{"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"x"}"#,
                Some((
                    200,
                    &[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), JSON_CT],
                    "x",
                )),
            ),
            case(
                "base64 without a binary Accept is verbatim",
                V1,
                r#"{"body":"aGk=","isBase64Encoded":true}"#,
                Some((200, &[JSON_CT], "aGk=")),
            ),
            Case {
                accept: Some("image/png, */*;q=0.8"),
                binary: &["image/*"],
                ..case(
                    "base64 with a binary first Accept is decoded",
                    V1,
                    r#"{"body":"aGk=","isBase64Encoded":true,"headers":{"Content-Type":"image/png"}}"#,
                    Some((200, &[("Content-Type", "image/png")], "hi")),
                )
            },
            Case {
                accept: Some("text/html, image/png"),
                binary: &["image/png"],
                ..case(
                    "only the first Accept type counts",
                    V1,
                    r#"{"body":"aGk=","isBase64Encoded":true}"#,
                    Some((200, &[JSON_CT], "aGk=")),
                )
            },
            Case {
                accept: Some("image/png"),
                binary: &["image/png"],
                ..case(
                    "invalid base64",
                    V1,
                    r#"{"body":"!!!","isBase64Encoded":true}"#,
                    None,
                )
            },
            case(
                "header with a newline",
                V1,
                r#"{"headers":{"x":"a\nb"}}"#,
                None,
            ),
            case(
                "isBase64Encoded not a bool",
                V1,
                r#"{"isBase64Encoded":"yes"}"#,
                None,
            ),
            // payload 2.0
            case(
                "v2 object without statusCode is the body",
                V2,
                r#"{"a":1}"#,
                Some((200, &[JSON_CT2], r#"{"a":1}"#)),
            ),
            case(
                "v2 string is the body",
                V2,
                r#""Hello from Lambda!""#,
                Some((200, &[JSON_CT2], "Hello from Lambda!")),
            ),
            case(
                "v2 number is the body",
                V2,
                "42\n",
                Some((200, &[JSON_CT2], "42")),
            ),
            case("v2 not json", V2, "nope", None),
            case(
                "v2 cookies",
                V2,
                r#"{"statusCode":200,"cookies":["a=1","b=2; Path=/"],"body":"ok"}"#,
                Some((
                    200,
                    &[
                        ("set-cookie", "a=1"),
                        ("set-cookie", "b=2; Path=/"),
                        JSON_CT2,
                    ],
                    "ok",
                )),
            ),
            case(
                "v2 base64 always decoded",
                V2,
                r#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true,"headers":{"content-type":"application/octet-stream"}}"#,
                Some((200, &[("content-type", "application/octet-stream")], "hi")),
            ),
            case(
                "v2 function error",
                V2,
                r#"{"errorMessage":"boom","errorType":"Error"}"#,
                None,
            ),
            case("v2 non-integer status", V2, r#"{"statusCode":"x"}"#, None),
        ]
    }

    #[test]
    fn response_table() {
        let mut failures = Vec::new();
        for c in cases() {
            let binary: Vec<String> = c.binary.iter().map(|s| s.to_string()).collect();
            let got = parse_response(c.version, c.stdout.as_bytes(), c.accept, &binary);
            let want = c.want.map(|(status, headers, body)| ProxyResponse {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body: Bytes::from_static(body.as_bytes()),
            });
            match (&got, &want) {
                (Ok(g), Some(w)) if g == w => {}
                (Err(_), None) => {}
                _ => failures.push(format!("{}: got {got:?}, want {want:?}", c.name)),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// The fast payload 1.0 path answers exactly as the general path wherever it answers at all.
    #[test]
    fn plain_v1_agrees_with_the_tree() {
        let mut inputs: Vec<(String, bool)> = cases()
            .iter()
            .filter(|c| c.version == V1)
            .flat_map(|c| [(c.stdout.to_string(), false), (c.stdout.to_string(), true)])
            .collect();
        for extra in [
            r#"{"statusCode":201,"headers":{"A":"1","a":"2"},"body":"x"}"#,
            r#"{"statusCode":200,"headers":{"A":"1","A":"2"}}"#,
            r#"{"statusCode":200,"multiValueHeaders":{"A":["1",null,"2"],"B":null},"headers":{"A":"3","C":null}}"#,
            r#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#,
            r#"{"statusCode":200,"body":"not base64!","isBase64Encoded":true}"#,
            r#"{"statusCode":99}"#,
            r#"{"statusCode":600}"#,
            r#"{"statusCode":null,"body":null,"headers":null,"multiValueHeaders":null,"isBase64Encoded":null}"#,
            r#"{"statusCode":200,"headers":{"bad name":"v"}}"#,
            r#"{"statusCode":200,"headers":{"content-type":"text/plain"},"body":"\u00e9\n"}"#,
            r#"{"statusCode":200,"statusCode":201}"#,
            r#"{}"#,
        ] {
            inputs.push((extra.to_string(), false));
            inputs.push((extra.to_string(), true));
        }
        let binary = vec!["*/*".to_string()];
        let mut compared = 0;
        for (stdout, decode) in inputs {
            let Some(fast) = plain_v1(stdout.as_bytes(), decode) else {
                continue;
            };
            let (accept, types): (Option<&str>, &[String]) = if decode {
                (Some("image/png"), &binary)
            } else {
                (None, &[])
            };
            let tree = parse_response_tree(V1, stdout.as_bytes(), accept, types);
            assert_eq!(
                Ok(fast),
                tree.map_err(|e| e.reason),
                "{stdout} (decode: {decode})"
            );
            compared += 1;
        }
        assert!(compared >= 20, "only {compared} answers took the fast path");
    }

    #[test]
    fn malformed_says_why() {
        let e = parse_response(V1, br#"{"statusCode":200,"foo":1}"#, None, &[]).err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some(r#"Malformed Lambda proxy response: unknown key "foo""#)
        );
    }

    #[test]
    fn accept_matching() {
        let types = vec![
            "image/*".to_string(),
            "application/octet-stream".to_string(),
        ];
        assert!(accept_is_binary(Some("image/jpeg"), &types));
        assert!(accept_is_binary(
            Some("Application/Octet-Stream; q=1"),
            &types
        ));
        assert!(!accept_is_binary(Some("text/plain, image/jpeg"), &types));
        assert!(!accept_is_binary(None, &types));
        assert!(accept_is_binary(Some("text/plain"), &["*/*".to_string()]));
    }

    // ---- events ----

    struct Fixture {
        headers: http::HeaderMap,
        params: Vec<(String, String)>,
        vars: BTreeMap<String, String>,
    }

    fn fixture() -> Fixture {
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

    fn input<'a>(f: &'a Fixture, version: PayloadVersion) -> EventInput<'a> {
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
        }
    }

    #[test]
    fn v1_event_has_every_field() {
        let f = fixture();
        let e = build_event(&input(&f, V1));
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "resource",
                "path",
                "httpMethod",
                "headers",
                "multiValueHeaders",
                "queryStringParameters",
                "multiValueQueryStringParameters",
                "pathParameters",
                "stageVariables",
                "requestContext",
                "body",
                "isBase64Encoded"
            ]
        );
        assert_eq!(e["resource"], "/pets/{id}");
        assert_eq!(e["path"], "/pets/42");
        assert_eq!(e["headers"]["User-Agent"], "curl/8.5.0");
        assert_eq!(e["headers"]["X-Multi"], "two");
        assert_eq!(e["multiValueHeaders"]["X-Multi"], json!(["one", "two"]));
        assert_eq!(e["headers"]["X-Forwarded-For"], "127.0.0.1");
        assert!(e["headers"].get("Connection").is_none());
        assert_eq!(
            e["queryStringParameters"],
            json!({"a": "2", "b": "x y", "flag": "", "c": "d e"})
        );
        assert_eq!(e["multiValueQueryStringParameters"]["a"], json!(["1", "2"]));
        assert_eq!(e["pathParameters"], json!({"id": "42"}));
        assert_eq!(e["stageVariables"], json!({"GREETING": "hi"}));
        assert_eq!(e["body"], r#"{"n":1}"#);
        assert_eq!(e["isBase64Encoded"], false);
        let rc = &e["requestContext"];
        assert_eq!(rc["path"], "/prod/pets/42");
        assert_eq!(rc["resourcePath"], "/pets/{id}");
        assert_eq!(rc["requestTime"], "09/Apr/2015:12:34:56 +0000");
        assert_eq!(rc["requestTimeEpoch"], 1_428_582_896_000i64);
        assert_eq!(rc["domainPrefix"], "abc123");
        assert_eq!(rc["accountId"], "000000000000");
        assert_eq!(rc["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(rc["identity"]["userAgent"], "curl/8.5.0");
        assert!(rc["identity"]["cognitoIdentityId"].is_null());
        for k in [
            "apiId",
            "deploymentId",
            "extendedRequestId",
            "httpMethod",
            "protocol",
            "requestId",
            "resourceId",
            "stage",
        ] {
            assert!(rc[k].is_string(), "requestContext.{k}");
        }
    }

    #[test]
    fn v1_absent_maps_are_null_not_empty() {
        let headers = http::HeaderMap::new();
        let vars = BTreeMap::new();
        let f = fixture();
        let mut i = input(&f, V1);
        i.headers = &headers;
        i.raw_query = None;
        i.path_parameters = &[];
        i.stage_variables = &vars;
        i.body = b"";
        i.source_ip = "";
        let e = build_event(&i);
        for k in [
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "stageVariables",
            "body",
        ] {
            assert!(e[k].is_null(), "{k} should be null, is {}", e[k]);
        }
        assert!(e["requestContext"]["identity"]["userAgent"].is_null());
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

    #[test]
    fn v2_event() {
        let f = fixture();
        let e = build_event(&input(&f, V2));
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["routeKey"], "POST /pets/{id}");
        assert_eq!(e["rawPath"], "/prod/pets/42");
        assert_eq!(e["rawQueryString"], "a=1&b=x%20y&a=2&flag&c=d+e");
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert!(e["headers"].get("cookie").is_none());
        assert_eq!(e["headers"]["x-multi"], "one,two");
        assert_eq!(e["headers"]["user-agent"], "curl/8.5.0");
        assert_eq!(
            e["queryStringParameters"],
            json!({"a": "1,2", "b": "x y", "flag": "", "c": "d e"})
        );
        assert_eq!(e["pathParameters"], json!({"id": "42"}));
        assert_eq!(e["stageVariables"], json!({"GREETING": "hi"}));
        assert_eq!(e["body"], r#"{"n":1}"#);
        assert_eq!(e["isBase64Encoded"], false);
        let rc = &e["requestContext"];
        assert_eq!(rc["http"]["method"], "POST");
        assert_eq!(rc["http"]["path"], "/prod/pets/42");
        assert_eq!(rc["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(rc["routeKey"], "POST /pets/{id}");
        assert_eq!(rc["time"], "09/Apr/2015:12:34:56 +0000");
        assert_eq!(rc["timeEpoch"], 1_428_582_896_000i64);
        assert!(e.get("multiValueHeaders").is_none());
    }

    #[test]
    fn v2_cookies_that_are_not_utf8_keep_their_pairs() {
        let mut f = fixture();
        f.headers.append(
            "cookie",
            http::HeaderValue::from_bytes(b"c=3; d=\xff").unwrap(),
        );
        let e = build_event(&input(&f, V2));
        assert_eq!(e["cookies"], json!(["a=1", "b=2", "c=3", "d=\u{fffd}"]));
        // The event bytes say the same as the tree.
        let written: Value = serde_json::from_slice(&encode_event(&input(&f, V2))).unwrap();
        assert_eq!(written, e);
    }

    #[test]
    fn v2_route_key_of_an_any_method_route_says_any() {
        let f = fixture();
        let mut i = input(&f, V2);
        i.route_method = "ANY";
        let e = build_event(&i);
        assert_eq!(e["routeKey"], "ANY /pets/{id}");
        assert_eq!(e["requestContext"]["routeKey"], "ANY /pets/{id}");
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
    }

    #[test]
    fn v2_default_stage_and_route() {
        let headers = http::HeaderMap::new();
        let vars = BTreeMap::new();
        let f = fixture();
        let mut i = input(&f, V2);
        i.stage = "$default";
        i.resource_path = "$default";
        i.headers = &headers;
        i.raw_query = None;
        i.path_parameters = &[];
        i.stage_variables = &vars;
        i.body = b"";
        let e = build_event(&i);
        assert_eq!(e["rawPath"], "/pets/42");
        assert_eq!(e["routeKey"], "$default");
        assert_eq!(e["rawQueryString"], "");
        for k in [
            "cookies",
            "queryStringParameters",
            "pathParameters",
            "stageVariables",
            "body",
        ] {
            assert!(e.get(k).is_none(), "{k} should be absent");
        }
    }

    #[test]
    fn title_casing() {
        assert_eq!(title_case("user-agent"), "User-Agent");
        assert_eq!(title_case("x-api-key"), "X-Api-Key");
        assert_eq!(title_case("host"), "Host");
    }
}
