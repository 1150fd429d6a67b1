//! HTTP_PROXY and HTTP integrations: build the backend URL (stage variables, `{param}`
//! substitution through `requestParameters`, static values), forward method, query, headers and
//! the streamed body over a pooled keep-alive client, and bound the wait with `timeoutInMillis`.

use super::upstream::{Outgoing, Upstream, UpstreamError};
use super::RequestCx;
use crate::body::{self, Body};
use crate::gateway_response::{GatewayError, ResponseType};
use crate::model::{Integration, IntegrationType};
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, EXPECT, HOST};
use http::{HeaderMap, Response, Uri};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
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

fn is_hop_by_hop(name: &HeaderName, connection_listed: &[String]) -> bool {
    HOP_BY_HOP.contains(&name.as_str()) || connection_listed.iter().any(|c| c == name.as_str())
}

/// Removes the hop-by-hop fields (and those `Connection` lists) from a response's headers.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed = connection_listed(headers);
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_hop_by_hop(n, &listed))
        .cloned()
        .collect();
    for n in names {
        headers.remove(n);
    }
}

/// Header names a `Connection` header lists (also hop-by-hop).
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
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
    // {name} placeholders: mapped through requestParameters, else the same-named path parameter.
    let mut out = String::with_capacity(uri.len() + 32);
    let mut rest: &str = &uri;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..open + close];
        let bare = name.trim_end_matches('+');
        let mapped = integration
            .request_parameters
            .get(&format!("integration.request.path.{bare}"))
            .and_then(|src| cx.mapping_source(src))
            .or_else(|| cx.path_param(bare).map(str::to_string));
        match mapped {
            Some(v) if name.ends_with('+') || is_greedy(cx, bare) => {
                let encoded: Vec<String> = v.split('/').map(encode_segment).collect();
                out.push_str(&encoded.join("/"));
            }
            Some(v) => out.push_str(&encode_segment(&v)),
            None => out.push_str(&rest[open..open + close + 1]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    // Query string: HTTP_PROXY passes the client's through; mapped parameters are added.
    let mut query: Vec<String> = Vec::new();
    if integration.kind == IntegrationType::HttpProxy {
        if let Some(q) = cx.query.filter(|q| !q.is_empty()) {
            query.push(q.to_string());
        }
    }
    for (target, source) in &integration.request_parameters {
        if let Some(name) = target.strip_prefix("integration.request.querystring.") {
            if let Some(v) = cx.mapping_source(source) {
                query.push(format!(
                    "{}={}",
                    utf8_percent_encode(name, QUERY),
                    utf8_percent_encode(&v, QUERY)
                ));
            }
        }
    }
    if !query.is_empty() {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(&query.join("&"));
    }
    Ok(out)
}

/// One path segment for the backend URL. `.` and `..` are sent encoded, so a client's
/// `%2e%2e` can never become a parent-directory step at a backend that normalises paths.
fn encode_segment(s: &str) -> String {
    match s {
        "." => "%2E".to_string(),
        ".." => "%2E%2E".to_string(),
        _ => utf8_percent_encode(s, SEGMENT).to_string(),
    }
}

fn is_greedy(cx: &RequestCx, name: &str) -> bool {
    cx.resource.path.contains(&format!("{{{name}+}}"))
}

fn config_error(detail: String) -> GatewayError {
    tracing::warn!("integration configuration error: {detail}");
    GatewayError::with_message(ResponseType::ApiConfigurationError, "Internal server error")
}

/// Forward the request to the backend and stream its answer back.
pub async fn forward(
    cx: &RequestCx<'_>,
    integration: &Integration,
    client: &HttpClient,
    body: Body,
) -> Result<Response<Body>, GatewayError> {
    let url = backend_url(cx, integration)?;
    if url.starts_with("https://") {
        return Err(config_error(format!(
            "backend {url} uses https, which gw does not call; point the integration (or its stage variable) at an http:// URL"
        )));
    }
    let uri: Uri = url
        .parse()
        .map_err(|e| config_error(format!("backend URL {url:?} is invalid: {e}")))?;
    let Some(authority) = uri.authority().cloned() else {
        return Err(config_error(format!("backend URL {url:?} has no host")));
    };
    let method = match integration.http_method.as_deref() {
        None | Some("ANY") => cx.http_method.to_string(),
        Some(m) => m.to_string(),
    };
    let method = http::Method::from_bytes(method.as_bytes())
        .map_err(|_| config_error(format!("integration httpMethod {method:?} is invalid")))?;
    let listed = connection_listed(cx.headers);
    let mut h = HeaderMap::with_capacity(cx.headers.len() + 1);
    for (name, value) in cx.headers {
        // Framing is the client's own (set from the body it sends); 100-continue was answered
        // to the client already.
        if name == HOST || name == CONTENT_LENGTH || name == EXPECT || is_hop_by_hop(name, &listed)
        {
            continue;
        }
        h.append(name.clone(), value.clone());
    }
    if let Ok(v) = HeaderValue::from_str(authority.as_str()) {
        h.insert(HOST, v);
    }
    // As API Gateway does (and as the Lambda event has it): the client's address appended.
    let forwarded = match h.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(earlier) => HeaderValue::from_str(&format!("{earlier}, {}", cx.source_ip)),
        None => HeaderValue::from_str(&cx.source_ip),
    };
    if let Ok(v) = forwarded {
        h.insert(X_FORWARDED_FOR, v);
    }
    for (target, source) in &integration.request_parameters {
        if let Some(name) = target.strip_prefix("integration.request.header.") {
            if let (Ok(n), Some(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                cx.mapping_source(source),
            ) {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(n, v);
                }
            }
        }
    }
    let backend = match authority.port_u16() {
        Some(_) => authority
            .as_str()
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_string(),
        None => format!("{}:80", authority.host()),
    };
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let outgoing = Outgoing {
        method: &method,
        backend: &backend,
        target,
        headers: &h,
        body,
    };
    let timeout = Duration::from_millis(integration.timeout_in_millis);
    let resp = match tokio::time::timeout(timeout, client.send(outgoing)).await {
        Err(_) => return Err(GatewayError::new(ResponseType::IntegrationTimeout)),
        Ok(Err(e)) => return Err(upstream_error(e)),
        Ok(Ok(resp)) => resp,
    };
    let (mut parts, incoming) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    if integration.kind == IntegrationType::Http {
        apply_integration_response(cx, integration, &mut parts);
    }
    Ok(Response::from_parts(parts, incoming))
}

/// HTTP (non-proxy): map the backend status through the integration responses.
fn apply_integration_response(
    cx: &RequestCx,
    integration: &Integration,
    parts: &mut http::response::Parts,
) {
    let status = parts.status.as_u16().to_string();
    let Some(selected) = super::mock::select_response(&integration.integration_responses, &status)
    else {
        return;
    };
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
}

fn upstream_error(e: UpstreamError) -> GatewayError {
    if let UpstreamError::RequestBody(body) = &e {
        if body.is::<http_body_util::LengthLimitError>() {
            return GatewayError::with_message(ResponseType::RequestTooLarge, "Request Too Long");
        }
    }
    tracing::warn!("backend request failed: {e}");
    GatewayError::with_message(ResponseType::ApiConfigurationError, "Internal server error")
}

/// A response with the given body, for tests and small helpers.
pub fn text(status: u16, text: &str) -> Response<Body> {
    let mut r = Response::new(body::full(text.to_string()));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    r
}
