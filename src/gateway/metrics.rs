//! Live metrics of the data plane: per API, stage, deployment, side (production or canary),
//! method and resource — requests by status, gateway and integration latency histograms,
//! function invocations by outcome, upstream connect errors.
//!
//! Counting is per worker: each worker thread owns a [`Cells`] that only it writes (its mutex is
//! taken by the worker per request and by a reader only while it copies the cells out), so the
//! request path writes no memory another worker writes. A reader merges every worker's cells
//! ([`Metrics::snapshot`]) into [`Series`], which `/_gw/metrics` writes in the Prometheus text
//! format and `gw canary status` sums across servers.
//!
//! Every series also carries the stage's canary *epoch* (the canary deployment at the time, or
//! none), so "production since the canary started" is the production series of the current
//! epoch; the Prometheus families sum over epochs.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds: 100 µs × √2ⁿ up to about a minute (a bucket
/// is at most 41 % wide, which bounds the error of an estimated percentile).
pub const BUCKETS: usize = 41;

/// The upper bound of bucket `i` in seconds (the last bucket is unbounded).
pub fn bucket_bound(i: usize) -> f64 {
    if i + 1 >= BUCKETS {
        f64::INFINITY
    } else {
        0.0001 * std::f64::consts::SQRT_2.powi(i as i32)
    }
}

/// The bucket bounds in nanoseconds, for the request path (no floating point there).
static BOUNDS_NS: std::sync::LazyLock<[u64; BUCKETS]> = std::sync::LazyLock::new(|| {
    let mut b = [u64::MAX; BUCKETS];
    for (i, slot) in b.iter_mut().enumerate().take(BUCKETS - 1) {
        *slot = (bucket_bound(i) * 1e9).round() as u64;
    }
    b
});

fn bucket_of(d: Duration) -> usize {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    BOUNDS_NS.partition_point(|&b| b < ns).min(BUCKETS - 1)
}

/// A latency histogram: counts per bucket and the sum of the observations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Histogram {
    pub counts: Vec<u64>,
    pub sum_seconds: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            sum_seconds: 0.0,
        }
    }
}

impl Histogram {
    pub fn observe(&mut self, d: Duration) {
        if let Some(c) = self.counts.get_mut(bucket_of(d)) {
            *c += 1;
        }
        self.sum_seconds += d.as_secs_f64();
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.sum_seconds += other.sum_seconds;
    }

    /// The `q` quantile (0 < q ≤ 1) in milliseconds, interpolated linearly inside its bucket;
    /// `None` without observations.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            if (seen + c) as f64 >= rank {
                let lower = if i == 0 { 0.0 } else { bucket_bound(i - 1) };
                let upper = if i + 1 >= BUCKETS {
                    lower * std::f64::consts::SQRT_2
                } else {
                    bucket_bound(i)
                };
                let within = (rank - seen as f64) / c as f64;
                return Some((lower + (upper - lower) * within) * 1000.0);
            }
            seen += c;
        }
        None
    }
}

/// Which side of a stage answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Production,
    Canary,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Production => "production",
            Side::Canary => "canary",
        }
    }
}

/// What identifies a series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Labels {
    pub api: String,
    pub stage: String,
    pub deployment: String,
    pub side: Side,
    pub method: String,
    pub resource: String,
    /// The stage's canary deployment when the request was served (empty: no canary).
    pub epoch: String,
}

/// A function invocation's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Error,
    Timeout,
    Trap,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [Outcome::Ok, Outcome::Error, Outcome::Timeout, Outcome::Trap];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
            Outcome::Trap => "trap",
        }
    }
}

/// The counts of one series.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    /// Requests by exact status.
    pub statuses: Vec<(u16, u64)>,
    pub latency: Histogram,
    pub integration: Histogram,
    /// Function invocations: ok, error, timeout, trap.
    pub functions: [u64; 4],
    pub connect_errors: u64,
}

