//! VPC links: `vpc-link create | register | deregister | delete`, `vpc-links`.

use super::{store, JsonFlag};
use crate::output::{print_json, Table};
use anyhow::{anyhow, Result};
use clap::Subcommand;
use gw::control::links::{self, parse_duration_ms, NewLink};
use gw::model::HealthCheck;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum LinkCommand {
    /// Create a VPC link: the instances (HOST:PORT) behind integrations whose connectionType is
    /// VPC_LINK and connectionId names it (by id or name, or ${stageVariables.X}).
    Create {
        /// The link's name.
        name: String,
        /// A target, HOST:PORT (repeatable; a DNS name is connected to by name).
        #[arg(long = "target", value_name = "HOST:PORT")]
        targets: Vec<String>,
        /// round-robin (default), least-requests, hash:header:NAME or hash:ip.
        #[arg(long, value_name = "MODE")]
        balance: Option<String>,
        /// Health check: GET this path (default: a TCP connect).
        #[arg(long, value_name = "PATH")]
        health_path: Option<String>,
        /// How often each target is checked, like 5s or 500ms.
        #[arg(long, value_name = "DURATION", default_value = "5s")]
        health_interval: String,
        /// Passes in a row that make an unhealthy target healthy.
        #[arg(long, value_name = "N", default_value_t = 3)]
        healthy: u32,
        /// Failures in a row that make a healthy target unhealthy (checks, or refused connections).
        #[arg(long, value_name = "N", default_value_t = 2)]
        unhealthy: u32,
        /// How long one check may take.
        #[arg(long, value_name = "DURATION", default_value = "2s")]
        health_timeout: String,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Add a target to a link (or renew it); with --ttl it leaves the pool unless registered
    /// again within that time (a heartbeat).
    Register {
        /// The link (name or id).
        link: String,
        /// The target, HOST:PORT.
        address: String,
        /// Time to live, like 30s.
        #[arg(long, value_name = "DURATION")]
        ttl: Option<String>,
    },
    /// Remove a target from a link.
    Deregister {
        /// The link (name or id).
        link: String,
        /// The target, HOST:PORT.
        address: String,
    },
    /// Delete a VPC link.
    Delete {
        /// The link (name or id).
        link: String,
    },
}

fn duration(flag: &str, text: &str) -> Result<u64> {
    parse_duration_ms(text).ok_or_else(|| {
        anyhow!("--{flag} {text:?} is not a duration: write it like 5s, 500ms or 2m")
    })
}

pub fn link_command(state: &Option<PathBuf>, cmd: LinkCommand) -> Result<()> {
    let store = store(state)?;
    match cmd {
        LinkCommand::Create {
            name,
            targets,
            balance,
            health_path,
            health_interval,
            healthy,
            unhealthy,
            health_timeout,
            json,
        } => {
            let link = links::create_link(
                &store,
                NewLink {
                    name,
                    targets,
                    balance,
                    health: HealthCheck {
                        path: health_path,
                        interval_ms: duration("health-interval", &health_interval)?,
                        healthy,
                        unhealthy,
                        timeout_ms: duration("health-timeout", &health_timeout)?,
                    },
                    ..Default::default()
                },
            )?;
            if json.json {
                return print_json(&serde_json::to_value(&link)?);
            }
            outln!(
                "VPC link {} ({}) created with {} target(s); an integration uses it with connectionType VPC_LINK and connectionId {} (or {})",
                link.name,
                link.id,
                link.targets.len(),
                link.id,
                link.name
            );
        }
        LinkCommand::Register { link, address, ttl } => {
            let ttl = ttl.map(|t| duration("ttl", &t)).transpose()?;
            let l = links::register(&store, &link, &address, ttl)?;
            match ttl {
                Some(ms) => outln!(
                    "{address} registered in {} for {ms} ms: register it again before then to stay",
                    l.name
                ),
                None => outln!("{address} registered in {}", l.name),
            }
        }
        LinkCommand::Deregister { link, address } => {
            let l = links::deregister(&store, &link, &address)?;
            outln!("{address} deregistered from {}", l.name);
        }
        LinkCommand::Delete { link } => {
            let l = links::delete_link(&store, &link)?;
            outln!("deleted VPC link {} ({})", l.name, l.id);
        }
    }
    Ok(())
}

/// `gw vpc-links`: each link's targets, with the health and counts the running servers see.
pub fn list(state: &Option<PathBuf>, json: JsonFlag) -> Result<()> {
    let store = store(state)?;
    let all = links::links(&store)?;
    let (seen, _failed) = gw::server::peers::links(&store);
    let now_ms = chrono::Utc::now().timestamp_millis();
    // target → (healthy on every server, in flight, requests, failures), summed over servers.
    let runtime = |link: &str, address: &str| {
        let mut found = None::<(bool, u64, u64, u64)>;
        for (_, v) in &seen {
            let Some(items) = v["item"].as_array() else {
                continue;
            };
            for t in items
                .iter()
                .filter(|l| l["id"] == link)
                .flat_map(|l| l["targets"].as_array().into_iter().flatten())
                .filter(|t| t["address"] == address)
            {
                let e = found.get_or_insert((true, 0, 0, 0));
                e.0 &= t["healthy"].as_bool().unwrap_or(false);
                e.1 += t["inFlight"].as_u64().unwrap_or(0);
                e.2 += t["requests"].as_u64().unwrap_or(0);
                e.3 += t["failures"].as_u64().unwrap_or(0);
            }
        }
        found
    };
    if json.json {
        let items: Vec<_> = all
            .iter()
            .map(|l| {
                let targets: Vec<_> = l
                    .targets
                    .iter()
                    .filter(|t| t.expires_ms.is_none_or(|e| e > now_ms))
                    .map(|t| {
                        let r = runtime(&l.id, &t.address);
                        serde_json::json!({
                            "address": t.address,
                            "expiresMs": t.expires_ms,
                            "healthy": r.map(|r| r.0),
                            "inFlight": r.map(|r| r.1),
                            "requests": r.map(|r| r.2),
                            "failures": r.map(|r| r.3),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "id": l.id, "name": l.name, "balance": l.balance,
                    "health": l.health, "targets": targets,
                })
            })
            .collect();
        return print_json(&serde_json::json!({ "item": items }));
    }
    let mut t = Table::new(&[
        "LINK",
        "ID",
        "BALANCE",
        "TARGET",
        "HEALTH",
        "IN FLIGHT",
        "REQUESTS",
        "FAILURES",
    ]);
    for l in &all {
        for target in l
            .targets
            .iter()
            .filter(|t| t.expires_ms.is_none_or(|e| e > now_ms))
        {
            let r = runtime(&l.id, &target.address);
            t.row(vec![
                l.name.clone(),
                l.id.clone(),
                l.balance.clone(),
                target.address.clone(),
                match r {
                    Some((true, ..)) => "healthy".into(),
                    Some((false, ..)) => "unhealthy".into(),
                    None => "(no server)".into(),
                },
                r.map_or("-".into(), |r| r.1.to_string()),
                r.map_or("-".into(), |r| r.2.to_string()),
                r.map_or("-".into(), |r| r.3.to_string()),
            ]);
        }
    }
    if t.is_empty() {
        outln!("no VPC links yet: gw vpc-link create NAME --target HOST:PORT ...");
    } else {
        out!("{t}");
    }
    Ok(())
}
