//! Stages: variables, method settings, access logs, canaries (sticky or drawn), automatic ramps
//! and the history of transitions; the naming rules AWS applies to them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A stage: a name pointing at a deployment, with variables and an optional canary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub stage_name: String,
    pub deployment_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_settings: Option<CanarySettings>,
    #[serde(default)]
    pub tracing_enabled: bool,
    /// `methodSettings`, keyed `{resourcePath}/{httpMethod}` (path without its leading `/`) or
    /// `*/*` for every method. gw applies the throttling fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub method_settings: BTreeMap<String, MethodSetting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log_settings: Option<AccessLogSettings>,
    /// The documentation version the stage's export carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_version: Option<String>,
    /// Tags given at creation or with TagResource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    pub created_date: i64,
    pub last_updated_date: i64,
}

/// One entry of a stage's `methodSettings`. gw applies the throttling fields (a negative rate
/// means none; a negative burst, a burst as large as the rate); the metrics,
/// logging and cache-control fields are kept and shown (they act on CloudWatch and the stage
/// cache, which gw does not have); caching cannot be enabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MethodSetting {
    pub throttling_burst_limit: i64,
    pub throttling_rate_limit: f64,
    pub metrics_enabled: bool,
    pub logging_level: String,
    pub data_trace_enabled: bool,
    pub caching_enabled: bool,
    pub cache_ttl_in_seconds: i64,
    pub cache_data_encrypted: bool,
    pub require_authorization_for_cache_control: bool,
    pub unauthorized_cache_control_header_strategy: String,
}

impl Default for MethodSetting {
    /// A new entry: throttling `-1` (not set: no stage limit; what Terraform sends for "off"),
    /// AWS's defaults for the rest.
    fn default() -> MethodSetting {
        MethodSetting {
            throttling_burst_limit: -1,
            throttling_rate_limit: -1.0,
            metrics_enabled: false,
            logging_level: "OFF".into(),
            data_trace_enabled: false,
            caching_enabled: false,
            cache_ttl_in_seconds: 300,
            cache_data_encrypted: false,
            require_authorization_for_cache_control: true,
            unauthorized_cache_control_header_strategy: "SUCCEED_WITH_RESPONSE_HEADER".into(),
        }
    }
}

/// AWS refuses an access-log format without a request id in it.
pub fn check_access_log_format(format: &str) -> Result<(), &'static str> {
    if format.contains("$context.requestId") || format.contains("$context.extendedRequestId") {
        Ok(())
    } else {
        Err("Access Log format must contain at least one of $context.requestId or $context.extendedRequestId")
    }
}

/// A stage's `accessLogSettings`: one line per request in `format` (`$context` variables).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanarySettings {
    pub percent_traffic: f64,
    pub deployment_id: String,
    #[serde(default)]
    pub stage_variable_overrides: BTreeMap<String, String>,
    #[serde(default)]
    pub use_stage_cache: bool,
    /// gw's sticky split (beyond AWS): `ip`, `header:NAME`, `cookie` or `cookie:NAME`; absent,
    /// each request is drawn independently, as on AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<String>,
}

/// Stage names: alphanumerics, `-` and `_`, at most 128 characters (AWS's rule).
pub fn valid_stage_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Stage variable names: alphanumerics and `_`, at most 64 characters.
pub fn valid_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Stage variable values: `[A-Za-z0-9-._~:/?#&=,]+`, at most 512 characters.
pub fn valid_variable_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 512
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~:/?#&=,".contains(c))
}

/// What keeps a client on its side of a sticky canary (beyond AWS, whose split is drawn per
/// request): the side is a hash of the key compared with the percentage, so a client stays put,
/// and raising the percentage never moves a canary client back to production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sticky {
    /// The client's address.
    Ip,
    /// A request header's value (a client without it is drawn per request).
    Header(http::HeaderName),
    /// A cookie's value; [`Sticky::GW_COOKIE`] is set by gw for a client that has none.
    Cookie(String),
}

impl Sticky {
    /// The cookie `--sticky cookie` uses, set by gw on a client's first answer.
    pub const GW_COOKIE: &'static str = "gw-canary";

    /// `ip`, `header:NAME`, `cookie` or `cookie:NAME`.
    pub fn parse(text: &str) -> Result<Sticky, String> {
        let bad = || {
            format!(
                "--sticky {text:?} is not a sticky key: use ip, header:NAME, cookie or cookie:NAME"
            )
        };
        match text.split_once(':') {
            None if text == "ip" => Ok(Sticky::Ip),
            None if text == "cookie" => Ok(Sticky::Cookie(Sticky::GW_COOKIE.to_string())),
            Some(("header", name)) => http::HeaderName::from_bytes(name.trim().as_bytes())
                .map(Sticky::Header)
                .map_err(|_| bad()),
            Some(("cookie", name))
                if !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)) =>
            {
                Ok(Sticky::Cookie(name.to_string()))
            }
            _ => Err(bad()),
        }
    }
}

/// An automatic canary ramp (beyond AWS): the canary's percentage rises step by step while it
/// passes its gates; it is promoted after the last step and rolled back at the first failed gate.
/// One per stage, driven by exactly one `gw serve` (the one holding the lease).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ramp {
    /// The canary deployment this ramp drives; a ramp whose stage has another canary is over.
    pub canary_deployment_id: String,
    /// The percentages after the first one, in order (the last is usually 100).
    pub steps: Vec<f64>,
    /// How many of `steps` have been reached (0: still at the starting percentage).
    pub step: usize,
    /// How long each step lasts, in milliseconds.
    pub step_ms: u64,
    /// The gates each step must pass (`gateway::verdict::Gates` as JSON).
    pub gates: serde_json::Value,
    /// When the current step ends, in milliseconds since the epoch.
    pub deadline_ms: i64,
    pub paused: bool,
    /// The server driving the ramp, and until when (milliseconds since the epoch).
    pub lease_owner: Option<String>,
    pub lease_expires_ms: i64,
    /// Cumulative counts of each side when the current step started (the driver's JSON), so a
    /// step is judged by its own requests; null at the canary's start (everything counts).
    pub baseline: serde_json::Value,
}

impl Ramp {
    /// The next percentage, if any step is left.
    pub fn next_percent(&self) -> Option<f64> {
        self.steps.get(self.step).copied()
    }
}

/// One transition of a stage, as `gw stage history` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// ISO 8601, UTC.
    pub time: String,
    /// `deploy`, `canary`, `percent`, `promote`, `rollback`, `extend`, `pause`, `resume`.
    pub action: String,
    /// The canary's percentage after the transition (None without a canary).
    pub percent: Option<f64>,
    /// `user` or `ramp`.
    pub by: String,
    /// Why: for the ramp, the figures against the gates that decided it.
    pub reason: Option<String>,
    /// Production's deployment after the transition.
    pub deployment_id: String,
    /// The canary's deployment (the one acted on, for a promote or rollback).
    pub canary_deployment_id: Option<String>,
}
