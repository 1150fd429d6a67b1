//! Deployments and canary releases: deploy (freeze the API, point a stage at it), canary
//! deploy, promote, roll back and the canary's share of traffic. The canary operations find
//! their stage the same way (`canary_stage`: the only stage with a canary when none is named),
//! and change it through `stages::update_stage`, in one transaction each.

use super::ramp::{check_plan, new_ramp, record, RampPlan};
use super::stages::{check_percent, check_stage_name, check_variables, update_stage_in};
use super::{invalid, not_found, Result};
use crate::model::{self, CanarySettings, Deployment, RestApi, Stage};
use crate::store::{self, Store, StoreError};
use std::collections::BTreeMap;

/// What `deploy` did.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub api: RestApi,
    pub deployment: Deployment,
    pub stage: Stage,
    /// The canary deployment a plain deploy replaced, if any.
    pub dropped_canary: Option<String>,
}

/// Freeze the API into a new deployment and point `stage_name` at it (creating the stage).
pub fn deploy(
    store: &Store,
    api: Option<&str>,
    stage_name: &str,
    description: Option<&str>,
    vars: &BTreeMap<String, String>,
) -> Result<Deployed> {
    check_stage_name(stage_name)?;
    check_variables(vars)?;
    Ok(store.write(|tx| {
        let api = tx.resolve_api(api)?;
        let deployment = tx.create_deployment(&api, description)?;
        let now = store::now();
        let (stage, dropped_canary) = match tx.stage(&api.id, stage_name)? {
            Some(mut s) => {
                s.deployment_id = deployment.id.clone();
                s.variables.extend(vars.clone());
                s.last_updated_date = now;
                let dropped = s.canary_settings.take().map(|c| c.deployment_id);
                (s, dropped)
            }
            None => (
                Stage {
                    stage_name: stage_name.to_string(),
                    deployment_id: deployment.id.clone(),
                    description: None,
                    variables: vars.clone(),
                    canary_settings: None,
                    tracing_enabled: false,
                    method_settings: Default::default(),
                    access_log_settings: None,
                    documentation_version: None,
                    tags: Default::default(),
                    created_date: now,
                    last_updated_date: now,
                },
                None,
            ),
        };
        tx.put_stage(&api.id, &stage)?;
        tx.delete_ramp(&api.id, stage_name)?;
        record(tx, &api.id, &stage, "deploy", "user", None, None)?;
        Ok(Deployed {
            api,
            deployment,
            stage,
            dropped_canary,
        })
    })?)
}

/// Freeze a new deployment as the canary of an existing stage.
pub fn deploy_canary(
    store: &Store,
    api: Option<&str>,
    stage_name: &str,
    percent: f64,
    overrides: &BTreeMap<String, String>,
    description: Option<&str>,
    sticky: Option<&str>,
) -> Result<Deployed> {
    deploy_canary_ramp(
        store,
        api,
        stage_name,
        percent,
        overrides,
        description,
        sticky,
        None,
    )
}

/// [`deploy_canary`], and with `ramp` an automatic ramp of the new canary, in one transaction.
#[allow(clippy::too_many_arguments)]
pub fn deploy_canary_ramp(
    store: &Store,
    api: Option<&str>,
    stage_name: &str,
    percent: f64,
    overrides: &BTreeMap<String, String>,
    description: Option<&str>,
    sticky: Option<&str>,
    ramp: Option<&RampPlan>,
) -> Result<Deployed> {
    check_percent(percent)?;
    check_variables(overrides)?;
    check_sticky(sticky)?;
    if let Some(plan) = ramp {
        check_plan(percent, plan)?;
    }
    Ok(store.write(|tx| {
        let api = tx.resolve_api(api)?;
        let Some(mut stage) = tx.stage(&api.id, stage_name)? else {
            return Err(StoreError::Invalid(format!(
                "Invalid deployment content specified.Stage {stage_name} must already be created before making a canary release deployment"
            )));
        };
        let deployment = tx.create_deployment(&api, description)?;
        stage.canary_settings = Some(CanarySettings {
            percent_traffic: percent,
            deployment_id: deployment.id.clone(),
            stage_variable_overrides: overrides.clone(),
            use_stage_cache: false,
            sticky: sticky.map(str::to_string),
        });
        stage.last_updated_date = store::now();
        tx.put_stage(&api.id, &stage)?;
        tx.delete_ramp(&api.id, stage_name)?;
        let reason = match ramp {
            Some(plan) => {
                tx.put_ramp(&api.id, stage_name, &new_ramp(&deployment.id, plan))?;
                Some(format!(
                    "ramp {} every {:?}",
                    plan.steps
                        .iter()
                        .map(|p| format!("{p} %"))
                        .collect::<Vec<_>>()
                        .join(" → "),
                    plan.step
                ))
            }
            None => None,
        };
        record(tx, &api.id, &stage, "deploy", "user", reason, None)?;
        Ok(Deployed {
            api,
            deployment,
            stage,
            dropped_canary: None,
        })
    })?)
}

