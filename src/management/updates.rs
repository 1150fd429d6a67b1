//! The Update* calls infrastructure-as-code tools make on an API's parts — UpdateMethod,
//! UpdateIntegration, UpdateMethodResponse, UpdateIntegrationResponse, UpdateResource,
//! UpdateDeployment (and, in `gateway_responses.rs`, UpdateGatewayResponse) — with AWS's
//! patch-operation semantics: `replace`, `add` and `remove` on a
//! field (`/uri`, `/timeoutInMillis`) or a map entry (`/requestTemplates/application~1json`,
//! `/requestParameters/integration.request.header.x-id`), `~1` for `/` and `~0` for `~` in keys,
//! values as strings converted to the field's type, and a path the resource does not have refused
//! with AWS's "Invalid patch path" message.
//!
//! One engine for all of them: the part is turned into its JSON, each operation edits the JSON
//! under the part's [`Field`] rules, and the JSON is read back into the part.

use super::missing;
use super::patch::PatchOp;
use super::resources::edit_api;
use super::{find_api, wire, ApiError, PatchBody, Reply, Req, Result};
use crate::model::{Integration, IntegrationResponse, Method, MethodResponse};
use crate::store::Store;
use serde_json::{Map, Value};

/// What a patch path may name on a part.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    Str,
    Bool,
    Int,
    StrMap,
    BoolMap,
    StrList,
}

pub(super) type Fields = &'static [(&'static str, Kind)];

const METHOD: Fields = &[
    ("authorizationType", Kind::Str),
    ("authorizerId", Kind::Str),
    ("apiKeyRequired", Kind::Bool),
    ("requestValidatorId", Kind::Str),
    ("operationName", Kind::Str),
    ("requestParameters", Kind::BoolMap),
    ("requestModels", Kind::StrMap),
    ("authorizationScopes", Kind::StrList),
];

const INTEGRATION: Fields = &[
    ("type", Kind::Str),
    ("uri", Kind::Str),
    ("httpMethod", Kind::Str),
    ("credentials", Kind::Str),
    ("passthroughBehavior", Kind::Str),
    ("timeoutInMillis", Kind::Int),
    ("connectionType", Kind::Str),
    ("connectionId", Kind::Str),
    ("contentHandling", Kind::Str),
    ("cacheNamespace", Kind::Str),
    ("cacheKeyParameters", Kind::StrList),
    ("requestParameters", Kind::StrMap),
    ("requestTemplates", Kind::StrMap),
    ("payloadFormatVersion", Kind::Str),
];

const METHOD_RESPONSE: Fields = &[
    ("responseParameters", Kind::BoolMap),
    ("responseModels", Kind::StrMap),
];

const INTEGRATION_RESPONSE: Fields = &[
    ("selectionPattern", Kind::Str),
    ("contentHandling", Kind::Str),
    ("responseParameters", Kind::StrMap),
    ("responseTemplates", Kind::StrMap),
];

pub(super) fn invalid_path(op: &PatchOp) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid patch path {}",
        if op.path.is_empty() { "''" } else { &op.path }
    ))
}

/// `/a/b~1c` → `["a", "b/c"]`.
fn tokens(path: &str) -> Vec<String> {
    path.strip_prefix('/')
        .unwrap_or(path)
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn typed(kind: Kind, op: &PatchOp, text: &str) -> Result<Value> {
    Ok(match kind {
        Kind::Bool | Kind::BoolMap => match text.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "Invalid value {text:?} for {}: expected true or false",
                    op.path
                )))
            }
        },
        Kind::Int => Value::from(text.trim().parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid value {text:?} for {}: expected a number",
                op.path
            ))
        })?),
        _ => Value::String(text.to_string()),
    })
}

