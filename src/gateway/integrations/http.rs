//! HTTP_PROXY and HTTP integrations: build the backend URL (stage variables, `{param}`
//! substitution through `requestParameters`, static values), forward method, query, headers and
//! the streamed body over a pooled keep-alive client, and bound the wait with `timeoutInMillis`.

use super::upstream::{Outgoing, RequestHead, Upstream, UpstreamError};
use super::RequestCx;
use crate::aws::gateway_response::{GatewayError, Origin, ResponseType};
use crate::model::{Integration, IntegrationType};
use crate::net::body::{self, Body};
use crate::net::headers::Relayed;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, EXPECT, HOST};
use http::{HeaderMap, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use std::borrow::Cow;
use std::time::Duration;

/// This worker's backend client: pooled keep-alive connections to every backend.
pub type HttpClient = Upstream;

pub fn client() -> HttpClient {
    Upstream::new()
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Hop-by-hop headers: never forwarded in either direction.
pub const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether `name` is one of [`HOP_BY_HOP`] (compared as header names: a standard name is an
/// enum, so most fields are told apart without comparing text).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    use http::header::{
        PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
    };
    name == CONNECTION
        || name == TRANSFER_ENCODING
        || name == TE
        || name == TRAILER
        || name == UPGRADE
        || name == PROXY_AUTHENTICATE
        || name == PROXY_AUTHORIZATION
        || name.as_str() == "keep-alive"
}

/// Whether the `Connection` field(s) of `headers` list `name` (such fields are hop-by-hop too).
fn connection_lists(headers: &HeaderMap, name: &HeaderName) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(name.as_str()))
}

/// Removes the hop-by-hop fields (and those `Connection` lists) from a response's headers.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Fields named by `Connection` beyond the standard hop-by-hop ones (rare: a list is
    // allocated only when there are some).
    let listed: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty() && !HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(t)))
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect();
    // Each distinct name appears once in `keys()`, so at most HOP_BY_HOP.len() are found.
    let mut found: [Option<HeaderName>; HOP_BY_HOP.len()] = Default::default();
    let present = headers.keys().filter(|n| is_hop_by_hop(n));
    for (slot, name) in found.iter_mut().zip(present) {
        *slot = Some(name.clone());
    }
    for name in found.into_iter().flatten().chain(listed) {
        headers.remove(name);
    }
}

const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'\\')
    .add(b'%');
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'&')
    .add(b'=')
    .add(b'+')
    .add(b'%');

/// The backend URL for this request.
pub fn backend_url(cx: &RequestCx, integration: &Integration) -> Result<String, GatewayError> {
    let template = integration.uri.as_deref().unwrap_or("");
    let uri = cx.stage_variables_in(template);
    let mut out = String::with_capacity(uri.len() + cx.path.len() + cx.query.map_or(0, str::len));
    for piece in pieces(&uri) {
        piece.push(&mut out, cx, integration);
    }
    push_query(&mut out, cx, integration);
    Ok(out)
}

/// A URI template's text between placeholders, or a placeholder.
#[derive(Debug, PartialEq)]
enum Piece<S> {
    Literal(S),
    /// `{name}` or `{name+}`: the name as written between the braces.
    Placeholder(S),
}

impl<S: AsRef<str>> Piece<S> {
    /// The piece's text for this request: a placeholder is mapped through requestParameters, or
    /// else takes the same-named path parameter.
    fn push(&self, out: &mut String, cx: &RequestCx, integration: &Integration) {
        match self {
            Piece::Literal(text) => out.push_str(text.as_ref()),
            Piece::Placeholder(name) => push_placeholder(out, cx, integration, name.as_ref()),
        }
    }
}

/// `template` taken apart at its `{name}` placeholders (an unclosed `{` is text).
fn pieces(template: &str) -> impl Iterator<Item = Piece<&str>> {
    let mut rest = template;
    let mut placeholder = None;
    std::iter::from_fn(move || {
        if let Some(name) = placeholder.take() {
            return Some(Piece::Placeholder(name));
        }
        if rest.is_empty() {
            return None;
        }
        let open = find_byte(rest, b'{');
        let close = open.and_then(|o| find_byte(&rest[o..], b'}').map(|c| o + c));
        let (Some(open), Some(close)) = (open, close) else {
            return Some(Piece::Literal(std::mem::take(&mut rest)));
        };
        let text = &rest[..open];
        placeholder = Some(&rest[open + 1..close]);
        rest = &rest[close + 1..];
        if text.is_empty() {
            placeholder.take().map(Piece::Placeholder)
        } else {
            Some(Piece::Literal(text))
        }
    })
}

