//! Aggregation (beyond AWS): a method's `x-gw-aggregate` calls several services and composes
//! one answer. Calls run in stages: every call whose `after` calls have answered runs at once,
//! concurrently, each within its own time limit; its request template sees `$calls` of those
//! before it. The response template (the VTL engine) sees `$calls.NAME.status`, `.headers` and
//! `.body` (parsed JSON, or the text). A failed call (no answer in time, a connection refused, a
//! 5xx, a function error) fails the whole answer with AWS's 502, or, with `partial: true`, is left
//! out of `$calls` and the answer says `x-gw-completed: false` (as KrakenD does).

use crate::aws::gateway_response::{GatewayError, ResponseType};
use crate::gateway::dispatch::Shared;
use crate::gateway::integrations::{self, function, RequestCx};
use crate::gateway::snapshot::Snapshot;
use crate::model::{Aggregate, AggregateCall, Integration, IntegrationType};
use crate::net::body::{self, Body};
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::Duration;

/// What a call answered.
struct Answered {
    status: u16,
    headers: Map<String, Value>,
    body: Value,
}

/// Runs the aggregate for the request `cx` (its body `request_body`).
pub async fn run(
    shared: &Shared,
    snapshot: &Snapshot,
    cx: &RequestCx<'_>,
    aggregate: &Aggregate,
    request_body: Bytes,
) -> Result<Response<Body>, GatewayError> {
    let mut done: HashMap<String, Answered> = HashMap::new();
    let mut failed: Vec<String> = Vec::new();
    let mut pending: Vec<&AggregateCall> = aggregate.calls.iter().collect();
    while !pending.is_empty() {
        // Every call whose predecessors have all finished (answered or failed) runs now.
        let (ready, waiting): (Vec<&AggregateCall>, Vec<&AggregateCall>) =
            pending.into_iter().partition(|c| {
                c.after
                    .iter()
                    .all(|a| done.contains_key(a) || failed.contains(a))
            });
        pending = waiting;
        if ready.is_empty() {
            break; // unreachable: import refuses cycles
        }
        let calls_so_far = calls_value(&done);
        let failed_before = &failed;
        let runs = ready.iter().map(|call| {
            let vars = calls_so_far.clone();
            let body = request_body.clone();
            async move {
                // A call after a failed one does not run.
                if call.after.iter().any(|a| failed_before.contains(a)) {
                    return (
                        call.name.clone(),
                        Err("a call it comes after failed".to_string()),
                    );
                }
                let limit = Duration::from_millis(
                    call.timeout_in_millis
                        .unwrap_or(aggregate.timeout_in_millis),
                );
                let answered = match tokio::time::timeout(
                    limit,
                    one(shared, snapshot, cx, call, vars, body, limit),
                )
                .await
                {
                    Ok(result) => result,
                    Err(_) => Err(format!("no answer within {} ms", limit.as_millis())),
                };
                (call.name.clone(), answered)
            }
        });
        for (name, result) in futures_util::future::join_all(runs).await {
            match result {
                Ok(a) if a.status < 500 => {
                    done.insert(name, a);
                }
                Ok(a) => {
                    tracing::warn!("aggregate call {name} answered {}", a.status);
                    failed.push(name);
                }
                Err(e) => {
                    tracing::warn!("aggregate call {name} failed: {e}");
                    failed.push(name);
                }
            }
        }
    }
    if !failed.is_empty() && !aggregate.partial {
        return Err(GatewayError::with_message(
            ResponseType::IntegrationFailure,
            "Internal server error",
        ));
    }
    let calls = calls_value(&done);
    let out = match &aggregate.response_template {
        Some(t) => {
            let vars = HashMap::from([("calls".to_string(), calls)]);
            cx.mapping_template_with_variables(t, &String::from_utf8_lossy(&request_body), vars)?
                .0
        }
        None => calls.to_string(),
    };
    let mut resp = Response::new(body::full(out));
    *resp.status_mut() = aggregate
        .status_code
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let h = resp.headers_mut();
    let content_type = aggregate
        .content_type
        .as_deref()
        .unwrap_or("application/json");
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(http::header::CONTENT_TYPE, v);
    }
    h.insert(
        "x-gw-completed",
        HeaderValue::from_static(if failed.is_empty() { "true" } else { "false" }),
    );
    Ok(resp)
}

