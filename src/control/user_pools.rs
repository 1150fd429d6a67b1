//! Local Cognito user pools (beyond AWS): `gw user-pool create`, `gw user-pools`,
//! `gw user-pool delete`, and `gw token`, which signs ID and access tokens shaped like Cognito's
//! with the pool's key. gw verifies them like any Cognito token (`gateway::jwt`) and serves the
//! pool's JWKS under `/_gw/user-pools/POOL_ID/`.

use super::{invalid, not_found, Result};
use crate::aws::jwt::{self, SigningKey};
use crate::model::UserPool;
use crate::store::{Store, StoreError};
use rand::Rng;
use serde_json::{json, Map, Value};
use std::time::Duration;

fn random_text(n: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// Cognito's pool id shape: `REGION_ID`, like `us-east-1_AbC123xyZ`.
fn valid_pool_id(id: &str) -> bool {
    let Some((region, rest)) = id.split_once('_') else {
        return false;
    };
    let region_ok = region.split('-').count() >= 3
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    region_ok
        && !rest.is_empty()
        && rest.len() <= 55
        && rest.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Creates a pool named `name` (with `id`, e.g. the pool id an API's `providerARNs` name, or a
/// new one) and app clients `clients` (one new client id when none is given).
pub fn create_user_pool(
    store: &Store,
    name: &str,
    id: Option<&str>,
    clients: &[String],
) -> Result<UserPool> {
    if name.is_empty()
        || name.len() > 128
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(invalid(format!(
            "user pool name {name:?} is invalid: use letters, digits, -, _ and . (at most 128)"
        )));
    }
    let id = match id {
        Some(id) if valid_pool_id(id) => id.to_string(),
        Some(id) => {
            return Err(invalid(format!(
                "--id {id:?} is not a Cognito user pool id: use REGION_ID, like us-east-1_AbC123xyZ (the last part of the providerARNs the API names)"
            )))
        }
        None => format!("us-east-1_{}", random_text(9, ALNUM)),
    };
    for c in clients {
        if c.is_empty()
            || c.len() > 128
            || !c
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(format!(
                "--client {c:?} is invalid: use letters, digits, - and _"
            )));
        }
    }
    let clients = if clients.is_empty() {
        vec![random_text(26, LOWER_ALNUM)]
    } else {
        clients.to_vec()
    };
    let key = SigningKey::generate(random_text(32, ALNUM)).map_err(invalid)?;
    let pool = UserPool {
        id,
        name: name.to_string(),
        clients,
        key: key.to_json(),
        created_date: crate::store::now(),
    };
    store.write(|tx| {
        for p in tx.user_pools()? {
            if p.name == pool.name {
                return Err(StoreError::Conflict(format!(
                    "a user pool named {:?} already exists ({}); delete it with `gw user-pool delete {}` or pick another name",
                    p.name, p.id, p.name
                )));
            }
            if p.id == pool.id {
                return Err(StoreError::Conflict(format!(
                    "user pool {} already exists (named {:?})",
                    p.id, p.name
                )));
            }
        }
        tx.put_user_pool(&pool)
    })?;
    Ok(pool)
}

/// Every local pool.
pub fn user_pools(store: &Store) -> Result<Vec<UserPool>> {
    Ok(store.read(|tx| tx.user_pools())?)
}

/// The pool with this name or id.
pub fn find_user_pool(store: &Store, name_or_id: &str) -> Result<UserPool> {
    user_pools(store)?
        .into_iter()
        .find(|p| p.name == name_or_id || p.id == name_or_id)
        .ok_or_else(|| {
            not_found(format!(
                "no user pool {name_or_id:?}; `gw user-pools` lists them, `gw user-pool create NAME` makes one"
            ))
        })
}

pub fn delete_user_pool(store: &Store, name_or_id: &str) -> Result<UserPool> {
    let pool = find_user_pool(store, name_or_id)?;
    store.write(|tx| tx.delete_user_pool(&pool.id))?;
    Ok(pool)
}

/// What `gw token` asks for.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub sub: String,
    pub groups: Vec<String>,
    pub scopes: Vec<String>,
    pub ttl: Duration,
    /// `id` or `access`.
    pub token_use: String,
    /// The app client (default: the pool's first).
    pub client: Option<String>,
    /// More claims, `name=value` (a value that parses as JSON is taken as JSON).
    pub claims: Vec<(String, String)>,
}

/// A token of `pool` for `req`, signed with the pool's key, and its claims.
pub fn mint_token(
    pool: &UserPool,
    req: &TokenRequest,
    now_s: u64,
) -> Result<(String, Map<String, Value>)> {
    if !matches!(req.token_use.as_str(), "id" | "access") {
        return Err(invalid(format!(
            "--type {:?}: use id or access",
            req.token_use
        )));
    }
    if req.sub.is_empty() {
        return Err(invalid("--sub must not be empty"));
    }
    let client = match &req.client {
        Some(c) if pool.clients.contains(c) => c.clone(),
        Some(c) => {
            return Err(invalid(format!(
                "--client {c} is not an app client of pool {} ({})",
                pool.name,
                pool.clients.join(", ")
            )))
        }
        None => pool.clients.first().cloned().unwrap_or_default(),
    };
    let ttl = req.ttl.as_secs().max(1);
    let key = SigningKey::from_json(&pool.key).map_err(invalid)?;
    let jti = uuid::Uuid::new_v4().to_string();
    let mut c = Map::new();
    c.insert("sub".into(), json!(req.sub));
    if !req.groups.is_empty() {
        c.insert("cognito:groups".into(), json!(req.groups));
    }
    c.insert("iss".into(), json!(jwt::cognito_issuer(&pool.id)));
    c.insert("origin_jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    c.insert("event_id".into(), json!(uuid::Uuid::new_v4().to_string()));
    c.insert("token_use".into(), json!(req.token_use));
    c.insert("auth_time".into(), json!(now_s));
    c.insert("exp".into(), json!(now_s + ttl));
    c.insert("iat".into(), json!(now_s));
    c.insert("jti".into(), json!(jti));
    if req.token_use == "id" {
        c.insert("aud".into(), json!(client));
        c.insert("cognito:username".into(), json!(req.sub));
    } else {
        c.insert("client_id".into(), json!(client));
        let mut scope = vec!["aws.cognito.signin.user.admin".to_string()];
        scope.extend(req.scopes.iter().cloned());
        c.insert("scope".into(), json!(scope.join(" ")));
        c.insert("username".into(), json!(req.sub));
    }
    for (k, v) in &req.claims {
        let value = serde_json::from_str(v).unwrap_or_else(|_| json!(v));
        c.insert(k.clone(), value);
    }
    let token = key.sign(&c).map_err(invalid)?;
    Ok((token, c))
}

/// The pool's JWKS document.
pub fn jwks(pool: &UserPool) -> Result<Value> {
    let key = SigningKey::from_json(&pool.key).map_err(invalid)?;
    Ok(json!({ "keys": [key.jwk()] }))
}
