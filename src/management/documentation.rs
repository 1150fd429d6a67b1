//! Documentation parts and versions: Create/Get/Update/DeleteDocumentationPart(s),
//! ImportDocumentationParts, Create/Get/Update/DeleteDocumentationVersion(s). Parts live on the
//! API (`RestApi::documentation`); a version is a named copy of the parts, and a stage naming
//! one (`documentationVersion`) exports it as `x-amazon-apigateway-documentation`.

use super::resources::edit_api;
use super::updates::{invalid_path, ops};
use super::{find_api, list, missing, page, ApiError, Reply, Req, Result};
use crate::aws::{documentation as doc, ids};
use crate::model::{DocumentationPart, DocumentationVersion};
use crate::store::{now, Store};
use serde_json::{json, Value};

fn part_json(p: &DocumentationPart) -> Value {
    json!({ "id": p.id, "location": p.location, "properties": p.properties })
}

fn version_json(v: &DocumentationVersion) -> Value {
    let mut out = json!({ "version": v.version, "createdDate": v.created_date });
    if let Some(d) = &v.description {
        out["description"] = json!(d);
    }
    out
}

fn not_found_part() -> ApiError {
    ApiError::not_found(missing::DOCUMENTATION_PART)
}

fn not_found_version() -> ApiError {
    ApiError::not_found(missing::DOCUMENTATION_VERSION)
}

/// POST /restapis/{id}/documentation/parts: CreateDocumentationPart.
pub(super) fn create_part(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let body: Value = req.json()?;
    let location = doc::location(body.get("location").unwrap_or(&Value::Null))
        .map_err(ApiError::bad_request)?;
    let properties = doc::properties(body.get("properties").unwrap_or(&Value::Null))
        .map_err(ApiError::bad_request)?;
    let v = edit_api(store, id, |api| {
        if api
            .documentation
            .parts
            .iter()
            .any(|p| p.location == location)
        {
            return Err(ApiError::conflict(
                "Documentation part already exists for the specified location",
            ));
        }
        let part = DocumentationPart {
            id: ids::short(),
            location,
            properties,
        };
        let v = part_json(&part);
        api.documentation.parts.push(part);
        Ok(v)
    })?;
    Ok(Reply::created(v))
}

/// GET /restapis/{id}/documentation/parts: GetDocumentationParts, filtered by `type`, `path`
/// (exact), `name` (a substring, as AWS matches it) and `locationStatus`.
pub(super) fn get_parts(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    if let Some(t) = req.q("type") {
        if !doc::TYPES.contains(&t) {
            return Err(ApiError::bad_request(format!(
                "Invalid location type {t:?}: must be one of {}",
                doc::TYPES.join(", ")
            )));
        }
    }
    match req.q("locationStatus") {
        None | Some("DOCUMENTED") | Some("UNDOCUMENTED") => {}
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "Invalid locationStatus {s}: must be DOCUMENTED or UNDOCUMENTED"
            )))
        }
    }
    let parts: Vec<&DocumentationPart> = api
        .documentation
        .parts
        .iter()
        .filter(|p| req.q("type").is_none_or(|t| p.location.kind == t))
        .filter(|p| {
            req.q("path")
                .is_none_or(|x| p.location.path.as_deref() == Some(x))
        })
        .filter(|p| {
            req.q("name")
                .is_none_or(|n| p.location.name.as_deref().is_some_and(|m| m.contains(n)))
        })
        // Every part gw keeps documents its location.
        .filter(|_| req.q("locationStatus") != Some("UNDOCUMENTED"))
        .collect();
    let (items, next) = page(parts, req)?;
    Ok(Reply::ok(list(
        items.into_iter().map(part_json).collect(),
        next,
    )))
}

pub(super) fn get_part(store: &Store, id: &str, pid: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let part = api
        .documentation
        .parts
        .iter()
        .find(|p| p.id == pid)
        .ok_or_else(not_found_part)?;
    Ok(Reply::ok(part_json(part)))
}

/// PATCH: UpdateDocumentationPart — `replace` `/properties` only, as on AWS.
pub(super) fn update_part(store: &Store, req: &Req, id: &str, pid: &str) -> Result<Reply> {
    find_api(store, id)?;
    let ops = ops(req)?;
    let v = edit_api(store, id, |api| {
        let part = api
            .documentation
            .parts
            .iter_mut()
            .find(|p| p.id == pid)
            .ok_or_else(not_found_part)?;
        for op in &ops {
            match (op.op.as_str(), op.path.as_str()) {
                ("replace", "/properties") => {
                    let raw = Value::String(op.value.clone().unwrap_or_default());
                    part.properties = doc::properties(&raw).map_err(ApiError::bad_request)?;
                }
                _ => return Err(invalid_path(op)),
            }
        }
        Ok(part_json(part))
    })?;
    Ok(Reply::ok(v))
}