/// `$calls`: name → `{status, headers, body}`.
fn calls_value(done: &HashMap<String, Answered>) -> Value {
    Value::Object(
        done.iter()
            .map(|(name, a)| {
                (
                    name.clone(),
                    json!({"status": a.status, "headers": a.headers, "body": a.body}),
                )
            })
            .collect(),
    )
}

/// One call: its body (the request template over `$calls`, else the request's body), then the
/// HTTP exchange or the function.
async fn one(
    shared: &Shared,
    snapshot: &Snapshot,
    cx: &RequestCx<'_>,
    call: &AggregateCall,
    calls: Value,
    request_body: Bytes,
    limit: Duration,
) -> Result<Answered, String> {
    let body: Bytes = match &call.request_template {
        Some(t) => {
            let vars = HashMap::from([("calls".to_string(), calls)]);
            cx.mapping_template_with_variables(t, &String::from_utf8_lossy(&request_body), vars)
                .map_err(|e| e.message_string())?
                .0
                .into()
        }
        None => request_body,
    };
    if let Some(name) = &call.function {
        let uri = format!(
            "arn:aws:apigateway:{}:lambda:path/2015-03-31/functions/arn:aws:lambda:{}:{}:function:{name}/invocations",
            crate::aws::DEFAULT_REGION,
            crate::aws::DEFAULT_REGION,
            crate::aws::DEFAULT_ACCOUNT_ID
        );
        let (f, runtime) = function::resolve(cx, &uri, &snapshot.functions)?;
        let event = if body.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            body
        };
        let called = function::run_lambda(
            runtime,
            f,
            event.to_vec(),
            limit,
            crate::gateway::outbound::Reach {
                links: &shared.links,
                snapshot,
            },
            cx.request_id,
        )
        .await
        .map_err(|e| e.to_string())?;
        return match called {
            function::Called::Result(out) => Ok(Answered {
                status: 200,
                headers: Map::new(),
                body: parse(&out),
            }),
            function::Called::Error(e) => Err(format!("the function failed: {e}")),
        };
    }
    let integration = Integration {
        kind: IntegrationType::HttpProxy,
        uri: call.uri.clone(),
        http_method: Some(call.http_method.clone().unwrap_or_else(|| "GET".into())),
        request_parameters: call.request_parameters.clone(),
        request_templates: Default::default(),
        passthrough_behavior: "WHEN_NO_MATCH".into(),
        timeout_in_millis: limit.as_millis() as u64,
        connection_type: call
            .connection_type
            .clone()
            .unwrap_or_else(|| "INTERNET".into()),
        connection_id: call.connection_id.clone(),
        credentials: None,
        content_handling: None,
        payload_format_version: None,
        cache_key_parameters: Vec::new(),
        cache_namespace: None,
        tls_config: None,
        integration_subtype: None,
        integration_responses: Default::default(),
    };
    let link = if integration.connection_type.eq_ignore_ascii_case("VPC_LINK") {
        let id = cx.stage_variables_in(integration.connection_id.as_deref().unwrap_or(""));
        Some(
            shared
                .links
                .pool(snapshot, &id)
                .ok_or_else(|| format!("VPC link {id:?} does not exist"))?,
        )
    } else {
        None
    };
    let (resp, relayed) = integrations::http::forward(
        cx,
        &integration,
        &shared.client,
        body::full(body),
        link,
        &shared.links,
    )
    .await
    .map_err(|e| e.message_string())?;
    let mut resp = resp;
    if let Some(r) = relayed {
        crate::net::headers::materialize(&mut resp, r);
    }
    let (parts, incoming) = resp.into_parts();
    // API Gateway's payload limit holds for each call's answer too.
    let bytes = body::read_bounded(incoming)
        .await
        .map_err(|e| format!("reading the answer: {e}"))?;
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), json!(String::from_utf8_lossy(v.as_bytes()))))
        .collect();
    Ok(Answered {
        status: parts.status.as_u16(),
        headers,
        body: parse(&bytes),
    })
}

/// A body as JSON when it is JSON, else as text.
fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}
