//! VPC links at run time: each link's targets with their health and counts, kept across
//! snapshot reloads (a target keeps its state while its address stays in the link), the
//! balancing choice, and the health checks.
//!
//! - **Balancing** among the healthy targets: round robin, least outstanding requests, or a
//!   rendezvous hash of a header or the client address (a key stays on its target when another
//!   joins or leaves, unless it moves to the one that joined).
//! - **Active checks**, as a target group's: a GET of the health path (a TCP connect without
//!   one) every interval; healthy after `healthy` passes in a row, unhealthy after `unhealthy`
//!   failures in a row.
//! - **Passive checks**: a target that refuses connections or times out `unhealthy` times in a
//!   row is taken out at once; the active checks bring it back.
//! - **Fail open**: with no healthy target, every target takes traffic, as an NLB does; said in
//!   the log and counted.
//! - Registered targets with a time to live leave the pool when it passes unrenewed.
//! - **DNS names**: a target given by name is every address the name resolves to, re-resolved
//!   every [`DNS_REFRESH`] (the system resolver does not say a record's TTL); a file in hosts
//!   format named by `GW_HOSTS` answers first (how tests, and anyone, move a name without
//!   touching `/etc/hosts`).

use crate::gateway::snapshot::Snapshot;
use crate::model::{HealthCheck, LinkTarget};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
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
    healthy: AtomicBool,
    passes: AtomicU32,
    fails: AtomicU32,
    passive_fails: AtomicU32,
    pub in_flight: AtomicU32,
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    /// When the next active check is due.
    next_check: Mutex<Instant>,
}