/// The value of the URI placeholder `{name}` (`name` may end in `+`), encoded for the path; the
/// placeholder as written when nothing gives it a value.
fn push_placeholder(out: &mut String, cx: &RequestCx, integration: &Integration, name: &str) {
    let bare = name.trim_end_matches('+');
    let mapped = integration
        .request_parameters
        .iter()
        .find(|(target, _)| target.strip_prefix("integration.request.path.") == Some(bare))
        .and_then(|(_, source)| cx.mapping_value(source))
        .or_else(|| cx.path_param(bare).map(Cow::Borrowed));
    match mapped {
        Some(v) if name.ends_with('+') || is_greedy(cx, bare) => {
            let mut segments: &str = &v;
            while let Some(slash) = find_byte(segments, b'/') {
                push_segment(out, &segments[..slash]);
                out.push('/');
                segments = &segments[slash + 1..];
            }
            push_segment(out, segments);
        }
        Some(v) => push_segment(out, &v),
        None => {
            out.push('{');
            out.push_str(name);
            out.push('}');
        }
    }
}

/// The query string: HTTP_PROXY passes the client's through; mapped parameters are added.
fn push_query(out: &mut String, cx: &RequestCx, integration: &Integration) {
    let mut separator = if find_byte(out, b'?').is_some() {
        '&'
    } else {
        '?'
    };
    if integration.kind == IntegrationType::HttpProxy {
        if let Some(q) = cx.query.filter(|q| !q.is_empty()) {
            out.push(separator);
            out.push_str(q);
            separator = '&';
        }
    }
    for (target, source) in &integration.request_parameters {
        if let Some(name) = target.strip_prefix("integration.request.querystring.") {
            if let Some(v) = cx.mapping_value(source) {
                out.push(separator);
                out.extend(utf8_percent_encode(name, QUERY));
                out.push('=');
                out.extend(utf8_percent_encode(&v, QUERY));
                separator = '&';
            }
        }
    }
}

/// An `http://` integration URI whose scheme and authority are literal (no stage variable, no
/// placeholder before the path), taken apart once per deployment ([`plans`]): a request only
/// fills in its path and query, with no search for placeholders and no parse of the host.
#[derive(Debug)]
pub struct UriPlan {
    host: Box<str>,
    connect: Box<str>,
    pieces: Vec<Piece<Box<str>>>,
}

/// The plans of the HTTP and HTTP_PROXY integration URIs of `api` that can have one, by URI.
pub fn plans(api: &crate::model::RestApi) -> crate::net::fnv::Map<Box<str>, UriPlan> {
    let mut plans = crate::net::fnv::Map::default();
    let uris = api
        .resources
        .iter()
        .flat_map(|r| r.resource_methods.values())
        .filter_map(|m| m.method_integration.as_ref())
        .filter(|i| matches!(i.kind, IntegrationType::HttpProxy | IntegrationType::Http))
        .filter_map(|i| i.uri.as_deref());
    for uri in uris {
        if !plans.contains_key(uri) {
            if let Some(plan) = UriPlan::new(uri) {
                plans.insert(uri.into(), plan);
            }
        }
    }
    plans
}

impl UriPlan {
    fn new(uri: &str) -> Option<UriPlan> {
        if uri.contains("${") {
            return None;
        }
        let rest = strip_http(uri)?;
        let (authority, path) = rest.split_at(authority_len(rest));
        if authority.contains('{') {
            return None;
        }
        let parts = split_backend_url(&uri[..uri.len() - path.len()]).ok()?;
        let pieces = pieces(path)
            .map(|piece| match piece {
                Piece::Literal(text) => Piece::Literal(text.into()),
                Piece::Placeholder(name) => Piece::Placeholder(name.into()),
            })
            .collect();
        Some(UriPlan {
            host: parts.host.into(),
            connect: parts.connect.into(),
            pieces,
        })
    }

    /// The request target (path and query) for this request, as [`backend_url`] would give it.
    fn target(&self, cx: &RequestCx, integration: &Integration) -> String {
        let mut out = String::with_capacity(64 + cx.path.len() + cx.query.map_or(0, str::len));
        for piece in &self.pieces {
            piece.push(&mut out, cx, integration);
        }
        push_query(&mut out, cx, integration);
        out
    }
}

