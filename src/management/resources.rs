//! Building an API piece by piece, as Terraform's `aws_api_gateway_resource` / `_method` /
//! `_integration` / `_method_response` / `_integration_response` and `aws apigateway
//! create-resource / put-method / put-integration ...` do: CreateResource, DeleteResource,
//! Put/Get/DeleteMethod, Put/DeleteIntegration, Put/Get/DeleteMethodResponse and
//! Put/Get/DeleteIntegrationResponse. Each call edits the stored API in one transaction; as on
//! AWS, nothing is served until the next deployment.

use super::missing;
use super::{find_api, find_method, find_resource, wire, ApiError, Reply, Req, Result};
use crate::model::{
    Integration, IntegrationResponse, IntegrationType, Method, MethodResponse, Resource, RestApi,
    DEFAULT_TIMEOUT_MS,
};
use crate::store::{Store, StoreError};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The methods a resource can have.
const METHODS: [&str; 8] = [
    "GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "ANY",
];

const NO_METHOD: &str = missing::METHOD;
const NO_INTEGRATION: &str = missing::INTEGRATION;
const NO_RESPONSE: &str = missing::RESPONSE;

/// Loads API `id`, lets `edit` change it, and stores it, all in one transaction. `edit` returns
/// what the call answers.
pub(super) fn edit_api(
    store: &Store,
    id: &str,
    edit: impl FnOnce(&mut RestApi) -> Result<Value> + Send,
) -> Result<Value> {
    let mut answer = None;
    let mut refused = None;
    let written = store.write(|tx| {
        let Some(mut api) = tx.find_api(id)?.filter(|a| a.id == id) else {
            return Err(StoreError::NotFound(format!(
                "Invalid API identifier specified {}:{id}",
                wire::ACCOUNT_ID
            )));
        };
        match edit(&mut api) {
            Ok(v) => {
                tx.update_api(&api, None)?;
                answer = Some(v);
                Ok(())
            }
            Err(e) => {
                // Roll back: a refused call changes nothing.
                refused = Some(e);
                Err(StoreError::Invalid(String::new()))
            }
        }
    });
    if let Some(e) = refused {
        return Err(e);
    }
    written?;
    answer.ok_or_else(|| ApiError::bad_request("the change was not applied"))
}

/// `METHOD /path` of the first method `uses` says yes to (for "still referenced" refusals).
pub(super) fn first_method_using(api: &RestApi, uses: impl Fn(&Method) -> bool) -> Option<String> {
    api.resources.iter().find_map(|r| {
        r.resource_methods
            .iter()
            .find(|(_, m)| uses(m))
            .map(|(verb, _)| format!("{verb} {}", r.path))
    })
}

pub(super) fn resource_mut<'a>(api: &'a mut RestApi, rid: &str) -> Result<&'a mut Resource> {
    api.resources
        .iter_mut()
        .find(|r| r.id == rid)
        .ok_or_else(|| ApiError::not_found(missing::RESOURCE))
}

pub(super) fn method_mut<'a>(r: &'a mut Resource, verb: &str) -> Result<&'a mut Method> {
    r.resource_methods
        .get_mut(&verb.to_ascii_uppercase())
        .ok_or_else(|| ApiError::not_found(NO_METHOD))
}

pub(super) fn integration_mut<'a>(r: &'a mut Resource, verb: &str) -> Result<&'a mut Integration> {
    method_mut(r, verb)?
        .method_integration
        .as_mut()
        .ok_or_else(|| ApiError::not_found(NO_INTEGRATION))
}

// ---- resources ----

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateResourceBody {
    path_part: Option<String>,
}

