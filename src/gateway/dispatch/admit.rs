//! Admission: what a routed request must pass before its integration runs — an `AWS_IAM`
//! signature, an API key within its usage plan, the stage's method throttle. (Lambda
//! authorizers are their own room, [`crate::gateway::authorizer`].)

use super::{collect, Shared};
use crate::aws::gateway_response::{GatewayError, ResponseType};
use crate::gateway::snapshot::{LiveDeployment, LiveStage, Snapshot};
use crate::net::body::{self, Body};
use http::HeaderMap;

/// A method with `apiKeyRequired`: the key (from `x-api-key`, or from the authorizer when the
/// API's `apiKeySource` is `AUTHORIZER`) must be an enabled key of a usage plan of this stage,
/// within the plan's throttle and quota.
pub(super) async fn admit_api_key(
    shared: &Shared,
    snapshot: &Snapshot,
    deployment: &LiveDeployment,
    stage: &str,
    headers: &HeaderMap,
    authorized: Option<&crate::aws::lambda::Authorized>,
    matched: &crate::gateway::router::Matched<'_>,
) -> Result<(), GatewayError> {
    let from_authorizer = deployment
        .api
        .api_key_source
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("AUTHORIZER"));
    let key = if from_authorizer {
        authorized.and_then(|a| a.grant.usage_identifier_key.as_deref())
    } else {
        headers.get("x-api-key").and_then(|v| v.to_str().ok())
    };
    let Some(grant) = key.and_then(|k| snapshot.api_key(&deployment.api_id, stage, k)) else {
        return Err(GatewayError::new(ResponseType::InvalidApiKey));
    };
    let (now, utc) = (std::time::Instant::now(), chrono::Utc::now());
    admit_grant(shared, grant, matched, now, utc).await?;
    shared.limiter.count_use(&grant.id, utc);
    Ok(())
}

/// The grant's throttle (the method's own, when the plan has one for it) and quota.
async fn admit_grant(
    shared: &Shared,
    grant: &crate::gateway::snapshot::KeyGrant,
    matched: &crate::gateway::router::Matched<'_>,
    now: std::time::Instant,
    utc: chrono::DateTime<chrono::Utc>,
) -> Result<(), GatewayError> {
    if !grant.methods.is_empty() {
        let key = format!("{}/{}", matched.resource.path, matched.method.http_method);
        if let Some(method) = grant.methods.get(&key) {
            // The method's own bucket, in place of the plan's; the quota stays the plan's.
            limit(shared, &format!("{} {key}", grant.id), method, now, utc).await?;
            let quota = crate::gateway::throttle::Limits {
                throttle: None,
                ..grant.limits
            };
            if quota.is_empty() {
                return Ok(());
            }
            return limit(shared, &grant.id, &quota, now, utc).await;
        }
    }
    if grant.limits.is_empty() {
        return Ok(());
    }
    limit(shared, &grant.id, &grant.limits, now, utc).await
}

/// One check of `key`'s limits: in the counters the nodes share (`--counters`), else this
/// server's own.
async fn limit(
    shared: &Shared,
    key: &str,
    limits: &crate::gateway::throttle::Limits,
    now: std::time::Instant,
    utc: chrono::DateTime<chrono::Utc>,
) -> Result<(), GatewayError> {
    match &shared.counters {
        Some(remote) => {
            remote
                .admit(key, limits, utc, || {
                    shared.limiter.admit(key, limits, now, utc)
                })
                .await
        }
        None => shared.limiter.admit(key, limits, now, utc),
    }
}

/// An `AWS_IAM` method: a request without a signature gets 403 "Missing Authentication Token"
/// (an `Authorization` that is not SigV4, AWS's signature complaint); with `gw serve
/// --require-sigv4 KEY:SECRET` the signature is verified against that key (the body is read to
/// do so and passed on), otherwise any well-formed signature is accepted, as for management
/// calls. A presigned URL (`X-Amz-Signature` in the query) is accepted without verification.
pub(super) async fn check_iam(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Body,
) -> Result<Body, GatewayError> {
    let presigned = parts
        .uri
        .query()
        .is_some_and(|q| crate::aws::query::pairs(q).any(|(k, _)| k == "X-Amz-Signature"));
    if presigned {
        return Ok(body);
    }
    let signed = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS4-HMAC-SHA256 "));
    if !signed {
        return Err(GatewayError::no_route(&parts.headers));
    }
    let Some((key, secret)) = &shared.require_sigv4 else {
        return Ok(body);
    };
    let bytes = collect(body).await?;
    use crate::aws::sigv4::{verify, SigError};
    let path = parts.uri.path();
    verify(
        parts.method.as_str(),
        path,
        parts.uri.query(),
        &parts.headers,
        &bytes,
        key,
        secret,
    )
    .map_err(|e| match e {
        SigError::BadSignature => GatewayError::new(ResponseType::InvalidSignature),
        SigError::UnknownKey => GatewayError {
            error_type: Some("UnrecognizedClientException"),
            ..GatewayError::with_message(
                ResponseType::InvalidSignature,
                "The security token included in the request is invalid.",
            )
        },
        SigError::Incomplete(m) => GatewayError {
            error_type: Some("IncompleteSignatureException"),
            ..GatewayError::with_message(ResponseType::MissingAuthenticationToken, m)
        },
    })?;
    Ok(body::full(bytes))
}

/// The stage's `methodSettings` throttle for the matched method (its own entry, else `*/*`):
/// a token bucket per stage and method, as API Gateway keeps one per method.
pub(super) async fn admit_method(
    shared: &Shared,
    api_id: &str,
    stage: &LiveStage,
    matched: &crate::gateway::router::Matched<'_>,
) -> Result<(), GatewayError> {
    let key = format!(
        "{}/{}",
        matched.resource.path.trim_start_matches('/'),
        matched.method.http_method
    );
    let Some(limits) = stage
        .throttles
        .get(&key)
        .or_else(|| stage.throttles.get("*/*"))
    else {
        return Ok(());
    };
    limit(
        shared,
        &format!("stage {api_id}/{} {key}", stage.name),
        limits,
        std::time::Instant::now(),
        chrono::Utc::now(),
    )
    .await
}
