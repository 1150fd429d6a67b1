//! `x-gw-aggregate` (beyond AWS): one answer composed from several calls.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::DEFAULT_TIMEOUT_MS;

/// `x-gw-aggregate`: named calls run in parallel, or in stages (`after`), and a response
/// template over `$calls.NAME.status`, `.headers` and `.body` composing the one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Aggregate {
    pub calls: Vec<AggregateCall>,
    /// VTL; absent: `$calls` as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_template: Option<String>,
    /// On a failed call: the template gets what completed (and `x-gw-completed: false`)
    /// instead of a 502.
    #[serde(default)]
    pub partial: bool,
    /// Each call's default time limit.
    #[serde(default = "default_call_timeout")]
    pub timeout_in_millis: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

fn default_call_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}

/// One call of an aggregate: an HTTP URI (through a VPC link with `connectionType`), or a
/// Lambda-style function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AggregateCall {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// A function's name (its event is the request template's output, or the request body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_parameters: BTreeMap<String, String>,
    /// VTL for the call's body, with `$calls` of the calls it comes after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_template: Option<String>,
    /// Calls that must have answered first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_millis: Option<u64>,
}

impl Aggregate {
    /// What is wrong with it, if anything: names unique, each call an URI or a function, `after`
    /// naming earlier calls (so there is no cycle), timeouts within API Gateway's 29 s.
    pub fn problem(&self) -> Option<String> {
        if self.calls.is_empty() {
            return Some("x-gw-aggregate needs at least one call".into());
        }
        let mut seen: Vec<&str> = Vec::new();
        for c in &self.calls {
            if c.name.is_empty()
                || !c
                    .name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            {
                return Some(format!("call name {:?}: use letters, digits and _", c.name));
            }
            if seen.contains(&c.name.as_str()) {
                return Some(format!("two calls are named {}", c.name));
            }
            match (&c.uri, &c.function) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => return Some(format!("call {}: give either uri or function", c.name)),
            }
            for a in &c.after {
                if !seen.contains(&a.as_str()) {
                    return Some(format!(
                        "call {}: after {a:?} names no earlier call (list calls after those they wait for)",
                        c.name
                    ));
                }
            }
            let t = c.timeout_in_millis.unwrap_or(self.timeout_in_millis);
            if !(50..=DEFAULT_TIMEOUT_MS).contains(&t) {
                return Some(format!(
                    "call {}: timeoutInMillis must be 50 to 29000",
                    c.name
                ));
            }
            seen.push(&c.name);
        }
        None
    }
}
