//! `authorizer`: a Lambda authorizer for gw (API Gateway's authorizer event JSON on stdin, its
//! answer on stdout), for `TOKEN` and `REQUEST` authorizers alike.
//!
//! The caller's name is the token after `Bearer ` (TOKEN), or the `user` query parameter or else
//! the `X-User` header (REQUEST). Then:
//! - `unauthorized` (or no name): Lambda's error `{"errorMessage": "Unauthorized"}` → 401;
//! - `deny`: an explicit Deny for the whole API → 403;
//! - `broken`: an answer that is not a policy → 500;
//! - a name starting with `reader`: Allow for GET methods of the stage only;
//! - any other name: Allow for every method of the stage.
//!
//! Allowed callers get `principalId` = their name and a `context` (`user`, `level`, `admin`) that
//! the integration sees as `requestContext.authorizer.*` / `$context.authorizer.*`. A REQUEST
//! event's `X-Usage-Key` header comes back as `usageIdentifierKey` (the API key of an API whose
//! `apiKeySource` is `AUTHORIZER`).

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
};
use serde_json::{json, Value};
use std::io::{Read, Write};

/// `(caller name, method ARN, usage key)` from either event type.
fn caller(event: &[u8]) -> Result<(Option<String>, String, Option<String>), serde_json::Error> {
    let kind: Value = serde_json::from_slice(event)?;
    if kind.get("type").and_then(Value::as_str) == Some("REQUEST") {
        let req: ApiGatewayCustomAuthorizerRequestTypeRequest = serde_json::from_slice(event)?;
        let name = req
            .query_string_parameters
            .first("user")
            .map(str::to_owned)
            .or_else(|| {
                req.headers
                    .get("x-user")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            });
        let usage_key = req
            .headers
            .get("x-usage-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        return Ok((name, req.method_arn.unwrap_or_default(), usage_key));
    }
    let req: ApiGatewayCustomAuthorizerRequest = serde_json::from_slice(event)?;
    let name = req
        .authorization_token
        .as_deref()
        .map(|t| t.strip_prefix("Bearer ").unwrap_or(t).trim().to_owned());
    Ok((name, req.method_arn.unwrap_or_default(), None))
}

/// `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH` → (`...:API/STAGE`, METHOD).
fn stage_arn(method_arn: &str) -> (String, String) {
    let mut parts = method_arn.splitn(4, '/');
    let api = parts.next().unwrap_or("*");
    let stage = parts.next().unwrap_or("*");
    let method = parts.next().unwrap_or("*");
    (format!("{api}/{stage}"), method.to_owned())
}

fn policy(principal: &str, effect: &str, resource: String, name: &str) -> Value {
    json!({
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]
        },
        "context": {"user": name, "level": 3, "admin": false}
    })
}

fn answer(event: &[u8]) -> Value {
    let (name, method_arn, usage_key) = match caller(event) {
        Ok(c) => c,
        Err(e) => return json!({"errorMessage": format!("not an authorizer event: {e}")}),
    };
    let (stage, _method) = stage_arn(&method_arn);
    let mut answer = match name.as_deref() {
        None | Some("") | Some("unauthorized") => json!({"errorMessage": "Unauthorized"}),
        Some("deny") => policy("deny", "Deny", format!("{stage}/*"), "deny"),
        Some("broken") => json!({"principalId": "broken"}),
        Some(n) if n.starts_with("reader") => policy(n, "Allow", format!("{stage}/GET/*"), n),
        Some(n) => policy(n, "Allow", format!("{stage}/*/*"), n),
    };
    if let (Some(key), Some(obj)) = (usage_key, answer.as_object_mut()) {
        if obj.contains_key("policyDocument") {
            obj.insert("usageIdentifierKey".into(), Value::String(key));
        }
    }
    answer
}

fn main() {
    let mut event = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut event) {
        eprintln!("authorizer: cannot read the event: {e}");
        std::process::exit(1);
    }
    let out = answer(&event).to_string();
    if let Err(e) = std::io::stdout().write_all(out.as_bytes()) {
        eprintln!("authorizer: cannot write the answer: {e}");
        std::process::exit(1);
    }
}
