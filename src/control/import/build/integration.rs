//! `x-amazon-apigateway-integration` → an [`Integration`]: the integration type, its enumerated
//! options and timeout, the backend URI, the integration responses and the mapping templates,
//! each checked as API Gateway checks them on import, with a warning for what gw keeps but does
//! not act on (credentials, caching, VPC links, AWS service integrations).
//!
//! One builder, [`integration`], in named steps run in a fixed order: the order of the steps is
//! the order of the warnings (and the first error wins), so it is kept as AWS's importer reads
//! the mapping.

use super::{values, Ctx};
use crate::control::import::doc::kind_of;
use crate::control::import::{escape_pointer, ImportError};
use crate::model::*;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Every field API Gateway defines on an integration; any other is ignored with a warning.
const KNOWN: [&str; 18] = [
    "type",
    "uri",
    "httpMethod",
    "requestParameters",
    "requestTemplates",
    "responses",
    "passthroughBehavior",
    "timeoutInMillis",
    "connectionType",
    "connectionId",
    "credentials",
    "contentHandling",
    "payloadFormatVersion",
    "cacheKeyParameters",
    "cacheNamespace",
    "tlsConfig",
    "integrationSubtype",
    "description",
];

/// The integration mapping being read, and where it is in the document.
struct Spec<'a> {
    ptr: &'a str,
    obj: &'a Map<String, Value>,
}

impl Spec<'_> {
    /// The pointer of field `k`.
    fn field(&self, k: &str) -> String {
        format!("{}/{k}", self.ptr)
    }
}

pub(super) fn integration(cx: &mut Ctx, ptr: &str, v: &Value) -> Result<Integration, ImportError> {
    let Some(obj) = v.as_object() else {
        return Err(cx.error(
            ptr,
            format!("the integration is {}, not a mapping", kind_of(v)),
            "write the integration as a mapping with at least `type` (and `uri` for HTTP)",
        ));
    };
    let spec = Spec { ptr, obj };
    let kind = integration_type(cx, &spec)?;
    let passthrough_behavior = one_of(
        cx,
        &spec,
        "passthroughBehavior",
        &["WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"],
        "WHEN_NO_MATCH",
    )?;
    let connection_type = one_of(
        cx,
        &spec,
        "connectionType",
        &["INTERNET", "VPC_LINK"],
        "INTERNET",
    )?;
    let content_handling = match obj.get("contentHandling") {
        None => None,
        Some(_) => Some(one_of(
            cx,
            &spec,
            "contentHandling",
            &["CONVERT_TO_BINARY", "CONVERT_TO_TEXT"],
            "",
        )?),
    };
    let timeout_in_millis = timeout(cx, &spec)?;
    let uri = backend_uri(cx, &spec, kind)?;
    if connection_type == "VPC_LINK" {
        cx.note(
            &spec.field("connectionType"),
            "served through the VPC link connectionId names (gw vpc-link create NAME --target HOST:PORT); until it exists gw calls the uri directly",
        );
    }
    let integration_responses = integration_responses(cx, &spec)?;
    let request_templates = values::string_map(
        cx,
        &spec.field("requestTemplates"),
        obj.get("requestTemplates"),
    );
    check_templates(cx, &spec, kind, &request_templates, &integration_responses);
    warn_unacted_fields(cx, &spec);
    Ok(Integration {
        kind,
        uri,
        http_method: obj
            .get("httpMethod")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase),
        request_parameters: values::string_map(
            cx,
            &spec.field("requestParameters"),
            obj.get("requestParameters"),
        ),
        request_templates,
        passthrough_behavior,
        timeout_in_millis,
        connection_type,
        connection_id: values::text_or_intrinsic(
            cx,
            &spec.field("connectionId"),
            obj.get("connectionId"),
        ),
        credentials: obj
            .get("credentials")
            .and_then(Value::as_str)
            .map(str::to_string),
        content_handling,
        payload_format_version: match obj.get("payloadFormatVersion") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(format!("{:.1}", n.as_f64().unwrap_or(1.0))),
            _ => None,
        },
        cache_key_parameters: obj
            .get("cacheKeyParameters")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        cache_namespace: obj
            .get("cacheNamespace")
            .and_then(Value::as_str)
            .map(str::to_string),
        tls_config: obj.get("tlsConfig").cloned(),
        integration_subtype: obj
            .get("integrationSubtype")
            .and_then(Value::as_str)
            .map(str::to_string),
        integration_responses,
    })
}

