//! API keys: `api-key create | delete` and the `api-keys` listing (with the usage plans gw keeps
//! per stage).

use super::{store, JsonFlag};
use crate::output::{date, print_json, Table};
use anyhow::Result;
use clap::Subcommand;
use gw::control;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key (enabled); with --stage, callers may use it on that stage.
    Create {
        /// The key's name.
        name: String,
        /// The key's value (20 to 128 characters); a random 40-character value by default.
        #[arg(long)]
        value: Option<String>,
        /// A stage the key opens (repeatable); the key joins the usage plan gw keeps for it.
        #[arg(long = "stage")]
        stages: Vec<String>,
        /// The API of the --stage options, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete an API key (by id or name); it leaves every usage plan.
    Delete {
        /// The key, by id or name.
        key: String,
    },
}

pub fn api_key_command(state: &Option<PathBuf>, cmd: ApiKeyCommand) -> Result<()> {
    let store = store(state)?;
    match cmd {
        ApiKeyCommand::Create {
            name,
            value,
            stages,
            api,
            json,
        } => {
            if name.trim().is_empty() {
                anyhow::bail!("give the key a name: gw api-key create NAME");
            }
            let key = control::create_api_key(
                &store,
                control::NewApiKey {
                    name,
                    value,
                    enabled: true,
                    description: None,
                    tags: Default::default(),
                },
            )?;
            let mut plans = Vec::new();
            for stage in &stages {
                plans.push(control::grant_stage(
                    &store,
                    &key.id,
                    api.as_deref(),
                    stage,
                )?);
            }
            if json.json {
                return print_json(&serde_json::json!({"key": key, "usagePlans": plans}));
            }
            outln!("api key {} ({}) created: {}", key.name, key.id, key.value);
            for p in &plans {
                outln!("  opens {} (usage plan {})", p.name, p.id);
            }
            if plans.is_empty() {
                outln!("  it opens no stage yet: add --stage NAME, or put it in a usage plan");
            } else {
                outln!("  call with: curl -H 'x-api-key: {}' ...", key.value);
            }
        }
        ApiKeyCommand::Delete { key } => {
            let k = control::delete_api_key(&store, &key)?;
            outln!("deleted api key {} ({})", k.name, k.id);
        }
    }
    Ok(())
}

pub fn api_keys(state: &Option<PathBuf>, json: JsonFlag) -> Result<()> {
    let (keys, plans, apis) =
        store(state)?.read(|tx| Ok((tx.api_keys()?, tx.usage_plans()?, tx.api_summaries()?)))?;
    let api_name = |id: &str| {
        apis.iter()
            .find(|a| a.id == id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    };
    if json.json {
        return print_json(&serde_json::json!({ "item": keys, "usagePlans": plans }));
    }
    let mut t = Table::new(&["NAME", "ID", "VALUE", "ENABLED", "STAGES", "CREATED"]);
    for k in &keys {
        let stages: Vec<String> = plans
            .iter()
            .filter(|p| p.key_ids.contains(&k.id))
            .flat_map(|p| {
                p.api_stages
                    .iter()
                    .map(|s| format!("{}/{}", api_name(&s.api_id), s.stage))
            })
            .collect();
        t.row(vec![
            k.name.clone(),
            k.id.clone(),
            k.value.clone(),
            k.enabled.to_string(),
            if stages.is_empty() {
                "-".to_string()
            } else {
                stages.join(", ")
            },
            date(k.created_date),
        ]);
    }
    if t.is_empty() {
        outln!("no API keys yet: add one with `gw api-key create NAME --stage STAGE`");
    } else {
        out!("{t}");
    }
    Ok(())
}
