//! Judging a canary by its numbers: the figures of each side of a stage since its canary started
//! ([`Figures`], summed from the metrics of every server), and the gates a canary must pass to be
//! promoted or ramped ([`Gates`]). Pure functions over [`Series`]: the CLI (`gw canary status`,
//! `gw promote --check`) and the ramp use the same arithmetic.

use crate::gateway::metrics::{Counts, Series, Side};
use serde::Serialize;
use std::time::Duration;

/// One side's figures.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SideFigures {
    pub deployment: String,
    pub requests: u64,
    pub errors4xx: u64,
    pub errors5xx: u64,
    /// 5xx ÷ requests (0 without requests).
    pub error_rate: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl SideFigures {
    fn of(deployment: &str, c: &Counts) -> SideFigures {
        let requests = c.requests();
        let errors5xx = c.in_range(500, 599);
        SideFigures {
            deployment: deployment.to_string(),
            requests,
            errors4xx: c.in_range(400, 499),
            errors5xx,
            error_rate: if requests == 0 {
                0.0
            } else {
                errors5xx as f64 / requests as f64
            },
            p50_ms: c.latency.quantile_ms(0.50),
            p95_ms: c.latency.quantile_ms(0.95),
            p99_ms: c.latency.quantile_ms(0.99),
        }
    }
}

/// A stage's production beside its canary, since the canary started.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Figures {
    pub stage: String,
    pub percent: f64,
    pub production: SideFigures,
    pub canary: SideFigures,
}

/// What identifies the canary being judged.
pub struct Canary<'a> {
    pub api: &'a str,
    pub stage: &'a str,
    pub production: &'a str,
    pub canary: &'a str,
    pub percent: f64,
}

/// Sums `series` (from any number of servers) into the stage's figures since the canary
/// started (the series of the canary's epoch).
pub fn figures<'s>(series: impl IntoIterator<Item = &'s Series>, c: &Canary) -> Figures {
    let (production, canary) = sides(series, c);
    figures_of(c, &production, &canary)
}

/// The figures of counts already summed (a ramp's step: the counts now less those at its start).
pub fn figures_of(c: &Canary, production: &Counts, canary: &Counts) -> Figures {
    Figures {
        stage: c.stage.to_string(),
        percent: c.percent,
        production: SideFigures::of(c.production, production),
        canary: SideFigures::of(c.canary, canary),
    }
}

/// Each side's counts since the canary started, summed over `series`: (production, canary).
pub fn sides<'s>(series: impl IntoIterator<Item = &'s Series>, c: &Canary) -> (Counts, Counts) {
    let (mut production, mut canary) = (Counts::default(), Counts::default());
    for s in series {
        let l = &s.labels;
        if l.api != c.api || l.stage != c.stage || l.epoch != c.canary {
            continue;
        }
        match l.side {
            Side::Production if l.deployment == c.production => production.merge(&s.counts),
            Side::Canary if l.deployment == c.canary => canary.merge(&s.counts),
            _ => {}
        }
    }
    (production, canary)
}

/// The gates of `gw promote --check` and of a ramp's steps.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gates {
    /// The canary's 5xx rate may be at most this many percent.
    pub max_error_rate_percent: Option<f64>,
    /// The canary's p99 may be at most this.
    #[serde(with = "millis_opt", default)]
    pub max_p99: Option<Duration>,
    /// The canary's p99 may be at most this multiple of production's.
    pub max_p99_ratio: Option<f64>,
    /// The canary must have served at least this many requests.
    pub min_requests: Option<u64>,
}

mod millis_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_secs_f64() * 1000.0)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let ms = Option::<f64>::deserialize(d)?;
        Ok(ms
            .filter(|m| m.is_finite() && *m >= 0.0)
            .map(|m| Duration::from_secs_f64(m / 1000.0)))
    }
}

/// One gate's outcome.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    /// The gate, as its flag names it (`max-error-rate`, ...).
    pub gate: &'static str,
    pub passed: bool,
    /// The canary's figure and the limit, as a person reads them (`3.2 %` against `1 %`).
    pub figure: String,
    pub limit: String,
}

impl Gates {
    pub fn is_empty(&self) -> bool {
        *self == Gates::default()
    }