/// The stage meant when `--stage` is left out: the only one with a canary.
pub fn canary_stage(store: &Store, api: Option<&str>, stage: Option<&str>) -> Result<String> {
    if let Some(s) = stage {
        return Ok(s.to_string());
    }
    let (api, stages) = store.read(|tx| {
        let api = tx.resolve_api(api)?;
        let stages = tx.stages(&api.id)?;
        Ok((api, stages))
    })?;
    let with: Vec<&Stage> = stages
        .iter()
        .filter(|s| s.canary_settings.is_some())
        .collect();
    match with.as_slice() {
        [one] => Ok(one.stage_name.clone()),
        [] => Err(not_found(format!(
            "no stage of API {} has a canary; start one with `gw deploy --stage STAGE --canary PERCENT`",
            api.name
        ))),
        many => Err(invalid(format!(
            "several stages have a canary ({}); choose one with --stage",
            many.iter()
                .map(|s| s.stage_name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub const NO_CANARY: &str = "Promotion not available. Canary does not exist.";

/// Promote: production takes the canary's deployment, the overrides merge into the variables,
/// and the canary is switched off.
pub fn promote(store: &Store, api: Option<&str>, stage: Option<&str>) -> Result<(RestApi, Stage)> {
    let name = canary_stage(store, api, stage)?;
    let (api, stage, ()) = update_stage_in(store, api, &name, |tx, api, s| {
        let canary = s.canary_settings.take().ok_or_else(|| invalid(NO_CANARY))?;
        let id = canary.deployment_id.clone();
        s.deployment_id = canary.deployment_id;
        s.variables.extend(canary.stage_variable_overrides);
        let reason = tx
            .delete_ramp(&api.id, &name)?
            .then(|| "promoted by hand: the ramp ended".to_string());
        record(tx, &api.id, s, "promote", "user", reason, Some(id))?;
        Ok(())
    })?;
    Ok((api, stage))
}

/// Roll back: remove the canary; production untouched.
pub fn rollback(
    store: &Store,
    api: Option<&str>,
    stage: Option<&str>,
) -> Result<(RestApi, Stage, String)> {
    let name = canary_stage(store, api, stage)?;
    update_stage_in(store, api, &name, |tx, api, s| {
        let id = s
            .canary_settings
            .take()
            .map(|c| c.deployment_id)
            .ok_or_else(|| invalid(format!("stage {name} has no canary to roll back")))?;
        let reason = tx
            .delete_ramp(&api.id, &name)?
            .then(|| "rolled back by hand: the ramp ended".to_string());
        record(tx, &api.id, s, "rollback", "user", reason, Some(id.clone()))?;
        Ok(id)
    })
}

/// Change the canary's share of traffic.
pub fn set_canary_percent(
    store: &Store,
    api: Option<&str>,
    stage: Option<&str>,
    percent: f64,
) -> Result<(RestApi, Stage)> {
    set_canary(store, api, stage, Some(percent), None)
}

/// `sticky` as `--sticky` takes it (`ip`, `header:NAME`, `cookie`, `cookie:NAME`), checked.
fn check_sticky(sticky: Option<&str>) -> Result<()> {
    match sticky.map(model::Sticky::parse) {
        Some(Err(e)) => Err(invalid(e)),
        _ => Ok(()),
    }
}

/// Changes a canary's share and/or its sticky key (`Some(None)`: back to AWS's draw per request),
/// in one transaction.
pub fn set_canary(
    store: &Store,
    api: Option<&str>,
    stage: Option<&str>,
    percent: Option<f64>,
    sticky: Option<Option<&str>>,
) -> Result<(RestApi, Stage)> {
    if let Some(p) = percent {
        check_percent(p)?;
    }
    check_sticky(sticky.flatten())?;
    let name = canary_stage(store, api, stage)?;
    let (api, stage, ()) = update_stage_in(store, api, &name, |tx, api, s| {
        match &mut s.canary_settings {
            Some(c) => {
                if let Some(p) = percent {
                    c.percent_traffic = p;
                }
                if let Some(k) = sticky {
                    c.sticky = k.map(str::to_string);
                }
                if percent.is_some() {
                    record(tx, &api.id, s, "percent", "user", None, None)?;
                }
                Ok(())
            }
            None => Err(invalid(format!(
            "stage {name} has no canary; create one with `gw deploy --stage {name} --canary PCT`"
        ))),
        }
    })?;
    Ok((api, stage))
}

/// UpdateDeployment's `/description`: `Some(None)` clears it, `None` leaves it.
pub fn update_deployment_description(
    store: &Store,
    api_id: &str,
    deployment_id: &str,
    description: Option<Option<String>>,
) -> Result<crate::model::Deployment> {
    Ok(store.write(|tx| {
        if tx.find_api(api_id)?.filter(|a| a.id == api_id).is_none() {
            return Err(StoreError::NotFound(
                "Invalid API identifier specified".into(),
            ));
        }
        if let Some(d) = &description {
            tx.set_deployment_description(api_id, deployment_id, d.as_deref())?;
        }
        tx.deployment(api_id, deployment_id)?
            .ok_or_else(|| StoreError::NotFound("Invalid Deployment identifier specified".into()))
    })?)
}
