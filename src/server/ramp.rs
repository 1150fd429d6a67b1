//! The ramp driver: every `gw serve` that announces itself runs one thread that drives the
//! state directory's automatic canary ramps (`gw deploy --canary P --ramp ... --step ...`).
//!
//! About every 250 ms it takes or renews the lease of each running ramp (one transaction that
//! succeeds only when the lease is free, expired or its own, so exactly one server drives a
//! ramp). At a step's deadline the lease holder judges the step by its own requests: every
//! server's counts (`peers::gather`) less the counts recorded when the step started. Too few
//! canary requests extend the step; a failed gate rolls the canary back; a passed step raises the
//! percentage, and after the last one the canary is promoted. Each decision is one
//! `control::move_ramp` transaction (stage, ramp and history together), then made live here at
//! once; the other servers follow through their reload thread.

use super::peers;
use crate::control::{self, RampMove};
use crate::gateway::metrics::Counts;
use crate::gateway::snapshot::Reloader;
use crate::gateway::verdict::{self, Gates};
use crate::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often ramps are looked at.
const TICK: Duration = Duration::from_millis(250);
/// How long a lease lasts unless renewed (renewed every tick).
const LEASE: Duration = Duration::from_secs(2);

/// Each side's cumulative counts when a step started.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Baseline {
    production: Counts,
    canary: Counts,
}

/// Starts the driver thread; it ends when `stop` is set.
pub fn spawn(
    store: Store,
    reloader: Arc<Reloader>,
    owner: String,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("gw-ramp".into())
        .spawn(move || {
            let mut last_error = None;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                match tick(&store, &reloader, &owner) {
                    Ok(()) => last_error = None,
                    Err(msg) => {
                        if last_error.as_ref() != Some(&msg) {
                            tracing::error!("ramp driver: {msg}; trying again");
                            last_error = Some(msg);
                        }
                    }
                }
            }
        })
}

fn tick(store: &Store, reloader: &Reloader, owner: &str) -> Result<(), String> {
    let ramps = control::ramps(store).map_err(|e| e.to_string())?;
    for (api_id, stage, ramp) in ramps {
        if ramp.paused {
            continue;
        }
        let name = &stage.stage_name;
        let Some(ramp) =
            control::lease_ramp(store, &api_id, name, owner, LEASE).map_err(|e| e.to_string())?
        else {
            continue;
        };
        if control::now_ms() < ramp.deadline_ms {
            continue;
        }
        let Some(canary) = &stage.canary_settings else {
            continue;
        };
        let gates: Gates = serde_json::from_value(ramp.gates.clone()).unwrap_or_default();
        let gathered = peers::gather(store);
        for (addr, why) in &gathered.failed {
            tracing::warn!("ramp of stage {name}: server {addr} did not give its figures: {why}");
        }
        let c = verdict::Canary {
            api: &api_id,
            stage: name,
            production: &stage.deployment_id,
            canary: &canary.deployment_id,
            percent: canary.percent_traffic,
        };
        let (production, canary_counts) = verdict::sides(&gathered.series, &c);
        let base: Baseline = serde_json::from_value(ramp.baseline.clone()).unwrap_or_default();
        let f = verdict::figures_of(
            &c,
            &production.since(&base.production),
            &canary_counts.since(&base.canary),
        );
        let checks = gates.check(&f);
        let said = |only_failed: bool| {
            checks
                .iter()
                .filter(|c| !only_failed || !c.passed)
                .map(|c| format!("{}: {}, {}", c.gate, c.figure, c.limit))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let min = gates.min_requests.unwrap_or(1);
        let mv = if f.canary.requests < min {
            RampMove::Extend {
                reason: format!(
                    "min-requests: {} canary requests in the step, at least {min}: step extended by {} ms",
                    f.canary.requests, ramp.step_ms
                ),
            }
        } else if checks.iter().any(|c| !c.passed) {
            RampMove::Rollback { reason: said(true) }
        } else if ramp.next_percent().is_some() {
            let baseline = serde_json::to_value(Baseline {
                production,
                canary: canary_counts,
            })
            .map_err(|e| e.to_string())?;
            RampMove::Advance {
                baseline,
                reason: passed(said(false)),
            }
        } else {
            RampMove::Promote {
                reason: passed(said(false)),
            }
        };
        let moved = control::move_ramp(store, &api_id, name, owner, ramp.step, mv)
            .map_err(|e| e.to_string())?;
        if moved {
            reloader.sync().map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn passed(checks: String) -> String {
    if checks.is_empty() {
        "step passed (no gates)".into()
    } else {
        format!("step passed: {checks}")
    }
}
