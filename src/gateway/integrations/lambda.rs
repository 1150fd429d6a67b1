//! `AWS` integrations. To Lambda (non-proxy), as API Gateway does it: the request template builds
//! the event (the body passes through when no template applies, as `passthroughBehavior`
//! allows), the local function runs, and its result — or its error,
//! `{"errorMessage", "errorType", "stackTrace"}` — goes through the integration responses: an
//! error selects the response whose `selectionPattern` matches its `errorMessage` in full, a
//! result (or an unmatched error) the default one; the selected response's status, header
//! mappings and mapping template make the answer. Other AWS services are not emulated: such a
//! method answers 500 with a message naming the service.

use super::function::{self, Called};
use super::RequestCx;
use crate::aws::gateway_response::{GatewayError, ResponseType};
use crate::aws::uri::aws_service;
use crate::model::{Integration, IntegrationResponse};
use crate::net::body::{self, Body};
use crate::wasm::InvokeError;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use std::time::Duration;

/// Answer an `AWS` integration; the `NAME:VERSION` that ran when it was a function.
pub async fn invoke<'f>(
    cx: &RequestCx<'_>,
    integration: &Integration,
    reach: crate::gateway::outbound::Reach<'_, 'f>,
    body_bytes: Bytes,
) -> Result<(Response<Body>, Option<&'f str>), GatewayError> {
    let functions = &reach.snapshot.functions;
    let uri = integration.uri.as_deref().unwrap_or("");
    match aws_service(uri) {
        Some(("lambda", _)) => {}
        other => return Err(not_emulated(cx, other.map(|(s, _)| s))),
    }
    let (f, runtime) = function::resolve(cx, uri, functions).map_err(|e| {
        tracing::warn!("integration {e}");
        GatewayError::with_message(ResponseType::ApiConfigurationError, "Internal server error")
    })?;
    let label = f.loaded.label();
    if !f.loaded.kind().is_lambda() {
        tracing::warn!(
            "{label} is a wasi:http component; a Lambda integration needs a Lambda-style function"
        );
        return Err(GatewayError::with_message(
            ResponseType::ApiConfigurationError,
            "Internal server error",
        ));
    }
    let request_binary = cx.body_is_binary();
    let body_bytes = super::content_handling(
        integration.content_handling.as_deref(),
        body_bytes.to_vec(),
        request_binary,
    );
    let text = String::from_utf8_lossy(&body_bytes);
    let event = match super::http::request_template(integration, cx.headers)? {
        Some(template) => cx.mapping_template(template, &text)?,
        None if text.trim().is_empty() => "{}".to_owned(),
        None => text.into_owned(),
    };
    let timeout = Duration::from_millis(integration.timeout_in_millis);
    let called = function::run_lambda(
        runtime,
        f,
        event.into_bytes(),
        timeout,
        reach,
        cx.request_id,
    )
    .await;
    let (payload, error_message) = match called {
        Ok(Called::Result(out)) => (out, None),
        Ok(Called::Error(e)) => {
            let message = e
                .get("errorMessage")
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_owned();
            (serde_json::to_vec(&e).unwrap_or_default(), Some(message))
        }
        // The integration's timeout, throttling, and gw's own failures answer as for a proxy.
        Err(
            e @ (InvokeError::Timeout
            | InvokeError::Throttled
            | InvokeError::Busy
            | InvokeError::Other(_)),
        ) => return Err(function::invoke_error(label, e)),
        // A crashed invocation is an unhandled function error, as Lambda reports it.
        Err(e) => {
            let message = format!(
                "RequestId: {} Error: Runtime exited with error: {e}",
                cx.request_id
            );
            let error = serde_json::json!({
                "errorMessage": message,
                "errorType": "Runtime.ExitError",
            });
            (
                serde_json::to_vec(&error).unwrap_or_default(),
                Some(message),
            )
        }
    };
    let selected = select(&integration.integration_responses, error_message.as_deref());
    let Some(selected) = selected else {
        // No integration response at all: AWS answers the method with a configuration error.
        tracing::warn!("{label}: the integration has no response for this result");
        return Err(GatewayError::with_message(
            ResponseType::ApiConfigurationError,
            "Internal server error",
        ));
    };
    respond(cx, selected, &payload).map(|r| (r, Some(label)))
}

/// The integration response for a result (`error_message` None) or an error: a selection
/// pattern matching the whole error message, else `default`. A result has no error message:
/// patterns are matched against the empty string, so a catch-all such as `.*` takes results too,
/// as on AWS.
fn select<'a>(
    responses: &'a std::collections::BTreeMap<String, IntegrationResponse>,
    error_message: Option<&str>,
) -> Option<&'a IntegrationResponse> {
    super::mock::select_response(responses, error_message.unwrap_or(""))
}

/// The method's answer from the selected integration response and the function's payload.
fn respond(
    cx: &RequestCx,
    selected: &IntegrationResponse,
    payload: &[u8],
) -> Result<Response<Body>, GatewayError> {
    let code = selected
        .status_code
        .parse::<u16>()
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let text = String::from_utf8_lossy(payload);
    let template = selected
        .response_templates
        .get_key_value("application/json")
        .or_else(|| selected.response_templates.iter().next());
    let (content_type, out, overrides) = match template {
        Some((ct, t)) if !t.trim().is_empty() => {
            let (out, overrides) = cx.mapping_template_with_overrides(t, &text)?;
            (ct.as_str(), out, overrides)
        }
        // No template (or an empty one): the payload passes through.
        Some((ct, _)) => (ct.as_str(), text.into_owned(), Default::default()),
        None => ("application/json", text.into_owned(), Default::default()),
    };
    let out = super::content_handling(
        selected.content_handling.as_deref(),
        out.into_bytes(),
        false,
    );
    let mut resp = Response::new(body::full(out));
    *resp.status_mut() = code;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(http::header::CONTENT_TYPE, v);
    }
    let payload_json: Option<serde_json::Value> = serde_json::from_slice(payload).ok();
    for (target, source) in &selected.response_parameters {
        let Some(name) = target.strip_prefix("method.response.header.") else {
            continue;
        };
        // `integration.response.body.JSON-EXPRESSION`: a value in the function's JSON
        // (`errorMessage`, `a.b`, `a[0]`).
        let value = match source.strip_prefix("integration.response.body.") {
            Some(path) => payload_json.as_ref().and_then(|v| {
                match crate::aws::vtl::select_json(v, &format!("$.{path}"))? {
                    serde_json::Value::String(s) => Some(s),
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                }
            }),
            None => cx.mapping_source(source),
        };
        if let (Ok(n), Some(Ok(v))) = (
            HeaderName::from_bytes(name.as_bytes()),
            value.map(|v| HeaderValue::from_str(&v)),
        ) {
            h.insert(n, v);
        }
    }
    let mut status = resp.status();
    super::apply_response_overrides(&overrides, &mut status, resp.headers_mut());
    *resp.status_mut() = status;
    Ok(resp)
}

/// An `AWS` integration to a service gw does not emulate (DynamoDB, SQS, Step Functions, ...).
fn not_emulated(cx: &RequestCx, service: Option<&str>) -> GatewayError {
    let what = match service {
        Some(s) => format!("the AWS service integration to {s}"),
        None => "an AWS service integration whose uri names no service".to_owned(),
    };
    let message = format!(
        "{what} ({} {}) is not emulated by gw: only Lambda functions run locally",
        cx.method.http_method, cx.resource.path
    );
    tracing::warn!("{message}");
    GatewayError::with_message(ResponseType::ApiConfigurationError, message)
}
