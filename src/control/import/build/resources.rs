//! Paths → the resource tree, operations → methods.
//!
//! Each path becomes one resource per segment (checked against API Gateway's rules: a
//! `{param}` or `{proxy+}` is a whole segment, a greedy one is last, one parameter name per
//! level), after the `basepath` import parameter is applied. Each operation becomes a method:
//! its parameters and responses, the authorization its `security` names, and its own
//! extensions (the integration, the request validator) read by the builders beside this one.

use super::auth::{self, AuthorizerIndex};
use super::{integration, models, BasePathMode, Ctx, ImportOptions, EXT};
use crate::aws::ids;
use crate::control::import::doc::{resolve_ref, Doc, Op};
use crate::control::import::{escape_pointer, ImportError};
use crate::model::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Check one path segment against AWS's rules; `Ok(kind)` for literal/param/greedy.
/// Whether `seg` may be one path segment of an API Gateway resource; the reason when not.
pub fn check_segment(seg: &str) -> Result<(), String> {
    if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        let name = inner.strip_suffix('+').unwrap_or(inner);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(format!("path parameter {seg:?} has an invalid name"));
        }
        return Ok(());
    }
    if seg.contains('{') || seg.contains('}') {
        return Err(format!(
            "segment {seg:?} mixes a path parameter with text; a parameter must be a whole segment like /res/{{id}}"
        ));
    }
    if let Some(c) = seg
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-.,:$@=+~!*'()".contains(*c)))
    {
        return Err(format!("segment {seg:?} contains the character {c:?}"));
    }
    Ok(())
}

fn apply_basepath(path: &str, base: Option<&str>, mode: BasePathMode) -> String {
    let base = base.unwrap_or("").trim_end_matches('/');
    let prefix = match mode {
        BasePathMode::Ignore => "",
        BasePathMode::Prepend => base,
        BasePathMode::Split => {
            let trimmed = base.trim_start_matches('/');
            match trimmed.find('/') {
                Some(i) => &trimmed[i..],
                None => "",
            }
        }
    };
    let joined = format!("{prefix}{path}");
    if joined.is_empty() {
        "/".to_string()
    } else {
        joined
    }
}

fn normalize(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", segs.join("/"))
}

/// The resource tree of `doc.paths`: a resource per path segment (checked against AWS's
/// rules, `basepath` applied), a method per operation.
pub(super) fn resources(
    cx: &mut Ctx,
    doc: &Doc,
    options: &ImportOptions,
    api: &mut RestApi,
    authorizers: &AuthorizerIndex,
    default_validator: Option<&str>,
) -> Result<(), ImportError> {
    let mut index: HashMap<String, usize> = HashMap::new();
    api.resources.push(Resource {
        id: ids::short(),
        parent_id: None,
        path_part: None,
        path: "/".into(),
        resource_methods: BTreeMap::new(),
    });
    index.insert("/".into(), 0);
    for entry in &doc.paths {
        let path = normalize(&apply_basepath(
            &entry.path,
            doc.base_path.as_deref(),
            options.basepath,
        ));
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for (i, seg) in segs.iter().enumerate() {
            check_segment(seg).map_err(|problem| {
                cx.error(
                    &entry.pointer,
                    problem,
                    "API Gateway paths allow letters, digits, _ - . , : and whole-segment {param} or {proxy+}; rename the path",
                )
            })?;
            if seg.ends_with("+}") && i + 1 != segs.len() {
                return Err(cx.error(
                    &entry.pointer,
                    format!(
                        "Cannot create a child of a resource with a greedy path variable: {seg}"
                    ),
                    "a greedy {proxy+} segment must be the last one of its path",
                ));
            }
        }
        let mut parent = 0usize;
        let mut current = String::new();
        for seg in &segs {
            current.push('/');
            current.push_str(seg);
            parent = match index.get(&current) {
                Some(&i) => i,
                None => {
                    // Two differently named parameters at one level would make routing ambiguous.
                    let parent_path = api.resources[parent].path.clone();
                    if seg.starts_with('{') {
                        let clash = api.resources.iter().find(|r| {
                            r.parent_id.as_deref() == Some(api.resources[parent].id.as_str())
                                && r.path_part
                                    .as_deref()
                                    .is_some_and(|p| p.starts_with('{') && p != *seg)
                        });
                        if let Some(other) = clash {
                            return Err(cx.error(
                                &entry.pointer,
                                format!(
                                    "A sibling ({}) of this resource already has a variable path part -- only one is allowed (under {parent_path})",
                                    other.path_part.as_deref().unwrap_or("")
                                ),
                                "use one parameter name at each level of the path tree",
                            ));
                        }
                    }
                    let id = ids::short();
                    api.resources.push(Resource {
                        id,
                        parent_id: Some(api.resources[parent].id.clone()),
                        path_part: Some(seg.to_string()),
                        path: current.clone(),
                        resource_methods: BTreeMap::new(),
                    });
                    index.insert(current.clone(), api.resources.len() - 1);
                    api.resources.len() - 1
                }
            };
        }
        for op in &entry.ops {
            let method = method(cx, doc, op, api, authorizers, default_validator)?;
            api.resources[parent]
                .resource_methods
                .insert(op.method.clone(), method);
        }
    }
    api.resources.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(())
}

