//! The AWS-compatible management API (REST API v1, `apigateway` service, rest-json): requests
//! signed for the `apigateway` service arrive on gw's listener (the front door hands them
//! here) and are answered in AWS's wire format, against the same store the CLI uses — so what
//! the AWS CLI, boto3 or Terraform creates, `gw stages` shows, and the reverse. The running
//! data plane follows every commit.
//!
//! Wire format (botocore `apigateway/2015-07-09`): list responses under `item` (+ `position`),
//! epoch-second timestamps, 201 for creates, 202 for deletes, errors as status +
//! `x-amzn-ErrorType` + `{"message"}` with AWS's messages.
//!
//! Layout: this file is the framework (the request a call carries, its reply, AWS's error shape
//! as one `IntoResponse`, the lookups every operation shares); [`routes`] is the route table, an
//! axum `Router`; the operations live by resource: [`apis`], [`resources`], [`stages`]
//! (deployments, stages, export), [`authorizers`], [`validators`] (validators and models),
//! [`keys`] (API keys and usage plans). [`wire`] writes AWS's JSON shapes; [`patch`] is the
//! patch engine of the Update calls (pure); [`export`] is GetExport's document.
//!
//! Architecture invariant: every state change goes through [`crate::control`] or one
//! [`crate::store::Store::write`] transaction; nothing here keeps state of its own. The
//! management API imports nothing from the data plane: a change is made live through the
//! [`Sync`] the server hands it.

mod apis;
mod authorizers;
mod documentation;
mod domains;
pub mod export;
mod gateway_responses;
mod keys;
mod links;
pub mod patch;
mod resources;
mod routes;
mod stages;
mod tags;
pub mod test_invoke;
mod updates;
mod validators;
pub mod wire;

use crate::aws::sigv4;
use crate::control::ControlError;
use crate::model::{Resource, RestApi};
use crate::net::body::{self, Body};
use crate::store::{Store, StoreError};
use axum::response::IntoResponse;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;

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
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
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

    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
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

/// AWS's NotFoundException messages, one per kind of thing an operation names. Every lookup
/// checks the outermost parent first (API, resource, method, integration, response), so the
/// message names the outermost thing missing.
pub(crate) mod missing {
    pub const RESOURCE: &str = "Invalid Resource identifier specified";
    pub const METHOD: &str = "Invalid Method identifier specified";
    pub const INTEGRATION: &str = "Invalid Integration identifier specified";
    pub const RESPONSE: &str = "Invalid Response status code specified";
    pub const STAGE: &str = super::STAGE_NOT_FOUND;
    pub const DEPLOYMENT: &str = "Invalid Deployment identifier specified";
    pub const AUTHORIZER: &str = "Invalid Authorizer identifier specified";
    pub const VALIDATOR: &str = "Invalid Request Validator identifier specified";
    pub const MODEL: &str = "Invalid model name specified";
    pub const DOCUMENTATION_PART: &str = "Invalid Documentation part identifier specified";
    pub const DOCUMENTATION_VERSION: &str = "Invalid Documentation version specified";
}

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

/// One management call, decoded: its query (decoded pairs), headers and body. Path parameters
/// come from the route (axum's `Path`), typed per operation.
pub(crate) struct Req<'a> {
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

/// The body of the Update calls: AWS's patch operations.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PatchBody {
    #[serde(default)]
    patch_operations: Vec<patch::PatchOp>,
}

/// A successful answer.
pub(crate) struct Reply {
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

impl IntoResponse for Reply {
    fn into_response(self) -> axum::response::Response {
        let mut r = axum::response::Response::new(axum::body::Body::from(self.body));
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        for (k, v) in self.extra {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        }
        r
    }
}

/// AWS's error shape: the status, `x-amzn-ErrorType` and `{"message": ...}`. The one place a
/// management error becomes an answer.
impl IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        let body = json!({ "message": self.message }).to_string();
        let mut r = axum::response::Response::new(axum::body::Body::from(body));
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        r
    }
}

// ---------------------------------------------------------------------------------------------
// The entry point

/// Makes a committed change live before the call that made it is answered (the server's
/// snapshot reload); the server provides it.
pub type Sync = Box<dyn Fn() -> std::result::Result<(), String> + Send + std::marker::Sync>;

/// Forgets the authorizer answers a stage's cache holds (FlushStageAuthorizersCache): API id,
/// stage name. The server provides it.
pub type FlushAuthorizers = std::sync::Arc<dyn Fn(&str, &str) + Send + std::marker::Sync>;

