//! AWS_PROXY integrations to a Lambda ARN run the local WebAssembly function of that name:
//! resolve name and qualifier (stage variables allowed), build the proxy event, run the guest,
//! validate its answer as API Gateway does. `wasi:http/proxy` components get the request itself.
//!
//! The set of loaded functions is part of the serving snapshot: code is compiled (or read from
//! the on-disk cache) when the store changes, never on the request path.

use super::RequestCx;
use crate::aws::gateway_response::{GatewayError, Origin, ResponseType};
use crate::aws::lambda::{self, EventInput, PayloadVersion};
use crate::aws::uri::parse_function_uri;
use crate::gateway::outbound::Reach;
use crate::model::Integration;
use crate::net::body::{self, Body};
use crate::store::{FunctionVersion, Store, StoreError};
use crate::wasm::logs::FunctionLogs;
use crate::wasm::{ContractKind, Invocation, InvokeError, Limits, Loaded, Outcome, Runtime};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// One function version, ready to run.
#[derive(Debug)]
pub struct LiveFunction {
    pub meta: FunctionVersion,
    pub loaded: Arc<Loaded>,
    env: Vec<(String, String)>,
}

/// Every registered function, by name and version.
#[derive(Default)]
pub struct Functions {
    runtime: Option<Runtime>,
    by_name: HashMap<String, (i64, HashMap<i64, Arc<LiveFunction>>)>,
    logs: Option<Arc<FunctionLogs>>,
}

impl std::fmt::Debug for Functions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Functions")
            .field("names", &self.by_name.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Functions {
    /// `qualifier`: `None` or `$LATEST` for the newest version, else a version number.
    pub fn get(&self, name: &str, qualifier: Option<&str>) -> Option<&Arc<LiveFunction>> {
        let (latest, versions) = self.by_name.get(name)?;
        let version = match qualifier {
            None | Some("$LATEST") => *latest,
            Some(q) => q.parse().ok()?,
        };
        versions.get(&version)
    }
}

/// Loaded function versions kept across snapshot rebuilds (versions are immutable).
#[derive(Default)]
pub struct FunctionCache {
    runtime: Option<Runtime>,
    loaded: HashMap<(String, i64), Arc<LiveFunction>>,
    logs: Option<Arc<FunctionLogs>>,
}

/// The runtime for a store (created on first use).
pub fn runtime(store: &Store, slot: &mut Option<Runtime>) -> Result<Runtime, StoreError> {
    if let Some(r) = slot {
        return Ok(r.clone());
    }
    let r = Runtime::new(store.function_cache_dir())
        .map_err(|e| StoreError::Invalid(format!("cannot start the WebAssembly runtime: {e}")))?;
    *slot = Some(r.clone());
    Ok(r)
}

/// Load every function version in the store (reusing `cache` for versions already loaded).
/// A version that fails to load is logged and left out; it answers 5xx like a missing function.
pub fn load_all(store: &Store, cache: &mut FunctionCache) -> Result<Functions, StoreError> {
    let metas = store.read(|tx| tx.functions())?;
    if metas.is_empty() {
        cache.loaded.clear();
        return Ok(Functions::default());
    }
    let runtime = runtime(store, &mut cache.runtime)?;
    let mut by_name: HashMap<String, (i64, HashMap<i64, Arc<LiveFunction>>)> = HashMap::new();
    let mut keep = std::collections::HashSet::new();
    for meta in metas {
        let key = (meta.name.clone(), meta.version);
        keep.insert(key.clone());
        let live = match cache.loaded.get(&key) {
            // Versions are immutable, but a function deleted and put again reuses numbers.
            Some(l)
                if l.meta.sha256 == meta.sha256
                    && l.meta.created_date == meta.created_date
                    && l.meta.environment == meta.environment
                    && l.meta.concurrency == meta.concurrency
                    && l.meta.memory_mb == meta.memory_mb
                    && l.meta.timeout_seconds == meta.timeout_seconds
                    && l.meta.allow_http == meta.allow_http =>
            {
                l.clone()
            }
            _ => {
                let Some((_, wasm)) =
                    store.read(|tx| tx.function(&meta.name, Some(meta.version)))?
                else {
                    continue;
                };
                let label = format!("{}:{}", meta.name, meta.version);
                match runtime.load(&label, &meta.sha256, &wasm) {
                    Ok(loaded) => {
                        let env = meta
                            .environment
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                        let l = Arc::new(LiveFunction {
                            meta: meta.clone(),
                            loaded,
                            env,
                        });
                        cache.loaded.insert(key, l.clone());
                        l
                    }
                    Err(e) => {
                        tracing::error!("cannot load function {label}: {e}");
                        continue;
                    }
                }
            }
        };
        let entry = by_name.entry(meta.name.clone()).or_default();
        entry.0 = entry.0.max(meta.version);
        entry.1.insert(meta.version, live);
    }
    cache.loaded.retain(|k, _| keep.contains(k));
    let logs = cache
        .logs
        .get_or_insert_with(|| Arc::new(FunctionLogs::new(store.function_log_dir())))
        .clone();
    Ok(Functions {
        runtime: Some(runtime),
        by_name,
        logs: Some(logs),
    })
}

fn config_error(detail: String) -> GatewayError {
    tracing::warn!("function integration: {detail}");
    GatewayError::with_message(ResponseType::ApiConfigurationError, "Internal server error")
}

pub(super) fn invoke_error(label: &str, e: InvokeError) -> GatewayError {
    tracing::warn!("function {label}: {e}");
    let origin = match e {
        InvokeError::Timeout => Origin::FunctionTimeout,
        InvokeError::Trap(_) | InvokeError::OutOfMemory => Origin::FunctionTrap,
        _ => Origin::FunctionError,
    };
    match e.status() {
        504 => GatewayError::new(ResponseType::IntegrationTimeout),
        // The function's concurrency is exhausted: Lambda's TooManyRequestsException.
        429 => GatewayError::new(ResponseType::Throttled),
        503 => GatewayError::with_message(ResponseType::Throttled, "Too Many Requests"),
        _ => GatewayError::new(ResponseType::BadGateway),
    }
    .from_origin(origin)
}

/// The proxy event's inputs for this request.
pub fn event_input<'a>(
    cx: &'a RequestCx<'a>,
    version: PayloadVersion,
    body: &'a [u8],
) -> EventInput<'a> {
    EventInput {
        payload_version: version,
        http_method: cx.http_method,
        route_method: &cx.method.http_method,
        path: cx.path,
        resource_path: &cx.resource.path,
        resource_id: &cx.resource.id,
        headers: cx.headers,
        raw_query: cx.query,
        path_parameters: cx.path_params,
        stage_variables: cx.variables,
        body,
        body_is_binary: cx.body_is_binary(),
        api_id: cx.api_id,
        stage: cx.stage,
        deployment_id: &cx.deployment.deployment_id,
        request_id: cx.request_id,
        extended_request_id: cx.extended_request_id,
        source_ip: cx.source_ip,
        domain_name: cx.domain_name,
        protocol: cx.protocol,
        request_time_epoch_ms: cx.request_time_ms,
        account_id: lambda::DEFAULT_ACCOUNT_ID,
        authorizer: cx.authorizer,
        client_cert: cx.context.client_cert,
        scheme: cx.context.scheme,
        port: cx.context.port,
    }
}

