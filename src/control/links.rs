//! VPC links (CreateVpcLink, `gw vpc-link create | register | deregister | delete`,
//! `gw vpc-links`): their targets, balancing mode and health check, checked here; targets
//! registered at run time with a time to live, renewed by registering again.

use super::{invalid, not_found, Result};
use crate::model::{HealthCheck, LinkTarget, VpcLink};
use crate::store::{self, Store, StoreError};
use std::collections::BTreeMap;

pub const NO_LINK: &str = "Invalid VPC link identifier specified";

/// What a new link is made of.
#[derive(Debug, Default)]
pub struct NewLink {
    pub name: String,
    pub description: Option<String>,
    pub target_arns: Vec<String>,
    pub targets: Vec<String>,
    pub balance: Option<String>,
    pub health: HealthCheck,
    pub tags: BTreeMap<String, String>,
}

/// A target address: `host:port` with a port (an IPv6 address in brackets).
pub fn valid_target(address: &str) -> bool {
    let Some((host, port)) = address.rsplit_once(':') else {
        return false;
    };
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    };
    host_ok && port.parse::<u16>().is_ok_and(|p| p != 0)
}

/// A balancing mode gw knows.
pub fn valid_balance(mode: &str) -> bool {
    matches!(mode, "round-robin" | "least-requests" | "hash:ip")
        || mode
            .strip_prefix("hash:header:")
            .is_some_and(|h| http::HeaderName::from_bytes(h.as_bytes()).is_ok())
}

fn check(link: &VpcLink) -> Result<()> {
    if link.name.trim().is_empty() {
        return Err(invalid("A VPC link needs a name"));
    }
    for t in &link.targets {
        if !valid_target(&t.address) {
            return Err(invalid(format!(
                "Invalid target {:?}: give HOST:PORT, such as 127.0.0.1:8080 or svc.local:80",
                t.address
            )));
        }
    }
    if !valid_balance(&link.balance) {
        return Err(invalid(format!(
            "Invalid balancing mode {:?}: use round-robin, least-requests, hash:header:NAME or hash:ip",
            link.balance
        )));
    }
    let h = &link.health;
    if let Some(p) = &h.path {
        if !p.starts_with('/') {
            return Err(invalid(format!(
                "Invalid health path {p:?}: it starts with /"
            )));
        }
    }
    if h.interval_ms < 100 || h.timeout_ms == 0 || h.healthy == 0 || h.unhealthy == 0 {
        return Err(invalid(
            "Invalid health check: the interval is at least 100ms, the timeout and the healthy and unhealthy counts at least 1",
        ));
    }
    Ok(())
}

pub fn create_link(store: &Store, new: NewLink) -> Result<VpcLink> {
    let link = VpcLink {
        id: crate::aws::ids::short(),
        name: new.name.trim().to_string(),
        description: new.description.filter(|d| !d.is_empty()),
        target_arns: new.target_arns,
        targets: new
            .targets
            .into_iter()
            .map(|address| LinkTarget {
                address,
                expires_ms: None,
            })
            .collect(),
        balance: new.balance.unwrap_or_else(|| "round-robin".into()),
        health: new.health,
        created_date: store::now(),
        tags: new.tags,
    };
    check(&link)?;
    Ok(store.write(|tx| {
        if tx.vpc_links()?.iter().any(|l| l.name == link.name) {
            return Err(StoreError::Conflict(format!(
                "a VPC link named {} already exists",
                link.name
            )));
        }
        tx.put_vpc_link(&link)?;
        Ok(link)
    })?)
}

pub fn links(store: &Store) -> Result<Vec<VpcLink>> {
    Ok(store.read(|tx| tx.vpc_links())?)
}

fn find(links: Vec<VpcLink>, id_or_name: &str) -> Option<VpcLink> {
    let mut by_id = None;
    let mut by_name = Vec::new();
    for l in links {
        if l.id == id_or_name {
            by_id = Some(l);
        } else if l.name == id_or_name {
            by_name.push(l);
        }
    }
    by_id.or_else(|| (by_name.len() == 1).then(|| by_name.remove(0)))
}

pub fn find_link(store: &Store, id_or_name: &str) -> Result<VpcLink> {
    find(links(store)?, id_or_name).ok_or_else(|| not_found(NO_LINK))
}

/// Runs `edit` on a link (by id or name), checks and stores the result.
pub fn edit_link<T: Send>(
    store: &Store,
    id_or_name: &str,
    edit: impl FnOnce(&mut VpcLink) -> std::result::Result<T, StoreError> + Send,
) -> Result<(VpcLink, T)> {
    let mut refused = None;
    let done = store.write(|tx| {
        let mut link = find(tx.vpc_links()?, id_or_name)
            .ok_or_else(|| StoreError::NotFound(NO_LINK.into()))?;
        let out = edit(&mut link)?;
        if let Err(e) = check(&link) {
            refused = Some(e);
            return Err(StoreError::Invalid(String::new()));
        }
        tx.put_vpc_link(&link)?;
        Ok((link, out))
    });
    if let Some(e) = refused {
        return Err(e);
    }
    Ok(done?)
}

/// Adds (or renews) a target; with `ttl_ms` it is gone that long after unless registered again.
pub fn register(store: &Store, link: &str, address: &str, ttl_ms: Option<u64>) -> Result<VpcLink> {
    if !valid_target(address) {
        return Err(invalid(format!(
            "Invalid target {address:?}: give HOST:PORT, such as 127.0.0.1:8080"
        )));
    }
    let expires_ms = ttl_ms.map(|t| chrono::Utc::now().timestamp_millis() + t as i64);
    Ok(edit_link(store, link, |l| {
        l.targets.retain(|t| t.address != address);
        l.targets.push(LinkTarget {
            address: address.to_string(),
            expires_ms,
        });
        Ok(())
    })?
    .0)
}

pub fn deregister(store: &Store, link: &str, address: &str) -> Result<VpcLink> {
    Ok(edit_link(store, link, |l| {
        let before = l.targets.len();
        l.targets.retain(|t| t.address != address);
        if l.targets.len() == before {
            return Err(StoreError::NotFound(format!(
                "{address} is not a target of this VPC link"
            )));
        }
        Ok(())
    })?
    .0)
}

pub fn delete_link(store: &Store, id_or_name: &str) -> Result<VpcLink> {
    Ok(store.write(|tx| {
        let link = find(tx.vpc_links()?, id_or_name)
            .ok_or_else(|| StoreError::NotFound(NO_LINK.into()))?;
        tx.delete_vpc_link(&link.id)?;
        Ok(link)
    })?)
}

/// `30s`, `500ms`, `2m`, `1h` → milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_modes_and_durations_are_checked() {
        assert!(valid_target("127.0.0.1:8080"));
        assert!(valid_target("svc.local:80"));
        assert!(valid_target("[::1]:9000"));
        assert!(!valid_target("127.0.0.1"));
        assert!(!valid_target("host:0"));
        assert!(!valid_target("a b:80"));
        assert!(valid_balance("hash:header:x-user"));
        assert!(!valid_balance("hash:header:bad header"));
        assert!(!valid_balance("random"));
        assert_eq!(parse_duration_ms("30s"), Some(30_000));
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("2m"), Some(120_000));
        assert_eq!(parse_duration_ms("5"), None);
        assert_eq!(parse_duration_ms("s"), None);
    }
}
