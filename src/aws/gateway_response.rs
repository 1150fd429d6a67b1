//! Gateway responses: the one place a data-plane error becomes AWS's HTTP answer — status,
//! `{"message": ...}` body, `x-amzn-ErrorType`, plus the API's own
//! `x-amazon-apigateway-gateway-responses` customisations (status, static and mapped headers,
//! simple `$context` / `$stageVariables` templates).

use crate::aws::context::Context;
use crate::model::{GatewayResponse, RestApi};
use crate::net::body::{self, Body};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use std::collections::BTreeMap;

/// AWS's gateway response types that gw raises or keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    MissingAuthenticationToken,
    /// An `AWS_IAM` method's request signature does not verify.
    InvalidSignature,
    AccessDenied,
    Unauthorized,
    InvalidApiKey,
    BadRequestParameters,
    BadRequestBody,
    UnsupportedMediaType,
    RequestTooLarge,
    Throttled,
    QuotaExceeded,
    IntegrationTimeout,
    IntegrationFailure,
    ApiConfigurationError,
    ResourceNotFound,
    /// Lambda/WebAssembly function failed or answered malformed (AWS: 502 Internal server error).
    BadGateway,
    /// A Lambda authorizer is missing, failed, or answered something that is not a policy
    /// (AWS: 500 `{"message": null}`).
    AuthorizerConfigurationError,
}

struct Default_ {
    name: &'static str,
    status: u16,
    message: &'static str,
    error_type: &'static str,
    /// AWS writes integration failures with a space after the colon.
    spaced: bool,
}

impl ResponseType {
    fn defaults(self) -> Default_ {
        use ResponseType::*;
        let d = |name, status, message, error_type, spaced| Default_ {
            name,
            status,
            message,
            error_type,
            spaced,
        };
        match self {
            MissingAuthenticationToken => d(
                "MISSING_AUTHENTICATION_TOKEN",
                403,
                "Missing Authentication Token",
                "MissingAuthenticationTokenException",
                false,
            ),
            InvalidSignature => d(
                "INVALID_SIGNATURE",
                403,
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
                "InvalidSignatureException",
                false,
            ),
            AccessDenied => d(
                "ACCESS_DENIED",
                403,
                "User is not authorized to access this resource with an explicit deny",
                "AccessDeniedException",
                false,
            ),
            Unauthorized => d(
                "UNAUTHORIZED",
                401,
                "Unauthorized",
                "UnauthorizedException",
                false,
            ),
            InvalidApiKey => d(
                "INVALID_API_KEY",
                403,
                "Forbidden",
                "ForbiddenException",
                false,
            ),
            BadRequestParameters => d(
                "BAD_REQUEST_PARAMETERS",
                400,
                "Missing required request parameters",
                "BadRequestException",
                false,
            ),
            BadRequestBody => d(
                "BAD_REQUEST_BODY",
                400,
                "Invalid request body",
                "BadRequestException",
                false,
            ),
            UnsupportedMediaType => d(
                "UNSUPPORTED_MEDIA_TYPE",
                415,
                "Unsupported Media Type",
                "UnsupportedMediaTypeException",
                false,
            ),
            RequestTooLarge => d(
                "REQUEST_TOO_LARGE",
                413,
                "Request Too Long",
                "RequestTooLongException",
                false,
            ),
            Throttled => d(
                "THROTTLED",
                429,
                "Too Many Requests",
                "TooManyRequestsException",
                false,
            ),
            QuotaExceeded => d(
                "QUOTA_EXCEEDED",
                429,
                "Limit Exceeded",
                "LimitExceededException",
                false,
            ),
            IntegrationTimeout => d(
                "INTEGRATION_TIMEOUT",
                504,
                "Endpoint request timed out",
                "InternalServerErrorException",
                true,
            ),
            IntegrationFailure => d(
                "INTEGRATION_FAILURE",
                502,
                "Internal server error",
                "InternalServerErrorException",
                true,
            ),
            ApiConfigurationError => d(
                "API_CONFIGURATION_ERROR",
                500,
                "Internal server error",
                "InternalServerErrorException",
                true,
            ),
            ResourceNotFound => d(
                "RESOURCE_NOT_FOUND",
                404,
                "Not Found",
                "NotFoundException",
                false,
            ),
            AuthorizerConfigurationError => d(
                "AUTHORIZER_CONFIGURATION_ERROR",
                500,
                "null",
                "AuthorizerConfigurationException",
                true,
            ),
            BadGateway => d(
                "DEFAULT_5XX",
                502,
                "Internal server error",
                "InternalServerErrorException",
                true,
            ),
        }
    }

    pub fn name(self) -> &'static str {
        self.defaults().name
    }

    pub fn status(self) -> u16 {
        self.defaults().status
    }
}

