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
            let (key, _) = o.iter().next()?;
            let mut names = Vec::new();
            let resolved = intrinsic(v?, &mut names);
            names.sort();
            names.dedup();
            let how = match (&resolved, names.is_empty()) {
                (None, _) => "gw cannot read it; put the resolved value in the spec (or use ${stageVariables.NAME})".to_string(),
                (Some(_), true) => "gw reads it with AWS's pseudo parameters for the local account (us-east-1, 000000000000)".to_string(),
                (Some(_), false) => format!(
                    "gw reads it with stage variables standing for the stack's values: give them when deploying ({})",
                    names
                        .iter()
                        .map(|n| format!("--var {n}=VALUE"))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            };
            cx.warn(
                ptr,
                format!("a CloudFormation intrinsic ({key}) stands where a string belongs; {how}"),
            );
            resolved
        }
        other => Some(other.to_string()),
    }
}

/// A CloudFormation intrinsic read as a string: `Ref`, `Fn::GetAtt`, `Fn::Join` and `Fn::Sub`,
/// with AWS's pseudo parameters for the local account and every other stack value standing in
/// as a stage variable (`Ref X` → `${stageVariables.X}`, `Fn::GetAtt X.Arn` →
/// `${stageVariables.X_Arn}`), whose names are pushed on `names`. `None` for anything else.
pub(super) fn intrinsic(v: &Value, names: &mut Vec<String>) -> Option<String> {
    let stack_value = |name: &str, names: &mut Vec<String>| -> String {
        match name {
            "AWS::Region" => crate::aws::DEFAULT_REGION.to_string(),
            "AWS::AccountId" => crate::aws::DEFAULT_ACCOUNT_ID.to_string(),
            "AWS::Partition" => "aws".to_string(),
            "AWS::URLSuffix" => "amazonaws.com".to_string(),
            _ => {
                let var: String = name
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '_' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                names.push(var.clone());
                format!("${{stageVariables.{var}}}")
            }
        }
    };
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) if o.len() == 1 => {
            let (key, inner) = o.iter().next()?;
            match (key.as_str(), inner) {
                ("Ref", Value::String(name)) => Some(stack_value(name, names)),
                ("Fn::GetAtt", Value::String(path)) => Some(stack_value(path, names)),
                ("Fn::GetAtt", Value::Array(parts)) => {
                    let parts: Option<Vec<&str>> = parts.iter().map(Value::as_str).collect();
                    Some(stack_value(&parts?.join("."), names))
                }
                ("Fn::Join", Value::Array(args)) if args.len() == 2 => {
                    let sep = args[0].as_str()?;
                    let parts = args[1].as_array()?;
                    let parts: Option<Vec<String>> =
                        parts.iter().map(|p| intrinsic(p, names)).collect();
                    Some(parts?.join(sep))
                }
                ("Fn::Sub", Value::String(template)) => {
                    Some(sub(template, None, names, &stack_value))
                }
                ("Fn::Sub", Value::Array(args)) if !args.is_empty() => {
                    let template = args[0].as_str()?;
                    let vars = args.get(1).and_then(Value::as_object);
                    Some(sub(template, vars, names, &stack_value))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `Fn::Sub`'s `${Name}` / `${Name.Attr}` (from `vars` first), `${!Literal}` and stage variables
/// kept.
fn sub(
    template: &str,
    vars: Option<&serde_json::Map<String, Value>>,
    names: &mut Vec<String>,
    stack_value: &dyn Fn(&str, &mut Vec<String>) -> String,
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else if name.starts_with("stageVariables.") {
            out.push_str(&rest[i..i + 2 + end + 1]);
        } else if let Some(value) = vars.and_then(|m| m.get(name)) {
            out.push_str(&intrinsic(value, names).unwrap_or_default());
        } else {
            out.push_str(&stack_value(name, names));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
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
    #[test]
    fn cloudformation_intrinsics_read_as_stage_variables() {
        use serde_json::json;
        let read = |v: serde_json::Value| {
            let mut names = Vec::new();
            (super::intrinsic(&v, &mut names), names)
        };
        assert_eq!(
            read(
                json!({"Fn::Join": ["", ["http://", {"Fn::GetAtt": "Lb.DNSName"}, "/locations"]]})
            ),
            (
                Some("http://${stageVariables.Lb_DNSName}/locations".into()),
                vec!["Lb_DNSName".to_string()]
            )
        );
        assert_eq!(
            read(json!({"Ref": "Link"})).0.as_deref(),
            Some("${stageVariables.Link}")
        );
        assert_eq!(
            read(json!({"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"})).0.as_deref(),
            Some("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${stageVariables.Fn_Arn}/invocations")
        );
        assert_eq!(
            read(json!({"Fn::Sub": ["${A}-${!Lit}-${stageVariables.s}", {"A": {"Ref": "B"}}]}))
                .0
                .as_deref(),
            Some("${stageVariables.B}-${Lit}-${stageVariables.s}")
        );
        assert_eq!(read(json!({"Fn::If": ["c", "a", "b"]})).0, None);
    }

    use super::*;

    #[test]
    fn placeholders() {
        assert!(!has_foreign_placeholder("http://${stageVariables.host}/x"));
        assert!(has_foreign_placeholder("arn:${AWS::Region}:x"));
    }
}
