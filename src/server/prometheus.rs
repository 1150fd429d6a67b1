//! `/_gw/metrics`: the data plane's merged metrics in the Prometheus (OpenMetrics) text format,
//! written by `prometheus-client` from a snapshot taken at scrape time.
//!
//! Families (every one labelled `api`, `stage`, `deployment`, `side`, and, per route, `method`
//! and `resource`):
//! - `gw_requests_total` — requests answered, by `status` (exact) and `class` (`2xx` ...);
//! - `gw_request_duration_seconds` — gateway latency, a histogram;
//! - `gw_integration_duration_seconds` — integration latency, a histogram;
//! - `gw_function_invocations_total` — WebAssembly invocations by `outcome` (ok, error,
//!   timeout, trap);
//! - `gw_upstream_connect_errors_total` — backends that could not be reached;
//! - `gw_canary_percent` — each stage's canary share (0 without a canary), labelled `api`,
//!   `stage` and the canary's `deployment`.

use crate::gateway::metrics::{bucket_bound, Counts, Labels, Outcome, Series, BUCKETS};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use std::collections::BTreeMap;

/// A stage's canary share, for `gw_canary_percent`.
#[derive(Debug, Clone)]
pub struct CanaryShare {
    pub api: String,
    pub stage: String,
    /// The canary's deployment (empty without a canary).
    pub deployment: String,
    pub percent: f64,
}

/// One VPC link target as the server sees it.
#[derive(Debug, Clone)]
pub struct LinkTargetStat {
    pub link: String,
    pub target: String,
    pub healthy: bool,
    pub requests: u64,
    pub failures: u64,
}