const KNOWN: [&str; 23] = [
    "ACCESS_DENIED",
    "API_CONFIGURATION_ERROR",
    "AUTHORIZER_CONFIGURATION_ERROR",
    "AUTHORIZER_FAILURE",
    "BAD_REQUEST_PARAMETERS",
    "BAD_REQUEST_BODY",
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "EXPIRED_TOKEN",
    "INTEGRATION_FAILURE",
    "INTEGRATION_TIMEOUT",
    "INVALID_API_KEY",
    "INVALID_SIGNATURE",
    "MISSING_AUTHENTICATION_TOKEN",
    "QUOTA_EXCEEDED",
    "REQUEST_TOO_LARGE",
    "RESOURCE_NOT_FOUND",
    "THROTTLED",
    "UNAUTHORIZED",
    "UNSUPPORTED_MEDIA_TYPE",
    "WAF_FILTERED",
    "ACCESS_DENIED_CUSTOM",
    "DEFAULT",
];

pub fn is_known_type(name: &str) -> bool {
    KNOWN.contains(&name)
}

/// The response types GetGatewayResponses lists (AWS's documented set, in its order).
pub const LISTED: [&str; 21] = [
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "RESOURCE_NOT_FOUND",
    "UNAUTHORIZED",
    "INVALID_API_KEY",
    "MISSING_AUTHENTICATION_TOKEN",
    "ACCESS_DENIED",
    "AUTHORIZER_FAILURE",
    "AUTHORIZER_CONFIGURATION_ERROR",
    "INVALID_SIGNATURE",
    "EXPIRED_TOKEN",
    "INTEGRATION_FAILURE",
    "INTEGRATION_TIMEOUT",
    "API_CONFIGURATION_ERROR",
    "UNSUPPORTED_MEDIA_TYPE",
    "BAD_REQUEST_PARAMETERS",
    "BAD_REQUEST_BODY",
    "REQUEST_TOO_LARGE",
    "THROTTLED",
    "QUOTA_EXCEEDED",
    "WAF_FILTERED",
];

/// The status a response type answers with when the API does not set one (`None` for the
/// DEFAULT_4XX / DEFAULT_5XX families).
pub fn default_status(name: &str) -> Option<u16> {
    Some(match name {
        "RESOURCE_NOT_FOUND" => 404,
        "UNAUTHORIZED" => 401,
        "INVALID_API_KEY"
        | "MISSING_AUTHENTICATION_TOKEN"
        | "ACCESS_DENIED"
        | "INVALID_SIGNATURE"
        | "EXPIRED_TOKEN"
        | "WAF_FILTERED" => 403,
        "AUTHORIZER_FAILURE" | "AUTHORIZER_CONFIGURATION_ERROR" | "API_CONFIGURATION_ERROR" => 500,
        "INTEGRATION_FAILURE" | "INTEGRATION_TIMEOUT" => 504,
        "UNSUPPORTED_MEDIA_TYPE" => 415,
        "BAD_REQUEST_PARAMETERS" | "BAD_REQUEST_BODY" => 400,
        "REQUEST_TOO_LARGE" => 413,
        "THROTTLED" | "QUOTA_EXCEEDED" => 429,
        _ => return None,
    })
}

/// Where a data-plane error came from, when that is more than its type says (for metrics and
/// logs; the client sees AWS's answer either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The backend could not be reached.
    UpstreamConnect,
    /// The function failed: exited, answered malformed, returned nothing.
    FunctionError,
    FunctionTimeout,
    /// The function trapped or ran out of memory.
    FunctionTrap,
}

/// A data-plane error: its type and the message `$context.error.message` renders.
#[derive(Debug, Clone)]
pub struct GatewayError {
    pub kind: ResponseType,
    pub message: String,
    /// `x-amzn-ErrorType` when it is not the type's usual one.
    pub error_type: Option<&'static str>,
    pub origin: Option<Origin>,
}

impl GatewayError {
    pub fn new(kind: ResponseType) -> Self {
        GatewayError::with_message(kind, kind.defaults().message)
    }

    pub fn with_message(kind: ResponseType, message: impl Into<String>) -> Self {
        GatewayError {
            kind,
            message: message.into(),
            error_type: None,
            origin: None,
        }
    }

    /// The error, tagged with where it came from.
    pub fn from_origin(self, origin: Origin) -> Self {
        GatewayError {
            origin: Some(origin),
            ..self
        }
    }

    /// `$context.error.messageString`: the message as a JSON string (`null` for an authorizer
    /// configuration error, whose message AWS leaves null).
    pub fn message_string(&self) -> String {
        if self.kind == ResponseType::AuthorizerConfigurationError {
            return "null".into();
        }
        serde_json::Value::String(self.message.clone()).to_string()
    }

    /// No route matched. A request carrying an `Authorization` header that is not a signature
    /// (`Bearer ...`, `Basic ...`) gets AWS's signature complaint instead of "Missing
    /// Authentication Token" (still the MISSING_AUTHENTICATION_TOKEN gateway response).
    pub fn no_route(headers: &HeaderMap) -> Self {
        let kind = ResponseType::MissingAuthenticationToken;
        let Some(auth) = headers.get(http::header::AUTHORIZATION) else {
            return GatewayError::new(kind);
        };
        if auth.as_bytes().contains(&b'=') {
            return GatewayError::new(kind);
        }
        use base64::Engine;
        use sha2::Digest;
        let hash =
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(auth.as_bytes()));
        GatewayError {
            error_type: Some("IncompleteSignatureException"),
            ..GatewayError::with_message(
                kind,
                format!(
                    "Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded with Base64): '{hash}'."
                ),
            )
        }
    }
}

