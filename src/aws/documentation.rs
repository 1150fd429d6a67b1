//! Documentation parts as AWS has them: a location (what the part documents) checked and given
//! AWS's defaults, properties kept as JSON text, the `x-amazon-apigateway-documentation`
//! extension read (import) and written (export), and the merge/overwrite of ImportDocumentationParts.

use crate::model::{DocumentationLocation, DocumentationPart};
use serde_json::{json, Value};

/// The location types, in AWS's order.
pub const TYPES: &[&str] = &[
    "API",
    "AUTHORIZER",
    "MODEL",
    "RESOURCE",
    "METHOD",
    "PATH_PARAMETER",
    "QUERY_PARAMETER",
    "REQUEST_HEADER",
    "REQUEST_BODY",
    "RESPONSE",
    "RESPONSE_HEADER",
    "RESPONSE_BODY",
];

/// Which location fields a type takes: (path, method, statusCode, name required).
fn fields(kind: &str) -> Option<(bool, bool, bool, bool)> {
    Some(match kind {
        "API" => (false, false, false, false),
        "AUTHORIZER" | "MODEL" => (false, false, false, true),
        "RESOURCE" => (true, false, false, false),
        "METHOD" | "REQUEST_BODY" => (true, true, false, false),
        "PATH_PARAMETER" | "QUERY_PARAMETER" | "REQUEST_HEADER" => (true, true, false, true),
        "RESPONSE" | "RESPONSE_BODY" => (true, true, true, false),
        "RESPONSE_HEADER" => (true, true, true, true),
        _ => return None,
    })
}

/// A location as written (a CreateDocumentationPart body or an extension entry), checked and
/// completed: `path` defaults to `/`, `method` and `statusCode` to `*` where the type has them.
pub fn location(raw: &Value) -> Result<DocumentationLocation, String> {
    let text = |key: &str| -> Result<Option<String>, String> {
        match raw.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "Invalid location: {key} must be a string, not {other}"
            )),
        }
    };
    let kind = text("type")?.ok_or("Invalid location: type is required")?;
    let Some((has_path, has_method, has_status, needs_name)) = fields(&kind) else {
        return Err(format!(
            "Invalid location type {kind:?}: must be one of {}",
            TYPES.join(", ")
        ));
    };
    let (path, method, status, name) = (
        text("path")?,
        text("method")?,
        text("statusCode")?,
        text("name")?,
    );
    for (given, allowed, field) in [
        (path.is_some(), has_path, "path"),
        (method.is_some(), has_method, "method"),
        (status.is_some(), has_status, "statusCode"),
        (name.is_some(), needs_name, "name"),
    ] {
        if given && !allowed {
            return Err(format!(
                "Invalid location: {field} is not applicable to type {kind}"
            ));
        }
    }
    if needs_name && name.as_deref().is_none_or(str::is_empty) {
        return Err(format!(
            "Invalid location: name is required for type {kind}"
        ));
    }
    if let Some(p) = &path {
        if !p.starts_with('/') {
            return Err(format!("Invalid location: path {p:?} must start with '/'"));
        }
    }
    Ok(DocumentationLocation {
        kind,
        path: has_path.then(|| path.unwrap_or_else(|| "/".into())),
        method: has_method.then(|| method.map_or_else(|| "*".into(), |m| m.to_ascii_uppercase())),
        status_code: has_status.then(|| status.unwrap_or_else(|| "*".into())),
        name,
    })
}

/// Properties as AWS keeps them: a JSON object's text. A string must hold a JSON object; an
/// object (as the extension writes it) is serialized.
pub fn properties(raw: &Value) -> Result<String, String> {
    let object = match raw {
        Value::String(s) => serde_json::from_str::<Value>(s)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| format!("Invalid properties: {s:?} is not a JSON object"))?,
        Value::Object(_) => raw.clone(),
        other => return Err(format!("Invalid properties: {other} is not a JSON object")),
    };
    Ok(object.to_string())
}

/// Parts as written: each location and its properties' text.
pub type Parts = Vec<(DocumentationLocation, String)>;

