//! Integrations: what a matched method calls. `http` forwards to a backend (HTTP_PROXY, HTTP),
//! `mock` answers from the integration responses (MOCK), `function` runs a local WebAssembly
//! function where AWS would invoke a Lambda (AWS_PROXY), `lambda` does it with mapping templates
//! and integration responses (AWS). Shared here: the request context every
//! integration reads, and the parameter-mapping and stage-variable substitution rules.

pub mod function;
pub mod http;
pub mod lambda;
pub mod mock;
pub mod upstream;

use crate::aws::gateway_response::{GatewayError, ResponseType};
use crate::aws::uri::{parse_function_uri, substitute_stage_variables};
use crate::gateway::snapshot::LiveDeployment;
use crate::model::{Integration, IntegrationType, Method, Resource};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What an integration knows about the request it serves.
pub struct RequestCx<'a> {
    pub request_id: &'a str,
    pub extended_request_id: &'a str,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub deployment: &'a LiveDeployment,
    pub is_canary: bool,
    pub variables: &'a BTreeMap<String, String>,
    pub resource: &'a Resource,
    pub method: &'a Method,
    pub path_params: &'a [(String, String)],
    /// The path after the stage, as sent (percent-encoded), starting with `/`.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub http_method: &'a str,
    /// `HTTP/1.1`, `HTTP/2.0`, ... (`$context.protocol`).
    pub protocol: &'static str,
    pub headers: &'a ::http::HeaderMap,
    pub source_ip: &'a str,
    pub domain_name: &'a str,
    pub request_time_ms: i64,
    /// What the method's Lambda authorizer granted (`$context.authorizer.*`).
    pub authorizer: Option<&'a crate::aws::lambda::Authorized>,
    /// The request's `$context`, from the dispatch's one request context.
    pub context: crate::aws::context::Context<'a>,
    /// The `$context.requestOverride.*` / `responseOverride.*` values the request's templates
    /// have set so far: a later template reads them, and the answer applies the response ones
    /// whichever template set them.
    pub overrides: std::sync::Mutex<crate::aws::vtl::Overrides>,
}

impl RequestCx<'_> {
    fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn query_param(&self, name: &str) -> Option<String> {
        crate::aws::query::last(self.query?, name).map(Cow::into_owned)
    }

    /// The request's `$context` (the one table, [`crate::aws::context`]), as dispatch built it.
    pub fn context_table(&self) -> crate::aws::context::Context<'_> {
        self.context
    }

    /// A `$context` variable.
    pub fn context(&self, key: &str) -> Option<String> {
        self.context_table().get(key)
    }

    /// Resolve a mapping source: `method.request.{path,querystring,header}.X`, `'static'`,
    /// `stageVariables.X`, `context.X` (with or without a leading `$`).
    pub fn mapping_source(&self, source: &str) -> Option<String> {
        self.mapping_value(source).map(Cow::into_owned)
    }

    /// [`RequestCx::mapping_source`], borrowing the value where it can.
    pub fn mapping_value<'s>(&'s self, source: &'s str) -> Option<Cow<'s, str>> {
        let source = source.trim();
        if let Some(s) = source.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
            return Some(Cow::Borrowed(s));
        }
        let source = source.strip_prefix('$').unwrap_or(source);
        if let Some(p) = source.strip_prefix("method.request.path.") {
            return self.path_param(p).map(Cow::Borrowed);
        }
        if let Some(q) = source.strip_prefix("method.request.querystring.") {
            return self.query_param(q).map(Cow::Owned);
        }
        if let Some(h) = source.strip_prefix("method.request.header.") {
            return self
                .headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(Cow::Borrowed);
        }
        if let Some(v) = source.strip_prefix("stageVariables.") {
            return Some(Cow::Borrowed(
                self.variables.get(v).map_or("", String::as_str),
            ));
        }
        if let Some(c) = source.strip_prefix("context.") {
            return self.context(c).map(Cow::Owned);
        }
        None
    }

    /// Whether the request's body is binary: its `Content-Type` is one of the API's binary media
    /// types.
    pub fn body_is_binary(&self) -> bool {
        is_binary_type(
            self.headers
                .get(::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            &self.deployment.api.binary_media_types,
        )
    }

    /// Render a mapping template (VTL) for this request, `$input.body` being `body`. A template
    /// gw cannot read or run is the API's configuration error (500), as on AWS.
    pub fn mapping_template(&self, template: &str, body: &str) -> Result<String, GatewayError> {
        self.mapping_template_with_overrides(template, body)
            .map(|(out, _)| out)
    }

    /// [`RequestCx::mapping_template`], and the `$context.requestOverride.*` /
    /// `$context.responseOverride.*` values set so far: by this template and by the request's
    /// earlier ones (this one's win).
    pub fn mapping_template_with_overrides(
        &self,
        template: &str,
        body: &str,
    ) -> Result<(String, crate::aws::vtl::Overrides), GatewayError> {
        self.mapping_template_with_variables(template, body, Default::default())
    }

    /// [`RequestCx::mapping_template_with_overrides`] with variables already set (`$calls`).
    pub fn mapping_template_with_variables(
        &self,
        template: &str,
        body: &str,
        vars: std::collections::HashMap<String, serde_json::Value>,
    ) -> Result<(String, crate::aws::vtl::Overrides), GatewayError> {
        if crate::aws::vtl::is_literal(template) {
            return Ok((template.to_string(), Default::default()));
        }
        let query: Vec<(String, String)> = self
            .query
            .map(|q| {
                crate::aws::query::pairs(q)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let earlier = self
            .overrides
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let context = |key: &str| earlier.get(key).cloned().or_else(|| self.context(key));
        let bindings = crate::aws::vtl::Bindings {
            body,
            path: self.path_params,
            query: &query,
            headers: &headers,
            context: &context,
            stage_variables: self.variables,
        };
        let (out, set) = crate::aws::vtl::render_with_variables(template, &bindings, vars)
            .map_err(|e| {
                tracing::warn!("{} {}: {e}", self.method.http_method, self.resource.path);
                GatewayError::with_message(
                    ResponseType::ApiConfigurationError,
                    "Internal server error",
                )
            })?;
        if set.is_empty() {
            return Ok((out, earlier));
        }
        let mut all = self.overrides.lock().unwrap_or_else(|p| p.into_inner());
        all.extend(set);
        Ok((out, all.clone()))
    }

    /// Substitute `${stageVariables.x}` (undefined → empty).
    pub fn stage_variables_in<'t>(&self, text: &'t str) -> Cow<'t, str> {
        substitute_stage_variables(text, self.variables)
    }
}

