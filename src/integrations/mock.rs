//! MOCK integrations: the status comes from the request template's `statusCode`, the integration
//! response is chosen as AWS does (a selection pattern matching that status, else `default`), and
//! its static `responseParameters` and template make the answer. Templates without VTL directives
//! are returned as written, with `$context` / `$stageVariables` references filled in.

use super::RequestCx;
use crate::body;
use crate::gateway_response::{GatewayError, ResponseType};
use crate::model::{Integration, IntegrationResponse};
use http::{HeaderName, HeaderValue, Response, StatusCode};
use std::collections::BTreeMap;

/// The `statusCode` a MOCK request template asks for (first template, JSON or not).
pub fn status_from_templates(templates: &BTreeMap<String, String>) -> Option<u16> {
    let t = templates
        .get("application/json")
        .or_else(|| templates.values().next())?;
    let i = t.find("statusCode")?;
    let rest = &t[i + "statusCode".len()..];
    let rest =
        rest.trim_start_matches(|c: char| c == '"' || c == '\'' || c == ':' || c.is_whitespace());
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// AWS's choice of integration response for a status: a matching selection pattern, else `default`.
pub fn select_response<'a>(
    responses: &'a BTreeMap<String, IntegrationResponse>,
    status: &str,
) -> Option<&'a IntegrationResponse> {
    responses
        .iter()
        .filter(|(k, _)| k.as_str() != "default")
        .find(|(pattern, _)| {
            regex::Regex::new(&format!("^(?:{pattern})$"))
                .map(|re| re.is_match(status))
                .unwrap_or(false)
        })
        .map(|(_, r)| r)
        .or_else(|| responses.get("default"))
}

/// Fill `$context.x` / `$stageVariables.x` (and `${...}`) references of a template.
pub fn fill_references(template: &str, cx: &RequestCx) -> String {
    crate::template::render(template, |r| match r {
        crate::template::Reference::Context(k) => cx.context(k),
        crate::template::Reference::StageVariable(k) => cx.variables.get(k).cloned(),
    })
}

/// Answer a MOCK integration.
pub fn respond(
    cx: &RequestCx,
    integration: &Integration,
) -> Result<Response<body::Body>, GatewayError> {
    let status = status_from_templates(&integration.request_templates).unwrap_or(200);
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
    let (content_type, template) = match selected
        .response_templates
        .get_key_value("application/json")
        .or_else(|| selected.response_templates.iter().next())
    {
        Some((ct, t)) => (ct.as_str(), fill_references(t, cx)),
        None => ("application/json", String::new()),
    };
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
