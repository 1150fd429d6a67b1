//! The version-independent reading of a spec: paths, operations, their parameters, security and
//! extensions. OpenAPI 3.0 is read through `openapiv3`'s typed model; Swagger 2.0 and OpenAPI 3.1
//! through a tolerant walk of the JSON tree.

use super::{escape_pointer, ImportError, Location, Warning};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    Swagger2,
    OpenApi30,
    OpenApi31,
}

pub(super) struct Doc<'a> {
    pub version: Version,
    pub root: &'a Value,
    pub title: Option<String>,
    pub description: Option<String>,
    pub api_version: Option<String>,
    /// Swagger's `basePath`, or the path of OpenAPI's first server URL (or its `basePath` variable).
    pub base_path: Option<String>,
    /// (name, scheme object, pointer)
    pub security_schemes: Vec<(String, &'a Value, String)>,
    pub root_security: bool,
    pub paths: Vec<PathEntry>,
    pub notes: Vec<Warning>,
}

pub(super) struct PathEntry {
    pub path: String,
    pub pointer: String,
    pub ops: Vec<Op>,
}

pub(super) struct Op {
    /// Upper-case HTTP method, or `ANY` for `x-amazon-apigateway-any-method`.
    pub method: String,
    pub pointer: String,
    pub extensions: Map<String, Value>,
    /// Names of the security schemes the operation requires (`None`: no `security` key).
    pub security: Option<Vec<String>>,
    /// The scopes each scheme lists (a Cognito authorizer's `authorizationScopes`).
    pub scopes: std::collections::BTreeMap<String, Vec<String>>,
    pub params: Vec<Param>,
    pub response_codes: Vec<String>,
    /// Per response code: the headers it declares and its models by content type (a schema
    /// that references a named model), as AWS's importer reads them into method responses.
    pub response_details: BTreeMap<String, ResponseDetails>,
    pub operation_id: Option<String>,
}

/// What an operation's response declares.
#[derive(Debug, Clone, Default)]
pub(super) struct ResponseDetails {
    pub headers: Vec<String>,
    pub models: BTreeMap<String, String>,
}

/// The responses of the operation at `pointer` in the raw document (`$ref`s to shared responses
/// followed): their headers and the named models of their bodies.
fn response_details(root: &Value, pointer: &str) -> BTreeMap<String, ResponseDetails> {
    let resolve = |v: &'_ Value| -> Option<Value> {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => root.pointer(r.strip_prefix('#')?).cloned(),
            None => Some(v.clone()),
        }
    };
    let model_of = |schema: &Value| -> Option<String> {
        let r = schema.get("$ref")?.as_str()?;
        let name = r.rsplit('/').next()?;
        (!name.is_empty()).then(|| name.to_string())
    };
    let produces: Vec<String> = root
        .pointer(&format!("{pointer}/produces"))
        .or_else(|| root.get("produces"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_else(|| vec!["application/json".to_string()]);
    let mut out = BTreeMap::new();
    let Some(responses) = root
        .pointer(&format!("{pointer}/responses"))
        .and_then(Value::as_object)
    else {
        return out;
    };
    for (code, r) in responses {
        let Some(r) = resolve(r) else { continue };
        let mut d = ResponseDetails::default();
        if let Some(h) = r.get("headers").and_then(Value::as_object) {
            d.headers = h.keys().cloned().collect();
        }
        // OpenAPI 3: content → schema; Swagger 2: schema with the operation's `produces`.
        if let Some(content) = r.get("content").and_then(Value::as_object) {
            for (ct, media) in content {
                if let Some(m) = media.get("schema").and_then(model_of) {
                    d.models.insert(ct.clone(), m);
                }
            }
        } else if let Some(m) = r.get("schema").and_then(model_of) {
            for ct in &produces {
                d.models.insert(ct.clone(), m.clone());
            }
        }
        out.insert(code.clone(), d);
    }
    out
}

#[derive(Debug, Clone)]
pub(super) struct Param {
    pub name: String,
    /// `path`, `query`, `header`, `cookie`, `body`, `formData`.
    pub location: String,
    pub required: bool,
}

/// The methods API Gateway supports (besides `x-amazon-apigateway-any-method`); OpenAPI's
/// `trace` is not one of them.
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];
/// Other keys a path item may hold, which gw reads or may ignore without a word.
const PATH_ITEM_KEYS: [&str; 4] = ["parameters", "summary", "description", "servers"];
const ANY_METHOD: &str = "x-amazon-apigateway-any-method";

pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn version_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        // `swagger: 2.0` unquoted in YAML is a float.
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl<'a> Doc<'a> {
    pub fn read(file: &str, root: &'a Value) -> Result<Doc<'a>, ImportError> {
        let err = |pointer: &str, problem: String, fix: &str| ImportError {
            file: file.to_string(),
            location: Location::Pointer(pointer.to_string()),
            problem,
            fix: fix.to_string(),
        };
        let version = if let Some(v) = root.get("swagger") {
            match version_text(v).as_deref() {
                Some("2.0") | Some("2") => Version::Swagger2,
                other => {
                    return Err(err(
                        "/swagger",
                        format!("unsupported Swagger version {}", other.unwrap_or("(not text)")),
                        "API Gateway imports Swagger 2.0 and OpenAPI 3.x; convert the spec to one of them",
                    ))
                }
            }
        } else if let Some(v) = root.get("openapi") {
            let text = version_text(v).unwrap_or_default();
            if text.starts_with("3.0") {
                Version::OpenApi30
            } else if text.starts_with("3.1") {
                Version::OpenApi31
            } else {
                return Err(err(
                    "/openapi",
                    format!("unsupported OpenAPI version {text:?}"),
                    "gw imports Swagger 2.0, OpenAPI 3.0.x and 3.1.x; set `openapi: 3.0.1` if the document follows 3.0",
                ));
            }
        } else {
            return Err(err(
                "",
                "not an OpenAPI or Swagger document: there is no top-level `openapi` or `swagger` field".into(),
                "add `openapi: 3.0.1` (or `swagger: \"2.0\"`) at the top of the document",
            ));
        };
        match root.get("paths") {
            Some(Value::Object(_)) => {}
            Some(other) => {
                return Err(err(
                    "/paths",
                    format!("`paths` is {}, not a mapping of paths", kind_of(other)),
                    "make `paths` a mapping such as `/pets: {get: ...}`",
                ))
            }
            None => {
                return Err(err(
                    "",
                    "the document has no `paths`".into(),
                    "add a `paths` mapping with at least one path",
                ))
            }
        }
        let info = root.get("info");
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let mut doc = Doc {
            version,
            root,
            title: text(info.and_then(|i| i.get("title"))),
            description: text(info.and_then(|i| i.get("description"))),
            api_version: info.and_then(|i| i.get("version")).and_then(version_text),
            base_path: None,
            security_schemes: Vec::new(),
            root_security: root
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty()),
            paths: Vec::new(),
            notes: Vec::new(),
        };
        doc.base_path = match version {
            Version::Swagger2 => text(root.get("basePath")),
            _ => server_base_path(root),
        };
        let (schemes_ptr, schemes) = match version {
            Version::Swagger2 => ("/securityDefinitions", root.get("securityDefinitions")),
            _ => (
                "/components/securitySchemes",
                root.get("components")
                    .and_then(|c| c.get("securitySchemes")),
            ),
        };
        if let Some(Value::Object(map)) = schemes {
            for (name, scheme) in map {
                let pointer = format!("{schemes_ptr}/{}", escape_pointer(name));
                doc.security_schemes.push((name.clone(), scheme, pointer));
            }
        }
        let typed = if version == Version::OpenApi30 {
            match serde_json::from_value::<openapiv3::OpenAPI>(root.clone()) {
                Ok(api) => Some(api),
                Err(e) => {
                    doc.notes.push(Warning {
                        pointer: String::new(),
                        message: format!(
                            "not a valid OpenAPI 3.0 document ({e}); read tolerantly, check the result with `gw routes`"
                        ),
                        note: false,
                    });
                    None
                }
            }
        } else {
            None
        };
        doc.paths = match &typed {
            Some(api) => read_typed(root, api),
            None => read_tolerant(root),
        };
        doc.notes.extend(skipped_in_paths(root));
        Ok(doc)
    }
}

