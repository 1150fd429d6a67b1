//! Integrations: what a matched method calls. `http` forwards to a backend (HTTP_PROXY, HTTP),
//! `mock` answers from the integration responses (MOCK), `function` runs a local WebAssembly
//! function where AWS would invoke a Lambda (AWS_PROXY). Shared here: the request context every
//! integration reads, and the parameter-mapping and stage-variable substitution rules.

pub mod function;
pub mod http;
pub mod mock;
pub mod upstream;

use crate::gateway_response::{GatewayError, ResponseType};
use crate::model::{Integration, IntegrationType, Method, Resource};
use crate::snapshot::LiveDeployment;
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
    pub headers: &'a ::http::HeaderMap,
    pub source_ip: &'a str,
    pub domain_name: &'a str,
    pub request_time_ms: i64,
    /// What the method's Lambda authorizer granted (`$context.authorizer.*`).
    pub authorizer: Option<&'a crate::lambda::Authorized>,
}

impl RequestCx<'_> {
    fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn query_param(&self, name: &str) -> Option<String> {
        let q = self.query?;
        url_pairs(q)
            .filter(|(k, _)| k == name)
            .last()
            .map(|(_, v)| v)
    }

    /// A `$context` variable (the simple ones).
    pub fn context(&self, key: &str) -> Option<String> {
        Some(match key {
            "requestId" => self.request_id.to_string(),
            "extendedRequestId" => self.extended_request_id.to_string(),
            "apiId" => self.api_id.to_string(),
            "stage" => self.stage.to_string(),
            "deploymentId" => self.deployment.deployment_id.clone(),
            "resourceId" => self.resource.id.clone(),
            "resourcePath" => self.resource.path.clone(),
            "httpMethod" => self.http_method.to_string(),
            "path" => format!("/{}{}", self.stage, self.path),
            "domainName" => self.domain_name.to_string(),
            "protocol" => "HTTP/1.1".to_string(),
            "domainPrefix" => crate::lambda::domain_prefix(self.domain_name).to_string(),
            "accountId" => crate::lambda::DEFAULT_ACCOUNT_ID.to_string(),
            "identity.sourceIp" => self.source_ip.to_string(),
            "identity.userAgent" => self.header_text(::http::header::USER_AGENT)?,
            "isCanaryRequest" => self.is_canary.to_string(),
            "requestTimeEpoch" => self.request_time_ms.to_string(),
            "requestTime" => crate::lambda::clf_time(self.request_time_ms),
            _ => match key.strip_prefix("authorizer.") {
                Some(k) => self.authorizer?.get(k)?.to_string(),
                None => return None,
            },
        })
    }

    fn header_text(&self, name: ::http::header::HeaderName) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
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

    /// Render a mapping template (VTL) for this request, `$input.body` being `body`. A template
    /// gw cannot read or run is the API's configuration error (500), as on AWS.
    pub fn mapping_template(&self, template: &str, body: &str) -> Result<String, GatewayError> {
        self.mapping_template_with_overrides(template, body)
            .map(|(out, _)| out)
    }

    /// [`RequestCx::mapping_template`], and the `$context.requestOverride.*` /
    /// `$context.responseOverride.*` values the template set.
    pub fn mapping_template_with_overrides(
        &self,
        template: &str,
        body: &str,
    ) -> Result<(String, crate::vtl::Overrides), GatewayError> {
        if crate::vtl::is_literal(template) {
            return Ok((template.to_string(), Default::default()));
        }
        let query: Vec<(String, String)> = self
            .query
            .map(|q| url_pairs(q).collect())
            .unwrap_or_default();
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let context = |key: &str| self.context(key);
        let bindings = crate::vtl::Bindings {
            body,
            path: self.path_params,
            query: &query,
            headers: &headers,
            context: &context,
            stage_variables: self.variables,
        };
        crate::vtl::render_with_overrides(template, &bindings).map_err(|e| {
            tracing::warn!("{} {}: {e}", self.method.http_method, self.resource.path);
            GatewayError::with_message(ResponseType::ApiConfigurationError, "Internal server error")
        })
    }

    /// Substitute `${stageVariables.x}` (undefined → empty).
    pub fn stage_variables_in<'t>(&self, text: &'t str) -> Cow<'t, str> {
        substitute_stage_variables(text, self.variables)
    }
}

/// Substitute `${stageVariables.x}` in `text`; an undefined variable renders empty, as on AWS.
pub fn substitute_stage_variables<'t>(
    text: &'t str,
    vars: &BTreeMap<String, String>,
) -> Cow<'t, str> {
    const OPEN: &str = "${stageVariables.";
    // A `$` is looked for first: a plain search for one byte, where the whole marker's search
    // sets up a substring searcher on every call.
    if !text.as_bytes().contains(&b'$') || !text.contains(OPEN) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + OPEN.len()..];
        match after.find('}') {
            Some(end) => {
                if let Some(v) = vars.get(&after[..end]) {
                    out.push_str(v);
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
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
    overrides: &crate::vtl::Overrides,
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

/// Decoded `key=value` pairs of a query string (`+` is a space).
pub fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        (dec(k), dec(v))
    })
}

/// A Lambda function named by an AWS_PROXY integration URI:
/// `arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]/invocations`
/// (or a bare function ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
}

pub fn parse_function_uri(uri: &str) -> Option<FunctionRef> {
    let start = uri.find(":function:")? + ":function:".len();
    let rest = &uri[start..];
    let rest = rest.strip_suffix("/invocations").unwrap_or(rest);
    let rest = rest.split('/').next()?;
    let (name, qualifier) = match rest.split_once(':') {
        Some((n, q)) => (n, Some(q.to_string()).filter(|q| !q.is_empty())),
        None => (rest, None),
    };
    (!name.is_empty()).then(|| FunctionRef {
        name: name.to_string(),
        qualifier,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_uris() {
        let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:hello:2/invocations";
        assert_eq!(
            parse_function_uri(uri),
            Some(FunctionRef {
                name: "hello".into(),
                qualifier: Some("2".into())
            })
        );
        let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:app/invocations";
        assert_eq!(parse_function_uri(uri).map(|f| f.qualifier), Some(None));
        assert_eq!(parse_function_uri("http://x"), None);
    }

    #[test]
    fn stage_variables() {
        let vars: BTreeMap<String, String> = [("host".to_string(), "h:1".to_string())].into();
        assert_eq!(
            substitute_stage_variables(
                "http://${stageVariables.host}/${stageVariables.none}x",
                &vars
            ),
            "http://h:1/x"
        );
    }
}
