//! Gateway responses through the management API: GetGatewayResponses (every type, default or
//! the API's own), GetGatewayResponse, PutGatewayResponse, UpdateGatewayResponse (the patch engine
//! of `updates.rs`) and DeleteGatewayResponse. The data plane renders them
//! (`aws::gateway_response`).

use super::resources::edit_api;
use super::updates::{ops, patched, Fields, Kind};
use super::{ApiError, Reply, Req, Result};
use crate::store::Store;
use serde_json::{Map, Value};

const GATEWAY_RESPONSE: Fields = &[
    ("statusCode", Kind::Str),
    ("responseParameters", Kind::StrMap),
    ("responseTemplates", Kind::StrMap),
];

fn check_response_type(kind: &str) -> Result<()> {
    if crate::aws::gateway_response::LISTED.contains(&kind) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid response type specified: {kind}; use one of {}",
            crate::aws::gateway_response::LISTED.join(", ")
        )))
    }
}

/// A gateway response as AWS shows it: the API's own (`defaultResponse: false`) or the default.
fn gateway_response_wire(kind: &str, custom: Option<&crate::model::GatewayResponse>) -> Value {
    let mut m = Map::new();
    m.insert("responseType".into(), Value::from(kind));
    match custom {
        Some(c) => {
            if let Some(s) = &c.status_code {
                m.insert("statusCode".into(), Value::from(s.as_str()));
            }
            m.insert(
                "responseParameters".into(),
                serde_json::json!(c.response_parameters),
            );
            m.insert(
                "responseTemplates".into(),
                serde_json::json!(c.response_templates),
            );
            m.insert("defaultResponse".into(), Value::Bool(false));
        }
        None => {
            if let Some(s) = crate::aws::gateway_response::default_status(kind) {
                m.insert("statusCode".into(), Value::from(s.to_string()));
            }
            m.insert("responseParameters".into(), Value::Object(Map::new()));
            m.insert(
                "responseTemplates".into(),
                serde_json::json!({"application/json": "{\"message\":$context.error.messageString}"}),
            );
            m.insert("defaultResponse".into(), Value::Bool(true));
        }
    }
    Value::Object(m)
}

/// GET /restapis/{id}/gatewayresponses: GetGatewayResponses (every type, default or not).
pub(super) fn get_gateway_responses(store: &Store, id: &str) -> Result<Reply> {
    let api = super::find_api(store, id)?;
    let items: Vec<Value> = crate::aws::gateway_response::LISTED
        .iter()
        .map(|k| gateway_response_wire(k, api.gateway_responses.get(*k)))
        .collect();
    Ok(Reply::ok(serde_json::json!({ "item": items })))
}

/// GET /restapis/{id}/gatewayresponses/{type}: GetGatewayResponse.
pub(super) fn get_gateway_response(store: &Store, id: &str, kind: &str) -> Result<Reply> {
    let api = super::find_api(store, id)?;
    check_response_type(kind)?;
    Ok(Reply::ok(gateway_response_wire(
        kind,
        api.gateway_responses.get(kind),
    )))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PutGatewayResponseBody {
    status_code: Option<String>,
    #[serde(default)]
    response_parameters: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    response_templates: std::collections::BTreeMap<String, String>,
}

fn check_status_text(s: &Option<String>) -> Result<()> {
    match s {
        Some(code)
            if !(code.len() == 3 && code.parse::<u16>().is_ok_and(|c| (100..600).contains(&c))) =>
        {
            Err(ApiError::bad_request(format!(
                "Invalid status code specified: {code}"
            )))
        }
        _ => Ok(()),
    }
}

/// PUT /restapis/{id}/gatewayresponses/{type}: PutGatewayResponse.
pub(super) fn put_gateway_response(
    store: &Store,
    req: &Req,
    id: &str,
    kind: &str,
) -> Result<Reply> {
    check_response_type(kind)?;
    let b: PutGatewayResponseBody = req.json()?;
    check_status_text(&b.status_code)?;
    let v = edit_api(store, id, |api| {
        let r = crate::model::GatewayResponse {
            status_code: b.status_code,
            response_parameters: b.response_parameters,
            response_templates: b.response_templates,
        };
        let v = gateway_response_wire(kind, Some(&r));
        api.gateway_responses.insert(kind.to_string(), r);
        Ok(v)
    })?;
    Ok(Reply::created(v))
}

/// PATCH /restapis/{id}/gatewayresponses/{type}: UpdateGatewayResponse.
pub(super) fn update_gateway_response(
    store: &Store,
    req: &Req,
    id: &str,
    kind: &str,
) -> Result<Reply> {
    check_response_type(kind)?;
    let ops = ops(req)?;
    let v = edit_api(store, id, |api| {
        let current = api.gateway_responses.get(kind).cloned().unwrap_or_default();
        let new: crate::model::GatewayResponse = patched(&current, GATEWAY_RESPONSE, &ops)?;
        check_status_text(&new.status_code)?;
        let v = gateway_response_wire(kind, Some(&new));
        api.gateway_responses.insert(kind.to_string(), new);
        Ok(v)
    })?;
    Ok(Reply::ok(v))
}

/// DELETE /restapis/{id}/gatewayresponses/{type}: DeleteGatewayResponse (back to the default).
pub(super) fn delete_gateway_response(store: &Store, id: &str, kind: &str) -> Result<Reply> {
    check_response_type(kind)?;
    edit_api(store, id, |api| {
        if api.gateway_responses.remove(kind).is_none() {
            return Err(ApiError::not_found(
                "Invalid Gateway Response identifier specified",
            ));
        }
        Ok(Value::Null)
    })?;
    Ok(Reply::accepted())
}