pub(super) fn create_resource(store: &Store, req: &Req, id: &str, parent: &str) -> Result<Reply> {
    let part = req
        .json::<CreateResourceBody>()?
        .path_part
        .unwrap_or_default();
    let v = edit_api(store, id, |api| {
        let parent = find_resource(api, parent)?.clone();
        if part.is_empty() {
            return Err(ApiError::bad_request(
                "Resource's path part must be specified",
            ));
        }
        crate::control::import::check_segment(&part).map_err(ApiError::bad_request)?;
        if let Some(p) = parent.path_part.as_deref().filter(|p| p.ends_with("+}")) {
            return Err(ApiError::bad_request(format!(
                "Cannot create a child of a resource with a greedy path variable: {p}"
            )));
        }
        let siblings = api
            .resources
            .iter()
            .filter(|r| r.parent_id.as_deref() == Some(parent.id.as_str()));
        for s in siblings {
            let Some(other) = s.path_part.as_deref() else {
                continue;
            };
            if other == part {
                return Err(ApiError::conflict(format!(
                    "Another resource with the same parent already has this name: {part}"
                )));
            }
            if other.starts_with('{') && part.starts_with('{') {
                return Err(ApiError::bad_request(format!(
                    "A sibling ({other}) of this resource already has a variable path part -- only one is allowed"
                )));
            }
        }
        let path = match parent.path.as_str() {
            "/" => format!("/{part}"),
            p => format!("{p}/{part}"),
        };
        let r = Resource {
            id: crate::aws::ids::short(),
            parent_id: Some(parent.id.clone()),
            path_part: Some(part.clone()),
            path,
            resource_methods: BTreeMap::new(),
        };
        let v = wire::resource(&r, false);
        api.resources.push(r);
        api.resources.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(v)
    })?;
    Ok(Reply::created(v))
}

pub(super) fn delete_resource(store: &Store, id: &str, rid: &str) -> Result<Reply> {
    edit_api(store, id, |api| {
        let r = find_resource(api, rid)?;
        if r.parent_id.is_none() {
            return Err(ApiError::bad_request("Cannot delete the root resource"));
        }
        let below = format!("{}/", r.path);
        let path = r.path.clone();
        api.resources
            .retain(|r| r.path != path && !r.path.starts_with(&below));
        Ok(Value::Null)
    })?;
    Ok(Reply::accepted())
}

// ---- methods ----

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PutMethodBody {
    authorization_type: Option<String>,
    authorizer_id: Option<String>,
    authorization_scopes: Option<Vec<String>>,
    api_key_required: Option<bool>,
    operation_name: Option<String>,
    request_parameters: Option<BTreeMap<String, bool>>,
    request_validator_id: Option<String>,
    request_models: Option<BTreeMap<String, String>>,
}

pub(super) fn put_method(
    store: &Store,
    req: &Req,
    id: &str,
    rid: &str,
    verb: &str,
) -> Result<Reply> {
    let b: PutMethodBody = req.json()?;
    let verb = verb.to_ascii_uppercase();
    if !METHODS.contains(&verb.as_str()) {
        return Err(ApiError::bad_request(
            "Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY",
        ));
    }
    let v = edit_api(store, id, |api| {
        let authorization_type = b
            .authorization_type
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "NONE".into());
        check_authorization_type(&authorization_type)?;
        if matches!(authorization_type.as_str(), "CUSTOM" | "COGNITO_USER_POOLS")
            && !b
                .authorizer_id
                .as_deref()
                .is_some_and(|aid| api.authorizers.iter().any(|a| a.id == aid))
        {
            return Err(ApiError::bad_request(
                "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.",
            ));
        }
        if let Some(id) = b.request_validator_id.as_deref() {
            if !api.request_validators.iter().any(|v| v.id == id) {
                return Err(ApiError::bad_request(format!(
                    "Invalid Request Validator identifier specified {}:{id}",
                    wire::ACCOUNT_ID
                )));
            }
        }
        let request_models = b.request_models.clone().unwrap_or_default();
        if let Some(name) = request_models
            .values()
            .find(|n| !api.models.contains_key(*n))
        {
            return Err(ApiError::bad_request(format!(
                "Invalid model identifier specified: {name}"
            )));
        }
        let r = resource_mut(api, rid)?;
        if r.resource_methods.contains_key(&verb) {
            return Err(ApiError::conflict(
                "Method already exists for this resource",
            ));
        }
        let m = Method {
            http_method: verb.clone(),
            authorization_type,
            authorizer_id: b.authorizer_id,
            authorization_scopes: b.authorization_scopes.unwrap_or_default(),
            api_key_required: b.api_key_required.unwrap_or(false),
            request_validator_id: b.request_validator_id,
            operation_name: b.operation_name,
            request_parameters: b.request_parameters.unwrap_or_default(),
            method_responses: BTreeMap::new(),
            request_models,
            method_integration: None,
            aggregate: None,
        };
        let v = wire::method(r, &m);
        r.resource_methods.insert(verb.clone(), m);
        Ok(v)
    })?;
    Ok(Reply::created(v))
}

