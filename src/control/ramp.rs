//! Automatic progressive delivery (beyond AWS): a canary ramp's record, its transitions and the
//! stage history every transition of a stage is written to. The judging (figures against gates)
//! is the server's ramp driver's; every change it decides is one transaction here that changes
//! the stage, updates or ends the ramp and writes the history entry together.

use super::{invalid, not_found, Result};
use crate::model::{HistoryEntry, Ramp, Stage};
use crate::store::{self, Store, StoreError, Tx};
use std::time::Duration;

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Appends a transition of `stage` (as it is after the change) to its history.
pub(super) fn record(
    tx: &Tx,
    api_id: &str,
    stage: &Stage,
    action: &str,
    by: &str,
    reason: Option<String>,
    canary_deployment_id: Option<String>,
) -> store::Result<()> {
    let canary = stage.canary_settings.as_ref();
    tx.add_history(
        api_id,
        &stage.stage_name,
        &HistoryEntry {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            action: action.to_string(),
            percent: canary.map(|c| c.percent_traffic),
            by: by.to_string(),
            reason,
            deployment_id: stage.deployment_id.clone(),
            canary_deployment_id: canary_deployment_id
                .or_else(|| canary.map(|c| c.deployment_id.clone())),
        },
    )
}

/// Records what a change made outside gw's own verbs (UpdateStage through the management API)
/// did to a stage's deployments, as the verb that would have done it: `promote` when the
/// canary's deployment became production's, `rollback` when the canary ended otherwise,
/// `deploy` when a canary or production's deployment changed, `percent` when only the share
/// moved; nothing when none of these changed what is served. `reason` names the call.
pub fn record_change(
    tx: &Tx,
    api_id: &str,
    before: &Stage,
    after: &Stage,
    reason: &str,
) -> store::Result<()> {
    let (was, now) = (
        before.canary_settings.as_ref(),
        after.canary_settings.as_ref(),
    );
    let moved = before.deployment_id != after.deployment_id;
    let (action, acted_on, what) = match (was, now) {
        // AWS's console promotes by copying the canary's deployment to production's (and may
        // keep the emptied canary settings, or remove them in the same call).
        (Some(c), _) if moved && after.deployment_id == c.deployment_id => (
            "promote",
            Some(c.deployment_id.clone()),
            "made the canary's deployment production's",
        ),
        // What is left of a canary promoted that way: nothing served changes.
        (Some(c), None) if c.deployment_id == after.deployment_id => return Ok(()),
        (Some(c), None) => (
            "rollback",
            Some(c.deployment_id.clone()),
            "removed the canary settings",
        ),
        (None, Some(_)) => ("deploy", None, "added a canary"),
        (Some(b), Some(a)) if b.deployment_id != a.deployment_id => {
            ("deploy", None, "changed the canary's deployment")
        }
        _ if moved => ("deploy", None, "changed production's deployment"),
        (Some(b), Some(a)) if b.percent_traffic != a.percent_traffic => {
            ("percent", None, "set the canary's share")
        }
        _ => return Ok(()),
    };
    let reason = format!("{reason} {what}");
    record(tx, api_id, after, action, "user", Some(reason), acted_on)
}

/// What the dashboard shows of a stage beside its figures: the running ramp, the latest
/// transitions (newest first) and how many there are in all.
#[derive(Debug, Clone, Default)]
pub struct StageRecord {
    pub ramp: Option<Ramp>,
    pub recent: Vec<HistoryEntry>,
    pub transitions: u64,
}

/// [`StageRecord`]s of the given `(api id, stage)` pairs, in their order, read in one
/// transaction.
pub fn stage_records(
    store: &Store,
    stages: &[(String, String)],
    recent: usize,
) -> Result<Vec<StageRecord>> {
    Ok(store.read(|tx| {
        let mut out = Vec::with_capacity(stages.len());
        for (api, stage) in stages {
            let (entries, transitions) = tx.recent_history(api, stage, recent)?;
            out.push(StageRecord {
                ramp: tx.ramp(api, stage)?,
                recent: entries,
                transitions,
            });
        }
        Ok(out)
    })?)
}

/// What `gw deploy --canary P --ramp ... --step ...` asks for.
#[derive(Debug, Clone)]
pub struct RampPlan {
    /// The percentages after the starting one, rising, each from 0 to 100.
    pub steps: Vec<f64>,
    pub step: Duration,
    /// `gateway::verdict::Gates` as JSON.
    pub gates: serde_json::Value,
}

