//! Request validators (`x-amazon-apigateway-request-validators`): with
//! `validateRequestParameters`, a method's required parameters (`method.request.header.X`,
//! `method.request.querystring.X`, `method.request.path.X` marked `true`) must be present and
//! not empty, or API Gateway answers 400 BAD_REQUEST_PARAMETERS
//! `{"message": "Missing required request parameters: [a, b]"}` without calling the integration.
//! Bodies are not validated against models (import warns when a validator asks for it).

use crate::gateway_response::{GatewayError, ResponseType};
use crate::integrations::RequestCx;
use crate::model::{Method, RestApi};

/// Checks `method`'s required parameters when its validator asks for it.
pub fn check_parameters(
    api: &RestApi,
    method: &Method,
    cx: &RequestCx,
) -> Result<(), GatewayError> {
    let Some(validator) = method
        .request_validator_id
        .as_deref()
        .and_then(|id| api.request_validators.iter().find(|v| v.id == id))
    else {
        return Ok(());
    };
    if !validator.validate_request_parameters {
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
