//! The model: plain data in AWS API Gateway's own terms (RestApi, Resource, Method, Integration,
//! Deployment, Stage, CanarySettings). No I/O here. Field names serialize as AWS spells them, so
//! `--json` output, the store's snapshots and the management API share one shape.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A REST API as imported from an OpenAPI document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestApi {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Epoch seconds.
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_source: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binary_media_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_compression_size: Option<i64>,
    pub endpoint_configuration: EndpointConfiguration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default)]
    pub disable_execute_api_endpoint: bool,
    /// `x-amazon-apigateway-cors` (HTTP APIs), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors_configuration: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Tags given at creation or with TagResource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorizers: Vec<Authorizer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_validators: Vec<RequestValidator>,
    /// responseType → response, from `x-amazon-apigateway-gateway-responses`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gateway_responses: BTreeMap<String, GatewayResponse>,
    /// Model name → JSON schema: the request models of methods whose validator checks bodies,
    /// and the schemas they refer to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, serde_json::Value>,
    /// Documentation parts and versions (`x-amazon-apigateway-documentation`, the
    /// DocumentationPart/Version calls). Not part of a deployment's snapshot.
    #[serde(default, skip_serializing_if = "Documentation::is_empty")]
    pub documentation: Documentation,
}

/// An API's documentation: its parts now, and the versions (named snapshots of the parts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Documentation {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<DocumentationPart>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<DocumentationVersion>,
}

impl Documentation {
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty() && self.versions.is_empty()
    }
}

/// One documentation part: where it applies and its properties (a JSON object, kept as text
/// as AWS keeps it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentationPart {
    pub id: String,
    pub location: DocumentationLocation,
    pub properties: String,
}

/// A documentation part's location, with AWS's defaults filled in (`path` `/`, `method` and
/// `statusCode` `*` where the type has them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentationLocation {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A documentation version: the parts as they were when it was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentationVersion {
    pub version: String,
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub parts: Vec<DocumentationPart>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointConfiguration {
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpc_endpoint_ids: Vec<String>,
}

/// One node of the resource tree: `/`, `/pets`, `/pets/{id}`, `/{proxy+}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_part: Option<String>,
    pub path: String,
    /// HTTP method (or `ANY`) → method.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_methods: BTreeMap<String, Method>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Method {
    pub http_method: String,
    /// `NONE`, `CUSTOM`, `COGNITO_USER_POOLS` or `AWS_IAM`.
    pub authorization_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    /// A Cognito authorizer's required scopes (any one of them, in an access token).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_scopes: Vec<String>,
    #[serde(default)]
    pub api_key_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_validator_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
    /// `method.request.{path|querystring|header}.NAME` → required.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_parameters: BTreeMap<String, bool>,
    /// Content type → model name (in `RestApi::models`): the body schema a validator checks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_models: BTreeMap<String, String>,
    /// status code → response headers declared (`method.response.header.X` → false).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub method_responses: BTreeMap<String, MethodResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_integration: Option<Integration>,
    /// `x-gw-aggregate` (beyond AWS): several calls composed into the one answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<Aggregate>,
}

/// `x-gw-aggregate`: named calls run in parallel, or in stages (`after`), and a response
/// template over `$calls.NAME.status`, `.headers` and `.body` composing the one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Aggregate {
    pub calls: Vec<AggregateCall>,
    /// VTL; absent: `$calls` as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_template: Option<String>,
    /// On a failed call: the template gets what completed (and `x-gw-completed: false`)
    /// instead of a 502.
    #[serde(default)]
    pub partial: bool,
    /// Each call's default time limit.
    #[serde(default = "default_call_timeout")]
    pub timeout_in_millis: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

fn default_call_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}

/// One call of an aggregate: an HTTP URI (through a VPC link with `connectionType`), or a
/// Lambda-style function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AggregateCall {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// A function's name (its event is the request template's output, or the request body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_parameters: BTreeMap<String, String>,
    /// VTL for the call's body, with `$calls` of the calls it comes after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_template: Option<String>,
    /// Calls that must have answered first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_millis: Option<u64>,
}

