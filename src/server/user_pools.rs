//! A local user pool's public side under `/_gw/user-pools/POOL/` (name or id): its JWKS and
//! OpenID configuration, so code that checks Cognito tokens itself can find gw's keys.

use super::dashboard::{refuse, status_of};
use super::surface::Surface;
use crate::control;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;

/// `GET /_gw/user-pools/{pool}/.well-known/jwks.json`: a local user pool's public keys.
pub async fn jwks(
    State(surface): State<Arc<Surface>>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(pool)) = path else {
        return refuse(StatusCode::BAD_REQUEST, "bad path");
    };
    let store = surface.store.clone();
    match tokio::task::spawn_blocking(move || {
        let p = control::user_pools::find_user_pool(&store, &pool)?;
        control::user_pools::jwks(&p)
    })
    .await
    {
        Ok(Ok(jwks)) => Json(jwks).into_response(),
        Ok(Err(e)) => refuse(status_of(&e), e.to_string()),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET /_gw/user-pools/{pool}/.well-known/openid-configuration`: what an OpenID client needs to
/// check the pool's tokens (the issuer is Cognito's URL for the pool; the keys are served here).
pub async fn openid(
    State(surface): State<Arc<Surface>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(pool)) = path else {
        return refuse(StatusCode::BAD_REQUEST, "bad path");
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost:4566")
        .to_string();
    let store = surface.store.clone();
    match tokio::task::spawn_blocking(move || control::user_pools::find_user_pool(&store, &pool))
        .await
    {
        Ok(Ok(p)) => Json(json!({
            "issuer": crate::aws::jwt::cognito_issuer(&p.id),
            "jwks_uri": format!("http://{host}/_gw/user-pools/{}/.well-known/jwks.json", p.id),
            "response_types_supported": ["code", "token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "phone", "profile"],
        }))
        .into_response(),
        Ok(Err(e)) => refuse(status_of(&e), e.to_string()),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
