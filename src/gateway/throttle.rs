//! Usage-plan limits for API keys, as API Gateway applies them: a token bucket per key (`throttle`:
//! `burstLimit` tokens, refilled at `rateLimit` per second; empty → 429 THROTTLED "Too Many
//! Requests") and a request quota per key and period (`quota`: `limit` requests per `DAY`, `WEEK`
//! or `MONTH`, UTC calendar periods; spent → 429 QUOTA_EXCEEDED "Limit Exceeded").
//!
//! The state is one per server, shared by the workers; a request holds the mutex for one map
//! lookup. Time comes in as arguments, so the arithmetic is tested exactly.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use crate::aws::gateway_response::{GatewayError, ResponseType};

/// A usage plan's limits, read from its `throttle` and `quota`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    /// (rate per second, burst)
    pub throttle: Option<(f64, f64)>,
    /// (requests, period)
    pub quota: Option<(u64, Period)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Limits {
    /// From a usage plan's `throttle` (`{"burstLimit", "rateLimit"}`) and `quota`
    /// (`{"limit", "period"}`); missing or malformed parts mean no limit.
    pub fn from_plan(
        throttle: Option<&serde_json::Value>,
        quota: Option<&serde_json::Value>,
    ) -> Limits {
        let throttle = throttle.and_then(|t| {
            let rate = t.get("rateLimit").and_then(serde_json::Value::as_f64)?;
            let burst = t
                .get("burstLimit")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(rate);
            Some((rate.max(0.0), burst.max(0.0)))
        });
        let quota = quota.and_then(|q| {
            let limit = q.get("limit").and_then(serde_json::Value::as_u64)?;
            let period = match q.get("period").and_then(serde_json::Value::as_str)? {
                p if p.eq_ignore_ascii_case("DAY") => Period::Day,
                p if p.eq_ignore_ascii_case("WEEK") => Period::Week,
                p if p.eq_ignore_ascii_case("MONTH") => Period::Month,
                _ => return None,
            };
            Some((limit, period))
        });
        Limits { throttle, quota }
    }

    pub fn is_empty(&self) -> bool {
        self.throttle.is_none() && self.quota.is_none()
    }
}

