//! The model in AWS's rest-json shapes (botocore `apigateway/2015-07-09`): what GetRestApi,
//! GetResources, GetMethod, GetStage... return. Timestamps are epoch seconds; empty optional maps
//! and lists are left out, as AWS leaves them out.

use crate::model::{
    Deployment, Integration, IntegrationResponse, Method, MethodResponse, Resource, RestApi, Stage,
};
use serde_json::{json, Map, Value};

/// The account id gw reports (LocalStack's default), as in ARNs and "Invalid API identifier".
pub const ACCOUNT_ID: &str = "000000000000";

fn put(m: &mut Map<String, Value>, key: &str, v: impl Into<Value>) {
    m.insert(key.to_string(), v.into());
}

fn put_opt(m: &mut Map<String, Value>, key: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        put(m, key, v);
    }
}

pub fn root_resource_id(api: &RestApi) -> Option<&str> {
    api.resources
        .iter()
        .find(|r| r.path == "/")
        .map(|r| r.id.as_str())
}

pub fn rest_api(api: &RestApi) -> Value {
    let mut m = Map::new();
    put(&mut m, "id", api.id.as_str());
    put(&mut m, "name", api.name.as_str());
    put_opt(&mut m, "description", api.description.as_deref());
    put(&mut m, "createdDate", api.created_date);
    put_opt(&mut m, "version", api.version.as_deref());
    if !api.warnings.is_empty() {
        put(&mut m, "warnings", api.warnings.clone());
    }
    if !api.binary_media_types.is_empty() {
        put(&mut m, "binaryMediaTypes", api.binary_media_types.clone());
    }
    put_opt(
        &mut m,
        "minimumCompressionSize",
        api.minimum_compression_size,
    );
    put(
        &mut m,
        "apiKeySource",
        api.api_key_source.as_deref().unwrap_or("HEADER"),
    );
    let mut endpoint = Map::new();
    let types = if api.endpoint_configuration.types.is_empty() {
        vec!["EDGE".to_string()]
    } else {
        api.endpoint_configuration.types.clone()
    };
    put(&mut endpoint, "types", types);
    put(&mut endpoint, "ipAddressType", "ipv4");
    if !api.endpoint_configuration.vpc_endpoint_ids.is_empty() {
        put(
            &mut endpoint,
            "vpcEndpointIds",
            api.endpoint_configuration.vpc_endpoint_ids.clone(),
        );
    }
    put(&mut m, "endpointConfiguration", endpoint);
    put_opt(&mut m, "policy", api.policy.as_deref());
    if !api.tags.is_empty() {
        put(&mut m, "tags", json!(api.tags));
    }
    put(
        &mut m,
        "disableExecuteApiEndpoint",
        api.disable_execute_api_endpoint,
    );
    put_opt(&mut m, "rootResourceId", root_resource_id(api));
    Value::Object(m)
}

/// A resource; with `embed_methods` its methods in full (GetResources `embed=methods`), else
/// each method as `{}` as AWS lists them.
pub fn resource(r: &Resource, embed_methods: bool) -> Value {
    let mut m = Map::new();
    put(&mut m, "id", r.id.as_str());
    put_opt(&mut m, "parentId", r.parent_id.as_deref());
    put_opt(&mut m, "pathPart", r.path_part.as_deref());
    put(&mut m, "path", r.path.as_str());
    if !r.resource_methods.is_empty() {
        let methods: Map<String, Value> = r
            .resource_methods
            .iter()
            .map(|(verb, meth)| {
                let v = if embed_methods {
                    method(r, meth)
                } else {
                    json!({})
                };
                (verb.clone(), v)
            })
            .collect();
        put(&mut m, "resourceMethods", methods);
    }
    Value::Object(m)
}

