//! One request's life: invoke URL → API and stage → canary draw → route → integration →
//! response headers. Every failure is a [`GatewayError`], rendered in exactly one place
//! ([`gateway_response::render`]).

use crate::body::{self, Body};
use crate::canary::{self, Variant};
use crate::gateway_response::{self, ErrorContext, GatewayError, ResponseType};
use crate::headers::Relayed;
use crate::integrations::{self, http::HttpClient, RequestCx};
use crate::model::IntegrationType;
use crate::snapshot::{LiveApi, LiveDeployment, LiveStage, Snapshot};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Limited};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// API Gateway's payload limit.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Response header naming the deployment that answered.
pub const DEPLOYMENT_HEADER: &str = "x-gw-deployment";
/// Response header saying whether the canary answered (`true` / `false`).
pub const CANARY_HEADER: &str = "x-gw-canary";
/// Request header forcing the choice: `canary` or `production`.
pub const TARGET_HEADER: &str = "x-gw-target";

// The target header as a name built once (a lookup by `&str` parses the name every time).
const TARGET: HeaderName = HeaderName::from_static(TARGET_HEADER);
/// AWS's id headers.
const REQUEST_ID_NAME: &str = "x-amzn-requestid";
const APIGW_ID_NAME: &str = "x-amz-apigw-id";

/// Where the canary draw comes from: the thread's RNG, or a seeded one (tests).
pub enum Draw {
    Random,
    Seeded(Box<std::sync::Mutex<rand::rngs::StdRng>>),
}

impl Draw {
    pub fn seeded(seed: u64) -> Draw {
        use rand::SeedableRng;
        Draw::Seeded(Box::new(std::sync::Mutex::new(
            rand::rngs::StdRng::seed_from_u64(seed),
        )))
    }

    /// Uniform in `[0, 100)`.
    fn next(&self) -> f64 {
        use rand::Rng;
        match self {
            Draw::Random => rand::rng().random::<f64>() * 100.0,
            Draw::Seeded(rng) => match rng.lock() {
                Ok(mut r) => r.random::<f64>() * 100.0,
                Err(poisoned) => poisoned.into_inner().random::<f64>() * 100.0,
            },
        }
    }
}

/// What every request shares.
pub struct Shared {
    /// The store, for management API calls (the data plane never reads it).
    pub store: crate::store::Store,
    /// The serving snapshot (`current()`), kept up to date by the reload thread; the management
    /// API syncs it before answering a write.
    pub reloader: Arc<crate::snapshot::Reloader>,
    /// This worker's handle on the serving snapshot (what the data plane reads).
    pub snapshot: crate::snapshot::WorkerSnapshot,
    /// `ACCESS_KEY`, `SECRET` when management calls must carry a valid SigV4 signature.
    pub require_sigv4: Option<(String, String)>,
    /// This worker thread's backend connection pool.
    pub client: HttpClient,
    pub deployment_header: bool,
    pub draw: Arc<Draw>,
    /// Lambda authorizer answers, shared by every worker.
    pub authorizers: Arc<crate::authorizer::Cache>,
    /// Usage-plan and stage throttles and quotas, shared by every worker.
    pub limiter: Arc<crate::throttle::Limiter>,
    /// Where the access-log lines of stages with `accessLogSettings` go.
    pub access_log: crate::access_log::Writer,
}

/// Which API a request addresses, and the path after it.
#[derive(Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// `{id-or-name}.execute-api.{host}` or `/_aws/execute-api/{id}/...`.
    Api { api: &'a str, rest: &'a str },
    /// `localhost:4566/{stage}/...`: the default API.
    Default { rest: &'a str },
}

