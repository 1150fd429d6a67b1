//! Phase 5, the integration: HTTP (directly or through a VPC link), MOCK, a WebAssembly
//! function (AWS_PROXY), or AWS (Lambda without proxy), for one routed request.

use super::{collect, Served, Shared};
use crate::aws::gateway_response::GatewayError;
use crate::gateway::integrations::{self, RequestCx};
use crate::gateway::outbound::Reach;
use crate::gateway::snapshot::Snapshot;
use crate::model::IntegrationType;
use crate::net::body::{Body, MAX_BODY_BYTES};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use std::sync::Arc;

/// The VPC link an integration with `connectionType: VPC_LINK` goes through (its
/// `connectionId`, stage variables substituted, names a link by id or name). A link gw does not
/// have: the URI is called directly, as before there were links, and the log says how to make it.
fn vpc_link(
    shared: &Shared,
    snapshot: &Snapshot,
    request: &RequestCx<'_>,
    integration: &crate::model::Integration,
) -> Option<Arc<crate::gateway::links::Pool>> {
    if !integration.connection_type.eq_ignore_ascii_case("VPC_LINK") {
        return None;
    }
    let id = request.stage_variables_in(integration.connection_id.as_deref()?);
    let pool = shared.links.pool(snapshot, &id);
    if pool.is_none() {
        tracing::warn!(
            "VPC link {id:?} does not exist: calling the integration's URI directly (gw vpc-link create NAME --target HOST:PORT)"
        );
    }
    pool
}

pub(super) async fn integrate<'s>(
    shared: &Shared,
    snapshot: &'s Snapshot,
    request: &RequestCx<'_>,
    integration: &crate::model::Integration,
    body: Body,
) -> Result<Served<'s>, GatewayError> {
    match integration.kind {
        IntegrationType::HttpProxy | IntegrationType::Http => {
            let link = vpc_link(shared, snapshot, request, integration);
            let (response, relayed) = integrations::http::forward(
                request,
                integration,
                &shared.client,
                limit(body),
                link,
                &shared.links,
            )
            .await?;
            Ok(Served {
                response,
                relayed,
                function: None,
            })
        }
        IntegrationType::Mock => {
            use http_body::Body as _;
            // The body is read only when the request template looks at it (a mock answers
            // without waiting for an upload it ignores).
            let bytes = if body.is_end_stream() || !integrations::mock::reads_body(integration) {
                Bytes::new()
            } else {
                collect(body).await?
            };
            integrations::mock::respond(request, integration, &String::from_utf8_lossy(&bytes))
                .map(Served::new)
        }
        IntegrationType::AwsProxy => {
            let bytes = collect(body).await?;
            let (response, function) = integrations::function::invoke(
                request,
                integration,
                reach(shared, snapshot),
                bytes,
            )
            .await?;
            Ok(Served {
                response,
                relayed: None,
                function: Some(function),
            })
        }
        IntegrationType::Aws => {
            let bytes = collect(body).await?;
            let (response, function) =
                integrations::lambda::invoke(request, integration, reach(shared, snapshot), bytes)
                    .await?;
            Ok(Served {
                response,
                relayed: None,
                function,
            })
        }
    }
}

/// What the functions a request invokes can reach with outgoing requests.
pub(super) fn reach<'l, 's>(shared: &'l Shared, snapshot: &'s Snapshot) -> Reach<'l, 's> {
    Reach {
        links: &shared.links,
        snapshot,
    }
}

/// The request body, failing with a length-limit error past API Gateway's 10 MB.
pub(super) fn limit(body: Body) -> Body {
    use http_body::Body as _;
    if body.is_end_stream() {
        return body;
    }
    Limited::new(body, MAX_BODY_BYTES).boxed()
}
