//! One stage request's story, told as phases over one [`RequestContext`]:
//!
//! 1. **locate** ([`locate`]): the API the URL names, its stage, production or canary;
//! 2. **route**: the resource and method (a CORS preflight is answered here);
//! 3. **admit** ([`admit`], [`crate::gateway::authorizer`]): `AWS_IAM`, the Lambda authorizer, the
//!    API key and its usage plan, the stage's method throttle;
//! 4. **validate**: required parameters and the body against its model;
//! 5. **integrate**: HTTP, MOCK or the WebAssembly function;
//! 6. **finish**: CORS headers, gw's own fields ([`answer`]), the access-log line.
//!
//! The context carries what each phase learned, so a failure at any point is rendered by the
//! API's gateway responses with everything AWS exposes to them (`$context.stage`,
//! `$context.resourcePath`, `$stageVariables.x`, ...), and the access log reads the same table.
//! Every failure is a [`GatewayError`], rendered in exactly one place
//! ([`gateway_response::render`]).

mod admit;
pub mod answer;
mod integrate;
pub mod locate;
mod test_invoke;

pub use answer::{
    Answer, GatewayFields, CANARY_HEADER, DEPLOYMENT_HEADER, FUNCTION_HEADER, GATEWAY_NAME_BITS,
};
pub use locate::{target, Draw, Target, TARGET_HEADER};
pub use test_invoke::{test_invoke, TEST_STAGE};

use crate::aws::context::{self, Context};
use crate::aws::gateway_response::{self, ErrorContext, GatewayError, ResponseType};
use crate::aws::lambda::Authorized;
use crate::gateway::canary::Variant;
use crate::gateway::integrations::{self, http::HttpClient, RequestCx};
use crate::gateway::router::Matched;
use crate::gateway::snapshot::{LiveApi, LiveDeployment, LiveStage, Snapshot};
use crate::model::{Method, Resource};
use crate::net::body::{self, Body};
use crate::net::headers::Relayed;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tracing::Instrument as _;

pub use crate::net::body::MAX_BODY_BYTES;

// The target header as a name built once (a lookup by `&str` parses the name every time).
const TARGET: HeaderName = HeaderName::from_static(TARGET_HEADER);

/// What every request shares.
pub struct Shared {
    /// This worker's handle on the serving snapshot (what the data plane reads).
    pub snapshot: crate::gateway::snapshot::WorkerSnapshot,
    /// `ACCESS_KEY`, `SECRET` when management calls must carry a valid SigV4 signature.
    pub require_sigv4: Option<(String, String)>,
    /// This worker thread's backend connection pool.
    pub client: HttpClient,
    pub deployment_header: bool,
    pub draw: Arc<Draw>,
    /// Lambda authorizer answers, shared by every worker.
    pub authorizers: Arc<crate::gateway::authorizer::Cache>,
    /// Usage-plan and stage throttles and quotas, shared by every worker.
    pub limiter: Arc<crate::gateway::throttle::Limiter>,
    /// This worker's connection to the throttle and quota counters other nodes share
    /// (`--counters`); `None`: the limiter alone.
    pub counters: Option<crate::gateway::counters::Remote>,
    /// The VPC links' targets, health and counts, shared by every worker.
    pub links: Arc<crate::gateway::links::Links>,
    /// Where the access-log lines of stages with `accessLogSettings` go.
    pub access_log: crate::gateway::access_log::Writer,
    /// This worker's metrics cells (only this worker writes them); `None` with metrics off.
    pub metrics: Option<Arc<crate::gateway::metrics::Cells>>,
}

/// The client at the other end of a connection, its address formatted once per connection.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    /// `addr`'s IP address as text (`sourceIp`, `X-Forwarded-For`).
    pub ip: String,
    /// The port the client connected to.
    pub local_port: u16,
    /// What the TLS handshake established, on the HTTPS listener.
    pub tls: Option<Arc<TlsInfo>>,
}

/// A TLS connection's name and client certificate.
#[derive(Debug, Default)]
pub struct TlsInfo {
    /// The name the client asked for (SNI), lower-cased.
    pub server_name: Option<String>,
    /// The client's certificate (mutual TLS).
    pub client_cert: Option<crate::aws::context::ClientCert>,
}