/// Read the invoke URL form from the Host header and path.
pub fn target<'a>(host: Option<&'a str>, path: &'a str) -> Target<'a> {
    if let Some(host) = host {
        let host = match host.bytes().rposition(|b| b == b':') {
            Some(i) if host.as_bytes()[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
            _ => host,
        };
        // Host names are case-insensitive.
        const FORM: &[u8] = b".execute-api.";
        let found = host
            .as_bytes()
            .windows(FORM.len())
            .position(|w| w.eq_ignore_ascii_case(FORM));
        if let Some(i) = found {
            let api = &host[..i];
            if !api.is_empty() {
                return Target::Api { api, rest: path };
            }
        }
    }
    if let Some(after) = path.strip_prefix("/_aws/execute-api/") {
        let (api, rest) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        return Target::Api { api, rest };
    }
    Target::Default { rest: path }
}

fn split_stage(rest: &str) -> (&str, &str) {
    let trimmed = rest.strip_prefix('/').unwrap_or(rest);
    match trimmed.find('/') {
        Some(i) => (&trimmed[..i], &trimmed[i..]),
        None => (trimmed, "/"),
    }
}

/// The request's ids, as text.
struct Ids {
    request_id: [u8; crate::ids::REQUEST_ID_LEN],
    extended_request_id: [u8; crate::ids::EXTENDED_REQUEST_ID_LEN],
}

impl Ids {
    fn new() -> Ids {
        Ids {
            request_id: crate::ids::request_id(),
            extended_request_id: crate::ids::extended_request_id(),
        }
    }

    fn request_id(&self) -> &str {
        std::str::from_utf8(&self.request_id).unwrap_or_default()
    }

    fn extended_request_id(&self) -> &str {
        std::str::from_utf8(&self.extended_request_id).unwrap_or_default()
    }
}

/// The client at the other end of a connection, its address formatted once per connection.
#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    /// `addr`'s IP address as text (`sourceIp`, `X-Forwarded-For`).
    pub ip: String,
}

impl Peer {
    pub fn new(addr: SocketAddr) -> Peer {
        Peer {
            addr,
            ip: addr.ip().to_string(),
        }
    }
}

/// What [`handle`] answers: the response; for a proxied answer, the backend's fields beside it
/// (see [`Relayed`]; `None` for everything gw makes itself); and the fields gw sets on every
/// answer, also beside it. The client side writes those two as they are; gw's fields replace any
/// field of their names, in the map or relayed.
pub struct Answer {
    pub response: Response<Body>,
    pub relayed: Option<Relayed>,
    pub fields: GatewayFields,
}

/// The fields gw sets on an answer: the request ids, and which deployment answered.
pub struct GatewayFields {
    ids: Ids,
    /// `x-amz-apigw-id` too: every answer of an API (the management API's carry only
    /// `x-amzn-RequestId`).
    extended: bool,
    /// `x-gw-deployment` and `x-gw-canary`: an answer a deployment gave (unless switched off).
    deployment: Option<(HeaderValue, bool)>,
}

/// The [`crate::headers::name_bit`]s of the names of [`GatewayFields`].
pub const GATEWAY_NAME_BITS: u64 = crate::headers::name_bit(REQUEST_ID_NAME.as_bytes())
    | crate::headers::name_bit(APIGW_ID_NAME.as_bytes())
    | crate::headers::name_bit(DEPLOYMENT_HEADER.as_bytes())
    | crate::headers::name_bit(CANARY_HEADER.as_bytes());

impl GatewayFields {
    /// The fields, as names and values.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[u8])> {
        let extended = self
            .extended
            .then_some((APIGW_ID_NAME, &self.ids.extended_request_id[..]));
        let deployment = self.deployment.iter().flat_map(|(id, canary)| {
            let canary: &[u8] = if *canary { b"true" } else { b"false" };
            [(DEPLOYMENT_HEADER, id.as_bytes()), (CANARY_HEADER, canary)]
        });
        std::iter::once((REQUEST_ID_NAME, &self.ids.request_id[..]))
            .chain(extended)
            .chain(deployment)
    }

    /// Whether `name` (any case) is one of the fields.
    pub fn sets(&self, name: &[u8]) -> bool {
        self.iter()
            .any(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
    }
}

impl Answer {
    /// The response with gw's fields and the relayed ones in its header map.
    pub fn into_response(self) -> Response<Body> {
        let mut response = self.response;
        let h = response.headers_mut();
        for (name, value) in self.fields.iter() {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                h.insert(HeaderName::from_static(name), value);
            }
        }
        if let Some(relayed) = self.relayed {
            crate::headers::materialize(&mut response, relayed);
        }
        response
    }
}