pub(super) fn check_plan(start: f64, plan: &RampPlan) -> Result<()> {
    if plan.steps.is_empty() {
        return Err(invalid(
            "--ramp needs at least one percentage, like --ramp 50,100",
        ));
    }
    let mut last = start;
    for &p in &plan.steps {
        if !(0.0..=100.0).contains(&p) || p <= last {
            return Err(invalid(format!(
                "--ramp {p}: each step must be above the one before it (starting at --canary {start}) and at most 100, like --canary 10 --ramp 50,100"
            )));
        }
        last = p;
    }
    if plan.step < Duration::from_millis(100) {
        return Err(invalid(format!(
            "--step {:?} is too short: give at least 100ms, like 1m or 30s",
            plan.step
        )));
    }
    Ok(())
}

pub(super) fn new_ramp(canary_deployment_id: &str, plan: &RampPlan) -> Ramp {
    let step_ms = u64::try_from(plan.step.as_millis()).unwrap_or(u64::MAX);
    Ramp {
        canary_deployment_id: canary_deployment_id.to_string(),
        steps: plan.steps.clone(),
        step: 0,
        step_ms,
        gates: plan.gates.clone(),
        deadline_ms: now_ms().saturating_add(i64::try_from(step_ms).unwrap_or(i64::MAX)),
        paused: false,
        lease_owner: None,
        lease_expires_ms: 0,
        baseline: serde_json::Value::Null,
    }
}

/// A stage's history, oldest first.
pub fn stage_history(
    store: &Store,
    api: Option<&str>,
    stage: &str,
) -> Result<(crate::model::RestApi, Vec<HistoryEntry>)> {
    Ok(store.read(|tx| {
        let api = tx.resolve_api(api)?;
        if tx.stage(&api.id, stage)?.is_none() {
            return Err(StoreError::NotFound(format!(
                "no stage {stage:?} in API {}; list them with `gw stages`",
                api.name
            )));
        }
        let h = tx.history(&api.id, stage)?;
        Ok((api, h))
    })?)
}

/// A stage's running ramp, if any.
pub fn stage_ramp(store: &Store, api_id: &str, stage: &str) -> Result<Option<Ramp>> {
    Ok(store.read(|tx| tx.ramp(api_id, stage))?)
}

/// What `gw canary --pause|--resume|--abort` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RampControl {
    Pause,
    Resume,
    /// Roll the canary back and end the ramp.
    Abort,
}

/// Pauses, resumes or aborts a stage's ramp, in one transaction with its history entry.
pub fn control_ramp(
    store: &Store,
    api: Option<&str>,
    stage: Option<&str>,
    what: RampControl,
) -> Result<Stage> {
    let name = super::canary_stage(store, api, stage)?;
    let (_, stage, ()) = super::update_stage_in(store, api, &name, |tx, api, s| {
        let Some(mut ramp) = tx.ramp(&api.id, &name)? else {
            return Err(not_found(format!(
                "stage {name} has no ramp; start one with `gw deploy --stage {name} --canary PCT --ramp PCT,...,100 --step DURATION`"
            )));
        };
        match what {
            RampControl::Pause => {
                ramp.paused = true;
                tx.put_ramp(&api.id, &name, &ramp)?;
                record(tx, &api.id, s, "pause", "user", None, None)?;
            }
            RampControl::Resume => {
                ramp.paused = false;
                ramp.deadline_ms =
                    now_ms().saturating_add(i64::try_from(ramp.step_ms).unwrap_or(i64::MAX));
                tx.put_ramp(&api.id, &name, &ramp)?;
                record(tx, &api.id, s, "resume", "user", None, None)?;
            }
            RampControl::Abort => {
                let canary = s.canary_settings.take().map(|c| c.deployment_id);
                tx.delete_ramp(&api.id, &name)?;
                record(
                    tx,
                    &api.id,
                    s,
                    "rollback",
                    "user",
                    Some("ramp aborted".into()),
                    canary,
                )?;
            }
        }
        Ok(())
    })?;
    Ok(stage)
}

