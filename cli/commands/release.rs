//! Releases: `deploy` (optionally as a canary), `canary` (its share), `promote`, `rollback`, and
//! the `deployments` listing.

use super::{invoke_urls, parse_kv, store, ApiFlag, JsonFlag};
use crate::output::{date, print_json, Table};
use anyhow::{bail, Result};
use clap::Args;
use gw::control;
use std::path::PathBuf;

#[derive(Args)]
pub struct DeployArgs {
    #[command(flatten)]
    api: ApiFlag,
    /// The stage to deploy to (created if missing; with --canary it must exist).
    #[arg(long)]
    stage: String,
    #[arg(long)]
    description: Option<String>,
    /// Stage variable K=V (repeatable).
    #[arg(long = "var", value_name = "K=V")]
    vars: Vec<String>,
    /// Make this deployment the stage's canary with this percentage of traffic.
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    canary: Option<f64>,
    /// Canary stage-variable override K=V (repeatable; needs --canary).
    #[arg(long = "canary-var", value_name = "K=V")]
    canary_vars: Vec<String>,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Args)]
pub struct CanaryArgs {
    #[command(flatten)]
    api: ApiFlag,
    /// The stage (may be left out when only one stage has a canary).
    #[arg(long)]
    stage: Option<String>,
    /// Percentage of requests sent to the canary, 0-100 (decimals allowed).
    #[arg(long, value_parser = parse_percent)]
    percent: f64,
}

/// The stage whose canary a command acts on.
#[derive(Args)]
pub struct CanaryStage {
    #[command(flatten)]
    api: ApiFlag,
    /// The stage (may be left out when only one stage has a canary).
    #[arg(long)]
    stage: Option<String>,
}

#[derive(Args)]
pub struct DeploymentsArgs {
    #[command(flatten)]
    api: ApiFlag,
    #[command(flatten)]
    json: JsonFlag,
}

/// A canary percentage: a number, optionally written with a trailing `%`. The range (0-100) is
/// checked where AWS checks it, with AWS's message.
fn parse_percent(text: &str) -> std::result::Result<f64, String> {
    let number = text.trim().strip_suffix('%').unwrap_or(text.trim()).trim();
    match number.parse::<f64>() {
        // `+ 0.0` turns -0 into 0.
        Ok(p) if p.is_finite() => Ok(p + 0.0),
        _ => Err(format!(
            "{text:?} is not a percentage; write a number from 0 to 100, such as 10 or 12.5"
        )),
    }
}

pub fn deploy(state: &Option<PathBuf>, args: DeployArgs) -> Result<()> {
    let percent = args.canary;
    let store = store(state)?;
    let api_sel = args.api.api.as_deref();
    let vars = parse_kv(&args.vars, "--var")?;
    let overrides = parse_kv(&args.canary_vars, "--canary-var")?;
    let deployed = match percent {
        Some(pct) => {
            if !vars.is_empty() {
                bail!("--var sets production variables and cannot be combined with --canary; use --canary-var for canary overrides");
            }
            control::deploy_canary(
                &store,
                api_sel,
                &args.stage,
                pct,
                &overrides,
                args.description.as_deref(),
            )?
        }
        None => {
            if !overrides.is_empty() {
                bail!("--canary-var needs --canary PCT");
            }
            control::deploy(
                &store,
                api_sel,
                &args.stage,
                args.description.as_deref(),
                &vars,
            )?
        }
    };
    if args.json.json {
        return print_json(&serde_json::json!({
            "apiId": deployed.api.id,
            "deployment": deployed.deployment,
            "stage": deployed.stage,
        }));
    }
    match &deployed.stage.canary_settings {
        Some(c) if percent.is_some() => outln!(
            "deployment {} is the canary of stage {} of {} at {} % (production stays on {})",
            deployed.deployment.id,
            deployed.stage.stage_name,
            deployed.api.name,
            c.percent_traffic,
            deployed.stage.deployment_id
        ),
        _ => outln!(
            "deployment {} is live on stage {} of {}",
            deployed.deployment.id,
            deployed.stage.stage_name,
            deployed.api.name
        ),
    }
    let vars = match &deployed.stage.canary_settings {
        Some(c) if percent.is_some() => gw::store::merged_canary_variables(&deployed.stage, c),
        _ => deployed.stage.variables.clone(),
    };
    for w in control::missing_functions(&store, &deployed.api, &vars)? {
        eprintln!("warning: {w}");
    }
    if let Some(d) = &deployed.dropped_canary {
        outln!("the stage's canary ({d}) was removed by this deployment");
    }
    for url in invoke_urls(&store, &deployed.api, &deployed.stage.stage_name) {
        outln!("  {url}");
    }
    Ok(())
}

pub fn canary(state: &Option<PathBuf>, args: CanaryArgs) -> Result<()> {
    let percent = args.percent;
    let (api, stage) = control::set_canary_percent(
        &store(state)?,
        args.api.api.as_deref(),
        args.stage.as_deref(),
        percent,
    )?;
    outln!(
        "stage {} of {}: canary now takes {percent} % of traffic",
        stage.stage_name,
        api.name
    );
    Ok(())
}

pub fn promote(state: &Option<PathBuf>, args: CanaryStage) -> Result<()> {
    let (api, stage) = control::promote(
        &store(state)?,
        args.api.api.as_deref(),
        args.stage.as_deref(),
    )?;
    outln!(
        "promoted: stage {} of {} now serves deployment {}; canary removed",
        stage.stage_name,
        api.name,
        stage.deployment_id
    );
    Ok(())
}

pub fn rollback(state: &Option<PathBuf>, args: CanaryStage) -> Result<()> {
    let (api, stage, dropped) = control::rollback(
        &store(state)?,
        args.api.api.as_deref(),
        args.stage.as_deref(),
    )?;
    outln!(
        "rolled back: canary {dropped} removed; stage {} of {} serves deployment {}",
        stage.stage_name,
        api.name,
        stage.deployment_id
    );
    Ok(())
}

pub fn deployments(state: &Option<PathBuf>, args: DeploymentsArgs) -> Result<()> {
    let (list, stages) = store(state)?.read(|tx| {
        let api = tx.resolve_api(args.api.api.as_deref())?;
        Ok((tx.deployments(&api.id)?, tx.stages(&api.id)?))
    })?;
    if args.json.json {
        return print_json(&serde_json::json!({ "item": list }));
    }
    let mut t = Table::new(&["ID", "CREATED", "USED BY", "DESCRIPTION"]);
    for d in &list {
        let used: Vec<String> = stages
            .iter()
            .flat_map(|s| {
                let mut v = Vec::new();
                if s.deployment_id == d.id {
                    v.push(s.stage_name.clone());
                }
                if s.canary_settings
                    .as_ref()
                    .is_some_and(|c| c.deployment_id == d.id)
                {
                    v.push(format!("{} (canary)", s.stage_name));
                }
                v
            })
            .collect();
        t.row(vec![
            d.id.clone(),
            date(d.created_date),
            if used.is_empty() {
                "-".into()
            } else {
                used.join(", ")
            },
            d.description.clone().unwrap_or_default(),
        ]);
    }
    out!("{t}");
    Ok(())
}
