//! Lambda authorizers (REST APIs, `TOKEN` and `REQUEST`), run as local WebAssembly functions of
//! the Lambda-style contract, as API Gateway runs them:
//!
//! 1. The identity is read first: the `TOKEN` header (checked against
//!    `identityValidationExpression`, a whole-value match), or every `REQUEST` identity source
//!    (`method.request.header.X`, `method.request.querystring.X`, `stageVariables.X`,
//!    `context.X`). Missing, empty or not matching → 401 Unauthorized without calling the function.
//! 2. A cached answer for the same identity is used while its TTL lasts
//!    (`authorizerResultTtlInSeconds`, default 300, 0 = off; `REQUEST` authorizers without
//!    identity sources are never cached). The cached *policy* is evaluated again against each
//!    request's method ARN, so a policy naming one method denies the others while cached.
//! 3. Otherwise the function gets the `TOKEN` event (`type`, `authorizationToken`, `methodArn`)
//!    or the `REQUEST` event (the payload 1.0 request fields, `type`, `methodArn`) on stdin and
//!    answers `{"principalId", "policyDocument", "context"?}` on stdout. Lambda's error shape
//!    `{"errorMessage": "Unauthorized"}` → 401; anything else that is not a policy, a missing
//!    function, a trap or a timeout → 500 `AuthorizerConfigurationException`.
//! 4. The policy: an explicit `Deny` matching `execute-api:Invoke` on the method ARN → 403 "...with
//!    an explicit deny"; else an `Allow` matching it → the request goes on, with `principalId` and
//!    the `context` values (stringified) in `requestContext.authorizer` / `$context.authorizer.*`;
//!    else → 403 "User is not authorized to access this resource". `Action` and `Resource` match
//!    with `*` and `?` wildcards.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::aws::gateway_response::{GatewayError, ResponseType};
use crate::aws::lambda::{self, Authorized, Grant, PayloadVersion};
use crate::gateway::integrations::function;
use crate::gateway::integrations::RequestCx;
use crate::model::Authorizer;

/// `authorizerResultTtlInSeconds` when the API does not say.
pub const DEFAULT_TTL_SECONDS: i64 = 300;
/// AWS's maximum TTL.
pub const MAX_TTL_SECONDS: i64 = crate::aws::AUTHORIZER_MAX_TTL_SECONDS;
/// How long an authorizer function may run.
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(29);
/// Cached decisions kept at most (expired ones are dropped first when full).
const MAX_CACHED: usize = 10_000;

/// Authorizer answers and compiled validation expressions, shared by every worker.
#[derive(Default)]
pub struct Cache {
    decisions: Mutex<HashMap<String, (Instant, Arc<Decision>)>>,
    expressions: Mutex<HashMap<String, Option<regex::Regex>>>,
}

/// An authorizer's answer: who, which statements, what context.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub grant: Arc<Grant>,
    pub statements: Vec<Statement>,
}

/// A decision as kept in Redis (JSON).
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    grant: crate::aws::lambda::Grant,
    /// `(allow, actions, resources)` per statement.
    statements: Vec<(bool, Vec<String>, Vec<String>)>,
}

fn encode(d: &Decision) -> Option<String> {
    serde_json::to_string(&Stored {
        grant: (*d.grant).clone(),
        statements: d
            .statements
            .iter()
            .map(|s| (s.allow, s.actions.clone(), s.resources.clone()))
            .collect(),
    })
    .ok()
}

/// A decision read back; `None` for anything else (asked again, as on a miss).
fn decode(text: &str) -> Option<Decision> {
    let stored: Stored = serde_json::from_str(text).ok()?;
    Some(Decision {
        grant: Arc::new(stored.grant),
        statements: stored
            .statements
            .into_iter()
            .map(|(allow, actions, resources)| Statement {
                allow,
                actions,
                resources,
            })
            .collect(),
    })
}