impl Peer {
    /// A plain-HTTP client at `addr`.
    pub fn new(addr: SocketAddr) -> Peer {
        Peer {
            addr,
            ip: addr.ip().to_string(),
            local_port: 0,
            tls: None,
        }
    }

    /// `https` over TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// What the phases have learned about one request. Built from the request head; each phase
/// adds what it found, so whoever renders the outcome (a gateway response, the access log) sees
/// the request as far as it got.
pub struct RequestContext<'s> {
    ids: answer::Ids,
    parts: &'s http::request::Parts,
    peer: &'s Peer,
    /// The Host the client called (`$context.domainName`).
    host: Option<&'s str>,
    /// When the request arrived (`$context.requestTimeEpoch`).
    request_time_ms: i64,
    /// The path after the stage (the whole path until the stage is found).
    stage_path: &'s str,
    located: Option<Located<'s>>,
    /// The resource and method the router matched.
    routed: Option<(&'s Resource, &'s Method)>,
    authorized: Option<Authorized>,
    /// When the request was taken up (its latency is measured from here), when a reader of
    /// latencies (the metrics, the stage's access log) wants it.
    started: Option<std::time::Instant>,
    /// How long the integration took, once it ran.
    integration_latency: Option<std::time::Duration>,
    /// A sticky canary's new key for a client that had none, for the answer's `Set-Cookie`.
    sticky_cookie: Option<String>,
}

/// Where a request goes: its API, its stage, and the side of the stage that answers it.
#[derive(Clone, Copy)]
pub struct Located<'s> {
    pub api: &'s LiveApi,
    pub stage: &'s LiveStage,
    pub deployment: &'s Arc<LiveDeployment>,
    /// The stage variables of that side (the canary's overrides merged in).
    pub variables: &'s BTreeMap<String, String>,
    pub is_canary: bool,
}

impl<'s> RequestContext<'s> {
    fn new(parts: &'s http::request::Parts, peer: &'s Peer) -> RequestContext<'s> {
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()));
        RequestContext {
            ids: answer::Ids::new(),
            parts,
            peer,
            host,
            request_time_ms: epoch_ms(),
            stage_path: parts.uri.path(),
            located: None,
            routed: None,
            authorized: None,
            started: None,
            integration_latency: None,
            sticky_cookie: None,
        }
    }

    /// The request's `$context`, as far as it is known.
    pub fn context(&self) -> Context<'_> {
        let located = self.located.as_ref();
        Context {
            request_id: self.ids.request_id(),
            extended_request_id: self.ids.extended_request_id(),
            http_method: self.parts.method.as_str(),
            protocol: context::protocol(self.parts.version),
            source_ip: &self.peer.ip,
            user_agent: self
                .parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
            domain_name: self.host.unwrap_or("localhost"),
            request_time_ms: self.request_time_ms,
            path: self.stage_path,
            api_id: located.map(|l| l.api.id.as_str()),
            stage: located.map(|l| l.stage.name.as_str()),
            deployment_id: located.map(|l| l.deployment.deployment_id.as_str()),
            is_canary: located.map(|l| l.is_canary),
            resource_id: self.routed.map(|(r, _)| r.id.as_str()),
            resource_path: self.routed.map(|(r, _)| r.path.as_str()),
            authorizer: self.authorized.as_ref(),
            api_key_id: None,
            client_cert: self.peer.tls.as_ref().and_then(|t| t.client_cert.as_ref()),
            scheme: self.peer.scheme(),
            port: self.peer.local_port,
        }
    }

    /// `err` as the API's gateway responses render it, with everything known so far.
    fn render(&self, err: &GatewayError) -> Response<Body> {
        let located = self.located.as_ref();
        let cx = ErrorContext {
            context: self.context(),
            stage_variables: located.map(|l| l.variables),
            request_headers: Some(&self.parts.headers),
        };
        gateway_response::render(err, located.map(|l| &l.deployment.api), &cx)
    }
}

