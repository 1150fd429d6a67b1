//! The Update* calls infrastructure-as-code tools make on an API's parts — UpdateMethod,
//! UpdateIntegration, UpdateMethodResponse, UpdateIntegrationResponse, UpdateResource,
//! UpdateDeployment — with AWS's patch-operation semantics: `replace`, `add` and `remove` on a
//! field (`/uri`, `/timeoutInMillis`) or a map entry (`/requestTemplates/application~1json`,
//! `/requestParameters/integration.request.header.x-id`), `~1` for `/` and `~0` for `~` in keys,
//! values as strings converted to the field's type, and a path the resource does not have refused
//! with AWS's "Invalid patch path" message.
//!
//! One engine for all of them: the part is turned into its JSON, each operation edits the JSON
//! under the part's [`Field`] rules, and the JSON is read back into the part.

use super::patch::PatchOp;
use super::resources::edit_api;
use super::{wire, ApiError, PatchBody, Reply, Req, Result};
use crate::model::{Integration, IntegrationResponse, Method, MethodResponse};
use crate::store::Store;
use serde_json::{Map, Value};

/// What a patch path may name on a part.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Str,
    Bool,
    Int,
    StrMap,
    BoolMap,
    StrList,
}

type Fields = &'static [(&'static str, Kind)];

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

fn invalid_path(op: &PatchOp) -> ApiError {
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
fn patched<T: serde::Serialize + serde::de::DeserializeOwned>(
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

fn ops(req: &Req) -> Result<Vec<PatchOp>> {
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
            .ok_or_else(|| ApiError::not_found("Invalid Response status code specified"))?;
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
            .ok_or_else(|| ApiError::not_found("Invalid Response status code specified"))?;
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

/// What a tag call's ARN names: a REST API (`arn:aws:apigateway:REGION::/restapis/ID`) or one
/// of its stages (`.../restapis/ID/stages/NAME`).
enum Tagged<'a> {
    Api(&'a str),
    Stage(&'a str, &'a str),
}

fn tagged(arn: &str) -> Result<Tagged<'_>> {
    let path = arn
        .split_once("::")
        .map(|(_, p)| p)
        .filter(|_| arn.starts_with("arn:aws:apigateway:"))
        .ok_or_else(|| ApiError::bad_request(format!("Invalid resource ARN specified: {arn}")))?;
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["restapis", id] if !id.is_empty() => Ok(Tagged::Api(id)),
        ["restapis", id, "stages", name] if !id.is_empty() && !name.is_empty() => {
            Ok(Tagged::Stage(id, name))
        }
        _ => Err(ApiError::bad_request(format!(
            "gw keeps the tags of REST APIs and stages (arn:aws:apigateway:REGION::/restapis/ID[/stages/NAME]); {arn} is neither"
        ))),
    }
}

/// Runs `edit` on the tags the ARN names.
fn edit_tags(
    store: &Store,
    arn: &str,
    edit: impl FnOnce(&mut std::collections::BTreeMap<String, String>),
) -> Result<()> {
    match tagged(arn)? {
        Tagged::Api(id) => {
            edit_api(store, id, |api| {
                edit(&mut api.tags);
                Ok(Value::Null)
            })?;
        }
        Tagged::Stage(id, name) => {
            super::stages::check_stage(store, id, name)?;
            crate::control::update_stage(store, Some(id), name, |s| {
                edit(&mut s.tags);
                Ok(())
            })
            .map_err(ApiError::from)?;
        }
    }
    Ok(())
}

#[derive(serde::Deserialize, Default)]
struct TagBody {
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
}

/// PUT /tags/{arn}: TagResource.
pub(super) fn tag_resource(store: &Store, req: &Req, arn: &str) -> Result<Reply> {
    tagged(arn)?;
    let tags = req.json::<TagBody>()?.tags;
    for (k, v) in &tags {
        if k.is_empty() || k.len() > 128 || v.len() > 256 || k.starts_with("aws:") {
            return Err(ApiError::bad_request(format!(
                "Invalid tag {k:?}: keys are 1 to 128 characters and may not start with aws:, values at most 256"
            )));
        }
    }
    edit_tags(store, arn, |t| t.extend(tags))?;
    Ok(Reply::no_content())
}

/// DELETE /tags/{arn}?tagKeys=K...: UntagResource.
pub(super) fn untag_resource(store: &Store, req: &Req, arn: &str) -> Result<Reply> {
    let keys: Vec<String> = req.q_all("tagKeys").map(str::to_string).collect();
    edit_tags(store, arn, |t| {
        for k in &keys {
            t.remove(k);
        }
    })?;
    Ok(Reply::no_content())
}

/// GET /tags/{arn}: GetTags.
pub(super) fn get_tags(store: &Store, arn: &str) -> Result<Reply> {
    let tags = match tagged(arn)? {
        Tagged::Api(id) => super::find_api(store, id)?.tags,
        Tagged::Stage(id, name) => {
            super::find_api(store, id)?;
            store
                .read(|tx| tx.stage(id, name))?
                .ok_or_else(|| ApiError::not_found("Invalid Stage identifier specified"))?
                .tags
        }
    };
    Ok(Reply::ok(serde_json::json!({ "tags": tags })))
}

// ---- gateway responses ----

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

// ---- account ----

fn account_wire(stored: &Value) -> Value {
    let mut out = serde_json::json!({
        // The account-level throttle as AWS sets it by default (gw does not apply it: local load
        // tests are not capped).
        "throttleSettings": {"burstLimit": 5000, "rateLimit": 10000.0},
        "features": ["UsagePlans"],
        "apiKeyVersion": "4",
    });
    if let Some(arn) = stored.get("cloudwatchRoleArn").and_then(Value::as_str) {
        out["cloudwatchRoleArn"] = Value::from(arn);
    }
    out
}

/// GET /account: GetAccount.
pub(super) fn get_account(store: &Store) -> Result<Reply> {
    let stored = store.read(|tx| tx.account())?;
    Ok(Reply::ok(account_wire(&stored)))
}

/// PATCH /account: UpdateAccount (`/cloudwatchRoleArn`; AWS's account throttle is a service
/// quota, not a patch path).
pub(super) fn update_account(store: &Store, req: &Req) -> Result<Reply> {
    let ops = ops(req)?;
    let mut arn: Option<Option<String>> = None;
    for op in &ops {
        match (op.op.as_str(), op.path.as_str()) {
            ("replace" | "add", "/cloudwatchRoleArn") => {
                let v = op.value.clone().unwrap_or_default();
                if !v.is_empty() && !v.starts_with("arn:") {
                    return Err(ApiError::bad_request(format!(
                        "The role ARN is not well formed: {v}"
                    )));
                }
                arn = Some(Some(v).filter(|v| !v.is_empty()));
            }
            ("remove", "/cloudwatchRoleArn") => arn = Some(None),
            _ => return Err(invalid_path(op)),
        }
    }
    let stored = store.write(|tx| {
        let mut account = tx.account()?;
        if let (Some(a), Some(obj)) = (arn, account.as_object_mut()) {
            match a {
                Some(v) => {
                    obj.insert("cloudwatchRoleArn".into(), Value::from(v));
                }
                None => {
                    obj.remove("cloudwatchRoleArn");
                }
            }
        }
        tx.put_account(&account)?;
        Ok(account)
    })?;
    Ok(Reply::ok(account_wire(&stored)))
}
