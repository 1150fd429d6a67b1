//! Judging a canary by its numbers: `gw canary status` (production beside canary since the
//! canary started, summed over every `gw serve` on the state directory) and the gates of
//! `gw promote --check`.

use crate::output::{print_json, Table};
use anyhow::{anyhow, bail, Result};
use clap::Args;
use gw::gateway::verdict::{self, Check, Figures, Gates};
use gw::store::Store;
use std::time::Duration;

/// The gates of `gw promote --check` (and of a ramp's steps).
#[derive(Args, Default)]
pub struct GateArgs {
    /// The canary's 5xx rate may be at most PCT percent (e.g. 1 or 0.5).
    #[arg(long, value_name = "PCT")]
    pub max_error_rate: Option<String>,
    /// The canary's p99 latency may be at most DURATION (e.g. 250ms, 1s).
    #[arg(long, value_name = "DURATION")]
    pub max_p99: Option<String>,
    /// The canary's p99 may be at most R times production's (e.g. 1.5).
    #[arg(long, value_name = "R")]
    pub max_p99_ratio: Option<String>,
    /// The canary must have served at least N requests.
    #[arg(long, value_name = "N")]
    pub min_requests: Option<String>,
}

impl GateArgs {
    pub fn gates(&self) -> Result<Gates> {
        Ok(Gates {
            max_error_rate_percent: self
                .max_error_rate
                .as_deref()
                .map(|t| {
                    number(
                        "--max-error-rate",
                        t,
                        "a percentage like 1 or 0.5",
                        0.0,
                        100.0,
                    )
                })
                .transpose()?,
            max_p99: self.max_p99.as_deref().map(parse_duration).transpose()?,
            max_p99_ratio: self
                .max_p99_ratio
                .as_deref()
                .map(|t| number("--max-p99-ratio", t, "a factor like 1.5", 0.0, f64::MAX))
                .transpose()?,
            min_requests: self
                .min_requests
                .as_deref()
                .map(|t| {
                    t.trim().parse::<u64>().map_err(|_| {
                        anyhow!("--min-requests {t:?}: give a whole number of requests, like 100")
                    })
                })
                .transpose()?,
        })
    }
}

fn number(flag: &str, text: &str, like: &str, lo: f64, hi: f64) -> Result<f64> {
    let t = text.trim();
    let t = t.strip_suffix('%').unwrap_or(t).trim_end();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= lo && v <= hi => Ok(v),
        _ => bail!("{flag} {text:?}: give {like}"),
    }
}

/// `250ms`, `1s`, `1.5s`, `2m`: a duration as the gates and ramps take it.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "ms" => 0.001,
        "s" | "" if !n.is_empty() && !unit.is_empty() => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => bail!("{text:?} is not a duration: write it like 250ms, 1s, 1.5s or 2m"),
    };
    match n.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Duration::from_secs_f64(v * scale)),
        _ => bail!("{text:?} is not a duration: write it like 250ms, 1s, 1.5s or 2m"),
    }
}

/// The stage's figures since its canary started, from every server on the state directory.
pub fn figures(store: &Store, api: Option<&str>, stage: Option<&str>) -> Result<Figures> {
    let stage_name = gw::control::canary_stage(store, api, stage)?;
    let (api, stage) = store.read(|tx| {
        let api = tx.resolve_api(api)?;
        let stage = tx.stage(&api.id, &stage_name)?;
        Ok((api, stage))
    })?;
    let Some(stage) = stage else {
        bail!("stage {stage_name} of {} does not exist", api.name);
    };
    let Some(canary) = &stage.canary_settings else {
        bail!(
            "stage {} of {} has no canary; start one with `gw deploy --api {} --stage {} --canary PCT`",
            stage.stage_name,
            api.name,
            api.name,
            stage.stage_name
        );
    };
    let gathered = gw::server::peers::gather(store);
    for (addr, why) in &gathered.failed {
        eprintln!("warning: the server on {addr} was not counted: {why}");
    }
    if gathered.answered.is_empty() {
        eprintln!(
            "warning: no gw serve runs on this state directory ({}), so no requests were counted",
            store.dir().display()
        );
    }
    Ok(verdict::figures(
        &gathered.series,
        &verdict::Canary {
            api: &api.id,
            stage: &stage.stage_name,
            production: &stage.deployment_id,
            canary: &canary.deployment_id,
            percent: canary.percent_traffic,
        },
    ))
}

/// The figures as a table.
pub fn print_figures(f: &Figures, json: bool) -> Result<()> {
    if json {
        return print_json(f);
    }
    outln!(
        "stage {}: canary {} at {} % beside production {}, since the canary started",
        f.stage,
        f.canary.deployment,
        f.percent,
        f.production.deployment
    );
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    let mut t = Table::new(&[
        "SIDE",
        "DEPLOYMENT",
        "REQUESTS",
        "4XX",
        "5XX",
        "ERROR RATE",
        "P50 MS",
        "P95 MS",
        "P99 MS",
    ]);
    for (name, s) in [("production", &f.production), ("canary", &f.canary)] {
        t.row(vec![
            name.to_string(),
            s.deployment.clone(),
            s.requests.to_string(),
            s.errors4xx.to_string(),
            s.errors5xx.to_string(),
            format!("{:.2} %", s.error_rate * 100.0),
            ms(s.p50_ms),
            ms(s.p95_ms),
            ms(s.p99_ms),
        ]);
    }
    out!("{t}");
    Ok(())
}

/// Prints each gate's outcome; whether all passed.
pub fn print_checks(checks: &[Check]) -> bool {
    for c in checks {
        outln!(
            "{} {}: {}, {}",
            if c.passed { "pass" } else { "FAIL" },
            c.gate,
            c.figure,
            c.limit
        );
    }
    checks.iter().all(|c| c.passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        for bad in ["", "ms", "5", "-1s", "1x", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