/// An Authorizer as the management API answers it.
pub fn authorizer(a: &crate::model::Authorizer) -> Value {
    let mut m = Map::new();
    put(&mut m, "id", a.id.as_str());
    put(&mut m, "name", a.name.as_str());
    put(&mut m, "type", a.kind.as_str());
    if !a.provider_arns.is_empty() {
        put(&mut m, "providerARNs", json!(a.provider_arns));
    }
    put_opt(&mut m, "authType", a.auth_type.as_deref());
    put_opt(&mut m, "authorizerUri", a.authorizer_uri.as_deref());
    put_opt(
        &mut m,
        "authorizerCredentials",
        a.authorizer_credentials.as_deref(),
    );
    put_opt(&mut m, "identitySource", a.identity_source.as_deref());
    put_opt(
        &mut m,
        "identityValidationExpression",
        a.identity_validation_expression.as_deref(),
    );
    put_opt(
        &mut m,
        "authorizerResultTtlInSeconds",
        a.authorizer_result_ttl_in_seconds,
    );
    Value::Object(m)
}

pub fn method(r: &Resource, meth: &Method) -> Value {
    let mut m = Map::new();
    put(&mut m, "httpMethod", meth.http_method.as_str());
    put(
        &mut m,
        "authorizationType",
        meth.authorization_type.as_str(),
    );
    put_opt(&mut m, "authorizerId", meth.authorizer_id.as_deref());
    if !meth.authorization_scopes.is_empty() {
        m.insert(
            "authorizationScopes".into(),
            serde_json::json!(meth.authorization_scopes),
        );
    }
    put(&mut m, "apiKeyRequired", meth.api_key_required);
    put_opt(
        &mut m,
        "requestValidatorId",
        meth.request_validator_id.as_deref(),
    );
    put_opt(&mut m, "operationName", meth.operation_name.as_deref());
    if !meth.request_parameters.is_empty() {
        put(&mut m, "requestParameters", json!(meth.request_parameters));
    }
    if !meth.request_models.is_empty() {
        put(&mut m, "requestModels", json!(meth.request_models));
    }
    if !meth.method_responses.is_empty() {
        let responses: Map<String, Value> = meth
            .method_responses
            .iter()
            .map(|(code, resp)| (code.clone(), method_response(resp)))
            .collect();
        put(&mut m, "methodResponses", responses);
    }
    if let Some(i) = &meth.method_integration {
        put(&mut m, "methodIntegration", integration(r, i));
    }
    Value::Object(m)
}

/// A method response (PutMethodResponse, GetMethodResponse, and inside a method).
pub fn method_response(resp: &MethodResponse) -> Value {
    let mut o = Map::new();
    put(&mut o, "statusCode", resp.status_code.as_str());
    if !resp.response_parameters.is_empty() {
        put(
            &mut o,
            "responseParameters",
            json!(resp.response_parameters),
        );
    }
    if !resp.response_models.is_empty() {
        put(&mut o, "responseModels", json!(resp.response_models));
    }
    Value::Object(o)
}

/// An integration response kept under `pattern` (its selection pattern, or `default`).
pub fn integration_response(pattern: &str, resp: &IntegrationResponse) -> Value {
    let mut o = Map::new();
    put(&mut o, "statusCode", resp.status_code.as_str());
    let selection = resp
        .selection_pattern
        .clone()
        .or_else(|| (pattern != "default").then(|| pattern.to_string()));
    put_opt(&mut o, "selectionPattern", selection);
    if !resp.response_parameters.is_empty() {
        put(
            &mut o,
            "responseParameters",
            json!(resp.response_parameters),
        );
    }
    if !resp.response_templates.is_empty() {
        put(&mut o, "responseTemplates", json!(resp.response_templates));
    }
    put_opt(&mut o, "contentHandling", resp.content_handling.as_deref());
    Value::Object(o)
}

