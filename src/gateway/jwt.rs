//! Cognito user-pool authorizers (`COGNITO_USER_POOLS`) and JWT authorizers (`JWT`, the HTTP-API
//! kind) checked as API Gateway checks them: the token from the identity source (a header,
//! `Authorization` by default; a `Bearer ` prefix is accepted), an RS256 signature by a key of the
//! issuer, unexpired, the issuer one the authorizer names (a pool of its `providerARNs`, or
//! `jwtConfiguration.issuer`), `token_use` `id` or `access` for Cognito, the audience among the
//! app clients when they are known (a local pool's clients, `jwtConfiguration.audience`), and the
//! method's `authorizationScopes` in an access token's `scope`. No token or a bad one → 401
//! `{"message":"Unauthorized"}`; a good token without a required scope → 403. The claims reach
//! the integration (`requestContext.authorizer.claims`, `$context.authorizer.claims.*`).
//!
//! Keys: [`Issuers`], built with the serving snapshot from the local user pools
//! (`gw user-pool create`) and the JWKS documents `gw serve --jwks` was given.

use crate::aws::gateway_response::{GatewayError, ResponseType};
use crate::aws::jwt::{self, Keys, Refusal, Rules};
use crate::aws::lambda::{Authorized, Grant};
use crate::gateway::integrations::RequestCx;
use crate::model::Authorizer;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// One issuer's keys and, when known, its app clients.
#[derive(Debug, Clone, Default)]
pub struct Issuer {
    pub keys: Keys,
    pub clients: Vec<String>,
}

/// Every issuer gw can check tokens of, by issuer URL.
#[derive(Debug, Clone, Default)]
pub struct Issuers {
    by_url: HashMap<String, Issuer>,
}

impl Issuers {
    pub fn insert(&mut self, issuer_url: String, issuer: Issuer) {
        self.by_url.insert(issuer_url, issuer);
    }

    pub fn get(&self, issuer_url: &str) -> Option<&Issuer> {
        self.by_url.get(issuer_url)
    }

    pub fn len(&self) -> usize {
        self.by_url.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_url.is_empty()
    }
}

/// What `--jwks KEY=SOURCE` names: a Cognito pool id (its issuer URL is derived) or an issuer URL.
pub fn issuer_of(key: &str) -> String {
    if key.starts_with("https://") || key.starts_with("http://") {
        key.trim_end_matches('/').to_string()
    } else {
        jwt::cognito_issuer(key)
    }
}

fn unauthorized(authorizer: &Authorizer, why: &str) -> GatewayError {
    tracing::debug!("authorizer {}: token refused: {why}", authorizer.name);
    GatewayError::new(ResponseType::Unauthorized)
}

/// The header the authorizer reads the token from: `identitySource` as REST APIs write it
/// (`method.request.header.NAME`) or as HTTP APIs do (`$request.header.NAME`).
fn token_header(authorizer: &Authorizer) -> &str {
    let source = authorizer
        .identity_source
        .as_deref()
        .unwrap_or("method.request.header.Authorization");
    let first = source.split(',').next().unwrap_or("").trim();
    first
        .strip_prefix("method.request.header.")
        .or_else(|| first.strip_prefix("$request.header."))
        .unwrap_or("Authorization")
}

/// Checks the request's token for a `COGNITO_USER_POOLS` or `JWT` authorizer.
pub fn authorize(
    cx: &RequestCx<'_>,
    authorizer: &Authorizer,
    scopes: &[String],
    issuers: &Issuers,
    now_s: u64,
) -> Result<Authorized, GatewayError> {
    let header = token_header(authorizer);
    let token = cx
        .headers
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    let token = token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token)
        .trim();
    if token.is_empty() {
        return Err(unauthorized(authorizer, &format!("no token in {header}")));
    }
    let cognito = authorizer.kind == "COGNITO_USER_POOLS";
    // Which issuers may have signed it, and their audiences.
    let mut candidates: Vec<(String, Vec<String>)> = Vec::new();
    if cognito {
        for arn in &authorizer.provider_arns {
            match jwt::pool_of_arn(arn) {
                Some(pool) => candidates.push((jwt::cognito_issuer(pool), Vec::new())),
                None => tracing::warn!(
                    "authorizer {}: providerARN {arn} names no user pool (arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID)",
                    authorizer.name
                ),
            }
        }
    } else {
        let config = authorizer
            .extra
            .as_ref()
            .and_then(|e| e.get("jwtConfiguration"));
        if let Some(iss) = config.and_then(|c| c.get("issuer")).and_then(Value::as_str) {
            let audiences = config
                .and_then(|c| c.get("audience"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            candidates.push((iss.trim_end_matches('/').to_string(), audiences));
        }
    }
    if candidates.is_empty() {
        tracing::warn!(
            "authorizer {} names no issuer (providerARNs or jwtConfiguration.issuer): every token is refused",
            authorizer.name
        );
        return Err(GatewayError::new(ResponseType::Unauthorized));
    }
    let mut first_refusal = None;
    for (issuer_url, configured) in &candidates {
        let Some(issuer) = issuers.get(issuer_url) else {
            tracing::warn!(
                "authorizer {}: gw has no keys of {issuer_url}: create a local pool with that id (`gw user-pool create NAME --id POOL_ID`) or give `gw serve --jwks POOL_ID=FILE|URL`",
                authorizer.name
            );
            continue;
        };
        // The app clients: the authorizer's own audience list, else a local pool's clients.
        let audiences = if configured.is_empty() {
            &issuer.clients
        } else {
            configured
        };
        let rules = Rules {
            issuer: issuer_url,
            audiences,
            scopes,
            cognito,
        };
        match jwt::verify(token, &issuer.keys, &rules, now_s) {
            Ok(claims) => {
                let principal = claims
                    .get("sub")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                return Ok(Authorized {
                    grant: Arc::new(Grant {
                        principal_id: principal,
                        claims: Some(jwt::claims_as_strings(&claims)),
                        ..Grant::default()
                    }),
                    integration_latency_ms: 0,
                });
            }
            Err(r) => {
                first_refusal.get_or_insert(r);
            }
        }
    }
    match first_refusal {
        Some(Refusal::Forbidden(why)) => {
            tracing::debug!("authorizer {}: {why}", authorizer.name);
            Err(GatewayError::with_message(
                ResponseType::AccessDenied,
                "User is not authorized to access this resource",
            ))
        }
        Some(Refusal::Unauthorized(why)) => Err(unauthorized(authorizer, &why)),
        None => Err(GatewayError::new(ResponseType::Unauthorized)),
    }
}