/// One path segment for the backend URL. `.` and `..` are sent encoded, so a client's
/// `%2e%2e` can never become a parent-directory step at a backend that normalises paths.
fn push_segment(out: &mut String, s: &str) {
    match s {
        "." => out.push_str("%2E"),
        ".." => out.push_str("%2E%2E"),
        _ => out.extend(utf8_percent_encode(s, SEGMENT)),
    }
}

/// The first `byte` in `s`: a plain byte search, where `str::find(char)` sets up a general
/// searcher that costs more than these short strings do.
fn find_byte(s: &str, byte: u8) -> Option<usize> {
    s.bytes().position(|b| b == byte)
}

/// Whether the matched resource's path has `{name+}`.
fn is_greedy(cx: &RequestCx, name: &str) -> bool {
    let path = cx.resource.path.as_bytes();
    path.iter().enumerate().any(|(i, &b)| {
        b == b'{'
            && path[i + 1..]
                .strip_prefix(name.as_bytes())
                .is_some_and(|r| r.starts_with(b"+}"))
    })
}

/// An `http://` backend URL, taken apart.
struct BackendUrl<'u> {
    /// `host[:port]` as written (user info dropped): the `Host` header.
    host: &'u str,
    /// `host:port` to connect to (port 80 when the URL has none).
    connect: Cow<'u, str>,
    /// The request target, `/path?query` (fragment dropped).
    target: Cow<'u, str>,
}

/// What follows `http://` (any case) in `url`.
fn strip_http(url: &str) -> Option<&str> {
    const SCHEME: &str = "http://";
    match url.get(..SCHEME.len()) {
        Some(s) if s.eq_ignore_ascii_case(SCHEME) => Some(&url[SCHEME.len()..]),
        _ => None,
    }
}

/// The length of the authority at the start of `rest` (up to a path, query or fragment).
fn authority_len(rest: &str) -> usize {
    rest.bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len())
}

fn split_backend_url(url: &str) -> Result<BackendUrl<'_>, String> {
    let rest = strip_http(url)
        .ok_or_else(|| format!("backend URL {url:?} does not start with http://"))?;
    let (authority, target) = rest.split_at(authority_len(rest));
    // Byte searches: `str::rfind(char)` sets up a general searcher, costly on strings this short.
    let host_port = match authority.bytes().rposition(|b| b == b'@') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    let valid_authority = authority.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'['
                    | b']'
                    | b'%'
            )
    });
    if host_port.is_empty() || !valid_authority {
        return Err(format!("backend URL {url:?} has no valid host"));
    }
    // The port is what follows the last `:` outside an IPv6 literal's brackets.
    let port = match host_port.bytes().rposition(|b| b == b':') {
        Some(i) if !host_port.as_bytes()[i..].contains(&b']') => Some(&host_port[i + 1..]),
        _ => None,
    };
    let connect = match port {
        Some(p) if p.parse::<u16>().is_ok() && host_port.len() > p.len() + 1 => {
            Cow::Borrowed(host_port)
        }
        Some(_) => return Err(format!("backend URL {url:?} has an invalid port")),
        None => Cow::Owned(format!("{host_port}:80")),
    };
    let target = request_target(target).ok_or_else(|| {
        format!(
            "backend URL {url:?} has a space, a control or a non-ASCII character in its path or query"
        )
    })?;
    Ok(BackendUrl {
        host: host_port,
        connect,
        target,
    })
}

/// The request target for what follows a backend URL's authority: the fragment dropped, `/`
/// added in front of a bare query or for nothing; `None` when it has a space, a control or a
/// non-ASCII character.
fn request_target(target: &str) -> Option<Cow<'_, str>> {
    let target = find_byte(target, b'#').map_or(target, |i| &target[..i]);
    if target.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return None;
    }
    Some(match target.as_bytes().first() {
        None => Cow::Borrowed("/"),
        Some(b'?') => Cow::Owned(format!("/{target}")),
        Some(_) => Cow::Borrowed(target),
    })
}

fn config_error(detail: String) -> GatewayError {
    tracing::warn!("integration configuration error: {detail}");
    GatewayError::with_message(ResponseType::ApiConfigurationError, "Internal server error")
}

