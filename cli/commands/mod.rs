//! One module per command group; each holds its arguments (clap types) and the bodies that call
//! the library and print. What several groups share is here.

pub mod apis;
pub mod domains;
pub mod functions;
pub mod invoke;
pub mod judge;
pub mod keys;
pub mod links;
pub mod nodes;
pub mod release;
pub mod serve;
pub mod stages;
pub mod store_copy;
pub mod user_pools;

use anyhow::{bail, Result};
use clap::Args;
use gw::model::RestApi;
use gw::store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `--json`.
#[derive(Args)]
pub struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--api NAME|ID`.
#[derive(Args)]
pub struct ApiFlag {
    /// The API, by id or name (may be left out when there is only one).
    #[arg(long)]
    pub api: Option<String>,
}

/// `--store` / `GW_STORE`, set once by `main`.
static DATABASE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Records `--store` for [`store`].
pub fn set_database(url: Option<String>) {
    let _ = DATABASE.set(url.filter(|u| !u.is_empty()));
}

/// The store: the state directory (`--state`, `GW_STATE`, else `.gw`) and its database
/// (`--store`, `GW_STORE`, else the SQLite file in the directory).
pub fn store(cli_state: &Option<PathBuf>) -> Result<Store> {
    let dir = cli_state.clone().unwrap_or_else(|| PathBuf::from(".gw"));
    let database = DATABASE.get().and_then(Option::as_deref);
    Ok(Store::open_at(&dir, database)?)
}

/// `K=V` items (`--var`, `--env`, `set-var` arguments); `what` names them in the error.
pub fn parse_kv(items: &[String], what: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for item in items {
        let Some((k, v)) = item.split_once('=') else {
            bail!("{what} {item:?} is not K=V; write it as name=value");
        };
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

/// The invoke URLs of a stage on the listeners of the servers running on this state directory
/// (each server's forms, in the order of their addresses), or on the default `localhost:4566`
/// when none runs. The short form (`localhost:4566/STAGE/`) only when it reaches this API: when
/// no other API has stages.
pub fn invoke_urls(store: &Store, api: &RestApi, stage: &str) -> Result<Vec<String>> {
    let short = store.read(|tx| {
        let mut with_stages = Vec::new();
        for a in tx.api_summaries()? {
            if !tx.stages(&a.id)?.is_empty() {
                with_stages.push(a.id);
            }
        }
        Ok(with_stages == [api.id.as_str()])
    })?;
    Ok(gw::control::urls::serving_endpoints(store.dir())
        .iter()
        .flat_map(|endpoint| {
            // The short form comes first.
            let urls = gw::control::urls::invoke_urls(api, stage, Some(endpoint));
            urls.into_iter().skip(usize::from(!short))
        })
        .collect())
}