type LabelSet = Vec<(&'static str, String)>;

/// One scrape's worth of figures.
#[derive(Debug)]
struct Scrape {
    /// Series summed over canary epochs, by their Prometheus labels.
    series: BTreeMap<LabelKey, Counts>,
    canaries: Vec<CanaryShare>,
    links: Vec<LinkTargetStat>,
    /// Link name → requests sent while no target was healthy.
    failed_open: Vec<(String, u64)>,
    counters: Option<SharedCounters>,
}

/// The shared (Redis) counters' figures, when `--counters` is given.
#[derive(Debug, Clone, Copy)]
pub struct SharedCounters {
    pub up: bool,
    pub checks: u64,
    pub fallbacks: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct LabelKey {
    api: String,
    stage: String,
    deployment: String,
    side: &'static str,
    method: String,
    resource: String,
}

impl LabelKey {
    fn of(l: &Labels) -> LabelKey {
        LabelKey {
            api: l.api.clone(),
            stage: l.stage.clone(),
            deployment: l.deployment.clone(),
            side: l.side.as_str(),
            method: l.method.clone(),
            resource: l.resource.clone(),
        }
    }

    fn set(&self) -> LabelSet {
        vec![
            ("api", self.api.clone()),
            ("stage", self.stage.clone()),
            ("deployment", self.deployment.clone()),
            ("side", self.side.to_string()),
            ("method", self.method.clone()),
            ("resource", self.resource.clone()),
        ]
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut e = encoder.encode_descriptor(
            "gw_requests",
            "Requests answered, by exact status and status class",
            None,
            MetricType::Counter,
        )?;
        for (key, counts) in &self.series {
            let mut statuses = counts.statuses.clone();
            statuses.sort_unstable();
            for (status, n) in statuses {
                let mut set = key.set();
                set.push(("status", status.to_string()));
                set.push(("class", format!("{}xx", status / 100)));
                ConstCounter::new(n).encode(e.encode_family(&set)?)?;
            }
        }
        for (name, help, pick) in [
            (
                "gw_request_duration_seconds",
                "Gateway latency: from the request's head to its answer",
                (|c: &Counts| &c.latency) as fn(&Counts) -> &crate::gateway::metrics::Histogram,
            ),
            (
                "gw_integration_duration_seconds",
                "Integration latency: the backend's, the mock's or the function's time",
                |c: &Counts| &c.integration,
            ),
        ] {
            let mut e = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
            for (key, counts) in &self.series {
                let h = pick(counts);
                if h.count() == 0 {
                    continue;
                }
                let buckets: Vec<(f64, u64)> = (0..BUCKETS)
                    .map(|i| (bucket_bound(i), h.counts.get(i).copied().unwrap_or(0)))
                    .collect();
                let set = key.set();
                e.encode_family(&set)?.encode_histogram::<LabelSet>(
                    h.sum_seconds,
                    h.count(),
                    &buckets,
                    None,
                )?;
            }
        }
        let mut e = encoder.encode_descriptor(
            "gw_function_invocations",
            "WebAssembly function invocations by outcome",
            None,
            MetricType::Counter,
        )?;
        for (key, counts) in &self.series {
            for outcome in Outcome::ALL {
                let n = counts.functions[outcome as usize];
                if n == 0 {
                    continue;
                }
                let mut set = key.set();
                set.push(("outcome", outcome.as_str().to_string()));
                ConstCounter::new(n).encode(e.encode_family(&set)?)?;
            }
        }
        let mut e = encoder.encode_descriptor(
            "gw_upstream_connect_errors",
            "Backend connections that could not be made",
            None,
            MetricType::Counter,
        )?;
        for (key, counts) in &self.series {
            if counts.connect_errors > 0 {
                ConstCounter::new(counts.connect_errors).encode(e.encode_family(&key.set())?)?;
            }
        }
        let mut e = encoder.encode_descriptor(
            "gw_canary_percent",
            "Each stage's canary share of its traffic, in percent (0: no canary)",
            None,
            MetricType::Gauge,
        )?;
        for c in &self.canaries {
            let set: LabelSet = vec![
                ("api", c.api.clone()),
                ("stage", c.stage.clone()),
                ("deployment", c.deployment.clone()),
            ];
            ConstGauge::new(c.percent).encode(e.encode_family(&set)?)?;
        }
        for (name, help, kind) in [
            (
                "gw_vpc_link_target_healthy",
                "Whether a VPC link's target is healthy (1) or not (0)",
                MetricType::Gauge,
            ),
            (
                "gw_vpc_link_target_requests",
                "Requests sent to a VPC link's target",
                MetricType::Counter,
            ),
            (
                "gw_vpc_link_target_connect_failures",
                "Connections to a VPC link's target that failed",
                MetricType::Counter,
            ),
        ] {
            let mut e = encoder.encode_descriptor(name, help, None, kind)?;
            for t in &self.links {
                let set: LabelSet = vec![("link", t.link.clone()), ("target", t.target.clone())];
                match name {
                    "gw_vpc_link_target_healthy" => {
                        ConstGauge::new(i64::from(t.healthy)).encode(e.encode_family(&set)?)?
                    }
                    "gw_vpc_link_target_requests" => {
                        ConstCounter::new(t.requests).encode(e.encode_family(&set)?)?
                    }
                    _ => ConstCounter::new(t.failures).encode(e.encode_family(&set)?)?,
                }
            }
        }
        let mut e = encoder.encode_descriptor(
            "gw_vpc_link_failed_open",
            "Requests a VPC link sent to an unhealthy target because none was healthy",
            None,
            MetricType::Counter,
        )?;
        for (link, n) in &self.failed_open {
            ConstCounter::new(*n).encode(e.encode_family(&vec![("link", link.clone())])?)?;
        }
        if let Some(c) = self.counters {
            let e = encoder.encode_descriptor(
                "gw_counters_redis_up",
                "Whether the last throttle or quota check reached Redis (--counters)",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(i64::from(c.up)).encode(e)?;
            let e = encoder.encode_descriptor(
                "gw_counters_redis_checks",
                "Throttle and quota checks answered by Redis",
                None,
                MetricType::Counter,
            )?;
            ConstCounter::new(c.checks).encode(e)?;
            let e = encoder.encode_descriptor(
                "gw_counters_fallbacks",
                "Throttle and quota checks that fell back because Redis did not answer",
                None,
                MetricType::Counter,
            )?;
            ConstCounter::new(c.fallbacks).encode(e)?;
        }
        Ok(())
    }
}

/// The text a scrape answers.
pub fn exposition(
    series: Vec<Series>,
    canaries: Vec<CanaryShare>,
    links: Vec<LinkTargetStat>,
    failed_open: Vec<(String, u64)>,
    counters: Option<SharedCounters>,
) -> Result<String, String> {
    let mut merged: BTreeMap<LabelKey, Counts> = BTreeMap::new();
    for s in &series {
        merged
            .entry(LabelKey::of(&s.labels))
            .or_default()
            .merge(&s.counts);
    }
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register_collector(Box::new(Scrape {
        series: merged,
        canaries,
        links,
        failed_open,
        counters,
    }));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)
        .map_err(|e| format!("cannot write the metrics: {e}"))?;
    Ok(out)
}