pub(super) fn delete_method(store: &Store, id: &str, rid: &str, verb: &str) -> Result<Reply> {
    edit_api(store, id, |api| {
        let r = resource_mut(api, rid)?;
        r.resource_methods
            .remove(&verb.to_ascii_uppercase())
            .ok_or_else(|| ApiError::not_found(NO_METHOD))?;
        Ok(Value::Null)
    })?;
    Ok(Reply::no_content())
}

// ---- method responses ----

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PutMethodResponseBody {
    response_parameters: Option<BTreeMap<String, bool>>,
    response_models: Option<BTreeMap<String, String>>,
}

pub(super) fn put_method_response(
    store: &Store,
    req: &Req,
    id: &str,
    (rid, verb, status): (&str, &str, &str),
) -> Result<Reply> {
    let b: PutMethodResponseBody = req.json()?;
    check_status(status)?;
    let v = edit_api(store, id, |api| {
        let m = method_mut(resource_mut(api, rid)?, verb)?;
        let resp = MethodResponse {
            status_code: status.to_string(),
            response_parameters: b.response_parameters.unwrap_or_default(),
            response_models: b.response_models.unwrap_or_default(),
        };
        let v = wire::method_response(&resp);
        m.method_responses.insert(status.to_string(), resp);
        Ok(v)
    })?;
    Ok(Reply::created(v))
}

pub(super) fn get_method_response(
    store: &Store,
    id: &str,
    (rid, verb, status): (&str, &str, &str),
) -> Result<Reply> {
    let api = find_api(store, id)?;
    let m = find_method(find_resource(&api, rid)?, verb)?;
    let resp = m
        .method_responses
        .get(status)
        .ok_or_else(|| ApiError::not_found(NO_RESPONSE))?;
    Ok(Reply::ok(wire::method_response(resp)))
}

pub(super) fn delete_method_response(
    store: &Store,
    id: &str,
    (rid, verb, status): (&str, &str, &str),
) -> Result<Reply> {
    edit_api(store, id, |api| {
        let m = method_mut(resource_mut(api, rid)?, verb)?;
        m.method_responses
            .remove(status)
            .ok_or_else(|| ApiError::not_found(NO_RESPONSE))?;
        Ok(Value::Null)
    })?;
    Ok(Reply::no_content())
}

fn check_status(status: &str) -> Result<()> {
    let valid = status.len() == 3
        && status.bytes().all(|b| b.is_ascii_digit())
        && ('1'..='5').contains(&status.chars().next().unwrap_or('0'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid status code specified: {status}; use a three-digit HTTP status such as 200"
        )))
    }
}

// ---- integrations ----

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PutIntegrationBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    http_method: Option<String>,
    uri: Option<String>,
    request_parameters: Option<BTreeMap<String, String>>,
    request_templates: Option<BTreeMap<String, String>>,
    passthrough_behavior: Option<String>,
    timeout_in_millis: Option<u64>,
    connection_type: Option<String>,
    connection_id: Option<String>,
    credentials: Option<String>,
    content_handling: Option<String>,
    cache_key_parameters: Option<Vec<String>>,
    cache_namespace: Option<String>,
    tls_config: Option<Value>,
}

fn integration_type(text: &str) -> Result<IntegrationType> {
    Ok(match text.to_ascii_uppercase().as_str() {
        "HTTP" => IntegrationType::Http,
        "HTTP_PROXY" => IntegrationType::HttpProxy,
        "AWS" => IntegrationType::Aws,
        "AWS_PROXY" => IntegrationType::AwsProxy,
        "MOCK" => IntegrationType::Mock,
        "" => {
            return Err(ApiError::bad_request(
                "Enumeration value for IntegrationType must be non-empty",
            ))
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid integration type specified: {other}; use HTTP, HTTP_PROXY, AWS, AWS_PROXY or MOCK"
            )))
        }
    })
}

