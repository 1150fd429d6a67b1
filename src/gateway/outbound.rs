//! Orchestration as code: what a function's outgoing HTTP requests (`wasi:http/outgoing-handler`)
//! can reach. A function put with `--allow-http` lists VPC links (by name or id) and `HOST:PORT`s;
//! each request the guest makes is routed here before any connection is made:
//!
//! - `http://LINK/...` (a listed link's name or id as the host, no port) goes to a target the
//!   link picks, by its balancing mode, counted in the link's metrics and its passive health;
//! - `http(s)://HOST:PORT/...` goes there when `HOST:PORT` is listed (the scheme's default port
//!   counts: `https://api.example.com/` is `api.example.com:443`);
//! - anything else is refused inside the sandbox (`HTTP-request-denied` to the guest, a line in
//!   gw's log naming the function and the fix).

use crate::gateway::links::{Links, Pool, Target};
use crate::gateway::snapshot::Snapshot;
use crate::wasm::{Outbound, OutboundPolicy, Route};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What the functions invoked for one request can reach (the server's links as its snapshot has
/// them), and the snapshot's functions themselves.
#[derive(Clone, Copy)]
pub struct Reach<'l, 's> {
    pub links: &'l Links,
    pub snapshot: &'s Snapshot,
}

impl Reach<'_, '_> {
    /// The outbound policy for a function whose settings list `allowed` (none: nothing).
    pub fn outbound(&self, function: &str, allowed: &[String]) -> Outbound {
        if allowed.is_empty() {
            return Outbound::default();
        }
        let mut links = Vec::new();
        let mut hosts = Vec::new();
        for entry in allowed {
            match host_port(entry) {
                Some(hp) => hosts.push(hp),
                None => links.push((
                    entry.to_ascii_lowercase(),
                    self.links.pool(self.snapshot, entry),
                )),
            }
        }
        Outbound::new(Arc::new(AllowList {
            function: function.to_string(),
            links,
            hosts,
        }))
    }
}

/// `HOST:PORT` (host lower-cased, IPv6 without brackets) when the entry is one, else `None` (a
/// link's name or id).
fn host_port(entry: &str) -> Option<(String, u16)> {
    let (host, port) = entry.rsplit_once(':')?;
    let port = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_ascii_lowercase(), port))
}

struct AllowList {
    function: String,
    /// Listed links, lower-cased as listed, with the pool (`None`: no such link now).
    links: Vec<(String, Option<Arc<Pool>>)>,
    hosts: Vec<(String, u16)>,
}

impl OutboundPolicy for AllowList {
    fn route(&self, method: &http::Method, host: &str, port: u16, https: bool) -> Option<Route> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if self.hosts.iter().any(|(h, p)| h == host && *p == port) {
            return Some(Route {
                connect: None,
                done: None,
            });
        }
        let default_port = if https { 443 } else { 80 };
        let listed = self.links.iter().find(|(name, pool)| {
            port == default_port
                && (name == host
                    || pool
                        .as_ref()
                        .is_some_and(|p| p.id.eq_ignore_ascii_case(host)))
        });
        match listed {
            Some((_, Some(pool))) if !https => {
                let Some(target) = pool.pick(None, None) else {
                    tracing::warn!(
                        target: "gw::function",
                        "function {}: {method} http://{host}/: VPC link {} has no targets",
                        self.function,
                        pool.name
                    );
                    return None;
                };
                Some(route_to(pool.clone(), target))
            }
            Some((_, Some(pool))) => {
                tracing::warn!(
                    target: "gw::function",
                    "function {}: {method} https://{host}/ refused: VPC link {} is reached over http:// (its targets speak plain HTTP)",
                    self.function,
                    pool.name
                );
                None
            }
            Some((name, None)) => {
                tracing::warn!(
                    target: "gw::function",
                    "function {}: {method} {host} refused: VPC link {name:?} does not exist (gw vpc-link create {name} --target HOST:PORT)",
                    self.function
                );
                None
            }
            None => {
                tracing::warn!(
                    target: "gw::function",
                    "function {}: outgoing {method} to {host}:{port} refused: not allowed (gw function put {} FILE --allow-http {host}:{port})",
                    self.function,
                    self.function
                );
                None
            }
        }
    }
}

/// A request through `pool` to `target`: counted as the link's other requests are, its
/// connection's outcome fed to the target's passive health.
fn route_to(pool: Arc<Pool>, target: Arc<Target>) -> Route {
    target.requests.fetch_add(1, Ordering::Relaxed);
    let flight = Flight::start(target);
    Route {
        connect: Some(flight.0.address.clone()),
        done: Some(Box::new(move |ok| {
            flight.0.connected(ok, &pool.health, &pool.name);
            drop(flight);
        })),
    }
}

/// One request in flight to a target, counted out when it ends — or when it is dropped unsent
/// (the guest gave up on it, timed out or trapped).
struct Flight(Arc<Target>);

impl Flight {
    fn start(target: Arc<Target>) -> Flight {
        target.in_flight.fetch_add(1, Ordering::Relaxed);
        Flight(target)
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
