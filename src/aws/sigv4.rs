//! AWS Signature Version 4 verification for management calls (`gw serve --require-sigv4`).
//!
//! The canonical request follows AWS's documentation and botocore's signer for every service but
//! S3: the canonical URI is the request path percent-encoded *again* (botocore quotes the
//! already-encoded path with `safe='/~'`), the canonical query is the decoded pairs re-encoded
//! with AWS's unreserved set and sorted, the canonical headers are the `SignedHeaders` (values
//! trimmed, inner whitespace collapsed), and the payload hash is `x-amz-content-sha256` when sent,
//! else the SHA-256 of the body.
//!
//! The request date is not checked against the clock (AWS allows 5 minutes of skew): a local
//! emulator should not fail because a VM's clock drifted. The signature still covers the date.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// Everything but AWS's unreserved characters `A-Za-z0-9-_.~`.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same, keeping `/` (for the canonical URI).
const PATH: &AsciiSet = &STRICT.remove(b'/');

/// Why a request was refused; each maps to AWS's 403 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigError {
    /// `UnrecognizedClientException`: the access key is not the configured one.
    UnknownKey,
    /// `InvalidSignatureException`: the signature does not match.
    BadSignature,
    /// `IncompleteSignatureException`: the Authorization header is malformed.
    Incomplete(String),
}

struct Authorization<'a> {
    access_key: &'a str,
    /// `date/region/service/aws4_request`.
    scope: String,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, SigError> {
    let rest = header
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or_else(|| SigError::Incomplete("Unsupported signature algorithm".into()))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = |what: &str| {
        SigError::Incomplete(format!(
            "Authorization header requires '{what}' parameter. Authorization={header}"
        ))
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = parts.as_slice() else {
        return Err(SigError::Incomplete(format!(
            "Credential should be scoped to a valid region, not '{credential}'. "
        )));
    };
    if *terminator != "aws4_request" {
        return Err(SigError::Incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
        )));
    }
    Ok(Authorization {
        access_key,
        scope: format!("{date}/{region}/{service}/{terminator}"),
        date,
        region,
        service,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC-SHA256 accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn canonical_uri(raw_path: &str) -> String {
    if raw_path.is_empty() {
        return "/".into();
    }
    utf8_percent_encode(raw_path, PATH).to_string()
}

fn canonical_query(raw_query: Option<&str>) -> String {
    let Some(q) = raw_query.filter(|q| !q.is_empty()) else {
        return String::new();
    };
    let enc = |s: &str| {
        let decoded = percent_decode_str(s).decode_utf8_lossy();
        utf8_percent_encode(&decoded, STRICT).to_string()
    };
    let mut pairs: Vec<(String, String)> = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (enc(k), enc(v))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn canonical_header_value(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn sign(
    auth: &Authorization,
    method: &str,
    raw_path: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
) -> String {
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&canonical_header_value(headers, name));
        canonical_headers.push('\n');
    }
    let payload_hash = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| hex::encode(Sha256::digest(body)));
    let canonical_request = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        canonical_uri(raw_path),
        canonical_query(raw_query),
        auth.signed_headers.join(";"),
    );
    let amz_date = headers
        .get("x-amz-date")
        .or_else(|| headers.get(http::header::DATE))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        auth.scope,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    let k_region = hmac(&k_date, auth.region.as_bytes());
    let k_service = hmac(&k_region, auth.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

/// Check a request's SigV4 signature against the one configured key.
pub fn verify(
    method: &str,
    raw_path: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    access_key: &str,
    secret: &str,
) -> Result<(), SigError> {
    let header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| SigError::Incomplete("Missing Authentication Token".into()))?;
    let auth = parse_authorization(header)?;
    if auth.access_key != access_key {
        return Err(SigError::UnknownKey);
    }
    let want = sign(&auth, method, raw_path, raw_query, headers, body, secret);
    // Compare without an early exit, so timing does not leak how much matched.
    let got = auth.signature.as_bytes();
    let same = want.len() == got.len()
        && want
            .as_bytes()
            .iter()
            .zip(got)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(SigError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example (the "get-vanilla-query-order-key-case" style request from the
    /// SigV4 test suite): GET / with two query parameters, service `service`, us-east-1.
    #[test]
    fn aws_test_suite_vanilla_query_order() {
        let mut h = HeaderMap::new();
        h.insert("host", "example.amazonaws.com".parse().unwrap());
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        let sig = "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500";
        h.insert(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}")
                .parse()
                .unwrap(),
        );
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        assert_eq!(
            verify(
                "GET",
                "/",
                Some("Param2=value2&Param1=value1"),
                &h,
                b"",
                "AKIDEXAMPLE",
                secret
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                "GET",
                "/",
                Some("Param2=value2&Param1=value1"),
                &h,
                b"",
                "AKIDEXAMPLE",
                "wrong"
            ),
            Err(SigError::BadSignature)
        );
        assert_eq!(
            verify(
                "GET",
                "/",
                Some("Param2=value2&Param1=value1"),
                &h,
                b"",
                "OTHER",
                secret
            ),
            Err(SigError::UnknownKey)
        );
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_uri("/restapis/a%20b"), "/restapis/a%2520b");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(
            canonical_query(Some("mode=import&basepath=prepend&failonwarnings=false")),
            "basepath=prepend&failonwarnings=false&mode=import"
        );
        assert_eq!(canonical_query(Some("a=%7e&b")), "a=~&b=");
    }
}