pub(super) fn put_integration(
    store: &Store,
    req: &Req,
    id: &str,
    rid: &str,
    verb: &str,
) -> Result<Reply> {
    let b: PutIntegrationBody = req.json()?;
    let kind = integration_type(b.kind.as_deref().unwrap_or_default())?;
    let http_method = b
        .http_method
        .filter(|m| !m.is_empty())
        .map(|m| m.to_ascii_uppercase());
    let uri = b.uri.filter(|u| !u.is_empty());
    if kind != IntegrationType::Mock {
        if http_method.is_none() {
            return Err(ApiError::bad_request(
                "Enumeration value for HttpMethod must be non-empty",
            ));
        }
        if uri.is_none() {
            return Err(ApiError::bad_request(
                "Invalid integration URI specified: a non-MOCK integration needs a uri",
            ));
        }
    }
    let timeout = b.timeout_in_millis.unwrap_or(DEFAULT_TIMEOUT_MS);
    if !(50..=DEFAULT_TIMEOUT_MS).contains(&timeout) {
        return Err(ApiError::bad_request(
            "Timeout should be between 50 ms and 29000 ms",
        ));
    }
    let v = edit_api(store, id, |api| {
        let r = resource_mut(api, rid)?;
        let cache_namespace = Some(b.cache_namespace.unwrap_or_else(|| r.id.clone()));
        let i = Integration {
            kind,
            uri,
            http_method,
            request_parameters: b.request_parameters.unwrap_or_default(),
            request_templates: b.request_templates.unwrap_or_default(),
            passthrough_behavior: b
                .passthrough_behavior
                .map(|p| p.to_ascii_uppercase())
                .unwrap_or_else(|| "WHEN_NO_MATCH".into()),
            timeout_in_millis: timeout,
            connection_type: b
                .connection_type
                .map(|c| c.to_ascii_uppercase())
                .unwrap_or_else(|| "INTERNET".into()),
            connection_id: b.connection_id,
            credentials: b.credentials,
            content_handling: b.content_handling,
            payload_format_version: None,
            cache_key_parameters: b.cache_key_parameters.unwrap_or_default(),
            cache_namespace,
            tls_config: b.tls_config,
            integration_subtype: None,
            integration_responses: BTreeMap::new(),
        };
        let v = wire::integration(r, &i);
        method_mut(r, verb)?.method_integration = Some(i);
        Ok(v)
    })?;
    Ok(Reply::created(v))
}

pub(super) fn delete_integration(store: &Store, id: &str, rid: &str, verb: &str) -> Result<Reply> {
    edit_api(store, id, |api| {
        let m = method_mut(resource_mut(api, rid)?, verb)?;
        m.method_integration
            .take()
            .ok_or_else(|| ApiError::not_found(NO_INTEGRATION))?;
        Ok(Value::Null)
    })?;
    Ok(Reply::no_content())
}

// ---- integration responses ----

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PutIntegrationResponseBody {
    selection_pattern: Option<String>,
    response_parameters: Option<BTreeMap<String, String>>,
    response_templates: Option<BTreeMap<String, String>>,
    content_handling: Option<String>,
}

/// The key gw keeps an integration response under: its selection pattern, or `default`.
fn find_integration_response<'a>(
    i: &'a Integration,
    status: &str,
) -> Option<(&'a String, &'a IntegrationResponse)> {
    i.integration_responses
        .iter()
        .find(|(_, r)| r.status_code == status)
}

pub(super) fn put_integration_response(
    store: &Store,
    req: &Req,
    id: &str,
    (rid, verb, status): (&str, &str, &str),
) -> Result<Reply> {
    let b: PutIntegrationResponseBody = req.json()?;
    check_status(status)?;
    let v = edit_api(store, id, |api| {
        let i = integration_mut(resource_mut(api, rid)?, verb)?;
        // One response per status code, as on AWS: a new one replaces the old.
        i.integration_responses
            .retain(|_, r| r.status_code != status);
        let pattern = b.selection_pattern.filter(|p| !p.is_empty());
        let key = pattern.clone().unwrap_or_else(|| "default".into());
        let resp = IntegrationResponse {
            status_code: status.to_string(),
            selection_pattern: pattern,
            response_parameters: b.response_parameters.unwrap_or_default(),
            response_templates: b.response_templates.unwrap_or_default(),
            content_handling: b.content_handling,
        };
        let v = wire::integration_response(&key, &resp);
        i.integration_responses.insert(key, resp);
        Ok(v)
    })?;
    Ok(Reply::created(v))
}