/// An integration; `integrationResponses` keyed by status code as AWS keys them (the model keys
/// them by selection pattern), `cacheNamespace` defaulting to the resource id.
pub fn integration(r: &Resource, i: &Integration) -> Value {
    let mut v = serde_json::to_value(i).unwrap_or_else(|_| json!({}));
    if let Some(m) = v.as_object_mut() {
        m.remove("integrationResponses");
        if !i.integration_responses.is_empty() {
            let responses: Map<String, Value> = i
                .integration_responses
                .iter()
                .map(|(pattern, resp)| {
                    (
                        resp.status_code.clone(),
                        integration_response(pattern, resp),
                    )
                })
                .collect();
            put(m, "integrationResponses", responses);
        }
        if !m.contains_key("cacheNamespace") {
            put(m, "cacheNamespace", r.id.as_str());
        }
        if !m.contains_key("cacheKeyParameters") {
            put(m, "cacheKeyParameters", Vec::<String>::new());
        }
        // A MOCK calls nothing: AWS shows no connection type or HTTP method for it.
        if i.kind == crate::model::IntegrationType::Mock {
            m.remove("connectionType");
            m.remove("httpMethod");
        }
    }
    v
}

pub fn deployment(d: &Deployment, api_summary: Option<&RestApi>) -> Value {
    let mut m = Map::new();
    put(&mut m, "id", d.id.as_str());
    put_opt(&mut m, "description", d.description.as_deref());
    put(&mut m, "createdDate", d.created_date);
    if let Some(api) = api_summary {
        let mut summary = Map::new();
        for (r, meth) in api.routes() {
            let entry = summary
                .entry(r.path.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(o) = entry.as_object_mut() {
                o.insert(
                    meth.http_method.clone(),
                    json!({
                        "authorizationType": meth.authorization_type,
                        "apiKeyRequired": meth.api_key_required,
                    }),
                );
            }
        }
        put(&mut m, "apiSummary", summary);
    }
    Value::Object(m)
}

pub fn stage(s: &Stage) -> Value {
    let mut m = Map::new();
    put(&mut m, "deploymentId", s.deployment_id.as_str());
    put(&mut m, "stageName", s.stage_name.as_str());
    put_opt(&mut m, "description", s.description.as_deref());
    put_opt(
        &mut m,
        "documentationVersion",
        s.documentation_version.as_deref(),
    );
    if !s.tags.is_empty() {
        put(&mut m, "tags", json!(s.tags));
    }
    put(&mut m, "cacheClusterEnabled", false);
    put(&mut m, "cacheClusterStatus", "NOT_AVAILABLE");
    let settings: Map<String, Value> = s
        .method_settings
        .iter()
        .map(|(key, setting)| {
            let v = json!({
                "metricsEnabled": setting.metrics_enabled,
                "loggingLevel": setting.logging_level,
                "dataTraceEnabled": setting.data_trace_enabled,
                "throttlingBurstLimit": setting.throttling_burst_limit,
                "throttlingRateLimit": setting.throttling_rate_limit,
                "cachingEnabled": setting.caching_enabled,
                "cacheTtlInSeconds": setting.cache_ttl_in_seconds,
                "cacheDataEncrypted": setting.cache_data_encrypted,
                "requireAuthorizationForCacheControl": setting.require_authorization_for_cache_control,
                "unauthorizedCacheControlHeaderStrategy": setting.unauthorized_cache_control_header_strategy,
            });
            (key.clone(), v)
        })
        .collect();
    put(&mut m, "methodSettings", settings);
    if let Some(logs) = &s.access_log_settings {
        let mut o = Map::new();
        put_opt(&mut o, "format", logs.format.as_deref());
        put_opt(&mut o, "destinationArn", logs.destination_arn.as_deref());
        put(&mut m, "accessLogSettings", o);
    }
    if !s.variables.is_empty() {
        put(&mut m, "variables", json!(s.variables));
    }
    if let Some(c) = &s.canary_settings {
        let mut o = Map::new();
        put(&mut o, "deploymentId", c.deployment_id.as_str());
        put(&mut o, "percentTraffic", c.percent_traffic);
        if !c.stage_variable_overrides.is_empty() {
            put(
                &mut o,
                "stageVariableOverrides",
                json!(c.stage_variable_overrides),
            );
        }
        put(&mut o, "useStageCache", c.use_stage_cache);
        put(&mut m, "canarySettings", o);
    }
    put(&mut m, "tracingEnabled", s.tracing_enabled);
    put(&mut m, "createdDate", s.created_date);
    put(&mut m, "lastUpdatedDate", s.last_updated_date);
    Value::Object(m)
}