/// The base path of an OpenAPI 3 document: a `basePath` server variable's default, or the path
/// of the first server URL.
fn server_base_path(root: &Value) -> Option<String> {
    let server = root.get("servers")?.as_array()?.first()?;
    if let Some(bp) = server
        .get("variables")
        .and_then(|v| v.get("basePath"))
        .and_then(|v| v.get("default"))
        .and_then(Value::as_str)
    {
        return Some(if bp.starts_with('/') {
            bp.to_string()
        } else {
            format!("/{bp}")
        });
    }
    let url = server.get("url")?.as_str()?;
    let after_scheme = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    let path = if url.contains("://") {
        after_scheme.find('/').map(|i| &after_scheme[i..])?
    } else {
        after_scheme
    };
    (path.starts_with('/') && path != "/").then(|| path.to_string())
}

/// What in `paths` is not imported, one warning each: keys that are not paths, path items given
/// by `$ref`, and path-item keys that are neither an API Gateway method nor a known field.
fn skipped_in_paths(root: &Value) -> Vec<Warning> {
    let Some(Value::Object(paths)) = root.get("paths") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (path, item) in paths {
        let pointer = path_pointer(path);
        if path.starts_with("x-") {
            continue;
        }
        if !path.starts_with('/') {
            out.push(Warning {
                pointer,
                message: format!("{path:?} is not a path (paths start with /); not imported"),
                note: false,
            });
            continue;
        }
        let Some(item) = item.as_object() else {
            continue;
        };
        for key in item.keys() {
            let known = METHODS.contains(&key.as_str())
                || PATH_ITEM_KEYS.contains(&key.as_str())
                || key.starts_with("x-");
            let message = if key == "$ref" {
                "a path item given by $ref is not followed; its operations are not imported (write them inline)".to_string()
            } else if key == "trace" {
                "API Gateway has no TRACE method; this operation is not imported".to_string()
            } else if !known {
                format!("{key:?} is not an HTTP method API Gateway supports; ignored")
            } else {
                continue;
            };
            out.push(Warning {
                pointer: format!("{pointer}/{}", escape_pointer(key)),
                message,
                note: false,
            });
        }
    }
    out
}

fn path_pointer(path: &str) -> String {
    format!("/paths/{}", escape_pointer(path))
}

fn read_typed(root: &Value, api: &openapiv3::OpenAPI) -> Vec<PathEntry> {
    let mut out = Vec::new();
    for (path, item) in &api.paths.paths {
        let openapiv3::ReferenceOr::Item(item) = item else {
            continue;
        };
        let pointer = path_pointer(path);
        let shared: Vec<Param> = item
            .parameters
            .iter()
            .filter_map(|p| typed_param(api, p))
            .collect();
        let mut ops = Vec::new();
        for (method, op) in item.iter().filter(|(m, _)| METHODS.contains(m)) {
            let mut params = shared.clone();
            for p in op.parameters.iter().filter_map(|p| typed_param(api, p)) {
                params.retain(|q| !(q.name == p.name && q.location == p.location));
                params.push(p);
            }
            ops.push(Op {
                method: method.to_ascii_uppercase(),
                pointer: format!("{pointer}/{method}"),
                extensions: op.extensions.clone().into_iter().collect(),
                security: op
                    .security
                    .as_ref()
                    .map(|reqs| reqs.iter().flat_map(|r| r.keys().cloned()).collect()),
                scopes: op
                    .security
                    .iter()
                    .flatten()
                    .flat_map(|r| r.iter())
                    .filter(|(_, scopes)| !scopes.is_empty())
                    .map(|(name, scopes)| (name.clone(), scopes.clone()))
                    .collect(),
                params,
                response_codes: op
                    .responses
                    .responses
                    .keys()
                    .map(|c| c.to_string())
                    .collect(),
                response_details: response_details(root, &format!("{pointer}/{method}")),
                operation_id: op.operation_id.clone(),
            });
        }
        if let Some(any) = item.extensions.get(ANY_METHOD) {
            ops.push(tolerant_op(
                root,
                "ANY",
                &format!("{pointer}/{ANY_METHOD}"),
                any,
                &shared,
            ));
        }
        out.push(PathEntry {
            path: path.clone(),
            pointer,
            ops,
        });
    }
    out
}

