//! MOCK integrations: the status comes from the request template's `statusCode` (the template is
//! VTL, run on the request), the integration response is chosen as AWS does (a selection pattern
//! matching that status, else `default`), and its `responseParameters` and mapping template (VTL,
//! see [`crate::aws::vtl`]) make the answer.

use super::RequestCx;
use crate::aws::gateway_response::{GatewayError, ResponseType};
use crate::model::{Integration, IntegrationResponse};
use crate::net::body;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use std::collections::BTreeMap;

/// The `statusCode` a MOCK request template asks for (first template, JSON or not).
pub fn status_from_templates(templates: &BTreeMap<String, String>) -> Option<u16> {
    let t = templates
        .get("application/json")
        .or_else(|| templates.values().next())?;
    status_in(t)
}

/// The number after `statusCode` in a template's text (JSON or not).
fn status_in(t: &str) -> Option<u16> {
    let i = t.find("statusCode")?;
    let rest = &t[i + "statusCode".len()..];
    let rest =
        rest.trim_start_matches(|c: char| c == '"' || c == '\'' || c == ':' || c.is_whitespace());
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

thread_local! {
    /// Selection patterns compiled on this worker thread (patterns come from deployed APIs, so
    /// there are few; the cache is emptied if it ever grows past `MAX_PATTERNS`).
    static PATTERNS: std::cell::RefCell<std::collections::HashMap<String, Option<regex::Regex>>> =
        Default::default();
}
const MAX_PATTERNS: usize = 1024;

/// Whether a selection pattern matches `status` in full (an invalid pattern matches nothing).
fn pattern_matches(pattern: &str, status: &str) -> bool {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            if cache.len() >= MAX_PATTERNS {
                cache.clear();
            }
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).ok();
            cache.insert(pattern.to_string(), re);
        }
        cache
            .get(pattern)
            .and_then(Option::as_ref)
            .is_some_and(|re| re.is_match(status))
    })
}

/// AWS's choice of integration response for a status: a matching selection pattern, else `default`.
pub fn select_response<'a>(
    responses: &'a BTreeMap<String, IntegrationResponse>,
    status: &str,
) -> Option<&'a IntegrationResponse> {
    responses
        .iter()
        .filter(|(k, _)| k.as_str() != "default")
        .find(|(pattern, _)| pattern_matches(pattern, status))
        .map(|(_, r)| r)
        .or_else(|| responses.get("default"))
}

/// The request template for the request's content type (`application/json` when it has none),
/// else the first one.
fn request_template<'i>(integration: &'i Integration, cx: &RequestCx) -> Option<&'i String> {
    let content_type = super::media_type(cx.headers);
    let t = &integration.request_templates;
    t.get(&content_type)
        .or_else(|| t.get("application/json"))
        .or_else(|| t.values().next())
}

/// Whether a request template of this MOCK reads the request body (`$input.body`, `.json`,
/// `.path`).
pub fn reads_body(integration: &Integration) -> bool {
    integration.request_templates.values().any(|t| {
        ["input.body", "input.json", "input.path"]
            .iter()
            .any(|r| t.contains(r))
    })
}

/// The status a MOCK answers with: the `statusCode` of its request template's output.
fn mock_status(integration: &Integration, cx: &RequestCx, body: &str) -> Result<u16, GatewayError> {
    let Some(template) = request_template(integration, cx) else {
        return Ok(200);
    };
    let rendered = cx.mapping_template(template, body)?;
    let from_json = serde_json::from_str::<serde_json::Value>(&rendered)
        .ok()
        .and_then(|v| match v.get("statusCode")? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .and_then(|n| u16::try_from(n).ok());
    Ok(from_json.or_else(|| status_in(&rendered)).unwrap_or(200))
}

/// Answer a MOCK integration.
pub fn respond(
    cx: &RequestCx,
    integration: &Integration,
    request_body: &str,
) -> Result<Response<body::Body>, GatewayError> {
    let status = mock_status(integration, cx, request_body)?;
    let selected = select_response(&integration.integration_responses, &status.to_string());
    let Some(selected) = selected else {
        if integration.integration_responses.is_empty() {
            // No integration responses at all: the mock's own status, empty body.
            let mut resp = Response::new(body::empty());
            *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            return Ok(resp);
        }
        return Err(GatewayError::with_message(
            ResponseType::ApiConfigurationError,
            "Internal server error",
        ));
    };
    let code = selected
        .status_code
        .parse::<u16>()
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let (content_type, template, overrides) = match selected
        .response_templates
        .get_key_value("application/json")
        .or_else(|| selected.response_templates.iter().next())
    {
        // A MOCK's integration response has no payload: `$input` offers the request's parameters.
        Some((ct, t)) => {
            let (out, overrides) = cx.mapping_template_with_overrides(t, "")?;
            (ct.as_str(), out, overrides)
        }
        None => ("application/json", String::new(), Default::default()),
    };
    let template = super::content_handling(
        selected.content_handling.as_deref(),
        template.into_bytes(),
        false,
    );
    let mut resp = Response::new(body::full(template));
    *resp.status_mut() = code;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(http::header::CONTENT_TYPE, v);
    }
    for (target, source) in &selected.response_parameters {
        let Some(name) = target.strip_prefix("method.response.header.") else {
            continue;
        };
        let Some(value) = cx.mapping_source(source) else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            h.insert(n, v);
        }
    }
    let mut status = resp.status();
    super::apply_response_overrides(&overrides, &mut status, resp.headers_mut());
    *resp.status_mut() = status;
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_from_request_template() {
        let t: BTreeMap<String, String> =
            [("application/json".into(), "{\"statusCode\": 204}".into())].into();
        assert_eq!(status_from_templates(&t), Some(204));
        let t: BTreeMap<String, String> =
            [("application/json".into(), "{ statusCode: 200 }".into())].into();
        assert_eq!(status_from_templates(&t), Some(200));
    }

    #[test]
    fn selection_prefers_a_pattern_over_default() {
        let r = |s: &str| IntegrationResponse {
            status_code: s.into(),
            ..Default::default()
        };
        let map: BTreeMap<String, IntegrationResponse> =
            [("default".into(), r("200")), ("4\\d{2}".into(), r("400"))].into();
        assert_eq!(
            select_response(&map, "404").map(|r| r.status_code.as_str()),
            Some("400")
        );
        assert_eq!(
            select_response(&map, "200").map(|r| r.status_code.as_str()),
            Some("200")
        );
    }
}
