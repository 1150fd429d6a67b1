//! Import and re-import (ImportRestApi, PutRestApi in `overwrite` and `merge` mode) and
//! DeleteRestApi: the operations that replace or remove an API's definition as a whole. The
//! merge of a re-imported spec into the stored API (resources re-parented by path, authorizers
//! and validators replaced by name, methods following them to their new ids) lives here, with
//! the policy rewrite AWS's importer does once the API id is known.

use super::import::{self, ImportOptions, Warning};
use super::Result;
use crate::model::{self, RestApi};
use crate::store::{self, Store};
use std::collections::BTreeMap;

/// PutRestApi's `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    Overwrite,
    Merge,
}

impl PutMode {
    pub fn parse(s: &str) -> Option<PutMode> {
        match s.to_ascii_lowercase().as_str() {
            "overwrite" => Some(PutMode::Overwrite),
            "merge" => Some(PutMode::Merge),
            _ => None,
        }
    }
}

/// Rewrite `execute-api:/*` resources in a policy to the API's ARN, as AWS's importer does.
fn qualify_policy(api: &mut RestApi) {
    if let Some(p) = &api.policy {
        api.policy = Some(p.replace(
            "execute-api:/",
            &format!("arn:aws:execute-api:us-east-1:000000000000:{}/", api.id),
        ));
    }
}

/// Import a spec as a new API under a name no other API has (`gw import`).
pub fn import_new(
    store: &Store,
    file: &str,
    bytes: &[u8],
    name: Option<&str>,
    options: &ImportOptions,
) -> Result<(RestApi, Vec<Warning>)> {
    import_as_new(store, file, bytes, name, options, true)
}

/// ImportRestApi: import a spec as a new API, whatever other APIs are named (as on AWS).
pub fn import_new_any_name(
    store: &Store,
    file: &str,
    bytes: &[u8],
    options: &ImportOptions,
) -> Result<(RestApi, Vec<Warning>)> {
    import_as_new(store, file, bytes, None, options, false)
}

fn import_as_new(
    store: &Store,
    file: &str,
    bytes: &[u8],
    name: Option<&str>,
    options: &ImportOptions,
    unique_name: bool,
) -> Result<(RestApi, Vec<Warning>)> {
    let imported = import::import(file, bytes, options)?;
    let mut api = imported.api;
    api.id = crate::aws::ids::api_id();
    api.created_date = store::now();
    api.name = match name {
        Some(n) if !n.trim().is_empty() => n.trim().to_string(),
        _ => imported
            .title
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| file_stem(file)),
    };
    qualify_policy(&mut api);
    store.write(|tx| {
        if unique_name {
            tx.insert_api(&api, bytes, file)
        } else {
            tx.insert_api_any_name(&api, bytes, file)
        }
    })?;
    Ok((api, imported.warnings))
}

fn file_stem(file: &str) -> String {
    std::path::Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("api")
        .to_string()
}

/// Re-import into an existing API (PutRestApi): overwrite replaces the definition, merge adds the
/// spec's resources and methods to it (a method in both takes the spec's definition).
pub fn import_into(
    store: &Store,
    selector: &str,
    file: &str,
    bytes: &[u8],
    mode: PutMode,
    options: &ImportOptions,
) -> Result<(RestApi, Vec<Warning>)> {
    let imported = import::import(file, bytes, options)?;
    let api = store.write(|tx| {
        let old = tx.resolve_api(Some(selector))?;
        let mut api = match mode {
            PutMode::Overwrite => {
                let mut api = imported.api.clone();
                api.id = old.id.clone();
                api.name = old.name.clone();
                api.created_date = old.created_date;
                api.tags = old.tags.clone();
                // Documentation versions are the API's; its parts are replaced only by a
                // document that has some.
                api.documentation.versions = old.documentation.versions.clone();
                if api.documentation.parts.is_empty() {
                    api.documentation.parts = old.documentation.parts.clone();
                }
                api
            }
            PutMode::Merge => merge(old, imported.api.clone()),
        };
        qualify_policy(&mut api);
        tx.update_api(&api, Some((bytes, file)))?;
        Ok(api)
    })?;
    Ok((api, imported.warnings))
}

fn merge(mut old: RestApi, new: RestApi) -> RestApi {
    for r in new.resources {
        match old.resources.iter_mut().find(|o| o.path == r.path) {
            Some(existing) => existing.resource_methods.extend(r.resource_methods),
            None => {
                // Re-parent onto the existing tree by path.
                let parent_path = parent_path(&r.path);
                let parent_id = old
                    .resources
                    .iter()
                    .find(|o| Some(o.path.as_str()) == parent_path.as_deref())
                    .map(|o| o.id.clone())
                    .or(r.parent_id.clone());
                old.resources.push(model::Resource { parent_id, ..r });
            }
        }
    }
    old.resources.sort_by(|a, b| a.path.cmp(&b.path));
    for t in new.binary_media_types {
        if !old.binary_media_types.contains(&t) {
            old.binary_media_types.push(t);
        }
    }
    old.gateway_responses.extend(new.gateway_responses);
    old.models.extend(new.models);
    let parts = new
        .documentation
        .parts
        .into_iter()
        .map(|p| (p.location, p.properties))
        .collect();
    crate::aws::documentation::merge(
        &mut old.documentation.parts,
        parts,
        false,
        crate::aws::ids::short,
    );
    // An authorizer or validator of the same name is replaced; methods kept from the old API
    // follow it to its new id.
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    for a in new.authorizers {
        for o in old.authorizers.iter().filter(|o| o.name == a.name) {
            renamed.insert(o.id.clone(), a.id.clone());
        }
        old.authorizers.retain(|o| o.name != a.name);
        old.authorizers.push(a);
    }
    for v in new.request_validators {
        for o in old.request_validators.iter().filter(|o| o.name == v.name) {
            renamed.insert(o.id.clone(), v.id.clone());
        }
        old.request_validators.retain(|o| o.name != v.name);
        old.request_validators.push(v);
    }
    for m in old
        .resources
        .iter_mut()
        .flat_map(|r| r.resource_methods.values_mut())
    {
        for id in [&mut m.authorizer_id, &mut m.request_validator_id]
            .into_iter()
            .flatten()
        {
            if let Some(new_id) = renamed.get(id.as_str()) {
                *id = new_id.clone();
            }
        }
    }
    old.warnings = new.warnings;
    old
}

fn parent_path(path: &str) -> Option<String> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/".into()),
        Some(i) => Some(path[..i].to_string()),
        None => None,
    }
}

pub fn delete_api(store: &Store, selector: &str) -> Result<RestApi> {
    Ok(store.write(|tx| {
        let api = tx.resolve_api(Some(selector))?;
        tx.delete_api(&api.id)?;
        Ok(api)
    })?)
}
