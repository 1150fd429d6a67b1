//! The AWS-compatible management API (REST API v1, `apigateway` service, rest-json): requests
//! signed for the `apigateway` service arrive on gw's listener and are answered here, in AWS's
//! wire format, against the same store the CLI uses — so what the AWS CLI, boto3 or Terraform
//! creates, `gw stages` shows, and the reverse. The running data plane follows every commit.
//!
//! Wire format (botocore `apigateway/2015-07-09`): list responses under `item` (+ `position`),
//! epoch-second timestamps, 201 for creates, 202 for deletes, errors as status +
//! `x-amzn-ErrorType` + `{"message"}` with AWS's messages.
//!
//! Layout: this file routes and reads requests; [`wire`] writes AWS's JSON shapes; [`patch`] is
//! UpdateStage's patch engine (pure); [`sigv4`] checks signatures (`--require-sigv4`);
//! [`export`] is GetExport.
//!
//! Architecture invariant: every state change goes through [`crate::control`] or one
//! [`crate::store::Store::write`] transaction; nothing here keeps state of its own.

mod authorizers;
pub mod export;
mod keys;
pub mod patch;
mod resources;
pub mod sigv4;
mod validators;
pub mod wire;

use crate::body::{self, Body};
use crate::control::{self, ControlError, PutMode};
use crate::import::{BasePathMode, ImportOptions};
use crate::model::{CanarySettings, EndpointConfiguration, Resource, RestApi, Stage};
use crate::store::{self, Store, StoreError};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Whether a request is a management call: SigV4-signed for the `apigateway` service.
pub fn is_management_request(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.starts_with("AWS4-HMAC-SHA256") && a.contains("/apigateway/aws4_request")
        })
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An AWS error: HTTP status, `x-amzn-ErrorType` and `{"message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BadRequestException", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NotFoundException", message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "ConflictException", message)
    }

    fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            message,
        )
    }

    fn api_not_found(id: &str) -> ApiError {
        ApiError::not_found(format!(
            "Invalid API identifier specified {}:{id}",
            wire::ACCOUNT_ID
        ))
    }
}

const STAGE_NOT_FOUND: &str = "Invalid Stage identifier specified";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            // control's stage lookups add gw context after AWS's text; the wire gets AWS's.
            StoreError::NotFound(m) if m.starts_with(STAGE_NOT_FOUND) => {
                ApiError::not_found(STAGE_NOT_FOUND)
            }
            StoreError::NotFound(m) => ApiError::not_found(m),
            StoreError::Conflict(m) => ApiError::conflict(m),
            StoreError::Invalid(m) => ApiError::bad_request(m),
            other => {
                tracing::error!("management API: {other}");
                ApiError::internal(other.to_string())
            }
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        match e {
            ControlError::Store(e) => e.into(),
            ControlError::Import(e) => ApiError::bad_request(e.to_string()),
        }
    }
}

type Result<T> = std::result::Result<T, ApiError>;

// ---------------------------------------------------------------------------------------------
// Requests and replies

/// One management request, decoded.
struct Req<'a> {
    method: &'a Method,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl Req<'_> {
    fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn q_all<'s>(&'s self, key: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.query
            .iter()
            .filter(move |(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
    }

    fn json<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        serde_json::from_slice(self.body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                format!("Could not read the request body as JSON: {e}"),
            )
        })
    }
}

/// A successful answer.
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
    extra: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: StatusCode, v: Value) -> Reply {
        Reply {
            status,
            body: v.to_string().into_bytes(),
            content_type: "application/json",
            extra: Vec::new(),
        }
    }

    fn ok(v: Value) -> Reply {
        Reply::json(StatusCode::OK, v)
    }

    fn created(v: Value) -> Reply {
        Reply::json(StatusCode::CREATED, v)
    }

    fn accepted() -> Reply {
        Reply::empty(StatusCode::ACCEPTED)
    }

    fn no_content() -> Reply {
        Reply::empty(StatusCode::NO_CONTENT)
    }

    fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            body: Vec::new(),
            content_type: "application/json",
            extra: Vec::new(),
        }
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn render(result: Result<Reply>) -> Response<Body> {
    match result {
        Ok(reply) => {
            let mut r = Response::new(body::full(reply.body));
            *r.status_mut() = reply.status;
            let h = r.headers_mut();
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(reply.content_type),
            );
            for (k, v) in reply.extra {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            }
            r
        }
        Err(e) => error_response(&e),
    }
}

pub fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = Response::new(body::full(json!({ "message": e.message }).to_string()));
    *r.status_mut() = e.status;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-amzn-errortype", HeaderValue::from_static(e.code));
    r
}

fn check_signature(
    shared: &crate::dispatch::Shared,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<()> {
    let Some((key, secret)) = &shared.require_sigv4 else {
        return Ok(());
    };
    let forbidden = |code, msg: String| ApiError::new(StatusCode::FORBIDDEN, code, msg);
    sigv4::verify(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        body,
        key,
        secret,
    )
    .map_err(|e| match e {
        sigv4::SigError::UnknownKey => forbidden(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".into(),
        ),
        sigv4::SigError::BadSignature => forbidden(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        ),
        sigv4::SigError::Incomplete(m) => forbidden("IncompleteSignatureException", m),
    })
}

/// Answer one management call.
pub async fn handle(
    shared: &crate::dispatch::Shared,
    parts: http::request::Parts,
    body: bytes::Bytes,
) -> Response<Body> {
    if let Err(e) = check_signature(shared, &parts, &body) {
        return error_response(&e);
    }
    let store = shared.store.clone();
    let reloader = shared.reloader.clone();
    let writes = !matches!(parts.method, http::Method::GET | http::Method::HEAD);
    // The store is SQLite: blocking calls, kept off the async workers.
    let answer = tokio::task::spawn_blocking(move || {
        let req = Req {
            method: &parts.method,
            segments: parts
                .uri
                .path()
                .split('/')
                .filter(|s| !s.is_empty())
                .map(decode)
                .collect(),
            query: parse_query(parts.uri.query()),
            headers: &parts.headers,
            body: &body,
        };
        let result = route(&store, &req);
        // What the caller just changed is served by the time it hears back.
        if writes && result.is_ok() {
            if let Err(e) = reloader.sync() {
                tracing::error!("reload after a management call failed: {e}");
            }
        }
        result
    })
    .await;
    match answer {
        Ok(result) => render(result),
        Err(e) => error_response(&ApiError::internal(format!(
            "the management call failed: {e}"
        ))),
    }
}

fn route(store: &Store, req: &Req) -> Result<Reply> {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    match (m, segs.as_slice()) {
        ("POST", ["restapis"]) if req.q("mode") == Some("import") => import_rest_api(store, req),
        ("POST", ["restapis"]) => create_rest_api(store, req),
        ("GET", ["restapis"]) => get_rest_apis(store, req),
        ("GET", ["restapis", id]) => Ok(Reply::ok(wire::rest_api(&find_api(store, id)?))),
        ("PUT", ["restapis", id]) => put_rest_api(store, req, id),
        ("PATCH", ["restapis", id]) => update_rest_api(store, req, id),
        ("DELETE", ["restapis", id]) => {
            find_api(store, id)?;
            control::delete_api(store, id)?;
            Ok(Reply::accepted())
        }
        ("GET", ["restapis", id, "resources"]) => get_resources(store, req, id),
        ("GET", ["restapis", id, "resources", rid]) => {
            let api = find_api(store, id)?;
            let r = find_resource(&api, rid)?;
            Ok(Reply::ok(wire::resource(r, embeds(req, "methods"))))
        }
        ("GET", ["restapis", id, "resources", rid, "methods", verb]) => {
            let api = find_api(store, id)?;
            let r = find_resource(&api, rid)?;
            let meth = find_method(r, verb)?;
            Ok(Reply::ok(wire::method(r, meth)))
        }
        ("GET", ["restapis", id, "resources", rid, "methods", verb, "integration"]) => {
            let api = find_api(store, id)?;
            let r = find_resource(&api, rid)?;
            let meth = find_method(r, verb)?;
            let i = meth
                .method_integration
                .as_ref()
                .ok_or_else(|| ApiError::not_found("No integration defined for method"))?;
            Ok(Reply::ok(wire::integration(r, i)))
        }
        ("POST", ["restapis", id, "resources", parent]) => {
            resources::create_resource(store, req, id, parent)
        }
        ("DELETE", ["restapis", id, "resources", rid]) => {
            resources::delete_resource(store, id, rid)
        }
        ("PUT", ["restapis", id, "resources", rid, "methods", verb]) => {
            resources::put_method(store, req, id, rid, verb)
        }
        ("DELETE", ["restapis", id, "resources", rid, "methods", verb]) => {
            resources::delete_method(store, id, rid, verb)
        }
        ("PUT", ["restapis", id, "resources", rid, "methods", verb, "responses", code]) => {
            resources::put_method_response(store, req, id, (rid, verb, code))
        }
        ("GET", ["restapis", id, "resources", rid, "methods", verb, "responses", code]) => {
            resources::get_method_response(store, id, (rid, verb, code))
        }
        ("DELETE", ["restapis", id, "resources", rid, "methods", verb, "responses", code]) => {
            resources::delete_method_response(store, id, (rid, verb, code))
        }
        ("PUT", ["restapis", id, "resources", rid, "methods", verb, "integration"]) => {
            resources::put_integration(store, req, id, rid, verb)
        }
        ("DELETE", ["restapis", id, "resources", rid, "methods", verb, "integration"]) => {
            resources::delete_integration(store, id, rid, verb)
        }
        (
            "PUT",
            ["restapis", id, "resources", rid, "methods", verb, "integration", "responses", code],
        ) => resources::put_integration_response(store, req, id, (rid, verb, code)),
        (
            "GET",
            ["restapis", id, "resources", rid, "methods", verb, "integration", "responses", code],
        ) => resources::get_integration_response(store, id, (rid, verb, code)),
        (
            "DELETE",
            ["restapis", id, "resources", rid, "methods", verb, "integration", "responses", code],
        ) => resources::delete_integration_response(store, id, (rid, verb, code)),
        ("POST", ["apikeys"]) => keys::create_api_key(store, req),
        ("GET", ["apikeys"]) => keys::get_api_keys(store, req),
        ("GET", ["apikeys", id]) => keys::get_api_key(store, req, id),
        ("PATCH", ["apikeys", id]) => keys::update_api_key(store, req, id),
        ("DELETE", ["apikeys", id]) => keys::delete_api_key(store, id),
        ("POST", ["usageplans"]) => keys::create_usage_plan(store, req),
        ("GET", ["usageplans"]) => keys::get_usage_plans(store, req),
        ("GET", ["usageplans", id]) => keys::get_usage_plan(store, id),
        ("PATCH", ["usageplans", id]) => keys::update_usage_plan(store, req, id),
        ("DELETE", ["usageplans", id]) => keys::delete_usage_plan(store, id),
        ("POST", ["usageplans", id, "keys"]) => keys::create_usage_plan_key(store, req, id),
        ("GET", ["usageplans", id, "keys"]) => keys::get_usage_plan_keys(store, req, id),
        ("GET", ["usageplans", id, "keys", kid]) => keys::get_usage_plan_key(store, id, kid),
        ("DELETE", ["usageplans", id, "keys", kid]) => keys::delete_usage_plan_key(store, id, kid),
        ("POST", ["restapis", id, "requestvalidators"]) => {
            validators::create_request_validator(store, req, id)
        }
        ("GET", ["restapis", id, "requestvalidators"]) => {
            validators::get_request_validators(store, req, id)
        }
        ("GET", ["restapis", id, "requestvalidators", vid]) => {
            validators::get_request_validator(store, id, vid)
        }
        ("PATCH", ["restapis", id, "requestvalidators", vid]) => {
            validators::update_request_validator(store, req, id, vid)
        }
        ("DELETE", ["restapis", id, "requestvalidators", vid]) => {
            validators::delete_request_validator(store, id, vid)
        }
        ("POST", ["restapis", id, "models"]) => validators::create_model(store, req, id),
        ("GET", ["restapis", id, "models"]) => validators::get_models(store, req, id),
        ("GET", ["restapis", id, "models", name]) => validators::get_model(store, id, name),
        ("PATCH", ["restapis", id, "models", name]) => {
            validators::update_model(store, req, id, name)
        }
        ("DELETE", ["restapis", id, "models", name]) => validators::delete_model(store, id, name),
        ("POST", ["restapis", id, "authorizers"]) => authorizers::create_authorizer(store, req, id),
        ("GET", ["restapis", id, "authorizers"]) => authorizers::get_authorizers(store, req, id),
        ("GET", ["restapis", id, "authorizers", aid]) => {
            authorizers::get_authorizer(store, id, aid)
        }
        ("PATCH", ["restapis", id, "authorizers", aid]) => {
            authorizers::update_authorizer(store, req, id, aid)
        }
        ("DELETE", ["restapis", id, "authorizers", aid]) => {
            authorizers::delete_authorizer(store, id, aid)
        }
        ("POST", ["restapis", id, "deployments"]) => create_deployment(store, req, id),
        ("GET", ["restapis", id, "deployments"]) => get_deployments(store, req, id),
        ("GET", ["restapis", id, "deployments", did]) => get_deployment(store, req, id, did),
        ("DELETE", ["restapis", id, "deployments", did]) => {
            find_api(store, id)?;
            store.write(|tx| tx.delete_deployment(id, did))?;
            Ok(Reply::accepted())
        }
        ("POST", ["restapis", id, "stages"]) => create_stage(store, req, id),
        ("GET", ["restapis", id, "stages"]) => get_stages(store, req, id),
        ("GET", ["restapis", id, "stages", name]) => {
            find_api(store, id)?;
            let s = store
                .read(|tx| tx.stage(id, name))?
                .ok_or_else(|| ApiError::not_found(STAGE_NOT_FOUND))?;
            Ok(Reply::ok(wire::stage(&s)))
        }
        ("PATCH", ["restapis", id, "stages", name]) => update_stage(store, req, id, name),
        ("DELETE", ["restapis", id, "stages", name]) => {
            find_api(store, id)?;
            control::delete_stage(store, Some(id), name)?;
            Ok(Reply::accepted())
        }
        ("GET", ["restapis", id, "stages", name, "exports", kind]) => {
            get_export(store, req, id, name, kind)
        }
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!(
                "gw does not implement {m} {} of the API Gateway management API",
                req.segments
                    .iter()
                    .fold(String::new(), |acc, s| acc + "/" + s)
            ),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Lookups

/// An API by id (AWS's ids only; gw's CLI also accepts names, the wire does not).
fn find_api(store: &Store, id: &str) -> Result<RestApi> {
    store
        .read(|tx| tx.find_api(id))?
        .filter(|a| a.id == id)
        .ok_or_else(|| ApiError::api_not_found(id))
}

fn find_resource<'a>(api: &'a RestApi, rid: &str) -> Result<&'a Resource> {
    api.resources
        .iter()
        .find(|r| r.id == rid)
        .ok_or_else(|| ApiError::not_found("Invalid Resource identifier specified"))
}

fn find_method<'a>(r: &'a Resource, verb: &str) -> Result<&'a crate::model::Method> {
    r.resource_methods
        .get(verb)
        .or_else(|| r.resource_methods.get(&verb.to_ascii_uppercase()))
        .ok_or_else(|| ApiError::not_found("Invalid Method identifier specified"))
}

fn embeds(req: &Req, what: &str) -> bool {
    req.q_all("embed").any(|e| e.trim() == what)
}

/// `limit` / `position` paging: position is the offset of the next item.
fn page<T>(items: Vec<T>, req: &Req) -> Result<(Vec<T>, Option<String>)> {
    let limit = match req.q("limit") {
        None => 25,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!("Invalid limit {l}: must be between 1 and 500"))
            })?,
    };
    let start = match req.q("position") {
        None | Some("") => 0,
        Some(p) => p
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("Invalid position {p}")))?,
    };
    let total = items.len();
    let end = start.saturating_add(limit).min(total);
    let next = (end < total).then(|| end.to_string());
    let page = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    Ok((page, next))
}

fn list(items: Vec<Value>, position: Option<String>) -> Value {
    let mut v = json!({ "item": items });
    if let Some(p) = position {
        v["position"] = json!(p);
    }
    v
}

// ---------------------------------------------------------------------------------------------
// REST APIs

fn import_options(req: &Req) -> Result<ImportOptions> {
    let mut opts = ImportOptions {
        fail_on_warnings: req
            .q("failonwarnings")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        ..Default::default()
    };
    if let Some(b) = req.q("basepath") {
        opts.basepath = BasePathMode::parse(b).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid basepath value {b}: must be one of ignore, prepend, split"
            ))
        })?;
    }
    if let Some(t) = req.q("endpointConfigurationTypes") {
        let t = t.to_ascii_uppercase();
        if !matches!(t.as_str(), "EDGE" | "REGIONAL" | "PRIVATE") {
            return Err(ApiError::bad_request(format!(
                "Invalid endpoint configuration type {t}: must be one of EDGE, REGIONAL, PRIVATE"
            )));
        }
        opts.endpoint_type = Some(t);
    }
    Ok(opts)
}

/// The name used in import error messages (the CLI sends the file's bytes, not its name).
const BODY_NAME: &str = "body";

fn import_rest_api(store: &Store, req: &Req) -> Result<Reply> {
    let opts = import_options(req)?;
    match control::import_new(store, BODY_NAME, req.body, None, &opts) {
        Ok((api, _)) => Ok(Reply::created(wire::rest_api(&api))),
        Err(ControlError::Store(StoreError::Conflict(m))) => {
            let first = m.split("; ").next().unwrap_or(&m);
            Err(ApiError::conflict(format!(
                "{first}: gw keeps API names unique; update it with put-rest-api --rest-api-id, or delete it first"
            )))
        }
        Err(e) => Err(e.into()),
    }
}

fn put_rest_api(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let mode = match req.q("mode") {
        None => PutMode::Merge,
        Some(m) => PutMode::parse(m).ok_or_else(|| {
            ApiError::bad_request(format!("Invalid mode {m}: must be one of merge, overwrite"))
        })?,
    };
    let opts = import_options(req)?;
    let (api, _) = control::import_into(store, id, BODY_NAME, req.body, mode, &opts)?;
    Ok(Reply::ok(wire::rest_api(&api)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateRestApiBody {
    name: Option<String>,
    description: Option<String>,
    version: Option<String>,
    clone_from: Option<String>,
    #[serde(default)]
    binary_media_types: Vec<String>,
    minimum_compression_size: Option<i64>,
    api_key_source: Option<String>,
    endpoint_configuration: Option<EndpointConfiguration>,
    policy: Option<String>,
    #[serde(default)]
    disable_execute_api_endpoint: bool,
}

fn create_rest_api(store: &Store, req: &Req) -> Result<Reply> {
    let b: CreateRestApiBody = req.json()?;
    let name = b
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("Invalid REST API name specified"))?;
    if b.description.as_deref() == Some("") {
        return Err(ApiError::bad_request(
            "Description cannot be an empty string",
        ));
    }
    if b.clone_from.is_some() {
        return Err(ApiError::bad_request(
            "gw does not emulate cloneFrom: import the source API's definition instead",
        ));
    }
    if let Some(n) = b.minimum_compression_size {
        if !(0..=10_485_760).contains(&n) {
            return Err(ApiError::bad_request(
                "Invalid minimum compression size, must be between 0 and 10485760",
            ));
        }
    }
    let api = RestApi {
        id: crate::ids::api_id(),
        name,
        description: b.description,
        version: b.version,
        created_date: store::now(),
        api_key_source: b.api_key_source,
        binary_media_types: b.binary_media_types,
        minimum_compression_size: b.minimum_compression_size,
        endpoint_configuration: b.endpoint_configuration.unwrap_or(EndpointConfiguration {
            types: vec!["EDGE".into()],
            vpc_endpoint_ids: Vec::new(),
        }),
        policy: b.policy,
        disable_execute_api_endpoint: b.disable_execute_api_endpoint,
        cors_configuration: None,
        warnings: Vec::new(),
        resources: vec![Resource {
            id: crate::ids::short(),
            parent_id: None,
            path_part: None,
            path: "/".into(),
            resource_methods: BTreeMap::new(),
        }],
        authorizers: Vec::new(),
        request_validators: Vec::new(),
        gateway_responses: BTreeMap::new(),
        models: BTreeMap::new(),
    };
    store
        .write(|tx| tx.insert_api(&api, b"", ""))
        .map_err(|e| match e {
            StoreError::Conflict(m) => ApiError::conflict(format!(
                "{}: gw keeps API names unique; choose another name",
                m.split("; ").next().unwrap_or(&m)
            )),
            e => e.into(),
        })?;
    Ok(Reply::created(wire::rest_api(&api)))
}

fn get_rest_apis(store: &Store, req: &Req) -> Result<Reply> {
    let apis = store.read(|tx| tx.list_apis())?;
    let (apis, next) = page(apis, req)?;
    Ok(Reply::ok(list(
        apis.iter().map(wire::rest_api).collect(),
        next,
    )))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PatchBody {
    #[serde(default)]
    patch_operations: Vec<patch::PatchOp>,
}

/// UpdateRestApi: the top-level scalar fields and `binaryMediaTypes`.
fn update_rest_api(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let ops = req.json::<PatchBody>()?.patch_operations;
    let api = store.write(|tx| {
        let Some(mut api) = tx.find_api(id)?.filter(|a| a.id == id) else {
            return Err(StoreError::NotFound(format!(
                "Invalid API identifier specified {}:{id}",
                wire::ACCOUNT_ID
            )));
        };
        for op in &ops {
            apply_rest_api_op(&mut api, op).map_err(StoreError::Invalid)?;
        }
        if let Some(other) = tx.find_api(&api.name)?.filter(|o| o.id != api.id) {
            return Err(StoreError::Conflict(format!(
                "an API named {:?} already exists (id {}): gw keeps API names unique",
                api.name, other.id
            )));
        }
        tx.update_api(&api, None)?;
        Ok(api)
    })?;
    Ok(Reply::ok(wire::rest_api(&api)))
}

fn apply_rest_api_op(api: &mut RestApi, op: &patch::PatchOp) -> std::result::Result<(), String> {
    let v = op.value.clone();
    let set = matches!(op.op.as_str(), "replace" | "add");
    match (op.path.as_str(), set) {
        ("/name", true) => {
            api.name = v
                .filter(|n| !n.trim().is_empty())
                .ok_or("Invalid REST API name specified")?
        }
        ("/description", _) => api.description = if set { v } else { None },
        ("/version", _) => api.version = if set { v } else { None },
        ("/apiKeySource", true) => {
            let s = v.unwrap_or_default().to_ascii_uppercase();
            if s != "HEADER" && s != "AUTHORIZER" {
                return Err(format!("Invalid API Key source specified: {s}"));
            }
            api.api_key_source = Some(s);
        }
        ("/disableExecuteApiEndpoint", true) => {
            api.disable_execute_api_endpoint = v.is_some_and(|b| b.eq_ignore_ascii_case("true"));
        }
        ("/minimumCompressionSize", _) => {
            api.minimum_compression_size = match v.filter(|s| !s.is_empty() && set) {
                None => None,
                Some(s) => Some(
                    s.parse::<i64>()
                        .ok()
                        .filter(|n| (0..=10_485_760).contains(n))
                        .ok_or(
                            "Invalid minimum compression size, must be between 0 and 10485760",
                        )?,
                ),
            };
        }
        (p, _) if p.starts_with("/binaryMediaTypes/") => {
            let t = p["/binaryMediaTypes/".len()..]
                .replace("~1", "/")
                .replace("~0", "~");
            match op.op.as_str() {
                "add" | "replace" => {
                    if !api.binary_media_types.contains(&t) {
                        api.binary_media_types.push(t);
                    }
                }
                "remove" => api.binary_media_types.retain(|x| x != &t),
                o => return Err(format!("Invalid {o} operation with path: {p}")),
            }
        }
        (p, _) => return Err(format!("Invalid patch path {p}")),
    }
    Ok(())
}

fn get_resources(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let embed = embeds(req, "methods");
    let (resources, next) = page(api.resources.iter().collect(), req)?;
    Ok(Reply::ok(list(
        resources
            .into_iter()
            .map(|r| wire::resource(r, embed))
            .collect(),
        next,
    )))
}

// ---------------------------------------------------------------------------------------------
// Deployments

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DeploymentCanaryBody {
    percent_traffic: Option<f64>,
    stage_variable_overrides: Option<BTreeMap<String, String>>,
    use_stage_cache: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateDeploymentBody {
    stage_name: Option<String>,
    stage_description: Option<String>,
    description: Option<String>,
    variables: Option<BTreeMap<String, String>>,
    canary_settings: Option<DeploymentCanaryBody>,
    tracing_enabled: Option<bool>,
}

fn create_deployment(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let b: CreateDeploymentBody = req.json()?;
    let description = b.description.as_deref();
    let deployment = if let Some(canary) = &b.canary_settings {
        let stage = match b.stage_name.as_deref() {
            None => return Err(ApiError::bad_request(
                "Invalid deployment content specified.Non null and non empty stageName must be provided for canary deployment. Provided value is null",
            )),
            Some("") => return Err(ApiError::bad_request(
                "Invalid deployment content specified.Non null and non empty stageName must be provided for canary deployment. Provided value is ",
            )),
            Some(s) => s,
        };
        let overrides = canary.stage_variable_overrides.clone().unwrap_or_default();
        let deployed = control::deploy_canary(
            store,
            Some(id),
            stage,
            canary.percent_traffic.unwrap_or(0.0),
            &overrides,
            description,
        )?;
        if canary.use_stage_cache == Some(true)
            || b.variables.is_some()
            || b.stage_description.is_some()
            || b.tracing_enabled.is_some()
        {
            finish_stage(store, id, stage, &b, canary.use_stage_cache)?;
        }
        deployed.deployment
    } else if let Some(stage) = b.stage_name.as_deref().filter(|s| !s.is_empty()) {
        let vars = b.variables.clone().unwrap_or_default();
        let deployed = control::deploy(store, Some(id), stage, description, &vars)?;
        if b.stage_description.is_some() || b.tracing_enabled.is_some() {
            finish_stage(store, id, stage, &b, None)?;
        }
        deployed.deployment
    } else {
        store.write(|tx| {
            let api = tx.find_api(id)?.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "Invalid API identifier specified {}:{id}",
                    wire::ACCOUNT_ID
                ))
            })?;
            tx.create_deployment(&api, description)
        })?
    };
    Ok(Reply::created(wire::deployment(&deployment, None)))
}

/// The stage settings CreateDeployment carries besides the deployment itself.
fn finish_stage(
    store: &Store,
    id: &str,
    stage: &str,
    b: &CreateDeploymentBody,
    use_stage_cache: Option<bool>,
) -> Result<()> {
    control::update_stage(store, Some(id), stage, |s| {
        if let Some(d) = &b.stage_description {
            s.description = Some(d.clone()).filter(|d| !d.is_empty());
        }
        if let Some(t) = b.tracing_enabled {
            s.tracing_enabled = t;
        }
        if b.canary_settings.is_some() {
            if let Some(v) = &b.variables {
                control::check_variables(v)?;
                s.variables = v.clone();
            }
        }
        if let (Some(u), Some(c)) = (use_stage_cache, &mut s.canary_settings) {
            c.use_stage_cache = u;
        }
        Ok(())
    })?;
    Ok(())
}

fn get_deployments(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let all = store.read(|tx| tx.deployments(id))?;
    let (items, next) = page(all, req)?;
    Ok(Reply::ok(list(
        items.iter().map(|d| wire::deployment(d, None)).collect(),
        next,
    )))
}

fn get_deployment(store: &Store, req: &Req, id: &str, did: &str) -> Result<Reply> {
    find_api(store, id)?;
    let (d, snapshot) = store.read(|tx| {
        let d = tx.deployment(id, did)?;
        let snap = if embeds(req, "apisummary") {
            tx.deployment_snapshot(id, did)?
        } else {
            None
        };
        Ok((d, snap))
    })?;
    let d = d.ok_or_else(|| ApiError::not_found("Invalid Deployment identifier specified"))?;
    Ok(Reply::ok(wire::deployment(&d, snapshot.as_ref())))
}

// ---------------------------------------------------------------------------------------------
// Stages

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CanaryBody {
    percent_traffic: Option<f64>,
    deployment_id: Option<String>,
    stage_variable_overrides: Option<BTreeMap<String, String>>,
    use_stage_cache: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateStageBody {
    stage_name: Option<String>,
    deployment_id: Option<String>,
    description: Option<String>,
    variables: Option<BTreeMap<String, String>>,
    canary_settings: Option<CanaryBody>,
    tracing_enabled: Option<bool>,
}

fn create_stage(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let b: CreateStageBody = req.json()?;
    let name = b
        .stage_name
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("Invalid stage identifier specified"))?;
    let deployment_id = b
        .deployment_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("Invalid deployment identifier specified"))?;
    let canary = b.canary_settings.map(|c| CanarySettings {
        percent_traffic: c.percent_traffic.unwrap_or(0.0),
        deployment_id: c.deployment_id.unwrap_or_else(|| deployment_id.clone()),
        stage_variable_overrides: c.stage_variable_overrides.unwrap_or_default(),
        use_stage_cache: c.use_stage_cache.unwrap_or(false),
    });
    let stage = Stage {
        stage_name: name,
        deployment_id,
        description: b.description.filter(|d| !d.is_empty()),
        variables: b.variables.unwrap_or_default(),
        canary_settings: canary,
        tracing_enabled: b.tracing_enabled.unwrap_or(false),
        method_settings: Default::default(),
        access_log_settings: None,
        created_date: 0,
        last_updated_date: 0,
    };
    let (_, stage) = control::create_stage(store, Some(id), stage)?;
    Ok(Reply::created(wire::stage(&stage)))
}

fn get_stages(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let stages = store.read(|tx| tx.stages(id))?;
    let filter = req.q("deploymentId");
    let items: Vec<Value> = stages
        .iter()
        .filter(|s| filter.is_none_or(|d| s.deployment_id == d))
        .map(wire::stage)
        .collect();
    Ok(Reply::ok(json!({ "item": items })))
}

fn update_stage(store: &Store, req: &Req, id: &str, name: &str) -> Result<Reply> {
    find_api(store, id)?;
    let ops = req.json::<PatchBody>()?.patch_operations;
    let (_, stage, ()) = control::update_stage_in(store, Some(id), name, |tx, api, stage| {
        patch::apply(stage, &ops, |d| {
            tx.deployment(&api.id, d).ok().flatten().is_some()
        })
        .map_err(|e| ControlError::Store(StoreError::Invalid(e.0)))
    })?;
    Ok(Reply::ok(wire::stage(&stage)))
}

fn get_export(store: &Store, req: &Req, id: &str, name: &str, kind: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let format = export::Format::parse(kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid export type {kind}: must be one of oas30, swagger"
        ))
    })?;
    let snapshot = store.read(|tx| {
        let Some(stage) = tx.stage(id, name)? else {
            return Ok(None);
        };
        tx.deployment_snapshot(id, &stage.deployment_id)
    })?;
    let deployed = snapshot.ok_or_else(|| ApiError::not_found(STAGE_NOT_FOUND))?;
    let host = req
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(crate::urls::DEFAULT_ENDPOINT);
    let host = format!(
        "{}.execute-api.{}",
        api.id,
        host.replace("127.0.0.1", "localhost")
    );
    let ext = export::Extensions::parse(req.q("extensions"));
    let doc = export::export(&deployed, name, &host, format, ext);
    let yaml = req
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("yaml"));
    let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let (body, content_type, ext_name) = if yaml {
        let text = serde_yaml::to_string(&doc)
            .map_err(|e| ApiError::internal(format!("cannot write YAML: {e}")))?;
        (text.into_bytes(), "application/yaml", "yaml")
    } else {
        let text = serde_json::to_vec_pretty(&doc)
            .map_err(|e| ApiError::internal(format!("cannot write JSON: {e}")))?;
        (text, "application/json", "json")
    };
    Ok(Reply {
        status: StatusCode::OK,
        body,
        content_type,
        extra: vec![(
            "content-disposition",
            format!("attachment; filename=\"{kind}_{stamp}.{ext_name}\""),
        )],
    })
}