/// Applies `ops` to `doc` under `fields`.
fn apply(doc: &mut Map<String, Value>, fields: Fields, ops: &[PatchOp]) -> Result<()> {
    for op in ops {
        let t = tokens(&op.path);
        let Some((kind, field)) = fields
            .iter()
            .find(|(name, _)| *name == t[0])
            .map(|(name, kind)| (*kind, *name))
        else {
            return Err(invalid_path(op));
        };
        let value = || {
            op.value
                .as_deref()
                .ok_or_else(|| ApiError::bad_request(format!("Missing value for {}", op.path)))
        };
        match (op.op.as_str(), t.len(), kind) {
            ("replace" | "add", 1, Kind::Str | Kind::Bool | Kind::Int) => {
                doc.insert(field.into(), typed(kind, op, value()?)?);
            }
            ("remove", 1, Kind::Str | Kind::Int) => {
                doc.remove(field);
            }
            ("remove", 1, Kind::Bool) => {
                doc.insert(field.into(), Value::Bool(false));
            }
            // A list: `add` appends a value (comma-separated values allowed), `remove` takes one
            // out (or, without one, all), `replace` sets the whole list.
            ("add", 1, Kind::StrList) | ("replace", 1, Kind::StrList) => {
                let mut list: Vec<Value> = if op.op == "add" {
                    doc.get(field)
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                for v in value()?.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                    if !list.iter().any(|x| x == v) {
                        list.push(Value::String(v.to_string()));
                    }
                }
                doc.insert(field.into(), Value::Array(list));
            }
            ("remove", 1, Kind::StrList) => match op.value.as_deref() {
                Some(v) => {
                    if let Some(Value::Array(list)) = doc.get_mut(field) {
                        list.retain(|x| x != v);
                    }
                }
                None => {
                    doc.remove(field);
                }
            },
            // Terraform's form for one list item: `/cacheKeyParameters/NAME`.
            ("add", 2, Kind::StrList) => {
                let list = doc.entry(field).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = list {
                    if !items.iter().any(|x| x == &t[1]) {
                        items.push(Value::String(t[1].clone()));
                    }
                }
            }
            ("remove", 2, Kind::StrList) => {
                if let Some(Value::Array(items)) = doc.get_mut(field) {
                    items.retain(|x| x != &t[1]);
                }
            }
            ("remove", 1, Kind::StrMap | Kind::BoolMap) => {
                doc.remove(field);
            }
            ("replace" | "add", 2, Kind::StrMap | Kind::BoolMap) => {
                let v = typed(kind, op, value()?)?;
                let map = doc
                    .entry(field)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = map {
                    m.insert(t[1].clone(), v);
                }
            }
            ("remove", 2, Kind::StrMap | Kind::BoolMap) => {
                let removed = doc
                    .get_mut(field)
                    .and_then(Value::as_object_mut)
                    .and_then(|m| m.remove(&t[1]));
                if removed.is_none() {
                    return Err(ApiError::bad_request(format!(
                        "Invalid mapping expression specified: {} is not set",
                        t[1]
                    )));
                }
            }
            (other, ..)
                if !["add", "remove", "replace", "move", "copy", "test"].contains(&other) =>
            {
                return Err(ApiError::bad_request(format!(
                    "Invalid patch operation specified. Must be one of: [add, remove, replace, move, copy]: {other}"
                )));
            }
            _ => return Err(invalid_path(op)),
        }
    }
    Ok(())
}

/// Patches a part of type `T` through its JSON.
pub(super) fn patched<T: serde::Serialize + serde::de::DeserializeOwned>(
    part: &T,
    fields: Fields,
    ops: &[PatchOp],
) -> Result<T> {
    let Value::Object(mut doc) = serde_json::to_value(part)
        .map_err(|e| ApiError::internal(format!("cannot read the resource: {e}")))?
    else {
        return Err(ApiError::internal("the resource is not an object"));
    };
    apply(&mut doc, fields, ops)?;
    serde_json::from_value(Value::Object(doc))
        .map_err(|e| ApiError::bad_request(format!("Invalid patch: {e}")))
}

pub(super) fn ops(req: &Req) -> Result<Vec<PatchOp>> {
    Ok(req.json::<PatchBody>()?.patch_operations)
}

/// PATCH /restapis/{id}/resources/{rid}/methods/{verb}: UpdateMethod.
pub(super) fn update_method(
    store: &Store,
    req: &Req,
    id: &str,
    (rid, verb): (&str, &str),
) -> Result<Reply> {
    let ops = ops(req)?;
    let v = edit_api(store, id, |api| {
        let authorizers: Vec<String> = api.authorizers.iter().map(|a| a.id.clone()).collect();
        let validators: Vec<String> = api
            .request_validators
            .iter()
            .map(|v| v.id.clone())
            .collect();
        let r = super::resources::resource_mut(api, rid)?;
        let m = super::resources::method_mut(r, verb)?;
        let mut new: Method = patched(m, METHOD, &ops)?;
        super::resources::check_authorization_type(&new.authorization_type)?;
        if let Some(a) = &new.authorizer_id {
            if !authorizers.contains(a) {
                return Err(ApiError::bad_request(format!(
                    "Invalid authorizer ID specified: {a}"
                )));
            }
        }
        if let Some(v) = &new.request_validator_id {
            if !validators.contains(v) {
                return Err(ApiError::bad_request(format!(
                    "Invalid Request Validator identifier specified: {v}"
                )));
            }
        }
        if matches!(new.authorization_type.as_str(), "NONE" | "AWS_IAM") {
            new.authorizer_id = None;
        }
        *m = new;
        let m = m.clone();
        Ok(wire::method(r, &m))
    })?;
    Ok(Reply::ok(v))
}