fn typed_param(
    api: &openapiv3::OpenAPI,
    p: &openapiv3::ReferenceOr<openapiv3::Parameter>,
) -> Option<Param> {
    let param = match p {
        openapiv3::ReferenceOr::Item(p) => p,
        openapiv3::ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/parameters/")?;
            match api.components.as_ref()?.parameters.get(name)? {
                openapiv3::ReferenceOr::Item(p) => p,
                openapiv3::ReferenceOr::Reference { .. } => return None,
            }
        }
    };
    let location = match param {
        openapiv3::Parameter::Query { .. } => "query",
        openapiv3::Parameter::Header { .. } => "header",
        openapiv3::Parameter::Path { .. } => "path",
        openapiv3::Parameter::Cookie { .. } => "cookie",
    };
    let data = param.parameter_data_ref();
    Some(Param {
        name: data.name.clone(),
        location: location.to_string(),
        required: data.required,
    })
}

fn read_tolerant(root: &Value) -> Vec<PathEntry> {
    let Some(Value::Object(paths)) = root.get("paths") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (path, item) in paths {
        if !path.starts_with('/') {
            continue;
        }
        let pointer = path_pointer(path);
        let Some(item) = item.as_object() else {
            out.push(PathEntry {
                path: path.clone(),
                pointer,
                ops: Vec::new(),
            });
            continue;
        };
        let shared = tolerant_params(root, item.get("parameters"));
        let mut ops = Vec::new();
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push(tolerant_op(
                    root,
                    &method.to_ascii_uppercase(),
                    &format!("{pointer}/{method}"),
                    op,
                    &shared,
                ));
            }
        }
        if let Some(any) = item.get(ANY_METHOD) {
            ops.push(tolerant_op(
                root,
                "ANY",
                &format!("{pointer}/{ANY_METHOD}"),
                any,
                &shared,
            ));
        }
        out.push(PathEntry {
            path: path.clone(),
            pointer,
            ops,
        });
    }
    out
}

fn tolerant_op(root: &Value, method: &str, pointer: &str, op: &Value, shared: &[Param]) -> Op {
    let extensions = op
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| k.starts_with("x-"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let security = op.get("security").and_then(Value::as_array).map(|reqs| {
        reqs.iter()
            .filter_map(Value::as_object)
            .flat_map(|r| r.keys().cloned())
            .collect()
    });
    let scopes = op
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|r| r.iter())
        .filter_map(|(name, list)| {
            let list: Vec<String> = list
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            (!list.is_empty()).then(|| (name.clone(), list))
        })
        .collect();
    let mut params = shared.to_vec();
    for p in tolerant_params(root, op.get("parameters")) {
        params.retain(|q| !(q.name == p.name && q.location == p.location));
        params.push(p);
    }
    let response_codes = op
        .get("responses")
        .and_then(Value::as_object)
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    Op {
        method: method.to_string(),
        pointer: pointer.to_string(),
        extensions,
        security,
        scopes,
        params,
        response_codes,
        response_details: response_details(root, pointer),
        operation_id: op
            .get("operationId")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

fn tolerant_params(root: &Value, params: Option<&Value>) -> Vec<Param> {
    let Some(Value::Array(list)) = params else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|p| {
            let p = match p.get("$ref").and_then(Value::as_str) {
                Some(r) => resolve_ref(root, r)?,
                None => p,
            };
            Some(Param {
                name: p.get("name")?.as_str()?.to_string(),
                location: p.get("in")?.as_str()?.to_string(),
                required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

/// Resolve a local `$ref` (`#/a/b`) against the document root.
pub(super) fn resolve_ref<'v>(root: &'v Value, reference: &str) -> Option<&'v Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}
