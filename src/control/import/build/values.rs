//! Reading the values extensions hold: strings, lists of strings, string maps, status codes,
//! and the CloudFormation intrinsics (`Fn::Sub`, `Ref`, ...) that specs written for
//! CloudFormation leave where a string belongs. Shared by every builder, so that a value that
//! is not what AWS expects is treated (kept, dropped or refused, with the same warning) the same
//! way wherever it appears.

use super::Ctx;
use crate::control::import::doc::kind_of;
use crate::control::import::{escape_pointer, ImportError};
use serde_json::Value;
use std::collections::BTreeMap;

/// A list of strings; anything else is an error.
pub(super) fn string_list(cx: &Ctx, ptr: &str, value: &Value) -> Result<Vec<String>, ImportError> {
    let Some(list) = value.as_array() else {
        return Err(cx.error(
            ptr,
            format!("expected a list of strings, found {}", kind_of(value)),
            "write a YAML/JSON list such as [\"application/octet-stream\", \"image/*\"]",
        ));
    };
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().map(str::to_string).ok_or_else(|| {
                cx.error(
                    &format!("{ptr}/{i}"),
                    format!("expected a string, found {}", kind_of(v)),
                    "quote the value",
                )
            })
        })
        .collect()
}

/// A mapping of strings (header mappings, templates); a number or boolean is kept as its text,
/// anything else is left out with a warning.
pub(super) fn string_map(
    cx: &mut Ctx,
    ptr: &str,
    value: Option<&Value>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(value) = value else {
        return out;
    };
    let Some(map) = value.as_object() else {
        cx.warn(
            ptr,
            format!("expected a mapping, found {}; ignored", kind_of(value)),
        );
        return out;
    };
    for (k, v) in map {
        match v {
            Value::String(s) => {
                out.insert(k.clone(), s.clone());
            }
            Value::Number(_) | Value::Bool(_) => {
                out.insert(k.clone(), v.to_string());
            }
            _ => cx.warn(
                &format!("{ptr}/{}", escape_pointer(k)),
                format!(
                    "{} where a string belongs (a CloudFormation intrinsic?); ignored",
                    kind_of(v)
                ),
            ),
        }
    }
    out
}

/// A status code written as text or as a number.
pub(super) fn status_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A string value, or the template of a CloudFormation intrinsic standing in for one (with a
/// warning). Placeholders `${...}` other than stage variables also warn.
pub(super) fn text_or_intrinsic(cx: &mut Ctx, ptr: &str, v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => {
            if has_foreign_placeholder(s) {
                cx.warn(
                    ptr,
                    format!("{s:?} holds a ${{...}} placeholder that is not a stage variable; it is kept literally. Substitute it before import, or use ${{stageVariables.NAME}}"),
                );
            }
            Some(s.clone())
        }
        Value::Object(o) => {
            let (key, inner) = o.iter().next()?;
            let template = match inner {
                Value::String(s) => Some(s.clone()),
                Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
                _ => None,
            };
            cx.warn(
                ptr,
                format!("a CloudFormation intrinsic ({key}) stands where a string belongs; gw keeps its template text but cannot evaluate it. Put the resolved value in the spec (or use ${{stageVariables.NAME}})"),
            );
            if key == "Fn::Sub" {
                template
            } else {
                None
            }
        }
        other => Some(other.to_string()),
    }
}

fn has_foreign_placeholder(s: &str) -> bool {
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        if !after.starts_with("stageVariables.") {
            return true;
        }
        rest = after;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert!(!has_foreign_placeholder("http://${stageVariables.host}/x"));
        assert!(has_foreign_placeholder("arn:${AWS::Region}:x"));
    }
}
