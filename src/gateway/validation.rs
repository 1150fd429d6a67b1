//! Request validators (`x-amazon-apigateway-request-validators`), as API Gateway applies them
//! before the integration runs:
//! - `validateRequestParameters`: a method's required parameters (`method.request.header.X`,
//!   `method.request.querystring.X`, `method.request.path.X` marked `true`) must be present and not
//!   empty, else 400 BAD_REQUEST_PARAMETERS
//!   `{"message":"Missing required request parameters: [a, b]"}`.
//! - `validateRequestBody`: the body must be JSON valid against the method's request model for its
//!   content type (JSON Schema draft 4, as API Gateway models are), else 400 BAD_REQUEST_BODY
//!   `{"message":"Invalid request body"}`. Schemas are compiled once per deployment, when the
//!   snapshot is built, never on the request path.

use std::collections::HashMap;
use std::sync::Arc;

use crate::aws::gateway_response::{GatewayError, ResponseType};
use crate::gateway::integrations::RequestCx;
use crate::model::{Method, RequestValidator, RestApi};

/// The method's validator, if it has one.
pub fn validator<'a>(api: &'a RestApi, method: &Method) -> Option<&'a RequestValidator> {
    let id = method.request_validator_id.as_deref()?;
    api.request_validators.iter().find(|v| v.id == id)
}

/// Checks `method`'s required parameters when its validator asks for it.
pub fn check_parameters(
    api: &RestApi,
    method: &Method,
    cx: &RequestCx,
) -> Result<(), GatewayError> {
    if !validator(api, method).is_some_and(|v| v.validate_request_parameters) {
        return Ok(());
    }
    let missing: Vec<&str> = method
        .request_parameters
        .iter()
        .filter(|(_, required)| **required)
        .filter(|(source, _)| cx.mapping_source(source).is_none_or(|v| v.is_empty()))
        .map(|(source, _)| source.splitn(4, '.').nth(3).unwrap_or(source))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(GatewayError::with_message(
        ResponseType::BadRequestParameters,
        format!(
            "Missing required request parameters: [{}]",
            missing.join(", ")
        ),
    ))
}

/// One method's compiled request models: (content type, schema).
type MethodSchemas = Vec<(String, Arc<jsonschema::Validator>)>;

/// A deployment's compiled request-body schemas: resource id → method → content type → schema.
/// Only methods whose validator checks bodies have entries.
#[derive(Default)]
pub struct BodySchemas {
    by_method: HashMap<String, HashMap<String, MethodSchemas>>,
}

impl std::fmt::Debug for BodySchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodySchemas")
            .field("resources", &self.by_method.len())
            .finish()
    }
}

impl BodySchemas {
    /// Compiles the request models of every method whose validator checks bodies. A model that
    /// does not compile is logged and left unchecked.
    pub fn compile(api: &RestApi) -> BodySchemas {
        let mut out = BodySchemas::default();
        let models = serde_json::Value::Object(
            api.models
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        let mut compiled: HashMap<&str, Option<Arc<jsonschema::Validator>>> = HashMap::new();
        for r in &api.resources {
            for m in r.resource_methods.values() {
                if m.request_models.is_empty()
                    || !validator(api, m).is_some_and(|v| v.validate_request_body)
                {
                    continue;
                }
                let mut list = Vec::new();
                for (content_type, name) in &m.request_models {
                    let schema = compiled.entry(name.as_str()).or_insert_with(|| {
                        match crate::aws::models::compile(api.models.get(name)?, &models) {
                            Ok(v) => Some(Arc::new(v)),
                            Err(e) => {
                                tracing::warn!(
                                    "model {name} of {} {} does not compile ({e}); its bodies are not validated",
                                    m.http_method,
                                    r.path
                                );
                                None
                            }
                        }
                    });
                    if let Some(v) = schema {
                        list.push((content_type.clone(), v.clone()));
                    }
                }
                if !list.is_empty() {
                    out.by_method
                        .entry(r.id.clone())
                        .or_default()
                        .insert(m.http_method.clone(), list);
                }
            }
        }
        out
    }

    /// The schema a body of `content_type` is checked against on this method: the model for its
    /// media type, else the `$default` one. A request without `Content-Type` is taken as
    /// `application/json`, as API Gateway does.
    pub fn for_request(
        &self,
        resource_id: &str,
        method: &str,
        headers: &http::HeaderMap,
    ) -> Option<&jsonschema::Validator> {
        let list = self.by_method.get(resource_id)?.get(method)?;
        let media = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "application/json".into());
        list.iter()
            .find(|(t, _)| *t == media)
            .or_else(|| list.iter().find(|(t, _)| t == "$default"))
            .map(|(_, v)| v.as_ref())
    }
}

/// Whether `body` is JSON valid against `schema`.
pub fn body_is_valid(schema: &jsonschema::Validator, body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| schema.is_valid(&v))
}

/// The answer for a body that fails its model.
pub fn invalid_body() -> GatewayError {
    GatewayError::with_message(ResponseType::BadRequestBody, "Invalid request body")
}
