//! The response contract: a function's stdout, validated and translated into the HTTP response
//! the client gets ([`ProxyResponse`]), or refused as API Gateway refuses it
//! ([`MalformedResponse`]: the client sees a 502, or a 500 from an HTTP API).
//!
//! [`parse_response`] takes one of two paths. `plain` is the fast path for the usual payload 1.0
//! answer, read straight into typed fields without a JSON tree; it answers only where it is sure
//! to agree with the general path. `tree` is the general path: any JSON, both payload formats,
//! and the explanation of every refusal. Whether an `isBase64Encoded` body is decoded depends on
//! the request's `Accept` and the API's `binaryMediaTypes`, which is decided here.

use bytes::Bytes;

use super::PayloadVersion;

mod plain;
mod tree;

use plain::plain_v1;
use tree::parse_response_tree;

/// A function's answer, translated into an HTTP response. Header names may repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// The function answered something API Gateway refuses; the client gets 502
/// `{"message": "Internal server error"}` (500 `Internal Server Error` for HTTP APIs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Malformed Lambda proxy response: {reason}")]
pub struct MalformedResponse {
    pub reason: String,
}

/// Validates and translates a function's stdout. `request_accept` is the request's `Accept`
/// header; with payload 1.0 an `isBase64Encoded` body is decoded only when the first type it lists
/// matches `binary_media_types` (payload 2.0 always decodes).
pub fn parse_response(
    version: PayloadVersion,
    stdout: &[u8],
    request_accept: Option<&str>,
    binary_media_types: &[String],
) -> Result<ProxyResponse, MalformedResponse> {
    if version == PayloadVersion::V1 {
        let decode = accept_is_binary(request_accept, binary_media_types);
        if let Some(plain) = plain_v1(stdout, decode) {
            return Ok(plain);
        }
    }
    parse_response_tree(version, stdout, request_accept, binary_media_types)
}

/// Whether the first media type in `Accept` matches one of `binaryMediaTypes` (which may use
/// wildcards such as `image/*` or `*/*`).
fn accept_is_binary(accept: Option<&str>, binary_media_types: &[String]) -> bool {
    let Some(first) = accept.and_then(|a| a.split(',').next()) else {
        return false;
    };
    let first = first
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if first.is_empty() {
        return false;
    }
    binary_media_types
        .iter()
        .any(|t| media_type_matches(&t.trim().to_ascii_lowercase(), &first))
}

