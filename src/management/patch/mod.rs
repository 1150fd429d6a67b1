//! UpdateStage's patch engine: AWS's JSON-patch dialect for a [`Stage`], as a pure function.
//!
//! Operations apply in order to a copy of the stage; the stage is replaced only when every
//! operation succeeded, so a failing operation leaves it untouched (all-or-nothing). Values arrive
//! as strings (`"25.0"`, `"true"`), as on the wire. Paths are JSON pointers with `~1` for `/`
//! and `~0` for `~` inside a key. Error texts are AWS's (reference §3; LocalStack's snapshot
//! tests recorded against AWS), or, for settings AWS accepts but gw does not emulate, a message
//! that says so.
//!
//! `paths` reads what a path names (and words AWS's message for one that names nothing); this
//! module applies an operation to what it names, in one table over (target, operation); the
//! tests drive both through [`apply`].
//!
//! Architecture invariant: no I/O. Whether a deployment exists is asked through a closure, so the
//! caller decides (the management API asks the store inside the same transaction).

mod paths;
#[cfg(test)]
mod tests;

use crate::model::{self, CanarySettings, Stage};
use paths::{target, Target};
use serde::Deserialize;

pub use paths::invalid_path_message;

/// One operation of `patchOperations`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PatchOp {
    pub op: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
}

impl PatchOp {
    pub fn new(op: &str, path: &str, value: Option<&str>) -> PatchOp {
        PatchOp {
            op: op.into(),
            path: path.into(),
            value: value.map(Into::into),
            from: None,
        }
    }

    pub fn copy(from: &str, path: &str) -> PatchOp {
        PatchOp {
            op: "copy".into(),
            path: path.into(),
            value: None,
            from: Some(from.into()),
        }
    }
}

/// A rejected operation: AWS answers these with 400 `BadRequestException` and this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(pub String);

fn bad(msg: impl Into<String>) -> PatchError {
    PatchError(msg.into())
}

const INVALID_COPY_TAIL: &str = "Valid copy:path are [/deploymentId, /variables] and valid copy:from are [/canarySettings/deploymentId, /canarySettings/stageVariableOverrides]";

/// A canary with AWS's defaults: production's deployment, 0 %, no overrides, no stage cache.
fn default_canary(stage: &Stage) -> CanarySettings {
    CanarySettings {
        percent_traffic: 0.0,
        deployment_id: stage.deployment_id.clone(),
        stage_variable_overrides: Default::default(),
        use_stage_cache: false,
        sticky: None,
    }
}

fn value(op: &PatchOp) -> Result<&str, PatchError> {
    op.value
        .as_deref()
        .ok_or_else(|| bad(format!("Invalid null value for path: {}", op.path)))
}

fn boolean(op: &PatchOp) -> Result<bool, PatchError> {
    // AWS (and LocalStack after it) reads anything but "true" as false.
    Ok(value(op)?.eq_ignore_ascii_case("true"))
}

fn check_deployment(id: &str, exists: &impl Fn(&str) -> bool) -> Result<(), PatchError> {
    if exists(id) {
        Ok(())
    } else {
        Err(bad("Deployment id does not exist"))
    }
}

fn check_variable(name: &str, value: &str) -> Result<(), PatchError> {
    if !model::valid_variable_name(name) {
        return Err(bad(format!(
            "Stage variable name {name} is invalid: only alphanumeric characters and underscores are allowed (at most 64)"
        )));
    }
    if !model::valid_variable_value(value) {
        return Err(bad(format!(
            "Stage variable value {value} is invalid: allowed characters are A-Za-z0-9-._~:/?#&=, (at most 512)"
        )));
    }
    Ok(())
}

/// Apply `ops` to `stage` in order, all or nothing.
pub fn apply(
    stage: &mut Stage,
    ops: &[PatchOp],
    deployment_exists: impl Fn(&str) -> bool,
) -> Result<(), PatchError> {
    let mut work = stage.clone();
    for op in ops {
        apply_one(&mut work, op, &deployment_exists)?;
    }
    *stage = work;
    Ok(())
}