/// The local function a Lambda ARN URI names (stage variables substituted), or why not.
pub fn resolve<'f>(
    cx: &RequestCx<'_>,
    uri: &str,
    functions: &'f Functions,
) -> Result<(&'f Arc<LiveFunction>, &'f Runtime), String> {
    let uri = cx.stage_variables_in(uri);
    let Some(target) = parse_function_uri(&uri) else {
        return Err(format!(
            "uri {uri:?} names no Lambda function (expected ...:function:NAME[:QUALIFIER]/invocations)"
        ));
    };
    let Some(function) = functions.get(&target.name, target.qualifier.as_deref()) else {
        return Err(format!(
            "function {}{} is not registered; add it with `gw function put {} FILE.wasm`",
            target.name,
            target
                .qualifier
                .as_deref()
                .map(|q| format!(":{q}"))
                .unwrap_or_default(),
            target.name
        ));
    };
    let Some(runtime) = &functions.runtime else {
        return Err("no WebAssembly runtime".into());
    };
    Ok((function, runtime))
}

/// What calling a Lambda-style function gave.
#[derive(Debug)]
pub enum Called {
    /// The function's result: a handler's JSON, or what a command wrote to stdout.
    Result(Vec<u8>),
    /// The function failed as Lambda reports it: `{"errorMessage", "errorType", "stackTrace"}`.
    Error(serde_json::Value),
}

impl Called {
    /// The bytes Lambda's Invoke would return: the result, or the error's JSON.
    pub fn into_payload(self) -> Vec<u8> {
        match self {
            Called::Result(b) => b,
            Called::Error(v) => serde_json::to_vec(&v).unwrap_or_default(),
        }
    }
}

