//! `gw store copy`: move a state from one store to another (SQLite to PostgreSQL, and back).

use anyhow::{Context, Result};
use clap::Subcommand;
use gw::store::{is_postgres_url, Store};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum StoreCommand {
    /// Copy every API, deployment, stage (with its canary and ramp), function, key, plan, domain
    /// and link from one store into another, empty one.
    Copy {
        /// The source: a state directory (its SQLite database) or postgres://...
        #[arg(long, value_name = "DIR|URL")]
        from: String,
        /// The destination: a state directory or postgres://... (it must hold no state yet).
        #[arg(long, value_name = "DIR|URL")]
        to: String,
    },
}

/// A store named by a state directory or a PostgreSQL URL. A URL's store keeps its local files
/// (function cache, logs) in the state directory given with --state, else `.gw`.
fn open(location: &str, state: &Option<PathBuf>) -> Result<Store> {
    if is_postgres_url(location) {
        let dir = state.clone().unwrap_or_else(|| PathBuf::from(".gw"));
        return Store::open_at(&dir, Some(location)).with_context(|| format!("opening {location}"));
    }
    let dir = PathBuf::from(location);
    if !dir.join("gw.db").exists() && !dir.exists() {
        anyhow::bail!(
            "{location} is neither a state directory nor a postgres:// URL; give the directory that holds gw.db (e.g. .gw)"
        );
    }
    Ok(Store::open(&dir)?)
}

pub fn command(state: &Option<PathBuf>, cmd: StoreCommand) -> Result<()> {
    match cmd {
        StoreCommand::Copy { from, to } => {
            let source = open(&from, state)?;
            let dest = open(&to, state)?;
            let copied = source.copy_into(&dest)?;
            let summary: Vec<String> = copied
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(t, n)| format!("{n} {t}"))
                .collect();
            outln!(
                "copied {} into {}: {}",
                source.location(),
                dest.location(),
                if summary.is_empty() {
                    "nothing (the source is empty)".to_string()
                } else {
                    summary.join(", ")
                }
            );
            Ok(())
        }
    }
}
