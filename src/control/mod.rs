//! Control-plane operations with AWS's semantics, shared by the CLI and the management API:
//! import and re-import, deploy, canary release, promote, rollback, stage variables, functions,
//! API keys and usage plans.
//! Each operation is one store transaction.

pub mod import;
pub mod urls;

use crate::model::{self, CanarySettings, Deployment, RestApi, Stage};
use crate::store::{self, Store, StoreError};
use import::{ImportError, ImportOptions, Warning};

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, ControlError>;

fn invalid(msg: impl Into<String>) -> ControlError {
    ControlError::Store(StoreError::Invalid(msg.into()))
}

fn not_found(msg: impl Into<String>) -> ControlError {
    ControlError::Store(StoreError::NotFound(msg.into()))
}

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

/// Import a spec as a new API (ImportRestApi).
pub fn import_new(
    store: &Store,
    file: &str,
    bytes: &[u8],
    name: Option<&str>,
    options: &ImportOptions,
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
    store.write(|tx| tx.insert_api(&api, bytes, file))?;
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

fn check_stage_name(name: &str) -> Result<()> {
    if model::valid_stage_name(name) {
        Ok(())
    } else {
        Err(invalid(format!(
            "Stage name only allows a-zA-Z0-9_- (got {name:?}, at most 128 characters)"
        )))
    }
}

/// Validate stage variables as AWS does.
pub fn check_variables(vars: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in vars {
        if !model::valid_variable_name(k) {
            return Err(invalid(format!(
                "Stage variable name {k:?} is invalid: use letters, digits and _ (at most 64 characters)"
            )));
        }
        if !model::valid_variable_value(v) {
            return Err(invalid(format!(
                "Stage variable value {v:?} of {k} is invalid: allowed characters are A-Za-z0-9 - . _ ~ : / ? # & = , (at most 512)"
            )));
        }
    }
    Ok(())
}

fn check_percent(pct: f64) -> Result<()> {
    if (0.0..=100.0).contains(&pct) {
        Ok(())
    } else {
        Err(invalid(format!(
            "Canary traffic percentage {pct} is out of range: use a number from 0.0 to 100.0"
        )))
    }
}

/// What `deploy` did.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub api: RestApi,
    pub deployment: Deployment,
    pub stage: Stage,
    /// The canary deployment a plain deploy replaced, if any.
    pub dropped_canary: Option<String>,
}

/// Freeze the API into a new deployment and point `stage_name` at it (creating the stage).
pub fn deploy(
    store: &Store,
    api: Option<&str>,
    stage_name: &str,
    description: Option<&str>,
    vars: &BTreeMap<String, String>,
) -> Result<Deployed> {
    check_stage_name(stage_name)?;
    check_variables(vars)?;
    Ok(store.write(|tx| {
        let api = tx.resolve_api(api)?;
        let deployment = tx.create_deployment(&api, description)?;
        let now = store::now();
        let (stage, dropped_canary) = match tx.stage(&api.id, stage_name)? {
            Some(mut s) => {
                s.deployment_id = deployment.id.clone();
                s.variables.extend(vars.clone());
                s.last_updated_date = now;
                let dropped = s.canary_settings.take().map(|c| c.deployment_id);
                (s, dropped)
            }
            None => (
                Stage {
                    stage_name: stage_name.to_string(),
                    deployment_id: deployment.id.clone(),
                    description: None,
                    variables: vars.clone(),
                    canary_settings: None,
                    tracing_enabled: false,
                    method_settings: Default::default(),
                    access_log_settings: None,
                    created_date: now,
                    last_updated_date: now,
                },
                None,
            ),
        };
        tx.put_stage(&api.id, &stage)?;
        Ok(Deployed {
            api,
            deployment,
            stage,
            dropped_canary,
        })
    })?)
}