/// Runs a Lambda-style function on `event` with its own limits (and at most `timeout`, the
/// integration's), and writes the invocation to the function's log (`START`, output, `END`,
/// `REPORT`). A handler-world function runs in a warm environment. The invocation runs in a task
/// of its own, so a client that goes away does not cut the function off halfway (and does not
/// cost its warm environment).
///
/// As Lambda reports them, a handler's error, a failed init and the function's own timeout (when
/// it is shorter than the integration's) are function errors ([`Called::Error`]); the
/// integration's timeout, a crash and throttling are [`InvokeError`]s.
pub async fn run_lambda(
    runtime: &Runtime,
    function: &Arc<LiveFunction>,
    event: Vec<u8>,
    timeout: Duration,
    reach: Reach<'_, '_>,
    request_id: &str,
) -> Result<Called, InvokeError> {
    let limits = limits(function, timeout, reach);
    let own_timeout = Duration::from_secs(function.meta.timeout_seconds.max(1) as u64);
    let task = tokio::spawn(invoke_and_log(
        runtime.clone(),
        function.clone(),
        reach.snapshot.functions.logs.clone(),
        event,
        limits,
        request_id.to_owned(),
    ));
    let result = match task.await {
        Ok(r) => r,
        Err(e) => Err(InvokeError::Other(format!(
            "the invocation task failed: {e}"
        ))),
    };
    match result {
        Ok(Outcome::Ok(json)) => Ok(Called::Result(json.into_bytes())),
        Ok(Outcome::Error(e)) => Ok(Called::Error(serde_json::json!({
            "errorMessage": e.error_message,
            "errorType": e.error_type,
            "stackTrace": e.stack_trace,
        }))),
        Err(InvokeError::InitFailed {
            error_type,
            message,
        }) => Ok(Called::Error(serde_json::json!({
            "errorMessage": message,
            "errorType": error_type,
        }))),
        // The function's own limit fired before the integration's: Lambda's timeout error.
        Err(InvokeError::Timeout) if own_timeout < timeout => {
            Ok(Called::Error(serde_json::json!({
                "errorMessage": format!(
                    "{} {request_id} Task timed out after {:.2} seconds",
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    own_timeout.as_secs_f64()
                ),
                "errorType": "Sandbox.Timedout",
            })))
        }
        Err(e) => Err(e),
    }
}

/// One invocation and its log entry.
async fn invoke_and_log(
    runtime: Runtime,
    function: Arc<LiveFunction>,
    logs: Option<Arc<FunctionLogs>>,
    event: Vec<u8>,
    limits: Limits,
    request_id: String,
) -> Result<Outcome, InvokeError> {
    let meta = &function.meta;
    let label = function.loaded.label();
    let request_id = request_id.as_str();
    let invoked = if function.loaded.kind() == ContractKind::Handler {
        let invocation = Invocation {
            request_id: request_id.to_owned(),
            function_name: meta.name.clone(),
            function_version: meta.version.to_string(),
            invoked_function_arn: format!(
                "arn:aws:lambda:{}:{}:function:{}:{}",
                crate::aws::lambda::DEFAULT_REGION,
                lambda::DEFAULT_ACCOUNT_ID,
                meta.name,
                meta.version
            ),
        };
        let event = String::from_utf8(event)
            .map_err(|_| InvokeError::Other("the event is not UTF-8 JSON".into()))?;
        runtime
            .invoke_handler(&function.loaded, event, &invocation, &function.env, &limits)
            .await
    } else {
        let run = runtime
            .invoke_command(&function.loaded, event, &function.env, &limits)
            .await;
        crate::wasm::Invoked {
            // Lambda's answer is JSON text: bytes that are not UTF-8 are no answer.
            result: run.result.and_then(|out| {
                String::from_utf8(out).map(Outcome::Ok).map_err(|_| {
                    InvokeError::Other("the function wrote an answer that is not UTF-8".into())
                })
            }),
            report: run.report,
            log: run.log,
        }
    };
    for line in String::from_utf8_lossy(&invoked.log).lines() {
        tracing::info!(target: "gw::function", request_id, function = label, "{line}");
    }
    // A throttled request never reached the function: Lambda logs nothing for it.
    let throttled = matches!(invoked.result, Err(InvokeError::Throttled));
    if let (Some(logs), false) = (&logs, throttled) {
        let version = meta.version.to_string();
        let mut output = invoked.log;
        match &invoked.result {
            // What Lambda's runtime prints for a crashed or timed-out invocation.
            Err(e) => {
                output.extend_from_slice(format!("{request_id} Task failed: {e}\n").as_bytes())
            }
            // And for a function error: the error's JSON.
            Ok(Outcome::Error(e)) => output.extend_from_slice(
                format!(
                    "{}\n",
                    serde_json::json!({"errorMessage": e.error_message, "errorType": e.error_type, "stackTrace": e.stack_trace})
                )
                .as_bytes(),
            ),
            Ok(Outcome::Ok(_)) => {}
        }
        logs.write(&meta.name, &version, request_id, &output, &invoked.report);
    }
    invoked.result
}