impl Counts {
    fn add_status(&mut self, status: u16) {
        match self.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => self.statuses.push((status, 1)),
        }
    }

    pub fn merge(&mut self, other: &Counts) {
        for &(s, n) in &other.statuses {
            match self.statuses.iter_mut().find(|(t, _)| *t == s) {
                Some((_, m)) => *m += n,
                None => self.statuses.push((s, n)),
            }
        }
        self.latency.merge(&other.latency);
        self.integration.merge(&other.integration);
        for (a, b) in self.functions.iter_mut().zip(other.functions) {
            *a += b;
        }
        self.connect_errors += other.connect_errors;
    }

    /// These counts less `base` (earlier counts of the same series), never below zero: what
    /// happened since `base` was taken.
    pub fn since(&self, base: &Counts) -> Counts {
        let mut out = self.clone();
        for (s, n) in &mut out.statuses {
            if let Some((_, b)) = base.statuses.iter().find(|(t, _)| t == s) {
                *n = n.saturating_sub(*b);
            }
        }
        out.statuses.retain(|(_, n)| *n > 0);
        for (h, b) in [
            (&mut out.latency, &base.latency),
            (&mut out.integration, &base.integration),
        ] {
            for (a, b) in h.counts.iter_mut().zip(&b.counts) {
                *a = a.saturating_sub(*b);
            }
            h.sum_seconds = (h.sum_seconds - b.sum_seconds).max(0.0);
        }
        for (a, b) in out.functions.iter_mut().zip(base.functions) {
            *a = a.saturating_sub(b);
        }
        out.connect_errors = out.connect_errors.saturating_sub(base.connect_errors);
        out
    }

    pub fn requests(&self) -> u64 {
        self.statuses.iter().map(|(_, n)| n).sum()
    }

    /// Requests whose status is in `lo..=hi`.
    pub fn in_range(&self, lo: u16, hi: u16) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| (lo..=hi).contains(s))
            .map(|(_, n)| n)
            .sum()
    }
}

/// A merged series: its labels and its counts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub counts: Counts,
}

/// The hash of a stage side's labels (api, stage, deployment, side, epoch), computed once per
/// snapshot: a request only hashes its method and resource on top.
pub fn stage_key(api: &str, stage: &str, deployment: &str, side: Side, epoch: &str) -> u64 {
    fnv(
        0xcbf2_9ce4_8422_2325,
        [api, stage, deployment, side.as_str(), epoch],
    )
}

fn fnv<'s>(mut h: u64, parts: impl IntoIterator<Item = &'s str>) -> u64 {
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// One request, as the metrics see it.
pub struct Observation<'a> {
    /// [`stage_key`] of the labels below.
    pub stage_key: u64,
    pub api: &'a str,
    pub stage: &'a str,
    pub deployment: &'a str,
    pub side: Side,
    pub method: &'a str,
    /// The matched resource's path (empty when no route matched).
    pub resource: &'a str,
    pub epoch: &'a str,
    pub status: u16,
    pub latency: Duration,
    pub integration: Option<Duration>,
    pub function: Option<Outcome>,
    pub connect_error: bool,
}

impl Observation<'_> {
    /// The key of a worker's map: the stage side's key with the route's method and resource.
    fn key(&self) -> u64 {
        fnv(self.stage_key, [self.method, self.resource])
    }

    /// Whether `s` is this observation's series. The stage side is told apart by its 64-bit key
    /// (two stage sides with one key would share a series: FNV-1a over a handful of ids), the
    /// route by its method and resource.
    fn matches(&self, s: &Entry) -> bool {
        s.stage_key == self.stage_key
            && s.series.labels.method == self.method
            && s.series.labels.resource == self.resource
    }

    fn labels(&self) -> Labels {
        Labels {
            api: self.api.to_string(),
            stage: self.stage.to_string(),
            deployment: self.deployment.to_string(),
            side: self.side,
            method: self.method.to_string(),
            resource: self.resource.to_string(),
            epoch: self.epoch.to_string(),
        }
    }
}

/// A series in a worker's cells, with the key of its stage side.
struct Entry {
    stage_key: u64,
    series: Series,
}

/// One worker's cells; only its worker writes them.
#[derive(Default)]
pub struct Cells {
    series: Mutex<crate::net::fnv::Map<u64, Vec<Entry>>>,
}

impl Cells {
    /// Count one request.
    pub fn record(&self, o: &Observation) {
        let mut map = match self.series.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let bucket = map.entry(o.key()).or_default();
        let i = match bucket.iter().position(|s| o.matches(s)) {
            Some(i) => i,
            None => {
                bucket.push(Entry {
                    stage_key: o.stage_key,
                    series: Series {
                        labels: o.labels(),
                        counts: Counts::default(),
                    },
                });
                bucket.len() - 1
            }
        };
        let Some(entry) = bucket.get_mut(i) else {
            return;
        };
        let c = &mut entry.series.counts;
        c.add_status(o.status);
        c.latency.observe(o.latency);
        if let Some(d) = o.integration {
            c.integration.observe(d);
        }
        if let Some(f) = o.function {
            c.functions[f as usize] += 1;
        }
        if o.connect_error {
            c.connect_errors += 1;
        }
    }