/// Forward the request to the backend and stream its answer back. An HTTP_PROXY answer's fields
/// come back as received, beside the response (see [`crate::net::headers::Relayed`]).
pub async fn forward(
    cx: &RequestCx<'_>,
    integration: &Integration,
    client: &HttpClient,
    body: Body,
) -> Result<(Response<Body>, Option<Relayed>), GatewayError> {
    let planned = integration
        .uri
        .as_deref()
        .and_then(|uri| cx.deployment.uri_plans.get(uri));
    let url;
    let backend = match planned {
        Some(plan) => {
            url = plan.target(cx, integration);
            let target = request_target(&url).ok_or_else(|| {
                config_error(format!(
                    "backend URL \"http://{}{url}\" has a space, a control or a non-ASCII character in its path or query",
                    plan.host
                ))
            })?;
            BackendUrl {
                host: &plan.host,
                connect: Cow::Borrowed(&plan.connect),
                target,
            }
        }
        None => {
            url = backend_url(cx, integration)?;
            if url
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
            {
                return Err(config_error(format!(
                    "backend {url} uses https, which gw does not call; point the integration (or its stage variable) at an http:// URL"
                )));
            }
            split_backend_url(&url).map_err(config_error)?
        }
    };
    let mut request_overrides = crate::aws::vtl::Overrides::new();
    let body = if integration.kind == IntegrationType::Http {
        match request_template(integration, cx.headers)? {
            Some(template) => {
                let text = match read_limited(body).await {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(e) => return Err(body_error(e)),
                };
                let (mapped, overrides) = cx.mapping_template_with_overrides(template, &text)?;
                request_overrides = overrides;
                body::full(mapped)
            }
            None => body,
        }
    } else {
        body
    };
    let method = match integration.http_method.as_deref() {
        None | Some("ANY") => cx.http_method,
        Some(m) => m,
    };
    let method = http::Method::from_bytes(method.as_bytes())
        .map_err(|_| config_error(format!("integration httpMethod {method:?} is invalid")))?;
    // Fields set by the integration's request parameters and by the template's overrides
    // replace the client's fields of those names (a later one of the same name wins).
    let mut set: Vec<(HeaderName, Cow<'_, str>)> = Vec::new();
    for (target, source) in &integration.request_parameters {
        if let Some(name) = target.strip_prefix("integration.request.header.") {
            if let (Ok(n), Some(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                cx.mapping_value(source),
            ) {
                set.push((n, v));
            }
        }
    }
    for (key, value) in &request_overrides {
        if let Some(name) = key.strip_prefix("requestOverride.header.") {
            if let Ok(n) = HeaderName::from_bytes(name.as_bytes()) {
                set.push((n, Cow::Borrowed(value.as_str())));
            }
        }
    }
    let is_set = |name: &HeaderName| set.iter().any(|(n, _)| n == name);
    let has_connection = cx.headers.contains_key(CONNECTION);
    let mut head = RequestHead::new(&method, &backend.target, cx.headers.len() + 2);
    let mut forwarded_before = None;
    for (name, value) in cx.headers {
        // Framing is the client's own (set from the body it sends); 100-continue was answered
        // to the client already.
        if name == HOST
            || name == CONTENT_LENGTH
            || name == EXPECT
            || is_hop_by_hop(name)
            || (has_connection && connection_lists(cx.headers, name))
            || is_set(name)
        {
            continue;
        }
        if name == X_FORWARDED_FOR {
            forwarded_before.get_or_insert(value);
            continue;
        }
        head.field(name.as_str(), &[value.as_bytes()]);
    }
    if !is_set(&HOST) {
        head.field("host", &[backend.host.as_bytes()]);
    }
    // As API Gateway does (and as the Lambda event has it): the client's address appended.
    if !is_set(&X_FORWARDED_FOR) {
        let ip = cx.source_ip.as_bytes();
        match forwarded_before {
            Some(earlier) => head.field("x-forwarded-for", &[earlier.as_bytes(), b", ", ip]),
            None => head.field("x-forwarded-for", &[ip]),
        };
    }
    for (i, (name, value)) in set.iter().enumerate() {
        if !set[i + 1..].iter().any(|(n, _)| n == name) {
            head.field(name.as_str(), &[value.as_bytes()]);
        }
    }
    let outgoing = Outgoing {
        method: &method,
        backend: &backend.connect,
        head,
        body,
    };
    let timeout = Duration::from_millis(integration.timeout_in_millis);
    let resp = match client
        .send(outgoing, std::time::Instant::now(), timeout)
        .await
    {
        Err(UpstreamError::TimedOut) => {
            return Err(GatewayError::new(ResponseType::IntegrationTimeout))
        }
        Err(e) => return Err(upstream_error(e)),
        Ok(resp) => resp,
    };
    // The backend's hop-by-hop fields were left out as its answer was read. HTTP_PROXY relays
    // the others as received; HTTP's integration responses read and set them.
    let (mut resp, relayed) = resp;
    if integration.kind == IntegrationType::HttpProxy {
        return Ok((resp, Some(relayed)));
    }
    crate::net::headers::materialize(&mut resp, relayed);
    let (mut parts, incoming) = resp.into_parts();
    let template = apply_integration_response(cx, integration, &mut parts);
    if let Some((content_type, template)) = template {
        // The backend's answer, mapped: read in full (API Gateway's 10 MB limit), rendered.
        let bytes = read_limited(incoming).await.map_err(|e| {
            tracing::warn!("reading the backend's answer to map it: {e}");
            GatewayError::with_message(ResponseType::ApiConfigurationError, "Internal server error")
        })?;
        let (mapped, overrides) =
            cx.mapping_template_with_overrides(template, &String::from_utf8_lossy(&bytes))?;
        parts.headers.remove(CONTENT_LENGTH);
        if let Ok(v) = HeaderValue::from_str(content_type) {
            parts.headers.insert(http::header::CONTENT_TYPE, v);
        }
        super::apply_response_overrides(&overrides, &mut parts.status, &mut parts.headers);
        return Ok((Response::from_parts(parts, body::full(mapped)), None));
    }
    Ok((Response::from_parts(parts, incoming), None))
}

/// A body read in full, failing past API Gateway's 10 MB.
async fn read_limited(body: Body) -> Result<bytes::Bytes, crate::net::body::BoxError> {
    use http_body_util::BodyExt;
    // Boxed: `Collect<Limited<_>>` itself trips the compiler's Send analysis of the request
    // future (a higher-ranked lifetime it cannot prove), the boxed body does not.
    let limited: Body =
        http_body_util::Limited::new(body, crate::net::body::MAX_BODY_BYTES).boxed();
    Ok(limited.collect().await?.to_bytes())
}

/// HTTP (non-proxy): the request template for the request's content type; `Ok(None)` to pass the
/// body through, as `passthroughBehavior` allows; else 415, as on AWS.
fn request_template<'i>(
    integration: &'i Integration,
    headers: &HeaderMap,
) -> Result<Option<&'i str>, GatewayError> {
    let templates = &integration.request_templates;
    let media = super::media_type(headers);
    if let Some((_, t)) = templates
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&media))
    {
        return Ok(Some(t));
    }
    let refuse = match integration
        .passthrough_behavior
        .to_ascii_uppercase()
        .as_str()
    {
        "NEVER" => true,
        "WHEN_NO_TEMPLATES" => !templates.is_empty(),
        _ => false,
    };
    if refuse {
        return Err(GatewayError::new(ResponseType::UnsupportedMediaType));
    }
    Ok(None)
}

