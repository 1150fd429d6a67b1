//! gw's own control surface, under `/_gw/` on the stage listener: `GET /_gw/health` now;
//! metrics and a dashboard are mounted here as they come. An axum [`Router`]: typed handlers,
//! JSON answers, and gw's error shape for every path it does not know.
//!
//! Architecture invariant: the surface reads what the server exposes to it ([`Surface`]); it
//! never touches the data plane's request path.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

/// What the surface can see of the running server.
pub struct Surface {
    /// gw's version (`CARGO_PKG_VERSION`).
    pub version: &'static str,
    /// When the server started.
    pub started: std::time::Instant,
    /// The store generation this server serves now.
    pub generation: Box<dyn Fn() -> i64 + Send + Sync>,
}

/// The `/_gw/` routes.
pub fn router(surface: Arc<Surface>) -> Router {
    Router::new()
        .route("/_gw/health", get(health))
        .fallback(unknown)
        .with_state(surface)
}

/// `GET /_gw/health`: 200 while the server serves, with what it serves.
async fn health(State(surface): State<Arc<Surface>>) -> Response {
    Json(json!({
        "status": "ok",
        "version": surface.version,
        "generation": (surface.generation)(),
        "uptimeSeconds": surface.started.elapsed().as_secs(),
    }))
    .into_response()
}

async fn unknown(uri: axum::http::Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "message": format!("gw has no control endpoint {}; try /_gw/health", uri.path())
        })),
    )
        .into_response()
}