/// The quota period a UTC time falls in, as a comparable number.
pub fn period_index(period: Period, now: chrono::DateTime<chrono::Utc>) -> i64 {
    use chrono::Datelike;
    match period {
        Period::Day => i64::from(now.num_days_from_ce()),
        Period::Week => {
            let w = now.iso_week();
            i64::from(w.year()) * 100 + i64::from(w.week())
        }
        Period::Month => i64::from(now.year()) * 100 + i64::from(now.month()),
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets and quota counters by key (the usage plan id and API key id).
#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    quotas: Mutex<HashMap<String, (i64, u64)>>,
    /// Requests served per usage-plan grant (`PLAN_ID/KEY_ID`) and UTC day (days from CE):
    /// what GetUsage reports. The last [`USAGE_DAYS`] days are kept.
    usage: Mutex<HashMap<String, BTreeMap<i64, u64>>>,
}

/// How many days of usage a grant keeps (AWS's GetUsage reaches back 90 days).
pub const USAGE_DAYS: i64 = 90;

impl Limiter {
    /// Counts one request served with a usage plan's API key (`grant` is `PLAN_ID/KEY_ID`).
    pub fn count_use(&self, grant: &str, utc: chrono::DateTime<chrono::Utc>) {
        use chrono::Datelike;
        let day = i64::from(utc.num_days_from_ce());
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let days = match usage.get_mut(grant) {
            Some(d) => d,
            None => usage.entry(grant.to_string()).or_default(),
        };
        *days.entry(day).or_insert(0) += 1;
        while days.len() as i64 > USAGE_DAYS {
            days.pop_first();
        }
    }

    /// The usage of every key of plan `plan_id`: key id → day (days from CE) → requests.
    pub fn usage(&self, plan_id: &str) -> BTreeMap<String, BTreeMap<i64, u64>> {
        let usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        usage
            .iter()
            .filter_map(|(grant, days)| {
                let (plan, key) = grant.split_once('/')?;
                (plan == plan_id).then(|| (key.to_string(), days.clone()))
            })
            .collect()
    }

    /// Takes one request from `key`'s allowance, or says why not.
    pub fn admit(
        &self,
        key: &str,
        limits: &Limits,
        now: Instant,
        utc: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), GatewayError> {
        if let Some((rate, burst)) = limits.throttle {
            let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
            let b = buckets.entry(key.to_string()).or_insert(Bucket {
                tokens: burst,
                at: now,
            });
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens = (b.tokens + elapsed * rate).min(burst);
            b.at = now;
            if b.tokens < 1.0 {
                return Err(GatewayError::new(ResponseType::Throttled));
            }
            b.tokens -= 1.0;
        }
        if let Some((limit, period)) = limits.quota {
            let index = period_index(period, utc);
            let mut quotas = self.quotas.lock().unwrap_or_else(|p| p.into_inner());
            let (at, used) = quotas.entry(key.to_string()).or_insert((index, 0));
            if *at != index {
                *at = index;
                *used = 0;
            }
            if *used >= limit {
                return Err(GatewayError::new(ResponseType::QuotaExceeded));
            }
            *used += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn plans_are_read_as_aws_writes_them() {
        let l = Limits::from_plan(
            Some(&json!({"burstLimit": 5, "rateLimit": 2.5})),
            Some(&json!({"limit": 100, "period": "WEEK", "offset": 0})),
        );
        assert_eq!(l.throttle, Some((2.5, 5.0)));
        assert_eq!(l.quota, Some((100, Period::Week)));
        assert!(Limits::from_plan(None, Some(&json!({"limit": 1, "period": "YEAR"}))).is_empty());
    }

    #[test]
    fn the_bucket_holds_the_burst_and_refills_at_the_rate() {
        let limiter = Limiter::default();
        let limits = Limits {
            throttle: Some((2.0, 3.0)),
            quota: None,
        };
        let t0 = Instant::now();
        let utc = chrono::Utc::now();
        for _ in 0..3 {
            assert!(limiter.admit("k", &limits, t0, utc).is_ok());
        }
        let e = limiter.admit("k", &limits, t0, utc).unwrap_err();
        assert_eq!(e.kind, ResponseType::Throttled);
        // Half a second at 2 per second is one more request; other keys have their own bucket.
        assert!(limiter
            .admit("k", &limits, t0 + Duration::from_millis(500), utc)
            .is_ok());
        assert!(limiter
            .admit("k", &limits, t0 + Duration::from_millis(500), utc)
            .is_err());
        assert!(limiter.admit("other", &limits, t0, utc).is_ok());
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.admit("k", &limits, later, utc).is_ok());
        }
        assert!(limiter.admit("k", &limits, later, utc).is_err());
    }

    #[test]
    fn the_quota_resets_with_the_period() {
        use chrono::TimeZone;
        let limiter = Limiter::default();
        let limits = Limits {
            throttle: None,
            quota: Some((2, Period::Day)),
        };
        let t = Instant::now();
        let day1 = chrono::Utc
            .with_ymd_and_hms(2026, 12, 1, 23, 59, 0)
            .unwrap();
        let day2 = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 1).unwrap();
        assert!(limiter.admit("k", &limits, t, day1).is_ok());
        assert!(limiter.admit("k", &limits, t, day1).is_ok());
        let e = limiter.admit("k", &limits, t, day1).unwrap_err();
        assert_eq!(e.kind, ResponseType::QuotaExceeded);
        assert!(limiter.admit("k", &limits, t, day2).is_ok());
        assert_eq!(
            period_index(Period::Month, day1),
            period_index(Period::Month, day2)
        );
        assert_ne!(
            period_index(Period::Day, day1),
            period_index(Period::Day, day2)
        );
    }
}
