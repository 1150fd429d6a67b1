//! The management API's route table: AWS's REST paths, an axum `Router` whose handlers run one
//! operation each. An operation is a plain function over the store, the decoded call and its
//! typed path parameters; [`op`] runs it off the async workers (SQLite blocks) and, for a
//! write that succeeded, makes the change live before the caller hears back.

use super::{
    apis, authorizers, documentation, domains, embeds, find_api, find_method, find_resource,
    gateway_responses, keys, links, resources, stages, tags, updates, validators, wire, ApiError,
    Ops, Reply, Req, Result,
};
use crate::store::Store;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

type Answer = Pin<Box<dyn Future<Output = Response> + Send>>;

/// An operation with path parameters `P` (a `String`, or a tuple of them, in path order).
type Operation<P> = fn(&Store, &Req, P) -> Result<Reply>;

/// The axum handler for an operation with path parameters.
fn op<P>(
    f: Operation<P>,
) -> impl Fn(State<Arc<Ops>>, Path<P>, Method, Uri, HeaderMap, Bytes) -> Answer
       + Clone
       + Send
       + Sync
       + 'static
where
    P: serde::de::DeserializeOwned + Send + 'static,
{
    move |State(ops), Path(params), method, uri, headers, body| {
        Box::pin(run(ops, method, uri, headers, body, move |s, r| {
            f(s, r, params)
        }))
    }
}

/// The axum handler for an operation without path parameters.
fn op0(
    f: fn(&Store, &Req) -> Result<Reply>,
) -> impl Fn(State<Arc<Ops>>, Method, Uri, HeaderMap, Bytes) -> Answer + Clone + Send + Sync + 'static
{
    move |State(ops), method, uri, headers, body| Box::pin(run(ops, method, uri, headers, body, f))
}