    /// Every gate's outcome for `f` (a gate not set is not listed).
    pub fn check(&self, f: &Figures) -> Vec<Check> {
        let mut out = Vec::new();
        let ms = |v: Option<f64>| v.map_or("no requests".to_string(), |v| format!("{v:.1} ms"));
        if let Some(n) = self.min_requests {
            out.push(Check {
                gate: "min-requests",
                passed: f.canary.requests >= n,
                figure: format!("{} requests", f.canary.requests),
                limit: format!("at least {n}"),
            });
        }
        if let Some(max) = self.max_error_rate_percent {
            let rate = f.canary.error_rate * 100.0;
            out.push(Check {
                gate: "max-error-rate",
                passed: rate <= max,
                figure: format!(
                    "{rate:.2} % ({} of {} answered 5xx)",
                    f.canary.errors5xx, f.canary.requests
                ),
                limit: format!("at most {max} %"),
            });
        }
        if let Some(max) = self.max_p99 {
            let max_ms = max.as_secs_f64() * 1000.0;
            out.push(Check {
                gate: "max-p99",
                // Without requests there is no p99 to hold against the gate: it passes, and
                // `min-requests` is the gate that asks for traffic.
                passed: f.canary.p99_ms.is_none_or(|p| p <= max_ms),
                figure: ms(f.canary.p99_ms),
                limit: format!("at most {max_ms:.1} ms"),
            });
        }
        if let Some(ratio) = self.max_p99_ratio {
            let passed = match (f.canary.p99_ms, f.production.p99_ms) {
                (Some(c), Some(p)) => c <= ratio * p,
                _ => true,
            };
            out.push(Check {
                gate: "max-p99-ratio",
                passed,
                figure: format!(
                    "{} against production's {}",
                    ms(f.canary.p99_ms),
                    ms(f.production.p99_ms)
                ),
                limit: format!("at most {ratio} × production's"),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::metrics::{Histogram, Labels};

    fn series(side: Side, deployment: &str, epoch: &str, ok: u64, failed: u64, ms: u64) -> Series {
        let mut latency = Histogram::default();
        for _ in 0..ok + failed {
            latency.observe(Duration::from_millis(ms));
        }
        Series {
            labels: Labels {
                api: "a".into(),
                stage: "prod".into(),
                deployment: deployment.into(),
                side,
                method: "GET".into(),
                resource: "/x".into(),
                epoch: epoch.into(),
            },
            counts: Counts {
                statuses: vec![(200, ok), (503, failed)],
                latency,
                ..Counts::default()
            },
        }
    }

    const CANARY: Canary = Canary {
        api: "a",
        stage: "prod",
        production: "d1",
        canary: "d2",
        percent: 10.0,
    };

    #[test]
    fn figures_count_only_the_current_canary_epoch() {
        let s = [
            series(Side::Production, "d1", "", 1000, 0, 1), // before the canary
            series(Side::Production, "d1", "d2", 90, 0, 1),
            series(Side::Canary, "d2", "d2", 7, 3, 20),
            series(Side::Production, "d1", "d2", 10, 0, 1), // another server
        ];
        let f = figures(&s, &CANARY);
        assert_eq!(f.production.requests, 100);
        assert_eq!(f.canary.requests, 10);
        assert_eq!(f.canary.errors5xx, 3);
        assert!((f.canary.error_rate - 0.3).abs() < 1e-9);
        let p99 = f.canary.p99_ms.unwrap();
        assert!((14.1..=28.3).contains(&p99), "{p99}");
    }

    #[test]
    fn a_step_is_judged_by_its_own_requests() {
        let before = [
            series(Side::Production, "d1", "d2", 100, 0, 1),
            series(Side::Canary, "d2", "d2", 50, 0, 1),
        ];
        let now = [
            series(Side::Production, "d1", "d2", 190, 0, 1),
            series(Side::Canary, "d2", "d2", 57, 3, 1),
        ];
        let (p0, c0) = sides(&before, &CANARY);
        let (p1, c1) = sides(&now, &CANARY);
        let f = figures_of(&CANARY, &p1.since(&p0), &c1.since(&c0));
        assert_eq!(f.production.requests, 90);
        assert_eq!(f.canary.requests, 10);
        assert_eq!(f.canary.errors5xx, 3);
        assert_eq!(c1.since(&c0).latency.count(), 10);
        // A server that restarted counts less than before: nothing goes below zero.
        assert_eq!(c0.since(&c1).requests(), 0);
    }

    #[test]
    fn gates_pass_and_fail_on_their_figures() {
        let s = [
            series(Side::Production, "d1", "d2", 100, 0, 2),
            series(Side::Canary, "d2", "d2", 97, 3, 20),
        ];
        let f = figures(&s, &CANARY);
        let gates = Gates {
            max_error_rate_percent: Some(1.0),
            max_p99: Some(Duration::from_millis(100)),
            max_p99_ratio: Some(2.0),
            min_requests: Some(50),
        };
        let checks = gates.check(&f);
        let passed: Vec<(&str, bool)> = checks.iter().map(|c| (c.gate, c.passed)).collect();
        assert_eq!(
            passed,
            [
                ("min-requests", true),
                ("max-error-rate", false),
                ("max-p99", true),
                ("max-p99-ratio", false)
            ]
        );
        assert!(
            checks[1].figure.starts_with("3.00 %"),
            "{}",
            checks[1].figure
        );
        let lenient = Gates {
            max_error_rate_percent: Some(5.0),
            min_requests: Some(100),
            ..Gates::default()
        };
        assert!(lenient.check(&f).iter().all(|c| c.passed));
    }
}
