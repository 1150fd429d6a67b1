//! Custom domain names and their base-path mappings (CreateDomainName and
//! CreateBasePathMapping, `gw domain create | map | unmap | delete`, `gw domains`): a domain's
//! own certificate and key are checked to go together, a truststore to hold certificates, a
//! mapping to name an existing API and stage.

use super::{invalid, not_found, Result};
use crate::model::{BasePathMapping, DomainName};
use crate::store::{self, Store, StoreError};
use std::collections::BTreeMap;

pub const NO_DOMAIN: &str = "Invalid domain name identifier specified";
pub const NO_MAPPING: &str = "Invalid base path mapping identifier specified";

/// What a new domain is made of.
#[derive(Debug, Default)]
pub struct NewDomain {
    pub name: String,
    /// Certificate chain and private key (PEM).
    pub certificate: Option<(String, String)>,
    pub certificate_name: Option<String>,
    /// Truststore PEM and where it came from.
    pub truststore: Option<(String, String)>,
    /// `EDGE` (AWS's default) or `REGIONAL`.
    pub endpoint_type: Option<String>,
    pub security_policy: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A host name AWS would take for a custom domain: dot-separated labels of letters, digits
/// and hyphens, a leading `*.` allowed.
pub fn valid_domain_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A base path as stored: without surrounding slashes, empty for `(none)`.
pub fn normalize_base_path(raw: Option<&str>) -> Result<String> {
    let path = raw.unwrap_or("").trim_matches('/');
    if path.is_empty() || path == "(none)" {
        return Ok(String::new());
    }
    let ok = path.split('/').all(|seg| {
        !seg.is_empty()
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"$-_.+!*'()".contains(&b))
    });
    if !ok {
        return Err(invalid(format!(
            "Invalid base path {path:?}: use letters, digits and $-_.+!*'() in segments separated by /"
        )));
    }
    Ok(path.to_string())
}

/// AWS's name for a stored base path.
pub fn shown_base_path(base_path: &str) -> &str {
    if base_path.is_empty() {
        "(none)"
    } else {
        base_path
    }
}

pub fn create_domain(store: &Store, new: NewDomain) -> Result<DomainName> {
    let name = new.name.trim().trim_end_matches('.').to_ascii_lowercase();
    if !valid_domain_name(&name) {
        return Err(invalid(format!(
            "Invalid domain name {:?}: give a host name such as api.example.test",
            new.name
        )));
    }
    if let Some((cert, key)) = &new.certificate {
        crate::net::tls::certified_from_pem(cert, key)
            .map_err(|e| invalid(format!("The certificate of {name} cannot be used: {e}")))?;
    }
    if let Some((pem, uri)) = &new.truststore {
        crate::net::tls::certs_from_pem(pem.as_bytes())
            .map_err(|e| invalid(format!("The truststore {uri} {e}")))?;
    }
    let endpoint_type = new
        .endpoint_type
        .map(|t| t.to_ascii_uppercase())
        .unwrap_or_else(|| "EDGE".into());
    if !matches!(endpoint_type.as_str(), "EDGE" | "REGIONAL") {
        return Err(invalid(format!(
            "Invalid endpoint type {endpoint_type}: must be EDGE or REGIONAL"
        )));
    }
    let security_policy = new.security_policy.unwrap_or_else(|| "TLS_1_2".into());
    if !matches!(security_policy.as_str(), "TLS_1_0" | "TLS_1_2") {
        return Err(invalid(format!(
            "Invalid security policy {security_policy}: must be TLS_1_0 or TLS_1_2"
        )));
    }
    let (certificate_pem, private_key_pem) = match new.certificate {
        Some((c, k)) => (Some(c), Some(k)),
        None => (None, None),
    };
    let (truststore_pem, truststore_uri) = match new.truststore {
        Some((p, u)) => (Some(p), Some(u)),
        None => (None, None),
    };
    let domain = DomainName {
        domain_name: name,
        certificate_pem,
        private_key_pem,
        certificate_name: new.certificate_name,
        truststore_pem,
        truststore_uri,
        endpoint_type,
        security_policy,
        created_date: store::now(),
        tags: new.tags,
        mappings: Vec::new(),
    };
    Ok(store.write(|tx| {
        if tx
            .domain_names()?
            .iter()
            .any(|d| d.domain_name == domain.domain_name)
        {
            return Err(StoreError::Conflict(
                "The domain name you provided already exists.".into(),
            ));
        }
        tx.put_domain_name(&domain)?;
        Ok(domain)
    })?)
}

