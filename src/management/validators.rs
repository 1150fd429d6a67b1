//! Request validators and models through the management API, as `aws apigateway
//! create-request-validator / create-model` and Terraform's `aws_api_gateway_request_validator`
//! and `aws_api_gateway_model` call them. A method uses them through PutMethod's
//! `requestValidatorId` and `requestModels` (content type → model name).

use super::resources::{edit_api, first_method_using};
use super::{find_api, list, page, ApiError, Reply, Req, Result};
use crate::model::RequestValidator;
use crate::store::Store;
use serde::Deserialize;
use serde_json::{json, Value};

const NO_VALIDATOR: &str = super::missing::VALIDATOR;
const NO_MODEL: &str = super::missing::MODEL;

fn validator(v: &RequestValidator) -> Value {
    json!({
        "id": v.id,
        "name": v.name,
        "validateRequestBody": v.validate_request_body,
        "validateRequestParameters": v.validate_request_parameters,
    })
}

/// A model as AWS answers it; gw keys models by name, so the name is also the id.
fn model(name: &str, schema: &Value) -> Value {
    json!({
        "id": name,
        "name": name,
        "contentType": "application/json",
        "schema": schema.to_string(),
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateValidatorBody {
    name: Option<String>,
    validate_request_body: Option<bool>,
    validate_request_parameters: Option<bool>,
}

pub(super) fn create_request_validator(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let b: CreateValidatorBody = req.json()?;
    let v = RequestValidator {
        id: crate::aws::ids::short(),
        name: b.name.unwrap_or_default(),
        validate_request_body: b.validate_request_body.unwrap_or(false),
        validate_request_parameters: b.validate_request_parameters.unwrap_or(false),
    };
    let answer = edit_api(store, id, |api| {
        if !v.name.is_empty() && api.request_validators.iter().any(|o| o.name == v.name) {
            return Err(ApiError::conflict(format!(
                "Request Validator with name {} already exists",
                v.name
            )));
        }
        let answer = validator(&v);
        api.request_validators.push(v);
        Ok(answer)
    })?;
    Ok(Reply::created(answer))
}

pub(super) fn get_request_validators(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let (items, next) = page(api.request_validators.iter().collect(), req)?;
    Ok(Reply::ok(list(
        items.into_iter().map(validator).collect(),
        next,
    )))
}

pub(super) fn get_request_validator(store: &Store, id: &str, vid: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let v = api
        .request_validators
        .iter()
        .find(|v| v.id == vid)
        .ok_or_else(|| ApiError::not_found(NO_VALIDATOR))?;
    Ok(Reply::ok(validator(v)))
}

/// UpdateRequestValidator: `replace` `/name`, `/validateRequestBody`, `/validateRequestParameters`
/// (values as strings, `"true"` / `"false"`, as on the wire).
pub(super) fn update_request_validator(
    store: &Store,
    req: &Req,
    id: &str,
    vid: &str,
) -> Result<Reply> {
    let ops = req.json::<super::PatchBody>()?.patch_operations;
    let answer = edit_api(store, id, |api| {
        let others_named = |name: &str| {
            api.request_validators
                .iter()
                .any(|o| o.id != vid && o.name == name)
        };
        let mut v = api
            .request_validators
            .iter()
            .find(|v| v.id == vid)
            .cloned()
            .ok_or_else(|| ApiError::not_found(NO_VALIDATOR))?;
        for op in &ops {
            let value = op.value.as_deref().filter(|_| op.op == "replace");
            match (op.path.as_str(), value) {
                ("/name", Some(name)) => {
                    if others_named(name) {
                        return Err(ApiError::conflict(format!(
                            "Request Validator with name {name} already exists"
                        )));
                    }
                    v.name = name.to_string();
                }
                ("/validateRequestBody", Some(b)) => {
                    v.validate_request_body = b.eq_ignore_ascii_case("true")
                }
                ("/validateRequestParameters", Some(b)) => {
                    v.validate_request_parameters = b.eq_ignore_ascii_case("true")
                }
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid patch operation specified: {} {}",
                        op.op, op.path
                    )))
                }
            }
        }
        let answer = validator(&v);
        if let Some(slot) = api.request_validators.iter_mut().find(|o| o.id == vid) {
            *slot = v;
        }
        Ok(answer)
    })?;
    Ok(Reply::ok(answer))
}