fn body_error(e: crate::net::body::BoxError) -> GatewayError {
    if e.is::<http_body_util::LengthLimitError>() {
        GatewayError::with_message(ResponseType::RequestTooLarge, "Request Too Long")
    } else {
        GatewayError::with_message(ResponseType::BadRequestBody, "Invalid request body")
    }
}

/// HTTP (non-proxy): map the backend status through the integration responses.
/// Returns the selected response's mapping template (content type, template), if it has one.
fn apply_integration_response<'i>(
    cx: &RequestCx,
    integration: &'i Integration,
    parts: &mut http::response::Parts,
) -> Option<(&'i str, &'i str)> {
    let status = parts.status.as_u16().to_string();
    let selected = super::mock::select_response(&integration.integration_responses, &status)?;
    if let Some(code) = selected
        .status_code
        .parse::<u16>()
        .ok()
        .and_then(|s| http::StatusCode::from_u16(s).ok())
    {
        parts.status = code;
    }
    for (target, source) in &selected.response_parameters {
        let Some(name) = target.strip_prefix("method.response.header.") else {
            continue;
        };
        let value = if let Some(h) = source.strip_prefix("integration.response.header.") {
            parts
                .headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        } else {
            cx.mapping_source(source)
        };
        if let (Ok(n), Some(Ok(v))) = (
            HeaderName::from_bytes(name.as_bytes()),
            value.map(|v| HeaderValue::from_str(&v)),
        ) {
            parts.headers.insert(n, v);
        }
    }
    selected
        .response_templates
        .get_key_value("application/json")
        .or_else(|| selected.response_templates.iter().next())
        .map(|(k, t)| (k.as_str(), t.as_str()))
}