impl Aggregate {
    /// What is wrong with it, if anything: names unique, each call an URI or a function, `after`
    /// naming earlier calls (so there is no cycle), timeouts within API Gateway's 29 s.
    pub fn problem(&self) -> Option<String> {
        if self.calls.is_empty() {
            return Some("x-gw-aggregate needs at least one call".into());
        }
        let mut seen: Vec<&str> = Vec::new();
        for c in &self.calls {
            if c.name.is_empty()
                || !c
                    .name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            {
                return Some(format!("call name {:?}: use letters, digits and _", c.name));
            }
            if seen.contains(&c.name.as_str()) {
                return Some(format!("two calls are named {}", c.name));
            }
            match (&c.uri, &c.function) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => return Some(format!("call {}: give either uri or function", c.name)),
            }
            for a in &c.after {
                if !seen.contains(&a.as_str()) {
                    return Some(format!(
                        "call {}: after {a:?} names no earlier call (list calls after those they wait for)",
                        c.name
                    ));
                }
            }
            let t = c.timeout_in_millis.unwrap_or(self.timeout_in_millis);
            if !(50..=DEFAULT_TIMEOUT_MS).contains(&t) {
                return Some(format!(
                    "call {}: timeoutInMillis must be 50 to 29000",
                    c.name
                ));
            }
            seen.push(&c.name);
        }
        None
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodResponse {
    pub status_code: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_parameters: BTreeMap<String, bool>,
    /// Content type → model name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_models: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntegrationType {
    Aws,
    AwsProxy,
    Http,
    HttpProxy,
    Mock,
}

impl IntegrationType {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationType::Aws => "AWS",
            IntegrationType::AwsProxy => "AWS_PROXY",
            IntegrationType::Http => "HTTP",
            IntegrationType::HttpProxy => "HTTP_PROXY",
            IntegrationType::Mock => "MOCK",
        }
    }

    /// Case-insensitive, as AWS's importer is.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "AWS" => IntegrationType::Aws,
            "AWS_PROXY" => IntegrationType::AwsProxy,
            "HTTP" => IntegrationType::Http,
            "HTTP_PROXY" => IntegrationType::HttpProxy,
            "MOCK" => IntegrationType::Mock,
            _ => return None,
        })
    }
}

/// Every field of `x-amazon-apigateway-integration`, with AWS's defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    #[serde(rename = "type")]
    pub kind: IntegrationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_templates: BTreeMap<String, String>,
    pub passthrough_behavior: String,
    pub timeout_in_millis: u64,
    pub connection_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_handling: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_format_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_key_parameters: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_subtype: Option<String>,
    /// Selection pattern (`default` or a regex) → integration response.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub integration_responses: BTreeMap<String, IntegrationResponse>,
}

pub const DEFAULT_TIMEOUT_MS: u64 = 29_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationResponse {
    pub status_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_templates: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_handling: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorizer {
    pub id: String,
    pub name: String,
    /// `TOKEN`, `REQUEST`, `COGNITO_USER_POOLS`, `JWT`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_credentials: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_validation_expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_result_ttl_in_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provider_arns: Vec<String>,
    /// The rest of the extension (jwtConfiguration, payload format, simple responses), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestValidator {
    pub id: String,
    pub name: String,
    pub validate_request_body: bool,
    pub validate_request_parameters: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_parameters: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_templates: BTreeMap<String, String>,
}

/// An immutable snapshot of an API, as deployed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: i64,
}

/// A stage: a name pointing at a deployment, with variables and an optional canary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub stage_name: String,
    pub deployment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_settings: Option<CanarySettings>,
    #[serde(default)]
    pub tracing_enabled: bool,
    /// `methodSettings`, keyed `{resourcePath}/{httpMethod}` (path without its leading `/`) or
    /// `*/*` for every method. gw applies the throttling fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub method_settings: BTreeMap<String, MethodSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log_settings: Option<AccessLogSettings>,
    /// The documentation version the stage's export carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_version: Option<String>,
    /// Tags given at creation or with TagResource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    pub created_date: i64,
    pub last_updated_date: i64,
}

/// One entry of a stage's `methodSettings`. gw applies the throttling fields (a negative rate
/// means none; a negative burst, a burst as large as the rate); the metrics,
/// logging and cache-control fields are kept and shown (they act on CloudWatch and the stage
/// cache, which gw does not have); caching cannot be enabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MethodSetting {
    pub throttling_burst_limit: i64,
    pub throttling_rate_limit: f64,
    pub metrics_enabled: bool,
    pub logging_level: String,
    pub data_trace_enabled: bool,
    pub caching_enabled: bool,
    pub cache_ttl_in_seconds: i64,
    pub cache_data_encrypted: bool,
    pub require_authorization_for_cache_control: bool,
    pub unauthorized_cache_control_header_strategy: String,
}