pub(super) fn delete_part(store: &Store, id: &str, pid: &str) -> Result<Reply> {
    find_api(store, id)?;
    edit_api(store, id, |api| {
        let before = api.documentation.parts.len();
        api.documentation.parts.retain(|p| p.id != pid);
        if api.documentation.parts.len() == before {
            return Err(not_found_part());
        }
        Ok(Value::Null)
    })?;
    Ok(Reply::accepted())
}

/// PUT /restapis/{id}/documentation/parts?mode=merge|overwrite: ImportDocumentationParts from
/// an OpenAPI document's `x-amazon-apigateway-documentation`. Answers the ids written.
pub(super) fn import_parts(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let overwrite = match req.q("mode") {
        None | Some("merge") => false,
        Some("overwrite") => true,
        Some(m) => {
            return Err(ApiError::bad_request(format!(
                "Invalid mode {m}: must be one of merge, overwrite"
            )))
        }
    };
    let document = crate::control::import::parse_document("body", req.body)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let Some(ext) = document.get("x-amazon-apigateway-documentation") else {
        return Err(ApiError::bad_request(
            "The document has no x-amazon-apigateway-documentation extension to import",
        ));
    };
    let (_, parts) = doc::read_extension(ext).map_err(ApiError::bad_request)?;
    let v = edit_api(store, id, |api| {
        let ids = doc::merge(&mut api.documentation.parts, parts, overwrite, ids::short);
        Ok(json!({ "ids": ids }))
    })?;
    Ok(Reply::ok(v))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateVersionBody {
    documentation_version: Option<String>,
    stage_name: Option<String>,
    description: Option<String>,
}

/// POST /restapis/{id}/documentation/versions: CreateDocumentationVersion — a copy of the parts
/// as they are, optionally given to a stage.
pub(super) fn create_version(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let b: CreateVersionBody = req.json()?;
    let version = b
        .documentation_version
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("Documentation version is required"))?;
    let stage = b.stage_name.filter(|s| !s.is_empty());
    if let Some(stage) = &stage {
        super::stages::check_stage(store, id, stage)?;
    }
    let v = edit_api(store, id, |api| {
        if api
            .documentation
            .versions
            .iter()
            .any(|v| v.version == version)
        {
            return Err(ApiError::conflict(format!(
                "Documentation version {version} already exists"
            )));
        }
        let created = DocumentationVersion {
            version: version.clone(),
            created_date: now(),
            description: b.description.clone().filter(|d| !d.is_empty()),
            parts: api.documentation.parts.clone(),
        };
        let v = version_json(&created);
        api.documentation.versions.push(created);
        Ok(v)
    })?;
    if let Some(stage) = stage {
        store.write(|tx| {
            let Some(mut s) = tx.stage(id, &stage)? else {
                return Err(crate::store::StoreError::NotFound(missing::STAGE.into()));
            };
            s.documentation_version = Some(version.clone());
            s.last_updated_date = now();
            tx.put_stage(id, &s)
        })?;
    }
    Ok(Reply::created(v))
}

pub(super) fn get_versions(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let (items, next) = page(api.documentation.versions.iter().collect(), req)?;
    Ok(Reply::ok(list(
        items.into_iter().map(version_json).collect(),
        next,
    )))
}

pub(super) fn get_version(store: &Store, id: &str, version: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let v = api
        .documentation
        .versions
        .iter()
        .find(|v| v.version == version)
        .ok_or_else(not_found_version)?;
    Ok(Reply::ok(version_json(v)))
}

/// PATCH: UpdateDocumentationVersion — `/description` only.
pub(super) fn update_version(store: &Store, req: &Req, id: &str, version: &str) -> Result<Reply> {
    find_api(store, id)?;
    let ops = ops(req)?;
    let v = edit_api(store, id, |api| {
        let v = api
            .documentation
            .versions
            .iter_mut()
            .find(|v| v.version == version)
            .ok_or_else(not_found_version)?;
        for op in &ops {
            match (op.op.as_str(), op.path.as_str()) {
                ("replace" | "add", "/description") => {
                    v.description = op.value.clone().filter(|d| !d.is_empty())
                }
                ("remove", "/description") => v.description = None,
                _ => return Err(invalid_path(op)),
            }
        }
        Ok(version_json(v))
    })?;
    Ok(Reply::ok(v))
}

pub(super) fn delete_version(store: &Store, id: &str, version: &str) -> Result<Reply> {
    find_api(store, id)?;
    edit_api(store, id, |api| {
        let before = api.documentation.versions.len();
        api.documentation.versions.retain(|v| v.version != version);
        if api.documentation.versions.len() == before {
            return Err(not_found_version());
        }
        Ok(Value::Null)
    })?;
    Ok(Reply::accepted())
}

/// The `x-amazon-apigateway-documentation` a stage's export carries: its documentation
/// version's parts, when it names one that exists.
pub(crate) fn for_export(api: &crate::model::RestApi, version: Option<&str>) -> Option<Value> {
    let version = version?;
    let v = api
        .documentation
        .versions
        .iter()
        .find(|v| v.version == version)?;
    Some(doc::extension(Some(version), &v.parts))
}