fn upstream_error(e: UpstreamError) -> GatewayError {
    if let UpstreamError::RequestBody(body) = &e {
        if body.is::<http_body_util::LengthLimitError>() {
            return GatewayError::with_message(ResponseType::RequestTooLarge, "Request Too Long");
        }
    }
    tracing::warn!("backend request failed: {e}");
    let error =
        GatewayError::with_message(ResponseType::ApiConfigurationError, "Internal server error");
    match e {
        UpstreamError::Connect { .. } => error.from_origin(Origin::UpstreamConnect),
        _ => error,
    }
}

/// A response with the given body, for tests and small helpers.
pub fn text(status: u16, text: &str) -> Response<Body> {
    let mut r = Response::new(body::full(text.to_string()));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> Result<(String, String, String), String> {
        split_backend_url(url).map(|b| (b.host.into(), b.connect.into(), b.target.into()))
    }

    #[test]
    fn hop_by_hop_names_are_recognised_as_names() {
        for name in HOP_BY_HOP {
            assert!(is_hop_by_hop(&HeaderName::from_static(name)), "{name}");
        }
        for name in [
            "host",
            "content-length",
            "x-keep-alive",
            "connections",
            "tes",
        ] {
            assert!(!is_hop_by_hop(&HeaderName::from_static(name)), "{name}");
        }
    }

    #[test]
    fn uri_plans_take_the_authority_apart_once() {
        let plan = UriPlan::new("HTTP://u@h:81/a/{id}/{proxy+}x?q={v}#f").unwrap();
        assert_eq!((&*plan.host, &*plan.connect), ("h:81", "h:81"));
        let lit = |s: &str| Piece::Literal(s.into());
        let ph = |s: &str| Piece::Placeholder(s.into());
        assert_eq!(
            plan.pieces,
            [
                lit("/a/"),
                ph("id"),
                lit("/"),
                ph("proxy+"),
                lit("x?q="),
                ph("v"),
                lit("#f")
            ]
        );
        let plan = UriPlan::new("http://h").unwrap();
        assert_eq!((&*plan.connect, plan.pieces.len()), ("h:80", 0));
        let plan = UriPlan::new("http://h/{open").unwrap();
        assert_eq!(plan.pieces, [lit("/{open")]);
        let borrowed: Vec<_> = pieces("{a}{b}/x{").collect();
        assert_eq!(
            borrowed,
            [
                Piece::Placeholder("a"),
                Piece::Placeholder("b"),
                Piece::Literal("/x{")
            ]
        );
        for general in [
            "http://${stageVariables.host}/a",
            "http://h/${stageVariables.p}",
            "http://{host}/a",
            "https://h/a",
            "http://h:99999/a",
            "arn:aws:apigateway:us-east-1:lambda:path/x",
        ] {
            assert!(UriPlan::new(general).is_none(), "{general}");
        }
        assert_eq!(request_target("").as_deref(), Some("/"));
        assert_eq!(request_target("?q").as_deref(), Some("/?q"));
        assert_eq!(request_target("/a#f").as_deref(), Some("/a"));
        assert_eq!(request_target("/a b"), None);
    }

    #[test]
    fn backend_urls_are_taken_apart() {
        let ok = |h: &str, c: &str, t: &str| Ok((h.to_string(), c.to_string(), t.to_string()));
        assert_eq!(
            parts("http://127.0.0.1:8080/pets/1?x=1"),
            ok("127.0.0.1:8080", "127.0.0.1:8080", "/pets/1?x=1")
        );
        assert_eq!(
            parts("http://example.com"),
            ok("example.com", "example.com:80", "/")
        );
        assert_eq!(parts("HTTP://h?q=1"), ok("h", "h:80", "/?q=1"));
        assert_eq!(parts("http://u:p@h:81/a#frag"), ok("h:81", "h:81", "/a"));
        assert_eq!(
            parts("http://[::1]:9000/a"),
            ok("[::1]:9000", "[::1]:9000", "/a")
        );
        assert_eq!(parts("http://[::1]/a"), ok("[::1]", "[::1]:80", "/a"));
        for bad in [
            "ftp://h/",
            "h:80/x",
            "http:///x",
            "http://h:99999/",
            "http://h:x/",
            "http://:80/",
            "http://h/a b",
            "http://h/a\r\nX: y",
            "http://h/é",
            "http://h\"/",
        ] {
            assert!(parts(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