/// Handle one stage request.
pub async fn handle(shared: &Shared, req: Request<Body>, peer: &Peer) -> Answer {
    let (parts, body) = req.into_parts();
    let snapshot = shared.snapshot.current();
    let mut cx = RequestContext::new(&parts, peer);
    // Latencies are measured only for someone who reads them: the metrics, an access log.
    if shared.metrics.is_some() {
        cx.started = Some(std::time::Instant::now());
    }
    let (mut response, mut relayed, function, error) =
        match serve(shared, &snapshot, &mut cx, body).await {
            Ok(s) => (s.response, s.relayed, s.function, None),
            Err(err) => (cx.render(&err), None, None, Some(err)),
        };
    if let Some(key) = &cx.sticky_cookie {
        set_sticky_cookie(&mut response, &mut relayed, key);
    }
    let latency = cx.started.map(|s| s.elapsed()).unwrap_or_default();
    if let (Some(cells), Some(located)) = (&shared.metrics, &cx.located) {
        let status = response.status().as_u16();
        record(
            cells,
            &cx,
            located,
            status,
            latency,
            function.is_some(),
            error.as_ref(),
        );
    }
    if let Some(format) = cx
        .located
        .as_ref()
        .and_then(|l| l.stage.access_log.as_deref())
    {
        use http_body::Body as _;
        let outcome = crate::gateway::access_log::Outcome {
            status: response.status().as_u16(),
            response_length: response.body().size_hint().exact(),
            latency_ms: latency.as_millis(),
            integration_latency_ms: cx.integration_latency.map(|d| d.as_millis()),
            error: error.as_ref().map(|e| (e.message.as_str(), e.kind.name())),
        };
        shared.access_log.write(crate::gateway::access_log::line(
            format,
            &cx.context(),
            &outcome,
        ));
    }
    // Which deployment (and function version) answered, for an answer one gave (not for
    // gateway errors).
    let (deployment, function) = match (&error, &cx.located) {
        (None, Some(l)) if shared.deployment_header => (
            answer::deployment_value(&l.deployment.deployment_id).map(|v| (v, l.is_canary)),
            function.and_then(|f| http::HeaderValue::from_str(f).ok()),
        ),
        _ => (None, None),
    };
    let ids = cx.ids;
    crate::net::headers::recycle(parts.headers);
    Answer {
        response,
        relayed,
        fields: GatewayFields::new(ids, deployment, function),
    }
}

/// An answer: the response, a proxied answer's relayed backend fields, and the `NAME:VERSION` of
/// the function that made it.
struct Served<'s> {
    response: Response<Body>,
    relayed: Option<Relayed>,
    function: Option<&'s str>,
}

impl Served<'_> {
    fn new(response: Response<Body>) -> Self {
        Served {
            response,
            relayed: None,
            function: None,
        }
    }
}

/// Adds the sticky canary's cookie to an answer, beside any the backend set.
fn set_sticky_cookie(response: &mut Response<Body>, relayed: &mut Option<Relayed>, key: &str) {
    if let Some(r) = relayed.take() {
        crate::net::headers::materialize(response, r);
    }
    let cookie = format!(
        "{}={key}; Path=/; HttpOnly; SameSite=Lax",
        crate::gateway::canary::Sticky::GW_COOKIE
    );
    if let Ok(v) = http::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(http::header::SET_COOKIE, v);
    }
}

/// Counts the request in this worker's metrics cells.
fn record(
    cells: &crate::gateway::metrics::Cells,
    cx: &RequestContext,
    located: &Located,
    status: u16,
    latency: std::time::Duration,
    function_answered: bool,
    error: Option<&GatewayError>,
) {
    use crate::aws::gateway_response::Origin;
    use crate::gateway::metrics::{Observation, Outcome, Side};
    let origin = error.and_then(|e| e.origin);
    let function = match origin {
        _ if function_answered => Some(Outcome::Ok),
        Some(Origin::FunctionError) => Some(Outcome::Error),
        Some(Origin::FunctionTimeout) => Some(Outcome::Timeout),
        Some(Origin::FunctionTrap) => Some(Outcome::Trap),
        _ => None,
    };
    let (method, resource) = match cx.routed {
        Some((r, m)) => (m.http_method.as_str(), r.path.as_str()),
        None => (cx.parts.method.as_str(), ""),
    };
    cells.record(&Observation {
        stage_key: located.stage.metrics_keys[usize::from(located.is_canary)],
        api: &located.api.id,
        stage: &located.stage.name,
        deployment: &located.deployment.deployment_id,
        side: if located.is_canary {
            Side::Canary
        } else {
            Side::Production
        },
        method,
        resource,
        epoch: located
            .stage
            .canary
            .as_ref()
            .map_or("", |c| c.deployment.deployment_id.as_str()),
        status,
        latency,
        integration: cx.integration_latency,
        function,
        connect_error: origin == Some(Origin::UpstreamConnect),
    });
}