pub(super) fn get_integration_response(
    store: &Store,
    id: &str,
    (rid, verb, status): (&str, &str, &str),
) -> Result<Reply> {
    let api = find_api(store, id)?;
    let i = find_method(find_resource(&api, rid)?, verb)?
        .method_integration
        .as_ref()
        .ok_or_else(|| ApiError::not_found(NO_INTEGRATION))?;
    let (key, resp) =
        find_integration_response(i, status).ok_or_else(|| ApiError::not_found(NO_RESPONSE))?;
    Ok(Reply::ok(wire::integration_response(key, resp)))
}

pub(super) fn delete_integration_response(
    store: &Store,
    id: &str,
    (rid, verb, status): (&str, &str, &str),
) -> Result<Reply> {
    edit_api(store, id, |api| {
        let i = integration_mut(resource_mut(api, rid)?, verb)?;
        let key = find_integration_response(i, status)
            .map(|(k, _)| k.clone())
            .ok_or_else(|| ApiError::not_found(NO_RESPONSE))?;
        i.integration_responses.remove(&key);
        Ok(Value::Null)
    })?;
    Ok(Reply::no_content())
}

pub(super) fn get_integration(store: &Store, id: &str, rid: &str, verb: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let r = find_resource(&api, rid)?;
    let i = find_method(r, verb)?
        .method_integration
        .as_ref()
        .ok_or_else(|| ApiError::not_found(NO_INTEGRATION))?;
    Ok(Reply::ok(wire::integration(r, i)))
}

/// UpdateResource: a new `pathPart` and/or parent for resource `rid`; its path and every
/// descendant's follow.
pub(super) fn move_resource(
    api: &mut RestApi,
    rid: &str,
    part: Option<String>,
    parent: Option<String>,
) -> Result<Value> {
    let current = api
        .resources
        .iter()
        .find(|r| r.id == rid)
        .cloned()
        .ok_or_else(|| ApiError::not_found(missing::RESOURCE))?;
    if current.parent_id.is_none() {
        return Err(ApiError::bad_request("The root resource cannot be updated"));
    }
    let part = part.unwrap_or_else(|| current.path_part.clone().unwrap_or_default());
    let parent_id = parent.unwrap_or_else(|| current.parent_id.clone().unwrap_or_default());
    if part.is_empty() || part.contains('/') {
        return Err(ApiError::bad_request(format!(
            "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace: {part:?}"
        )));
    }
    let parent = api
        .resources
        .iter()
        .find(|r| r.id == parent_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(missing::RESOURCE))?;
    // Not under itself.
    if parent.path == current.path || parent.path.starts_with(&format!("{}/", current.path)) {
        return Err(ApiError::bad_request(
            "A resource cannot be moved under itself or one of its descendants",
        ));
    }
    let new_path = if parent.path == "/" {
        format!("/{part}")
    } else {
        format!("{}/{part}", parent.path)
    };
    if new_path != current.path && api.resources.iter().any(|r| r.path == new_path) {
        return Err(ApiError::conflict(format!(
            "Another resource with the same parent already has this name: {part}"
        )));
    }
    let old_prefix = current.path.clone();
    for r in api.resources.iter_mut() {
        if r.id == rid {
            r.path_part = Some(part.clone());
            r.parent_id = Some(parent_id.clone());
            r.path = new_path.clone();
        } else if let Some(rest) = r.path.strip_prefix(&format!("{old_prefix}/")) {
            r.path = format!("{new_path}/{rest}");
        }
    }
    let moved = api
        .resources
        .iter()
        .find(|r| r.id == rid)
        .ok_or_else(|| ApiError::not_found(missing::RESOURCE))?;
    Ok(wire::resource(moved, false))
}

/// The authorization types a method may have (AWS refuses others with a 400).
pub(super) fn check_authorization_type(t: &str) -> Result<()> {
    if matches!(t, "NONE" | "AWS_IAM" | "CUSTOM" | "COGNITO_USER_POOLS") {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid authorization type specified: {t}. Valid values are NONE, AWS_IAM, CUSTOM and COGNITO_USER_POOLS"
        )))
    }
}