/// One policy statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// What the policy says about one method ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl Cache {
    fn get(&self, key: &str) -> Option<Arc<Decision>> {
        let map = self.decisions.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some((expires, d)) if *expires > Instant::now() => Some(d.clone()),
            _ => None,
        }
    }

    fn put(&self, key: String, ttl: Duration, decision: Arc<Decision>) {
        let now = Instant::now();
        let mut map = self.decisions.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CACHED {
            map.retain(|_, (expires, _)| *expires > now);
            if map.len() >= MAX_CACHED {
                map.clear();
            }
        }
        map.insert(key, (now + ttl, decision));
    }

    /// Forgets every answer cached for a stage of an API (FlushStageAuthorizersCache).
    pub fn flush_stage(&self, api_id: &str, stage: &str) {
        let prefix = format!("{api_id}\u{1}{stage}\u{1}");
        let mut map = self.decisions.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|k, _| !k.starts_with(&prefix));
    }

    /// `identityValidationExpression` compiled as a whole-value match; `None` if it is not a
    /// valid expression.
    fn expression(&self, expr: &str) -> Option<regex::Regex> {
        let mut map = self.expressions.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(expr.to_string())
            .or_insert_with(|| regex::Regex::new(&format!("^(?:{expr})$")).ok())
            .clone()
    }
}

/// The method ARN an authorizer is asked about:
/// `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH` (the request path, without its
/// leading slash).
pub fn method_arn(cx: &RequestCx) -> String {
    format!(
        "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
        lambda::DEFAULT_REGION,
        lambda::DEFAULT_ACCOUNT_ID,
        cx.api_id,
        cx.stage,
        cx.http_method,
        cx.path
    )
}

fn unauthorized() -> GatewayError {
    GatewayError::new(ResponseType::Unauthorized)
}

fn configuration_error(authorizer: &Authorizer, detail: impl std::fmt::Display) -> GatewayError {
    tracing::warn!("authorizer {}: {detail}", authorizer.name);
    GatewayError::new(ResponseType::AuthorizerConfigurationError)
}

/// Runs `authorizer` for this request: what it granted, or the gateway error to answer.
pub async fn authorize(
    cx: &RequestCx<'_>,
    authorizer: &Authorizer,
    reach: crate::gateway::outbound::Reach<'_, '_>,
    cache: &Cache,
    shared: Option<&crate::gateway::counters::Remote>,
) -> Result<Authorized, GatewayError> {
    let arn = method_arn(cx);
    let token_kind = match authorizer.kind.as_str() {
        "TOKEN" => true,
        "REQUEST" => false,
        other => {
            return Err(configuration_error(
                authorizer,
                format!("{other} authorizers are not run by gw (only TOKEN and REQUEST)"),
            ))
        }
    };
    let identity = if token_kind {
        Some(token(cx, authorizer, cache)?)
    } else {
        request_identity(cx, authorizer)?
    };
    let ttl = authorizer
        .authorizer_result_ttl_in_seconds
        .unwrap_or(DEFAULT_TTL_SECONDS)
        .clamp(0, MAX_TTL_SECONDS);
    let key = identity.as_deref().filter(|_| ttl > 0).map(|id| {
        format!(
            "{}\u{1}{}\u{1}{}\u{1}{id}",
            cx.api_id, cx.stage, authorizer.id
        )
    });
    // With `--authorizer-cache redis` the answers are every node's (and only there, so that a
    // flush on one node holds for all); otherwise this server's.
    let cached = match (shared, key.as_deref()) {
        (Some(remote), Some(k)) => remote
            .cached_answer(k)
            .await
            .and_then(|text| decode(&text))
            .map(Arc::new),
        (None, Some(k)) => cache.get(k),
        _ => None,
    };
    let (decision, latency) = match cached {
        Some(d) => (d, 0),
        None => {
            // The event is built only when the function runs.
            let event = if token_kind {
                serde_json::json!({
                    "type": "TOKEN",
                    "authorizationToken": identity.as_deref().unwrap_or_default(),
                    "methodArn": arn,
                })
            } else {
                request_event(cx, &arn)
            };
            let started = Instant::now();
            let decision = Arc::new(invoke(cx, authorizer, reach, event).await?);
            let latency = started.elapsed().as_millis() as u64;
            let ttl = Duration::from_secs(ttl as u64);
            match (shared, key) {
                (Some(remote), Some(key)) => {
                    if let Some(text) = encode(&decision) {
                        remote.cache_answer(&key, ttl, text).await;
                    }
                }
                (None, Some(key)) => cache.put(key, ttl, decision.clone()),
                _ => {}
            }
            (decision, latency)
        }
    };
    match evaluate(&decision.statements, &arn) {
        Verdict::Allow => Ok(Authorized {
            grant: decision.grant.clone(),
            integration_latency_ms: latency,
        }),
        Verdict::ExplicitDeny => Err(GatewayError::new(ResponseType::AccessDenied)),
        Verdict::ImplicitDeny => Err(GatewayError::with_message(
            ResponseType::AccessDenied,
            "User is not authorized to access this resource",
        )),
    }
}

