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

mod health;
mod names;
mod pool;

pub use health::spawn_checks;
pub use names::{is_name, DNS_REFRESH};
pub use pool::{Balance, Pool, Target};

use crate::gateway::snapshot::Snapshot;
use names::{balanced, name_pool, resolve, targets_for, MAX_BACKEND_NAMES};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

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