fn apply_one(
    s: &mut Stage,
    op: &PatchOp,
    exists: &impl Fn(&str) -> bool,
) -> Result<(), PatchError> {
    let path = op.path.as_str();
    let kind = op.op.as_str();
    if !matches!(
        kind,
        "add" | "remove" | "replace" | "move" | "copy" | "test"
    ) {
        return Err(bad(format!(
            "Invalid patch operation specified. Must be one of: [add, remove, replace, move, copy, test] (got {kind})"
        )));
    }
    let t = target(path);

    // The canary's own paths: only `replace` (and `remove` of the whole canary, or of one
    // override as the developer guide shows); `copy` is the promotion, handled below.
    if path.starts_with("/canarySettings") && kind != "copy" && kind != "replace" {
        return match (&t, kind) {
            (Target::Canary, "remove") => {
                s.canary_settings = None;
                Ok(())
            }
            (Target::CanaryOverride(name), "remove") => {
                if let Some(c) = &mut s.canary_settings {
                    c.stage_variable_overrides.remove(name);
                }
                Ok(())
            }
            (
                Target::CanaryPercent
                | Target::CanaryDeploymentId
                | Target::CanaryUseStageCache
                | Target::CanaryOverride(_),
                _,
            ) => Err(bad(format!("Invalid {kind} operation with path: {path}"))),
            _ => Err(bad(format!(
                "Cannot {kind} method setting {} because there is no method setting for this method ",
                path.trim_start_matches('/')
            ))),
        };
    }

    if kind == "copy" {
        let from = op.from.as_deref().unwrap_or("");
        let pair_ok = matches!(
            (path, from),
            ("/deploymentId", "/canarySettings/deploymentId")
                | ("/variables", "/canarySettings/stageVariableOverrides")
        );
        if !pair_ok {
            return Err(bad(format!(
                "Invalid copy operation with path: {path} and from {from}. {INVALID_COPY_TAIL}"
            )));
        }
        let Some(canary) = s.canary_settings.clone() else {
            return Err(bad(crate::control::NO_CANARY));
        };
        if path == "/deploymentId" {
            s.deployment_id = canary.deployment_id;
        } else {
            s.variables.extend(canary.stage_variable_overrides);
        }
        return Ok(());
    }

    match (t, kind) {
        (Target::Invalid | Target::Canary, _) => Err(bad(invalid_path_message(path))),
        (Target::NotEmulated(what), _) => Err(bad(format!(
            "gw does not emulate {what}: the path {path} is valid on AWS but has no effect here; remove this patch operation"
        ))),
        (_, "move" | "test") => Err(bad(format!("Invalid {kind} operation with path: {path}"))),
        (Target::DeploymentId, "remove") => {
            Err(bad(format!("Invalid remove operation with path: {path}")))
        }
        (Target::DeploymentId, _) => {
            let id = value(op)?;
            check_deployment(id, exists)?;
            s.deployment_id = id.to_string();
            Ok(())
        }
        (Target::Description, "remove") => {
            s.description = None;
            Ok(())
        }
        (Target::Description, _) => {
            s.description = op.value.clone().filter(|d| !d.is_empty());
            Ok(())
        }
        (Target::DocumentationVersion, "remove") => {
            s.documentation_version = None;
            Ok(())
        }
        (Target::DocumentationVersion, _) => {
            s.documentation_version = op.value.clone().filter(|v| !v.is_empty());
            Ok(())
        }
        (Target::TracingEnabled, "remove") => {
            s.tracing_enabled = false;
            Ok(())
        }
        (Target::TracingEnabled, _) => {
            s.tracing_enabled = boolean(op)?;
            Ok(())
        }
        (Target::Variable(name), "remove") => {
            s.variables.remove(&name);
            Ok(())
        }
        (Target::Variable(name), _) => {
            let v = value(op)?;
            check_variable(&name, v)?;
            s.variables.insert(name, v.to_string());
            Ok(())
        }
        // Canary sub-paths, `replace` only (checked above): creates the canary when missing.
        (Target::CanaryPercent, _) => {
            let raw = value(op)?;
            let pct = raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite())
                .ok_or_else(|| bad(format!("Invalid percentTraffic value: {raw}")))?;
            if !(0.0..=100.0).contains(&pct) {
                return Err(bad(
                    "Canary traffic percentage must be between 0.0 and 100.0",
                ));
            }
            canary(s).percent_traffic = pct;
            Ok(())
        }
        (Target::CanaryDeploymentId, _) => {
            let id = value(op)?;
            check_deployment(id, exists)?;
            canary(s).deployment_id = id.to_string();
            Ok(())
        }
        (Target::CanaryUseStageCache, _) => {
            let b = boolean(op)?;
            canary(s).use_stage_cache = b;
            Ok(())
        }
        (Target::CanaryOverride(name), _) => {
            let v = value(op)?;
            check_variable(&name, v)?;
            canary(s).stage_variable_overrides.insert(name, v.to_string());
            Ok(())
        }
        (Target::MethodSetting { key, .. }, "remove") => {
            s.method_settings.remove(&key);
            Ok(())
        }
        (Target::MethodSetting { key, setting }, _) => {
            let raw = value(op)?.trim();
            let one_of = |allowed: &[&str]| {
                let v = raw.to_ascii_uppercase();
                if allowed.contains(&v.as_str()) {
                    Ok(v)
                } else {
                    Err(bad(format!(
                        "Invalid value {raw} for {path}: use one of {}",
                        allowed.join(", ")
                    )))
                }
            };
            let entry = s.method_settings.entry(key).or_default();
            match setting.as_str() {
                "throttling/burstLimit" => {
                    entry.throttling_burst_limit =
                        raw.parse::<i64>().ok().filter(|b| *b >= -1).ok_or_else(|| {
                            bad(format!(
                                "Invalid burst limit {raw}: send a whole number of requests, 0 or more (-1: not set)"
                            ))
                        })?
                }
                "throttling/rateLimit" => {
                    entry.throttling_rate_limit = raw
                        .parse::<f64>()
                        .ok()
                        .filter(|r| r.is_finite() && *r >= -1.0)
                        .ok_or_else(|| {
                            bad(format!(
                                "Invalid rate limit {raw}: send requests per second, 0 or more (-1: not set)"
                            ))
                        })?
                }
                "metrics/enabled" => entry.metrics_enabled = boolean(op)?,
                "logging/loglevel" => entry.logging_level = one_of(&["OFF", "ERROR", "INFO"])?,
                "logging/dataTrace" => entry.data_trace_enabled = boolean(op)?,
                "caching/enabled" if boolean(op)? => {
                    return Err(bad(format!(
                        "gw does not emulate response caching: the path {path} with true is valid on AWS but would not cache here; leave caching off"
                    )))
                }
                "caching/enabled" => entry.caching_enabled = false,
                "caching/ttlInSeconds" => {
                    entry.cache_ttl_in_seconds = raw
                        .parse::<i64>()
                        .ok()
                        .filter(|t| (0..=3600).contains(t))
                        .ok_or_else(|| {
                            bad(format!("Invalid cache TTL {raw}: from 0 to 3600 seconds"))
                        })?
                }
                "caching/dataEncrypted" => entry.cache_data_encrypted = boolean(op)?,
                "caching/requireAuthorizationForCacheControl" => {
                    entry.require_authorization_for_cache_control = boolean(op)?
                }
                _ => {
                    entry.unauthorized_cache_control_header_strategy = one_of(&[
                        "FAIL_WITH_403",
                        "SUCCEED_WITH_RESPONSE_HEADER",
                        "SUCCEED_WITHOUT_RESPONSE_HEADER",
                    ])?
                }
            }
            Ok(())
        }
        (Target::AccessLog, "remove") => {
            s.access_log_settings = None;
            Ok(())
        }
        (Target::AccessLog, _) => Err(bad(format!(
            "Invalid {kind} operation with path: {path}; set /accessLogSettings/format and /accessLogSettings/destinationArn"
        ))),
        (Target::AccessLogFormat | Target::AccessLogDestination, "remove") => {
            s.access_log_settings = None;
            Ok(())
        }
        (Target::AccessLogFormat, _) => {
            let format = value(op)?;
            check_access_log_format(format)?;
            s.access_log_settings.get_or_insert_with(Default::default).format =
                Some(format.to_string());
            Ok(())
        }
        (Target::AccessLogDestination, _) => {
            let arn = value(op)?;
            if !arn.starts_with("arn:") {
                return Err(bad("Invalid ARN specified in the request"));
            }
            s.access_log_settings
                .get_or_insert_with(Default::default)
                .destination_arn = Some(arn.to_string());
            Ok(())
        }
    }
}

fn check_access_log_format(format: &str) -> Result<(), PatchError> {
    model::check_access_log_format(format).map_err(bad)
}

/// The stage's canary, created with AWS's defaults when missing.
fn canary(s: &mut Stage) -> &mut CanarySettings {
    let defaults = default_canary(s);
    s.canary_settings.get_or_insert(defaults)
}
