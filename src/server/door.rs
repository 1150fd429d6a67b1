//! The front door: per request, which plane answers. In this order:
//! 1. a call of the AWS management API (SigV4-signed for the `apigateway` service, as the AWS
//!    CLI, boto3 and Terraform send it) → [`crate::management`];
//! 2. a call of gw's own control surface under `/_gw/` → [`surface`](super::surface);
//! 3. everything else is a stage request → the data plane, [`crate::gateway::dispatch`].
//!
//! Architecture invariant: the door is the only code that knows all three planes; the planes do
//! not import each other. It decides from the request head alone and keeps no state.

use crate::aws::gateway_response::{self, ErrorContext};
use crate::gateway::dispatch::{self, Answer, GatewayFields, Peer, Shared};
use crate::management::{self, Management};
use crate::net::body::{self, Body};
use http::{HeaderMap, Request};
use http_body_util::BodyExt;
use std::sync::Arc;

/// The three planes behind the door.
pub struct Door {
    /// The data plane of this worker.
    pub gateway: Shared,
    pub management: Arc<Management>,
    /// gw's control surface (`/_gw/...`).
    pub surface: axum::Router,
}

/// Which plane answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    Management,
    Surface,
    Gateway,
}

/// The plane for a request head.
pub fn plane(headers: &HeaderMap, path: &str) -> Plane {
    if is_management_request(headers) {
        Plane::Management
    } else if path == "/_gw" || path.starts_with("/_gw/") {
        Plane::Surface
    } else {
        Plane::Gateway
    }
}

/// Whether a request is a management call: SigV4-signed for the `apigateway` service.
pub fn is_management_request(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.starts_with("AWS4-HMAC-SHA256") && a.contains("/apigateway/aws4_request")
        })
}

/// Answer one request.
pub async fn handle(door: &Door, req: Request<Body>, peer: &Peer) -> Answer {
    match plane(req.headers(), req.uri().path()) {
        Plane::Gateway => dispatch::handle(&door.gateway, req, peer).await,
        Plane::Management => {
            let (parts, body) = req.into_parts();
            let test_invoke = management::test_invoke::target(&parts.method, &parts.uri).is_some();
            let response = match dispatch::collect(body).await {
                // TestInvokeMethod runs the method through the data plane.
                Ok(bytes) if test_invoke => {
                    match management::test_invoke::prepare(&door.management, parts, bytes).await {
                        Ok((run, log)) => {
                            let answer = dispatch::test_invoke(
                                &door.gateway,
                                run.api,
                                run.stage_variables,
                                run.request,
                            )
                            .await;
                            management::test_invoke::answer(log, answer).await
                        }
                        Err(refused) => refused,
                    }
                }
                Ok(bytes) => management::handle(&door.management, parts, bytes).await,
                Err(e) => gateway_response::render(&e, None, &ErrorContext::default()),
            };
            own(response)
        }
        Plane::Surface => {
            use tower::ServiceExt as _;
            let mut req = req.map(axum::body::Body::new);
            // The dashboard's actions are taken only from this machine.
            req.extensions_mut()
                .insert(super::surface::ClientAddr(peer.addr));
            let response = match door.surface.clone().oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            // The surface's answers are small and whole; the data plane's body type is `Sync`.
            let (parts, answer) = response.into_parts();
            let bytes = answer
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            own(http::Response::from_parts(parts, body::full(bytes)))
        }
    }
}

/// An answer gw made itself, outside any API.
fn own(response: http::Response<Body>) -> Answer {
    Answer {
        response,
        relayed: None,
        fields: GatewayFields::request_id_only(),
    }
}