/// The `TOKEN` authorizer's token: the header its identity source names, present, non-empty and
/// matching the validation expression.
fn token(cx: &RequestCx, authorizer: &Authorizer, cache: &Cache) -> Result<String, GatewayError> {
    let source = authorizer
        .identity_source
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("method.request.header.Authorization");
    let value = cx
        .mapping_source(source)
        .filter(|v| !v.is_empty())
        .ok_or_else(unauthorized)?;
    if let Some(expr) = authorizer
        .identity_validation_expression
        .as_deref()
        .filter(|e| !e.is_empty())
    {
        let Some(re) = cache.expression(expr) else {
            return Err(configuration_error(
                authorizer,
                format!("identityValidationExpression {expr:?} is not a valid regular expression"),
            ));
        };
        if !re.is_match(&value) {
            return Err(unauthorized());
        }
    }
    Ok(value)
}

/// The `REQUEST` authorizer's identity: every source's value (any missing or empty → 401), or
/// `None` when it names no sources (then nothing is cached).
fn request_identity(
    cx: &RequestCx,
    authorizer: &Authorizer,
) -> Result<Option<String>, GatewayError> {
    let sources: Vec<&str> = authorizer
        .identity_source
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if sources.is_empty() {
        return Ok(None);
    }
    let mut identity = String::new();
    for source in sources {
        let value = cx
            .mapping_source(source)
            .filter(|v| !v.is_empty())
            .ok_or_else(unauthorized)?;
        identity.push_str(&value);
        identity.push('\u{2}');
    }
    Ok(Some(identity))
}

/// The `REQUEST` event: the payload 1.0 request fields without the body, with `type` and
/// `methodArn`.
fn request_event(cx: &RequestCx, arn: &str) -> Value {
    let input = function::event_input(cx, PayloadVersion::V1, &[]);
    let mut event = match lambda::build_event(&input) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    event.remove("body");
    event.remove("isBase64Encoded");
    let mut out = Map::new();
    out.insert("type".into(), Value::from("REQUEST"));
    out.insert("methodArn".into(), Value::from(arn));
    out.extend(event);
    Value::Object(out)
}

async fn invoke(
    cx: &RequestCx<'_>,
    authorizer: &Authorizer,
    reach: crate::gateway::outbound::Reach<'_, '_>,
    event: Value,
) -> Result<Decision, GatewayError> {
    let uri = authorizer.authorizer_uri.as_deref().unwrap_or("");
    let (f, runtime) = function::resolve(cx, uri, &reach.snapshot.functions)
        .map_err(|e| configuration_error(authorizer, format!("authorizerUri {e}")))?;
    if !f.loaded.kind().is_lambda() {
        return Err(configuration_error(
            authorizer,
            format!(
                "{} is a wasi:http component; an authorizer must be a Lambda-style function",
                f.loaded.label()
            ),
        ));
    }
    let event = serde_json::to_vec(&event).unwrap_or_default();
    let out = function::run_lambda(runtime, f, event, AUTHORIZER_TIMEOUT, reach, cx.request_id)
        .await
        .map_err(|e| configuration_error(authorizer, format!("{}: {e}", f.loaded.label())))?
        // Lambda's error shape: "Unauthorized" is a 401, anything else a configuration error.
        .into_payload();
    parse_answer(&out).map_err(|e| match e {
        Answer::Unauthorized => unauthorized(),
        Answer::Invalid(why) => {
            configuration_error(authorizer, format!("{}: {why}", f.loaded.label()))
        }
    })
}

/// Why an authorizer's answer grants nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Lambda's error shape with the message `Unauthorized`: 401.
    Unauthorized,
    /// Anything else that is not a valid answer: 500.
    Invalid(String),
}