pub(super) fn delete_request_validator(store: &Store, id: &str, vid: &str) -> Result<Reply> {
    edit_api(store, id, |api| {
        let index = api
            .request_validators
            .iter()
            .position(|v| v.id == vid)
            .ok_or_else(|| ApiError::not_found(NO_VALIDATOR))?;
        if let Some(user) =
            first_method_using(api, |m| m.request_validator_id.as_deref() == Some(vid))
        {
            return Err(ApiError::conflict(format!(
                "Cannot delete request validator '{}', is referenced in method: {user}",
                api.request_validators[index].name
            )));
        }
        api.request_validators.remove(index);
        Ok(Value::Null)
    })?;
    Ok(Reply::accepted())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateModelBody {
    name: Option<String>,
    schema: Option<String>,
    content_type: Option<String>,
}

pub(super) fn create_model(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let b: CreateModelBody = req.json()?;
    let name = b
        .name
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()))
        .ok_or_else(|| ApiError::bad_request("Model name must be non-empty and alphanumeric"))?;
    if b.content_type.is_none() {
        return Err(ApiError::bad_request("Content type must be specified"));
    }
    let schema: Value = match b.schema.as_deref() {
        None | Some("") => json!({}),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("Invalid model schema specified: {e}")))?,
    };
    let answer = edit_api(store, id, |api| {
        if api.models.contains_key(&name) {
            return Err(ApiError::conflict(
                "Model name already exists for this REST API",
            ));
        }
        let mut models: serde_json::Map<String, Value> = api
            .models
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        models.insert(name.clone(), schema.clone());
        crate::aws::models::compile(&schema, &Value::Object(models))
            .map_err(|e| ApiError::bad_request(format!("Invalid model schema specified: {e}")))?;
        let answer = model(&name, &schema);
        api.models.insert(name.clone(), schema.clone());
        Ok(answer)
    })?;
    Ok(Reply::created(answer))
}

pub(super) fn get_models(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let (items, next) = page(api.models.iter().collect(), req)?;
    Ok(Reply::ok(list(
        items.into_iter().map(|(n, s)| model(n, s)).collect(),
        next,
    )))
}

pub(super) fn get_model(store: &Store, id: &str, name: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let schema = api
        .models
        .get(name)
        .ok_or_else(|| ApiError::not_found(format!("{NO_MODEL}: {name}")))?;
    Ok(Reply::ok(model(name, schema)))
}

/// UpdateModel: `replace` `/schema` (checked as CreateModel checks it, together with the models
/// that refer to it) and `/description` (accepted; gw does not keep model descriptions).
pub(super) fn update_model(store: &Store, req: &Req, id: &str, name: &str) -> Result<Reply> {
    let ops = req.json::<super::PatchBody>()?.patch_operations;
    let answer = edit_api(store, id, |api| {
        let mut schema = api
            .models
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("{NO_MODEL}: {name}")))?;
        for op in &ops {
            let value = op.value.as_deref().filter(|_| op.op == "replace");
            match (op.path.as_str(), value) {
                ("/schema", Some(text)) => {
                    schema = serde_json::from_str(text).map_err(|e| {
                        ApiError::bad_request(format!("Invalid model schema specified: {e}"))
                    })?;
                }
                ("/description", Some(_)) => {}
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid patch operation specified: {} {}",
                        op.op, op.path
                    )))
                }
            }
        }
        let mut models: serde_json::Map<String, Value> = api
            .models
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        models.insert(name.to_string(), schema.clone());
        let models = Value::Object(models);
        // The new schema, and every model (a method's, or one referring to it) still compiles.
        for (other, s) in models.as_object().into_iter().flatten() {
            crate::aws::models::compile(s, &models).map_err(|e| {
                ApiError::bad_request(format!("Invalid model schema specified for {other}: {e}"))
            })?;
        }
        let answer = model(name, &schema);
        api.models.insert(name.to_string(), schema);
        Ok(answer)
    })?;
    Ok(Reply::ok(answer))
}

pub(super) fn delete_model(store: &Store, id: &str, name: &str) -> Result<Reply> {
    edit_api(store, id, |api| {
        if !api.models.contains_key(name) {
            return Err(ApiError::not_found(format!("{NO_MODEL}: {name}")));
        }
        if let Some(user) =
            first_method_using(api, |m| m.request_models.values().any(|n| n == name))
        {
            return Err(ApiError::conflict(format!(
                "Cannot delete model '{name}', is referenced in method request: {user}"
            )));
        }
        api.models.remove(name);
        Ok(Value::Null)
    })?;
    Ok(Reply::accepted())
}