fn media_type_matches(pattern: &str, actual: &str) -> bool {
    let split = |s: &str| -> (String, String) {
        let (t, sub) = s.split_once('/').unwrap_or((s, ""));
        (t.to_owned(), sub.to_owned())
    };
    let (pt, ps) = split(pattern);
    let (at, asub) = split(actual);
    (pt == "*" || at == "*" || pt == at) && (ps == "*" || asub == "*" || ps == asub)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // ---- response table ----

    /// `None`: malformed. Otherwise (status, headers, body).
    type Want = Option<(u16, &'static [(&'static str, &'static str)], &'static str)>;

    pub(super) struct Case {
        name: &'static str,
        pub(super) version: PayloadVersion,
        pub(super) stdout: &'static str,
        accept: Option<&'static str>,
        binary: &'static [&'static str],
        want: Want,
    }

    pub(super) const V1: PayloadVersion = PayloadVersion::V1;
    const V2: PayloadVersion = PayloadVersion::V2;
    const JSON_CT: (&str, &str) = ("Content-Type", "application/json");
    const JSON_CT2: (&str, &str) = ("content-type", "application/json");

    fn case(name: &'static str, version: PayloadVersion, stdout: &'static str, want: Want) -> Case {
        Case {
            name,
            version,
            stdout,
            accept: None,
            binary: &[],
            want,
        }
    }

    pub(super) fn cases() -> Vec<Case> {
        vec![
            case(
                "status only",
                V1,
                r#"{"statusCode":200}"#,
                Some((200, &[JSON_CT], "")),
            ),
            case("empty object", V1, "{}", Some((200, &[JSON_CT], ""))),
            case(
                "headers only",
                V1,
                r#"{"headers":{"x-a":"1"}}"#,
                Some((200, &[("x-a", "1"), JSON_CT], "")),
            ),
            case(
                "string status",
                V1,
                r#"{"statusCode":"201","body":"made"}"#,
                Some((201, &[JSON_CT], "made")),
            ),
            case("non-integer status", V1, r#"{"statusCode":"test"}"#, None),
            case("fractional status", V1, r#"{"statusCode":200.5}"#, None),
            case("status out of range", V1, r#"{"statusCode":1000}"#, None),
            case("unknown key", V1, r#"{"statusCode":200,"foo":"bar"}"#, None),
            case("bare string", V1, r#""hello""#, None),
            case("bare number", V1, "42", None),
            case("not json", V1, "this is not JSON {", None),
            case("empty stdout", V1, "", None),
            case(
                "multiValueHeaders not a list",
                V1,
                r#"{"multiValueHeaders":{"x":"y"}}"#,
                None,
            ),
            case(
                "function error",
                V1,
                r#"{"errorMessage":"boom","errorType":"Error"}"#,
                None,
            ),
            case(
                "body not a string",
                V1,
                r#"{"statusCode":200,"body":{"a":1}}"#,
                None,
            ),
            case(
                "headers null",
                V1,
                r#"{"statusCode":204,"headers":null}"#,
                Some((204, &[JSON_CT], "")),
            ),
            case(
                "bool header values",
                V1,
                r#"{"headers":{"x-yes":true,"x-no":false,"content-type":"text/plain"}}"#,
                Some((
                    200,
                    &[
                        ("x-yes", "true"),
                        ("x-no", "false"),
                        ("content-type", "text/plain"),
                    ],
                    "",
                )),
            ),
            case(
                "same name in headers and multiValueHeaders",
                V1,
                r#"{"headers":{"x-h":"value-solo"},"multiValueHeaders":{"x-h":["value-multi"]}}"#,
                Some((
                    200,
                    &[("x-h", "value-multi"), ("x-h", "value-solo"), JSON_CT],
                    "",
                )),
            ),
            case(
                "multi-value set-cookie stays separate",
                V1,
                r#"{"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"x"}"#,
                Some((
                    200,
                    &[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), JSON_CT],
                    "x",
                )),
            ),
            case(
                "base64 without a binary Accept is verbatim",
                V1,
                r#"{"body":"aGk=","isBase64Encoded":true}"#,
                Some((200, &[JSON_CT], "aGk=")),
            ),
            Case {
                accept: Some("image/png, */*;q=0.8"),
                binary: &["image/*"],
                ..case(
                    "base64 with a binary first Accept is decoded",
                    V1,
                    r#"{"body":"aGk=","isBase64Encoded":true,"headers":{"Content-Type":"image/png"}}"#,
                    Some((200, &[("Content-Type", "image/png")], "hi")),
                )
            },
            Case {
                accept: Some("text/html, image/png"),
                binary: &["image/png"],
                ..case(
                    "only the first Accept type counts",
                    V1,
                    r#"{"body":"aGk=","isBase64Encoded":true}"#,
                    Some((200, &[JSON_CT], "aGk=")),
                )
            },
            Case {
                accept: Some("image/png"),
                binary: &["image/png"],
                ..case(
                    "invalid base64",
                    V1,
                    r#"{"body":"!!!","isBase64Encoded":true}"#,
                    None,
                )
            },
            case(
                "header with a newline",
                V1,
                r#"{"headers":{"x":"a\nb"}}"#,
                None,
            ),
            case(
                "isBase64Encoded not a bool",
                V1,
                r#"{"isBase64Encoded":"yes"}"#,
                None,
            ),
            // payload 2.0
            case(
                "v2 object without statusCode is the body",
                V2,
                r#"{"a":1}"#,
                Some((200, &[JSON_CT2], r#"{"a":1}"#)),
            ),
            case(
                "v2 string is the body",
                V2,
                r#""Hello from Lambda!""#,
                Some((200, &[JSON_CT2], "Hello from Lambda!")),
            ),
            case(
                "v2 number is the body",
                V2,
                "42\n",
                Some((200, &[JSON_CT2], "42")),
            ),
            case("v2 not json", V2, "nope", None),
            case(
                "v2 cookies",
                V2,
                r#"{"statusCode":200,"cookies":["a=1","b=2; Path=/"],"body":"ok"}"#,
                Some((
                    200,
                    &[
                        ("set-cookie", "a=1"),
                        ("set-cookie", "b=2; Path=/"),
                        JSON_CT2,
                    ],
                    "ok",
                )),
            ),
            case(
                "v2 base64 always decoded",
                V2,
                r#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true,"headers":{"content-type":"application/octet-stream"}}"#,
                Some((200, &[("content-type", "application/octet-stream")], "hi")),
            ),
            case(
                "v2 function error",
                V2,
                r#"{"errorMessage":"boom","errorType":"Error"}"#,
                None,
            ),
            case("v2 non-integer status", V2, r#"{"statusCode":"x"}"#, None),
        ]
    }

    #[test]
    fn response_table() {
        let mut failures = Vec::new();
        for c in cases() {
            let binary: Vec<String> = c.binary.iter().map(|s| s.to_string()).collect();
            let got = parse_response(c.version, c.stdout.as_bytes(), c.accept, &binary);
            let want = c.want.map(|(status, headers, body)| ProxyResponse {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body: Bytes::from_static(body.as_bytes()),
            });
            match (&got, &want) {
                (Ok(g), Some(w)) if g == w => {}
                (Err(_), None) => {}
                _ => failures.push(format!("{}: got {got:?}, want {want:?}", c.name)),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn malformed_says_why() {
        let e = parse_response(V1, br#"{"statusCode":200,"foo":1}"#, None, &[]).err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some(r#"Malformed Lambda proxy response: unknown key "foo""#)
        );
    }

    #[test]
    fn accept_matching() {
        let types = vec![
            "image/*".to_string(),
            "application/octet-stream".to_string(),
        ];
        assert!(accept_is_binary(Some("image/jpeg"), &types));
        assert!(accept_is_binary(
            Some("Application/Octet-Stream; q=1"),
            &types
        ));
        assert!(!accept_is_binary(Some("text/plain, image/jpeg"), &types));
        assert!(!accept_is_binary(None, &types));
        assert!(accept_is_binary(Some("text/plain"), &["*/*".to_string()]));
    }
}
