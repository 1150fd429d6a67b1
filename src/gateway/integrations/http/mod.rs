//! HTTP_PROXY and HTTP integrations: build the backend URL (stage variables, `{param}`
//! substitution through `requestParameters`, static values), forward method, query, headers and
//! the streamed body over a pooled keep-alive client, and bound the wait with `timeoutInMillis`.

mod url;

pub use url::{backend_url, plans, UriPlan};

use crate::gateway::links::{Balance, Pool, Target};
use std::sync::Arc;
use url::{request_target, split_backend_url, BackendUrl};

use super::upstream::{Outgoing, RequestHead, Upstream, UpstreamError};
use super::RequestCx;
use crate::aws::gateway_response::{GatewayError, Origin, ResponseType};
use crate::model::{Integration, IntegrationType};
use crate::net::body::{self, Body};
use crate::net::headers::Relayed;
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, EXPECT, HOST};
use http::{HeaderMap, Response};

use std::borrow::Cow;
use std::time::Duration;

/// This worker's backend client: pooled keep-alive connections to every backend.
pub type HttpClient = Upstream;

pub fn client() -> HttpClient {
    Upstream::new()
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

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

/// A header an integration's mapping (or a template's override) may set on the backend request:
/// not one that frames the message or manages the connection (`Content-Length`, `Expect` and the
/// hop-by-hop fields: gw writes those itself from the body it sends), nor an invalid name.
/// Those mappings are left out (logged at debug level).
fn settable(name: &str) -> Option<HeaderName> {
    let n = HeaderName::from_bytes(name.as_bytes()).ok()?;
    if n == CONTENT_LENGTH || n == EXPECT || is_hop_by_hop(&n) {
        tracing::debug!(
            "integration.request.header.{name} is not sent: gw frames the request itself"
        );
        return None;
    }
    Some(n)
}

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

pub(super) fn config_error(detail: String) -> GatewayError {
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
    link: Option<Arc<Pool>>,
    links: &crate::gateway::links::Links,
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
                tls: plan.tls,
                named: plan.named,
            }
        }
        None => {
            url = backend_url(cx, integration)?;
            split_backend_url(&url).map_err(config_error)?
        }
    };
    let tls = if backend.tls {
        Some(tls_target(client, integration, backend.host)?)
    } else {
        None
    };
    let mut request_overrides = crate::aws::vtl::Overrides::new();
    let body = if integration.kind == IntegrationType::Http {
        let template = request_template(integration, cx.headers)?;
        let handling = integration.content_handling.as_deref();
        if template.is_none() && handling.is_none() {
            body
        } else {
            // contentHandling first (binary ↔ base64), then the template over the result.
            let bytes = match read_limited(body).await {
                Ok(bytes) => bytes,
                Err(e) => return Err(body_error(e)),
            };
            let binary = cx.body_is_binary();
            let bytes = super::content_handling(handling, bytes.to_vec(), binary);
            match template {
                Some(template) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let (mapped, overrides) =
                        cx.mapping_template_with_overrides(template, &text)?;
                    request_overrides = overrides;
                    body::full(mapped)
                }
                None => body::full(bytes),
            }
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
            if let (Some(n), Some(v)) = (settable(name), cx.mapping_value(source)) {
                set.push((n, v));
            }
        }
    }
    for (key, value) in &request_overrides {
        if let Some(name) = key.strip_prefix("requestOverride.header.") {
            if let Some(n) = settable(name) {
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
        // The scheme is gw's to say, not the client's.
        if name == X_FORWARDED_PROTO {
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
    if !is_set(&X_FORWARDED_PROTO) {
        head.field("x-forwarded-proto", &[cx.context.scheme.as_bytes()]);
    }
    for (i, (name, value)) in set.iter().enumerate() {
        if !set[i + 1..].iter().any(|(n, _)| n == name) {
            head.field(name.as_str(), &[value.as_bytes()]);
        }
    }
    let timeout = Duration::from_millis(integration.timeout_in_millis);
    // A backend name with several addresses is balanced over them as a link's targets are.
    let link = match link {
        None if backend.named => links.backend_name(&backend.connect).await,
        link => link,
    };
    let sent = match link {
        None => {
            let outgoing = Outgoing {
                method: &method,
                backend: &backend.connect,
                tls: tls.as_ref(),
                head,
                body,
            };
            client
                .send(outgoing, std::time::Instant::now(), timeout)
                .await
        }
        Some(pool) => {
            send_via_link(
                cx,
                client,
                &pool,
                &method,
                tls.as_ref(),
                head,
                body,
                timeout,
            )
            .await?
        }
    };
    let resp = match sent {
        Err(UpstreamError::TimedOut | UpstreamError::ConnectTimedOut { .. }) => {
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
    let (template, handling) = apply_integration_response(cx, integration, &mut parts);
    if let (None, Some(handling)) = (template, handling) {
        // No template, a contentHandling: the backend's answer converted (read in full).
        let bytes = read_limited(incoming).await.map_err(|e| {
            tracing::warn!("reading the backend's answer to convert it: {e}");
            GatewayError::with_message(ResponseType::ApiConfigurationError, "Internal server error")
        })?;
        let binary = super::is_binary_type(
            parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            &cx.deployment.api.binary_media_types,
        );
        let out = super::content_handling(Some(handling), bytes.to_vec(), binary);
        parts.headers.remove(CONTENT_LENGTH);
        return Ok((Response::from_parts(parts, body::full(out)), None));
    }
    if let Some((content_type, template)) = template {
        // The backend's answer, mapped: read in full (API Gateway's 10 MB limit), rendered.
        let bytes = read_limited(incoming).await.map_err(|e| {
            tracing::warn!("reading the backend's answer to map it: {e}");
            GatewayError::with_message(ResponseType::ApiConfigurationError, "Internal server error")
        })?;
        let (mapped, overrides) =
            cx.mapping_template_with_overrides(template, &String::from_utf8_lossy(&bytes))?;
        let mapped = super::content_handling(handling, mapped.into_bytes(), false);
        parts.headers.remove(CONTENT_LENGTH);
        if let Ok(v) = HeaderValue::from_str(content_type) {
            parts.headers.insert(http::header::CONTENT_TYPE, v);
        }
        super::apply_response_overrides(&overrides, &mut parts.status, &mut parts.headers);
        return Ok((Response::from_parts(parts, body::full(mapped)), None));
    }
    Ok((Response::from_parts(parts, incoming), None))
}

/// Sends a request to a target of a VPC link (the URI's path, query and Host kept): the target
/// its balancing mode picks; a connection it refuses counts toward taking it out, and an
/// idempotent request (nothing of it sent yet) goes once more to another target.
#[allow(clippy::too_many_arguments)]
async fn send_via_link(
    cx: &RequestCx<'_>,
    client: &HttpClient,
    pool: &Pool,
    method: &http::Method,
    tls: Option<&super::upstream::TlsTarget>,
    head: super::upstream::RequestHead,
    body: Body,
    timeout: Duration,
) -> Result<Result<(Response<Body>, Relayed), UpstreamError>, GatewayError> {
    let key: Option<&[u8]> = match &pool.balance {
        Balance::HashHeader(name) => cx.headers.get(name).map(|v| v.as_bytes()),
        Balance::HashIp => Some(cx.source_ip.as_bytes()),
        _ => None,
    };
    let started = std::time::Instant::now();
    let retry = super::upstream::idempotent(method);
    // A request that may go twice is read first, so the second try can send it again.
    let (mut body, copy) = if retry {
        let bytes = read_limited(body).await.map_err(body_error)?;
        (body::full(bytes.clone()), Some(bytes))
    } else {
        (body, None)
    };
    let mut failed: Option<(Arc<Target>, Sent)> = None;
    loop {
        let avoid: Option<Arc<Target>> = failed.as_ref().map(|(t, _)| t.clone());
        let Some(target) = pool.pick(key, avoid.as_deref()) else {
            // No other target for the second try: the first try's failure is the answer.
            if let Some((_, first)) = failed {
                return Ok(first);
            }
            return Err(config_error(format!(
                "VPC link {} has no targets: register one (gw vpc-link register {} HOST:PORT)",
                pool.name, pool.name
            )));
        };
        target
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let outgoing = Outgoing {
            method,
            backend: &target.address,
            tls,
            head: head.clone(),
            body,
        };
        let sent = {
            // Counted out even if this request is dropped on the way (a client gone, a timeout).
            let _in_flight = InFlight::count(&target);
            client.send(outgoing, started, timeout).await
        };
        let refused = matches!(
            sent,
            Err(UpstreamError::Connect { .. } | UpstreamError::ConnectTimedOut { .. })
        );
        target.connected(!refused, &pool.health, &pool.name);
        match (&copy, refused, &failed) {
            (Some(bytes), true, None) => {
                tracing::debug!(
                    "VPC link {}: no connection to {}; trying another target",
                    pool.name,
                    target.address
                );
                body = body::full(bytes.clone());
                failed = Some((target, sent));
            }
            _ => return Ok(sent),
        }
    }
}

/// What one try at a backend came back with.
type Sent = Result<(Response<Body>, Relayed), UpstreamError>;

/// One request in flight to a link's target, for as long as it lives.
struct InFlight(Arc<Target>);

impl InFlight {
    fn count(target: &Arc<Target>) -> InFlight {
        target
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InFlight(target.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How to call an `https://` backend: its certificate verified (against the system's roots and
/// `--backend-ca`) unless the integration's `tlsConfig.insecureSkipVerification` is true.
fn tls_target(
    client: &HttpClient,
    integration: &Integration,
    host_port: &str,
) -> Result<super::upstream::TlsTarget, GatewayError> {
    let setting = |name: &str| integration.tls_config.as_ref().and_then(|t| t.get(name));
    let insecure = setting("insecureSkipVerification")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let Some(configs) = client.tls() else {
        return Err(config_error(
            "backend TLS is not available (see the server's log)".into(),
        ));
    };
    // The host without its port (an IPv6 literal keeps its brackets until `server_name`).
    let host = match host_port.bytes().rposition(|b| b == b':') {
        Some(i) if !host_port[i..].contains(']') => &host_port[..i],
        _ => host_port,
    };
    // `tlsConfig.serverNameToVerify`: the name sent (SNI) and checked, in place of the host.
    let host = setting("serverNameToVerify")
        .and_then(serde_json::Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or(host);
    let server_name = crate::net::tls::server_name(host).map_err(config_error)?;
    Ok(super::upstream::TlsTarget {
        server_name,
        config: if insecure {
            configs.insecure.clone()
        } else {
            configs.verified.clone()
        },
    })
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
pub(super) fn request_template<'i>(
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
/// Returns the selected response's mapping template (content type, template), if it has one,
/// and its `contentHandling`.
fn apply_integration_response<'i>(
    cx: &RequestCx,
    integration: &'i Integration,
    parts: &mut http::response::Parts,
) -> (Option<(&'i str, &'i str)>, Option<&'i str>) {
    let status = parts.status.as_u16().to_string();
    let Some(selected) = super::mock::select_response(&integration.integration_responses, &status)
    else {
        return (None, None);
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
    let template = selected
        .response_templates
        .get_key_value("application/json")
        .or_else(|| selected.response_templates.iter().next())
        .map(|(k, t)| (k.as_str(), t.as_str()));
    (template, selected.content_handling.as_deref())
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
    // (A TLS failure, a certificate most often, is AWS's 500 with the reason in the log above.)
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
}
