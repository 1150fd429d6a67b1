//! Security schemes → authorizers, and what an operation's `security` does to its method.
//!
//! A scheme with `x-amazon-apigateway-authorizer` becomes an [`Authorizer`] of the API (TOKEN,
//! REQUEST, COGNITO_USER_POOLS, JWT); a scheme without one is only indexed, for what naming it
//! means to a method (`AWS_IAM` by `x-amazon-apigateway-authtype`, an API key by `x-api-key`,
//! or nothing). Both halves read the same index, so they live together.

use super::{values, Ctx};
use crate::aws::ids;
use crate::control::import::doc::{Doc, Op};
use crate::control::import::ImportError;
use crate::model::*;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Security scheme name → the authorizer it defines (a placeholder when it defines none) and
/// what naming it does to a method.
pub(super) type AuthorizerIndex = HashMap<String, (Authorizer, SchemeAuth)>;

/// What naming a security scheme in an operation's `security` does to the method.
#[derive(Clone, Debug)]
pub(super) enum SchemeAuth {
    Authorizer,
    Iam,
    ApiKey,
    Unsupported(String),
}

/// Every security scheme of the document, indexed by name.
pub(super) fn authorizers(cx: &mut Ctx, doc: &Doc) -> Result<AuthorizerIndex, ImportError> {
    let mut out = HashMap::new();
    for (name, scheme, ptr) in &doc.security_schemes {
        let scheme_type = scheme.get("type").and_then(Value::as_str).unwrap_or("");
        let authtype = scheme
            .get("x-amazon-apigateway-authtype")
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(ext) = scheme.get("x-amazon-apigateway-authorizer") else {
            let kind = if authtype
                .as_deref()
                .is_some_and(|t| t.to_ascii_lowercase().starts_with("aws"))
            {
                SchemeAuth::Iam
            } else if scheme_type == "apiKey"
                && scheme
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"))
            {
                SchemeAuth::ApiKey
            } else {
                SchemeAuth::Unsupported(scheme_type.to_string())
            };
            out.insert(name.clone(), (placeholder_authorizer(name), kind));
            continue;
        };
        let ext_ptr = format!("{ptr}/x-amazon-apigateway-authorizer");
        let kind = ext
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
            .ok_or_else(|| {
                cx.error(
                    &format!("{ext_ptr}/type"),
                    "the authorizer has no `type`",
                    "set type to token, request, cognito_user_pools or jwt",
                )
            })?;
        if !["TOKEN", "REQUEST", "COGNITO_USER_POOLS", "JWT"].contains(&kind.as_str()) {
            return Err(cx.error(
                &format!("{ext_ptr}/type"),
                format!("unknown authorizer type {kind:?}"),
                "use token, request, cognito_user_pools or jwt",
            ));
        }
        let authorizer_uri = values::text_or_intrinsic(
            cx,
            &format!("{ext_ptr}/authorizerUri"),
            ext.get("authorizerUri"),
        );
        let identity_source = ext
            .get("identitySource")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .or_else(|| {
                (kind == "TOKEN")
                    .then(|| scheme.get("name").and_then(Value::as_str))
                    .flatten()
                    .map(|h| format!("method.request.header.{h}"))
            });
        let mut extra = Map::new();
        for key in [
            "jwtConfiguration",
            "authorizerPayloadFormatVersion",
            "enableSimpleResponses",
        ] {
            if let Some(v) = ext.get(key) {
                extra.insert(key.to_string(), v.clone());
            }
        }
        let authorizer = Authorizer {
            id: ids::short(),
            name: name.clone(),
            kind: kind.clone(),
            auth_type: authtype,
            authorizer_uri,
            authorizer_credentials: values::text_or_intrinsic(
                cx,
                &format!("{ext_ptr}/authorizerCredentials"),
                ext.get("authorizerCredentials"),
            ),
            identity_source,
            identity_validation_expression: ext
                .get("identityValidationExpression")
                .and_then(Value::as_str)
                .map(str::to_string),
            authorizer_result_ttl_in_seconds: ext
                .get("authorizerResultTtlInSeconds")
                .and_then(Value::as_i64),
            provider_arns: ext
                .get("providerARNs")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            extra: (!extra.is_empty()).then_some(Value::Object(extra)),
        };

        out.insert(name.clone(), (authorizer, SchemeAuth::Authorizer));
    }
    Ok(out)
}

/// Entry for a scheme without an authorizer; never stored in the API.
fn placeholder_authorizer(name: &str) -> Authorizer {
    Authorizer {
        id: String::new(),
        name: name.to_string(),
        kind: String::new(),
        auth_type: None,
        authorizer_uri: None,
        authorizer_credentials: None,
        identity_source: None,
        identity_validation_expression: None,
        authorizer_result_ttl_in_seconds: None,
        provider_arns: Vec::new(),
        extra: None,
    }
}

/// An operation's `security`: each scheme it names sets the method's authorization (an
/// authorizer, `AWS_IAM`) or requires an API key; a scheme with no API Gateway meaning, or not
/// defined, is ignored with a warning.
pub(super) fn apply_security(cx: &mut Ctx, op: &Op, authorizers: &AuthorizerIndex, m: &mut Method) {
    for name in op.security.iter().flatten() {
        match authorizers.get(name) {
            Some((a, SchemeAuth::Authorizer)) => {
                m.authorization_type = match a.kind.as_str() {
                    "COGNITO_USER_POOLS" => "COGNITO_USER_POOLS".into(),
                    "JWT" => "JWT".into(),
                    _ => "CUSTOM".into(),
                };
                m.authorizer_id = Some(a.id.clone());
                if matches!(a.kind.as_str(), "COGNITO_USER_POOLS" | "JWT") {
                    if let Some(scopes) = op.scopes.get(name) {
                        m.authorization_scopes = scopes.clone();
                    }
                }
            }
            Some((_, SchemeAuth::Iam)) => m.authorization_type = "AWS_IAM".into(),
            Some((_, SchemeAuth::ApiKey)) => m.api_key_required = true,
            Some((_, SchemeAuth::Unsupported(kind))) => cx.warn(
                &format!("{}/security", op.pointer),
                format!(
                    "security scheme {name} (type {kind:?}) has no API Gateway meaning; ignored"
                ),
            ),
            None => cx.warn(
                &format!("{}/security", op.pointer),
                format!("security scheme {name} is not defined in the document; ignored"),
            ),
        }
    }
}
