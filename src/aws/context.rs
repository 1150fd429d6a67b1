//! `$context`: the one table of what API Gateway tells templates about a request. Mapping
//! templates, parameter mappings, gateway responses and access-log formats all read it through
//! [`Context::get`], so they agree on every name.
//!
//! A request is known more fully as it goes: before its stage is found, `$context.stage` and
//! friends are absent (templates render them empty, access logs as `-`).

use crate::aws::lambda::Authorized;

/// What `$context` knows about one request, borrowed from the request and the serving state.
#[derive(Default, Clone, Copy)]
pub struct Context<'a> {
    pub request_id: &'a str,
    pub extended_request_id: &'a str,
    pub http_method: &'a str,
    /// `HTTP/1.1`, `HTTP/1.0`, `HTTP/2.0`.
    pub protocol: &'static str,
    pub source_ip: &'a str,
    pub user_agent: Option<&'a str>,
    /// The Host the client called.
    pub domain_name: &'a str,
    pub request_time_ms: i64,
    /// The path after the stage, as sent (the whole path until the stage is known).
    pub path: &'a str,
    pub api_id: Option<&'a str>,
    pub stage: Option<&'a str>,
    pub deployment_id: Option<&'a str>,
    pub is_canary: Option<bool>,
    pub resource_id: Option<&'a str>,
    pub resource_path: Option<&'a str>,
    pub authorizer: Option<&'a Authorized>,
    pub api_key_id: Option<&'a str>,
    /// The client's certificate, on a custom domain with mutual TLS.
    pub client_cert: Option<&'a ClientCert>,
    /// `https` on the TLS listener, else `http` (the `X-Forwarded-Proto` gw sends).
    pub scheme: &'static str,
    /// The port the client connected to (`X-Forwarded-Port`).
    pub port: u16,
}

/// `$context.identity.clientCert` (and the Lambda event's `requestContext.identity.clientCert`):
/// the certificate a client presented to a custom domain with mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClientCert {
    #[serde(rename = "clientCertPem")]
    pub pem: String,
    #[serde(rename = "subjectDN")]
    pub subject_dn: String,
    #[serde(rename = "issuerDN")]
    pub issuer_dn: String,
    #[serde(rename = "serialNumber")]
    pub serial_number: String,
    pub validity: CertValidity,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertValidity {
    pub not_before: String,
    pub not_after: String,
}

impl Context<'_> {
    /// `$context.KEY` (without the `$context.`), or `None` when the request does not have it
    /// (yet) or gw does not know the name.
    pub fn get(&self, key: &str) -> Option<String> {
        Some(match key {
            "requestId" | "awsEndpointRequestId" => self.request_id.to_string(),
            "extendedRequestId" => self.extended_request_id.to_string(),
            "httpMethod" => self.http_method.to_string(),
            "protocol" => self.protocol.to_string(),
            "identity.sourceIp" => self.source_ip.to_string(),
            "identity.userAgent" => self.user_agent?.to_string(),
            "identity.apiKeyId" => self.api_key_id?.to_string(),
            "identity.clientCert.clientCertPem" => self.client_cert?.pem.clone(),
            "identity.clientCert.subjectDN" => self.client_cert?.subject_dn.clone(),
            "identity.clientCert.issuerDN" => self.client_cert?.issuer_dn.clone(),
            "identity.clientCert.serialNumber" => self.client_cert?.serial_number.clone(),
            "identity.clientCert.validity.notBefore" => {
                self.client_cert?.validity.not_before.clone()
            }
            "identity.clientCert.validity.notAfter" => self.client_cert?.validity.not_after.clone(),
            "domainName" => self.domain_name.to_string(),
            "domainPrefix" => domain_prefix(self.domain_name).to_string(),
            "accountId" => crate::aws::DEFAULT_ACCOUNT_ID.to_string(),
            "requestTime" => clf_time(self.request_time_ms),
            "requestTimeEpoch" => self.request_time_ms.to_string(),
            "path" => match self.stage {
                Some(stage) => format!("/{stage}{}", self.path),
                None => self.path.to_string(),
            },
            "apiId" => self.api_id?.to_string(),
            "stage" => self.stage?.to_string(),
            "deploymentId" => self.deployment_id?.to_string(),
            "isCanaryRequest" => self.is_canary?.to_string(),
            "resourceId" => self.resource_id?.to_string(),
            "resourcePath" => self.resource_path?.to_string(),
            _ => {
                let k = key.strip_prefix("authorizer.")?;
                self.authorizer?.get(k)?.to_string()
            }
        })
    }
}

/// The protocol as `$context.protocol` names it.
pub fn protocol(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// "abc123.execute-api.localhost:4566" → "abc123".
pub fn domain_prefix(domain: &str) -> &str {
    let host = domain.split(':').next().unwrap_or(domain);
    host.split('.').next().unwrap_or(host)
}

/// Common Log Format time, as `$context.requestTime`: "09/Apr/2015:12:34:56 +0000".
pub fn clf_time(epoch_ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = chrono::DateTime::from_timestamp_millis(epoch_ms).unwrap_or_default();
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        t.day(),
        MONTHS[t.month0() as usize % 12],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_names() {
        let cx = Context {
            request_id: "r",
            path: "/pets",
            stage: Some("prod"),
            protocol: "HTTP/2.0",
            domain_name: "abc.execute-api.localhost:4566",
            ..Default::default()
        };
        assert_eq!(cx.get("requestId").as_deref(), Some("r"));
        assert_eq!(cx.get("awsEndpointRequestId").as_deref(), Some("r"));
        assert_eq!(cx.get("stage").as_deref(), Some("prod"));
        assert_eq!(cx.get("path").as_deref(), Some("/prod/pets"));
        assert_eq!(cx.get("protocol").as_deref(), Some("HTTP/2.0"));
        assert_eq!(cx.get("domainPrefix").as_deref(), Some("abc"));
        assert_eq!(cx.get("apiId"), None);
        assert_eq!(cx.get("authorizer.principalId"), None);
        assert_eq!(cx.get("nonsense"), None);
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(cx.get("identity.clientCert.subjectDN"), None);
        let cert = ClientCert {
            pem: "-----BEGIN CERTIFICATE-----".into(),
            subject_dn: "CN=alice".into(),
            issuer_dn: "CN=clients CA".into(),
            serial_number: "01:02".into(),
            validity: CertValidity {
                not_before: "Dec 06 19:00:00 2026 GMT".into(),
                not_after: "Jan 05 19:00:00 2027 GMT".into(),
            },
        };
        let with = Context {
            client_cert: Some(&cert),
            ..cx
        };
        assert_eq!(
            with.get("identity.clientCert.subjectDN").as_deref(),
            Some("CN=alice")
        );
        assert_eq!(
            with.get("identity.clientCert.validity.notAfter").as_deref(),
            Some("Jan 05 19:00:00 2027 GMT")
        );
    }
}
