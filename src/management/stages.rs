//! Deployments and stages: Create/Get/DeleteDeployment(s), Create/Get/Update/DeleteStage(s),
//! GetExport.

use super::export;
use super::missing;
use super::{
    embeds, find_api, list, page, patch, wire, ApiError, PatchBody, Reply, Req, Result,
    STAGE_NOT_FOUND,
};
use crate::control::{self, ControlError};
use crate::model::{CanarySettings, Stage};
use crate::store::{Store, StoreError};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// Deployments

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DeploymentCanaryBody {
    percent_traffic: Option<f64>,
    stage_variable_overrides: Option<BTreeMap<String, String>>,
    use_stage_cache: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateDeploymentBody {
    stage_name: Option<String>,
    stage_description: Option<String>,
    description: Option<String>,
    variables: Option<BTreeMap<String, String>>,
    canary_settings: Option<DeploymentCanaryBody>,
    tracing_enabled: Option<bool>,
}

pub(super) fn create_deployment(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let b: CreateDeploymentBody = req.json()?;
    let description = b.description.as_deref();
    let deployment = if let Some(canary) = &b.canary_settings {
        let stage = match b.stage_name.as_deref() {
            None => return Err(ApiError::bad_request(
                "Invalid deployment content specified.Non null and non empty stageName must be provided for canary deployment. Provided value is null",
            )),
            Some("") => return Err(ApiError::bad_request(
                "Invalid deployment content specified.Non null and non empty stageName must be provided for canary deployment. Provided value is ",
            )),
            Some(s) => s,
        };
        let overrides = canary.stage_variable_overrides.clone().unwrap_or_default();
        let deployed = control::deploy_canary(
            store,
            Some(id),
            stage,
            canary.percent_traffic.unwrap_or(0.0),
            &overrides,
            description,
            None,
        )?;
        if canary.use_stage_cache == Some(true)
            || b.variables.is_some()
            || b.stage_description.is_some()
            || b.tracing_enabled.is_some()
        {
            finish_stage(store, id, stage, &b, canary.use_stage_cache)?;
        }
        deployed.deployment
    } else if let Some(stage) = b.stage_name.as_deref().filter(|s| !s.is_empty()) {
        let vars = b.variables.clone().unwrap_or_default();
        let deployed = control::deploy(store, Some(id), stage, description, &vars)?;
        if b.stage_description.is_some() || b.tracing_enabled.is_some() {
            finish_stage(store, id, stage, &b, None)?;
        }
        deployed.deployment
    } else {
        store.write(|tx| {
            let api = tx.find_api(id)?.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "Invalid API identifier specified {}:{id}",
                    wire::ACCOUNT_ID
                ))
            })?;
            tx.create_deployment(&api, description)
        })?
    };
    Ok(Reply::created(wire::deployment(&deployment, None)))
}

/// The stage settings CreateDeployment carries besides the deployment itself.
fn finish_stage(
    store: &Store,
    id: &str,
    stage: &str,
    b: &CreateDeploymentBody,
    use_stage_cache: Option<bool>,
) -> Result<()> {
    control::update_stage(store, Some(id), stage, |s| {
        if let Some(d) = &b.stage_description {
            s.description = Some(d.clone()).filter(|d| !d.is_empty());
        }
        if let Some(t) = b.tracing_enabled {
            s.tracing_enabled = t;
        }
        if b.canary_settings.is_some() {
            if let Some(v) = &b.variables {
                control::check_variables(v)?;
                s.variables = v.clone();
            }
        }
        if let (Some(u), Some(c)) = (use_stage_cache, &mut s.canary_settings) {
            c.use_stage_cache = u;
        }
        Ok(())
    })?;
    Ok(())
}

pub(super) fn get_deployments(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let all = store.read(|tx| tx.deployments(id))?;
    let (items, next) = page(all, req)?;
    Ok(Reply::ok(list(
        items.iter().map(|d| wire::deployment(d, None)).collect(),
        next,
    )))
}

pub(super) fn get_deployment(store: &Store, req: &Req, id: &str, did: &str) -> Result<Reply> {
    find_api(store, id)?;
    let (d, snapshot) = store.read(|tx| {
        let d = tx.deployment(id, did)?;
        let snap = if embeds(req, "apisummary") {
            tx.deployment_snapshot(id, did)?
        } else {
            None
        };
        Ok((d, snap))
    })?;
    let d = d.ok_or_else(|| ApiError::not_found(missing::DEPLOYMENT))?;
    Ok(Reply::ok(wire::deployment(&d, snapshot.as_ref())))
}

