//! One link's targets and how a request picks one: the balancing modes, each target's health
//! (active and passive) and counts, fail open.

use crate::model::{HealthCheck, LinkTarget};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How a link chooses among its healthy targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    LeastRequests,
    HashHeader(http::HeaderName),
    HashIp,
}

impl std::fmt::Display for Balance {
    /// The mode as `--balance` takes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Balance::RoundRobin => f.write_str("round-robin"),
            Balance::LeastRequests => f.write_str("least-requests"),
            Balance::HashHeader(h) => write!(f, "hash:header:{h}"),
            Balance::HashIp => f.write_str("hash:ip"),
        }
    }
}

impl Balance {
    pub fn parse(mode: &str) -> Balance {
        match mode {
            "least-requests" => Balance::LeastRequests,
            "hash:ip" => Balance::HashIp,
            m => match m
                .strip_prefix("hash:header:")
                .and_then(|h| http::HeaderName::from_bytes(h.as_bytes()).ok())
            {
                Some(h) => Balance::HashHeader(h),
                None => Balance::RoundRobin,
            },
        }
    }
}

/// One target and what is known of it.
#[derive(Debug)]
pub struct Target {
    /// `host:port` to connect to.
    pub address: String,
    /// Epoch ms after which a registration not renewed is gone.
    pub expires_ms: Option<i64>,
    pub(super) healthy: AtomicBool,
    pub(super) passes: AtomicU32,
    pub(super) fails: AtomicU32,
    pub(super) passive_fails: AtomicU32,
    pub in_flight: AtomicU32,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    /// When the next active check is due.
    pub(super) next_check: Mutex<Instant>,
}

