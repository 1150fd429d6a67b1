//! Stages: the checks AWS applies to what a stage holds (its name, variables, canary
//! percentage), CreateStage and DeleteStage, and every change to an existing stage (variables,
//! method throttling, access-log format), each through `update_stage`: read, change, write
//! in one transaction, with the stage's last-updated time advanced.

use super::{invalid, not_found, ControlError, Result};
use crate::model::{self, RestApi, Stage};
use crate::store::{self, Store, StoreError};
use std::collections::BTreeMap;

pub(super) fn check_stage_name(name: &str) -> Result<()> {
    if model::valid_stage_name(name) {
        Ok(())
    } else {
        Err(invalid(format!(
            "Stage name only allows a-zA-Z0-9_- (got {name:?}, at most 128 characters)"
        )))
    }
}

/// Validate stage variables as AWS does.
pub fn check_variables(vars: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in vars {
        if !model::valid_variable_name(k) {
            return Err(invalid(format!(
                "Stage variable name {k:?} is invalid: use letters, digits and _ (at most 64 characters)"
            )));
        }
        if !model::valid_variable_value(v) {
            return Err(invalid(format!(
                "Stage variable value {v:?} of {k} is invalid: allowed characters are A-Za-z0-9 - . _ ~ : / ? # & = , (at most 512)"
            )));
        }
    }
    Ok(())
}

pub(super) fn check_percent(pct: f64) -> Result<()> {
    if (0.0..=100.0).contains(&pct) {
        Ok(())
    } else {
        Err(invalid(format!(
            "Canary traffic percentage {pct} is out of range: use a number from 0.0 to 100.0"
        )))
    }
}

/// Apply `f` to one stage of an API, in one transaction.
pub fn update_stage<T: Send>(
    store: &Store,
    api: Option<&str>,
    stage_name: &str,
    f: impl FnOnce(&mut Stage) -> Result<T> + Send,
) -> Result<(RestApi, Stage, T)> {
    update_stage_in(store, api, stage_name, |_, _, stage| f(stage))
}

/// [`update_stage`] with the open transaction and the API at hand, for updates that must check
/// other state in the same transaction (UpdateStage's patch checks that deployment ids exist).
pub fn update_stage_in<T: Send>(
    store: &Store,
    api: Option<&str>,
    stage_name: &str,
    f: impl FnOnce(&store::Tx, &RestApi, &mut Stage) -> Result<T> + Send,
) -> Result<(RestApi, Stage, T)> {
    let mut f = Some(f);
    let mut out = None;
    let (api, stage) = store.write(|tx| {
        let api = tx.resolve_api(api)?;
        let mut stage = tx.stage(&api.id, stage_name)?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "Invalid Stage identifier specified: no stage {stage_name:?} in API {} ({})",
                api.name, api.id
            ))
        })?;
        if let Some(f) = f.take() {
            match f(tx, &api, &mut stage) {
                Ok(v) => out = Some(v),
                Err(ControlError::Store(e)) => return Err(e),
                Err(ControlError::Import(e)) => return Err(StoreError::Invalid(e.to_string())),
            }
        }
        stage.last_updated_date = store::now();
        tx.put_stage(&api.id, &stage)?;
        Ok((api, stage))
    })?;
    let out = out.ok_or_else(|| invalid("stage update did not run"))?;
    Ok((api, stage, out))
}

/// CreateStage: a new stage pointing at an existing deployment (its canary, if any, too).
/// Errors as AWS words them: unknown deployment "Invalid Deployment identifier specified",
/// unknown canary deployment "Deployment id does not exist", existing stage "Stage already exists".
pub fn create_stage(
    store: &Store,
    api: Option<&str>,
    mut stage: Stage,
) -> Result<(RestApi, Stage)> {
    check_stage_name(&stage.stage_name)?;
    check_variables(&stage.variables)?;
    if let Some(c) = &stage.canary_settings {
        check_percent(c.percent_traffic)?;
        check_variables(&c.stage_variable_overrides)?;
    }
    Ok(store.write(|tx| {
        let api = tx.resolve_api(api)?;
        if tx.deployment(&api.id, &stage.deployment_id)?.is_none() {
            return Err(StoreError::NotFound(
                "Invalid Deployment identifier specified".into(),
            ));
        }
        if let Some(c) = &stage.canary_settings {
            if tx.deployment(&api.id, &c.deployment_id)?.is_none() {
                return Err(StoreError::Invalid("Deployment id does not exist".into()));
            }
        }
        if tx.stage(&api.id, &stage.stage_name)?.is_some() {
            return Err(StoreError::Conflict("Stage already exists".into()));
        }
        let now = store::now();
        stage.created_date = now;
        stage.last_updated_date = now;
        tx.put_stage(&api.id, &stage)?;
        super::ramp::record(
            tx,
            &api.id,
            &stage,
            "deploy",
            "user",
            Some("CreateStage".into()),
            None,
        )?;
        Ok((api, stage))
    })?)
}