/// PATCH .../methods/{verb}/integration: UpdateIntegration.
pub(super) fn update_integration(
    store: &Store,
    req: &Req,
    id: &str,
    (rid, verb): (&str, &str),
) -> Result<Reply> {
    let ops = ops(req)?;
    let v = edit_api(store, id, |api| {
        let r = super::resources::resource_mut(api, rid)?;
        let i = super::resources::integration_mut(r, verb)?;
        let new: Integration = patched(i, INTEGRATION, &ops)?;
        if !(50..=29_000).contains(&new.timeout_in_millis) {
            return Err(ApiError::bad_request(
                "Timeout should be between 50 ms and 29000 ms",
            ));
        }
        *i = new;
        let i = i.clone();
        Ok(wire::integration(r, &i))
    })?;
    Ok(Reply::ok(v))
}

/// PATCH .../methods/{verb}/responses/{code}: UpdateMethodResponse.
pub(super) fn update_method_response(
    store: &Store,
    req: &Req,
    id: &str,
    (rid, verb, code): (&str, &str, &str),
) -> Result<Reply> {
    let ops = ops(req)?;
    let v = edit_api(store, id, |api| {
        let r = super::resources::resource_mut(api, rid)?;
        let m = super::resources::method_mut(r, verb)?;
        let resp = m
            .method_responses
            .get_mut(code)
            .ok_or_else(|| ApiError::not_found(missing::RESPONSE))?;
        let new: MethodResponse = patched(resp, METHOD_RESPONSE, &ops)?;
        *resp = new;
        Ok(wire::method_response(resp))
    })?;
    Ok(Reply::ok(v))
}

/// PATCH .../integration/responses/{code}: UpdateIntegrationResponse (a new `selectionPattern`
/// re-keys the response).
pub(super) fn update_integration_response(
    store: &Store,
    req: &Req,
    id: &str,
    (rid, verb, code): (&str, &str, &str),
) -> Result<Reply> {
    let ops = ops(req)?;
    let v = edit_api(store, id, |api| {
        let r = super::resources::resource_mut(api, rid)?;
        let i = super::resources::integration_mut(r, verb)?;
        let key = i
            .integration_responses
            .iter()
            .find(|(_, resp)| resp.status_code == code)
            .map(|(k, _)| k.clone())
            .ok_or_else(|| ApiError::not_found(missing::RESPONSE))?;
        let Some(old) = i.integration_responses.remove(&key) else {
            return Err(ApiError::not_found(
                "Invalid Response status code specified",
            ));
        };
        let new: IntegrationResponse = match patched(&old, INTEGRATION_RESPONSE, &ops) {
            Ok(n) => n,
            Err(e) => {
                i.integration_responses.insert(key, old);
                return Err(e);
            }
        };
        let new_key = new
            .selection_pattern
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "default".to_string());
        let v = wire::integration_response(&new_key, &new);
        i.integration_responses.insert(new_key, new);
        Ok(v)
    })?;
    Ok(Reply::ok(v))
}

/// PATCH /restapis/{id}/resources/{rid}: UpdateResource (`/pathPart`, `/parentId`).
pub(super) fn update_resource(store: &Store, req: &Req, id: &str, rid: &str) -> Result<Reply> {
    let ops = ops(req)?;
    let v = edit_api(store, id, |api| {
        let mut part = None;
        let mut parent = None;
        for op in &ops {
            match (op.op.as_str(), op.path.as_str()) {
                ("replace", "/pathPart") => part = op.value.clone(),
                ("replace", "/parentId") => parent = op.value.clone(),
                _ => return Err(invalid_path(op)),
            }
        }
        super::resources::move_resource(api, rid, part, parent)
    })?;
    Ok(Reply::ok(v))
}

/// PATCH /restapis/{id}/deployments/{did}: UpdateDeployment (`/description`).
pub(super) fn update_deployment(store: &Store, req: &Req, id: &str, did: &str) -> Result<Reply> {
    find_api(store, id)?;
    let ops = ops(req)?;
    let mut description: Option<Option<String>> = None;
    for op in &ops {
        match (op.op.as_str(), op.path.as_str()) {
            ("replace" | "add", "/description") => description = Some(op.value.clone()),
            ("remove", "/description") => description = Some(None),
            _ => return Err(invalid_path(op)),
        }
    }
    let d = crate::control::update_deployment_description(store, id, did, description)
        .map_err(ApiError::from)?;
    Ok(Reply::ok(wire::deployment(&d, None)))
}