/// What a gateway-response template can see: the request's [`Context`] as far as it got, its
/// stage's variables (once the stage is known) and its headers.
#[derive(Default)]
pub struct ErrorContext<'a> {
    pub context: Context<'a>,
    pub stage_variables: Option<&'a BTreeMap<String, String>>,
    pub request_headers: Option<&'a HeaderMap>,
}

impl ErrorContext<'_> {
    fn context_value(&self, key: &str, err: &GatewayError) -> Option<String> {
        match key {
            "error.message" => Some(err.message.clone()),
            "error.messageString" => Some(err.message_string()),
            "error.responseType" => Some(err.kind.name().to_string()),
            _ => self.context.get(key),
        }
    }

    fn stage_variable(&self, key: &str) -> String {
        self.stage_variables
            .and_then(|v| v.get(key))
            .cloned()
            .unwrap_or_default()
    }

    /// Substitute `$context.x`, `${context.x}`, `$stageVariables.x`, `${stageVariables.x}`.
    fn render(&self, template: &str, err: &GatewayError) -> String {
        crate::aws::template::render(template, |r| match r {
            crate::aws::template::Reference::Context(k) => self.context_value(k, err),
            crate::aws::template::Reference::StageVariable(k) => Some(self.stage_variable(k)),
        })
    }

    /// A `responseParameters` source: `'static'`, `method.request.header.X`, `stageVariables.X`, `context.X`.
    fn parameter(&self, source: &str, err: &GatewayError) -> Option<String> {
        if let Some(s) = source.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
            return Some(s.to_string());
        }
        if let Some(h) = source.strip_prefix("method.request.header.") {
            return self
                .request_headers?
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
        }
        if let Some(k) = source.strip_prefix("stageVariables.") {
            return Some(self.stage_variable(k));
        }
        if let Some(k) = source.strip_prefix("context.") {
            return self.context_value(k, err);
        }
        None
    }
}

/// The API's customisation for `kind`: its own entry, else DEFAULT_4XX / DEFAULT_5XX.
fn customisation(
    api: Option<&RestApi>,
    kind: ResponseType,
    status: u16,
) -> Option<&GatewayResponse> {
    let map = &api?.gateway_responses;
    map.get(kind.name()).or_else(|| {
        if status >= 500 {
            map.get("DEFAULT_5XX")
        } else {
            map.get("DEFAULT_4XX")
        }
    })
}

/// Render `err` as AWS would, applying `api`'s gateway responses when there is one.
pub fn render(err: &GatewayError, api: Option<&RestApi>, cx: &ErrorContext) -> Response<Body> {
    let d = err.kind.defaults();
    let custom = customisation(api, err.kind, d.status);
    let status = custom
        .and_then(|c| c.status_code.as_deref())
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or_else(|| {
            StatusCode::from_u16(d.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        });
    let template = custom.and_then(|c| {
        c.response_templates
            .get("application/json")
            .or_else(|| c.response_templates.values().next())
    });
    let body = match template {
        Some(t) => cx.render(t, err),
        None if d.spaced => format!("{{\"message\": {}}}", err.message_string()),
        // AWS's ACCESS_DENIED template spells the key with a capital M.
        None if err.kind == ResponseType::AccessDenied => {
            format!("{{\"Message\":{}}}", err.message_string())
        }
        None => format!("{{\"message\":{}}}", err.message_string()),
    };
    let mut resp = Response::new(body::full(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(err.error_type.unwrap_or(d.error_type)) {
        const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
        h.insert(ERROR_TYPE, v);
    }
    if let Some(c) = custom {
        for (target, source) in &c.response_parameters {
            let Some(name) = target.strip_prefix("gatewayresponse.header.") else {
                continue;
            };
            let (Ok(name), Some(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                cx.parameter(source, err),
            ) else {
                continue;
            };
            if let Ok(value) = HeaderValue::from_str(&value) {
                h.insert(name, value);
            }
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_substitution() {
        let err = GatewayError::new(ResponseType::MissingAuthenticationToken);
        let vars: BTreeMap<String, String> = [("v".to_string(), "x".to_string())].into();
        let cx = ErrorContext {
            context: Context {
                request_id: "rid",
                ..Default::default()
            },
            stage_variables: Some(&vars),
            ..Default::default()
        };
        assert_eq!(
            cx.render(
                "{\"message\": $context.error.messageString, \"type\": \"$context.error.responseType\", \"id\": \"${context.requestId}\", \"v\": \"$stageVariables.v\", \"cost\": \"$5\"}",
                &err
            ),
            "{\"message\": \"Missing Authentication Token\", \"type\": \"MISSING_AUTHENTICATION_TOKEN\", \"id\": \"rid\", \"v\": \"x\", \"cost\": \"$5\"}"
        );
    }
}