/// `x-amazon-apigateway-documentation`: `{version?, documentationParts: [{location, properties}]}`.
/// Returns the version named and the parts (each checked), or what is wrong with entry N.
pub fn read_extension(value: &Value) -> Result<(Option<String>, Parts), String> {
    let version = value
        .get("version")
        .and_then(Value::as_str)
        .map(str::to_string);
    let entries = match value.get("documentationParts") {
        None | Some(Value::Null) => return Ok((version, Vec::new())),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("documentationParts must be a list".into()),
    };
    let mut parts = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let loc = location(entry.get("location").unwrap_or(&Value::Null))
            .map_err(|e| format!("documentationParts[{i}]: {e}"))?;
        let props = properties(entry.get("properties").unwrap_or(&json!({})))
            .map_err(|e| format!("documentationParts[{i}]: {e}"))?;
        parts.push((loc, props));
    }
    Ok((version, parts))
}

/// The extension an export carries: the version and its parts, properties as objects.
pub fn extension(version: Option<&str>, parts: &[DocumentationPart]) -> Value {
    let parts: Vec<Value> = parts
        .iter()
        .map(|p| {
            json!({
                "location": p.location,
                "properties": serde_json::from_str::<Value>(&p.properties).unwrap_or(json!({})),
            })
        })
        .collect();
    let mut v = json!({ "documentationParts": parts });
    if let Some(version) = version {
        v["version"] = json!(version);
    }
    v
}

/// Put `new` parts into `parts`: with `overwrite` the old ones go first; otherwise a part at an
/// existing location replaces that part's properties (keeping its id). Returns the ids of the
/// parts written, in order.
pub fn merge(
    parts: &mut Vec<DocumentationPart>,
    new: Parts,
    overwrite: bool,
    mut new_id: impl FnMut() -> String,
) -> Vec<String> {
    if overwrite {
        parts.clear();
    }
    let mut ids = Vec::with_capacity(new.len());
    for (location, properties) in new {
        match parts.iter_mut().find(|p| p.location == location) {
            Some(p) => {
                p.properties = properties;
                ids.push(p.id.clone());
            }
            None => {
                let id = new_id();
                ids.push(id.clone());
                parts.push(DocumentationPart {
                    id,
                    location,
                    properties,
                });
            }
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_get_aws_defaults_and_wrong_fields_are_refused() {
        let m = location(&json!({"type": "METHOD", "path": "/pets"})).unwrap();
        assert_eq!(m.path.as_deref(), Some("/pets"));
        assert_eq!(m.method.as_deref(), Some("*"));
        assert_eq!(m.status_code, None);
        let r = location(&json!({"type": "RESPONSE"})).unwrap();
        assert_eq!(
            (
                r.path.as_deref(),
                r.method.as_deref(),
                r.status_code.as_deref()
            ),
            (Some("/"), Some("*"), Some("*"))
        );
        let api = location(&json!({"type": "API"})).unwrap();
        assert_eq!(api.path, None);
        assert!(location(&json!({"type": "API", "path": "/"})).is_err());
        assert!(
            location(&json!({"type": "MODEL"})).is_err(),
            "name required"
        );
        assert!(location(&json!({"type": "QUERY_PARAMETER", "path": "/p", "name": "q"})).is_ok());
        assert!(location(&json!({"type": "METHODS"})).is_err());
        assert!(location(&json!({"type": "RESOURCE", "path": "pets"})).is_err());
    }

    #[test]
    fn properties_must_be_objects_and_merge_keeps_ids() {
        assert_eq!(properties(&json!("{\"a\":1}")).unwrap(), "{\"a\":1}");
        assert_eq!(properties(&json!({"a": 1})).unwrap(), "{\"a\":1}");
        assert!(properties(&json!("not json")).is_err());
        assert!(properties(&json!([1])).is_err());
        let api = location(&json!({"type": "API"})).unwrap();
        let mut parts = Vec::new();
        let mut n = 0;
        let mut id = || {
            n += 1;
            format!("p{n}")
        };
        let first = merge(&mut parts, vec![(api.clone(), "{}".into())], false, &mut id);
        let again = merge(
            &mut parts,
            vec![(api.clone(), "{\"x\":1}".into())],
            false,
            &mut id,
        );
        assert_eq!(first, again);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].properties, "{\"x\":1}");
        let replaced = merge(&mut parts, vec![(api, "{}".into())], true, &mut id);
        assert_ne!(replaced, first);
    }
}