/// The media type of a request (`application/json` when it names none), lower-cased, without
/// parameters: what selects a mapping template.
pub fn media_type(headers: &::http::HeaderMap) -> String {
    headers
        .get(::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "application/json".to_string())
}

/// Applies a template's `responseOverride.status` and `responseOverride.header.*` to a response.
pub fn apply_response_overrides(
    overrides: &crate::aws::vtl::Overrides,
    status: &mut ::http::StatusCode,
    headers: &mut ::http::HeaderMap,
) {
    for (key, value) in overrides {
        if key == "responseOverride.status" {
            if let Some(code) = value
                .trim()
                .parse::<u16>()
                .ok()
                .and_then(|c| ::http::StatusCode::from_u16(c).ok())
            {
                *status = code;
            }
        } else if let Some(name) = key.strip_prefix("responseOverride.header.") {
            if let (Ok(n), Ok(v)) = (
                ::http::HeaderName::from_bytes(name.as_bytes()),
                ::http::HeaderValue::from_str(value),
            ) {
                headers.insert(n, v);
            }
        }
    }
}

/// What `gw routes` shows as the target of an integration.
pub fn describe_target(i: &Integration) -> Option<String> {
    match i.kind {
        IntegrationType::Mock => Some(
            mock::status_from_templates(&i.request_templates)
                .map(|s| format!("mock {s}"))
                .unwrap_or_else(|| "mock 200".into()),
        ),
        IntegrationType::AwsProxy => {
            let uri = i.uri.as_deref()?;
            Some(match parse_function_uri(uri) {
                Some(f) => match f.qualifier {
                    Some(q) => format!("function {}:{q}", f.name),
                    None => format!("function {}", f.name),
                },
                None => uri.to_string(),
            })
        }
        _ => {
            let uri = i.uri.clone()?;
            Some(match &i.http_method {
                Some(m) if i.kind != IntegrationType::HttpProxy || m != "ANY" => {
                    format!("{m} {uri}")
                }
                _ => uri,
            })
        }
    }
}

/// `contentHandling` of an integration (on the request payload) or an integration response (on
/// the response payload), as API Gateway's binary support applies it: `CONVERT_TO_TEXT` encodes a
/// binary payload in base64, `CONVERT_TO_BINARY` decodes a base64 payload (one that is not valid
/// base64 is left as it is); unset, the payload passes as it is. `binary`: whether the payload is
/// binary (its content type is one of the API's binary media types) — text is never re-encoded.
pub fn content_handling(handling: Option<&str>, payload: Vec<u8>, binary: bool) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    match handling {
        Some("CONVERT_TO_TEXT") if binary => b64.encode(&payload).into_bytes(),
        Some("CONVERT_TO_BINARY") => {
            let text: Vec<u8> = payload
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            b64.decode(&text).unwrap_or(payload)
        }
        _ => payload,
    }
}

/// Whether a content type is one of `types` (binary media types, `*` wildcards as AWS allows).
pub fn is_binary_type(content_type: Option<&str>, types: &[String]) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (t, s) = ct.split_once('/').unwrap_or((&ct, ""));
    types.iter().any(|p| {
        let p = p.trim().to_ascii_lowercase();
        let (pt, ps) = p.split_once('/').unwrap_or((&p, ""));
        (pt == "*" || pt == t) && (ps == "*" || ps == s)
    })
}
