//! Targets given by DNS name: resolved (a hosts-format file named by `GW_HOSTS` first, then the
//! system's resolver), expanded into one target per address, and the pools of plain integration
//! URIs' backend names.

use super::{Balance, Pool, Target};
use crate::model::{HealthCheck, LinkTarget};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// How often a target given by DNS name is resolved again.
pub const DNS_REFRESH: Duration = Duration::from_secs(1);

/// Whether a target's host is a DNS name (not an IP address).
pub fn is_name(address: &str) -> bool {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>().is_err()
}

/// Every address `name:port` resolves to (sorted), from `GW_HOSTS` first, else the system's
/// resolver; `None` when it does not resolve now (the last answer is kept).
pub(super) async fn resolve(name_port: &str) -> Option<Vec<String>> {
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
pub(super) const MAX_BACKEND_NAMES: usize = 1024;

/// The addresses a backend name is balanced over: its IPv4 ones when it has two or more, or only
/// IPv4 ones; else its IPv6 ones when it has only those; else (one IPv4 address and IPv6 ones, as
/// `localhost` has) none: the URI is connected to as before, trying each address in turn.
pub(super) fn balanced(addresses: &[String]) -> Option<Vec<String>> {
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
pub(super) fn name_pool(name_port: &str, addresses: Vec<String>, old: Option<&Arc<Pool>>) -> Pool {
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
pub(super) fn targets_for(
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
