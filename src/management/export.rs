//! GetExport: a stage's deployed API written back out as OpenAPI 3.0 (`oas30`) or Swagger 2.0
//! (`swagger`), JSON or YAML, generated from the deployment's frozen model (not from the file
//! that was imported), as AWS does. As on AWS, the `x-amazon-apigateway-*` extensions are added
//! only when asked for with `extensions=integrations|authorizers|apigateway`.

use crate::model::{Authorizer, Integration, Method, RestApi};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Oas30,
    Swagger,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "oas30" => Some(Format::Oas30),
            "swagger" => Some(Format::Swagger),
            _ => None,
        }
    }
}

/// Which extensions to write (the `extensions` export parameter).
#[derive(Debug, Clone, Copy, Default)]
pub struct Extensions {
    pub integrations: bool,
    pub authorizers: bool,
    /// Everything API Gateway-specific: integrations, authorizers and the top-level extensions.
    pub apigateway: bool,
}

impl Extensions {
    pub fn parse(s: Option<&str>) -> Extensions {
        let mut e = Extensions::default();
        for part in s.unwrap_or("").split(',').map(str::trim) {
            match part {
                "integrations" => e.integrations = true,
                "authorizers" => e.authorizers = true,
                "apigateway" => e.apigateway = true,
                _ => {}
            }
        }
        e
    }

    fn integrations(self) -> bool {
        self.integrations || self.apigateway
    }

    fn authorizers(self) -> bool {
        self.authorizers || self.apigateway
    }
}

/// The exported document. `host` is where the stage answers (`{id}.execute-api.localhost:4566`).
pub fn export(api: &RestApi, stage: &str, host: &str, format: Format, ext: Extensions) -> Value {
    let mut doc = Map::new();
    let mut info = Map::new();
    info.insert("title".into(), json!(api.name));
    if let Some(d) = &api.description {
        info.insert("description".into(), json!(d));
    }
    let version = api.version.clone().unwrap_or_else(|| {
        chrono::DateTime::from_timestamp(api.created_date, 0)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    });
    info.insert("version".into(), json!(version));
    match format {
        Format::Oas30 => {
            doc.insert("openapi".into(), json!("3.0.1"));
            doc.insert("info".into(), Value::Object(info));
            doc.insert(
                "servers".into(),
                json!([{
                    "url": format!("http://{host}/{{basePath}}"),
                    "variables": {"basePath": {"default": stage}}
                }]),
            );
        }
        Format::Swagger => {
            doc.insert("swagger".into(), json!("2.0"));
            doc.insert("info".into(), Value::Object(info));
            doc.insert("host".into(), json!(host));
            doc.insert("basePath".into(), json!(format!("/{stage}")));
            doc.insert("schemes".into(), json!(["http"]));
        }
    }

    let mut paths = Map::new();
    for r in &api.resources {
        if r.resource_methods.is_empty() {
            continue;
        }
        let mut item = Map::new();
        for (verb, m) in &r.resource_methods {
            let key = if verb == "ANY" {
                "x-amazon-apigateway-any-method".to_string()
            } else {
                verb.to_ascii_lowercase()
            };
            item.insert(key, operation(api, m, format, ext));
        }
        paths.insert(r.path.clone(), Value::Object(item));
    }
    doc.insert("paths".into(), Value::Object(paths));

    let schemes = security_schemes(api, ext);
    if !schemes.is_empty() {
        match format {
            Format::Oas30 => {
                doc.insert(
                    "components".into(),
                    json!({ "securitySchemes": Value::Object(schemes) }),
                );
            }
            Format::Swagger => {
                doc.insert("securityDefinitions".into(), Value::Object(schemes));
            }
        }
    }
    if ext.apigateway {
        if !api.binary_media_types.is_empty() {
            doc.insert(
                "x-amazon-apigateway-binary-media-types".into(),
                json!(api.binary_media_types),
            );
        }
        if let Some(s) = &api.api_key_source {
            doc.insert("x-amazon-apigateway-api-key-source".into(), json!(s));
        }
        if !api.gateway_responses.is_empty() {
            doc.insert(
                "x-amazon-apigateway-gateway-responses".into(),
                json!(api.gateway_responses),
            );
        }
        if let Some(p) = &api.policy {
            if let Ok(v) = serde_json::from_str::<Value>(p) {
                doc.insert("x-amazon-apigateway-policy".into(), v);
            }
        }
        if let Some(n) = api.minimum_compression_size {
            doc.insert(
                "x-amazon-apigateway-minimum-compression-size".into(),
                json!(n),
            );
        }
    }
    Value::Object(doc)
}