pub fn set_variables(
    store: &Store,
    api: Option<&str>,
    stage: &str,
    vars: &BTreeMap<String, String>,
) -> Result<(RestApi, Stage)> {
    check_variables(vars)?;
    let (api, stage, ()) = update_stage(store, api, stage, |s| {
        s.variables.extend(vars.clone());
        Ok(())
    })?;
    Ok((api, stage))
}

pub fn unset_variable(
    store: &Store,
    api: Option<&str>,
    stage: &str,
    key: &str,
) -> Result<(RestApi, Stage)> {
    let (api, stage, ()) = update_stage(store, api, stage, |s| {
        s.variables
            .remove(key)
            .map(|_| ())
            .ok_or_else(|| not_found(format!("stage {} has no variable {key:?}", s.stage_name)))
    })?;
    Ok((api, stage))
}

/// A stage's method throttling (`methodSettings`), as UpdateStage sets it: `method` is `None`
/// for every method (`*/*`) or `(VERB, /path)` for one; `limits` is `(rate per second, burst)`,
/// or `None` to remove the setting.
pub fn set_throttle(
    store: &Store,
    api: Option<&str>,
    stage: &str,
    method: Option<(&str, &str)>,
    limits: Option<(f64, i64)>,
) -> Result<(RestApi, Stage)> {
    let (api, stage, ()) = update_stage_in(store, api, stage, |_, api, s| {
        let key = match method {
            None => "*/*".to_string(),
            Some((verb, path)) => {
                let verb = verb.to_ascii_uppercase();
                let known = api.resources.iter().any(|r| {
                    r.path == path && (r.resource_methods.contains_key(&verb) || verb == "*")
                });
                if !known {
                    return Err(invalid(format!(
                        "API {} has no method {verb} {path}; `gw routes` lists its methods",
                        api.name
                    )));
                }
                format!("{}/{verb}", path.trim_start_matches('/'))
            }
        };
        match limits {
            Some((rate, burst)) if rate.is_finite() && rate >= 0.0 && burst >= 0 => {
                let entry = s.method_settings.entry(key).or_default();
                entry.throttling_rate_limit = rate;
                entry.throttling_burst_limit = burst;
            }
            Some(_) => {
                return Err(invalid(
                    "a throttle needs a rate (requests per second) and a burst of 0 or more",
                ))
            }
            None => {
                if let Some(entry) = s.method_settings.get_mut(&key) {
                    entry.throttling_rate_limit = -1.0;
                    entry.throttling_burst_limit = -1;
                    if *entry == crate::model::MethodSetting::default() {
                        s.method_settings.remove(&key);
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok((api, stage))
}

/// A stage's access-log format (`accessLogSettings.format`), or `None` to stop logging.
pub fn set_access_log(
    store: &Store,
    api: Option<&str>,
    stage: &str,
    format: Option<&str>,
) -> Result<(RestApi, Stage)> {
    let (api, stage, ()) = update_stage(store, api, stage, |s| {
        match format {
            Some(f) => {
                crate::model::check_access_log_format(f).map_err(invalid)?;
                s.access_log_settings
                    .get_or_insert_with(Default::default)
                    .format = Some(f.to_string());
            }
            None => s.access_log_settings = None,
        }
        Ok(())
    })?;
    Ok((api, stage))
}

pub fn delete_stage(store: &Store, api: Option<&str>, stage: &str) -> Result<RestApi> {
    Ok(store.write(|tx| {
        let api = tx.resolve_api(api)?;
        tx.delete_stage(&api.id, stage).map_err(|_| {
            StoreError::NotFound(format!(
                "Invalid Stage identifier specified: no stage {stage:?} in API {} ({})",
                api.name, api.id
            ))
        })?;
        Ok(api)
    })?)
}
