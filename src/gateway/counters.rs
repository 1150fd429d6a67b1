//! Throttle and quota counters shared by every gw node, in Redis (`gw serve --counters
//! redis://...`): one Lua script per check takes a token from the key's bucket and one request
//! from its quota atomically, with Redis's own clock, so a usage plan's limits hold across nodes
//! as they hold within one. Quota keys are per period and expire at its end.
//!
//! Each worker has its own connection (a `redis` `ConnectionManager`, reconnecting in the
//! background). When Redis does not answer within [`CHECK_TIMEOUT`], the check falls back as
//! `--counters-unavailable` says — the node's local counters (default), admit, or refuse — and
//! the fallback is logged (at most every 10 s) and counted in `/_gw/metrics`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::aws::gateway_response::{GatewayError, ResponseType};
use crate::gateway::throttle::{period_index, Limits, Period};

/// How long one check may wait for Redis before falling back.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(250);

/// What a check does when Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unavailable {
    /// Count on this node alone (limits then hold per node).
    #[default]
    Local,
    /// Admit every request.
    Allow,
    /// Refuse every limited request (429).
    Deny,
}

impl std::str::FromStr for Unavailable {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(Unavailable::Local),
            "allow" => Ok(Unavailable::Allow),
            "deny" => Ok(Unavailable::Deny),
            other => Err(format!(
                "--counters-unavailable {other:?}: use local, allow or deny"
            )),
        }
    }
}

/// Where the counters are, and what happens when they cannot be reached.
#[derive(Debug, Clone)]
pub struct Config {
    pub url: String,
    pub unavailable: Unavailable,
    /// Lambda authorizers' cached answers live there too (`--authorizer-cache redis`), so a
    /// token one node authorized is not asked about again by another.
    pub authorizers: bool,
}

/// The shared counters' state, seen by every worker (for the log and the metrics).
#[derive(Debug, Default)]
pub struct Status {
    /// Whether the last check reached Redis.
    pub up: AtomicBool,
    /// Checks that fell back because Redis did not answer.
    pub fallbacks: AtomicU64,
    /// Checks answered by Redis.
    pub checks: AtomicU64,
    last_log: Mutex<Option<Instant>>,
}

/// One worker's handle on the shared counters.
pub struct Remote {
    conn: redis::aio::ConnectionManager,
    script: redis::Script,
    pub config: Config,
    pub status: Arc<Status>,
}

/// Checks `KEYS[1]`'s token bucket (when ARGV[1] >= 0) and `KEYS[2]`'s quota (when ARGV[3] >= 0).
/// ARGV: rate per second, burst, quota limit, quota key's expiry (Unix seconds).
/// Returns 0 (admitted), 1 (throttled) or 2 (quota spent).
const CHECK: &str = r#"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
if rate >= 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
  local tokens = tonumber(b[1]) or burst
  local at = tonumber(b[2]) or now
  if now > at then
    tokens = math.min(burst, tokens + (now - at) * rate)
  end
  -- Stored to the microsecond: tostring's 14 digits would round the time to 0.1 ms, and the
  -- refill, never negative, would gain from the rounding.
  local stamp = string.format('%.6f', now)
  local admit = tokens >= 1
  if admit then tokens = tokens - 1 end
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.9f', tokens), 'at', stamp)
  -- Gone once it would be full again anyway; a bucket that never refills stays.
  if rate > 0 then
    redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
  else
    redis.call('PERSIST', KEYS[1])
  end
  if not admit then
    return 1
  end
end
if limit >= 0 then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= limit then
    return 2
  end
  redis.call('INCR', KEYS[2])
  redis.call('EXPIREAT', KEYS[2], tonumber(ARGV[4]))
end
return 0
"#;

impl Remote {
    /// A worker's connection (made lazily, on the first check); call inside the worker's
    /// runtime.
    pub fn connect(config: &Config, status: Arc<Status>) -> Result<Remote, String> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| format!("--counters {}: {e}", crate::net::redacted_url(&config.url)))?;
        let settings = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CHECK_TIMEOUT))
            .set_response_timeout(Some(CHECK_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let conn = client
            .get_connection_manager_lazy(settings)
            .map_err(|e| format!("--counters {}: {e}", crate::net::redacted_url(&config.url)))?;
        Ok(Remote {
            conn,
            script: redis::Script::new(CHECK),
            config: config.clone(),
            status,
        })
    }

    /// One check in Redis: `Ok(None)` admitted, `Ok(Some(error))` refused, `Err` unreachable.
    async fn check(
        &self,
        key: &str,
        limits: &Limits,
        utc: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<GatewayError>, String> {
        let (rate, burst) = limits.throttle.unwrap_or((-1.0, 0.0));
        let (limit, quota_key, expires) = match limits.quota {
            Some((limit, period)) => (
                limit as i64,
                format!("gw:quota:{key}:{}", period_index(period, utc)),
                period_end(period, utc),
            ),
            None => (-1, format!("gw:quota:{key}"), 0),
        };
        let mut conn = self.conn.clone();
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(format!("gw:throttle:{key}"))
            .key(quota_key)
            .arg(rate)
            .arg(burst)
            .arg(limit)
            .arg(expires);
        let answer = tokio::time::timeout(CHECK_TIMEOUT, invocation.invoke_async::<i64>(&mut conn))
            .await
            .map_err(|_| format!("no answer within {} ms", CHECK_TIMEOUT.as_millis()))?
            .map_err(|e| e.to_string())?;
        Ok(match answer {
            0 => None,
            1 => Some(GatewayError::new(ResponseType::Throttled)),
            _ => Some(GatewayError::new(ResponseType::QuotaExceeded)),
        })
    }

    /// Admits or refuses a request against the shared counters; `local` is the node's own check,
    /// used when Redis cannot be reached and the fallback is `local`.
    pub async fn admit(
        &self,
        key: &str,
        limits: &Limits,
        utc: chrono::DateTime<chrono::Utc>,
        local: impl FnOnce() -> Result<(), GatewayError>,
    ) -> Result<(), GatewayError> {
        match self.check(key, limits, utc).await {
            Ok(verdict) => {
                if !self.status.up.swap(true, Ordering::Relaxed) {
                    tracing::info!(
                        "counters: Redis at {} answers; limits are shared",
                        crate::net::redacted_url(&self.config.url)
                    );
                }
                self.status.checks.fetch_add(1, Ordering::Relaxed);
                verdict.map_or(Ok(()), Err)
            }
            Err(why) => {
                self.status.up.store(false, Ordering::Relaxed);
                self.status.fallbacks.fetch_add(1, Ordering::Relaxed);
                self.say_fallback(&why);
                match self.config.unavailable {
                    Unavailable::Local => local(),
                    Unavailable::Allow => Ok(()),
                    Unavailable::Deny => Err(GatewayError::new(ResponseType::Throttled)),
                }
            }
        }
    }

    fn say_fallback(&self, why: &str) {
        let mut last = self
            .status
            .last_log
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|l| l.elapsed() < Duration::from_secs(10)) {
            return;
        }
        *last = Some(Instant::now());
        let what = match self.config.unavailable {
            Unavailable::Local => "counting on this node alone",
            Unavailable::Allow => "admitting every request",
            Unavailable::Deny => "refusing every limited request",
        };
        tracing::warn!(
            "counters: Redis at {} unavailable ({why}); {what} until it answers (--counters-unavailable)",
            crate::net::redacted_url(&self.config.url)
        );
    }
}

