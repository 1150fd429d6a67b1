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
    /// A description of this deployment (`gw deployments` shows it).
    #[arg(long)]
    description: Option<String>,
    /// Stage variable K=V (repeatable).
    #[arg(long = "var", value_name = "K=V")]
    vars: Vec<String>,
    /// Make this deployment the stage's canary with this percentage of traffic (0 to 100).
    #[arg(long, value_name = "PCT", allow_negative_numbers = true)]
    canary: Option<String>,
    /// Canary stage-variable override K=V (repeatable; needs --canary).
    #[arg(long = "canary-var", value_name = "K=V")]
    canary_vars: Vec<String>,
    /// Keep each client on one side (beyond AWS): ip, header:NAME, cookie or cookie:NAME; the
    /// side is the key's hash against the percentage (needs --canary).
    #[arg(long, value_name = "KEY")]
    sticky: Option<String>,
    /// Ramp the canary automatically (beyond AWS): the percentages after --canary's, rising,
    /// e.g. 25,50,100; each step lasts --step and must pass the gates; after the last, promote.
    /// A running `gw serve` drives it.
    #[arg(long, value_name = "PCT,PCT,...", value_delimiter = ',')]
    ramp: Vec<String>,
    /// How long each ramp step lasts (e.g. 30s, 5m; needs --ramp).
    #[arg(long, value_name = "DURATION")]
    step: Option<String>,
    #[command(flatten)]
    gates: super::judge::GateArgs,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CanaryArgs {
    #[command(subcommand)]
    action: Option<CanaryAction>,
    #[command(flatten)]
    api: ApiFlag,
    /// The stage (may be left out when only one stage has a canary).
    #[arg(long)]
    stage: Option<String>,
    /// Percentage of requests sent to the canary, 0 to 100 (decimals allowed).
    #[arg(long, value_name = "PCT", allow_negative_numbers = true)]
    percent: Option<String>,
    /// Keep each client on one side: ip, header:NAME, cookie or cookie:NAME; `off` draws each
    /// request independently again, as AWS does.
    #[arg(long, value_name = "KEY")]
    sticky: Option<String>,
    /// Pause the stage's ramp (the canary keeps its percentage).
    #[arg(long, conflicts_with_all = ["resume", "abort", "percent", "sticky"])]
    pause: bool,
    /// Resume a paused ramp (the current step starts over).
    #[arg(long, conflicts_with_all = ["abort", "percent", "sticky"])]
    resume: bool,
    /// Roll the canary back and end its ramp.
    #[arg(long, conflicts_with_all = ["percent", "sticky"])]
    abort: bool,
}

impl CanaryArgs {
    /// `status` only reads.
    pub fn changes_state(&self) -> bool {
        self.action.is_none()
    }
}

#[derive(clap::Subcommand)]
pub enum CanaryAction {
    /// Production beside the canary since the canary started: requests, 4xx, 5xx, error rate,
    /// p50/p95/p99, summed over every `gw serve` on this state directory.
    Status(CanaryStatusArgs),
}