impl Target {
    pub(super) fn new(address: &str, expires_ms: Option<i64>) -> Target {
        Target {
            address: address.to_string(),
            expires_ms,
            // A new target takes traffic at once; its checks take it out if it is down.
            healthy: AtomicBool::new(true),
            passes: AtomicU32::new(0),
            fails: AtomicU32::new(0),
            passive_fails: AtomicU32::new(0),
            in_flight: AtomicU32::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            next_check: Mutex::new(Instant::now()),
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub(super) fn live(&self, now_ms: i64) -> bool {
        self.expires_ms.is_none_or(|e| e > now_ms)
    }

    /// An active check's result.
    pub(super) fn checked(&self, ok: bool, health: &HealthCheck, link: &str) {
        if ok {
            self.fails.store(0, Ordering::Relaxed);
            let passes = self.passes.fetch_add(1, Ordering::Relaxed) + 1;
            if !self.is_healthy() && passes >= health.healthy {
                self.passive_fails.store(0, Ordering::Relaxed);
                self.healthy.store(true, Ordering::Relaxed);
                tracing::info!("VPC link {link}: target {} is healthy again", self.address);
            }
        } else {
            self.passes.store(0, Ordering::Relaxed);
            let fails = self.fails.fetch_add(1, Ordering::Relaxed) + 1;
            if self.is_healthy() && fails >= health.unhealthy {
                self.healthy.store(false, Ordering::Relaxed);
                tracing::warn!(
                    "VPC link {link}: target {} is unhealthy ({fails} failed health checks)",
                    self.address
                );
            }
        }
    }

    /// A request's connection outcome: a refused or timed-out connection counts toward taking
    /// the target out at once.
    pub fn connected(&self, ok: bool, health: &HealthCheck, link: &str) {
        if ok {
            self.passive_fails.store(0, Ordering::Relaxed);
            return;
        }
        self.failures.fetch_add(1, Ordering::Relaxed);
        let fails = self.passive_fails.fetch_add(1, Ordering::Relaxed) + 1;
        if self.is_healthy() && fails >= health.unhealthy {
            self.healthy.store(false, Ordering::Relaxed);
            self.passes.store(0, Ordering::Relaxed);
            tracing::warn!(
                "VPC link {link}: target {} taken out after {fails} failed connections",
                self.address
            );
        }
    }
}

/// One link's targets and settings.
#[derive(Debug)]
pub struct Pool {
    pub id: String,
    pub name: String,
    pub balance: Balance,
    pub health: HealthCheck,
    /// The targets as configured (names not yet resolved).
    pub(super) configured: RwLock<Vec<LinkTarget>>,
    pub(super) targets: RwLock<Arc<Vec<Arc<Target>>>>,
    pub(super) rr: AtomicUsize,
    /// Requests sent to an unhealthy target because no target was healthy.
    pub failed_open: AtomicU64,
    pub(super) last_fail_open_log: Mutex<Option<Instant>>,
}

impl Pool {
    pub fn targets(&self) -> Arc<Vec<Arc<Target>>> {
        self.targets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The target for a request: among the healthy ones (every one, failing open, when none
    /// is), by the link's mode; `key` is the hash key (a header's value or the client address),
    /// `avoid` a target that just failed.
    pub fn pick(&self, key: Option<&[u8]>, avoid: Option<&Target>) -> Option<Arc<Target>> {
        let all = self.targets();
        let now_ms = chrono::Utc::now().timestamp_millis();
        let usable = |t: &&Arc<Target>| {
            t.live(now_ms) && avoid.is_none_or(|a| !std::ptr::eq(a, Arc::as_ptr(t)))
        };
        let mut set: Vec<&Arc<Target>> = all
            .iter()
            .filter(usable)
            .filter(|t| t.is_healthy())
            .collect();
        if set.is_empty() {
            set = all.iter().filter(usable).collect();
            if set.is_empty() {
                return None;
            }
            self.failed_open.fetch_add(1, Ordering::Relaxed);
            let mut last = self
                .last_fail_open_log
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if last.is_none_or(|l| l.elapsed() > Duration::from_secs(5)) {
                *last = Some(Instant::now());
                tracing::warn!(
                    "VPC link {}: no healthy target; sending to all {} (fail open, as a load balancer does)",
                    self.name,
                    set.len()
                );
            }
        }
        let chosen = match (&self.balance, key) {
            (Balance::HashHeader(_) | Balance::HashIp, Some(key)) => set
                .iter()
                .max_by_key(|t| rendezvous(key, &t.address))
                .copied(),
            (Balance::LeastRequests, _) => {
                let start = self.rr.fetch_add(1, Ordering::Relaxed);
                (0..set.len())
                    .map(|i| set[(start + i) % set.len()])
                    .min_by_key(|t| t.in_flight.load(Ordering::Relaxed))
            }
            _ => {
                let i = self.rr.fetch_add(1, Ordering::Relaxed);
                Some(set[i % set.len()])
            }
        };
        chosen.cloned()
    }
}

/// The rendezvous (highest random weight) score of `key` on `target`.
fn rendezvous(key: &[u8], target: &str) -> u64 {
    // FNV-1a over both, then a 64-bit finaliser (splitmix) to spread close inputs.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.iter().chain([0xffu8].iter()).chain(target.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pool(balance: &str, addresses: &[&str]) -> Pool {
        Pool {
            id: "l1".into(),
            name: "l".into(),
            balance: Balance::parse(balance),
            health: HealthCheck::default(),
            configured: RwLock::new(Vec::new()),
            targets: RwLock::new(Arc::new(
                addresses
                    .iter()
                    .map(|a| Arc::new(Target::new(a, None)))
                    .collect(),
            )),
            rr: AtomicUsize::new(0),
            failed_open: AtomicU64::new(0),
            last_fail_open_log: Mutex::new(None),
        }
    }

    #[test]
    fn round_robin_is_even_and_skips_the_unhealthy_until_none_is_left() {
        let p = pool("round-robin", &["a:1", "b:1", "c:1"]);
        let mut counts: HashMap<String, usize> = HashMap::new();
        for _ in 0..3000 {
            *counts
                .entry(p.pick(None, None).unwrap().address.clone())
                .or_default() += 1;
        }
        assert!(counts.values().all(|n| *n == 1000), "{counts:?}");
        for t in p.targets().iter().take(2) {
            t.healthy.store(false, Ordering::Relaxed);
        }
        assert!((0..10).all(|_| p.pick(None, None).unwrap().address == "c:1"));
        p.targets()[2].healthy.store(false, Ordering::Relaxed);
        assert!(p.pick(None, None).is_some(), "fails open");
        assert!(p.failed_open.load(Ordering::Relaxed) > 0);
    }

    #[test]
    fn a_hash_key_stays_on_its_target_unless_it_moves_to_a_new_one() {
        let three = pool("hash:header:x-user", &["a:1", "b:1", "c:1"]);
        let four = pool("hash:header:x-user", &["a:1", "b:1", "c:1", "d:1"]);
        let mut moved = 0;
        for k in 0..100 {
            let key = format!("user-{k}");
            let before = three
                .pick(Some(key.as_bytes()), None)
                .unwrap()
                .address
                .clone();
            let after = four
                .pick(Some(key.as_bytes()), None)
                .unwrap()
                .address
                .clone();
            if before != after {
                assert_eq!(after, "d:1", "a key moves only to the new target");
                moved += 1;
            }
        }
        // About a quarter moves (rendezvous hashing); a wide tolerance for 100 keys.
        assert!((10..=45).contains(&moved), "{moved} of 100 keys moved");
    }

    #[test]
    fn least_requests_prefers_the_idle_target_and_checks_flip_health() {
        let p = pool("least-requests", &["a:1", "b:1"]);
        p.targets()[0].in_flight.store(5, Ordering::Relaxed);
        assert_eq!(p.pick(None, None).unwrap().address, "b:1");
        let h = HealthCheck::default();
        let t = &p.targets()[1];
        t.checked(false, &h, "l");
        assert!(t.is_healthy(), "one failure is not enough");
        t.checked(false, &h, "l");
        assert!(!t.is_healthy());
        for _ in 0..2 {
            t.checked(true, &h, "l");
        }
        assert!(!t.is_healthy(), "two passes are not enough");
        t.checked(true, &h, "l");
        assert!(t.is_healthy());
        t.connected(false, &h, "l");
        t.connected(false, &h, "l");
        assert!(!t.is_healthy(), "refused connections take it out at once");
    }
}
