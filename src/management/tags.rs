//! Tags (TagResource, UntagResource, GetTags on REST APIs, stages, API keys and usage plans)
//! and the account
//! (GetAccount, UpdateAccount).

use super::missing;
use super::resources::edit_api;
use super::updates::{invalid_path, ops};
use super::{ApiError, Reply, Req, Result};
use crate::store::{Store, StoreError};
use serde_json::Value;

/// What a tag call's ARN names: a REST API (`arn:aws:apigateway:REGION::/restapis/ID`), one
/// of its stages (`.../restapis/ID/stages/NAME`), an API key (`::/apikeys/ID`) or a usage plan
/// (`::/usageplans/ID`).
enum Tagged<'a> {
    Api(&'a str),
    Stage(&'a str, &'a str),
    ApiKey(&'a str),
    UsagePlan(&'a str),
    Domain(&'a str),
    Link(&'a str),
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
        ["apikeys", id] if !id.is_empty() => Ok(Tagged::ApiKey(id)),
        ["usageplans", id] if !id.is_empty() => Ok(Tagged::UsagePlan(id)),
        ["domainnames", name] if !name.is_empty() => Ok(Tagged::Domain(name)),
        ["vpclinks", id] if !id.is_empty() => Ok(Tagged::Link(id)),
        _ => Err(ApiError::bad_request(format!(
            "gw keeps the tags of REST APIs, stages, API keys, usage plans, domain names and VPC links (arn:aws:apigateway:REGION::/restapis/ID[/stages/NAME], ::/apikeys/ID, ::/usageplans/ID, ::/domainnames/NAME, ::/vpclinks/ID); {arn} is none of them"
        ))),
    }
}

/// Runs `edit` on the tags the ARN names.
fn edit_tags(
    store: &Store,
    arn: &str,
    edit: impl FnOnce(&mut std::collections::BTreeMap<String, String>) + Send,
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
        Tagged::ApiKey(id) => store.write(|tx| {
            let mut key = tx
                .api_keys()?
                .into_iter()
                .find(|k| k.id == id)
                .ok_or_else(|| StoreError::NotFound(crate::control::NO_API_KEY.into()))?;
            edit(&mut key.tags);
            tx.put_api_key(&key)
        })?,
        Tagged::UsagePlan(id) => store.write(|tx| {
            let mut plan = tx
                .usage_plans()?
                .into_iter()
                .find(|p| p.id == id)
                .ok_or_else(|| StoreError::NotFound(crate::control::NO_USAGE_PLAN.into()))?;
            edit(&mut plan.tags);
            tx.put_usage_plan(&plan)
        })?,
        Tagged::Domain(name) => super::domains::edit_tags(store, name, edit)?,
        Tagged::Link(id) => super::links::edit_tags(store, id, edit)?,
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
                .ok_or_else(|| ApiError::not_found(missing::STAGE))?
                .tags
        }
        Tagged::ApiKey(id) => {
            store
                .read(|tx| tx.api_keys())?
                .into_iter()
                .find(|k| k.id == id)
                .ok_or_else(|| ApiError::not_found(crate::control::NO_API_KEY))?
                .tags
        }
        Tagged::UsagePlan(id) => {
            store
                .read(|tx| tx.usage_plans())?
                .into_iter()
                .find(|p| p.id == id)
                .ok_or_else(|| ApiError::not_found(crate::control::NO_USAGE_PLAN))?
                .tags
        }
        Tagged::Domain(name) => super::domains::tags(store, name)?,
        Tagged::Link(id) => super::links::tags(store, id)?,
    };
    Ok(Reply::ok(serde_json::json!({ "tags": tags })))
}

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