/// Reads an authorizer's output.
pub fn parse_answer(out: &[u8]) -> Result<Decision, Answer> {
    let invalid = |s: &str| Answer::Invalid(s.to_string());
    let value: Value = serde_json::from_slice(out)
        .map_err(|e| Answer::Invalid(format!("the answer is not JSON ({e})")))?;
    let Value::Object(obj) = value else {
        return Err(invalid("the answer is not a JSON object"));
    };
    if !obj.contains_key("policyDocument") {
        if let Some(message) = obj.get("errorMessage") {
            return Err(if message.as_str() == Some("Unauthorized") {
                Answer::Unauthorized
            } else {
                Answer::Invalid(format!("the function failed: {message}"))
            });
        }
    }
    let principal_id = match obj.get("principalId") {
        Some(Value::String(s)) => s.clone(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        _ => return Err(invalid("the answer has no principalId")),
    };
    let Some(Value::Object(policy)) = obj.get("policyDocument") else {
        return Err(invalid("the answer has no policyDocument object"));
    };
    let statements = match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().map(statement).collect::<Result<_, _>>()?,
        Some(one @ Value::Object(_)) => vec![statement(one)?],
        _ => return Err(invalid("policyDocument has no Statement")),
    };
    let mut context = Vec::new();
    match obj.get("context") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(_) | Value::Bool(_) => v.to_string(),
                    _ => {
                        return Err(Answer::Invalid(format!(
                            "context value {k:?} is not a string, number or boolean"
                        )))
                    }
                };
                context.push((k.clone(), v));
            }
        }
        Some(_) => return Err(invalid("context is not an object")),
    }
    Ok(Decision {
        grant: Arc::new(Grant {
            principal_id,
            context,
            usage_identifier_key: obj
                .get("usageIdentifierKey")
                .and_then(Value::as_str)
                .map(str::to_string),
            claims: None,
        }),
        statements,
    })
}

fn strings(v: Option<&Value>, what: &str) -> Result<Vec<String>, Answer> {
    match v {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(list)) => list
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Answer::Invalid(format!("a statement's {what} is not a string")))
            })
            .collect(),
        _ => Err(Answer::Invalid(format!("a statement has no {what}"))),
    }
}

fn statement(v: &Value) -> Result<Statement, Answer> {
    let allow = match v.get("Effect").and_then(Value::as_str) {
        Some(e) if e.eq_ignore_ascii_case("allow") => true,
        Some(e) if e.eq_ignore_ascii_case("deny") => false,
        _ => {
            return Err(Answer::Invalid(
                "a statement's Effect is neither Allow nor Deny".into(),
            ))
        }
    };
    Ok(Statement {
        allow,
        actions: strings(v.get("Action"), "Action")?,
        resources: strings(v.get("Resource"), "Resource")?,
    })
}

/// An explicit Deny wins; then an Allow; otherwise the request is implicitly denied.
pub fn evaluate(statements: &[Statement], method_arn: &str) -> Verdict {
    let applies = |s: &Statement| {
        s.actions
            .iter()
            .any(|a| matches(a, "execute-api:Invoke", true))
            && s.resources.iter().any(|r| wildcard(r, method_arn))
    };
    if statements.iter().any(|s| !s.allow && applies(s)) {
        Verdict::ExplicitDeny
    } else if statements.iter().any(|s| s.allow && applies(s)) {
        Verdict::Allow
    } else {
        Verdict::ImplicitDeny
    }
}

/// IAM-style match: `*` is any run of characters (slashes included), `?` one character.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    matches(pattern, text, false)
}

