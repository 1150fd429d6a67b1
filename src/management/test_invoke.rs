//! TestInvokeMethod (`POST /restapis/{id}/resources/{rid}/methods/{verb}`), in two halves
//! around the data plane's run, which the front door joins (this plane does not import the data
//! plane): [`prepare`] checks the call and builds the request from `pathWithQueryString`,
//! `headers`, `multiValueHeaders`, `body` and `stageVariables`; [`answer`] turns the response
//! into AWS's `{status, body, headers, multiValueHeaders, log, latency}`.

use super::{find_api, find_method, find_resource, routes, ApiError, Management, Result};
use crate::model::RestApi;
use crate::net::body::{self, Body};
use axum::response::IntoResponse;
use http::{HeaderName, HeaderValue, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Instant;

/// `(api id, resource id, verb)` when `method path` is a TestInvokeMethod call.
pub fn target(method: &http::Method, uri: &http::Uri) -> Option<(String, String, String)> {
    if method != http::Method::POST {
        return None;
    }
    let uri = routes::normalize(uri);
    let segs: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["restapis", id, "resources", rid, "methods", verb] => {
            Some((id.to_string(), rid.to_string(), verb.to_string()))
        }
        _ => None,
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct TestInvokeBody {
    path_with_query_string: Option<String>,
    body: Option<String>,
    headers: BTreeMap<String, String>,
    multi_value_headers: BTreeMap<String, Vec<String>>,
    stage_variables: BTreeMap<String, String>,
}

/// What the data plane runs.
pub struct Run {
    pub api: RestApi,
    pub stage_variables: BTreeMap<String, String>,
    pub request: http::Request<Body>,
}

/// What the answer's log tells.
pub struct Log {
    started: Instant,
    verb: String,
    resource_path: String,
    path: String,
    query: String,
    headers: String,
    body: String,
}

/// Check the call (signature, the API, resource and method, the body) and build the request.
pub async fn prepare(
    management: &Management,
    parts: http::request::Parts,
    bytes: bytes::Bytes,
) -> std::result::Result<(Run, Log), Response<Body>> {
    let started = Instant::now();
    let fail = |e: ApiError| super::whole(e.into_response());
    if let Err(e) = super::check_signature(management, &parts, &bytes) {
        return Err(fail(e).await);
    }
    let Some((id, rid, verb)) = target(&parts.method, &parts.uri) else {
        return Err(fail(ApiError::internal("not a TestInvokeMethod call")).await);
    };
    let store = management.store.clone();
    let found = tokio::task::spawn_blocking(move || -> Result<_> {
        let api = find_api(&store, &id)?;
        let resource = find_resource(&api, &rid)?;
        let method = find_method(resource, &verb)?;
        let (path, verb) = (resource.path.clone(), method.http_method.clone());
        Ok((api, path, verb))
    })
    .await;
    let (api, resource_path, verb) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return Err(fail(e).await),
        Err(e) => return Err(fail(ApiError::internal(format!("the call failed: {e}"))).await),
    };
    let b: TestInvokeBody = match serde_json::from_slice::<TestInvokeBody>(&bytes) {
        Ok(b) => b,
        Err(_) if bytes.iter().all(u8::is_ascii_whitespace) => TestInvokeBody::default(),
        Err(e) => {
            return Err(fail(ApiError::new(
                http::StatusCode::BAD_REQUEST,
                "SerializationException",
                format!("Could not read the request body as JSON: {e}"),
            ))
            .await)
        }
    };
    let target = b
        .path_with_query_string
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| resource_path.clone());
    let target = if target.starts_with('/') {
        target
    } else {
        format!("/{target}")
    };
    // ANY is tried as GET, as the console does.
    let method = if verb == "ANY" { "GET" } else { verb.as_str() };
    let mut request = http::Request::builder().method(method).uri(&target);
    let mut shown = Map::new();
    if let Some(h) = request.headers_mut() {
        let host = format!("{}.execute-api.localhost", api.id);
        if let Ok(v) = HeaderValue::from_str(&host) {
            h.insert(http::header::HOST, v);
        }
        let singles = b.headers.iter().map(|(k, v)| (k, std::slice::from_ref(v)));
        let multis = b.multi_value_headers.iter().map(|(k, v)| (k, v.as_slice()));
        for (name, values) in singles.chain(multis) {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                return Err(fail(ApiError::bad_request(format!(
                    "Invalid header name {name:?}"
                )))
                .await);
            };
            h.remove(&name);
            for v in values {
                let Ok(value) = HeaderValue::from_str(v) else {
                    return Err(fail(ApiError::bad_request(format!(
                        "Invalid value for header {name}"
                    )))
                    .await);
                };
                h.append(name.clone(), value);
            }
            shown.insert(name.to_string(), json!(values.join(",")));
        }
    }
    let body_text = b.body.unwrap_or_default();
    let request = match request.body(body::full(bytes::Bytes::from(body_text.clone()))) {
        Ok(r) => r,
        Err(e) => {
            return Err(fail(ApiError::bad_request(format!(
                "Invalid pathWithQueryString {target:?}: {e}"
            )))
            .await)
        }
    };
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    let log = Log {
        started,
        verb,
        resource_path,
        path: path.to_string(),
        query: query.to_string(),
        headers: Value::Object(shown).to_string(),
        body: body_text,
    };
    Ok((
        Run {
            api,
            stage_variables: b.stage_variables,
            request,
        },
        log,
    ))
}

/// AWS's answer for a finished run.
pub async fn answer(log: Log, response: Response<Body>) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let bytes = match body::read_bounded(body).await {
        Ok(b) => b,
        Err(e) => {
            return super::whole(
                ApiError::internal(format!("the test invocation's answer failed: {e}"))
                    .into_response(),
            )
            .await
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut headers = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in &parts.headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers.insert(name.to_string(), json!(v));
        match multi.get_mut(name.as_str()).and_then(Value::as_array_mut) {
            Some(list) => list.push(json!(v)),
            None => {
                multi.insert(name.to_string(), json!([v]));
            }
        }
    }
    let request_id = parts
        .headers
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("test-invoke-request")
        .to_string();
    let status = parts.status.as_u16();
    let latency = log.started.elapsed().as_millis() as u64;
    let at = chrono::Utc::now().format("%a %b %d %H:%M:%S UTC %Y");
    let lines = [
        format!("Execution log for request {request_id}"),
        format!("{at} : Starting execution for request: {request_id}"),
        format!(
            "{at} : HTTP Method: {}, Resource Path: {}",
            log.verb, log.resource_path
        ),
        format!("{at} : Method request path: {}", log.path),
        format!("{at} : Method request query string: {{{}}}", log.query),
        format!("{at} : Method request headers: {}", log.headers),
        format!(
            "{at} : Method request body before transformations: {}",
            log.body
        ),
        format!("{at} : Method response body after transformations: {text}"),
        format!(
            "{at} : Method response headers: {}",
            Value::Object(headers.clone())
        ),
        format!("{at} : Successfully completed execution"),
        format!("{at} : Method completed with status: {status}"),
    ];
    let v = json!({
        "status": status,
        "body": text,
        "headers": headers,
        "multiValueHeaders": multi,
        "log": lines.join("\n") + "\n",
        "latency": latency,
    });
    super::whole(super::Reply::ok(v).into_response()).await
}
