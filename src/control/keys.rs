//! API keys and usage plans: CreateApiKey (AWS's value rules, values unique), keys looked up by
//! id or name, CreateUsagePlan (its stages must exist), adding and removing a plan's keys (one
//! key, one plan per API stage, as AWS enforces), and `gw api-key create --stage`'s own plan
//! per stage.

use super::{invalid, Result};
use crate::model;
use crate::store::{self, Store, StoreError};

pub const NO_API_KEY: &str = "Invalid API Key identifier specified";
pub const NO_USAGE_PLAN: &str = "Invalid Usage Plan ID specified";

/// What a new API key is made of.
#[derive(Debug, Default)]
pub struct NewApiKey {
    pub name: String,
    /// `None`: a random 40-character value.
    pub value: Option<String>,
    pub enabled: bool,
    pub description: Option<String>,
    pub tags: std::collections::BTreeMap<String, String>,
}

/// Creates an API key. A given value must be 20 to 128 printable characters without spaces
/// (AWS's rule) and not already used by another key. The name may be empty (CreateApiKey
/// without one, as AWS allows; `gw api-key create` always gives one).
pub fn create_api_key(store: &Store, new: NewApiKey) -> Result<model::ApiKey> {
    let value = match new.value {
        Some(v) => {
            if !(20..=128).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(
                    "API Key value should be at least 20 characters (at most 128, no spaces)",
                ));
            }
            v
        }
        None => crate::aws::ids::api_key_value(),
    };
    let key = model::ApiKey {
        id: crate::aws::ids::api_id(),
        name: new.name,
        value,
        enabled: new.enabled,
        description: new.description,
        created_date: store::now(),
        tags: new.tags,
    };
    Ok(store.write(|tx| {
        if tx.api_keys()?.iter().any(|k| k.value == key.value) {
            return Err(StoreError::Conflict("API Key value already exists".into()));
        }
        tx.put_api_key(&key)?;
        Ok(key)
    })?)
}

/// A key by id, or by name when exactly one key has it.
pub fn find_api_key(
    tx: &store::Tx,
    id_or_name: &str,
) -> std::result::Result<model::ApiKey, StoreError> {
    let keys = tx.api_keys()?;
    if let Some(k) = keys.iter().find(|k| k.id == id_or_name) {
        return Ok(k.clone());
    }
    let named: Vec<&model::ApiKey> = keys.iter().filter(|k| k.name == id_or_name).collect();
    match named.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(StoreError::NotFound(NO_API_KEY.into())),
        _ => Err(StoreError::Invalid(format!(
            "{} API keys are named {id_or_name:?}; give the key's id instead",
            named.len()
        ))),
    }
}

pub fn delete_api_key(store: &Store, id_or_name: &str) -> Result<model::ApiKey> {
    Ok(store.write(|tx| {
        let key = find_api_key(tx, id_or_name)?;
        tx.delete_api_key(&key.id)?;
        Ok(key)
    })?)
}

pub fn find_usage_plan(
    tx: &store::Tx,
    id_or_name: &str,
) -> std::result::Result<model::UsagePlan, StoreError> {
    let plans = tx.usage_plans()?;
    plans
        .iter()
        .find(|p| p.id == id_or_name)
        .or_else(|| plans.iter().find(|p| p.name == id_or_name))
        .cloned()
        .ok_or_else(|| StoreError::NotFound(NO_USAGE_PLAN.into()))
}

/// Checks that every stage a plan names exists.
fn check_plan_stages(
    tx: &store::Tx,
    stages: &[model::UsagePlanStage],
) -> std::result::Result<(), StoreError> {
    for s in stages {
        let Some(api) = tx.find_api(&s.api_id)?.filter(|a| a.id == s.api_id) else {
            return Err(StoreError::Invalid(format!(
                "Invalid API identifier specified {}:{}",
                crate::aws::lambda::DEFAULT_ACCOUNT_ID,
                s.api_id
            )));
        };
        if tx.stage(&api.id, &s.stage)?.is_none() {
            return Err(StoreError::Invalid(format!(
                "Invalid stage identifier specified: {} has no stage {:?}",
                api.id, s.stage
            )));
        }
    }
    Ok(())
}