/// [`wildcard`], optionally ignoring ASCII case (IAM actions are case-insensitive). Works on the
/// bytes, without allocating; `?` and the backtracking after `*` step over whole characters.
fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let char_len = |i: usize| {
        text.get(i..)
            .and_then(|s| s.chars().next())
            .map_or(1, char::len_utf8)
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(b'?') => {
                pi += 1;
                ti += char_len(ti);
            }
            Some(&c) if c == t[ti] || (ignore_case && c.eq_ignore_ascii_case(&t[ti])) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    let next = st + char_len(st);
                    pi = sp + 1;
                    ti = next;
                    star = Some((sp, next));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_iam_does() {
        let arn = "arn:aws:execute-api:us-east-1:000000000000:abc/prod/GET/pets/1";
        assert!(wildcard("*", arn));
        assert!(wildcard(arn, arn));
        assert!(wildcard("arn:aws:execute-api:*:*:abc/prod/GET/*", arn));
        assert!(wildcard(
            "arn:aws:execute-api:us-east-1:000000000000:abc/*/*",
            arn
        ));
        assert!(wildcard(
            "arn:aws:execute-api:us-east-1:000000000000:abc/prod/GET/pets/?",
            arn
        ));
        assert!(!wildcard(
            "arn:aws:execute-api:us-east-1:000000000000:abc/prod/POST/*",
            arn
        ));
        assert!(!wildcard(
            "arn:aws:execute-api:us-east-1:000000000000:abc/prod/GET/pets",
            arn
        ));
        assert!(!wildcard("", arn));
        assert!(wildcard("", ""));
        assert!(wildcard("a*b*c", "aXXbYYc"));
        assert!(!wildcard("a*b*c", "aXXbYY"));
        // `?` is one character, not one byte; literals compare exactly.
        assert!(wildcard("caf?/x", "café/x"));
        assert!(wildcard("*é*", "aébc"));
        assert!(!wildcard("caf?", "café!"));
        assert!(matches("Execute-API:*", "execute-api:Invoke", true));
        assert!(!wildcard("Execute-API:*", "execute-api:Invoke"));
    }

    fn answer(s: &str) -> Result<Decision, Answer> {
        parse_answer(s.as_bytes())
    }

    #[test]
    fn answers_are_read_and_evaluated() {
        let d = answer(
            r#"{"principalId": "user-1",
                "policyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:*:*:abc/prod/GET/*"},
                    {"Action": ["execute-api:*"], "Effect": "Deny", "Resource": ["arn:aws:execute-api:*:*:abc/prod/GET/admin"]}]},
                "context": {"tier": "gold", "n": 3, "ok": true}}"#,
        )
        .unwrap();
        assert_eq!(d.grant.principal_id, "user-1");
        assert_eq!(
            d.grant.context,
            vec![
                ("tier".to_string(), "gold".to_string()),
                ("n".to_string(), "3".to_string()),
                ("ok".to_string(), "true".to_string())
            ]
        );
        let arn = |m: &str, p: &str| format!("arn:aws:execute-api:us-east-1:0:abc/prod/{m}{p}");
        assert_eq!(
            evaluate(&d.statements, &arn("GET", "/pets")),
            Verdict::Allow
        );
        assert_eq!(
            evaluate(&d.statements, &arn("GET", "/admin")),
            Verdict::ExplicitDeny
        );
        assert_eq!(
            evaluate(&d.statements, &arn("POST", "/pets")),
            Verdict::ImplicitDeny
        );
        // A single statement object, and an action that is not execute-api:Invoke.
        let d = answer(r#"{"principalId": "u", "policyDocument": {"Statement": {"Action": "s3:GetObject", "Effect": "Allow", "Resource": "*"}}}"#).unwrap();
        assert_eq!(
            evaluate(&d.statements, &arn("GET", "/")),
            Verdict::ImplicitDeny
        );
    }

    #[test]
    fn what_is_not_a_policy_is_refused() {
        assert_eq!(
            answer(r#"{"errorMessage": "Unauthorized", "errorType": "Error"}"#),
            Err(Answer::Unauthorized)
        );
        for bad in [
            "not json",
            "[]",
            r#"{"errorMessage": "boom"}"#,
            r#"{"policyDocument": {"Statement": []}}"#,
            r#"{"principalId": "u"}"#,
            r#"{"principalId": "u", "policyDocument": {}}"#,
            r#"{"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}}"#,
            r#"{"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Allow", "Resource": "*"}]}}"#,
            r#"{"principalId": "u", "policyDocument": {"Statement": []}, "context": {"nested": {"a": 1}}}"#,
            r#"{"principalId": "u", "policyDocument": {"Statement": []}, "context": "x"}"#,
        ] {
            assert!(
                matches!(answer(bad), Err(Answer::Invalid(_))),
                "{bad} should be invalid"
            );
        }
    }
}