/// Freeze a new deployment as the canary of an existing stage.
pub fn deploy_canary(
    store: &Store,
    api: Option<&str>,
    stage_name: &str,
    percent: f64,
    overrides: &BTreeMap<String, String>,
    description: Option<&str>,
) -> Result<Deployed> {
    check_percent(percent)?;
    check_variables(overrides)?;
    Ok(store.write(|tx| {
        let api = tx.resolve_api(api)?;
        let Some(mut stage) = tx.stage(&api.id, stage_name)? else {
            return Err(StoreError::Invalid(format!(
                "Invalid deployment content specified.Stage {stage_name} must already be created before making a canary release deployment"
            )));
        };
        let deployment = tx.create_deployment(&api, description)?;
        stage.canary_settings = Some(CanarySettings {
            percent_traffic: percent,
            deployment_id: deployment.id.clone(),
            stage_variable_overrides: overrides.clone(),
            use_stage_cache: false,
            sticky: None,
        });
        stage.last_updated_date = store::now();
        tx.put_stage(&api.id, &stage)?;
        Ok(Deployed {
            api,
            deployment,
            stage,
            dropped_canary: None,
        })
    })?)
}

/// Apply `f` to one stage of an API, in one transaction.
pub fn update_stage<T>(
    store: &Store,
    api: Option<&str>,
    stage_name: &str,
    f: impl FnOnce(&mut Stage) -> Result<T>,
) -> Result<(RestApi, Stage, T)> {
    update_stage_in(store, api, stage_name, |_, _, stage| f(stage))
}

/// [`update_stage`] with the open transaction and the API at hand, for updates that must check
/// other state in the same transaction (UpdateStage's patch checks that deployment ids exist).
pub fn update_stage_in<T>(
    store: &Store,
    api: Option<&str>,
    stage_name: &str,
    f: impl FnOnce(&store::Tx, &RestApi, &mut Stage) -> Result<T>,
) -> Result<(RestApi, Stage, T)> {
    let mut f = Some(f);
    let mut out = None;
    let (api, stage) = store.write(|tx| {
        let api = tx.resolve_api(api)?;
        let mut stage = tx.stage(&api.id, stage_name)?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "Invalid Stage identifier specified: no stage {stage_name:?} in API {} ({})",
                api.name, api.id
            ))
        })?;
        if let Some(f) = f.take() {
            match f(tx, &api, &mut stage) {
                Ok(v) => out = Some(v),
                Err(ControlError::Store(e)) => return Err(e),
                Err(ControlError::Import(e)) => return Err(StoreError::Invalid(e.to_string())),
            }
        }
        stage.last_updated_date = store::now();
        tx.put_stage(&api.id, &stage)?;
        Ok((api, stage))
    })?;
    let out = out.ok_or_else(|| invalid("stage update did not run"))?;
    Ok((api, stage, out))
}

/// CreateStage: a new stage pointing at an existing deployment (its canary, if any, too).
/// Errors as AWS words them: unknown deployment "Invalid Deployment identifier specified",
/// unknown canary deployment "Deployment id does not exist", existing stage "Stage already exists".
pub fn create_stage(
    store: &Store,
    api: Option<&str>,
    mut stage: Stage,
) -> Result<(RestApi, Stage)> {
    check_stage_name(&stage.stage_name)?;
    check_variables(&stage.variables)?;
    if let Some(c) = &stage.canary_settings {
        check_percent(c.percent_traffic)?;
        check_variables(&c.stage_variable_overrides)?;
    }
    Ok(store.write(|tx| {
        let api = tx.resolve_api(api)?;
        if tx.deployment(&api.id, &stage.deployment_id)?.is_none() {
            return Err(StoreError::NotFound(
                "Invalid Deployment identifier specified".into(),
            ));
        }
        if let Some(c) = &stage.canary_settings {
            if tx.deployment(&api.id, &c.deployment_id)?.is_none() {
                return Err(StoreError::Invalid("Deployment id does not exist".into()));
            }
        }
        if tx.stage(&api.id, &stage.stage_name)?.is_some() {
            return Err(StoreError::Conflict("Stage already exists".into()));
        }
        let now = store::now();
        stage.created_date = now;
        stage.last_updated_date = now;
        tx.put_stage(&api.id, &stage)?;
        Ok((api, stage))
    })?)
}