/// The phases, in order; the first failure ends the story.
async fn serve<'s>(
    shared: &Shared,
    snapshot: &'s Snapshot,
    cx: &mut RequestContext<'s>,
    body: Body,
) -> Result<Served<'s>, GatewayError> {
    let located = locate(shared, snapshot, cx)?;
    serve_located(shared, snapshot, cx, located, body, Admission::Checked).await
}

/// Whether a located request passes the admission phases (authorization, API key, throttles)
/// or skips them, as TestInvokeMethod does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Admission {
    Checked,
    TestInvoke,
}

/// The phases after [`locate`].
async fn serve_located<'s>(
    shared: &Shared,
    snapshot: &'s Snapshot,
    cx: &mut RequestContext<'s>,
    located: Located<'s>,
    body: Body,
    admission: Admission,
) -> Result<Served<'s>, GatewayError> {
    let parts = cx.parts;
    let span = tracing::debug_span!(
        "request",
        api = %located.api.id,
        stage = %located.stage.name,
        deployment = %located.deployment.deployment_id,
        side = if located.is_canary { "canary" } else { "production" },
        request_id = %cx.ids.request_id()
    );
    // The rest of the story runs inside the request's span (entered only while this task runs,
    // never left entered across an await for another task on this worker).
    async {

        if let Some(len) = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            if len > MAX_BODY_BYTES as u64 {
                // Dropped unread: a client still sending it is drained (`body::from_client`).
                drop(body);
                return Err(GatewayError::new(ResponseType::RequestTooLarge));
            }
        }
        if let Some(preflight) = preflight(&located, parts) {
            return Ok(Served::new(preflight));
        }
        let matched = route(&located, cx)?;
        tracing::debug!(method = %matched.method.http_method, resource = %matched.resource.path, "routed");
        let integration = matched.method.method_integration.as_ref();
        if integration.is_none() && matched.method.aggregate.is_none() {
            tracing::warn!(
                "{} {} has no integration",
                matched.method.http_method,
                matched.resource.path
            );
            return Err(GatewayError::with_message(
                ResponseType::ApiConfigurationError,
                "Internal server error",
            ));
        };
        // AWS_IAM: the request must be SigV4-signed (and, with `--require-sigv4`, by that key).
        let checked = admission == Admission::Checked;
        let body = if checked && matched.method.authorization_type == "AWS_IAM" {
            admit::check_iam(shared, parts, body).await?
        } else {
            body
        };
        // gw's own control header is not part of the request the integration sees.
        let without_target;
        let headers = if parts.headers.contains_key(TARGET) {
            let mut h = parts.headers.clone();
            h.remove(TARGET);
            without_target = h;
            &without_target
        } else {
            &parts.headers
        };
        match matched.method.authorization_type.as_str() {
            _ if !checked => {}
            "CUSTOM" => {
                let request = integration_view(cx, &located, &matched, headers);
                let authorized = authorize(shared, snapshot, &located, &matched, &request).await?;
                cx.authorized = Some(authorized);
            }
            "COGNITO_USER_POOLS" | "JWT" => {
                let request = integration_view(cx, &located, &matched, headers);
                cx.authorized = Some(verify_token(snapshot, &located, &matched, &request)?);
            }
            // AWS_IAM was checked above.
            "NONE" | "AWS_IAM" => {}
            other => {
                // Fail closed: an authorization type gw does not know never serves the method.
                tracing::warn!(
                    "{} {} has authorizationType {other:?}, which is not NONE, AWS_IAM, CUSTOM or COGNITO_USER_POOLS",
                    matched.method.http_method,
                    matched.resource.path
                );
                return Err(GatewayError::new(ResponseType::AuthorizerConfigurationError));
            }
        }
        if checked && matched.method.api_key_required {
            admit::admit_api_key(
                shared,
                snapshot,
                located.deployment,
                &located.stage.name,
                &parts.headers,
                cx.authorized.as_ref(),
                &matched,
            )
            .await?;
        }
        if checked && !located.stage.throttles.is_empty() {
            admit::admit_method(shared, &located.api.id, located.stage, &matched).await?;
        }
        let request = integration_view(cx, &located, &matched, headers);
        let body = validate(&located, &matched, &request, body).await?;
        let integration_started = cx.started.map(|_| std::time::Instant::now());
        let result = match (&matched.method.aggregate, integration) {
            (Some(aggregate), _) => match collect(body).await {
                Ok(bytes) => {
                    crate::gateway::aggregate::run(shared, snapshot, &request, aggregate, bytes)
                        .await
                        .map(Served::new)
                }
                Err(e) => Err(e),
            },
            (None, Some(integration)) => {
                integrate::integrate(shared, snapshot, &request, integration, body).await
            }
            (None, None) => Err(GatewayError::new(ResponseType::ApiConfigurationError)),
        };
        // A `$context.responseOverride.*` set by any of the request's templates (a request
        // template's too) holds for the answer, as on AWS; proxies have no templates.
        let overrides = std::mem::take(
            &mut *request.overrides.lock().unwrap_or_else(|p| p.into_inner()),
        );
        cx.integration_latency = integration_started.map(|s| s.elapsed());
        let mut served = result?;
        if !overrides.is_empty() {
            let mut status = served.response.status();
            integrations::apply_response_overrides(
                &overrides,
                &mut status,
                served.response.headers_mut(),
            );
            *served.response.status_mut() = status;
        }
        // finish: CORS headers on the answer.
        if let Some(cors) = &located.deployment.cors {
            if let Some(relayed) = served.relayed.take() {
                crate::net::headers::materialize(&mut served.response, relayed);
            }
            cors.decorate(&parts.headers, served.response.headers_mut());
        }
        Ok(served)
    }
    .instrument(span)
    .await
}

