//! The general path of the response contract: the function's stdout read as a JSON tree, so that
//! any answer of either payload format is understood and every refusal says why. Payload 1.0
//! must be an object of the known keys; payload 2.0 may also be a bare body (any JSON without a
//! `statusCode`), and adds `cookies`.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::{accept_is_binary, MalformedResponse, PayloadVersion, ProxyResponse};

fn malformed<T>(reason: impl Into<String>) -> Result<T, MalformedResponse> {
    Err(MalformedResponse {
        reason: reason.into(),
    })
}

/// The general path of [`parse_response`](super::parse_response): any JSON, read as a tree,
/// every problem explained.
pub(super) fn parse_response_tree(
    version: PayloadVersion,
    stdout: &[u8],
    request_accept: Option<&str>,
    binary_media_types: &[String],
) -> Result<ProxyResponse, MalformedResponse> {
    let value: Value = match serde_json::from_slice(stdout) {
        Ok(v) => v,
        Err(e) => return malformed(format!("not JSON ({e})")),
    };
    if let Some(obj) = value.as_object() {
        if let Some(message) = obj.get("errorMessage") {
            return malformed(format!("the function failed: {message}"));
        }
    }
    match version {
        PayloadVersion::V1 => {
            let Value::Object(obj) = value else {
                return malformed(format!("expected a JSON object, got {}", kind_of(&value)));
            };
            if let Some(key) = obj.keys().find(|k| !V1_KEYS.contains(&k.as_str())) {
                return malformed(format!("unknown key {key:?}"));
            }
            let decode = accept_is_binary(request_accept, binary_media_types);
            structured(&obj, decode, "Content-Type")
        }
        PayloadVersion::V2 => match value {
            Value::Object(obj) if obj.contains_key("statusCode") => {
                structured(&obj, true, "content-type")
            }
            // Valid JSON without a statusCode is the body itself.
            Value::String(s) => Ok(json_body(Bytes::from(s))),
            _ => Ok(json_body(Bytes::copy_from_slice(trim_ascii(stdout)))),
        },
    }
}

const V1_KEYS: &[&str] = &[
    "statusCode",
    "headers",
    "multiValueHeaders",
    "body",
    "isBase64Encoded",
];

fn json_body(body: Bytes) -> ProxyResponse {
    ProxyResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `{statusCode, headers, multiValueHeaders, body, isBase64Encoded, cookies}` form.
fn structured(
    obj: &Map<String, Value>,
    decode_base64: bool,
    content_type_name: &str,
) -> Result<ProxyResponse, MalformedResponse> {
    let status = status_code(obj.get("statusCode"))?;

    let solo = header_map(obj.get("headers"), "headers", |v| {
        scalar(v).map(|s| vec![s])
    })?;
    let multi = header_map(
        obj.get("multiValueHeaders"),
        "multiValueHeaders",
        |v| match v {
            Value::Array(items) => items
                .iter()
                .filter(|i| !i.is_null())
                .map(scalar)
                .collect::<Option<Vec<_>>>(),
            _ => None,
        },
    )?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for (name, values) in &multi {
        for v in values {
            headers.push((name.clone(), v.clone()));
        }
    }
    for (name, values) in &solo {
        for v in values {
            headers.push((name.clone(), v.clone()));
        }
    }
    match obj.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for c in items {
                let Value::String(c) = c else {
                    return malformed("cookies must be strings");
                };
                headers.push(("set-cookie".into(), c.clone()));
            }
        }
        Some(_) => return malformed("cookies must be a list"),
    }
    for (name, value) in &headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return malformed(format!("invalid header name {name:?}"));
        }
        if http::HeaderValue::from_str(value).is_err() {
            return malformed(format!("invalid value for header {name:?}"));
        }
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.push((content_type_name.into(), "application/json".into()));
    }

    let is_b64 = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return malformed(format!(
                "isBase64Encoded must be a boolean, got {}",
                kind_of(v)
            ))
        }
    };
    let body = match obj.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if is_b64 && decode_base64 => {
            match base64::engine::general_purpose::STANDARD.decode(s.trim()) {
                Ok(b) => Bytes::from(b),
                Err(e) => return malformed(format!("body is not valid base64 ({e})")),
            }
        }
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(v) => return malformed(format!("body must be a string, got {}", kind_of(v))),
    };
    Ok(ProxyResponse {
        status,
        headers,
        body,
    })
}

fn status_code(v: Option<&Value>) -> Result<u16, MalformedResponse> {
    let code = match v {
        None | Some(Value::Null) => return Ok(200),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match code {
        Some(c @ 100..=599) => Ok(c as u16), // in 100..=599: fits in u16
        _ => malformed(format!(
            "statusCode {} is not an HTTP status",
            v.map_or(Value::Null, Clone::clone)
        )),
    }
}

/// A header value: strings as they are, booleans and numbers as their JSON text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn header_map(
    v: Option<&Value>,
    field: &str,
    values: impl Fn(&Value) -> Option<Vec<String>>,
) -> Result<Vec<(String, Vec<String>)>, MalformedResponse> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match values(v) {
                Some(list) => Ok((k.clone(), list)),
                None => malformed(format!("{field}.{k} has an invalid value")),
            })
            .collect(),
        Some(other) => malformed(format!("{field} must be an object, got {}", kind_of(other))),
    }
}
