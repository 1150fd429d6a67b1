//! Account-wide objects: API keys and usage plans, local user pools, custom domain names and
//! VPC links.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An API key (`x-api-key`), as API Gateway keeps it: account-wide, usable on the stages of the
/// usage plans it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub value: String,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: i64,
    /// Tags given at creation or with TagResource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A usage plan: which API stages its keys open, with what `throttle` (per key) and `quota`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlan {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub api_stages: Vec<UsagePlanStage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<serde_json::Value>,
    /// The ids of its API keys.
    #[serde(default)]
    pub key_ids: Vec<String>,
    /// Tags given at creation or with TagResource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlanStage {
    pub api_id: String,
    pub stage: String,
    /// Per-method throttles on this stage, keyed `/{resourcePath}/{httpMethod}` (`/pets/GET`):
    /// `{"burstLimit", "rateLimit"}`, in place of the plan's `throttle` for that method.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub throttle: BTreeMap<String, serde_json::Value>,
}

/// A local Cognito user pool (beyond AWS): its id (shaped like Cognito's, and the one the API's
/// `providerARNs` name), app clients and RSA signing key; `gw token` signs its tokens and gw
/// serves its JWKS, so Cognito authorizers can be tested without AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPool {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub clients: Vec<String>,
    /// `aws::jwt::SigningKey::to_json`.
    pub key: serde_json::Value,
    pub created_date: i64,
}

/// A custom domain name (CreateDomainName, `gw domain create`): requests whose Host (and, over
/// TLS, SNI) names it are routed by its base-path mappings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainName {
    /// Lower-case.
    pub domain_name: String,
    /// The certificate chain (PEM) served for it; `None`: the server's (`--tls-cert`, or the
    /// local CA's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_pem: Option<String>,
    /// What the certificate was called (`certificateName`), for AWS's answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_name: Option<String>,
    /// Mutual TLS: the CA certificates (PEM) a client's certificate must chain to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truststore_pem: Option<String>,
    /// Where the truststore came from (`mutualTlsAuthentication.truststoreUri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truststore_uri: Option<String>,
    /// `EDGE` or `REGIONAL`.
    pub endpoint_type: String,
    pub security_policy: String,
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub mappings: Vec<BasePathMapping>,
}

/// One base-path mapping of a custom domain: `base_path` (empty for AWS's `(none)`, the whole
/// domain) to an API and, usually, a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BasePathMapping {
    pub base_path: String,
    pub rest_api_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

/// A VPC link (CreateVpcLink, `gw vpc-link create`): the instances of a service behind one
/// route, as a Network Load Balancer's target group holds them. AWS's fields (`targetArns`) are
/// kept beside gw's targets, balancing mode and health check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcLink {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_arns: Vec<String>,
    #[serde(default)]
    pub targets: Vec<LinkTarget>,
    /// `round-robin`, `least-requests`, `hash:header:NAME` or `hash:ip`.
    pub balance: String,
    pub health: HealthCheck,
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// One target of a link: `host:port` (an IP address, or a DNS name whose every address is a
/// target), static or registered at run time with a time to live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkTarget {
    pub address: String,
    /// Epoch milliseconds after which a registration that was not renewed is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
}

/// A link's health check, as a target group's: a GET of `path` (a TCP connect without one)
/// every `interval_ms`, healthy after `healthy` passes in a row, unhealthy after `unhealthy`
/// failures in a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub interval_ms: u64,
    pub healthy: u32,
    pub unhealthy: u32,
    pub timeout_ms: u64,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            path: None,
            interval_ms: 5_000,
            healthy: 3,
            unhealthy: 2,
            timeout_ms: 2_000,
        }
    }
}