/// The stage meant when `--stage` is left out: the only one with a canary.
pub fn canary_stage(store: &Store, api: Option<&str>, stage: Option<&str>) -> Result<String> {
    if let Some(s) = stage {
        return Ok(s.to_string());
    }
    let (api, stages) = store.read(|tx| {
        let api = tx.resolve_api(api)?;
        let stages = tx.stages(&api.id)?;
        Ok((api, stages))
    })?;
    let with: Vec<&Stage> = stages
        .iter()
        .filter(|s| s.canary_settings.is_some())
        .collect();
    match with.as_slice() {
        [one] => Ok(one.stage_name.clone()),
        [] => Err(not_found(format!(
            "no stage of API {} has a canary; start one with `gw deploy --stage STAGE --canary PERCENT`",
            api.name
        ))),
        many => Err(invalid(format!(
            "several stages have a canary ({}); choose one with --stage",
            many.iter()
                .map(|s| s.stage_name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub const NO_CANARY: &str = "Promotion not available. Canary does not exist.";

/// Promote: production takes the canary's deployment, the overrides merge into the variables,
/// and the canary is switched off.
pub fn promote(store: &Store, api: Option<&str>, stage: Option<&str>) -> Result<(RestApi, Stage)> {
    let name = canary_stage(store, api, stage)?;
    let (api, stage, ()) = update_stage(store, api, &name, |s| {
        let canary = s.canary_settings.take().ok_or_else(|| invalid(NO_CANARY))?;
        s.deployment_id = canary.deployment_id;
        s.variables.extend(canary.stage_variable_overrides);
        Ok(())
    })?;
    Ok((api, stage))
}

/// Roll back: remove the canary; production untouched.
pub fn rollback(
    store: &Store,
    api: Option<&str>,
    stage: Option<&str>,
) -> Result<(RestApi, Stage, String)> {
    let name = canary_stage(store, api, stage)?;
    update_stage(store, api, &name, |s| {
        s.canary_settings
            .take()
            .map(|c| c.deployment_id)
            .ok_or_else(|| invalid(format!("stage {name} has no canary to roll back")))
    })
}

/// Change the canary's share of traffic.
pub fn set_canary_percent(
    store: &Store,
    api: Option<&str>,
    stage: Option<&str>,
    percent: f64,
) -> Result<(RestApi, Stage)> {
    check_percent(percent)?;
    let name = canary_stage(store, api, stage)?;
    let (api, stage, ()) = update_stage(store, api, &name, |s| match &mut s.canary_settings {
        Some(c) => {
            c.percent_traffic = percent;
            Ok(())
        }
        None => Err(invalid(format!(
            "stage {name} has no canary; create one with `gw deploy --stage {name} --canary PCT`"
        ))),
    })?;
    Ok((api, stage))
}

pub fn set_variables(
    store: &Store,
    api: Option<&str>,
    stage: &str,
    vars: &BTreeMap<String, String>,
) -> Result<(RestApi, Stage)> {
    check_variables(vars)?;
    let (api, stage, ()) = update_stage(store, api, stage, |s| {
        s.variables.extend(vars.clone());
        Ok(())
    })?;
    Ok((api, stage))
}

pub fn unset_variable(
    store: &Store,
    api: Option<&str>,
    stage: &str,
    key: &str,
) -> Result<(RestApi, Stage)> {
    let (api, stage, ()) = update_stage(store, api, stage, |s| {
        s.variables
            .remove(key)
            .map(|_| ())
            .ok_or_else(|| not_found(format!("stage {} has no variable {key:?}", s.stage_name)))
    })?;
    Ok((api, stage))
}

/// A stage's method throttling (`methodSettings`), as UpdateStage sets it: `method` is `None`
/// for every method (`*/*`) or `(VERB, /path)` for one; `limits` is `(rate per second, burst)`,
/// or `None` to remove the setting.
pub fn set_throttle(
    store: &Store,
    api: Option<&str>,
    stage: &str,
    method: Option<(&str, &str)>,
    limits: Option<(f64, i64)>,
) -> Result<(RestApi, Stage)> {
    let (api, stage, ()) = update_stage_in(store, api, stage, |_, api, s| {
        let key = match method {
            None => "*/*".to_string(),
            Some((verb, path)) => {
                let verb = verb.to_ascii_uppercase();
                let known = api.resources.iter().any(|r| {
                    r.path == path && (r.resource_methods.contains_key(&verb) || verb == "*")
                });
                if !known {
                    return Err(invalid(format!(
                        "API {} has no method {verb} {path}; `gw routes` lists its methods",
                        api.name
                    )));
                }
                format!("{}/{verb}", path.trim_start_matches('/'))
            }
        };
        match limits {
            Some((rate, burst)) if rate.is_finite() && rate >= 0.0 && burst >= 0 => {
                let entry = s.method_settings.entry(key).or_default();
                entry.throttling_rate_limit = rate;
                entry.throttling_burst_limit = burst;
            }
            Some(_) => {
                return Err(invalid(
                    "a throttle needs a rate (requests per second) and a burst of 0 or more",
                ))
            }
            None => {
                if let Some(entry) = s.method_settings.get_mut(&key) {
                    entry.throttling_rate_limit = -1.0;
                    entry.throttling_burst_limit = -1;
                    if *entry == crate::model::MethodSetting::default() {
                        s.method_settings.remove(&key);
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok((api, stage))
}

/// A stage's access-log format (`accessLogSettings.format`), or `None` to stop logging.
pub fn set_access_log(
    store: &Store,
    api: Option<&str>,
    stage: &str,
    format: Option<&str>,
) -> Result<(RestApi, Stage)> {
    let (api, stage, ()) = update_stage(store, api, stage, |s| {
        match format {
            Some(f) => {
                crate::model::check_access_log_format(f).map_err(invalid)?;
                s.access_log_settings
                    .get_or_insert_with(Default::default)
                    .format = Some(f.to_string());
            }
            None => s.access_log_settings = None,
        }
        Ok(())
    })?;
    Ok((api, stage))
}

pub fn delete_stage(store: &Store, api: Option<&str>, stage: &str) -> Result<RestApi> {
    Ok(store.write(|tx| {
        let api = tx.resolve_api(api)?;
        tx.delete_stage(&api.id, stage).map_err(|_| {
            StoreError::NotFound(format!(
                "Invalid Stage identifier specified: no stage {stage:?} in API {} ({})",
                api.name, api.id
            ))
        })?;
        Ok(api)
    })?)
}

pub fn delete_api(store: &Store, selector: &str) -> Result<RestApi> {
    Ok(store.write(|tx| {
        let api = tx.resolve_api(Some(selector))?;
        tx.delete_api(&api.id)?;
        Ok(api)
    })?)
}

/// Lambda's rule for function names: letters, digits, `-` and `_`, at most 64 characters.
pub fn valid_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Largest `--memory` a function may ask for, in MiB.
pub const MAX_FUNCTION_MEMORY_MB: i64 = (crate::wasm::MAX_MEMORY_BYTES >> 20) as i64;

/// Register `wasm` as a new version of function `name`: checked (WebAssembly, one of the two
/// contracts), compiled into the on-disk cache, stored; `$LATEST` moves to it.
pub fn put_function(
    store: &Store,
    name: &str,
    wasm: &[u8],
    memory_mb: i64,
    timeout_seconds: i64,
    environment: &BTreeMap<String, String>,
) -> Result<(store::FunctionVersion, crate::wasm::ContractKind)> {
    use sha2::Digest;
    if !valid_function_name(name) {
        return Err(invalid(format!(
            "function name {name:?} is invalid: use letters, digits, - and _ (at most 64 characters)"
        )));
    }
    if !(1..=MAX_FUNCTION_MEMORY_MB).contains(&memory_mb) {
        return Err(invalid(format!(
            "--memory {memory_mb} is out of range: use 1 to {MAX_FUNCTION_MEMORY_MB} (MiB)"
        )));
    }
    if !(1..=900).contains(&timeout_seconds) {
        return Err(invalid(format!(
            "--timeout {timeout_seconds} is out of range: use 1 to 900 (seconds), as Lambda does"
        )));
    }
    for k in environment.keys() {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            return Err(invalid(format!(
                "environment variable name {k:?} is invalid"
            )));
        }
    }
    let runtime = crate::wasm::Runtime::new(store.function_cache_dir())
        .map_err(|e| StoreError::Invalid(format!("cannot start the WebAssembly runtime: {e}")))?;
    let kind = runtime
        .classify(wasm)
        .map_err(|e| invalid(format!("cannot use this file as function {name}: {e}")))?;
    let sha = hex::encode(sha2::Sha256::digest(wasm));
    runtime
        .precompile_to_cache(&sha, wasm)
        .map_err(|e| invalid(format!("cannot compile function {name}: {e}")))?;
    let version = store.write(|tx| {
        tx.put_function(
            name,
            wasm,
            &sha,
            kind.as_str(),
            memory_mb,
            timeout_seconds,
            environment,
        )
    })?;
    Ok((version, kind))
}

/// Warnings about functions a deployment calls that are not registered (names taken from stage
/// variables are resolved with `variables`).
pub fn missing_functions(
    store: &Store,
    api: &RestApi,
    variables: &BTreeMap<String, String>,
) -> Result<Vec<String>> {
    let registered = store.read(|tx| tx.functions())?;
    let mut out = Vec::new();
    for (r, m) in api.routes() {
        let Some(i) = &m.method_integration else {
            continue;
        };
        if i.kind != model::IntegrationType::AwsProxy {
            continue;
        }
        let uri =
            crate::aws::uri::substitute_stage_variables(i.uri.as_deref().unwrap_or(""), variables);
        let Some(f) = crate::aws::uri::parse_function_uri(&uri) else {
            continue;
        };
        let found = registered.iter().any(|v| {
            v.name == f.name
                && match f.qualifier.as_deref() {
                    None | Some("$LATEST") => true,
                    Some(q) => q.parse::<i64>().is_ok_and(|n| n == v.version),
                }
        });
        if !found {
            let label = match &f.qualifier {
                Some(q) => format!("{}:{q}", f.name),
                None => f.name.clone(),
            };
            out.push(format!(
                "{} {} calls function {label}, which is not registered: it will answer 500 until `gw function put {} FILE.wasm`",
                m.http_method, r.path, f.name
            ));
        }
    }
    Ok(out)
}

// ---- API keys and usage plans ----

pub const NO_API_KEY: &str = "Invalid API Key identifier specified";
pub const NO_USAGE_PLAN: &str = "Invalid Usage Plan ID specified";

/// What a new API key is made of.
#[derive(Debug, Default)]
pub struct NewApiKey {
    pub name: String,
    /// `None`: a random 40-character value.
    pub value: Option<String>,
    pub enabled: bool,
    pub description: Option<String>,
}

/// Creates an API key. A given value must be 20 to 128 printable characters without spaces
/// (AWS's rule) and not already used by another key.
pub fn create_api_key(store: &Store, new: NewApiKey) -> Result<model::ApiKey> {
    if new.name.trim().is_empty() {
        return Err(invalid("API key name must be specified"));
    }
    let value = match new.value {
        Some(v) => {
            if !(20..=128).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(
                    "API Key value should be at least 20 characters (at most 128, no spaces)",
                ));
            }
            v
        }
        None => crate::aws::ids::api_key_value(),
    };
    let key = model::ApiKey {
        id: crate::aws::ids::api_id(),
        name: new.name,
        value,
        enabled: new.enabled,
        description: new.description,
        created_date: store::now(),
    };
    Ok(store.write(|tx| {
        if tx.api_keys()?.iter().any(|k| k.value == key.value) {
            return Err(StoreError::Conflict("API Key value already exists".into()));
        }
        tx.put_api_key(&key)?;
        Ok(key)
    })?)
}

/// A key by id, or by name when exactly one key has it.
pub fn find_api_key(
    tx: &store::Tx,
    id_or_name: &str,
) -> std::result::Result<model::ApiKey, StoreError> {
    let keys = tx.api_keys()?;
    if let Some(k) = keys.iter().find(|k| k.id == id_or_name) {
        return Ok(k.clone());
    }
    let named: Vec<&model::ApiKey> = keys.iter().filter(|k| k.name == id_or_name).collect();
    match named.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(StoreError::NotFound(NO_API_KEY.into())),
        _ => Err(StoreError::Invalid(format!(
            "{} API keys are named {id_or_name:?}; give the key's id instead",
            named.len()
        ))),
    }
}

pub fn delete_api_key(store: &Store, id_or_name: &str) -> Result<model::ApiKey> {
    Ok(store.write(|tx| {
        let key = find_api_key(tx, id_or_name)?;
        tx.delete_api_key(&key.id)?;
        Ok(key)
    })?)
}

pub fn find_usage_plan(
    tx: &store::Tx,
    id_or_name: &str,
) -> std::result::Result<model::UsagePlan, StoreError> {
    let plans = tx.usage_plans()?;
    plans
        .iter()
        .find(|p| p.id == id_or_name)
        .or_else(|| plans.iter().find(|p| p.name == id_or_name))
        .cloned()
        .ok_or_else(|| StoreError::NotFound(NO_USAGE_PLAN.into()))
}

/// Checks that every stage a plan names exists.
fn check_plan_stages(
    tx: &store::Tx,
    stages: &[model::UsagePlanStage],
) -> std::result::Result<(), StoreError> {
    for s in stages {
        let Some(api) = tx.find_api(&s.api_id)?.filter(|a| a.id == s.api_id) else {
            return Err(StoreError::Invalid(format!(
                "Invalid API identifier specified {}:{}",
                crate::aws::lambda::DEFAULT_ACCOUNT_ID,
                s.api_id
            )));
        };
        if tx.stage(&api.id, &s.stage)?.is_none() {
            return Err(StoreError::Invalid(format!(
                "Invalid stage identifier specified: {} has no stage {:?}",
                api.id, s.stage
            )));
        }
    }
    Ok(())
}

/// Creates a usage plan for `stages` (each must exist).
pub fn create_usage_plan(store: &Store, mut plan: model::UsagePlan) -> Result<model::UsagePlan> {
    if plan.name.trim().is_empty() {
        return Err(invalid("Usage plan name must be specified"));
    }
    plan.id = crate::aws::ids::short();
    plan.key_ids.clear();
    Ok(store.write(|tx| {
        check_plan_stages(tx, &plan.api_stages)?;
        tx.put_usage_plan(&plan)?;
        Ok(plan)
    })?)
}

/// Adds a key to a plan (CreateUsagePlanKey).
pub fn add_usage_plan_key(
    store: &Store,
    plan: &str,
    key: &str,
) -> Result<(model::UsagePlan, model::ApiKey)> {
    Ok(store.write(|tx| {
        let mut plan = find_usage_plan(tx, plan)?;
        let key = find_api_key(tx, key)?;
        if plan.key_ids.contains(&key.id) {
            return Err(StoreError::Conflict(format!(
                "API Key {} is already in Usage Plan {}",
                key.id, plan.id
            )));
        }
        // AWS: one key, one plan per API stage.
        for other in tx.usage_plans()? {
            if other.id == plan.id || !other.key_ids.contains(&key.id) {
                continue;
            }
            if let Some(shared) = other.api_stages.iter().find(|s| {
                plan.api_stages
                    .iter()
                    .any(|p| p.api_id == s.api_id && p.stage == s.stage)
            }) {
                return Err(StoreError::Conflict(format!(
                    "Usage Plan {} cannot be added because API Key {} cannot reference multiple Usage Plans with the same API Stage: {}:{}",
                    plan.id, key.id, shared.api_id, shared.stage
                )));
            }
        }
        plan.key_ids.push(key.id.clone());
        tx.put_usage_plan(&plan)?;
        Ok((plan, key))
    })?)
}

/// Takes a key out of a plan (DeleteUsagePlanKey).
pub fn remove_usage_plan_key(store: &Store, plan: &str, key: &str) -> Result<()> {
    Ok(store.write(|tx| {
        let mut plan = find_usage_plan(tx, plan)?;
        let before = plan.key_ids.len();
        plan.key_ids.retain(|k| k != key);
        if plan.key_ids.len() == before {
            return Err(StoreError::NotFound(NO_API_KEY.into()));
        }
        tx.put_usage_plan(&plan)?;
        Ok(())
    })?)
}

/// `gw api-key create NAME --stage S`: the key goes into the usage plan gw keeps for that stage
/// (named `API_NAME/STAGE`, created on first use).
pub fn grant_stage(
    store: &Store,
    key_id: &str,
    api: Option<&str>,
    stage: &str,
) -> Result<model::UsagePlan> {
    Ok(store.write(|tx| {
        let api = tx.resolve_api(api)?;
        if tx.stage(&api.id, stage)?.is_none() {
            return Err(StoreError::NotFound(format!(
                "API {} has no stage {stage:?}; deploy it first with `gw deploy --stage {stage}`",
                api.name
            )));
        }
        let name = format!("{}/{stage}", api.name);
        let mut plan = match tx.usage_plans()?.into_iter().find(|p| p.name == name) {
            Some(p) => p,
            None => model::UsagePlan {
                id: crate::aws::ids::short(),
                name,
                description: Some("made by gw api-key create --stage".into()),
                api_stages: vec![model::UsagePlanStage {
                    api_id: api.id.clone(),
                    stage: stage.to_string(),
                    throttle: Default::default(),
                }],
                throttle: None,
                quota: None,
                key_ids: Vec::new(),
            },
        };
        if !plan.key_ids.iter().any(|k| k == key_id) {
            plan.key_ids.push(key_id.to_string());
        }
        tx.put_usage_plan(&plan)?;
        Ok(plan)
    })?)
}
