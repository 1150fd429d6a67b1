//! Stages: the `stages` listing and `stage show | set-var | unset-var | throttle | access-log |
//! delete`.

use super::{invoke_urls, parse_kv, store, ApiFlag, JsonFlag};
use crate::output::{date, print_json, Table};
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use gw::control;
use gw::model::{RestApi, Stage};
use std::path::PathBuf;

#[derive(Args)]
pub struct StagesArgs {
    #[command(flatten)]
    api: ApiFlag,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Subcommand)]
pub enum StageCommand {
    /// Show one stage: deployment, canary, variables, throttles, access log, URLs.
    Show {
        /// The stage's name.
        stage: String,
        #[command(flatten)]
        api: ApiFlag,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// A stage's history: every deploy, canary, percentage change, promote and rollback, by
    /// hand or by its ramp, with the figures that decided the ramp's.
    History {
        /// The stage's name.
        stage: String,
        #[command(flatten)]
        api: ApiFlag,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Set stage variables.
    SetVar {
        /// The stage's name.
        stage: String,
        /// The variables to set, as name=value (one or more).
        #[arg(value_name = "K=V", required = true)]
        vars: Vec<String>,
        #[command(flatten)]
        api: ApiFlag,
    },
    /// Remove a stage variable.
    UnsetVar {
        /// The stage's name.
        stage: String,
        /// The variable's name.
        key: String,
        #[command(flatten)]
        api: ApiFlag,
    },
    /// Throttle a stage's methods (AWS's methodSettings): a token bucket per method, refilled at
    /// --rate requests per second, holding --burst; past it, 429 Too Many Requests.
    Throttle {
        /// The stage's name.
        stage: String,
        /// Requests per second.
        #[arg(long, required_unless_present = "off")]
        rate: Option<f64>,
        /// Requests allowed at once (the bucket's size).
        #[arg(long, required_unless_present = "off")]
        burst: Option<i64>,
        /// One method, as `gw routes` shows it ("GET /pets/{id}"); without it, every method.
        #[arg(long, value_name = "VERB /PATH")]
        method: Option<String>,
        /// Remove the throttle instead.
        #[arg(long, conflicts_with_all = ["rate", "burst"])]
        off: bool,
        #[command(flatten)]
        api: ApiFlag,
    },
    /// Log every request to the stage in FORMAT ($context variables), as accessLogSettings does;
    /// lines go to `gw serve`'s standard output (or its --access-log file).
    AccessLog {
        /// The stage's name.
        stage: String,
        /// The line's format, e.g. '$context.requestId $context.httpMethod $context.resourcePath $context.status'.
        #[arg(long, required_unless_present = "off")]
        format: Option<String>,
        /// Stop logging.
        #[arg(long, conflicts_with = "format")]
        off: bool,
        #[command(flatten)]
        api: ApiFlag,
    },
    /// Delete a stage.
    Delete {
        /// The stage's name.
        stage: String,
        #[command(flatten)]
        api: ApiFlag,
    },
}

impl StageCommand {
    /// Whether the command writes to the store (all but `show`).
    pub fn changes_state(&self) -> bool {
        !matches!(
            self,
            StageCommand::Show { .. } | StageCommand::History { .. }
        )
    }
}

pub fn stages(state: &Option<PathBuf>, args: StagesArgs) -> Result<()> {
    let (api, list) = store(state)?.read(|tx| {
        let api = tx.resolve_api(args.api.api.as_deref())?;
        let list = tx.stages(&api.id)?;
        Ok((api, list))
    })?;
    if args.json.json {
        return print_json(&serde_json::json!({ "item": list }));
    }
    let mut t = Table::new(&["STAGE", "DEPLOYMENT", "CANARY", "VARIABLES", "UPDATED"]);
    for s in &list {
        t.row(vec![
            s.stage_name.clone(),
            s.deployment_id.clone(),
            s.canary_settings
                .as_ref()
                .map(|c| format!("{} @ {} %", c.deployment_id, c.percent_traffic))
                .unwrap_or_else(|| "-".into()),
            s.variables.len().to_string(),
            date(s.last_updated_date),
        ]);
    }
    if t.is_empty() {
        outln!(
            "API {} has no stages: deploy with `gw deploy --stage NAME`",
            api.name
        );
    } else {
        out!("{t}");
    }
    Ok(())
}

/// A `methodSettings` key as `gw routes` writes methods: `*/*` → "every method",
/// `pets/{id}/GET` → "GET /pets/{id}".
fn throttle_target(key: &str) -> String {
    match key.rsplit_once('/') {
        Some(("*", "*")) => "every method".to_string(),
        Some((path, verb)) => format!("{verb} /{path}"),
        None => key.to_string(),
    }
}

fn show_stage(api: &RestApi, s: &Stage, urls: &[String]) {
    outln!("stage:       {}", s.stage_name);
    outln!("api:         {} ({})", api.name, api.id);
    outln!("deployment:  {}", s.deployment_id);
    match &s.canary_settings {
        Some(c) => {
            outln!(
                "canary:      {} at {} % of traffic",
                c.deployment_id,
                c.percent_traffic
            );
            for (k, v) in &c.stage_variable_overrides {
                outln!("  override   {k}={v}");
            }
        }
        None => outln!("canary:      none"),
    }
    if s.variables.is_empty() {
        outln!("variables:   none");
    } else {
        outln!("variables:");
        for (k, v) in &s.variables {
            outln!("  {k}={v}");
        }
    }
    for (key, m) in &s.method_settings {
        outln!(
            "throttle:    {} at {} requests/s, burst {}",
            throttle_target(key),
            m.throttling_rate_limit,
            m.throttling_burst_limit
        );
    }
    if let Some(format) = s
        .access_log_settings
        .as_ref()
        .and_then(|a| a.format.as_ref())
    {
        outln!("access log:  {format}");
    }
    outln!("urls:");
    for url in urls {
        outln!("  {url}");
    }
}

pub fn stage_command(state: &Option<PathBuf>, cmd: StageCommand) -> Result<()> {
    let store = store(state)?;
    match cmd {
        StageCommand::Show { stage, api, json } => {
            let (api, s) = store.read(|tx| {
                let api = tx.resolve_api(api.api.as_deref())?;
                let s = tx.stage(&api.id, &stage)?;
                Ok((api, s))
            })?;
            let Some(s) = s else {
                bail!(
                    "Invalid Stage identifier specified: no stage {stage:?} in API {}; `gw stages` lists them",
                    api.name
                );
            };
            let urls = invoke_urls(&store, &api, &s.stage_name)?;
            if json.json {
                let mut v = serde_json::to_value(&s)?;
                v["urls"] = serde_json::json!(urls);
                if let Some(r) = control::stage_ramp(&store, &api.id, &s.stage_name)? {
                    v["ramp"] = serde_json::json!({
                        "steps": r.steps,
                        "nextPercent": r.next_percent(),
                        "stepMs": r.step_ms,
                        "deadline": chrono::DateTime::from_timestamp_millis(r.deadline_ms)
                            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                        "paused": r.paused,
                        "gates": r.gates,
                        "leaseOwner": r.lease_owner,
                    });
                }
                return print_json(&v);
            }
            show_stage(&api, &s, &urls);
            if let Some(r) = control::stage_ramp(&store, &api.id, &s.stage_name)? {
                let left = (r.deadline_ms - control::now_ms()).max(0) as f64 / 1000.0;
                let deadline = chrono::DateTime::from_timestamp_millis(r.deadline_ms)
                    .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default();
                let next = match r.next_percent() {
                    Some(p) => format!("{p} %"),
                    None => "promote".to_string(),
                };
                if r.paused {
                    outln!("ramp:        paused (next: {next}); `gw canary --resume` resumes it");
                } else {
                    outln!(
                        "ramp:        next {next} at {deadline} (in {left:.1} s) if the gates pass"
                    );
                }
            }
        }
        StageCommand::History { stage, api, json } => {
            let (_, entries) = control::stage_history(&store, api.api.as_deref(), &stage)?;
            if json.json {
                return print_json(&entries);
            }
            let mut t = Table::new(&[
                "TIME",
                "ACTION",
                "PERCENT",
                "BY",
                "DEPLOYMENT",
                "CANARY",
                "REASON",
            ]);
            for e in &entries {
                t.row(vec![
                    e.time.clone(),
                    e.action.clone(),
                    e.percent.map_or("-".into(), |p| format!("{p} %")),
                    e.by.clone(),
                    e.deployment_id.clone(),
                    e.canary_deployment_id.clone().unwrap_or_else(|| "-".into()),
                    e.reason.clone().unwrap_or_default(),
                ]);
            }
            out!("{t}");
        }
        StageCommand::SetVar { stage, vars, api } => {
            let vars = parse_kv(&vars, "variable")?;
            let (api, s) = control::set_variables(&store, api.api.as_deref(), &stage, &vars)?;
            outln!(
                "stage {} of {}: {} variable(s) set",
                s.stage_name,
                api.name,
                vars.len()
            );
        }
        StageCommand::UnsetVar { stage, key, api } => {
            let (api, s) = control::unset_variable(&store, api.api.as_deref(), &stage, &key)?;
            outln!(
                "stage {} of {}: variable {key} removed",
                s.stage_name,
                api.name
            );
        }
        StageCommand::Throttle {
            stage,
            rate,
            burst,
            method,
            off,
            api,
        } => {
            let method = match method.as_deref() {
                None => None,
                Some(m) => Some(m.trim().split_once(' ').map(|(v, p)| (v, p.trim())).ok_or_else(
                    || anyhow::anyhow!("--method {m:?}: write the verb and the path, such as \"GET /pets/{{id}}\""),
                )?),
            };
            let limits = match (off, rate, burst) {
                (true, _, _) => None,
                (false, Some(r), Some(b)) => Some((r, b)),
                _ => bail!("give --rate and --burst, or --off"),
            };
            let (api, _) =
                control::set_throttle(&store, api.api.as_deref(), &stage, method, limits)?;
            let what = match method {
                Some((v, p)) => format!("{} {p}", v.to_ascii_uppercase()),
                None => "every method".to_string(),
            };
            match limits {
                Some((r, b)) => outln!(
                    "stage {stage} of {}: {what} throttled to {r} requests/s, burst {b}",
                    api.name
                ),
                None => outln!("stage {stage} of {}: throttle on {what} removed", api.name),
            }
        }
        StageCommand::AccessLog {
            stage,
            format,
            off,
            api,
        } => {
            let format = if off { None } else { format.as_deref() };
            let (api, _) = control::set_access_log(&store, api.api.as_deref(), &stage, format)?;
            match format {
                Some(_) => outln!(
                    "stage {stage} of {}: every request is logged by `gw serve` (standard output, or its --access-log file)",
                    api.name
                ),
                None => outln!("stage {stage} of {}: access log off", api.name),
            }
        }
        StageCommand::Delete { stage, api } => {
            let api = control::delete_stage(&store, api.api.as_deref(), &stage)?;
            outln!("deleted stage {stage} of {}", api.name);
        }
    }
    Ok(())
}
