//! Values as Velocity sees them. A template's values are JSON values; this is what the language
//! does with them: truthiness, their text, comparison and arithmetic (with Velocity's leniency
//! about strings and numbers), indexing, the Java methods templates call on strings, lists and
//! maps, and the measures that bound them (nesting depth, and weight for the work budget).

use serde_json::{Number, Value};

use super::ast::Op;
use super::{VtlError, MAX_OUTPUT};

/// Values may nest this deep (as deep as JSON that serde_json reads), so dropping, comparing or
/// writing one never exhausts the stack.
const MAX_VALUE_DEPTH: usize = 128;

/// Whether `v` nests deeper than [`MAX_VALUE_DEPTH`].
pub(super) fn too_deep(v: &Value) -> bool {
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        if d > MAX_VALUE_DEPTH {
            return true;
        }
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(m) => stack.extend(m.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    false
}

pub(super) fn nested(v: Value) -> Result<Value, VtlError> {
    if too_deep(&v) {
        Err(VtlError::Limit("a value nested more than 128 deep"))
    } else {
        Ok(v)
    }
}

/// A value's size in work units, counted up to `cap`.
pub(super) fn weight(v: &Value, cap: usize) -> usize {
    let mut total = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += match v {
            Value::String(s) => 1 + s.len() / 64,
            Value::Array(a) => {
                stack.extend(a.iter());
                1
            }
            Value::Object(m) => {
                stack.extend(m.values());
                1 + m.len()
            }
            _ => 1,
        };
        if total > cap {
            break;
        }
    }
    total
}

pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        _ => true,
    }
}

/// How a value renders into text, as Velocity renders the Java objects API Gateway's templates
/// hold: strings as they are, numbers and booleans as written, a map as `{key=value, ...}` and a
/// list as `[a, b]` (Java's `toString`; `$input.json(...)` is the way to JSON).
pub(super) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Object(_) | Value::Array(_) => {
            let mut out = String::new();
            java_text(v, &mut out);
            out
        }
        other => other.to_string(),
    }
}

fn java_text(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                java_text(x, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                java_text(x, out);
            }
            out.push(']');
        }
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("null"),
        other => out.push_str(&other.to_string()),
    }
}

pub(super) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::Number(Number::from(x as i64))
    } else {
        Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(_), _) | (_, Value::Number(_)) => as_f64(a)?.partial_cmp(&as_f64(b)?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => compare(a, b) == Some(std::cmp::Ordering::Equal),
        // Velocity compares a string with anything else by their text.
        (Value::String(x), other) | (other, Value::String(x)) if !other.is_null() => {
            *x == text(other)
        }
        _ => a == b,
    }
}

pub(super) fn index(v: &Value, key: &Value) -> Option<Value> {
    match (v, key) {
        (Value::Array(a), k) => {
            let i = as_f64(k)?;
            let i = if i < 0.0 { a.len() as f64 + i } else { i };
            a.get(i as usize).cloned()
        }
        (Value::Object(m), k) => m.get(&text(k)).cloned(),
        _ => None,
    }
}

pub(super) fn binary(op: Op, a: &Value, b: &Value) -> Value {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => Value::Bool(equal(a, b)),
        Op::Ne => Value::Bool(!equal(a, b)),
        Op::Lt => Value::Bool(compare(a, b) == Some(Less)),
        Op::Le => Value::Bool(matches!(compare(a, b), Some(Less | Equal))),
        Op::Gt => Value::Bool(compare(a, b) == Some(Greater)),
        Op::Ge => Value::Bool(matches!(compare(a, b), Some(Greater | Equal))),
        Op::Add if a.is_string() || b.is_string() => {
            let (x, y) = (text(a), text(b));
            if x.len() + y.len() > MAX_OUTPUT {
                return Value::Null;
            }
            Value::String(x + &y)
        }
        _ => {
            let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) else {
                return Value::Null;
            };
            let integers = a.as_i64().is_some() && b.as_i64().is_some();
            match op {
                Op::Add => number(x + y),
                Op::Sub => number(x - y),
                Op::Mul => number(x * y),
                Op::Div if y == 0.0 => Value::Null,
                Op::Div if integers => number((x / y).trunc()),
                Op::Div => number(x / y),
                Op::Rem if y == 0.0 => Value::Null,
                Op::Rem => number(x % y),
                _ => Value::Null,
            }
        }
    }
}

