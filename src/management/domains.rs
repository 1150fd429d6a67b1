//! Custom domain names and base-path mappings: CreateDomainName, GetDomainName(s),
//! DeleteDomainName, CreateBasePathMapping, GetBasePathMapping(s), UpdateBasePathMapping,
//! DeleteBasePathMapping, in AWS's shapes, over [`crate::control::domains`].

use super::updates::{invalid_path, ops};
use super::{list, page, ApiError, Reply, Req, Result};
use crate::control::domains::{self, NewDomain, NO_DOMAIN, NO_MAPPING};
use crate::model::{BasePathMapping, DomainName};
use crate::store::{Store, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A short, stable id for the domain's synthetic endpoint names.
fn endpoint_id(name: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(name.as_bytes());
    hex::encode(&digest[..5])
}

pub(super) fn domain_wire(d: &DomainName) -> Value {
    let mut v = json!({
        "domainName": d.domain_name,
        "certificateUploadDate": d.created_date,
        "domainNameStatus": "AVAILABLE",
        "securityPolicy": d.security_policy,
        "endpointConfiguration": {"types": [d.endpoint_type]},
    });
    let id = endpoint_id(&d.domain_name);
    if d.endpoint_type == "REGIONAL" {
        v["regionalDomainName"] = json!(format!("d-{id}.execute-api.localhost"));
        v["regionalHostedZoneId"] = json!("Z1UJRXOUMOOFQ8");
        if let Some(n) = &d.certificate_name {
            v["regionalCertificateName"] = json!(n);
        }
    } else {
        v["distributionDomainName"] = json!(format!("d{id}.cloudfront.localhost"));
        v["distributionHostedZoneId"] = json!("Z2FDTNDATAQYW2");
        if let Some(n) = &d.certificate_name {
            v["certificateName"] = json!(n);
        }
    }
    if let Some(uri) = &d.truststore_uri {
        v["mutualTlsAuthentication"] = json!({"truststoreUri": uri, "truststoreWarnings": []});
    }
    if !d.tags.is_empty() {
        v["tags"] = json!(d.tags);
    }
    v
}

fn mapping_wire(m: &BasePathMapping) -> Value {
    let mut v = json!({
        "basePath": domains::shown_base_path(&m.base_path),
        "restApiId": m.rest_api_id,
    });
    if let Some(s) = &m.stage {
        v["stage"] = json!(s);
    }
    v
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EndpointBody {
    #[serde(default)]
    types: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MutualTlsBody {
    truststore_uri: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateDomainBody {
    domain_name: Option<String>,
    certificate_name: Option<String>,
    certificate_body: Option<String>,
    certificate_private_key: Option<String>,
    certificate_chain: Option<String>,
    certificate_arn: Option<String>,
    regional_certificate_name: Option<String>,
    regional_certificate_arn: Option<String>,
    endpoint_configuration: Option<EndpointBody>,
    security_policy: Option<String>,
    mutual_tls_authentication: Option<MutualTlsBody>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// A truststore URI gw can read: `file://PATH` or a plain path (AWS takes `s3://`).
fn read_truststore(uri: &str) -> Result<String> {
    let path = uri.strip_prefix("file://").unwrap_or(uri);
    if uri.starts_with("s3://") {
        return Err(ApiError::bad_request(format!(
            "gw reads truststores from local files, not S3: give truststoreUri as file:///path/to/truststore.pem (not {uri})"
        )));
    }
    // A PEM file of CA certificates: a regular file, and not a large one.
    const MAX_TRUSTSTORE_BYTES: u64 = 1024 * 1024;
    let refused = || {
        ApiError::bad_request(format!(
            "Cannot read the truststore {uri}: give truststoreUri as file:///path/to/truststore.pem, a PEM file of CA certificates of at most 1 MiB"
        ))
    };
    let meta = std::fs::metadata(path).map_err(|_| refused())?;
    if !meta.is_file() || meta.len() > MAX_TRUSTSTORE_BYTES {
        return Err(refused());
    }
    std::fs::read_to_string(path).map_err(|_| refused())
}

/// POST /domainnames: CreateDomainName. A certificate given as PEM (`certificateBody`,
/// `certificatePrivateKey`, `certificateChain`) is served for the domain; an ACM ARN is kept
/// and the server's certificate served.
pub(super) fn create_domain(store: &Store, req: &Req) -> Result<Reply> {
    let b: CreateDomainBody = req.json()?;
    let name = b
        .domain_name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("Invalid domain name specified"))?;
    let certificate = match (&b.certificate_body, &b.certificate_private_key) {
        (Some(body), Some(key)) => {
            let mut chain = body.trim_end().to_string();
            if let Some(more) = &b.certificate_chain {
                chain.push('\n');
                chain.push_str(more);
            }
            Some((chain, key.clone()))
        }
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                "certificateBody and certificatePrivateKey must be given together",
            ))
        }
    };
    let truststore = match b
        .mutual_tls_authentication
        .and_then(|m| m.truststore_uri)
        .filter(|u| !u.is_empty())
    {
        Some(uri) => Some((read_truststore(&uri)?, uri)),
        None => None,
    };
    let regional = b.regional_certificate_arn.is_some() || b.regional_certificate_name.is_some();
    let endpoint_type = b
        .endpoint_configuration
        .and_then(|e| e.types.into_iter().next())
        .or_else(|| regional.then(|| "REGIONAL".to_string()));
    let certificate_name = b
        .certificate_name
        .or(b.regional_certificate_name)
        .or(b.certificate_arn)
        .or(b.regional_certificate_arn);
    let d = domains::create_domain(
        store,
        NewDomain {
            name,
            certificate,
            certificate_name,
            truststore,
            endpoint_type,
            security_policy: b.security_policy,
            tags: b.tags,
        },
    )?;
    Ok(Reply::created(domain_wire(&d)))
}

pub(super) fn get_domains(store: &Store, req: &Req) -> Result<Reply> {
    let all = domains::domains(store)?;
    let (items, next) = page(all, req)?;
    Ok(Reply::ok(list(
        items.iter().map(domain_wire).collect(),
        next,
    )))
}

pub(super) fn get_domain(store: &Store, name: &str) -> Result<Reply> {
    Ok(Reply::ok(domain_wire(&domains::find_domain(store, name)?)))
}

pub(super) fn delete_domain(store: &Store, name: &str) -> Result<Reply> {
    domains::delete_domain(store, name)?;
    Ok(Reply::accepted())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateMappingBody {
    base_path: Option<String>,
    rest_api_id: Option<String>,
    stage: Option<String>,
}

/// POST /domainnames/{name}/basepathmappings: CreateBasePathMapping.
pub(super) fn create_mapping(store: &Store, req: &Req, name: &str) -> Result<Reply> {
    domains::find_domain(store, name)?;
    let b: CreateMappingBody = req.json()?;
    let api = b
        .rest_api_id
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::bad_request("Invalid REST API identifier specified"))?;
    let m = domains::map_base_path(
        store,
        name,
        b.base_path.as_deref(),
        &api,
        b.stage.as_deref().filter(|s| !s.is_empty()),
        false,
    )?;
    Ok(Reply::created(mapping_wire(&m)))
}

pub(super) fn get_mappings(store: &Store, req: &Req, name: &str) -> Result<Reply> {
    let d = domains::find_domain(store, name)?;
    let (items, next) = page(d.mappings, req)?;
    Ok(Reply::ok(list(
        items.iter().map(mapping_wire).collect(),
        next,
    )))
}

fn find_mapping(d: &DomainName, base_path: &str) -> Result<BasePathMapping> {
    let wanted = domains::normalize_base_path(Some(base_path))
        .map_err(|_| ApiError::not_found(NO_MAPPING))?;
    d.mappings
        .iter()
        .find(|m| m.base_path == wanted)
        .cloned()
        .ok_or_else(|| ApiError::not_found(NO_MAPPING))
}

pub(super) fn get_mapping(store: &Store, name: &str, base_path: &str) -> Result<Reply> {
    let d = domains::find_domain(store, name)?;
    Ok(Reply::ok(mapping_wire(&find_mapping(&d, base_path)?)))
}

/// PATCH: UpdateBasePathMapping — `replace` `/basePath`, `/restapiId` (AWS's spelling) and
/// `/stage`.
pub(super) fn update_mapping(
    store: &Store,
    req: &Req,
    name: &str,
    base_path: &str,
) -> Result<Reply> {
    let ops = ops(req)?;
    let d = domains::find_domain(store, name)?;
    let current = find_mapping(&d, base_path)?;
    let mut next = current.clone();
    for op in &ops {
        let value = op.value.clone().unwrap_or_default();
        match (op.op.as_str(), op.path.as_str()) {
            ("replace", "/basePath") => {
                next.base_path =
                    domains::normalize_base_path(Some(&value)).map_err(ApiError::from)?
            }
            ("replace", "/restapiId" | "/restApiId") => next.rest_api_id = value,
            ("replace", "/stage") => next.stage = Some(value).filter(|s| !s.is_empty()),
            ("remove", "/stage") => next.stage = None,
            _ => return Err(invalid_path(op)),
        }
    }
    let updated = domains::edit_domain(store, name, |tx, d| {
        if next.base_path != current.base_path
            && d.mappings.iter().any(|m| m.base_path == next.base_path)
        {
            return Err(StoreError::Conflict(
                "Base path already exists for this domain name".into(),
            ));
        }
        domains::check_target(tx, &next.rest_api_id, next.stage.as_deref(), false)?;
        let Some(slot) = d
            .mappings
            .iter_mut()
            .find(|m| m.base_path == current.base_path)
        else {
            return Err(StoreError::NotFound(NO_MAPPING.into()));
        };
        *slot = next.clone();
        Ok(next)
    })?;
    Ok(Reply::ok(mapping_wire(&updated)))
}

pub(super) fn delete_mapping(store: &Store, name: &str, base_path: &str) -> Result<Reply> {
    domains::find_domain(store, name)?;
    domains::unmap_base_path(store, name, Some(base_path)).map_err(|e| {
        match ApiError::from(e) {
            e if e.code == "BadRequestException" => ApiError::not_found(NO_MAPPING),
            e => e,
        }
    })?;
    Ok(Reply::accepted())
}

/// The tags of domain `name` (TagResource and friends).
pub(super) fn edit_tags(
    store: &Store,
    name: &str,
    edit: impl FnOnce(&mut BTreeMap<String, String>) + Send,
) -> Result<()> {
    domains::edit_domain(store, name, |_, d| {
        edit(&mut d.tags);
        Ok(())
    })?;
    Ok(())
}

pub(super) fn tags(store: &Store, name: &str) -> Result<BTreeMap<String, String>> {
    Ok(domains::find_domain(store, name)
        .map_err(|_| ApiError::not_found(NO_DOMAIN))?
        .tags)
}