#[derive(Args)]
pub struct CanaryStatusArgs {
    #[command(flatten)]
    api: ApiFlag,
    /// The stage (may be left out when only one stage has a canary).
    #[arg(long)]
    stage: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    api: ApiFlag,
    /// The stage (may be left out when only one stage has a canary).
    #[arg(long)]
    stage: Option<String>,
    /// Promote only if the canary passes every gate given (at least one is needed); otherwise
    /// promote nothing, print the figures beside the gates and exit non-zero.
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    gates: super::judge::GateArgs,
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

/// A canary percentage as typed after `flag`: a decimal number from 0 to 100, optionally with a
/// trailing `%`. Anything else (negative, over 100, not a number, exponent notation) gets one
/// message naming the input and the range, and exit code 1. The arguments are taken as text
/// (with `allow_negative_numbers`, so that clap hands over `-5` instead of reading it as a flag)
/// and checked here, so that every bad value gets this message rather than a clap usage error;
/// `allow_hyphen_values` would take a forgotten value's next flag (`--canary --stage prod`) as
/// the percentage.
pub fn parse_percent(flag: &str, text: &str) -> Result<f64> {
    let trimmed = text.trim();
    let number = trimmed.strip_suffix('%').unwrap_or(trimmed).trim_end();
    let digits = number.strip_prefix(['+', '-']).unwrap_or(number);
    let plain = digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1;
    match number.parse::<f64>() {
        // `+ 0.0` turns -0 into 0.
        Ok(p) if plain && (0.0..=100.0).contains(&p) => Ok(p + 0.0),
        _ => {
            let shown = if text.is_empty() || text.contains(char::is_whitespace) {
                format!("{text:?}")
            } else {
                text.to_string()
            };
            bail!("{flag} {shown}: the canary percentage must be a number from 0 to 100, like 10 or 12.5")
        }
    }
}

pub fn deploy(state: &Option<PathBuf>, args: DeployArgs) -> Result<()> {
    let percent = match &args.canary {
        Some(text) => Some(parse_percent("--canary", text)?),
        None => None,
    };
    let store = store(state)?;
    let api_sel = args.api.api.as_deref();
    let vars = parse_kv(&args.vars, "--var")?;
    let overrides = parse_kv(&args.canary_vars, "--canary-var")?;
    let ramp = if args.ramp.is_empty() {
        if args.step.is_some() {
            bail!("--step needs --ramp PCT,...,100");
        }
        if !args.gates.gates()?.is_empty() {
            bail!("the gates (--max-error-rate, --max-p99, --max-p99-ratio, --min-requests) apply with --ramp (or to `gw promote --check`)");
        }
        None
    } else {
        if percent.is_none() {
            bail!("--ramp needs --canary PCT, the starting percentage (e.g. --canary 10 --ramp 50,100)");
        }
        let steps = args
            .ramp
            .iter()
            .map(|t| parse_percent("--ramp", t))
            .collect::<Result<Vec<f64>>>()?;
        let Some(step) = &args.step else {
            bail!("--ramp needs --step DURATION, how long each step lasts (e.g. --step 5m)");
        };
        Some(control::RampPlan {
            steps,
            step: super::judge::parse_duration(step)?,
            gates: serde_json::to_value(args.gates.gates()?)?,
        })
    };
    let deployed = match percent {
        Some(pct) => {
            if !vars.is_empty() {
                bail!("--var sets production variables and cannot be combined with --canary; use --canary-var for canary overrides");
            }
            let (api, existing) = store.read(|tx| {
                let api = tx.resolve_api(api_sel)?;
                let stage = tx.stage(&api.id, &args.stage)?;
                Ok((api, stage))
            })?;
            if existing.is_none() {
                // AWS's text (the management API keeps it verbatim) lacks the space after
                // "specified."; here it reads as two sentences, with the way out.
                bail!(
                    "Invalid deployment content specified. Stage {stage} must already be created before making a canary release deployment; deploy it first with `gw deploy{api_flag} --stage {stage}`",
                    stage = args.stage,
                    api_flag = match api_sel {
                        Some(_) => format!(" --api {}", api.name),
                        None => String::new(),
                    },
                );
            }
            control::deploy_canary_ramp(
                &store,
                api_sel,
                &args.stage,
                pct,
                &overrides,
                args.description.as_deref(),
                args.sticky.as_deref(),
                ramp.as_ref(),
            )?
        }
        None => {
            if !overrides.is_empty() {
                bail!("--canary-var needs --canary PCT");
            }
            if args.sticky.is_some() {
                bail!("--sticky needs --canary PCT (or set it on a running canary with `gw canary --sticky KEY`)");
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
    if let Some(plan) = &ramp {
        outln!(
            "ramp: {} every {}; a running `gw serve` drives it (`gw stage history {}` shows each step)",
            plan.steps
                .iter()
                .map(|p| format!("{p} %"))
                .collect::<Vec<_>>()
                .join(" → "),
            args.step.as_deref().unwrap_or_default(),
            deployed.stage.stage_name
        );
    }
    for url in invoke_urls(&store, &deployed.api, &deployed.stage.stage_name)? {
        outln!("  {url}");
    }
    Ok(())
}

pub fn canary(state: &Option<PathBuf>, args: CanaryArgs) -> Result<()> {
    if let Some(CanaryAction::Status(s)) = args.action {
        let store = store(state)?;
        let f = super::judge::figures(&store, s.api.api.as_deref(), s.stage.as_deref())?;
        return super::judge::print_figures(&f, s.json.json);
    }
    let what = if args.pause {
        Some(control::RampControl::Pause)
    } else if args.resume {
        Some(control::RampControl::Resume)
    } else if args.abort {
        Some(control::RampControl::Abort)
    } else {
        None
    };
    if let Some(what) = what {
        let stage = control::control_ramp(
            &store(state)?,
            args.api.api.as_deref(),
            args.stage.as_deref(),
            what,
        )?;
        outln!(
            "stage {}: ramp {}",
            stage.stage_name,
            match what {
                control::RampControl::Pause => "paused",
                control::RampControl::Resume => "resumed",
                control::RampControl::Abort => "aborted; canary rolled back",
            }
        );
        return Ok(());
    }
    if args.percent.is_none() && args.sticky.is_none() {
        bail!("gw canary needs --percent PCT (its share), --sticky KEY|off, --pause, --resume or --abort (a ramp), or `gw canary status` to see its figures");
    }
    let percent = match &args.percent {
        Some(text) => Some(parse_percent("--percent", text)?),
        None => None,
    };
    let sticky = args.sticky.as_deref().map(|k| (k != "off").then_some(k));
    let (api, stage) = control::set_canary(
        &store(state)?,
        args.api.api.as_deref(),
        args.stage.as_deref(),
        percent,
        sticky,
    )?;
    if let Some(c) = &stage.canary_settings {
        outln!(
            "stage {} of {}: canary takes {} % of traffic, {}",
            stage.stage_name,
            api.name,
            c.percent_traffic,
            match &c.sticky {
                Some(k) => format!("sticky by {k}"),
                None => "drawn per request".to_string(),
            }
        );
    }
    Ok(())
}

pub fn promote(state: &Option<PathBuf>, args: PromoteArgs) -> Result<()> {
    let gates = args.gates.gates()?;
    let store = store(state)?;
    if args.check {
        if gates.is_empty() {
            bail!("--check needs at least one gate: --max-error-rate PCT, --max-p99 DURATION, --max-p99-ratio R or --min-requests N");
        }
        let f = super::judge::figures(&store, args.api.api.as_deref(), args.stage.as_deref())?;
        super::judge::print_figures(&f, false)?;
        if !super::judge::print_checks(&gates.check(&f)) {
            bail!(
                "not promoted: the canary of stage {} failed a gate (figures above); nothing changed",
                f.stage
            );
        }
    } else if !gates.is_empty() {
        bail!("the gates (--max-error-rate, --max-p99, --max-p99-ratio, --min-requests) apply with --check");
    }
    let (api, stage) = control::promote(&store, args.api.api.as_deref(), args.stage.as_deref())?;
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