/// The Java methods templates call on strings, lists and maps.
pub(super) fn method(v: &Value, name: &str, args: &[Value]) -> Option<Value> {
    let arg = |i: usize| args.get(i).map(text).unwrap_or_default();
    let int = |i: usize| args.get(i).and_then(as_f64).map(|x| x as i64);
    Some(match (v, name) {
        (Value::String(s), "length") => Value::from(s.chars().count()),
        (Value::String(s), "isEmpty") => Value::Bool(s.is_empty()),
        (Value::String(s), "toLowerCase") => Value::String(s.to_lowercase()),
        (Value::String(s), "toUpperCase") => Value::String(s.to_uppercase()),
        (Value::String(s), "trim") => Value::String(s.trim().to_string()),
        (Value::String(s), "contains") => Value::Bool(s.contains(&arg(0))),
        (Value::String(s), "startsWith") => Value::Bool(s.starts_with(&arg(0))),
        (Value::String(s), "endsWith") => Value::Bool(s.ends_with(&arg(0))),
        (Value::String(s), "equals") => Value::Bool(*s == arg(0)),
        (Value::String(s), "equalsIgnoreCase") => Value::Bool(s.eq_ignore_ascii_case(&arg(0))),
        (Value::String(s), "indexOf") => Value::from(
            s.find(&arg(0))
                .map_or(-1, |i| s[..i].chars().count() as i64),
        ),
        (Value::String(s), "replace") => {
            let (from, to) = (arg(0), arg(1));
            let times = if from.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(from.as_str()).count()
            };
            if s.len() + times.saturating_mul(to.len()) > MAX_OUTPUT {
                return None;
            }
            Value::String(s.replace(&from, &to))
        }
        (Value::String(s), "replaceAll") => {
            let re = regex::Regex::new(&arg(0)).ok()?;
            let times = re.find_iter(s).count();
            if s.len() + times.saturating_mul(arg(1).len()) > MAX_OUTPUT {
                return None;
            }
            Value::String(
                re.replace_all(s, arg(1).replace('$', "$$").as_str())
                    .into_owned(),
            )
        }
        (Value::String(s), "matches") => {
            let re = regex::Regex::new(&format!("^(?:{})$", arg(0))).ok()?;
            Value::Bool(re.is_match(s))
        }
        (Value::String(s), "split") => {
            let re = regex::Regex::new(&arg(0)).ok()?;
            Value::Array(re.split(s).map(|p| Value::String(p.to_string())).collect())
        }
        (Value::String(s), "substring") => {
            let chars: Vec<char> = s.chars().collect();
            let from = int(0)?.clamp(0, chars.len() as i64) as usize;
            let to = int(1)
                .unwrap_or(chars.len() as i64)
                .clamp(from as i64, chars.len() as i64) as usize;
            Value::String(chars[from..to].iter().collect())
        }
        (Value::String(s), "charAt") => {
            Value::String(s.chars().nth(usize::try_from(int(0)?).ok()?)?.to_string())
        }
        (Value::String(s), "toString") => Value::String(s.clone()),
        (Value::Array(a), "size") => Value::from(a.len()),
        (Value::Array(a), "isEmpty") => Value::Bool(a.is_empty()),
        (Value::Array(a), "get") => {
            index(v, args.first()?).unwrap_or_else(|| a.first().cloned().unwrap_or(Value::Null))
        }
        (Value::Array(a), "contains") => Value::Bool(
            a.iter()
                .any(|x| equal(x, args.first().unwrap_or(&Value::Null))),
        ),
        (Value::Object(m), "size") => Value::from(m.len()),
        (Value::Object(m), "isEmpty") => Value::Bool(m.is_empty()),
        (Value::Object(m), "get") => m.get(&arg(0)).cloned().unwrap_or(Value::Null),
        (Value::Object(m), "containsKey") => Value::Bool(m.contains_key(&arg(0))),
        (Value::Object(m), "keySet") => {
            Value::Array(m.keys().map(|k| Value::String(k.clone())).collect())
        }
        (Value::Object(m), "values") => Value::Array(m.values().cloned().collect()),
        (Value::Object(m), "entrySet") => Value::Array(
            m.iter()
                .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
                .collect(),
        ),
        (Value::Object(m), "put") => {
            // Maps are values here: `put` answers the previous value, as Java's does, but the
            // map itself is changed only through #set.
            m.get(&arg(0)).cloned().unwrap_or(Value::Null)
        }
        (other, "toString") => Value::String(text(other)),
        _ => return None,
    })
}