impl Target {
    fn new(address: &str, expires_ms: Option<i64>) -> Target {
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

    fn live(&self, now_ms: i64) -> bool {
        self.expires_ms.is_none_or(|e| e > now_ms)
    }

    /// An active check's result.
    fn checked(&self, ok: bool, health: &HealthCheck, link: &str) {
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

/// How often a target given by DNS name is resolved again.
pub const DNS_REFRESH: Duration = Duration::from_secs(1);

/// One link's targets and settings.
#[derive(Debug)]
pub struct Pool {
    pub id: String,
    pub name: String,
    pub balance: Balance,
    pub health: HealthCheck,
    /// The targets as configured (names not yet resolved).
    configured: RwLock<Vec<LinkTarget>>,
    targets: RwLock<Arc<Vec<Arc<Target>>>>,
    rr: AtomicUsize,
    /// Requests sent to an unhealthy target because no target was healthy.
    pub failed_open: AtomicU64,
    last_fail_open_log: Mutex<Option<Instant>>,
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

/// Every link of a server, reconciled with the serving snapshot when it changes.
pub struct Links {
    /// The snapshot generation the pools follow (-1: none yet).
    generation: AtomicI64,
    pools: RwLock<HashMap<String, Arc<Pool>>>,
    reconciling: Mutex<()>,
    /// `name:port` → the addresses it resolved to last.
    resolved: RwLock<HashMap<String, Vec<String>>>,
    /// Backend names of plain integration URIs (`name:port`): a pool when the name resolves to
    /// two or more addresses of one family, `None` when the URI is connected to as it says.
    named: RwLock<HashMap<String, Option<Arc<Pool>>>>,
}

impl Default for Links {
    fn default() -> Links {
        Links {
            generation: AtomicI64::new(-1),
            pools: RwLock::new(HashMap::new()),
            reconciling: Mutex::new(()),
            resolved: RwLock::new(HashMap::new()),
            named: RwLock::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Links")
    }
}

impl Links {
    /// The link with this id or name, as `snapshot` has it.
    pub fn pool(&self, snapshot: &Snapshot, id_or_name: &str) -> Option<Arc<Pool>> {
        self.reconcile(snapshot);
        let pools = self.pools.read().unwrap_or_else(|p| p.into_inner());
        pools.get(id_or_name).cloned().or_else(|| {
            let mut named = pools.values().filter(|p| p.name == id_or_name);
            match (named.next(), named.next()) {
                (Some(p), None) => Some(p.clone()),
                _ => None,
            }
        })
    }

    /// Every link now.
    pub fn all(&self, snapshot: &Snapshot) -> Vec<Arc<Pool>> {
        self.reconcile(snapshot);
        let mut all: Vec<Arc<Pool>> = self
            .pools
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Brings the pools in line with the snapshot's links (once per snapshot generation): a
    /// target whose address stays keeps its state.
    pub fn reconcile(&self, snapshot: &Snapshot) {
        // Only forward: a request still on an older snapshot never turns the pools back.
        if self.generation.load(Ordering::Acquire) >= snapshot.generation {
            return;
        }
        let _one = self.reconciling.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) >= snapshot.generation {
            return;
        }
        let resolved = self.resolved.read().unwrap_or_else(|p| p.into_inner());
        let mut pools = self.pools.write().unwrap_or_else(|p| p.into_inner());
        let mut next: HashMap<String, Arc<Pool>> = HashMap::new();
        for link in &snapshot.vpc_links {
            let old = pools.get(&link.id);
            let pool = match old {
                Some(p)
                    if p.balance == Balance::parse(&link.balance)
                        && p.health == link.health
                        && p.name == link.name =>
                {
                    *p.configured.write().unwrap_or_else(|e| e.into_inner()) = link.targets.clone();
                    *p.targets.write().unwrap_or_else(|e| e.into_inner()) =
                        Arc::new(targets_for(&link.targets, Some(&p.targets()), &resolved));
                    p.clone()
                }
                _ => Arc::new(Pool {
                    id: link.id.clone(),
                    name: link.name.clone(),
                    balance: Balance::parse(&link.balance),
                    health: link.health.clone(),
                    configured: RwLock::new(link.targets.clone()),
                    targets: RwLock::new(Arc::new(targets_for(
                        &link.targets,
                        old.map(|p| p.targets()).as_ref(),
                        &resolved,
                    ))),
                    rr: AtomicUsize::new(0),
                    failed_open: AtomicU64::new(0),
                    last_fail_open_log: Mutex::new(None),
                }),
            };
            next.insert(link.id.clone(), pool);
        }
        *pools = next;
        self.generation
            .store(snapshot.generation, Ordering::Release);
    }

    /// The pool a plain integration URI's backend `name:port` is balanced over: its addresses of
    /// one family (see [`balanced`]); `None`, to connect as the URI says (a name that does not
    /// resolve, or one IPv4 address beside IPv6 ones, as `localhost` has). Resolved on first
    /// use, then every [`DNS_REFRESH`] by the health thread.
    pub async fn backend_name(&self, name_port: &str) -> Option<Arc<Pool>> {
        {
            let named = self.named.read().unwrap_or_else(|p| p.into_inner());
            if let Some(known) = named.get(name_port) {
                return known.clone();
            }
            if named.len() >= MAX_BACKEND_NAMES {
                return None;
            }
        }
        let addresses = resolve(name_port).await;
        let pool = balanced(addresses.as_deref().unwrap_or_default())
            .map(|set| Arc::new(name_pool(name_port, set, None)));
        self.named
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name_port.to_string())
            .or_insert(pool)
            .clone()
    }

    /// The backend-name pools now (for the health checks).
    fn backend_pools(&self) -> Vec<Arc<Pool>> {
        self.named
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .flatten()
            .cloned()
            .collect()
    }

    /// Resolves the backend names of plain URIs again: a pool follows its name's addresses.
    async fn refresh_backend_names(&self) {
        let names: Vec<String> = self
            .named
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        for name in names {
            let Some(addresses) = resolve(&name).await else {
                continue;
            };
            let set = balanced(&addresses);
            let mut named = self.named.write().unwrap_or_else(|p| p.into_inner());
            let Some(entry) = named.get_mut(&name) else {
                continue;
            };
            let now: Vec<String> = entry
                .as_ref()
                .map(|p| p.targets().iter().map(|t| t.address.clone()).collect())
                .unwrap_or_default();
            let next = set.clone().unwrap_or_default();
            if now == next {
                continue;
            }
            tracing::info!(
                "backend {name} now resolves to {}; {}",
                addresses.join(", "),
                if next.is_empty() {
                    "connecting as the URI says".to_string()
                } else {
                    format!("balancing over {}", next.join(", "))
                }
            );
            *entry = set.map(|set| Arc::new(name_pool(&name, set, entry.as_ref())));
        }
    }

    /// Resolves every target given by name again; a pool whose names now mean other addresses
    /// gets its new targets (those whose address stays keep their state).
    pub async fn refresh_names(&self) {
        let names: Vec<String> = {
            let pools = self.pools.read().unwrap_or_else(|p| p.into_inner());
            let mut names: Vec<String> = pools
                .values()
                .flat_map(|p| {
                    p.configured
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .clone()
                })
                .filter(|t| is_name(&t.address))
                .map(|t| t.address)
                .collect();
            names.sort();
            names.dedup();
            names
        };
        let mut changed = false;
        for name in names {
            let Some(addresses) = resolve(&name).await else {
                continue;
            };
            let mut resolved = self.resolved.write().unwrap_or_else(|p| p.into_inner());
            if resolved.get(&name) != Some(&addresses) {
                tracing::info!(
                    "VPC link target {name} now resolves to {}",
                    addresses.join(", ")
                );
                resolved.insert(name, addresses);
                changed = true;
            }
        }
        if changed {
            let resolved = self.resolved.read().unwrap_or_else(|p| p.into_inner());
            for pool in self
                .pools
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .values()
            {
                let configured = pool
                    .configured
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let old = pool.targets();
                *pool.targets.write().unwrap_or_else(|e| e.into_inner()) =
                    Arc::new(targets_for(&configured, Some(&old), &resolved));
            }
        }
    }
}

/// Whether a target's host is a DNS name (not an IP address).
pub fn is_name(address: &str) -> bool {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>().is_err()
}

/// Every address `name:port` resolves to (sorted), from `GW_HOSTS` first, else the system's
/// resolver; `None` when it does not resolve now (the last answer is kept).
async fn resolve(name_port: &str) -> Option<Vec<String>> {
    let (name, port) = name_port.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    if let Ok(path) = std::env::var("GW_HOSTS") {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let mut found: Vec<String> = text
                .lines()
                .map(|l| l.split('#').next().unwrap_or(""))
                .filter_map(|l| {
                    let mut words = l.split_whitespace();
                    let ip: std::net::IpAddr = words.next()?.parse().ok()?;
                    words
                        .any(|w| w.eq_ignore_ascii_case(name))
                        .then(|| std::net::SocketAddr::new(ip, port).to_string())
                })
                .collect();
            if !found.is_empty() {
                found.sort();
                found.dedup();
                return Some(found);
            }
        }
    }
    let lookup = tokio::time::timeout(Duration::from_secs(2), tokio::net::lookup_host(name_port));
    let mut found: Vec<String> = lookup.await.ok()?.ok()?.map(|a| a.to_string()).collect();
    if found.is_empty() {
        return None;
    }
    found.sort();
    found.dedup();
    Some(found)
}

/// Most backend names of plain URIs kept (each a deployment's integration host).
const MAX_BACKEND_NAMES: usize = 1024;

/// The addresses a backend name is balanced over: its IPv4 ones when it has two or more, or only
/// IPv4 ones; else its IPv6 ones when it has only those; else (one IPv4 address and IPv6 ones, as
/// `localhost` has) none: the URI is connected to as before, trying each address in turn.
fn balanced(addresses: &[String]) -> Option<Vec<String>> {
    let family = |v4: bool| -> Vec<String> {
        addresses
            .iter()
            .filter(|a| {
                a.parse::<std::net::SocketAddr>()
                    .is_ok_and(|s| s.is_ipv4() == v4)
            })
            .cloned()
            .collect()
    };
    let (v4, v6) = (family(true), family(false));
    if v4.len() >= 2 || (!v4.is_empty() && v6.is_empty()) {
        Some(v4)
    } else if v4.is_empty() && !v6.is_empty() {
        Some(v6)
    } else {
        None
    }
}

/// The pool of a backend name: round robin, TCP checks at the default interval, keeping the
/// state of `old`'s targets whose address stays.
fn name_pool(name_port: &str, addresses: Vec<String>, old: Option<&Arc<Pool>>) -> Pool {
    let configured = vec![LinkTarget {
        address: name_port.to_string(),
        expires_ms: None,
    }];
    let resolved = HashMap::from([(name_port.to_string(), addresses)]);
    let targets = targets_for(&configured, old.map(|p| p.targets()).as_ref(), &resolved);
    Pool {
        id: name_port.to_string(),
        name: name_port.to_string(),
        balance: Balance::RoundRobin,
        health: HealthCheck::default(),
        configured: RwLock::new(configured),
        targets: RwLock::new(Arc::new(targets)),
        rr: AtomicUsize::new(0),
        failed_open: AtomicU64::new(0),
        last_fail_open_log: Mutex::new(None),
    }
}

/// A link's targets — a name stands for every address it resolved to — keeping the state of
/// those `old` already had.
fn targets_for(
    configured: &[LinkTarget],
    old: Option<&Arc<Vec<Arc<Target>>>>,
    resolved: &HashMap<String, Vec<String>>,
) -> Vec<Arc<Target>> {
    let expanded: Vec<LinkTarget> = configured
        .iter()
        .flat_map(|t| match resolved.get(&t.address) {
            Some(addresses) => addresses
                .iter()
                .map(|a| LinkTarget {
                    address: a.clone(),
                    expires_ms: t.expires_ms,
                })
                .collect(),
            None => vec![t.clone()],
        })
        .collect();
    expanded
        .iter()
        .map(|t| {
            match old.and_then(|o| {
                o.iter()
                    .find(|o| o.address == t.address && o.expires_ms == t.expires_ms)
            }) {
                Some(kept) => kept.clone(),
                None => {
                    let new = Target::new(&t.address, t.expires_ms);
                    // A renewed registration keeps the health it had.
                    if let Some(prev) = old.and_then(|o| o.iter().find(|o| o.address == t.address))
                    {
                        new.healthy.store(prev.is_healthy(), Ordering::Relaxed);
                        new.requests
                            .store(prev.requests.load(Ordering::Relaxed), Ordering::Relaxed);
                        new.failures
                            .store(prev.failures.load(Ordering::Relaxed), Ordering::Relaxed);
                    }
                    Arc::new(new)
                }
            }
        })
        .collect()
}

/// One active check of `target`: a TCP connect, then (with a path) a GET answered 2xx or 3xx.
async fn check(target: &str, health: &HealthCheck) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeout = Duration::from_millis(health.timeout_ms);
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(target).await.ok()?;
        let Some(path) = &health.path else {
            return Some(true);
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: gw-health-check\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 64];
        let mut n = 0;
        while n < 12 {
            let read = stream.read(&mut head[n..]).await.ok()?;
            if read == 0 {
                break;
            }
            n += read;
        }
        let line = std::str::from_utf8(&head[..n]).ok()?;
        let code: u16 = line.get(9..12)?.parse().ok()?;
        Some((200..400).contains(&code))
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}

/// Runs the active health checks of every link until `stop`, on a thread of its own.
pub fn spawn_checks(
    links: Arc<Links>,
    snapshot: impl Fn() -> Arc<Snapshot> + Send + 'static,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("gw-health".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                tracing::error!("health checks: cannot start their runtime");
                return;
            };
            rt.block_on(async move {
                let mut names_due = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    if now >= names_due {
                        links.reconcile(&snapshot());
                        links.refresh_names().await;
                        links.refresh_backend_names().await;
                        names_due = now + DNS_REFRESH;
                    }
                    let mut pools = links.all(&snapshot());
                    pools.extend(links.backend_pools());
                    for pool in pools {
                        for target in pool.targets().iter() {
                            {
                                let mut due =
                                    target.next_check.lock().unwrap_or_else(|p| p.into_inner());
                                if *due > now {
                                    continue;
                                }
                                *due = now + Duration::from_millis(pool.health.interval_ms);
                            }
                            let (pool, target) = (pool.clone(), target.clone());
                            tokio::spawn(async move {
                                let ok = check(&target.address, &pool.health).await;
                                target.checked(ok, &pool.health, &pool.name);
                            });
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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
