//! Request models: which schema a method validates its body against (`$ref` names such as
//! `#/definitions/Pet` or `#/components/schemas/Pet`, or an inline schema's JSON pointer), for
//! Swagger 2.0 (`in: body` parameters, `consumes`) and OpenAPI 3 (`requestBody.content`), and
//! the API's `models`: those schemas and every schema they refer to, transitively.

use crate::control::import::doc::{resolve_ref, Doc, Op, Version};
use crate::control::import::escape_pointer;
use crate::model::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// The name a `$ref` gives a model: `#/definitions/Pet` or `#/components/schemas/Pet` → `Pet`.
fn model_ref_name(reference: &str) -> Option<&str> {
    reference
        .strip_prefix("#/definitions/")
        .or_else(|| reference.strip_prefix("#/components/schemas/"))
        .filter(|n| !n.contains('/'))
}

/// Content type → model name of an operation's request body: the name a `$ref` schema points
/// at, or, for an inline schema, its JSON pointer in the document.
pub(super) fn request_models(doc: &Doc, op: &Op) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(op_json) = doc.root.pointer(&op.pointer) else {
        return out;
    };
    let name_of = |schema: &Value, ptr: String| {
        schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(model_ref_name)
            .map(str::to_string)
            .unwrap_or(ptr)
    };
    match doc.version {
        Version::Swagger2 => {
            let params = op_json.get("parameters").and_then(Value::as_array);
            for (i, p) in params.into_iter().flatten().enumerate() {
                let (p, ptr) = match p.get("$ref").and_then(Value::as_str) {
                    Some(r) => match resolve_ref(doc.root, r) {
                        Some(v) => (v, r.trim_start_matches('#').to_string()),
                        None => continue,
                    },
                    None => (p, format!("{}/parameters/{i}", op.pointer)),
                };
                if p.get("in").and_then(Value::as_str) != Some("body") {
                    continue;
                }
                let Some(schema) = p.get("schema") else {
                    continue;
                };
                let types = op_json
                    .get("consumes")
                    .or_else(|| doc.root.get("consumes"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| vec!["application/json"]);
                let name = name_of(schema, format!("{ptr}/schema"));
                for t in types {
                    out.insert(t.to_ascii_lowercase(), name.clone());
                }
            }
        }
        Version::OpenApi30 | Version::OpenApi31 => {
            let Some(body) = op_json.get("requestBody") else {
                return out;
            };
            let (body, base) = match body.get("$ref").and_then(Value::as_str) {
                Some(r) => match resolve_ref(doc.root, r) {
                    Some(v) => (v, r.trim_start_matches('#').to_string()),
                    None => return out,
                },
                None => (body, format!("{}/requestBody", op.pointer)),
            };
            for (t, media) in body
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let Some(schema) = media.get("schema") else {
                    continue;
                };
                let ptr = format!("{base}/content/{}/schema", escape_pointer(t));
                out.insert(t.to_ascii_lowercase(), name_of(schema, ptr));
            }
        }
    }
    out
}

/// Fills `api.models` with the schemas the methods' request models name and every schema they
/// refer to (`#/definitions/X`, `#/components/schemas/X`), transitively.
pub(super) fn collect_models(doc: &Doc, api: &mut RestApi) {
    let lookup = |name: &str| -> Option<&Value> {
        if name.starts_with('/') {
            return doc.root.pointer(name);
        }
        doc.root
            .get("definitions")
            .and_then(|d| d.get(name))
            .or_else(|| {
                doc.root
                    .pointer(&format!("/components/schemas/{}", escape_pointer(name)))
            })
    };
    let mut pending: Vec<String> = api
        .resources
        .iter()
        .flat_map(|r| r.resource_methods.values())
        .flat_map(|m| m.request_models.values().cloned())
        .collect();
    while let Some(name) = pending.pop() {
        if api.models.contains_key(&name) {
            continue;
        }
        let Some(schema) = lookup(&name) else {
            continue;
        };
        let mut refs = Vec::new();
        collect_refs(schema, &mut refs);
        pending.extend(refs);
        api.models.insert(name, schema.clone());
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("$ref", Value::String(r)) => {
                        if let Some(n) = model_ref_name(r) {
                            out.push(n.to_string());
                        }
                    }
                    _ => collect_refs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}
