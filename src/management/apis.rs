//! REST APIs: CreateRestApi, ImportRestApi, PutRestApi, GetRestApi(s), UpdateRestApi,
//! DeleteRestApi; and GetResources.

use super::{embeds, find_api, list, page, patch, wire, ApiError, PatchBody, Reply, Req, Result};
use crate::control::import::{BasePathMode, ImportOptions};
use crate::control::{self, ControlError, PutMode};
use crate::model::{EndpointConfiguration, Resource, RestApi};
use crate::store::{self, Store, StoreError};
use serde::Deserialize;

use std::collections::BTreeMap;

pub(super) fn import_options(req: &Req) -> Result<ImportOptions> {
    let mut opts = ImportOptions {
        fail_on_warnings: req
            .q("failonwarnings")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        ..Default::default()
    };
    if let Some(b) = req.q("basepath") {
        opts.basepath = BasePathMode::parse(b).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid basepath value {b}: must be one of ignore, prepend, split"
            ))
        })?;
    }
    if let Some(t) = req.q("endpointConfigurationTypes") {
        let t = t.to_ascii_uppercase();
        if !matches!(t.as_str(), "EDGE" | "REGIONAL" | "PRIVATE") {
            return Err(ApiError::bad_request(format!(
                "Invalid endpoint configuration type {t}: must be one of EDGE, REGIONAL, PRIVATE"
            )));
        }
        opts.endpoint_type = Some(t);
    }
    Ok(opts)
}

/// The name used in import error messages (the CLI sends the file's bytes, not its name).
const BODY_NAME: &str = "body";