/// Handle one request.
pub async fn handle(shared: &Shared, req: Request<Body>, peer: &Peer) -> Answer {
    let ids = Ids::new();
    let (parts, body) = req.into_parts();
    if crate::management::is_management_request(&parts.headers) {
        let resp = match collect(body).await {
            Ok(bytes) => crate::management::handle(shared, parts, bytes).await,
            Err(e) => gateway_response::render(&e, None, &ErrorContext::default()),
        };
        return Answer {
            response: resp,
            relayed: None,
            fields: GatewayFields {
                ids,
                extended: false,
                deployment: None,
            },
        };
    }
    let snapshot = shared.snapshot.current();
    let mut log = None;
    let served = serve(shared, &snapshot, &parts, body, peer, &ids, &mut log).await;
    let (resp, relayed, deployment) = match served {
        Ok(s) => (s.response, s.relayed, s.deployment),
        Err((err, api)) => {
            if let Some(entry) = &mut log {
                entry.error = Some((err.message.clone(), err.kind.name()));
            }
            let cx = ErrorContext {
                request_id: ids.request_id(),
                extended_request_id: ids.extended_request_id(),
                http_method: parts.method.as_str(),
                path: parts.uri.path(),
                request_headers: Some(&parts.headers),
                ..Default::default()
            };
            (
                gateway_response::render(&err, api.as_ref().map(|d| &d.api), &cx),
                None,
                None,
            )
        }
    };
    if let Some(entry) = log {
        use http_body::Body as _;
        let outcome = crate::access_log::Outcome {
            status: resp.status().as_u16(),
            response_length: resp.body().size_hint().exact(),
            latency_ms: entry.started.map_or(0, |s| s.elapsed().as_millis()),
        };
        shared.access_log.write(entry.render(&outcome));
    }
    crate::headers::recycle(parts.headers);
    Answer {
        response: resp,
        relayed,
        fields: GatewayFields {
            ids,
            extended: true,
            deployment,
        },
    }
}

type Failure = (GatewayError, Option<Arc<LiveDeployment>>);

/// What [`serve`] answers, before gw's own fields are added.
struct Served {
    response: Response<Body>,
    relayed: Option<Relayed>,
    /// The `x-gw-deployment` value of the deployment that answered, and whether it was the canary.
    deployment: Option<(HeaderValue, bool)>,
}

fn not_found(message: String) -> Failure {
    (
        GatewayError::with_message(ResponseType::ResourceNotFound, message),
        None,
    )
}

fn find_api<'s>(snapshot: &'s Snapshot, target: &Target) -> Result<&'s Arc<LiveApi>, Failure> {
    match target {
        Target::Api { api, .. } => snapshot.api(api).ok_or_else(|| {
            not_found(format!(
                "The API id '{api}' does not correspond to a deployed API Gateway API"
            ))
        }),
        Target::Default { .. } => match &snapshot.default_api {
            Some(id) => snapshot
                .apis
                .get(id)
                .ok_or_else(|| not_found("no API is deployed".into())),
            None => {
                let deployed: Vec<String> = snapshot
                    .apis
                    .values()
                    .filter(|a| !a.stages.is_empty())
                    .map(|a| format!("{} ({})", a.name, a.id))
                    .collect();
                Err(not_found(if deployed.is_empty() {
                    "No API is deployed: run `gw deploy --stage NAME` first".into()
                } else {
                    format!(
                        "{} APIs are deployed, so the short URL form is ambiguous; call http://API_ID.execute-api.localhost:PORT/STAGE/... or /_aws/execute-api/API_ID/STAGE/... (APIs: {})",
                        deployed.len(),
                        deployed.join(", ")
                    )
                }))
            }
        },
    }
}

fn find_stage<'a>(api: &'a LiveApi, stage: &str) -> Result<&'a LiveStage, Failure> {
    api.stages.get(stage).ok_or_else(|| {
        let mut names: Vec<&str> = api.stages.keys().map(String::as_str).collect();
        names.sort_unstable();
        not_found(format!(
            "Stage '{stage}' is not deployed in API {} ({}); deployed stages: {}",
            api.name,
            api.id,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ))
    })
}