/// Creates a usage plan for `stages` (each must exist).
pub fn create_usage_plan(store: &Store, mut plan: model::UsagePlan) -> Result<model::UsagePlan> {
    if plan.name.trim().is_empty() {
        return Err(invalid("Usage plan name must be specified"));
    }
    plan.id = crate::aws::ids::short();
    plan.key_ids.clear();
    Ok(store.write(|tx| {
        check_plan_stages(tx, &plan.api_stages)?;
        tx.put_usage_plan(&plan)?;
        Ok(plan)
    })?)
}

/// Adds a key to a plan (CreateUsagePlanKey).
pub fn add_usage_plan_key(
    store: &Store,
    plan: &str,
    key: &str,
) -> Result<(model::UsagePlan, model::ApiKey)> {
    Ok(store.write(|tx| {
        let mut plan = find_usage_plan(tx, plan)?;
        let key = find_api_key(tx, key)?;
        if plan.key_ids.contains(&key.id) {
            return Err(StoreError::Conflict(format!(
                "API Key {} is already in Usage Plan {}",
                key.id, plan.id
            )));
        }
        // AWS: one key, one plan per API stage.
        for other in tx.usage_plans()? {
            if other.id == plan.id || !other.key_ids.contains(&key.id) {
                continue;
            }
            if let Some(shared) = other.api_stages.iter().find(|s| {
                plan.api_stages
                    .iter()
                    .any(|p| p.api_id == s.api_id && p.stage == s.stage)
            }) {
                return Err(StoreError::Conflict(format!(
                    "Usage Plan {} cannot be added because API Key {} cannot reference multiple Usage Plans with the same API Stage: {}:{}",
                    plan.id, key.id, shared.api_id, shared.stage
                )));
            }
        }
        plan.key_ids.push(key.id.clone());
        tx.put_usage_plan(&plan)?;
        Ok((plan, key))
    })?)
}

/// Takes a key out of a plan (DeleteUsagePlanKey).
pub fn remove_usage_plan_key(store: &Store, plan: &str, key: &str) -> Result<()> {
    Ok(store.write(|tx| {
        let mut plan = find_usage_plan(tx, plan)?;
        let before = plan.key_ids.len();
        plan.key_ids.retain(|k| k != key);
        if plan.key_ids.len() == before {
            return Err(StoreError::NotFound(NO_API_KEY.into()));
        }
        tx.put_usage_plan(&plan)?;
        Ok(())
    })?)
}

/// `gw api-key create NAME --stage S`: the key goes into the usage plan gw keeps for that stage
/// (named `API_NAME/STAGE`, created on first use).
pub fn grant_stage(
    store: &Store,
    key_id: &str,
    api: Option<&str>,
    stage: &str,
) -> Result<model::UsagePlan> {
    Ok(store.write(|tx| {
        let api = tx.resolve_api(api)?;
        if tx.stage(&api.id, stage)?.is_none() {
            return Err(StoreError::NotFound(format!(
                "API {} has no stage {stage:?}; deploy it first with `gw deploy --stage {stage}`",
                api.name
            )));
        }
        let name = format!("{}/{stage}", api.name);
        let mut plan = match tx.usage_plans()?.into_iter().find(|p| p.name == name) {
            Some(p) => p,
            None => model::UsagePlan {
                id: crate::aws::ids::short(),
                name,
                description: Some("made by gw api-key create --stage".into()),
                api_stages: vec![model::UsagePlanStage {
                    api_id: api.id.clone(),
                    stage: stage.to_string(),
                    throttle: Default::default(),
                }],
                throttle: None,
                quota: None,
                tags: Default::default(),
                key_ids: Vec::new(),
            },
        };
        if !plan.key_ids.iter().any(|k| k == key_id) {
            plan.key_ids.push(key_id.to_string());
        }
        tx.put_usage_plan(&plan)?;
        Ok(plan)
    })?)
}
