//! TestInvokeMethod's run: one request through an API as it is now, not as deployed, on a
//! stage of its own (`test-invoke-stage`, with the call's stage variables). It takes the same
//! phases as a stage request, minus admission: as on AWS, a test invocation is not authorized,
//! needs no API key and is not throttled, counted in the metrics or access-logged.

use super::{serve_located, Admission, Located, Peer, RequestContext, Shared};
use crate::gateway::snapshot::{LiveApi, LiveDeployment, LiveStage};
use crate::model::RestApi;
use crate::net::body::Body;
use http::{Request, Response};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The stage name a test invocation reports (`$context.stage`), as AWS's.
pub const TEST_STAGE: &str = "test-invoke-stage";

/// Run `req` through `api` as it is. The answer is whole: headers the backend relayed are in it.
pub async fn test_invoke(
    shared: &Shared,
    api: RestApi,
    stage_variables: BTreeMap<String, String>,
    req: Request<Body>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let snapshot = shared.snapshot.current();
    let peer = Peer {
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        ip: "test-invoke-source-ip".into(),
        local_port: 443,
        tls: None,
    };
    let live_api = LiveApi {
        id: api.id.clone(),
        name: api.name.clone(),
        stages: Default::default(),
    };
    let deployment = Arc::new(LiveDeployment::compile(
        &live_api.id,
        "test-invoke-deployment-id",
        api,
    ));
    let stage = LiveStage {
        name: TEST_STAGE.into(),
        production: deployment,
        variables: Arc::new(stage_variables),
        canary: None,
        throttles: HashMap::new(),
        access_log: None,
        metrics_keys: [0, 0],
    };
    let mut cx = RequestContext::new(&parts, &peer);
    let located = Located {
        api: &live_api,
        stage: &stage,
        deployment: &stage.production,
        variables: &stage.variables,
        is_canary: false,
    };
    cx.located = Some(located);
    match serve_located(
        shared,
        &snapshot,
        &mut cx,
        located,
        body,
        Admission::TestInvoke,
    )
    .await
    {
        Ok(mut served) => {
            if let Some(relayed) = served.relayed.take() {
                crate::net::headers::materialize(&mut served.response, relayed);
            }
            served.response
        }
        Err(err) => cx.render(&err),
    }
}