// ---------------------------------------------------------------------------------------------
// Stages

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CanaryBody {
    percent_traffic: Option<f64>,
    deployment_id: Option<String>,
    stage_variable_overrides: Option<BTreeMap<String, String>>,
    use_stage_cache: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateStageBody {
    stage_name: Option<String>,
    deployment_id: Option<String>,
    description: Option<String>,
    variables: Option<BTreeMap<String, String>>,
    canary_settings: Option<CanaryBody>,
    tracing_enabled: Option<bool>,
    documentation_version: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

pub(super) fn create_stage(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let b: CreateStageBody = req.json()?;
    let name = b
        .stage_name
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("Invalid stage identifier specified"))?;
    let deployment_id = b
        .deployment_id
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("Invalid deployment identifier specified"))?;
    let canary = b.canary_settings.map(|c| CanarySettings {
        percent_traffic: c.percent_traffic.unwrap_or(0.0),
        deployment_id: c.deployment_id.unwrap_or_else(|| deployment_id.clone()),
        stage_variable_overrides: c.stage_variable_overrides.unwrap_or_default(),
        use_stage_cache: c.use_stage_cache.unwrap_or(false),
        sticky: None,
    });
    let stage = Stage {
        stage_name: name,
        deployment_id,
        description: b.description.filter(|d| !d.is_empty()),
        variables: b.variables.unwrap_or_default(),
        canary_settings: canary,
        tracing_enabled: b.tracing_enabled.unwrap_or(false),
        method_settings: Default::default(),
        access_log_settings: None,
        documentation_version: b.documentation_version.filter(|v| !v.is_empty()),
        tags: b.tags.clone().unwrap_or_default(),
        created_date: 0,
        last_updated_date: 0,
    };
    let (_, stage) = control::create_stage(store, Some(id), stage)?;
    Ok(Reply::created(wire::stage(&stage)))
}

pub(super) fn get_stages(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    find_api(store, id)?;
    let stages = store.read(|tx| tx.stages(id))?;
    let filter = req.q("deploymentId");
    let items: Vec<Value> = stages
        .iter()
        .filter(|s| filter.is_none_or(|d| s.deployment_id == d))
        .map(wire::stage)
        .collect();
    Ok(Reply::ok(json!({ "item": items })))
}

pub(super) fn update_stage(store: &Store, req: &Req, id: &str, name: &str) -> Result<Reply> {
    find_api(store, id)?;
    let ops = req.json::<PatchBody>()?.patch_operations;
    let (_, stage, ()) = control::update_stage_in(store, Some(id), name, |tx, api, stage| {
        let before = stage.clone();
        patch::apply(stage, &ops, |d| {
            tx.deployment(&api.id, d).ok().flatten().is_some()
        })
        .map_err(|e| ControlError::Store(StoreError::Invalid(e.0)))?;
        // The history sees a promotion or a new share made through the AWS API as it sees `gw`'s.
        control::record_change(tx, &api.id, &before, stage, "UpdateStage")?;
        Ok(())
    })?;
    Ok(Reply::ok(wire::stage(&stage)))
}

pub(super) fn get_export(
    store: &Store,
    req: &Req,
    id: &str,
    name: &str,
    kind: &str,
) -> Result<Reply> {
    let api = find_api(store, id)?;
    let format = export::Format::parse(kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid export type {kind}: must be one of oas30, swagger"
        ))
    })?;
    let snapshot = store.read(|tx| {
        let Some(stage) = tx.stage(id, name)? else {
            return Ok(None);
        };
        Ok(tx
            .deployment_snapshot(id, &stage.deployment_id)?
            .map(|d| (d, stage.documentation_version)))
    })?;
    let (deployed, documentation_version) =
        snapshot.ok_or_else(|| ApiError::not_found(STAGE_NOT_FOUND))?;
    let host = req
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(crate::control::urls::DEFAULT_ENDPOINT);
    let host = format!(
        "{}.execute-api.{}",
        api.id,
        host.replace("127.0.0.1", "localhost")
    );
    let ext = export::Extensions::parse(req.q("extensions"));
    let mut doc = export::export(&deployed, name, &host, format, ext);
    // The stage's documentation version, as AWS exports it.
    if let (Some(d), Value::Object(m)) = (
        super::documentation::for_export(&api, documentation_version.as_deref()),
        &mut doc,
    ) {
        m.insert("x-amazon-apigateway-documentation".into(), d);
    }
    let yaml = req
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("yaml"));
    let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let (body, content_type, ext_name) = if yaml {
        let text = serde_yaml::to_string(&doc)
            .map_err(|e| ApiError::internal(format!("cannot write YAML: {e}")))?;
        (text.into_bytes(), "application/yaml", "yaml")
    } else {
        let text = serde_json::to_vec_pretty(&doc)
            .map_err(|e| ApiError::internal(format!("cannot write JSON: {e}")))?;
        (text, "application/json", "json")
    };
    Ok(Reply {
        status: StatusCode::OK,
        body,
        content_type,
        extra: vec![(
            "content-disposition",
            format!("attachment; filename=\"{kind}_{stamp}.{ext_name}\""),
        )],
    })
}

pub(super) fn delete_deployment(store: &Store, id: &str, did: &str) -> Result<Reply> {
    find_api(store, id)?;
    store.write(|tx| tx.delete_deployment(id, did))?;
    Ok(Reply::accepted())
}

pub(super) fn get_stage(store: &Store, id: &str, name: &str) -> Result<Reply> {
    find_api(store, id)?;
    let s = store
        .read(|tx| tx.stage(id, name))?
        .ok_or_else(|| ApiError::not_found(STAGE_NOT_FOUND))?;
    Ok(Reply::ok(wire::stage(&s)))
}

pub(super) fn delete_stage(store: &Store, id: &str, name: &str) -> Result<Reply> {
    find_api(store, id)?;
    control::delete_stage(store, Some(id), name)?;
    Ok(Reply::accepted())
}

/// Fails with AWS's NotFoundException unless API `id` has stage `name` (the API checked first).
pub(super) fn check_stage(store: &Store, id: &str, name: &str) -> Result<()> {
    find_api(store, id)?;
    match store.read(|tx| tx.stage(id, name))? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(missing::STAGE)),
    }
}
