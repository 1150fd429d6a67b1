//! Authorizers through the management API, as `aws apigateway create-authorizer /
//! get-authorizers / get-authorizer / update-authorizer / delete-authorizer` and Terraform's
//! `aws_api_gateway_authorizer` call them. A method uses one with PutMethod
//! `authorizationType: CUSTOM` (or `COGNITO_USER_POOLS`) and its `authorizerId`.

use super::resources::{edit_api, first_method_using};
use super::{find_api, list, page, wire, ApiError, Reply, Req, Result};
use crate::model::Authorizer;
use crate::store::Store;
use serde::Deserialize;
use serde_json::Value;

const NO_AUTHORIZER: &str = super::missing::AUTHORIZER;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateAuthorizerBody {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "providerARNs")]
    provider_arns: Option<Vec<String>>,
    auth_type: Option<String>,
    authorizer_uri: Option<String>,
    authorizer_credentials: Option<String>,
    identity_source: Option<String>,
    identity_validation_expression: Option<String>,
    authorizer_result_ttl_in_seconds: Option<i64>,
}

pub(super) fn create_authorizer(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let b: CreateAuthorizerBody = req.json()?;
    let name = b
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("Authorizer name must be specified"))?;
    let kind = b.kind.unwrap_or_default().to_ascii_uppercase();
    if !["TOKEN", "REQUEST", "COGNITO_USER_POOLS"].contains(&kind.as_str()) {
        return Err(ApiError::bad_request(format!(
            "Invalid authorizer type {kind:?}: use TOKEN, REQUEST or COGNITO_USER_POOLS"
        )));
    }
    if kind != "COGNITO_USER_POOLS" && b.authorizer_uri.as_deref().unwrap_or("").is_empty() {
        return Err(ApiError::bad_request(
            "Authorizer URI must be specified for TOKEN and REQUEST authorizers",
        ));
    }
    if kind == "TOKEN"
        && !b
            .identity_source
            .as_deref()
            .is_some_and(|s| s.starts_with("method.request.header."))
    {
        return Err(ApiError::bad_request(
            "Invalid identity source for a TOKEN authorizer: expected method.request.header.NAME",
        ));
    }
    if let Some(ttl) = b.authorizer_result_ttl_in_seconds {
        if !(0..=crate::aws::AUTHORIZER_MAX_TTL_SECONDS).contains(&ttl) {
            return Err(ApiError::bad_request(format!(
                "Invalid authorizer TTL {ttl}: must be between 0 and 3600 seconds"
            )));
        }
    }
    if let Some(expr) = b.identity_validation_expression.as_deref() {
        if regex::Regex::new(expr).is_err() {
            return Err(ApiError::bad_request(format!(
                "Invalid identity validation expression {expr:?}"
            )));
        }
    }
    let authorizer = Authorizer {
        id: crate::aws::ids::short(),
        name,
        kind,
        auth_type: b.auth_type,
        authorizer_uri: b.authorizer_uri,
        authorizer_credentials: b.authorizer_credentials,
        identity_source: b.identity_source,
        identity_validation_expression: b.identity_validation_expression,
        authorizer_result_ttl_in_seconds: b.authorizer_result_ttl_in_seconds,
        provider_arns: b.provider_arns.unwrap_or_default(),
        extra: None,
    };
    let v = edit_api(store, id, |api| {
        if api.authorizers.iter().any(|a| a.name == authorizer.name) {
            return Err(ApiError::conflict(format!(
                "Authorizer with name {} already exists",
                authorizer.name
            )));
        }
        let v = wire::authorizer(&authorizer);
        api.authorizers.push(authorizer);
        Ok(v)
    })?;
    Ok(Reply::created(v))
}

pub(super) fn get_authorizers(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let (items, next) = page(api.authorizers.iter().collect(), req)?;
    Ok(Reply::ok(list(
        items.into_iter().map(wire::authorizer).collect(),
        next,
    )))
}

pub(super) fn get_authorizer(store: &Store, id: &str, aid: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let a = api
        .authorizers
        .iter()
        .find(|a| a.id == aid)
        .ok_or_else(|| ApiError::not_found(NO_AUTHORIZER))?;
    Ok(Reply::ok(wire::authorizer(a)))
}

pub(super) fn delete_authorizer(store: &Store, id: &str, aid: &str) -> Result<Reply> {
    edit_api(store, id, |api| {
        let index = api
            .authorizers
            .iter()
            .position(|a| a.id == aid)
            .ok_or_else(|| ApiError::not_found(NO_AUTHORIZER))?;
        if let Some(user) = first_method_using(api, |m| m.authorizer_id.as_deref() == Some(aid)) {
            return Err(ApiError::conflict(format!(
                "Cannot delete authorizer '{}', is referenced in method: {user}",
                api.authorizers[index].name
            )));
        }
        api.authorizers.remove(index);
        Ok(Value::Null)
    })?;
    Ok(Reply::accepted())
}

/// UpdateAuthorizer: replace `/name`, `/authorizerUri`, `/identitySource`,
/// `/identityValidationExpression`, `/authorizerResultTtlInSeconds`, `/authType`,
/// `/authorizerCredentials`.
pub(super) fn update_authorizer(store: &Store, req: &Req, id: &str, aid: &str) -> Result<Reply> {
    let ops = req.json::<super::PatchBody>()?.patch_operations;
    let v = edit_api(store, id, |api| {
        let a = api
            .authorizers
            .iter_mut()
            .find(|a| a.id == aid)
            .ok_or_else(|| ApiError::not_found(NO_AUTHORIZER))?;
        for op in &ops {
            let value = op.value.clone().filter(|_| op.op == "replace");
            match (op.path.as_str(), value) {
                ("/name", Some(v)) if !v.is_empty() => a.name = v,
                ("/authorizerUri", Some(v)) => a.authorizer_uri = Some(v),
                ("/identitySource", Some(v)) => a.identity_source = Some(v),
                ("/identityValidationExpression", Some(v)) => {
                    if regex::Regex::new(&v).is_err() {
                        return Err(ApiError::bad_request(format!(
                            "Invalid identity validation expression {v:?}"
                        )));
                    }
                    a.identity_validation_expression = Some(v)
                }
                ("/authorizerResultTtlInSeconds", Some(v)) => {
                    let ttl = v
                        .parse::<i64>()
                        .ok()
                        .filter(|t| (0..=crate::aws::AUTHORIZER_MAX_TTL_SECONDS).contains(t))
                        .ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "Invalid authorizer TTL {v:?}: must be between 0 and 3600 seconds"
                            ))
                        })?;
                    a.authorizer_result_ttl_in_seconds = Some(ttl)
                }
                ("/authType", Some(v)) => a.auth_type = Some(v),
                ("/authorizerCredentials", Some(v)) => a.authorizer_credentials = Some(v),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid patch operation specified: {} {}",
                        op.op, op.path
                    )))
                }
            }
        }
        Ok(wire::authorizer(a))
    })?;
    Ok(Reply::ok(v))
}