/// Phase 1: the API, the stage and the side of the stage that answers.
fn locate<'s>(
    shared: &Shared,
    snapshot: &'s Snapshot,
    cx: &mut RequestContext<'s>,
) -> Result<Located<'s>, GatewayError> {
    let path = cx.parts.uri.path();
    let target = match locate::domain_target(snapshot, cx.host, path, cx.peer.tls.as_deref()) {
        Some(found) => found?,
        None => target(cx.host, path),
    };
    let api = locate::find_api(snapshot, &target)?;
    let (stage_name, path) = target.stage_and_path();
    if stage_name.is_empty() {
        return Err(GatewayError::with_message(
            ResponseType::ResourceNotFound,
            format!(
                "No stage in the path: call /STAGE/PATH (stages of {}: {})",
                api.name,
                api.stages.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let stage = locate::find_stage(api, stage_name)?;
    let (variant, new_cookie) = locate::choose(
        &shared.draw,
        stage,
        cx.parts.headers.get(TARGET),
        &cx.parts.headers,
        &cx.peer.ip,
    )?;
    cx.sticky_cookie = new_cookie;
    let (deployment, variables) = match (&stage.canary, variant) {
        (Some(c), Variant::Canary) => (&c.deployment, &*c.variables),
        _ => (&stage.production, &*stage.variables),
    };
    let located = Located {
        api,
        stage,
        deployment,
        variables,
        is_canary: variant == Variant::Canary,
    };
    cx.stage_path = path;
    cx.located = Some(located);
    if cx.started.is_none() && stage.access_log.is_some() {
        cx.started = Some(std::time::Instant::now());
    }
    Ok(located)
}

/// A CORS preflight the API's CORS configuration answers.
fn preflight(located: &Located, parts: &http::request::Parts) -> Option<Response<Body>> {
    let cors = located.deployment.cors.as_ref()?;
    if !crate::gateway::cors::Cors::is_preflight(&parts.method, &parts.headers) {
        return None;
    }
    let mut resp = Response::new(body::empty());
    *resp.status_mut() = http::StatusCode::NO_CONTENT;
    *resp.headers_mut() = cors.preflight_headers(&parts.headers);
    Some(resp)
}

/// Phase 2: the resource and method.
fn route<'s>(
    located: &Located<'s>,
    cx: &mut RequestContext<'s>,
) -> Result<Matched<'s>, GatewayError> {
    let deployment: &'s LiveDeployment = located.deployment;
    let Some(matched) =
        deployment
            .router
            .find(&deployment.api, cx.parts.method.as_str(), cx.stage_path)
    else {
        return Err(GatewayError::no_route(&cx.parts.headers));
    };
    cx.routed = Some((matched.resource, matched.method));
    Ok(matched)
}

/// What an integration (and an authorizer) reads of a routed request.
fn integration_view<'a>(
    cx: &'a RequestContext<'a>,
    located: &'a Located<'a>,
    matched: &'a Matched<'a>,
    headers: &'a HeaderMap,
) -> RequestCx<'a> {
    RequestCx {
        request_id: cx.ids.request_id(),
        extended_request_id: cx.ids.extended_request_id(),
        api_id: &located.api.id,
        stage: &located.stage.name,
        deployment: located.deployment,
        is_canary: located.is_canary,
        variables: located.variables,
        resource: matched.resource,
        method: matched.method,
        path_params: &matched.path_params,
        path: cx.stage_path,
        query: cx.parts.uri.query(),
        http_method: cx.parts.method.as_str(),
        protocol: context::protocol(cx.parts.version),
        headers,
        source_ip: &cx.peer.ip,
        domain_name: cx.host.unwrap_or("localhost"),
        request_time_ms: cx.request_time_ms,
        authorizer: cx.authorized.as_ref(),
        context: cx.context(),
        overrides: Default::default(),
    }
}