/// Where an authorizer answer cached under `key` lives in Redis.
fn authorizer_key(key: &str) -> String {
    format!("gw:authorizer:{key}")
}

impl Remote {
    /// An authorizer answer cached by any node (`None`: none, or Redis did not answer — the
    /// authorizer is asked, as on a miss).
    pub async fn cached_answer(&self, key: &str) -> Option<String> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("GET");
        cmd.arg(authorizer_key(key));
        let get = cmd.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(CHECK_TIMEOUT, get).await {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                self.say_fallback(&e.to_string());
                None
            }
            Err(_) => {
                self.say_fallback("no answer within 250 ms");
                None
            }
        }
    }

    /// Keeps an authorizer answer for every node, for `ttl`.
    pub async fn cache_answer(&self, key: &str, ttl: Duration, answer: String) {
        let mut conn = self.conn.clone();
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(authorizer_key(key))
            .arg(answer)
            .arg("PX")
            .arg(millis);
        let set = cmd.query_async::<()>(&mut conn);
        match tokio::time::timeout(CHECK_TIMEOUT, set).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.say_fallback(&e.to_string()),
            Err(_) => self.say_fallback("no answer within 250 ms"),
        }
    }
}

/// FlushStageAuthorizersCache for the answers kept in Redis: every key of the stage, deleted
/// (blocking; the management call runs it off the runtime). How many were deleted.
pub fn flush_authorizers(config: &Config, api_id: &str, stage: &str) -> Result<usize, String> {
    let client = redis::Client::open(config.url.as_str()).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
    // The key's own prefix, with the pattern's special characters escaped.
    let prefix = authorizer_key(&format!("{api_id}\u{1}{stage}\u{1}"));
    let mut pattern = String::new();
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('*');
    let mut cursor: u64 = 0;
    let mut deleted = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query(&mut conn)
            .map_err(|e| e.to_string())?;
        if !keys.is_empty() {
            let n: usize = redis::cmd("DEL")
                .arg(&keys)
                .query(&mut conn)
                .map_err(|e| e.to_string())?;
            deleted += n;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

/// When the quota period `utc` falls in ends (Unix seconds), plus a day, so a key outlives its
/// period only briefly.
fn period_end(period: Period, utc: chrono::DateTime<chrono::Utc>) -> i64 {
    use chrono::{Datelike, Duration as D, NaiveTime, TimeZone};
    let midnight = |d: chrono::NaiveDate| {
        chrono::Utc
            .from_utc_datetime(&d.and_time(NaiveTime::MIN))
            .timestamp()
    };
    let today = utc.date_naive();
    let end = match period {
        Period::Day => midnight(today + D::days(1)),
        Period::Week => {
            let days = 7 - i64::from(today.weekday().num_days_from_monday());
            midnight(today + D::days(days))
        }
        Period::Month => {
            let (y, m) = if today.month() == 12 {
                (today.year() + 1, 1)
            } else {
                (today.year(), today.month() + 1)
            };
            chrono::NaiveDate::from_ymd_opt(y, m, 1).map_or(utc.timestamp() + 32 * 86_400, midnight)
        }
    };
    end + 86_400
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn periods_end_at_the_next_utc_boundary_plus_a_day() {
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 12, 31, 23, 0, 0)
            .unwrap(); // a Thursday
        let at = |y, m, d| {
            chrono::Utc
                .with_ymd_and_hms(y, m, d, 0, 0, 0)
                .unwrap()
                .timestamp()
        };
        assert_eq!(period_end(Period::Day, t), at(2027, 1, 1) + 86_400);
        assert_eq!(period_end(Period::Week, t), at(2027, 1, 4) + 86_400);
        assert_eq!(period_end(Period::Month, t), at(2027, 1, 1) + 86_400);
        assert_eq!("deny".parse::<Unavailable>(), Ok(Unavailable::Deny));
        assert!("sometimes".parse::<Unavailable>().is_err());
    }
}
