//! gw's own control surface, under `/_gw/` on the stage listener: `GET /_gw/health`,
//! `GET /_gw/metrics` (Prometheus text), `GET /_gw/stats` (the same figures as JSON, with
//! histogram buckets, for `gw canary status` to sum across servers), and the dashboard
//! (`GET /_gw/` and its JSON endpoints under `/_gw/api/`, see [`dashboard`](super::dashboard)).
//! An axum [`Router`]: typed handlers, JSON answers, and gw's error shape for every path it does
//! not know.
//!
//! Architecture invariant: the surface reads what the server exposes to it ([`Surface`]); it
//! never touches the data plane's request path.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

/// What the surface can see of the running server.
pub struct Surface {
    /// gw's version (`CARGO_PKG_VERSION`).
    pub version: &'static str,
    /// When the server started.
    pub started: std::time::Instant,
    /// What the server serves now.
    pub reloader: Arc<crate::gateway::snapshot::Reloader>,
    /// The data plane's metrics, merged over the workers when read.
    pub metrics: Arc<crate::gateway::metrics::Metrics>,
    /// The state the dashboard's actions change.
    pub store: crate::store::Store,
    /// The VPC links' targets, their health and counts.
    pub links: Arc<crate::gateway::links::Links>,
    /// The shared (Redis) counters' state, with `--counters`.
    pub counters: Option<Arc<crate::gateway::counters::Status>>,
}

/// The address of the client that sent a surface request; the door puts it in the request's
/// extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

impl Surface {
    /// Every VPC link target's health and counts, and each link's fail-open count.
    fn link_stats(&self) -> (Vec<super::prometheus::LinkTargetStat>, Vec<(String, u64)>) {
        use std::sync::atomic::Ordering::Relaxed;
        let snapshot = self.reloader.current();
        let mut targets = Vec::new();
        let mut failed_open = Vec::new();
        for pool in self.links.all(&snapshot) {
            failed_open.push((pool.name.clone(), pool.failed_open.load(Relaxed)));
            for t in pool.targets().iter() {
                targets.push(super::prometheus::LinkTargetStat {
                    link: pool.name.clone(),
                    target: t.address.clone(),
                    healthy: t.is_healthy(),
                    requests: t.requests.load(Relaxed),
                    failures: t.failures.load(Relaxed),
                });
            }
        }
        (targets, failed_open)
    }

    /// Every stage's canary share, from the serving snapshot.
    fn canaries(&self) -> Vec<super::prometheus::CanaryShare> {
        let snapshot = self.reloader.current();
        let mut out = Vec::new();
        for api in snapshot.apis.values() {
            for stage in api.stages.values() {
                out.push(super::prometheus::CanaryShare {
                    api: api.id.clone(),
                    stage: stage.name.clone(),
                    deployment: stage
                        .canary
                        .as_ref()
                        .map(|c| c.deployment.deployment_id.clone())
                        .unwrap_or_default(),
                    percent: stage.canary.as_ref().map_or(0.0, |c| c.percent),
                });
            }
        }
        out.sort_by(|a, b| (&a.api, &a.stage).cmp(&(&b.api, &b.stage)));
        out
    }
}

/// The `/_gw/` routes.
pub fn router(surface: Arc<Surface>) -> Router {
    use super::dashboard;
    const STAGE: &str = "/_gw/api/apis/{api}/stages/{stage}";
    Router::new()
        .route("/_gw", get(dashboard::page))
        .route("/_gw/", get(dashboard::page))
        .route("/_gw/api/stages", get(dashboard::stages))
        .route(&format!("{STAGE}/promote"), post(dashboard::promote))
        .route(&format!("{STAGE}/rollback"), post(dashboard::rollback))
        .route(&format!("{STAGE}/canary"), post(dashboard::canary))
        .route(&format!("{STAGE}/history"), get(dashboard::history))
        .route(
            "/_gw/user-pools/{pool}/.well-known/jwks.json",
            get(super::user_pools::jwks),
        )
        .route(
            "/_gw/user-pools/{pool}/.well-known/openid-configuration",
            get(super::user_pools::openid),
        )
        .route("/_gw/health", get(health))
        .route("/_gw/api/links", get(links))
        .route("/_gw/metrics", get(metrics))
        .route("/_gw/stats", get(stats))
        .fallback(unknown)
        .method_not_allowed_fallback(wrong_method)
        .with_state(surface)
}

/// `GET /_gw/health`: 200 while the server serves, with what it serves.
async fn health(State(surface): State<Arc<Surface>>) -> Response {
    Json(json!({
        "status": "ok",
        "version": surface.version,
        "generation": surface.reloader.current().generation,
        "uptimeSeconds": surface.started.elapsed().as_secs(),
    }))
    .into_response()
}

/// `GET /_gw/api/links`: every VPC link with its targets' health, in-flight requests, requests
/// and failed connections, as this server sees them (`gw vpc-links` reads it).
async fn links(State(surface): State<Arc<Surface>>) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    let snapshot = surface.reloader.current();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let items: Vec<_> = surface
        .links
        .all(&snapshot)
        .iter()
        .map(|pool| {
            let targets: Vec<_> = pool
                .targets()
                .iter()
                .filter(|t| t.expires_ms.is_none_or(|e| e > now_ms))
                .map(|t| {
                    json!({
                        "address": t.address,
                        "healthy": t.is_healthy(),
                        "inFlight": t.in_flight.load(Relaxed),
                        "requests": t.requests.load(Relaxed),
                        "failures": t.failures.load(Relaxed),
                        "expiresMs": t.expires_ms,
                    })
                })
                .collect();
            json!({
                "id": pool.id,
                "name": pool.name,
                "balance": pool.balance.to_string(),
                "failedOpen": pool.failed_open.load(Relaxed),
                "targets": targets,
            })
        })
        .collect();
    Json(json!({ "item": items })).into_response()
}

/// `GET /_gw/metrics`: the Prometheus (OpenMetrics) text exposition.
async fn metrics(State(surface): State<Arc<Surface>>) -> Response {
    let (links, failed_open) = surface.link_stats();
    match super::prometheus::exposition(
        surface.metrics.snapshot(),
        surface.canaries(),
        links,
        failed_open,
        surface.counters.as_ref().map(|c| {
            use std::sync::atomic::Ordering::Relaxed;
            super::prometheus::SharedCounters {
                up: c.up.load(Relaxed),
                checks: c.checks.load(Relaxed),
                fallbacks: c.fallbacks.load(Relaxed),
            }
        }),
    ) {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(message) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "message": message })),
        )
            .into_response(),
    }
}

/// `GET /_gw/stats`: every series with its histogram buckets, and each stage's canary, as JSON.
async fn stats(State(surface): State<Arc<Surface>>) -> Response {
    let canaries: Vec<_> = surface
        .canaries()
        .into_iter()
        .map(|c| json!({"api": c.api, "stage": c.stage, "deployment": c.deployment, "percent": c.percent}))
        .collect();
    Json(json!({
        "series": surface.metrics.snapshot(),
        "stages": canaries,
    }))
    .into_response()
}

async fn unknown(uri: axum::http::Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "message": format!("gw has no control endpoint {}; try /_gw/ (the dashboard) or /_gw/health", uri.path())
        })),
    )
        .into_response()
}

async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let allowed = if uri.path().starts_with("/_gw/api/apis/") && !uri.path().ends_with("/history") {
        "POST"
    } else {
        "GET"
    };
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(axum::http::header::ALLOW, allowed)],
        Json(json!({
            "message": format!("{} does not take {method}; use {allowed}", uri.path())
        })),
    )
        .into_response()
}
