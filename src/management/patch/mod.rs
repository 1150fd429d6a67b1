//! UpdateStage's patch engine: AWS's JSON-patch dialect for a [`Stage`], as a pure function.
//!
//! Operations apply in order to a copy of the stage; the stage is replaced only when every
//! operation succeeded, so a failing operation leaves it untouched (all-or-nothing). Values arrive
//! as strings (`"25.0"`, `"true"`), as on the wire. Paths are JSON pointers with `~1` for `/`
//! and `~0` for `~` inside a key. Error texts are AWS's (reference §3; LocalStack's snapshot
//! tests recorded against AWS), or, for settings AWS accepts but gw does not emulate, a message
//! that says so.
//!
//! Architecture invariant: no I/O. Whether a deployment exists is asked through a closure, so the
//! caller decides (the management API asks the store inside the same transaction).

use crate::model::{self, CanarySettings, Stage};
use serde::Deserialize;

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

/// The paths AWS lists in its "Invalid method setting path" message, in its order.
const STAGE_UPDATE_PATHS: &[&str] = &[
    "/deploymentId",
    "/description",
    "/cacheClusterEnabled",
    "/cacheClusterSize",
    "/clientCertificateId",
    "/accessLogSettings",
    "/accessLogSettings/destinationArn",
    "/accessLogSettings/format",
    "/{resourcePath}/{httpMethod}/metrics/enabled",
    "/{resourcePath}/{httpMethod}/logging/dataTrace",
    "/{resourcePath}/{httpMethod}/logging/loglevel",
    "/{resourcePath}/{httpMethod}/throttling/burstLimit",
    "/{resourcePath}/{httpMethod}/throttling/rateLimit",
    "/{resourcePath}/{httpMethod}/caching/ttlInSeconds",
    "/{resourcePath}/{httpMethod}/caching/enabled",
    "/{resourcePath}/{httpMethod}/caching/dataEncrypted",
    "/{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl",
    "/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy",
    "/*/*/metrics/enabled",
    "/*/*/logging/dataTrace",
    "/*/*/logging/loglevel",
    "/*/*/throttling/burstLimit",
    "/*/*/throttling/rateLimit",
    "/*/*/caching/ttlInSeconds",
    "/*/*/caching/enabled",
    "/*/*/caching/dataEncrypted",
    "/*/*/caching/requireAuthorizationForCacheControl",
    "/*/*/caching/unauthorizedCacheControlHeaderStrategy",
    "/variables/{variable_name}",
    "/tracingEnabled",
];

/// The method-setting suffixes (after `/{resourcePath}/{httpMethod}`).
const METHOD_SETTINGS: &[&str] = &[
    "metrics/enabled",
    "logging/dataTrace",
    "logging/loglevel",
    "throttling/burstLimit",
    "throttling/rateLimit",
    "caching/ttlInSeconds",
    "caching/enabled",
    "caching/dataEncrypted",
    "caching/requireAuthorizationForCacheControl",
    "caching/unauthorizedCacheControlHeaderStrategy",
];

/// AWS's message for a path outside `STAGE_UPDATE_PATHS`, with AWS's own irregular separators
/// (no comma after the `{resourcePath}` burst/rate limits, a space only after the `*/*` ones).
pub fn invalid_path_message(path: &str) -> String {
    let mut list = String::new();
    for (i, p) in STAGE_UPDATE_PATHS.iter().enumerate() {
        if i > 0 {
            let prev = STAGE_UPDATE_PATHS[i - 1];
            let sep = if prev.starts_with("/{resourcePath}")
                && (prev.ends_with("/burstLimit") || prev.ends_with("/rateLimit"))
            {
                ""
            } else if prev.ends_with("/burstLimit") || prev.ends_with("/rateLimit") {
                " "
            } else {
                ", "
            };
            list.push_str(sep);
        }
        list.push_str(p);
    }
    format!("Invalid method setting path: {path}. Must be one of: [{list}]")
}

const INVALID_COPY_TAIL: &str = "Valid copy:path are [/deploymentId, /variables] and valid copy:from are [/canarySettings/deploymentId, /canarySettings/stageVariableOverrides]";