pub(super) fn import_rest_api(store: &Store, req: &Req) -> Result<Reply> {
    let opts = import_options(req)?;
    match control::import_new_any_name(store, BODY_NAME, req.body, &opts) {
        Ok((api, _)) => Ok(Reply::created(wire::rest_api(&api))),
        Err(ControlError::Store(StoreError::Conflict(m))) => {
            let first = m.split("; ").next().unwrap_or(&m);
            Err(ApiError::conflict(format!(
                "{first}: gw keeps API names unique; update it with put-rest-api --rest-api-id, or delete it first"
            )))
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn put_rest_api(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let mode = match req.q("mode") {
        None => PutMode::Merge,
        Some(m) => PutMode::parse(m).ok_or_else(|| {
            ApiError::bad_request(format!("Invalid mode {m}: must be one of merge, overwrite"))
        })?,
    };
    let opts = import_options(req)?;
    let (api, _) = control::import_into(store, id, BODY_NAME, req.body, mode, &opts)?;
    Ok(Reply::ok(wire::rest_api(&api)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateRestApiBody {
    name: Option<String>,
    description: Option<String>,
    version: Option<String>,
    clone_from: Option<String>,
    #[serde(default)]
    binary_media_types: Vec<String>,
    minimum_compression_size: Option<i64>,
    api_key_source: Option<String>,
    endpoint_configuration: Option<EndpointConfiguration>,
    policy: Option<String>,
    #[serde(default)]
    disable_execute_api_endpoint: bool,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

pub(super) fn create_rest_api(store: &Store, req: &Req) -> Result<Reply> {
    let b: CreateRestApiBody = req.json()?;
    let name = b
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("Invalid REST API name specified"))?;
    if b.description.as_deref() == Some("") {
        return Err(ApiError::bad_request(
            "Description cannot be an empty string",
        ));
    }
    if b.clone_from.is_some() {
        return Err(ApiError::bad_request(
            "gw does not emulate cloneFrom: import the source API's definition instead",
        ));
    }
    if let Some(source) = b.api_key_source.as_deref() {
        if !matches!(source, "HEADER" | "AUTHORIZER") {
            return Err(ApiError::bad_request(format!(
                "Invalid API key source specified: {source}. Valid values are HEADER and AUTHORIZER"
            )));
        }
    }
    if let Some(e) = &b.endpoint_configuration {
        let ok =
            e.types.len() == 1 && matches!(e.types[0].as_str(), "EDGE" | "REGIONAL" | "PRIVATE");
        if !ok {
            return Err(ApiError::bad_request(format!(
                "Invalid endpoint configuration types specified: {:?}. Give exactly one of EDGE, REGIONAL, PRIVATE",
                e.types
            )));
        }
    }
    if let Some(n) = b.minimum_compression_size {
        if !(0..=10_485_760).contains(&n) {
            return Err(ApiError::bad_request(
                "Invalid minimum compression size, must be between 0 and 10485760",
            ));
        }
    }
    let api = RestApi {
        documentation: Default::default(),
        id: crate::aws::ids::api_id(),
        name,
        description: b.description,
        version: b.version,
        created_date: store::now(),
        api_key_source: b.api_key_source,
        binary_media_types: b.binary_media_types,
        minimum_compression_size: b.minimum_compression_size,
        endpoint_configuration: b.endpoint_configuration.unwrap_or(EndpointConfiguration {
            types: vec!["EDGE".into()],
            vpc_endpoint_ids: Vec::new(),
        }),
        policy: b.policy,
        disable_execute_api_endpoint: b.disable_execute_api_endpoint,
        cors_configuration: None,
        warnings: Vec::new(),
        tags: b.tags,
        resources: vec![Resource {
            id: crate::aws::ids::short(),
            parent_id: None,
            path_part: None,
            path: "/".into(),
            resource_methods: BTreeMap::new(),
        }],
        authorizers: Vec::new(),
        request_validators: Vec::new(),
        gateway_responses: BTreeMap::new(),
        // AWS gives every new REST API these two models.
        models: BTreeMap::from([
            (
                "Empty".to_string(),
                serde_json::json!({
                    "$schema": "http://json-schema.org/draft-04/schema#",
                    "title": "Empty Schema",
                    "type": "object"
                }),
            ),
            (
                "Error".to_string(),
                serde_json::json!({
                    "$schema": "http://json-schema.org/draft-04/schema#",
                    "title": "Error Schema",
                    "type": "object",
                    "properties": {"message": {"type": "string"}}
                }),
            ),
        ]),
    };
    store
        .write(|tx| tx.insert_api_any_name(&api, b"", ""))
        .map_err(|e| match e {
            StoreError::Conflict(m) => ApiError::conflict(format!(
                "{}: gw keeps API names unique; choose another name",
                m.split("; ").next().unwrap_or(&m)
            )),
            e => e.into(),
        })?;
    Ok(Reply::created(wire::rest_api(&api)))
}

pub(super) fn get_rest_apis(store: &Store, req: &Req) -> Result<Reply> {
    let apis = store.read(|tx| tx.list_apis())?;
    let (apis, next) = page(apis, req)?;
    Ok(Reply::ok(list(
        apis.iter().map(wire::rest_api).collect(),
        next,
    )))
}

/// UpdateRestApi: the top-level scalar fields and `binaryMediaTypes`.
pub(super) fn update_rest_api(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let ops = req.json::<PatchBody>()?.patch_operations;
    let api = store.write(|tx| {
        let Some(mut api) = tx.find_api(id)?.filter(|a| a.id == id) else {
            return Err(StoreError::NotFound(format!(
                "Invalid API identifier specified {}:{id}",
                wire::ACCOUNT_ID
            )));
        };
        for op in &ops {
            apply_rest_api_op(&mut api, op).map_err(StoreError::Invalid)?;
        }
        if let Some(other) = tx.find_api(&api.name)?.filter(|o| o.id != api.id) {
            return Err(StoreError::Conflict(format!(
                "an API named {:?} already exists (id {}): gw keeps API names unique",
                api.name, other.id
            )));
        }
        tx.update_api(&api, None)?;
        Ok(api)
    })?;
    Ok(Reply::ok(wire::rest_api(&api)))
}

pub(super) fn apply_rest_api_op(
    api: &mut RestApi,
    op: &patch::PatchOp,
) -> std::result::Result<(), String> {
    let v = op.value.clone();
    let set = matches!(op.op.as_str(), "replace" | "add");
    match (op.path.as_str(), set) {
        ("/name", true) => {
            api.name = v
                .filter(|n| !n.trim().is_empty())
                .ok_or("Invalid REST API name specified")?
        }
        ("/description", _) => api.description = if set { v } else { None },
        ("/version", _) => api.version = if set { v } else { None },
        ("/apiKeySource", true) => {
            let s = v.unwrap_or_default().to_ascii_uppercase();
            if s != "HEADER" && s != "AUTHORIZER" {
                return Err(format!("Invalid API Key source specified: {s}"));
            }
            api.api_key_source = Some(s);
        }
        ("/disableExecuteApiEndpoint", true) => {
            api.disable_execute_api_endpoint = v.is_some_and(|b| b.eq_ignore_ascii_case("true"));
        }
        ("/minimumCompressionSize", _) => {
            api.minimum_compression_size = match v.filter(|s| !s.is_empty() && set) {
                None => None,
                Some(s) => Some(
                    s.parse::<i64>()
                        .ok()
                        .filter(|n| (0..=10_485_760).contains(n))
                        .ok_or(
                            "Invalid minimum compression size, must be between 0 and 10485760",
                        )?,
                ),
            };
        }
        (p, _) if p.starts_with("/binaryMediaTypes/") => {
            let t = p["/binaryMediaTypes/".len()..]
                .replace("~1", "/")
                .replace("~0", "~");
            match op.op.as_str() {
                "add" | "replace" => {
                    if !api.binary_media_types.contains(&t) {
                        api.binary_media_types.push(t);
                    }
                }
                "remove" => api.binary_media_types.retain(|x| x != &t),
                o => return Err(format!("Invalid {o} operation with path: {p}")),
            }
        }
        (p, _) => return Err(format!("Invalid patch path {p}")),
    }
    Ok(())
}

pub(super) fn get_resources(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let api = find_api(store, id)?;
    let embed = embeds(req, "methods");
    let (resources, next) = page(api.resources.iter().collect(), req)?;
    Ok(Reply::ok(list(
        resources
            .into_iter()
            .map(|r| wire::resource(r, embed))
            .collect(),
        next,
    )))
}

/// `POST /restapis`: CreateRestApi, or ImportRestApi with `mode=import`.
pub(super) fn create_or_import(store: &Store, req: &Req) -> Result<Reply> {
    if req.q("mode") == Some("import") {
        import_rest_api(store, req)
    } else {
        create_rest_api(store, req)
    }
}

pub(super) fn delete_rest_api(store: &Store, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    control::delete_api(store, id)?;
    Ok(Reply::accepted())
}