pub fn domains(store: &Store) -> Result<Vec<DomainName>> {
    Ok(store.read(|tx| tx.domain_names())?)
}

pub fn find_domain(store: &Store, name: &str) -> Result<DomainName> {
    let name = name.to_ascii_lowercase();
    store
        .read(|tx| tx.domain_names())?
        .into_iter()
        .find(|d| d.domain_name == name)
        .ok_or_else(|| not_found(NO_DOMAIN))
}

pub fn delete_domain(store: &Store, name: &str) -> Result<DomainName> {
    let name = name.to_ascii_lowercase();
    Ok(store.write(|tx| {
        let found = tx
            .domain_names()?
            .into_iter()
            .find(|d| d.domain_name == name)
            .ok_or_else(|| StoreError::NotFound(NO_DOMAIN.into()))?;
        tx.delete_domain_name(&found.domain_name)?;
        Ok(found)
    })?)
}

/// Runs `edit` on domain `name` and stores the result.
pub fn edit_domain<T: Send>(
    store: &Store,
    name: &str,
    edit: impl FnOnce(&store::Tx, &mut DomainName) -> std::result::Result<T, StoreError> + Send,
) -> Result<T> {
    let name = name.to_ascii_lowercase();
    Ok(store.write(|tx| {
        let mut domain = tx
            .domain_names()?
            .into_iter()
            .find(|d| d.domain_name == name)
            .ok_or_else(|| StoreError::NotFound(NO_DOMAIN.into()))?;
        let out = edit(tx, &mut domain)?;
        tx.put_domain_name(&domain)?;
        Ok(out)
    })?)
}

/// Checks that `api` (an id, or a name for gw's CLI when `by_name`) exists with `stage`, and
/// returns the API's id.
pub fn check_target(
    tx: &store::Tx,
    api: &str,
    stage: Option<&str>,
    by_name: bool,
) -> std::result::Result<String, StoreError> {
    let found = if by_name {
        tx.resolve_api(Some(api)).ok()
    } else {
        tx.find_api(api)?.filter(|a| a.id == api)
    };
    let Some(found) = found else {
        return Err(StoreError::Invalid(
            "Invalid REST API identifier specified".into(),
        ));
    };
    if let Some(stage) = stage {
        if tx.stage(&found.id, stage)?.is_none() {
            return Err(StoreError::Invalid(
                "Invalid stage identifier specified".into(),
            ));
        }
    }
    Ok(found.id)
}

/// Maps `base_path` of `domain` to `api` and `stage` (CreateBasePathMapping).
pub fn map_base_path(
    store: &Store,
    domain: &str,
    base_path: Option<&str>,
    api: &str,
    stage: Option<&str>,
    by_name: bool,
) -> Result<BasePathMapping> {
    let base_path = normalize_base_path(base_path)?;
    edit_domain(store, domain, |tx, d| {
        if d.mappings.iter().any(|m| m.base_path == base_path) {
            return Err(StoreError::Conflict(
                "Base path already exists for this domain name".into(),
            ));
        }
        let rest_api_id = check_target(tx, api, stage, by_name)?;
        let mapping = BasePathMapping {
            base_path,
            rest_api_id,
            stage: stage.map(str::to_string),
        };
        d.mappings.push(mapping.clone());
        Ok(mapping)
    })
}

/// Removes the mapping of `base_path` (DeleteBasePathMapping).
pub fn unmap_base_path(store: &Store, domain: &str, base_path: Option<&str>) -> Result<()> {
    let base_path = normalize_base_path(base_path)?;
    edit_domain(store, domain, |_, d| {
        let before = d.mappings.len();
        d.mappings.retain(|m| m.base_path != base_path);
        if d.mappings.len() == before {
            return Err(StoreError::NotFound(NO_MAPPING.into()));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_base_paths_are_checked() {
        assert!(valid_domain_name("api.example.test"));
        assert!(valid_domain_name("*.example.test"));
        assert!(!valid_domain_name("localhost"));
        assert!(!valid_domain_name("bad_name.example"));
        assert!(!valid_domain_name("-x.example"));
        assert_eq!(normalize_base_path(Some("(none)")).unwrap(), "");
        assert_eq!(normalize_base_path(Some("/v1/")).unwrap(), "v1");
        assert_eq!(normalize_base_path(Some("v1/admin")).unwrap(), "v1/admin");
        assert!(normalize_base_path(Some("v 1")).is_err());
        assert!(normalize_base_path(Some("a//b")).is_err());
    }
}