/// The function's memory limit, its timeout capped at `timeout`, and what its outgoing requests
/// can reach.
fn limits(function: &LiveFunction, timeout: Duration, reach: Reach<'_, '_>) -> Limits {
    Limits {
        memory_bytes: (function.meta.memory_mb.max(1) as u64) << 20,
        timeout: timeout.min(Duration::from_secs(
            function.meta.timeout_seconds.max(1) as u64
        )),
        concurrency: function
            .meta
            .concurrency
            .map_or(crate::wasm::DEFAULT_CONCURRENCY, |c| {
                c.clamp(1, 1000) as u32
            }),
        outbound: reach.outbound(function.loaded.label(), &function.meta.allow_http),
        ..Limits::default()
    }
}

/// Run the function an AWS_PROXY integration names; answers its response and the `NAME:VERSION`
/// that ran.
pub async fn invoke<'f>(
    cx: &RequestCx<'_>,
    integration: &Integration,
    reach: Reach<'_, 'f>,
    body_bytes: Bytes,
) -> Result<(Response<Body>, &'f str), GatewayError> {
    let functions = &reach.snapshot.functions;
    let (function, runtime) = resolve(cx, integration.uri.as_deref().unwrap_or(""), functions)
        .map_err(|e| config_error(format!("integration {e}")))?;
    let timeout = Duration::from_millis(integration.timeout_in_millis);
    let label = function.loaded.label();
    if !function.loaded.kind().is_lambda() {
        let limits = limits(function, timeout, reach);
        return invoke_http(cx, runtime, function, &limits, body_bytes)
            .await
            .map(|r| (r, label));
    }
    let version = integration
        .payload_format_version
        .as_deref()
        .and_then(PayloadVersion::from_format)
        .unwrap_or_default();
    let binary_types = &cx.deployment.api.binary_media_types;
    let input = event_input(cx, version, &body_bytes);
    let event = lambda::encode_event(&input);
    let stdout = match run_lambda(runtime, function, event, timeout, reach, cx.request_id)
        .await
        .map_err(|e| invoke_error(label, e))?
    {
        Called::Result(out) => out,
        // A function error behind a proxy integration: AWS answers 502 "Internal server error".
        Called::Error(e) => {
            tracing::warn!(request_id = cx.request_id, "function {label} failed: {e}");
            return Err(
                GatewayError::new(ResponseType::BadGateway).from_origin(Origin::FunctionError)
            );
        }
    };
    let accept = cx
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let parsed = lambda::parse_response(version, &stdout, accept, binary_types).map_err(|e| {
        tracing::warn!(
            request_id = cx.request_id,
            "function {label}: Execution failed due to configuration error: {e}"
        );
        GatewayError::new(ResponseType::BadGateway).from_origin(Origin::FunctionError)
    })?;
    let mut resp = Response::new(body::full(parsed.body));
    *resp.status_mut() = StatusCode::from_u16(parsed.status).unwrap_or(StatusCode::OK);
    let h = resp.headers_mut();
    for (k, v) in parsed.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            h.append(n, v);
        }
    }
    drop_framing(h);
    Ok((resp, label))
}

async fn invoke_http(
    cx: &RequestCx<'_>,
    runtime: &Runtime,
    function: &LiveFunction,
    limits: &Limits,
    body_bytes: Bytes,
) -> Result<Response<Body>, GatewayError> {
    let uri = match cx.query {
        Some(q) if !q.is_empty() => format!("{}?{q}", cx.path),
        _ => cx.path.to_string(),
    };
    let mut req = http::Request::builder()
        .method(cx.http_method)
        .uri(uri)
        .body(body::full(body_bytes))
        .map_err(|e| config_error(format!("cannot build the request for the function: {e}")))?;
    *req.headers_mut() = cx.headers.clone();
    let mut resp = runtime
        .invoke_http(&function.loaded, req, &function.env, limits, cx.request_id)
        .await
        .map_err(|e| invoke_error(function.loaded.label(), e))?;
    drop_framing(resp.headers_mut());
    Ok(resp)
}

/// A function's answer is buffered, so its length is gw's to state: a `Content-Length` the
/// function wrote (possibly wrong) and hop-by-hop fields are dropped, never passed to the client.
fn drop_framing(headers: &mut http::HeaderMap) {
    headers.remove(http::header::CONTENT_LENGTH);
    super::http::strip_hop_by_hop(headers);
}