    fn copy_into(&self, out: &mut HashMap<Labels, Counts>) {
        let map = match self.series.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        for e in map.values().flatten() {
            out.entry(e.series.labels.clone())
                .or_default()
                .merge(&e.series.counts);
        }
    }
}

/// Every worker's cells, for the readers.
#[derive(Default)]
pub struct Metrics {
    workers: Mutex<Vec<Arc<Cells>>>,
}

impl Metrics {
    /// A new worker's cells, registered for reading.
    pub fn worker(&self) -> Arc<Cells> {
        let cells = Arc::new(Cells::default());
        match self.workers.lock() {
            Ok(mut w) => w.push(cells.clone()),
            Err(poisoned) => poisoned.into_inner().push(cells.clone()),
        }
        cells
    }

    /// Every series, merged over the workers, in a stable order.
    pub fn snapshot(&self) -> Vec<Series> {
        let workers: Vec<Arc<Cells>> = match self.workers.lock() {
            Ok(w) => w.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let mut merged = HashMap::new();
        for w in &workers {
            w.copy_into(&mut merged);
        }
        let mut out: Vec<Series> = merged
            .into_iter()
            .map(|(labels, counts)| Series { labels, counts })
            .collect();
        out.sort_by(|a, b| {
            let k = |s: &Series| {
                (
                    s.labels.api.clone(),
                    s.labels.stage.clone(),
                    s.labels.deployment.clone(),
                    s.labels.side.as_str(),
                    s.labels.resource.clone(),
                    s.labels.method.clone(),
                    s.labels.epoch.clone(),
                )
            };
            k(a).cmp(&k(b))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(status: u16, ms: u64) -> Observation<'static> {
        Observation {
            stage_key: stage_key("a", "prod", "d1", Side::Production, ""),
            api: "a",
            stage: "prod",
            deployment: "d1",
            side: Side::Production,
            method: "GET",
            resource: "/x",
            epoch: "",
            status,
            latency: Duration::from_millis(ms),
            integration: Some(Duration::from_millis(ms)),
            function: None,
            connect_error: false,
        }
    }

    #[test]
    fn buckets_cover_a_minute_and_grow_by_root_two() {
        assert!((bucket_bound(0) - 0.0001).abs() < 1e-12);
        assert!(bucket_bound(BUCKETS - 2) > 60.0);
        assert!(bucket_bound(BUCKETS - 1).is_infinite());
        assert_eq!(bucket_of(Duration::from_micros(50)), 0);
        assert_eq!(bucket_of(Duration::from_micros(100)), 0);
        assert_eq!(bucket_of(Duration::from_micros(101)), 1);
        assert_eq!(bucket_of(Duration::from_secs(3600)), BUCKETS - 1);
        for i in 1..BUCKETS - 1 {
            let d = Duration::from_secs_f64(bucket_bound(i) * 0.999);
            assert_eq!(bucket_of(d), i, "just under bound {i}");
        }
    }

    #[test]
    fn counts_merge_across_workers_exactly() {
        let m = Metrics::default();
        let (w1, w2) = (m.worker(), m.worker());
        for _ in 0..7 {
            w1.record(&obs(200, 1));
        }
        for _ in 0..3 {
            w2.record(&obs(503, 10));
        }
        w2.record(&obs(200, 1));
        let s = m.snapshot();
        assert_eq!(s.len(), 1);
        let c = &s[0].counts;
        assert_eq!(c.requests(), 11);
        assert_eq!(c.in_range(500, 599), 3);
        assert_eq!(c.latency.count(), 11);
        assert_eq!(c.integration.count(), 11);
    }

    #[test]
    fn quantiles_fall_in_the_right_bucket() {
        let mut h = Histogram::default();
        for _ in 0..99 {
            h.observe(Duration::from_millis(2));
        }
        h.observe(Duration::from_millis(900));
        let p50 = h.quantile_ms(0.5).unwrap();
        assert!((1.41..=2.83).contains(&p50), "{p50}");
        let p99 = h.quantile_ms(0.99).unwrap();
        assert!((1.41..=2.83).contains(&p99), "{p99}");
        let p100 = h.quantile_ms(1.0).unwrap();
        assert!((636.0..=1300.0).contains(&p100), "{p100}");
        assert_eq!(Histogram::default().quantile_ms(0.5), None);
    }
}