async fn run(
    ops: Arc<Ops>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    call: impl FnOnce(&Store, &Req) -> Result<Reply> + Send + 'static,
) -> Response {
    let writes = !matches!(method, Method::GET | Method::HEAD);
    let answer = tokio::task::spawn_blocking(move || {
        let req = Req {
            query: uri
                .query()
                .map(|q| {
                    crate::aws::query::pairs(q)
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            headers: &headers,
            body: &body,
        };
        let result = call(&ops.store, &req);
        // What the caller just changed is served by the time it hears back.
        if writes && result.is_ok() {
            if let Err(e) = (ops.sync)() {
                tracing::error!("reload after a management call failed: {e}");
            }
        }
        result
    })
    .await;
    match answer {
        Ok(Ok(reply)) => reply.into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(format!("the management call failed: {e}")).into_response(),
    }
}

/// DELETE /restapis/{id}/stages/{name}/cache/authorizers: FlushStageAuthorizersCache — the
/// server's cached authorizer answers for the stage are forgotten.
async fn flush_authorizers(
    State(ops): State<Arc<Ops>>,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    let checked = {
        let ops = ops.clone();
        let (id, name) = (id.clone(), name.clone());
        tokio::task::spawn_blocking(move || stages::check_stage(&ops.store, &id, &name)).await
    };
    match checked {
        Ok(Ok(())) => {
            if let Some(flush) = ops.hooks.flush_authorizers.clone() {
                // It may reach Redis (`--authorizer-cache redis`): off the runtime.
                let _ = tokio::task::spawn_blocking(move || flush(&id, &name)).await;
            }
            Reply::accepted().into_response()
        }
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(format!("the management call failed: {e}")).into_response(),
    }
}

/// GET /usageplans/{id}/usage: GetUsage — the plan's keys' requests per day, from the server's
/// counters.
async fn get_usage(State(ops): State<Arc<Ops>>, Path(id): Path<String>, uri: Uri) -> Response {
    let answer = tokio::task::spawn_blocking(move || {
        let query: Vec<(String, String)> = uri
            .query()
            .map(|q| {
                crate::aws::query::pairs(q)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let usage = ops
            .hooks
            .usage
            .as_ref()
            .map(|read| read(&id))
            .unwrap_or_default();
        let headers = HeaderMap::new();
        let req = Req {
            query,
            headers: &headers,
            body: &[],
        };
        keys::get_usage(&ops.store, &req, &id, &usage)
    })
    .await;
    match answer {
        Ok(Ok(reply)) => reply.into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::internal(format!("the management call failed: {e}")).into_response(),
    }
}

/// The path with empty segments removed (`/restapis//x/` → `/restapis/x`), as AWS's front end
/// reads it.
pub(super) fn normalize(uri: &Uri) -> Uri {
    let path = uri.path();
    if !path.contains("//") && (path.len() <= 1 || !path.ends_with('/')) {
        return uri.clone();
    }
    let mut clean = String::with_capacity(path.len() + 1);
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        clean.push('/');
        clean.push_str(seg);
    }
    if clean.is_empty() {
        clean.push('/');
    }
    if let Some(q) = uri.query() {
        clean.push('?');
        clean.push_str(q);
    }
    clean.parse().unwrap_or_else(|_| uri.clone())
}

/// Every operation gw implements, at AWS's paths.
pub(super) fn router(ops: Arc<Ops>) -> Router {
    Router::new()
        // REST APIs
        .route(
            "/restapis",
            post(op0(apis::create_or_import)).get(op0(apis::get_rest_apis)),
        )
        .route(
            "/restapis/{id}",
            get(op(|s, _, id: String| {
                Ok(Reply::ok(wire::rest_api(&find_api(s, &id)?)))
            }))
            .put(op(|s, r, id: String| apis::put_rest_api(s, r, &id)))
            .patch(op(|s, r, id: String| apis::update_rest_api(s, r, &id)))
            .delete(op(|s, _, id: String| apis::delete_rest_api(s, &id))),
        )
        // Resources, methods, integrations and their responses
        .route(
            "/restapis/{id}/resources",
            get(op(|s, r, id: String| apis::get_resources(s, r, &id))),
        )
        .route(
            "/restapis/{id}/resources/{rid}",
            get(op(|s, r, (id, rid): (String, String)| {
                let api = find_api(s, &id)?;
                let res = find_resource(&api, &rid)?;
                Ok(Reply::ok(wire::resource(res, embeds(r, "methods"))))
            }))
            .post(op(|s, r, (id, parent): (String, String)| {
                resources::create_resource(s, r, &id, &parent)
            }))
            .delete(op(|s, _, (id, rid): (String, String)| {
                resources::delete_resource(s, &id, &rid)
            }))
            .patch(op(|s, r, (id, rid): (String, String)| {
                updates::update_resource(s, r, &id, &rid)
            })),
        )
        .route(
            "/restapis/{id}/resources/{rid}/methods/{verb}",
            get(op(|s, _, (id, rid, verb): (String, String, String)| {
                let api = find_api(s, &id)?;
                let res = find_resource(&api, &rid)?;
                Ok(Reply::ok(wire::method(res, find_method(res, &verb)?)))
            }))
            .put(op(|s, r, (id, rid, verb): (String, String, String)| {
                resources::put_method(s, r, &id, &rid, &verb)
            }))
            .delete(op(|s, _, (id, rid, verb): (String, String, String)| {
                resources::delete_method(s, &id, &rid, &verb)
            }))
            .patch(op(|s, r, (id, rid, verb): (String, String, String)| {
                updates::update_method(s, r, &id, (&rid, &verb))
            })),
        )
        .route(
            "/restapis/{id}/resources/{rid}/methods/{verb}/responses/{code}",
            get(op(
                |s, _, (id, rid, verb, code): (String, String, String, String)| {
                    resources::get_method_response(s, &id, (&rid, &verb, &code))
                },
            ))
            .put(op(
                |s, r, (id, rid, verb, code): (String, String, String, String)| {
                    resources::put_method_response(s, r, &id, (&rid, &verb, &code))
                },
            ))
            .delete(op(
                |s, _, (id, rid, verb, code): (String, String, String, String)| {
                    resources::delete_method_response(s, &id, (&rid, &verb, &code))
                },
            ))
            .patch(op(
                |s, r, (id, rid, verb, code): (String, String, String, String)| {
                    updates::update_method_response(s, r, &id, (&rid, &verb, &code))
                },
            )),
        )
        .route(
            "/restapis/{id}/resources/{rid}/methods/{verb}/integration",
            get(op(|s, _, (id, rid, verb): (String, String, String)| {
                resources::get_integration(s, &id, &rid, &verb)
            }))
            .put(op(|s, r, (id, rid, verb): (String, String, String)| {
                resources::put_integration(s, r, &id, &rid, &verb)
            }))
            .delete(op(|s, _, (id, rid, verb): (String, String, String)| {
                resources::delete_integration(s, &id, &rid, &verb)
            }))
            .patch(op(|s, r, (id, rid, verb): (String, String, String)| {
                updates::update_integration(s, r, &id, (&rid, &verb))
            })),
        )
        .route(
            "/restapis/{id}/resources/{rid}/methods/{verb}/integration/responses/{code}",
            get(op(
                |s, _, (id, rid, verb, code): (String, String, String, String)| {
                    resources::get_integration_response(s, &id, (&rid, &verb, &code))
                },
            ))
            .put(op(
                |s, r, (id, rid, verb, code): (String, String, String, String)| {
                    resources::put_integration_response(s, r, &id, (&rid, &verb, &code))
                },
            ))
            .delete(op(
                |s, _, (id, rid, verb, code): (String, String, String, String)| {
                    resources::delete_integration_response(s, &id, (&rid, &verb, &code))
                },
            ))
            .patch(op(
                |s, r, (id, rid, verb, code): (String, String, String, String)| {
                    updates::update_integration_response(s, r, &id, (&rid, &verb, &code))
                },
            )),
        )
        // Gateway responses
        .route(
            "/restapis/{id}/gatewayresponses",
            get(op(|s, _, id: String| {
                gateway_responses::get_gateway_responses(s, &id)
            })),
        )
        .route(
            "/restapis/{id}/gatewayresponses/{kind}",
            get(op(|s, _, (id, kind): (String, String)| {
                gateway_responses::get_gateway_response(s, &id, &kind)
            }))
            .put(op(|s, r, (id, kind): (String, String)| {
                gateway_responses::put_gateway_response(s, r, &id, &kind)
            }))
            .patch(op(|s, r, (id, kind): (String, String)| {
                gateway_responses::update_gateway_response(s, r, &id, &kind)
            }))
            .delete(op(|s, _, (id, kind): (String, String)| {
                gateway_responses::delete_gateway_response(s, &id, &kind)
            })),
        )
        // Stage caches: gw keeps no response cache; the authorizer cache is the server's.
        .route(
            "/restapis/{id}/stages/{name}/cache/data",
            axum::routing::delete(op(|s, _, (id, name): (String, String)| {
                stages::check_stage(s, &id, &name)?;
                Ok(Reply::accepted())
            })),
        )
        .route(
            "/restapis/{id}/stages/{name}/cache/authorizers",
            axum::routing::delete(flush_authorizers),
        )
        // Account
        .route(
            "/account",
            get(op0(|s, _| tags::get_account(s))).patch(op0(tags::update_account)),
        )
        // Tags
        .route(
            "/tags/{*arn}",
            get(op(|s, _, arn: String| tags::get_tags(s, &arn)))
                .put(op(|s, r, arn: String| tags::tag_resource(s, r, &arn)))
                .delete(op(|s, r, arn: String| tags::untag_resource(s, r, &arn))),
        )
        // API keys and usage plans
        .route(
            "/apikeys",
            post(op0(keys::create_api_key)).get(op0(keys::get_api_keys)),
        )
        .route(
            "/apikeys/{id}",
            get(op(|s, r, id: String| keys::get_api_key(s, r, &id)))
                .patch(op(|s, r, id: String| keys::update_api_key(s, r, &id)))
                .delete(op(|s, _, id: String| keys::delete_api_key(s, &id))),
        )
        .route(
            "/usageplans",
            post(op0(keys::create_usage_plan)).get(op0(keys::get_usage_plans)),
        )
        .route(
            "/usageplans/{id}",
            get(op(|s, _, id: String| keys::get_usage_plan(s, &id)))
                .patch(op(|s, r, id: String| keys::update_usage_plan(s, r, &id)))
                .delete(op(|s, _, id: String| keys::delete_usage_plan(s, &id))),
        )
        .route("/usageplans/{id}/usage", get(get_usage))
        .route(
            "/usageplans/{id}/keys",
            post(op(|s, r, id: String| {
                keys::create_usage_plan_key(s, r, &id)
            }))
            .get(op(|s, r, id: String| keys::get_usage_plan_keys(s, r, &id))),
        )
        .route(
            "/usageplans/{id}/keys/{kid}",
            get(op(|s, _, (id, kid): (String, String)| {
                keys::get_usage_plan_key(s, &id, &kid)
            }))
            .delete(op(|s, _, (id, kid): (String, String)| {
                keys::delete_usage_plan_key(s, &id, &kid)
            })),
        )
        // Request validators and models
        .route(
            "/restapis/{id}/requestvalidators",
            post(op(|s, r, id: String| {
                validators::create_request_validator(s, r, &id)
            }))
            .get(op(|s, r, id: String| {
                validators::get_request_validators(s, r, &id)
            })),
        )
        .route(
            "/restapis/{id}/requestvalidators/{vid}",
            get(op(|s, _, (id, vid): (String, String)| {
                validators::get_request_validator(s, &id, &vid)
            }))
            .patch(op(|s, r, (id, vid): (String, String)| {
                validators::update_request_validator(s, r, &id, &vid)
            }))
            .delete(op(|s, _, (id, vid): (String, String)| {
                validators::delete_request_validator(s, &id, &vid)
            })),
        )
        // VPC links
        .route(
            "/vpclinks",
            post(op0(links::create_link)).get(op0(links::get_links)),
        )
        .route(
            "/vpclinks/{id}",
            get(op(|s, _, id: String| links::get_link(s, &id)))
                .patch(op(|s, r, id: String| links::update_link(s, r, &id)))
                .delete(op(|s, _, id: String| links::delete_link(s, &id))),
        )
        // Custom domain names and base-path mappings
        .route(
            "/domainnames",
            post(op0(domains::create_domain)).get(op0(domains::get_domains)),
        )
        .route(
            "/domainnames/{name}",
            get(op(|s, _, name: String| domains::get_domain(s, &name)))
                .delete(op(|s, _, name: String| domains::delete_domain(s, &name))),
        )
        .route(
            "/domainnames/{name}/basepathmappings",
            post(op(|s, r, name: String| {
                domains::create_mapping(s, r, &name)
            }))
            .get(op(|s, r, name: String| domains::get_mappings(s, r, &name))),
        )
        .route(
            "/domainnames/{name}/basepathmappings/{path}",
            get(op(|s, _, (name, path): (String, String)| {
                domains::get_mapping(s, &name, &path)
            }))
            .patch(op(|s, r, (name, path): (String, String)| {
                domains::update_mapping(s, r, &name, &path)
            }))
            .delete(op(|s, _, (name, path): (String, String)| {
                domains::delete_mapping(s, &name, &path)
            })),
        )
        // Documentation parts and versions
        .route(
            "/restapis/{id}/documentation/parts",
            post(op(|s, r, id: String| documentation::create_part(s, r, &id)))
                .get(op(|s, r, id: String| documentation::get_parts(s, r, &id)))
                .put(op(|s, r, id: String| {
                    documentation::import_parts(s, r, &id)
                })),
        )
        .route(
            "/restapis/{id}/documentation/parts/{pid}",
            get(op(|s, _, (id, pid): (String, String)| {
                documentation::get_part(s, &id, &pid)
            }))
            .patch(op(|s, r, (id, pid): (String, String)| {
                documentation::update_part(s, r, &id, &pid)
            }))
            .delete(op(|s, _, (id, pid): (String, String)| {
                documentation::delete_part(s, &id, &pid)
            })),
        )
        .route(
            "/restapis/{id}/documentation/versions",
            post(op(|s, r, id: String| {
                documentation::create_version(s, r, &id)
            }))
            .get(op(|s, r, id: String| {
                documentation::get_versions(s, r, &id)
            })),
        )
        .route(
            "/restapis/{id}/documentation/versions/{v}",
            get(op(|s, _, (id, v): (String, String)| {
                documentation::get_version(s, &id, &v)
            }))
            .patch(op(|s, r, (id, v): (String, String)| {
                documentation::update_version(s, r, &id, &v)
            }))
            .delete(op(|s, _, (id, v): (String, String)| {
                documentation::delete_version(s, &id, &v)
            })),
        )
        .route(
            "/restapis/{id}/models",
            post(op(|s, r, id: String| validators::create_model(s, r, &id)))
                .get(op(|s, r, id: String| validators::get_models(s, r, &id))),
        )
        .route(
            "/restapis/{id}/models/{name}",
            get(op(|s, _, (id, name): (String, String)| {
                validators::get_model(s, &id, &name)
            }))
            .patch(op(|s, r, (id, name): (String, String)| {
                validators::update_model(s, r, &id, &name)
            }))
            .delete(op(|s, _, (id, name): (String, String)| {
                validators::delete_model(s, &id, &name)
            })),
        )
        // Authorizers
        .route(
            "/restapis/{id}/authorizers",
            post(op(|s, r, id: String| {
                authorizers::create_authorizer(s, r, &id)
            }))
            .get(op(|s, r, id: String| {
                authorizers::get_authorizers(s, r, &id)
            })),
        )
        .route(
            "/restapis/{id}/authorizers/{aid}",
            get(op(|s, _, (id, aid): (String, String)| {
                authorizers::get_authorizer(s, &id, &aid)
            }))
            .patch(op(|s, r, (id, aid): (String, String)| {
                authorizers::update_authorizer(s, r, &id, &aid)
            }))
            .delete(op(|s, _, (id, aid): (String, String)| {
                authorizers::delete_authorizer(s, &id, &aid)
            })),
        )
        // Deployments and stages
        .route(
            "/restapis/{id}/deployments",
            post(op(|s, r, id: String| stages::create_deployment(s, r, &id)))
                .get(op(|s, r, id: String| stages::get_deployments(s, r, &id))),
        )
        .route(
            "/restapis/{id}/deployments/{did}",
            get(op(|s, r, (id, did): (String, String)| {
                stages::get_deployment(s, r, &id, &did)
            }))
            .delete(op(|s, _, (id, did): (String, String)| {
                stages::delete_deployment(s, &id, &did)
            }))
            .patch(op(|s, r, (id, did): (String, String)| {
                updates::update_deployment(s, r, &id, &did)
            })),
        )
        .route(
            "/restapis/{id}/stages",
            post(op(|s, r, id: String| stages::create_stage(s, r, &id)))
                .get(op(|s, r, id: String| stages::get_stages(s, r, &id))),
        )
        .route(
            "/restapis/{id}/stages/{name}",
            get(op(|s, _, (id, name): (String, String)| {
                stages::get_stage(s, &id, &name)
            }))
            .patch(op(|s, r, (id, name): (String, String)| {
                stages::update_stage(s, r, &id, &name)
            }))
            .delete(op(|s, _, (id, name): (String, String)| {
                stages::delete_stage(s, &id, &name)
            })),
        )
        .route(
            "/restapis/{id}/stages/{name}/exports/{kind}",
            get(op(|s, r, (id, name, kind): (String, String, String)| {
                stages::get_export(s, r, &id, &name, &kind)
            })),
        )
        .fallback(unknown)
        .method_not_allowed_fallback(unknown)
        .with_state(ops)
}

/// A call gw does not implement: AWS's `UnknownOperationException`, naming it.
async fn unknown(method: Method, uri: Uri) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        format!(
            "gw does not implement {method} {} of the API Gateway management API",
            percent_encoding::percent_decode_str(uri.path()).decode_utf8_lossy()
        ),
    )
    .into_response()
}