/// `type`: required, one of API Gateway's five, in any case.
fn integration_type(cx: &Ctx, spec: &Spec) -> Result<IntegrationType, ImportError> {
    let kind_text = spec
        .obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            cx.error(
                &spec.field("type"),
                "the integration has no `type`",
                "set type to one of aws_proxy, http_proxy, http, mock, aws",
            )
        })?;
    IntegrationType::parse(kind_text).ok_or_else(|| {
        cx.error(
            &spec.field("type"),
            format!("unknown integration type {kind_text:?}"),
            "use one of aws_proxy, http_proxy, http, mock, aws (any case)",
        )
    })
}

/// An enumerated option (`passthroughBehavior`, `connectionType`, `contentHandling`): `default`
/// when absent, else one of `allowed` in any case, upper-cased.
fn one_of(
    cx: &Ctx,
    spec: &Spec,
    k: &str,
    allowed: &[&str],
    default: &str,
) -> Result<String, ImportError> {
    match spec.obj.get(k) {
        None => Ok(default.to_string()),
        Some(Value::String(s)) => {
            let up = s.to_ascii_uppercase();
            if allowed.contains(&up.as_str()) {
                Ok(up)
            } else {
                Err(cx.error(
                    &spec.field(k),
                    format!("invalid {k} {s:?}"),
                    format!("use one of {}", allowed.join(", ")),
                ))
            }
        }
        Some(other) => Err(cx.error(
            &spec.field(k),
            format!("{k} is {}, not text", kind_of(other)),
            format!("use one of {}", allowed.join(", ")),
        )),
    }
}

/// `timeoutInMillis`: at least 50; above 29000 AWS needs a quota increase, gw takes it as given.
fn timeout(cx: &mut Ctx, spec: &Spec) -> Result<u64, ImportError> {
    Ok(match spec.obj.get("timeoutInMillis") {
        None => DEFAULT_TIMEOUT_MS,
        Some(t) => {
            let n = t
                .as_u64()
                .or_else(|| t.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| {
                    cx.error(
                        &spec.field("timeoutInMillis"),
                        format!("timeoutInMillis is {t}, not a whole number of milliseconds"),
                        "set a number between 50 and 29000",
                    )
                })?;
            if n < 50 {
                return Err(cx.error(
                    &spec.field("timeoutInMillis"),
                    format!("timeoutInMillis {n} is below API Gateway's minimum of 50"),
                    "set a number between 50 and 29000",
                ));
            }
            if n > 29_000 {
                cx.warn(
                    &spec.field("timeoutInMillis"),
                    format!("{n} ms is above the default 29000 ms limit (allowed only for Regional and private APIs with a quota increase); gw uses it as given"),
                );
            }
            n
        }
    })
}

/// `uri`, with what it means for the type: HTTP integrations need an http(s) URL (or a stage
/// variable), AWS_PROXY calls Lambda with POST, AWS service integrations are not emulated.
fn backend_uri(
    cx: &mut Ctx,
    spec: &Spec,
    kind: IntegrationType,
) -> Result<Option<String>, ImportError> {
    let obj = spec.obj;
    let uri = values::text_or_intrinsic(cx, &spec.field("uri"), obj.get("uri"));
    let is_http = matches!(kind, IntegrationType::Http | IntegrationType::HttpProxy);
    if is_http && obj.get("uri").is_none() {
        return Err(cx.error(
            spec.ptr,
            format!("an {} integration needs a `uri`", kind.as_str()),
            "set uri to the backend URL, e.g. http://${stageVariables.backend}/pets/{id}",
        ));
    }
    if let (true, Some(u)) = (is_http, &uri) {
        if !u.starts_with("http://")
            && !u.starts_with("https://")
            && !u.starts_with("${stageVariables.")
        {
            cx.warn(
                &spec.field("uri"),
                format!("{u:?} is not an http(s) URL; calls to it will fail with 500"),
            );
        }
    }
    if kind == IntegrationType::Aws {
        match uri.as_deref().and_then(crate::aws::uri::aws_service) {
            // Lambda (non-proxy) runs the local function of that name.
            Some(("lambda", _)) => {}
            Some((service, _)) => cx.note(
                spec.ptr,
                format!("AWS service integration to {service} is kept but not emulated: calls answer 500 saying so"),
            ),
            None => cx.note(
                spec.ptr,
                "AWS service integration whose uri names no service (arn:aws:apigateway:REGION:SERVICE:...) is kept but not emulated: calls answer 500 saying so",
            ),
        }
    }
    if kind == IntegrationType::AwsProxy {
        if let Some(u) = &uri {
            if !u.contains(":lambda:path/") {
                cx.note(
                    &spec.field("uri"),
                    "AWS_PROXY to a service other than Lambda is not emulated: calls answer 500",
                );
            } else if let Some(m) = obj.get("httpMethod").and_then(Value::as_str) {
                if !m.eq_ignore_ascii_case("POST") {
                    cx.warn(
                        &spec.field("httpMethod"),
                        format!(
                            "Lambda is invoked with POST; with httpMethod {m} AWS fails every call to this method (gw runs the function anyway); set httpMethod: POST"
                        ),
                    );
                }
            }
        }
    }
    Ok(uri)
}