impl Default for MethodSetting {
    /// A new entry: throttling `-1` (not set: no stage limit; what Terraform sends for "off"),
    /// AWS's defaults for the rest.
    fn default() -> MethodSetting {
        MethodSetting {
            throttling_burst_limit: -1,
            throttling_rate_limit: -1.0,
            metrics_enabled: false,
            logging_level: "OFF".into(),
            data_trace_enabled: false,
            caching_enabled: false,
            cache_ttl_in_seconds: 300,
            cache_data_encrypted: false,
            require_authorization_for_cache_control: true,
            unauthorized_cache_control_header_strategy: "SUCCEED_WITH_RESPONSE_HEADER".into(),
        }
    }
}

/// AWS refuses an access-log format without a request id in it.
pub fn check_access_log_format(format: &str) -> Result<(), &'static str> {
    if format.contains("$context.requestId") || format.contains("$context.extendedRequestId") {
        Ok(())
    } else {
        Err("Access Log format must contain at least one of $context.requestId or $context.extendedRequestId")
    }
}

/// A stage's `accessLogSettings`: one line per request in `format` (`$context` variables).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanarySettings {
    pub percent_traffic: f64,
    pub deployment_id: String,
    #[serde(default)]
    pub stage_variable_overrides: BTreeMap<String, String>,
    #[serde(default)]
    pub use_stage_cache: bool,
    /// gw's sticky split (beyond AWS): `ip`, `header:NAME`, `cookie` or `cookie:NAME`; absent,
    /// each request is drawn independently, as on AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<String>,
}

impl RestApi {
    /// Every (method, resource) pair, in path order: what `gw routes` lists.
    pub fn routes(&self) -> impl Iterator<Item = (&Resource, &Method)> {
        self.resources
            .iter()
            .flat_map(|r| r.resource_methods.values().map(move |m| (r, m)))
    }

    pub fn method_count(&self) -> usize {
        self.resources
            .iter()
            .map(|r| r.resource_methods.len())
            .sum()
    }
}

/// Stage names: alphanumerics, `-` and `_`, at most 128 characters (AWS's rule).
pub fn valid_stage_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Stage variable names: alphanumerics and `_`, at most 64 characters.
pub fn valid_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Stage variable values: `[A-Za-z0-9-._~:/?#&=,]+`, at most 512 characters.
pub fn valid_variable_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 512
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~:/?#&=,".contains(c))
}

/// An API key (`x-api-key`), as API Gateway keeps it: account-wide, usable on the stages of the
/// usage plans it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub value: String,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: i64,
    /// Tags given at creation or with TagResource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A usage plan: which API stages its keys open, with what `throttle` (per key) and `quota`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlan {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub api_stages: Vec<UsagePlanStage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<serde_json::Value>,
    /// The ids of its API keys.
    #[serde(default)]
    pub key_ids: Vec<String>,
    /// Tags given at creation or with TagResource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlanStage {
    pub api_id: String,
    pub stage: String,
    /// Per-method throttles on this stage, keyed `/{resourcePath}/{httpMethod}` (`/pets/GET`):
    /// `{"burstLimit", "rateLimit"}`, in place of the plan's `throttle` for that method.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub throttle: BTreeMap<String, serde_json::Value>,
}

/// What keeps a client on its side of a sticky canary (beyond AWS, whose split is drawn per
/// request): the side is a hash of the key compared with the percentage, so a client stays put,
/// and raising the percentage never moves a canary client back to production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sticky {
    /// The client's address.
    Ip,
    /// A request header's value (a client without it is drawn per request).
    Header(http::HeaderName),
    /// A cookie's value; [`Sticky::GW_COOKIE`] is set by gw for a client that has none.
    Cookie(String),
}

impl Sticky {
    /// The cookie `--sticky cookie` uses, set by gw on a client's first answer.
    pub const GW_COOKIE: &'static str = "gw-canary";

    /// `ip`, `header:NAME`, `cookie` or `cookie:NAME`.
    pub fn parse(text: &str) -> Result<Sticky, String> {
        let bad = || {
            format!(
                "--sticky {text:?} is not a sticky key: use ip, header:NAME, cookie or cookie:NAME"
            )
        };
        match text.split_once(':') {
            None if text == "ip" => Ok(Sticky::Ip),
            None if text == "cookie" => Ok(Sticky::Cookie(Sticky::GW_COOKIE.to_string())),
            Some(("header", name)) => http::HeaderName::from_bytes(name.trim().as_bytes())
                .map(Sticky::Header)
                .map_err(|_| bad()),
            Some(("cookie", name))
                if !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)) =>
            {
                Ok(Sticky::Cookie(name.to_string()))
            }
            _ => Err(bad()),
        }
    }
}

