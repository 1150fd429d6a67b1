//! The JSONPath that `$input.path(...)` and `$input.json(...)` read the body with: `$`, `.name`,
//! `['name']`, `[n]` (negative from the end), `[*]`, `.*` and `..name` (recursive descent). A
//! path that selects several values answers them as a list, one that selects one answers it.

use serde_json::Value;

/// `$input.path` / `$input.json`: the value a JSONPath selects from the (parsed) body; `$`
/// alone is the whole body.
pub(super) fn json_path(root: &Value, path: &str) -> Option<Value> {
    let path = path.trim();
    let mut rest = path.strip_prefix('$')?;
    let mut current = vec![root];
    let mut many = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("..") {
            // Recursive descent: the named member of every value below.
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            let mut found = Vec::new();
            for v in current {
                descend(v, name, &mut found);
            }
            current = found;
            many = true;
            rest = &r[end..];
            continue;
        }
        let (step, after) = if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            let step = if key == "*" {
                Step::All
            } else {
                Step::Key(key.to_string())
            };
            (step, &r[end..])
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            let step = if inner == "*" {
                Step::All
            } else if let Some(q) = inner
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
            {
                Step::Key(q.to_string())
            } else {
                Step::Index(inner.parse().ok()?)
            };
            (step, &r[end + 1..])
        } else {
            return None;
        };
        let mut next = Vec::new();
        for v in current {
            match (&step, v) {
                (Step::Key(k), Value::Object(m)) => next.extend(m.get(k)),
                (Step::Index(i), Value::Array(a)) => {
                    let i = if *i < 0 { a.len() as i64 + i } else { *i };
                    next.extend(usize::try_from(i).ok().and_then(|i| a.get(i)));
                }
                (Step::All, Value::Array(a)) => next.extend(a.iter()),
                (Step::All, Value::Object(m)) => next.extend(m.values()),
                _ => {}
            }
        }
        many |= matches!(step, Step::All);
        current = next;
        rest = after;
    }
    if many {
        Some(Value::Array(current.into_iter().cloned().collect()))
    } else {
        current.first().map(|v| (*v).clone())
    }
}

enum Step {
    Key(String),
    Index(i64),
    All,
}

fn descend<'v>(v: &'v Value, name: &str, found: &mut Vec<&'v Value>) {
    match v {
        Value::Object(m) => {
            if let Some(x) = m.get(name) {
                found.push(x);
            }
            for x in m.values() {
                descend(x, name, found);
            }
        }
        Value::Array(a) => {
            for x in a {
                descend(x, name, found);
            }
        }
        _ => {}
    }
}
