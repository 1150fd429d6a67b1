//! The root-level `x-amazon-apigateway-*` extensions: everything about the API as a whole
//! (API key source, binary media types, compression size, endpoint configuration, resource
//! policy, gateway responses, request validators and the default one, CORS), read in document
//! order into the [`RestApi`]. Kept apart from the per-operation builders because these
//! extensions are read once, before any path, and the default request validator they name is
//! what every method starts from.

use super::{values, Ctx, EXT};
use crate::aws::ids;
use crate::control::import::doc::{kind_of, Doc, Version};
use crate::control::import::{escape_pointer, ImportError};
use crate::model::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// Root-level `x-amazon-apigateway-*` extensions. Returns the default request validator name.
pub(super) fn top_level(
    cx: &mut Ctx,
    doc: &Doc,
    api: &mut RestApi,
) -> Result<Option<String>, ImportError> {
    let Some(root) = doc.root.as_object() else {
        return Ok(None);
    };
    let mut default_validator = None;
    for (key, value) in root {
        let Some(name) = key.strip_prefix(EXT) else {
            continue;
        };
        let ptr = format!("/{}", escape_pointer(key));
        match name {
            "api-key-source" => {
                let v = value.as_str().map(str::to_ascii_uppercase);
                match v.as_deref() {
                    Some("HEADER") | Some("AUTHORIZER") => api.api_key_source = v,
                    _ => {
                        return Err(cx.error(
                            &ptr,
                            format!("invalid API key source {value}"),
                            "use HEADER or AUTHORIZER",
                        ))
                    }
                }
            }
            "binary-media-types" => {
                api.binary_media_types = values::string_list(cx, &ptr, value)?;
            }
            "minimum-compression-size" => {
                match value.as_i64() {
                    Some(n) if (0..=10_485_760).contains(&n) => {
                        api.minimum_compression_size = Some(n)
                    }
                    _ => {
                        return Err(cx.error(
                            &ptr,
                            "Invalid minimum compression size, must be between 0 and 10485760",
                            "set an integer between 0 and 10485760",
                        ))
                    }
                }
                cx.note(
                    &ptr,
                    "kept as minimumCompressionSize; gw does not compress responses",
                );
            }
            "endpoint-configuration" => endpoint_configuration(cx, &ptr, value, api),
            "policy" => {
                api.policy = Some(policy_text(value));
                cx.note(
                    &ptr,
                    "kept as the resource policy; gw does not enforce resource policies",
                );
            }
            "gateway-responses" => api.gateway_responses = gateway_responses(cx, &ptr, value)?,
            "request-validators" => {
                let validators = request_validators(cx, &ptr, value)?;
                api.request_validators.extend(validators);
            }
            "request-validator" => default_validator = value.as_str().map(str::to_string),
            "cors" => {
                api.cors_configuration = Some(value.clone());
            }
            "importexport-version" => {}
            "documentation" => match crate::aws::documentation::read_extension(value) {
                Ok((_, parts)) => {
                    crate::aws::documentation::merge(
                        &mut api.documentation.parts,
                        parts,
                        false,
                        ids::short,
                    );
                }
                Err(e) => cx.warn(&ptr, format!("documentation ignored: {e}")),
            },
            "tag-value" => cx.warn(&ptr, "ignored: gw does not use tags"),
            _ => cx.warn(&ptr, format!("unknown extension {key} ignored")),
        }
    }
    // OpenAPI 3: the endpoint configuration lives on a Server object.
    if doc.version != Version::Swagger2 {
        if let Some(servers) = root.get("servers").and_then(Value::as_array) {
            for (i, s) in servers.iter().enumerate() {
                if let Some(ec) = s.get("x-amazon-apigateway-endpoint-configuration") {
                    let ptr = format!("/servers/{i}/x-amazon-apigateway-endpoint-configuration");
                    endpoint_configuration(cx, &ptr, ec, api);
                }
            }
        }
    }
    if let Some(name) = &default_validator {
        if !api.request_validators.iter().any(|v| &v.name == name) {
            cx.warn(
                "/x-amazon-apigateway-request-validator",
                format!("names the request validator {name:?}, which x-amazon-apigateway-request-validators does not define"),
            );
        }
    }
    Ok(default_validator)
}

fn endpoint_configuration(cx: &mut Ctx, ptr: &str, value: &Value, api: &mut RestApi) {
    if let Some(b) = value
        .get("disableExecuteApiEndpoint")
        .and_then(Value::as_bool)
    {
        api.disable_execute_api_endpoint = b;
    }
    if let Some(ids) = value.get("vpcEndpointIds").and_then(Value::as_array) {
        api.endpoint_configuration.vpc_endpoint_ids = ids
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    cx.note(
        ptr,
        "endpoint configuration kept; gw serves every API on its own listener",
    );
}

/// The policy as AWS stores it: a JSON string, with `execute-api:/*` resources left for the
/// caller to qualify once the API id is known.
fn policy_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `x-amazon-apigateway-request-validators`: name → which parts of a request it checks.
fn request_validators(
    cx: &Ctx,
    ptr: &str,
    value: &Value,
) -> Result<Vec<RequestValidator>, ImportError> {
    let Some(map) = value.as_object() else {
        return Err(cx.error(
            ptr,
            format!("request validators are {}, not a mapping", kind_of(value)),
            "write `name: {validateRequestBody: true, validateRequestParameters: true}`",
        ));
    };
    let mut out = Vec::new();
    for (vname, v) in map {
        out.push(RequestValidator {
            id: ids::short(),
            name: vname.clone(),
            validate_request_body: v
                .get("validateRequestBody")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            validate_request_parameters: v
                .get("validateRequestParameters")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    }
    Ok(out)
}

/// `x-amazon-apigateway-gateway-responses`: response type → status, header mappings and
/// templates; a type API Gateway does not know is kept, with a warning.
fn gateway_responses(
    cx: &mut Ctx,
    ptr: &str,
    value: &Value,
) -> Result<BTreeMap<String, GatewayResponse>, ImportError> {
    let Some(map) = value.as_object() else {
        return Err(cx.error(
            ptr,
            format!("gateway responses are {}, not a mapping", kind_of(value)),
            "write `RESPONSE_TYPE: {statusCode: ..., responseParameters: ..., responseTemplates: ...}`",
        ));
    };
    let mut out = BTreeMap::new();
    for (kind, v) in map {
        let p = format!("{ptr}/{}", escape_pointer(kind));
        let kind = kind.to_ascii_uppercase();
        if !crate::aws::gateway_response::is_known_type(&kind) {
            cx.warn(
                &p,
                format!("unknown gateway response type {kind}; kept but never used"),
            );
        }
        out.insert(
            kind,
            GatewayResponse {
                status_code: values::status_text(v.get("statusCode")),
                response_parameters: values::string_map(
                    cx,
                    &format!("{p}/responseParameters"),
                    v.get("responseParameters"),
                ),
                response_templates: values::string_map(
                    cx,
                    &format!("{p}/responseTemplates"),
                    v.get("responseTemplates"),
                ),
            },
        );
    }
    Ok(out)
}