/// `~1` → `/`, `~0` → `~` (in that order, as RFC 6901 says).
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// What a path names.
#[derive(Debug, PartialEq)]
enum Target {
    DeploymentId,
    Description,
    TracingEnabled,
    Variable(String),
    /// `/canarySettings` itself.
    Canary,
    CanaryPercent,
    CanaryDeploymentId,
    CanaryUseStageCache,
    CanaryOverride(String),
    /// `/{resourcePath}/{httpMethod}/{group}/{setting}`: the `methodSettings` key (`pets/GET`,
    /// `*/*`) and the setting (`throttling/rateLimit`).
    MethodSetting {
        key: String,
        setting: String,
    },
    /// `/accessLogSettings`, `/accessLogSettings/format`, `/accessLogSettings/destinationArn`.
    AccessLog,
    AccessLogFormat,
    AccessLogDestination,
    /// A path AWS accepts whose setting gw does not model (cache cluster, client certificate).
    NotEmulated(&'static str),
    Invalid,
}

/// A method-setting path: its `methodSettings` key (`pets/GET`, `*/*`) and setting
/// (`throttling/rateLimit`).
fn method_setting(path: &str) -> Option<(String, &str)> {
    // `/{resourcePath}/{httpMethod}/{group}/{setting}`: resourcePath is one escaped segment
    // (`~1pets`) or `*`.
    let rest = path.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.len() != 4 || parts[0].is_empty() || parts[1].is_empty() {
        return None;
    }
    let setting = &rest[parts[0].len() + parts[1].len() + 2..];
    if !METHOD_SETTINGS.contains(&setting) {
        return None;
    }
    let resource = unescape(parts[0]);
    let resource = resource.strip_prefix('/').unwrap_or(&resource);
    Some((format!("{resource}/{}", parts[1]), setting))
}

fn target(path: &str) -> Target {
    match path {
        "/deploymentId" => return Target::DeploymentId,
        "/description" => return Target::Description,
        "/tracingEnabled" => return Target::TracingEnabled,
        "/canarySettings" => return Target::Canary,
        "/canarySettings/percentTraffic" => return Target::CanaryPercent,
        "/canarySettings/deploymentId" => return Target::CanaryDeploymentId,
        "/canarySettings/useStageCache" => return Target::CanaryUseStageCache,
        "/cacheClusterEnabled" | "/cacheClusterSize" => {
            return Target::NotEmulated("the stage cache cluster")
        }
        "/clientCertificateId" => return Target::NotEmulated("client certificates"),
        "/accessLogSettings" => return Target::AccessLog,
        "/accessLogSettings/format" => return Target::AccessLogFormat,
        "/accessLogSettings/destinationArn" => return Target::AccessLogDestination,
        _ => {}
    }
    if let Some(name) = path.strip_prefix("/variables/") {
        if !name.is_empty() {
            return Target::Variable(unescape(name));
        }
    }
    if let Some(name) = path.strip_prefix("/canarySettings/stageVariableOverrides/") {
        if !name.is_empty() {
            return Target::CanaryOverride(unescape(name));
        }
    }
    if let Some((key, setting)) = method_setting(path) {
        return Target::MethodSetting {
            key,
            setting: setting.to_string(),
        };
    }
    Target::Invalid
}

/// A canary with AWS's defaults: production's deployment, 0 %, no overrides, no stage cache.
fn default_canary(stage: &Stage) -> CanarySettings {
    CanarySettings {
        percent_traffic: 0.0,
        deployment_id: stage.deployment_id.clone(),
        stage_variable_overrides: Default::default(),
        use_stage_cache: false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn stage() -> Stage {
        Stage {
            stage_name: "prod".into(),
            deployment_id: "d1".into(),
            description: None,
            variables: BTreeMap::from([
                ("backend".into(), "a.example".into()),
                ("keep".into(), "yes".into()),
            ]),
            canary_settings: None,
            tracing_enabled: false,
            method_settings: BTreeMap::new(),
            access_log_settings: None,
            created_date: 1,
            last_updated_date: 1,
        }
    }

    fn with_canary() -> Stage {
        let mut s = stage();
        s.canary_settings = Some(CanarySettings {
            percent_traffic: 10.0,
            deployment_id: "d2".into(),
            stage_variable_overrides: BTreeMap::from([("backend".into(), "b.example".into())]),
            use_stage_cache: false,
        });
        s
    }

    fn exists(id: &str) -> bool {
        matches!(id, "d1" | "d2" | "d3")
    }

    fn run(s: &Stage, ops: &[PatchOp]) -> Result<Stage, String> {
        let mut s = s.clone();
        apply(&mut s, ops, exists).map(|()| s).map_err(|e| e.0)
    }

    fn err(s: &Stage, ops: &[PatchOp]) -> String {
        let before = s.clone();
        let mut after = s.clone();
        let e = apply(&mut after, ops, exists).expect_err("should fail");
        assert_eq!(
            after, before,
            "a failed patch must leave the stage untouched"
        );
        e.0
    }

    fn op(o: &str, p: &str, v: &str) -> PatchOp {
        PatchOp::new(o, p, Some(v))
    }

    fn promote_ops() -> Vec<PatchOp> {
        vec![
            op("replace", "/canarySettings/percentTraffic", "0.0"),
            PatchOp::copy("/canarySettings/stageVariableOverrides", "/variables"),
            PatchOp::copy("/canarySettings/deploymentId", "/deploymentId"),
        ]
    }

    #[test]
    fn scalar_and_variable_paths() {
        let s = run(
            &stage(),
            &[
                op("replace", "/deploymentId", "d3"),
                op("replace", "/description", "the prod stage"),
                op("replace", "/variables/backend", "c.example"),
                op("add", "/variables/new_one", "1"),
                PatchOp::new("remove", "/variables/keep", None),
                op("replace", "/tracingEnabled", "TRUE"),
            ],
        )
        .unwrap();
        assert_eq!(s.deployment_id, "d3");
        assert_eq!(s.description.as_deref(), Some("the prod stage"));
        assert_eq!(
            s.variables,
            BTreeMap::from([
                ("backend".into(), "c.example".into()),
                ("new_one".into(), "1".into())
            ])
        );
        assert!(s.tracing_enabled);
    }

    #[test]
    fn escaped_keys() {
        let s = run(&stage(), &[op("replace", "/variables/a~0b", "x")]);
        // `~` is not allowed in a variable name: AWS's rule, after unescaping.
        assert!(s.is_err());
        let s = run(
            &stage(),
            &[op(
                "replace",
                "/canarySettings/stageVariableOverrides/v_1",
                "x~1y",
            )],
        )
        .unwrap();
        assert_eq!(
            s.canary_settings.unwrap().stage_variable_overrides["v_1"],
            "x~1y",
            "values are not pointer-escaped"
        );
    }

    #[test]
    fn replace_on_a_stage_without_canary_creates_one_with_defaults() {
        let s = run(
            &stage(),
            &[op("replace", "/canarySettings/percentTraffic", "25")],
        )
        .unwrap();
        assert_eq!(
            s.canary_settings,
            Some(CanarySettings {
                percent_traffic: 25.0,
                deployment_id: "d1".into(),
                stage_variable_overrides: BTreeMap::new(),
                use_stage_cache: false,
            })
        );
        let s = run(
            &stage(),
            &[op("replace", "/canarySettings/useStageCache", "true")],
        )
        .unwrap();
        assert!(s.canary_settings.unwrap().use_stage_cache);
        let s = run(
            &stage(),
            &[op("replace", "/canarySettings/deploymentId", "d2")],
        )
        .unwrap();
        assert_eq!(s.canary_settings.unwrap().deployment_id, "d2");
    }

    #[test]
    fn promotion_merges_variables_and_keeps_the_canary() {
        let s = run(&with_canary(), &promote_ops()).unwrap();
        assert_eq!(s.deployment_id, "d2");
        assert_eq!(s.variables["backend"], "b.example");
        assert_eq!(
            s.variables["keep"], "yes",
            "variables not overridden survive"
        );
        let c = s
            .canary_settings
            .expect("promotion does not remove the canary");
        assert_eq!(c.percent_traffic, 0.0);
        // Then the finishing step.
        let s = run(&with_canary(), &{
            let mut ops = promote_ops();
            ops.push(PatchOp::new("remove", "/canarySettings", None));
            ops
        })
        .unwrap();
        assert_eq!(s.canary_settings, None);
        assert_eq!(s.deployment_id, "d2");
    }

    #[test]
    fn full_promotion_on_a_canaryless_stage_is_a_no_op_because_ops_apply_in_order() {
        let s = run(&stage(), &promote_ops()).unwrap();
        assert_eq!(s.deployment_id, "d1");
        assert_eq!(s.variables, stage().variables);
        assert_eq!(s.canary_settings.unwrap().percent_traffic, 0.0);
    }

    #[test]
    fn rollback_keeps_production() {
        let s = run(
            &with_canary(),
            &[PatchOp::new("remove", "/canarySettings", None)],
        )
        .unwrap();
        assert_eq!(s.canary_settings, None);
        assert_eq!(s.deployment_id, "d1");
        assert_eq!(s.variables, stage().variables);
    }

    #[test]
    fn exact_errors() {
        let no_canary = stage();
        let canary = with_canary();
        let table: Vec<(&Stage, Vec<PatchOp>, String)> = vec![
            (
                &no_canary,
                vec![PatchOp::copy("/canarySettings/deploymentId", "/deploymentId")],
                "Promotion not available. Canary does not exist.".into(),
            ),
            (
                &canary,
                vec![PatchOp::copy("/variables", "/canarySettings/stageVariableOverrides")],
                "Invalid copy operation with path: /canarySettings/stageVariableOverrides and from /variables. Valid copy:path are [/deploymentId, /variables] and valid copy:from are [/canarySettings/deploymentId, /canarySettings/stageVariableOverrides]".into(),
            ),
            (
                &canary,
                vec![op("add", "/canarySettings/deploymentId", "d3")],
                "Invalid add operation with path: /canarySettings/deploymentId".into(),
            ),
            (
                &canary,
                vec![PatchOp::new("remove", "/canarySettings/stageVariableOverrides", None)],
                "Cannot remove method setting canarySettings/stageVariableOverrides because there is no method setting for this method ".into(),
            ),
            (
                &canary,
                vec![op("replace", "/deploymentId", "nope")],
                "Deployment id does not exist".into(),
            ),
            (
                &canary,
                vec![op("replace", "/canarySettings/deploymentId", "nope")],
                "Deployment id does not exist".into(),
            ),
            (
                &canary,
                vec![op("replace", "/nope", "x")],
                invalid_path_message("/nope"),
            ),
            (
                &canary,
                vec![op("replace", "/variables", "x")],
                invalid_path_message("/variables"),
            ),
        ];
        for (s, ops, want) in table {
            assert_eq!(err(s, &ops), want, "ops: {ops:?}");
        }
    }

    #[test]
    fn invalid_path_message_is_awss_text() {
        assert_eq!(
            invalid_path_message("/test/GET/throttling/burstLimit"),
            "Invalid method setting path: /test/GET/throttling/burstLimit. Must be one of: [/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, /accessLogSettings, /accessLogSettings/destinationArn, /accessLogSettings/format, /{resourcePath}/{httpMethod}/metrics/enabled, /{resourcePath}/{httpMethod}/logging/dataTrace, /{resourcePath}/{httpMethod}/logging/loglevel, /{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/rateLimit/{resourcePath}/{httpMethod}/caching/ttlInSeconds, /{resourcePath}/{httpMethod}/caching/enabled, /{resourcePath}/{httpMethod}/caching/dataEncrypted, /{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, /{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, /*/*/metrics/enabled, /*/*/logging/dataTrace, /*/*/logging/loglevel, /*/*/throttling/burstLimit /*/*/throttling/rateLimit /*/*/caching/ttlInSeconds, /*/*/caching/enabled, /*/*/caching/dataEncrypted, /*/*/caching/requireAuthorizationForCacheControl, /*/*/caching/unauthorizedCacheControlHeaderStrategy, /variables/{variable_name}, /tracingEnabled]"
        );
    }

    #[test]
    fn throttling_method_settings_are_kept_with_awss_defaults() {
        let mut s = stage();
        apply(
            &mut s,
            &[
                op("replace", "/*/*/throttling/rateLimit", "10"),
                op("replace", "/~1pets~1{id}/GET/throttling/burstLimit", "3"),
            ],
            exists,
        )
        .expect("valid throttling paths");
        let all = &s.method_settings["*/*"];
        assert_eq!(
            (all.throttling_rate_limit, all.throttling_burst_limit),
            (10.0, -1)
        );
        let one = &s.method_settings["pets/{id}/GET"];
        assert_eq!(
            (one.throttling_rate_limit, one.throttling_burst_limit),
            (-1.0, 3)
        );
        apply(
            &mut s,
            &[PatchOp::new("remove", "/*/*/throttling/rateLimit", None)],
            exists,
        )
        .expect("remove");
        assert!(!s.method_settings.contains_key("*/*"));
        for bad in ["-2", "x", "NaN", "inf"] {
            let e = err(&stage(), &[op("replace", "/*/*/throttling/rateLimit", bad)]);
            assert!(e.starts_with("Invalid rate limit"), "{e}");
        }
        let e = err(
            &stage(),
            &[op("replace", "/*/*/throttling/burstLimit", "1.5")],
        );
        assert!(e.starts_with("Invalid burst limit"), "{e}");
    }

    /// What Terraform's `aws_api_gateway_method_settings` sends in one UpdateStage: every
    /// setting, throttling -1 for "not set".
    #[test]
    fn terraform_method_settings_are_kept() {
        let mut s = stage();
        let ops: Vec<PatchOp> = [
            ("metrics/enabled", "true"),
            ("logging/loglevel", "info"),
            ("logging/dataTrace", "false"),
            ("throttling/burstLimit", "-1"),
            ("throttling/rateLimit", "-1"),
            ("caching/enabled", "false"),
            ("caching/ttlInSeconds", "300"),
            ("caching/dataEncrypted", "false"),
            ("caching/requireAuthorizationForCacheControl", "true"),
            (
                "caching/unauthorizedCacheControlHeaderStrategy",
                "SUCCEED_WITH_RESPONSE_HEADER",
            ),
        ]
        .iter()
        .map(|(p, v)| op("replace", &format!("/*/*/{p}"), v))
        .collect();
        apply(&mut s, &ops, exists).expect("Terraform's settings");
        let m = &s.method_settings["*/*"];
        assert!(m.metrics_enabled);
        assert_eq!(m.logging_level, "INFO");
        assert_eq!(
            (m.throttling_rate_limit, m.throttling_burst_limit),
            (-1.0, -1)
        );
        let e = err(&stage(), &[op("replace", "/*/*/logging/loglevel", "LOUD")]);
        assert_eq!(
            e,
            "Invalid value LOUD for /*/*/logging/loglevel: use one of OFF, ERROR, INFO"
        );
        let e = err(&stage(), &[op("replace", "/*/*/caching/enabled", "true")]);
        assert!(e.starts_with("gw does not emulate response caching"), "{e}");
    }

    #[test]
    fn access_log_settings_need_a_request_id_and_an_arn() {
        let mut s = stage();
        let format = r#"{"requestId":"$context.requestId","status":"$context.status"}"#;
        apply(
            &mut s,
            &[
                op("replace", "/accessLogSettings/format", format),
                op(
                    "replace",
                    "/accessLogSettings/destinationArn",
                    "arn:aws:logs:us-east-1:000000000000:log-group:gw",
                ),
            ],
            exists,
        )
        .expect("valid access log settings");
        let logs = s.access_log_settings.clone().expect("settings");
        assert_eq!(logs.format.as_deref(), Some(format));
        let e = err(
            &stage(),
            &[op(
                "replace",
                "/accessLogSettings/format",
                "$context.status",
            )],
        );
        assert_eq!(
            e,
            "Access Log format must contain at least one of $context.requestId or $context.extendedRequestId"
        );
        let e = err(
            &stage(),
            &[op("replace", "/accessLogSettings/destinationArn", "logs")],
        );
        assert_eq!(e, "Invalid ARN specified in the request");
        apply(
            &mut s,
            &[PatchOp::new("remove", "/accessLogSettings", None)],
            exists,
        )
        .expect("remove");
        assert_eq!(s.access_log_settings, None);
    }

    #[test]
    fn not_emulated_paths_say_so() {
        let e = err(
            &stage(),
            &[op("replace", "/~1pets/GET/caching/enabled", "true")],
        );
        assert!(e.starts_with("gw does not emulate"), "{e}");
        let e = err(&stage(), &[op("replace", "/cacheClusterEnabled", "true")]);
        assert!(
            e.starts_with("gw does not emulate the stage cache cluster"),
            "{e}"
        );
    }

    #[test]
    fn a_later_failure_undoes_earlier_operations() {
        let e = err(
            &with_canary(),
            &[
                op("replace", "/description", "changed"),
                op("replace", "/canarySettings/percentTraffic", "50"),
                op("replace", "/deploymentId", "missing"),
            ],
        );
        assert_eq!(e, "Deployment id does not exist");
    }

    #[test]
    fn percent_must_be_a_number_in_range() {
        assert!(run(
            &stage(),
            &[op("replace", "/canarySettings/percentTraffic", "abc")]
        )
        .is_err());
        assert!(run(
            &stage(),
            &[op("replace", "/canarySettings/percentTraffic", "100.5")]
        )
        .is_err());
        assert!(run(
            &stage(),
            &[op("replace", "/canarySettings/percentTraffic", "100")]
        )
        .is_ok());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn any_op() -> impl Strategy<Value = PatchOp> {
            let ops =
                prop::sample::select(vec!["add", "remove", "replace", "copy", "move", "bogus"]);
            let paths = prop::sample::select(vec![
                "/deploymentId",
                "/description",
                "/variables/backend",
                "/variables/v",
                "/variables",
                "/canarySettings",
                "/canarySettings/percentTraffic",
                "/canarySettings/deploymentId",
                "/canarySettings/useStageCache",
                "/canarySettings/stageVariableOverrides",
                "/canarySettings/stageVariableOverrides/backend",
                "/tracingEnabled",
                "/nope",
            ]);
            let values = prop::sample::select(vec![
                "d1", "d2", "d3", "missing", "0", "42.5", "101", "true", "x", "",
            ]);
            let froms = prop::sample::select(vec![
                "/canarySettings/deploymentId",
                "/canarySettings/stageVariableOverrides",
                "/variables",
            ]);
            (
                ops,
                paths,
                prop::option::of(values),
                prop::option::of(froms),
            )
                .prop_map(|(o, p, v, f)| PatchOp {
                    op: o.into(),
                    path: p.into(),
                    value: v.map(Into::into),
                    from: f.map(Into::into),
                })
        }

        proptest! {
            #[test]
            fn all_or_nothing_and_never_dangling(
                start_with_canary in any::<bool>(),
                ops in prop::collection::vec(any_op(), 0..6),
            ) {
                let before = if start_with_canary { with_canary() } else { stage() };
                let mut after = before.clone();
                match apply(&mut after, &ops, exists) {
                    Err(_) => prop_assert_eq!(&after, &before),
                    Ok(()) => {
                        prop_assert!(exists(&after.deployment_id));
                        if let Some(c) = &after.canary_settings {
                            prop_assert!(exists(&c.deployment_id));
                            prop_assert!((0.0..=100.0).contains(&c.percent_traffic));
                        }
                        for (k, v) in &after.variables {
                            prop_assert!(model::valid_variable_name(k) && model::valid_variable_value(v));
                        }
                    }
                }
            }
        }
    }
}
