//! Control-plane operations with AWS's semantics, shared by the CLI and the management API:
//! import and re-import, deploy, canary release, promote, rollback, stage variables, functions,
//! API keys and usage plans.
//! Each operation is one store transaction.
//!
//! By concern: `apis` (import, re-import, delete), `deploy` (deployments, canary release,
//! promote, rollback), `stages` (creating, changing and deleting stages: variables, throttling,
//! access logs), `functions` (the function registry), `keys` (API keys and usage plans). Every
//! operation is re-exported here, so callers name it `control::deploy`, `control::promote`, ...

pub mod import;
pub mod urls;

mod apis;
mod deploy;
mod functions;
mod keys;
mod ramp;
mod stages;

use crate::store::StoreError;
use import::ImportError;

pub mod build;
pub mod domains;
pub mod links;
pub mod user_pools;

pub use apis::{delete_api, import_into, import_new, import_new_any_name, PutMode};
pub use deploy::{
    canary_stage, deploy, deploy_canary, deploy_canary_ramp, promote, rollback, set_canary,
    set_canary_percent, update_deployment_description, Deployed, NO_CANARY,
};
pub use functions::{
    missing_functions, put_function, unknown_links, valid_allow_http, valid_function_name,
    MAX_FUNCTION_MEMORY_MB,
};
pub use keys::{
    add_usage_plan_key, create_api_key, create_usage_plan, delete_api_key, find_api_key,
    find_usage_plan, grant_stage, remove_usage_plan_key, NewApiKey, NO_API_KEY, NO_USAGE_PLAN,
};
pub use ramp::{
    control_ramp, lease_ramp, move_ramp, now_ms, ramps, record_change, stage_history, stage_ramp,
    stage_records, RampControl, RampMove, RampPlan, StageRecord,
};
pub use stages::{
    check_variables, create_stage, delete_stage, set_access_log, set_throttle, set_variables,
    unset_variable, update_stage, update_stage_in,
};

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