/// `responses`: selection pattern (a regular expression, or `default`) → status code, header
/// mappings and templates.
fn integration_responses(
    cx: &mut Ctx,
    spec: &Spec,
) -> Result<BTreeMap<String, IntegrationResponse>, ImportError> {
    let mut integration_responses = BTreeMap::new();
    let Some(resp) = spec.obj.get("responses") else {
        return Ok(integration_responses);
    };
    let Some(map) = resp.as_object() else {
        return Err(cx.error(
            &spec.field("responses"),
            format!("responses is {}, not a mapping", kind_of(resp)),
            "map a selection pattern (or `default`) to {statusCode: ...}",
        ));
    };
    for (pattern, r) in map {
        let p = format!("{}/{}", spec.field("responses"), escape_pointer(pattern));
        let status_code = values::status_text(r.get("statusCode")).ok_or_else(|| {
            cx.error(
                &format!("{p}/statusCode"),
                "the integration response has no statusCode",
                "add statusCode: \"200\" (a status the operation declares)",
            )
        })?;
        if pattern != "default" {
            if let Err(e) = regex::Regex::new(pattern) {
                return Err(cx.error(
                    &p,
                    format!("invalid selection pattern: {e}"),
                    "write a valid regular expression, or `default`",
                ));
            }
        }
        integration_responses.insert(
            pattern.clone(),
            IntegrationResponse {
                status_code,
                selection_pattern: (pattern != "default").then(|| pattern.clone()),
                response_parameters: values::string_map(
                    cx,
                    &format!("{p}/responseParameters"),
                    r.get("responseParameters"),
                ),
                response_templates: values::string_map(
                    cx,
                    &format!("{p}/responseTemplates"),
                    r.get("responseTemplates"),
                ),
                content_handling: r
                    .get("contentHandling")
                    .and_then(Value::as_str)
                    .map(str::to_ascii_uppercase),
            },
        );
    }
    Ok(integration_responses)
}

/// Mapping templates: checked (VTL) where gw runs them (MOCK, HTTP), each failure a warning
/// that its calls answer 500; on proxy integrations they are ignored, as on AWS.
fn check_templates(
    cx: &mut Ctx,
    spec: &Spec,
    kind: IntegrationType,
    request_templates: &BTreeMap<String, String>,
    integration_responses: &BTreeMap<String, IntegrationResponse>,
) {
    match kind {
        _ if request_templates.is_empty() => {}
        IntegrationType::Mock | IntegrationType::Http => {
            for (content_type, template) in request_templates {
                if let Err(e) = crate::aws::vtl::check(template) {
                    cx.warn(
                        &format!(
                            "{}/{}",
                            spec.field("requestTemplates"),
                            escape_pointer(content_type)
                        ),
                        format!("{e}; calls to this method answer 500 until it is fixed"),
                    );
                }
            }
        }
        IntegrationType::HttpProxy | IntegrationType::AwsProxy => cx.warn(
            &spec.field("requestTemplates"),
            "mapping templates are ignored for proxy integrations, as on AWS",
        ),
        IntegrationType::Aws => {}
    }
    if matches!(kind, IntegrationType::Mock | IntegrationType::Http) {
        for (pattern, r) in integration_responses {
            for (content_type, template) in &r.response_templates {
                if let Err(e) = crate::aws::vtl::check(template) {
                    cx.warn(
                        &format!(
                            "{}/{}/responseTemplates/{}",
                            spec.field("responses"),
                            escape_pointer(pattern),
                            escape_pointer(content_type)
                        ),
                        format!(
                            "{e}; calls answered through this response get 500 until it is fixed"
                        ),
                    );
                }
            }
        }
    }
}

/// Warnings for the fields kept but not acted on, then for the fields API Gateway does not
/// define.
fn warn_unacted_fields(cx: &mut Ctx, spec: &Spec) {
    for (k, name) in [
        ("credentials", "credentials"),
        ("cacheKeyParameters", "cache key parameters"),
        ("cacheNamespace", "cache namespace"),
    ] {
        if spec.obj.contains_key(k) {
            cx.note(
                &spec.field(k),
                format!("{name} kept; gw does not act on it"),
            );
        }
    }
    for k in spec.obj.keys() {
        if !KNOWN.contains(&k.as_str()) {
            cx.warn(
                &spec.field(&escape_pointer(k)),
                format!("unknown integration field {k} ignored"),
            );
        }
    }
}
