//! VPC links: CreateVpcLink, GetVpcLink(s), UpdateVpcLink (`/name`, `/description`),
//! DeleteVpcLink, in AWS's shapes with gw's targets beside them. A `targetArns` entry that is
//! `HOST:PORT` rather than an ARN is a target (so `aws apigateway create-vpc-link --target-arns
//! 127.0.0.1:8080 127.0.0.1:8081` makes a working link); ARNs are kept.

use super::updates::{invalid_path, ops};
use super::{list, page, ApiError, Reply, Req, Result};
use crate::control::links::{self, NewLink, NO_LINK};
use crate::model::VpcLink;
use crate::store::{Store, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn link_wire(l: &VpcLink) -> Value {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut v = json!({
        "id": l.id,
        "name": l.name,
        "targetArns": l.target_arns,
        "status": "AVAILABLE",
        "statusMessage": "Your vpc link is ready for use",
        "gwTargets": l.targets.iter().filter(|t| t.expires_ms.is_none_or(|e| e > now_ms)).map(|t| &t.address).collect::<Vec<_>>(),
        "gwBalance": l.balance,
        "gwHealthCheck": l.health,
    });
    if let Some(d) = &l.description {
        v["description"] = json!(d);
    }
    if !l.tags.is_empty() {
        v["tags"] = json!(l.tags);
    }
    v
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateLinkBody {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    target_arns: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// POST /vpclinks: CreateVpcLink (202, as AWS answers while it provisions; gw's is ready at once).
pub(super) fn create_link(store: &Store, req: &Req) -> Result<Reply> {
    let b: CreateLinkBody = req.json()?;
    let name = b
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("Invalid VPC link name specified"))?;
    let (arns, targets): (Vec<String>, Vec<String>) = b
        .target_arns
        .into_iter()
        .partition(|t| t.starts_with("arn:"));
    let link = links::create_link(
        store,
        NewLink {
            name,
            description: b.description,
            target_arns: arns,
            targets,
            tags: b.tags,
            ..Default::default()
        },
    )?;
    Ok(Reply::json(http::StatusCode::ACCEPTED, link_wire(&link)))
}

pub(super) fn get_links(store: &Store, req: &Req) -> Result<Reply> {
    let (items, next) = page(links::links(store)?, req)?;
    Ok(Reply::ok(list(items.iter().map(link_wire).collect(), next)))
}

fn by_id(store: &Store, id: &str) -> Result<VpcLink> {
    links::links(store)?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| ApiError::not_found(NO_LINK))
}

pub(super) fn get_link(store: &Store, id: &str) -> Result<Reply> {
    Ok(Reply::ok(link_wire(&by_id(store, id)?)))
}

/// PATCH /vpclinks/{id}: UpdateVpcLink (`/name`, `/description`).
pub(super) fn update_link(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    by_id(store, id)?;
    let ops = ops(req)?;
    // Names other links have (integrations may name a link by name, so names stay unique).
    let taken: Vec<String> = links::links(store)?
        .into_iter()
        .filter(|l| l.id != id)
        .map(|l| l.name)
        .collect();
    let mut refused = None;
    let done = links::edit_link(store, id, |l| {
        for op in &ops {
            match (op.op.as_str(), op.path.as_str()) {
                ("replace", "/name") => match op.value.clone().filter(|n| !n.trim().is_empty()) {
                    Some(n) if taken.contains(&n) => {
                        refused = Some(ApiError::conflict(format!(
                            "a VPC link named {n} already exists"
                        )));
                        return Err(StoreError::Invalid(String::new()));
                    }
                    Some(n) => l.name = n,
                    None => {
                        refused = Some(ApiError::bad_request("Invalid VPC link name specified"));
                        return Err(StoreError::Invalid(String::new()));
                    }
                },
                ("replace" | "add", "/description") => {
                    l.description = op.value.clone().filter(|d| !d.is_empty())
                }
                ("remove", "/description") => l.description = None,
                _ => {
                    refused = Some(invalid_path(op));
                    return Err(StoreError::Invalid(String::new()));
                }
            }
        }
        Ok(())
    });
    if let Some(e) = refused {
        return Err(e);
    }
    Ok(Reply::ok(link_wire(&done?.0)))
}

pub(super) fn delete_link(store: &Store, id: &str) -> Result<Reply> {
    by_id(store, id)?;
    links::delete_link(store, id)?;
    Ok(Reply::accepted())
}

pub(super) fn edit_tags(
    store: &Store,
    id: &str,
    edit: impl FnOnce(&mut BTreeMap<String, String>) + Send,
) -> Result<()> {
    by_id(store, id)?;
    links::edit_link(store, id, |l| {
        edit(&mut l.tags);
        Ok(())
    })?;
    Ok(())
}

pub(super) fn tags(store: &Store, id: &str) -> Result<BTreeMap<String, String>> {
    Ok(by_id(store, id)?.tags)
}