/// Takes or renews the lease on a ramp for `owner` until `ttl` from now, if the lease is free,
/// expired or `owner`'s already. The ramp as leased, or `None` when another server holds it (or
/// the ramp is gone). Does not advance the store's generation: servers do not reload for it.
pub fn lease_ramp(
    store: &Store,
    api_id: &str,
    stage: &str,
    owner: &str,
    ttl: Duration,
) -> Result<Option<Ramp>> {
    Ok(store.write_unversioned(|tx| {
        let Some(mut ramp) = tx.ramp(api_id, stage)? else {
            return Ok(None);
        };
        let now = now_ms();
        let mine = ramp.lease_owner.as_deref() == Some(owner);
        if !mine && ramp.lease_owner.is_some() && ramp.lease_expires_ms > now {
            return Ok(None);
        }
        ramp.lease_owner = Some(owner.to_string());
        ramp.lease_expires_ms =
            now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        tx.put_ramp(api_id, stage, &ramp)?;
        Ok(Some(ramp))
    })?)
}

/// A ramp driver's decision at a step's deadline.
#[derive(Debug, Clone)]
pub enum RampMove {
    /// The step passed: go to the next percentage; `baseline` is the counts now (the next
    /// step's start).
    Advance {
        baseline: serde_json::Value,
        reason: String,
    },
    /// The last step passed: promote.
    Promote { reason: String },
    /// A gate failed: roll back.
    Rollback { reason: String },
    /// Too few requests: extend the step.
    Extend { reason: String },
}

/// Applies a driver's decision, in one transaction with the stage change, the ramp's update and
/// the history entry — only if `owner` still holds the lease and the ramp is still at `step`
/// (so two servers never apply one step twice). True if it was applied.
pub fn move_ramp(
    store: &Store,
    api_id: &str,
    stage_name: &str,
    owner: &str,
    step: usize,
    mv: RampMove,
) -> Result<bool> {
    Ok(store.write(|tx| {
        let Some(mut ramp) = tx.ramp(api_id, stage_name)? else {
            return Ok(false);
        };
        if ramp.lease_owner.as_deref() != Some(owner)
            || ramp.lease_expires_ms <= now_ms()
            || ramp.step != step
            || ramp.paused
        {
            return Ok(false);
        }
        let Some(mut stage) = tx.stage(api_id, stage_name)? else {
            tx.delete_ramp(api_id, stage_name)?;
            return Ok(false);
        };
        let canary_id = match &stage.canary_settings {
            Some(c) if c.deployment_id == ramp.canary_deployment_id => c.deployment_id.clone(),
            // The canary changed under the ramp: the ramp is over.
            _ => {
                tx.delete_ramp(api_id, stage_name)?;
                return Ok(false);
            }
        };
        let step_ms = i64::try_from(ramp.step_ms).unwrap_or(i64::MAX);
        match mv {
            RampMove::Advance { baseline, reason } => {
                let Some(next) = ramp.next_percent() else {
                    return Ok(false);
                };
                if let Some(c) = stage.canary_settings.as_mut() {
                    c.percent_traffic = next;
                }
                ramp.step += 1;
                ramp.baseline = baseline;
                ramp.deadline_ms = now_ms().saturating_add(step_ms);
                tx.put_ramp(api_id, stage_name, &ramp)?;
                record(tx, api_id, &stage, "percent", "ramp", Some(reason), None)?;
            }
            RampMove::Extend { reason } => {
                ramp.deadline_ms = now_ms().saturating_add(step_ms);
                tx.put_ramp(api_id, stage_name, &ramp)?;
                record(tx, api_id, &stage, "extend", "ramp", Some(reason), None)?;
            }
            RampMove::Promote { reason } => {
                if let Some(c) = stage.canary_settings.take() {
                    stage.deployment_id = c.deployment_id;
                    stage.variables.extend(c.stage_variable_overrides);
                }
                tx.delete_ramp(api_id, stage_name)?;
                record(
                    tx,
                    api_id,
                    &stage,
                    "promote",
                    "ramp",
                    Some(reason),
                    Some(canary_id),
                )?;
            }
            RampMove::Rollback { reason } => {
                stage.canary_settings = None;
                tx.delete_ramp(api_id, stage_name)?;
                record(
                    tx,
                    api_id,
                    &stage,
                    "rollback",
                    "ramp",
                    Some(reason),
                    Some(canary_id),
                )?;
            }
        }
        stage.last_updated_date = store::now();
        tx.put_stage(api_id, &stage)?;
        Ok(true)
    })?)
}

/// Every ramp with its stage: `(api id, stage, ramp)`, for the driver.
pub fn ramps(store: &Store) -> Result<Vec<(String, Stage, Ramp)>> {
    Ok(store.read(|tx| {
        let mut out = Vec::new();
        for (api, name, ramp) in tx.ramps()? {
            if let Some(stage) = tx.stage(&api, &name)? {
                out.push((api, stage, ramp));
            }
        }
        Ok(out)
    })?)
}