fn operation(api: &RestApi, m: &Method, format: Format, ext: Extensions) -> Value {
    let mut op = Map::new();
    if let Some(id) = &m.operation_name {
        op.insert("operationId".into(), json!(id));
    }
    let mut params = Vec::new();
    for (name, required) in &m.request_parameters {
        let Some(rest) = name.strip_prefix("method.request.") else {
            continue;
        };
        let Some((place, pname)) = rest.split_once('.') else {
            continue;
        };
        let place = match place {
            "path" => "path",
            "querystring" => "query",
            "header" => "header",
            _ => continue,
        };
        let required = *required || place == "path";
        params.push(match format {
            Format::Oas30 => json!({"name": pname, "in": place, "required": required, "schema": {"type": "string"}}),
            Format::Swagger => json!({"name": pname, "in": place, "required": required, "type": "string"}),
        });
    }
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    let mut responses = Map::new();
    for (code, resp) in &m.method_responses {
        let mut r = Map::new();
        r.insert("description".into(), json!(format!("{code} response")));
        let headers: Map<String, Value> = resp
            .response_parameters
            .keys()
            .filter_map(|k| k.strip_prefix("method.response.header."))
            .map(|h| {
                let schema = match format {
                    Format::Oas30 => json!({"schema": {"type": "string"}}),
                    Format::Swagger => json!({"type": "string"}),
                };
                (h.to_string(), schema)
            })
            .collect();
        if !headers.is_empty() {
            r.insert("headers".into(), Value::Object(headers));
        }
        responses.insert(code.clone(), Value::Object(r));
    }
    if responses.is_empty() {
        responses.insert("200".into(), json!({"description": "200 response"}));
    }
    op.insert("responses".into(), Value::Object(responses));
    let mut security = Vec::new();
    if ext.authorizers() {
        if let Some(a) = m
            .authorizer_id
            .as_ref()
            .and_then(|id| api.authorizers.iter().find(|a| &a.id == id))
        {
            security.push(json!({ a.name.clone(): [] }));
        }
    }
    if m.api_key_required {
        security.push(json!({"api_key": []}));
    }
    if !security.is_empty() {
        op.insert("security".into(), Value::Array(security));
    }
    if ext.integrations() {
        if let Some(i) = &m.method_integration {
            op.insert("x-amazon-apigateway-integration".into(), integration(i));
        }
    }
    Value::Object(op)
}

/// `x-amazon-apigateway-integration` as AWS exports it (lower-case enums, responses keyed by
/// selection pattern).
fn integration(i: &Integration) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!(i.kind.as_str().to_ascii_lowercase()));
    if let Some(m) = &i.http_method {
        o.insert("httpMethod".into(), json!(m));
    }
    if let Some(u) = &i.uri {
        o.insert("uri".into(), json!(u));
    }
    if !i.integration_responses.is_empty() {
        let responses: BTreeMap<&String, Value> = i
            .integration_responses
            .iter()
            .map(|(pattern, r)| {
                let mut v = Map::new();
                v.insert("statusCode".into(), json!(r.status_code));
                if !r.response_parameters.is_empty() {
                    v.insert("responseParameters".into(), json!(r.response_parameters));
                }
                if !r.response_templates.is_empty() {
                    v.insert("responseTemplates".into(), json!(r.response_templates));
                }
                if let Some(c) = &r.content_handling {
                    v.insert("contentHandling".into(), json!(c));
                }
                (pattern, Value::Object(v))
            })
            .collect();
        o.insert("responses".into(), json!(responses));
    }
    if !i.request_parameters.is_empty() {
        o.insert("requestParameters".into(), json!(i.request_parameters));
    }
    if !i.request_templates.is_empty() {
        o.insert("requestTemplates".into(), json!(i.request_templates));
    }
    o.insert(
        "passthroughBehavior".into(),
        json!(i.passthrough_behavior.to_ascii_lowercase()),
    );
    o.insert("timeoutInMillis".into(), json!(i.timeout_in_millis));
    if i.connection_type != "INTERNET" {
        o.insert("connectionType".into(), json!(i.connection_type));
    }
    if let Some(c) = &i.connection_id {
        o.insert("connectionId".into(), json!(c));
    }
    if let Some(c) = &i.credentials {
        o.insert("credentials".into(), json!(c));
    }
    if let Some(c) = &i.content_handling {
        o.insert("contentHandling".into(), json!(c));
    }
    if let Some(p) = &i.payload_format_version {
        o.insert("payloadFormatVersion".into(), json!(p));
    }
    if !i.cache_key_parameters.is_empty() {
        o.insert("cacheKeyParameters".into(), json!(i.cache_key_parameters));
    }
    if let Some(n) = &i.cache_namespace {
        o.insert("cacheNamespace".into(), json!(n));
    }
    Value::Object(o)
}

fn security_schemes(api: &RestApi, ext: Extensions) -> Map<String, Value> {
    let mut out = Map::new();
    if api.routes().any(|(_, m)| m.api_key_required) {
        out.insert(
            "api_key".into(),
            json!({"type": "apiKey", "name": "x-api-key", "in": "header"}),
        );
    }
    if ext.authorizers() {
        for a in &api.authorizers {
            out.insert(a.name.clone(), authorizer(a));
        }
    }
    out
}

fn authorizer(a: &Authorizer) -> Value {
    let header = a
        .identity_source
        .as_deref()
        .and_then(|s| s.strip_prefix("method.request.header."))
        .filter(|h| !h.contains(','))
        .unwrap_or("Unused");
    let mut ext = Map::new();
    ext.insert("type".into(), json!(a.kind.to_ascii_lowercase()));
    if let Some(u) = &a.authorizer_uri {
        ext.insert("authorizerUri".into(), json!(u));
    }
    if let Some(c) = &a.authorizer_credentials {
        ext.insert("authorizerCredentials".into(), json!(c));
    }
    if a.kind != "TOKEN" {
        if let Some(s) = &a.identity_source {
            ext.insert("identitySource".into(), json!(s));
        }
    }
    if let Some(e) = &a.identity_validation_expression {
        ext.insert("identityValidationExpression".into(), json!(e));
    }
    if let Some(t) = a.authorizer_result_ttl_in_seconds {
        ext.insert("authorizerResultTtlInSeconds".into(), json!(t));
    }
    if !a.provider_arns.is_empty() {
        ext.insert("providerARNs".into(), json!(a.provider_arns));
    }
    let mut scheme = Map::new();
    scheme.insert("type".into(), json!("apiKey"));
    scheme.insert("name".into(), json!(header));
    scheme.insert("in".into(), json!("header"));
    scheme.insert(
        "x-amazon-apigateway-authtype".into(),
        json!(a.auth_type.clone().unwrap_or_else(|| "custom".into())),
    );
    scheme.insert("x-amazon-apigateway-authorizer".into(), Value::Object(ext));
    Value::Object(scheme)
}