/// One operation → its method: parameters, responses, authorization, its extensions
/// (integration, request validator), request models when the validator checks bodies.
fn method(
    cx: &mut Ctx,
    doc: &Doc,
    op: &Op,
    api: &RestApi,
    authorizers: &AuthorizerIndex,
    default_validator: Option<&str>,
) -> Result<Method, ImportError> {
    let mut m = Method {
        http_method: op.method.clone(),
        authorization_type: "NONE".into(),
        authorizer_id: None,
        authorization_scopes: Vec::new(),
        api_key_required: false,
        request_validator_id: None,
        operation_name: op.operation_id.clone(),
        request_parameters: BTreeMap::new(),
        method_responses: BTreeMap::new(),
        request_models: BTreeMap::new(),
        method_integration: None,
        aggregate: None,
    };
    for p in &op.params {
        let loc = match p.location.as_str() {
            "path" => "path",
            "query" => "querystring",
            "header" => "header",
            _ => continue,
        };
        let required = p.required || loc == "path";
        m.request_parameters
            .insert(format!("method.request.{loc}.{}", p.name), required);
    }
    for code in &op.response_codes {
        if code.len() == 3 && code.chars().all(|c| c.is_ascii_digit()) {
            m.method_responses.insert(code.clone(), {
                let details = op.response_details.get(code).cloned().unwrap_or_default();
                MethodResponse {
                    status_code: code.clone(),
                    response_parameters: details
                        .headers
                        .iter()
                        .map(|h| (format!("method.response.header.{h}"), false))
                        .collect(),
                    response_models: details.models,
                }
            });
        }
    }
    auth::apply_security(cx, op, authorizers, &mut m);
    let mut validator = default_validator.map(str::to_string);
    for (key, value) in &op.extensions {
        if key == "x-gw-aggregate" {
            let ptr = format!("{}/x-gw-aggregate", op.pointer);
            let aggregate: crate::model::Aggregate = serde_json::from_value(value.clone())
                .map_err(|e| {
                    cx.error(
                        &ptr,
                        format!("not an aggregate: {e}"),
                        "give calls (each a name and a uri or function) and a responseTemplate",
                    )
                })?;
            if let Some(problem) = aggregate.problem() {
                return Err(cx.error(&ptr, problem, "see the aggregation section of the README"));
            }
            m.aggregate = Some(aggregate);
            continue;
        }
        let Some(name) = key.strip_prefix(EXT) else {
            continue;
        };
        let ptr = format!("{}/{}", op.pointer, escape_pointer(key));
        match name {
            "integration" => {
                let (value, ptr) = match value.get("$ref").and_then(Value::as_str) {
                    Some(r) => match resolve_ref(doc.root, r) {
                        Some(v) => (v, r.trim_start_matches('#').to_string()),
                        None => {
                            return Err(cx.error(
                                &format!("{ptr}/$ref"),
                                format!("the reference {r:?} does not resolve"),
                                "point $ref at an integration under components/x-amazon-apigateway-integrations",
                            ))
                        }
                    },
                    None => (value, ptr),
                };
                m.method_integration = Some(integration::integration(cx, &ptr, value)?);
            }
            "request-validator" => validator = value.as_str().map(str::to_string),
            "auth" => {
                let t = value.get("type").and_then(Value::as_str).unwrap_or("");
                if t.eq_ignore_ascii_case("aws_iam") {
                    m.authorization_type = "AWS_IAM".into();
                }
            }
            _ => cx.warn(
                &ptr,
                format!("unknown extension {key} on an operation ignored"),
            ),
        }
    }
    if let Some(vname) = validator {
        m.request_validator_id = api
            .request_validators
            .iter()
            .find(|v| v.name == vname)
            .map(|v| v.id.clone());
    }
    let validates_body = m.request_validator_id.as_deref().is_some_and(|id| {
        api.request_validators
            .iter()
            .any(|v| v.id == id && v.validate_request_body)
    });
    if validates_body {
        m.request_models = models::request_models(doc, op);
    }
    if m.method_integration.is_none() && m.aggregate.is_none() {
        cx.warn(
            &op.pointer,
            "no x-amazon-apigateway-integration: the route is listed, but calls to it answer 500 until an integration is added",
        );
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basepath_modes_follow_aws() {
        assert_eq!(
            apply_basepath("/e", Some("/a/b/c"), BasePathMode::Ignore),
            "/e"
        );
        assert_eq!(
            apply_basepath("/e", Some("/a/b/c"), BasePathMode::Prepend),
            "/a/b/c/e"
        );
        assert_eq!(
            apply_basepath("/e", Some("/a/b/c"), BasePathMode::Split),
            "/b/c/e"
        );
        assert_eq!(apply_basepath("/e", None, BasePathMode::Prepend), "/e");
    }

    #[test]
    fn segments() {
        assert!(check_segment("{id}").is_ok());
        assert!(check_segment("{proxy+}").is_ok());
        assert!(check_segment("res{id}").is_err());
        assert!(check_segment("a b").is_err());
    }
}