/// The canary draw, or the tester's forced choice; a forced choice that is neither `canary` nor
/// `production` is refused rather than silently drawn.
fn choose(
    shared: &Shared,
    stage: &LiveStage,
    forced: Option<&HeaderValue>,
) -> Result<Variant, GatewayError> {
    let forced = match forced.map(HeaderValue::as_bytes) {
        None => None,
        Some(b"canary") => Some(Variant::Canary),
        Some(b"production") => Some(Variant::Production),
        Some(other) => {
            return Err(GatewayError::with_message(
                ResponseType::BadRequestParameters,
                format!(
                    "{TARGET_HEADER} is {:?}; send canary or production, or leave the header out for the random split",
                    String::from_utf8_lossy(other)
                ),
            ))
        }
    };
    let Some(canary) = &stage.canary else {
        return Ok(Variant::Production);
    };
    Ok(forced.unwrap_or_else(|| canary::choose(canary.percent, shared.draw.next())))
}

/// The request body, failing with a length-limit error past API Gateway's 10 MB.
fn limit(body: Body) -> Body {
    use http_body::Body as _;
    if body.is_end_stream() {
        return body;
    }
    Limited::new(body, MAX_BODY_BYTES).boxed()
}

async fn collect(body: Body) -> Result<Bytes, GatewayError> {
    match limit(body).collect().await {
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

async fn serve(
    shared: &Shared,
    snapshot: &Snapshot,
    parts: &http::request::Parts,
    body: Body,
    peer: &Peer,
    ids: &Ids,
    log: &mut Option<crate::access_log::Entry>,
) -> Result<Served, Failure> {
    let host_header = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok());
    let host = host_header.or_else(|| parts.uri.authority().map(|a| a.as_str()));
    let target = target(host, parts.uri.path());
    let api = find_api(snapshot, &target)?;
    let rest = match target {
        Target::Api { rest, .. } | Target::Default { rest } => rest,
    };
    let (stage_name, path) = split_stage(rest);
    if stage_name.is_empty() {
        return Err(not_found(format!(
            "No stage in the path: call /STAGE/PATH (stages of {}: {})",
            api.name,
            api.stages.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let stage = find_stage(api, stage_name)?;
    // The request's arrival, as `requestTime`: read once for the access log and the context.
    let request_time_ms = epoch_ms();
    let forced = parts.headers.get(TARGET);
    let variant = choose(shared, stage, forced).map_err(|e| (e, None))?;
    let (deployment, variables): (&Arc<LiveDeployment>, &BTreeMap<String, String>) =
        match (&stage.canary, variant) {
            (Some(c), Variant::Canary) => (&c.deployment, &c.variables),
            _ => (&stage.production, &stage.variables),
        };
    let is_canary = variant == Variant::Canary;
    let fail = |e: GatewayError| (e, Some(deployment.clone()));
    if let Some(format) = &stage.access_log {
        *log = Some(crate::access_log::Entry {
            format: format.clone(),
            started: Some(std::time::Instant::now()),
            request_id: ids.request_id().to_string(),
            extended_request_id: ids.extended_request_id().to_string(),
            api_id: api.id.clone(),
            stage: stage.name.clone(),
            deployment_id: deployment.deployment_id.clone(),
            is_canary,
            http_method: parts.method.to_string(),
            path: format!("/{}{}", stage.name, path),
            protocol: protocol(parts.version),
            source_ip: peer.ip.clone(),
            user_agent: header_text(&parts.headers, http::header::USER_AGENT),
            domain_name: header_text(&parts.headers, http::header::HOST).unwrap_or_default(),
            request_time_ms,
            ..Default::default()
        });
    }
    let span = tracing::debug_span!("request", api = %api.id, stage = %stage.name, deployment = %deployment.deployment_id, canary = is_canary, request_id = %ids.request_id());
    let _enter = span.enter();

    if let Some(len) = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > MAX_BODY_BYTES as u64 {
            // Dropped unread: a client still sending it is drained (`body::from_client`).
            drop(body);
            return Err(fail(GatewayError::new(ResponseType::RequestTooLarge)));
        }
    }
    if let Some(cors) = &deployment.cors {
        if crate::cors::Cors::is_preflight(&parts.method, &parts.headers) {
            let mut resp = Response::new(body::empty());
            *resp.status_mut() = http::StatusCode::NO_CONTENT;
            *resp.headers_mut() = cors.preflight_headers(&parts.headers);
            return Ok(Served {
                response: resp,
                relayed: None,
                deployment: deployment_field(shared, deployment, is_canary),
            });
        }
    }
    let Some(matched) = deployment
        .router
        .find(&deployment.api, parts.method.as_str(), path)
    else {
        return Err(fail(GatewayError::no_route(&parts.headers)));
    };
    if let Some(entry) = log.as_mut() {
        entry.resource_path = Some(matched.resource.path.clone());
        entry.resource_id = Some(matched.resource.id.clone());
    }
    let Some(integration) = &matched.method.method_integration else {
        tracing::warn!(
            "{} {} has no integration",
            matched.method.http_method,
            matched.resource.path
        );
        return Err(fail(GatewayError::with_message(
            ResponseType::ApiConfigurationError,
            "Internal server error",
        )));
    };
    // AWS_IAM: the request must be SigV4-signed (and, with `--require-sigv4`, by that key).
    let body = if matched.method.authorization_type == "AWS_IAM" {
        check_iam(shared, parts, body).await.map_err(fail)?
    } else {
        body
    };
    let domain = host_header.unwrap_or("localhost");
    // gw's own control header is not part of the request the integration sees.
    let without_target;
    let headers = if forced.is_some() {
        let mut h = parts.headers.clone();
        h.remove(TARGET);
        without_target = h;
        &without_target
    } else {
        &parts.headers
    };
    let cx = RequestCx {
        request_id: ids.request_id(),
        extended_request_id: ids.extended_request_id(),
        api_id: &api.id,
        stage: &stage.name,
        deployment,
        is_canary,
        variables,
        resource: matched.resource,
        method: matched.method,
        path_params: &matched.path_params,
        path,
        query: parts.uri.query(),
        http_method: parts.method.as_str(),
        headers,
        source_ip: &peer.ip,
        domain_name: domain,
        request_time_ms,
        authorizer: None,
    };
    let authorized;
    let cx = if matched.method.authorization_type == "CUSTOM" {
        let Some(authorizer) = matched
            .method
            .authorizer_id
            .as_deref()
            .and_then(|id| deployment.api.authorizers.iter().find(|a| a.id == id))
        else {
            tracing::warn!(
                "{} {} names an authorizer the API does not have",
                matched.method.http_method,
                matched.resource.path
            );
            return Err(fail(GatewayError::new(
                ResponseType::AuthorizerConfigurationError,
            )));
        };
        authorized =
            crate::authorizer::authorize(&cx, authorizer, &snapshot.functions, &shared.authorizers)
                .await
                .map_err(fail)?;
        if let Some(entry) = log.as_mut() {
            entry.principal_id = Some(authorized.grant.principal_id.clone());
        }
        RequestCx {
            authorizer: Some(&authorized),
            ..cx
        }
    } else {
        cx
    };
    if matched.method.api_key_required {
        admit_api_key(
            shared,
            snapshot,
            deployment,
            &stage.name,
            &parts.headers,
            cx.authorizer,
            &matched,
        )
        .map_err(fail)?;
    }
    if !stage.throttles.is_empty() {
        admit_method(shared, &api.id, stage, &matched).map_err(fail)?;
    }
    crate::validation::check_parameters(&deployment.api, matched.method, &cx).map_err(fail)?;
    let body = match deployment.body_schemas.for_request(
        &matched.resource.id,
        &matched.method.http_method,
        &parts.headers,
    ) {
        Some(schema) => {
            let bytes = collect(body).await.map_err(fail)?;
            if !crate::validation::body_is_valid(schema, &bytes) {
                return Err(fail(crate::validation::invalid_body()));
            }
            body::full(bytes)
        }
        None => body,
    };
    let integration_started = log.is_some().then(std::time::Instant::now);
    let result = match integration.kind {
        IntegrationType::HttpProxy | IntegrationType::Http => {
            integrations::http::forward(&cx, integration, &shared.client, limit(body)).await
        }
        IntegrationType::Mock => {
            use http_body::Body as _;
            // The body is read only when the request template looks at it (a mock answers
            // without waiting for an upload it ignores).
            let bytes = if body.is_end_stream() || !integrations::mock::reads_body(integration) {
                Ok(Bytes::new())
            } else {
                collect(body).await
            };
            match bytes {
                Ok(bytes) => {
                    integrations::mock::respond(&cx, integration, &String::from_utf8_lossy(&bytes))
                        .map(|r| (r, None))
                }
                Err(e) => Err(e),
            }
        }
        IntegrationType::AwsProxy => match collect(body).await {
            Ok(bytes) => {
                integrations::function::invoke(&cx, integration, &snapshot.functions, bytes)
                    .await
                    .map(|r| (r, None))
            }
            Err(e) => Err(e),
        },
        IntegrationType::Aws => {
            tracing::warn!("AWS service integrations are not emulated");
            Err(GatewayError::with_message(
                ResponseType::ApiConfigurationError,
                "Internal server error",
            ))
        }
    };
    if let (Some(entry), Some(started)) = (log.as_mut(), integration_started) {
        entry.integration_latency_ms = Some(started.elapsed().as_millis());
    }
    let (mut resp, mut relayed) = result.map_err(fail)?;
    if let Some(cors) = &deployment.cors {
        if let Some(relayed) = relayed.take() {
            crate::headers::materialize(&mut resp, relayed);
        }
        cors.decorate(&parts.headers, resp.headers_mut());
    }
    Ok(Served {
        response: resp,
        relayed,
        deployment: deployment_field(shared, deployment, is_canary),
    })
}

/// The `x-gw-deployment` value and whether it was the canary (`None` when switched off).
fn deployment_field(
    shared: &Shared,
    deployment: &LiveDeployment,
    is_canary: bool,
) -> Option<(HeaderValue, bool)> {
    if !shared.deployment_header {
        return None;
    }
    deployment_value(&deployment.deployment_id).map(|v| (v, is_canary))
}

thread_local! {
    /// The `x-gw-deployment` values this worker sent last. A clone of one is a reference count
    /// only this thread writes (a value kept in the shared snapshot would have every worker
    /// write its count, twice per request), and the id is not copied per response.
    static DEPLOYMENT_VALUES: std::cell::RefCell<Vec<HeaderValue>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The `x-gw-deployment` value for `id`.
fn deployment_value(id: &str) -> Option<HeaderValue> {
    /// Production and canary of a stage or two.
    const KEPT: usize = 4;
    DEPLOYMENT_VALUES.with_borrow_mut(|kept| {
        if let Some(v) = kept.iter().find(|v| v.as_bytes() == id.as_bytes()) {
            return Some(v.clone());
        }
        let v = HeaderValue::from_str(id).ok()?;
        if kept.len() >= KEPT {
            kept.remove(0);
        }
        kept.push(v.clone());
        Some(v)
    })
}

/// A method with `apiKeyRequired`: the key (from `x-api-key`, or from the authorizer when the
/// API's `apiKeySource` is `AUTHORIZER`) must be an enabled key of a usage plan of this stage,
/// within the plan's throttle and quota.
fn admit_api_key(
    shared: &Shared,
    snapshot: &Snapshot,
    deployment: &LiveDeployment,
    stage: &str,
    headers: &HeaderMap,
    authorized: Option<&crate::lambda::Authorized>,
    matched: &crate::router::Matched,
) -> Result<(), GatewayError> {
    let from_authorizer = deployment
        .api
        .api_key_source
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("AUTHORIZER"));
    let key = if from_authorizer {
        authorized.and_then(|a| a.grant.usage_identifier_key.as_deref())
    } else {
        headers.get("x-api-key").and_then(|v| v.to_str().ok())
    };
    let Some(grant) = key.and_then(|k| snapshot.api_key(&deployment.api_id, stage, k)) else {
        return Err(GatewayError::new(ResponseType::InvalidApiKey));
    };
    let (now, utc) = (std::time::Instant::now(), chrono::Utc::now());
    if !grant.methods.is_empty() {
        let key = format!("{}/{}", matched.resource.path, matched.method.http_method);
        if let Some(method) = grant.methods.get(&key) {
            // The method's own bucket, in place of the plan's; the quota stays the plan's.
            shared
                .limiter
                .admit(&format!("{} {key}", grant.id), method, now, utc)?;
            let quota = crate::throttle::Limits {
                throttle: None,
                ..grant.limits
            };
            return shared.limiter.admit(&grant.id, &quota, now, utc);
        }
    }
    if grant.limits.is_empty() {
        return Ok(());
    }
    shared.limiter.admit(&grant.id, &grant.limits, now, utc)
}

/// An `AWS_IAM` method: a request without a signature gets 403 "Missing Authentication Token"
/// (an `Authorization` that is not SigV4, AWS's signature complaint); with `gw serve
/// --require-sigv4 KEY:SECRET` the signature is verified against that key (the body is read to
/// do so and passed on), otherwise any well-formed signature is accepted, as for management
/// calls. A presigned URL (`X-Amz-Signature` in the query) is accepted without verification.
async fn check_iam(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Body,
) -> Result<Body, GatewayError> {
    let presigned = parts
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.starts_with("X-Amz-Signature=")));
    if presigned {
        return Ok(body);
    }
    let signed = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS4-HMAC-SHA256 "));
    if !signed {
        return Err(GatewayError::no_route(&parts.headers));
    }
    let Some((key, secret)) = &shared.require_sigv4 else {
        return Ok(body);
    };
    let bytes = collect(body).await?;
    use crate::management::sigv4::{verify, SigError};
    let path = parts.uri.path();
    verify(
        parts.method.as_str(),
        path,
        parts.uri.query(),
        &parts.headers,
        &bytes,
        key,
        secret,
    )
    .map_err(|e| match e {
        SigError::BadSignature => GatewayError::new(ResponseType::InvalidSignature),
        SigError::UnknownKey => GatewayError {
            error_type: Some("UnrecognizedClientException"),
            ..GatewayError::with_message(
                ResponseType::InvalidSignature,
                "The security token included in the request is invalid.",
            )
        },
        SigError::Incomplete(m) => GatewayError {
            error_type: Some("IncompleteSignatureException"),
            ..GatewayError::with_message(ResponseType::MissingAuthenticationToken, m)
        },
    })?;
    Ok(body::full(bytes))
}

/// The stage's `methodSettings` throttle for the matched method (its own entry, else `*/*`):
/// a token bucket per stage and method, as API Gateway keeps one per method.
fn admit_method(
    shared: &Shared,
    api_id: &str,
    stage: &LiveStage,
    matched: &crate::router::Matched,
) -> Result<(), GatewayError> {
    let key = format!(
        "{}/{}",
        matched.resource.path.trim_start_matches('/'),
        matched.method.http_method
    );
    let Some(limits) = stage
        .throttles
        .get(&key)
        .or_else(|| stage.throttles.get("*/*"))
    else {
        return Ok(());
    };
    shared.limiter.admit(
        &format!("stage {api_id}/{} {key}", stage.name),
        limits,
        std::time::Instant::now(),
        chrono::Utc::now(),
    )
}

/// Milliseconds since the Unix epoch, now.
fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn protocol(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    }
}

fn header_text(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A plain-text response (for the few answers that are not gateway responses).
pub fn plain(status: http::StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(body::full(text));
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        assert_eq!(
            target(Some("abc.execute-api.localhost:4566"), "/prod/pets"),
            Target::Api {
                api: "abc",
                rest: "/prod/pets"
            }
        );
        assert_eq!(
            target(Some("localhost:4566"), "/_aws/execute-api/abc/prod/pets"),
            Target::Api {
                api: "abc",
                rest: "/prod/pets"
            }
        );
        assert_eq!(
            target(Some("localhost:4566"), "/prod/pets"),
            Target::Default { rest: "/prod/pets" }
        );
        assert_eq!(
            target(Some("AbC.Execute-API.LocalHost:4566"), "/prod/pets"),
            Target::Api {
                api: "AbC",
                rest: "/prod/pets"
            }
        );
        assert_eq!(split_stage("/prod/pets/1"), ("prod", "/pets/1"));
        assert_eq!(split_stage("/prod"), ("prod", "/"));
    }
}