/// Reads a usage plan's usage (GetUsage): plan id → key id → UTC day (days from CE) → requests.
/// The server provides it from its limiter.
pub type UsageReader = Box<
    dyn Fn(&str) -> std::collections::BTreeMap<String, std::collections::BTreeMap<i64, u64>>
        + Send
        + std::marker::Sync,
>;

/// What the server lends the management API: its authorizer cache and its usage counters.
#[derive(Default)]
pub struct Hooks {
    pub flush_authorizers: Option<FlushAuthorizers>,
    pub usage: Option<UsageReader>,
}

/// What every operation reaches: the store, the way to make a change live, and the server's
/// hooks.
pub(crate) struct Ops {
    store: Store,
    sync: Sync,
    hooks: Hooks,
}

/// The management API of one server.
pub struct Management {
    /// `ACCESS_KEY`, `SECRET` when calls must carry a valid SigV4 signature.
    require_sigv4: Option<(String, String)>,
    /// The store, for the calls the front door finishes (TestInvokeMethod).
    store: Store,
    routes: axum::Router,
}

impl Management {
    pub fn new(store: Store, sync: Sync, require_sigv4: Option<(String, String)>) -> Management {
        Management::with_hooks(store, sync, Hooks::default(), require_sigv4)
    }

    /// [`Management::new`], with the server's authorizer cache and usage counters.
    pub fn with_hooks(
        store: Store,
        sync: Sync,
        hooks: Hooks,
        require_sigv4: Option<(String, String)>,
    ) -> Management {
        Management {
            require_sigv4,
            store: store.clone(),
            routes: routes::router(Arc::new(Ops { store, sync, hooks })),
        }
    }
}

/// Answer one management call (its body already read, within API Gateway's payload limit).
pub async fn handle(
    management: &Management,
    parts: http::request::Parts,
    body: bytes::Bytes,
) -> Response<Body> {
    use tower::ServiceExt as _;
    let response = match check_signature(management, &parts, &body) {
        Err(e) => e.into_response(),
        Ok(()) => {
            let mut parts = parts;
            parts.uri = routes::normalize(&parts.uri);
            let req = http::Request::from_parts(parts, axum::body::Body::from(body));
            match management.routes.clone().oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            }
        }
    };
    whole(response).await
}

/// A management answer, made whole (they are small; the data plane's body type wants `Sync`).
async fn whole(response: axum::response::Response) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            return ApiError::internal(format!("the management answer failed: {e}"))
                .into_response()
                .map(|_| body::empty())
        }
    };
    Response::from_parts(parts, body::full(bytes))
}

fn check_signature(
    management: &Management,
    parts: &http::request::Parts,
    body: &[u8],
) -> Result<()> {
    let Some((key, secret)) = &management.require_sigv4 else {
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

// ---------------------------------------------------------------------------------------------
// Lookups

/// An API by id (AWS's ids only; gw's CLI also accepts names, the wire does not).
pub(crate) fn find_api(store: &Store, id: &str) -> Result<RestApi> {
    store
        .read(|tx| tx.find_api(id))?
        .filter(|a| a.id == id)
        .ok_or_else(|| ApiError::api_not_found(id))
}

pub(crate) fn find_resource<'a>(api: &'a RestApi, rid: &str) -> Result<&'a Resource> {
    api.resources
        .iter()
        .find(|r| r.id == rid)
        .ok_or_else(|| ApiError::not_found(missing::RESOURCE))
}

pub(crate) fn find_method<'a>(r: &'a Resource, verb: &str) -> Result<&'a crate::model::Method> {
    r.resource_methods
        .get(verb)
        .or_else(|| r.resource_methods.get(&verb.to_ascii_uppercase()))
        .ok_or_else(|| ApiError::not_found(missing::METHOD))
}

pub(crate) fn embeds(req: &Req, what: &str) -> bool {
    req.q_all("embed").any(|e| e.trim() == what)
}

/// `limit` / `position` paging: position is the offset of the next item.
pub(crate) fn page<T>(items: Vec<T>, req: &Req) -> Result<(Vec<T>, Option<String>)> {
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

pub(crate) fn list(items: Vec<Value>, position: Option<String>) -> Value {
    let mut v = json!({ "item": items });
    if let Some(p) = position {
        v["position"] = json!(p);
    }
    v
}
