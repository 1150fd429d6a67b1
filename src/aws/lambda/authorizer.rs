//! What a Lambda authorizer grants a request, as the rest of the request sees it: the
//! [`Grant`] (cached and shared between requests), the per-request [`Authorized`] around it that
//! `$context.authorizer.*` reads, and the two shapes it takes inside a proxy event (payload 1.0's
//! flat `requestContext.authorizer`, payload 2.0's `requestContext.authorizer.lambda`).
//!
//! Reading the authorizer's answer (its policy and context) is the data plane's business
//! (`gateway::authorizer`); this is only the result, which the event and `$context` share.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// What a Lambda authorizer answered: its `principalId`, its `context` (values stringified, as
/// REST APIs pass them on) and its `usageIdentifierKey`. Shared (cached answers are reused).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    pub principal_id: String,
    pub context: Vec<(String, String)>,
    /// The API key the authorizer named, for `apiKeySource: AUTHORIZER`.
    pub usage_identifier_key: Option<String>,
    /// A Cognito or JWT authorizer's verified token claims (values stringified, as REST APIs
    /// pass them on): `requestContext.authorizer.claims`, `$context.authorizer.claims.NAME`.
    pub claims: Option<Vec<(String, String)>>,
}

/// A request's authorization: the authorizer's [`Grant`] and how long the authorizer took (0 when
/// the answer was cached). Payload 1.0 events carry it as `requestContext.authorizer`, payload
/// 2.0 as `requestContext.authorizer.lambda`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorized {
    pub grant: std::sync::Arc<Grant>,
    pub integration_latency_ms: u64,
}

impl Authorized {
    /// `$context.authorizer.KEY`: `principalId`, a context key, or `claims.NAME`.
    pub fn get(&self, key: &str) -> Option<&str> {
        if let (Some(claims), Some(name)) = (&self.grant.claims, key.strip_prefix("claims.")) {
            return claims
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str());
        }
        if key == "principalId" {
            return Some(&self.grant.principal_id);
        }
        self.grant
            .context
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Payload 1.0's `requestContext.authorizer`: `principalId`, `integrationLatency`, then the
/// context keys.
pub(super) struct V1Authorizer<'a>(pub(super) &'a Authorized);

impl Serialize for V1Authorizer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        if let Some(claims) = &a.grant.claims {
            // A Cognito user-pool authorizer: `{"claims": {...}}`.
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry("claims", &Claims(claims))?;
            return map.end();
        }
        let mut map = s.serialize_map(Some(a.grant.context.len() + 2))?;
        for (k, v) in &a.grant.context {
            if k != "principalId" && k != "integrationLatency" {
                map.serialize_entry(k, v)?;
            }
        }
        map.serialize_entry("principalId", &a.grant.principal_id)?;
        map.serialize_entry("integrationLatency", &a.integration_latency_ms)?;
        map.end()
    }
}

/// Payload 2.0's `requestContext.authorizer`: `{"lambda": {context...}}`.
pub(super) struct V2Authorizer<'a>(pub(super) &'a Authorized);

impl Serialize for V2Authorizer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Lambda<'a>(&'a Authorized);
        impl Serialize for Lambda<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let grant = &self.0.grant;
                let mut map = s.serialize_map(Some(grant.context.len() + 1))?;
                for (k, v) in &grant.context {
                    if k != "principalId" {
                        map.serialize_entry(k, v)?;
                    }
                }
                map.serialize_entry("principalId", &grant.principal_id)?;
                map.end()
            }
        }
        if let Some(claims) = &self.0.grant.claims {
            // A JWT authorizer: `{"jwt": {"claims": {...}, "scopes": null}}`.
            struct Jwt<'a>(&'a [(String, String)]);
            impl Serialize for Jwt<'_> {
                fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    let mut map = s.serialize_map(Some(2))?;
                    map.serialize_entry("claims", &Claims(self.0))?;
                    map.serialize_entry("scopes", &())?;
                    map.end()
                }
            }
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry("jwt", &Jwt(claims))?;
            return map.end();
        }
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("lambda", &Lambda(self.0))?;
        map.end()
    }
}

/// Claims as a JSON object of strings.
struct Claims<'a>(&'a [(String, String)]);

impl Serialize for Claims<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