/// An automatic canary ramp (beyond AWS): the canary's percentage rises step by step while it
/// passes its gates; it is promoted after the last step and rolled back at the first failed gate.
/// One per stage, driven by exactly one `gw serve` (the one holding the lease).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ramp {
    /// The canary deployment this ramp drives; a ramp whose stage has another canary is over.
    pub canary_deployment_id: String,
    /// The percentages after the first one, in order (the last is usually 100).
    pub steps: Vec<f64>,
    /// How many of `steps` have been reached (0: still at the starting percentage).
    pub step: usize,
    /// How long each step lasts, in milliseconds.
    pub step_ms: u64,
    /// The gates each step must pass (`gateway::verdict::Gates` as JSON).
    pub gates: serde_json::Value,
    /// When the current step ends, in milliseconds since the epoch.
    pub deadline_ms: i64,
    pub paused: bool,
    /// The server driving the ramp, and until when (milliseconds since the epoch).
    pub lease_owner: Option<String>,
    pub lease_expires_ms: i64,
    /// Cumulative counts of each side when the current step started (the driver's JSON), so a
    /// step is judged by its own requests; null at the canary's start (everything counts).
    pub baseline: serde_json::Value,
}

impl Ramp {
    /// The next percentage, if any step is left.
    pub fn next_percent(&self) -> Option<f64> {
        self.steps.get(self.step).copied()
    }
}

/// One transition of a stage, as `gw stage history` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// ISO 8601, UTC.
    pub time: String,
    /// `deploy`, `canary`, `percent`, `promote`, `rollback`, `extend`, `pause`, `resume`.
    pub action: String,
    /// The canary's percentage after the transition (None without a canary).
    pub percent: Option<f64>,
    /// `user` or `ramp`.
    pub by: String,
    /// Why: for the ramp, the figures against the gates that decided it.
    pub reason: Option<String>,
    /// Production's deployment after the transition.
    pub deployment_id: String,
    /// The canary's deployment (the one acted on, for a promote or rollback).
    pub canary_deployment_id: Option<String>,
}

/// A local Cognito user pool (beyond AWS): its id (shaped like Cognito's, and the one the API's
/// `providerARNs` name), app clients and RSA signing key; `gw token` signs its tokens and gw
/// serves its JWKS, so Cognito authorizers can be tested without AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPool {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub clients: Vec<String>,
    /// `aws::jwt::SigningKey::to_json`.
    pub key: serde_json::Value,
    pub created_date: i64,
}

/// A custom domain name (CreateDomainName, `gw domain create`): requests whose Host (and, over
/// TLS, SNI) names it are routed by its base-path mappings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainName {
    /// Lower-case.
    pub domain_name: String,
    /// The certificate chain (PEM) served for it; `None`: the server's (`--tls-cert`, or the
    /// local CA's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_pem: Option<String>,
    /// What the certificate was called (`certificateName`), for AWS's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_name: Option<String>,
    /// Mutual TLS: the CA certificates (PEM) a client's certificate must chain to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truststore_pem: Option<String>,
    /// Where the truststore came from (`mutualTlsAuthentication.truststoreUri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truststore_uri: Option<String>,
    /// `EDGE` or `REGIONAL`.
    pub endpoint_type: String,
    pub security_policy: String,
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub mappings: Vec<BasePathMapping>,
}

/// One base-path mapping of a custom domain: `base_path` (empty for AWS's `(none)`, the whole
/// domain) to an API and, usually, a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BasePathMapping {
    pub base_path: String,
    pub rest_api_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

/// A VPC link (CreateVpcLink, `gw vpc-link create`): the instances of a service behind one
/// route, as a Network Load Balancer's target group holds them. AWS's fields (`targetArns`) are
/// kept beside gw's targets, balancing mode and health check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcLink {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_arns: Vec<String>,
    #[serde(default)]
    pub targets: Vec<LinkTarget>,
    /// `round-robin`, `least-requests`, `hash:header:NAME` or `hash:ip`.
    pub balance: String,
    pub health: HealthCheck,
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// One target of a link: `host:port` (an IP address, or a DNS name whose every address is a
/// target), static or registered at run time with a time to live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkTarget {
    pub address: String,
    /// Epoch milliseconds after which a registration that was not renewed is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
}

/// A link's health check, as a target group's: a GET of `path` (a TCP connect without one)
/// every `interval_ms`, healthy after `healthy` passes in a row, unhealthy after `unhealthy`
/// failures in a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub interval_ms: u64,
    pub healthy: u32,
    pub unhealthy: u32,
    pub timeout_ms: u64,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            path: None,
            interval_ms: 5_000,
            healthy: 3,
            unhealthy: 2,
            timeout_ms: 2_000,
        }
    }
}