/// Phase 3 (part): the method's Cognito or JWT authorizer.
fn verify_token(
    snapshot: &Snapshot,
    located: &Located<'_>,
    matched: &Matched<'_>,
    request: &RequestCx<'_>,
) -> Result<Authorized, GatewayError> {
    let Some(authorizer) = matched.method.authorizer_id.as_deref().and_then(|id| {
        located
            .deployment
            .api
            .authorizers
            .iter()
            .find(|a| a.id == id)
    }) else {
        tracing::warn!(
            "{} {} names an authorizer the API does not have",
            matched.method.http_method,
            matched.resource.path
        );
        return Err(GatewayError::new(
            ResponseType::AuthorizerConfigurationError,
        ));
    };
    // A clock before the epoch makes every token look expired (fail closed).
    let now_s = u64::try_from(epoch_ms() / 1000).unwrap_or(u64::MAX);
    crate::gateway::jwt::authorize(
        request,
        authorizer,
        &matched.method.authorization_scopes,
        &snapshot.issuers,
        now_s,
    )
}

/// Phase 3 (part): the method's Lambda authorizer.
async fn authorize(
    shared: &Shared,
    snapshot: &Snapshot,
    located: &Located<'_>,
    matched: &Matched<'_>,
    request: &RequestCx<'_>,
) -> Result<Authorized, GatewayError> {
    let Some(authorizer) = matched.method.authorizer_id.as_deref().and_then(|id| {
        located
            .deployment
            .api
            .authorizers
            .iter()
            .find(|a| a.id == id)
    }) else {
        tracing::warn!(
            "{} {} names an authorizer the API does not have",
            matched.method.http_method,
            matched.resource.path
        );
        return Err(GatewayError::new(
            ResponseType::AuthorizerConfigurationError,
        ));
    };
    crate::gateway::authorizer::authorize(
        request,
        authorizer,
        integrate::reach(shared, snapshot),
        &shared.authorizers,
        shared.counters.as_ref().filter(|c| c.config.authorizers),
    )
    .await
}

/// Phase 4: required parameters, and the body against its model (read in full to check it).
async fn validate(
    located: &Located<'_>,
    matched: &Matched<'_>,
    request: &RequestCx<'_>,
    body: Body,
) -> Result<Body, GatewayError> {
    let deployment = located.deployment;
    crate::gateway::validation::check_parameters(&deployment.api, matched.method, request)?;
    match deployment.body_schemas.for_request(
        &matched.resource.id,
        &matched.method.http_method,
        request.headers,
    ) {
        Some(schema) => {
            let bytes = collect(body).await?;
            if !crate::gateway::validation::body_is_valid(schema, &bytes) {
                return Err(crate::gateway::validation::invalid_body());
            }
            Ok(body::full(bytes))
        }
        None => Ok(body),
    }
}

/// The whole body, within API Gateway's payload limit.
pub async fn collect(body: Body) -> Result<Bytes, GatewayError> {
    match integrate::limit(body).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(GatewayError::new(ResponseType::RequestTooLarge))
        }
        Err(e) => {
            tracing::debug!("client body error: {e}");
            Err(GatewayError::with_message(
                ResponseType::BadRequestBody,
                "Invalid request body",
            ))
        }
    }
}

/// Milliseconds since the Unix epoch, now.
fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
