//! Hostile input for the router (`gw::gateway::router::Router`) and the Lambda proxy response parser
//! (`gw::aws::lambda::parse_response`).
//!
//! Router: arbitrary request paths (valid and invalid percent-encodings such as `%zz` and `%ff`,
//! `..`, `//`, overlong segments, unicode) against a router built from a spec with literal, param
//! and greedy routes. No panic, and every answer equals an independent reference matcher's
//! (literal > {param} > {greedy+} per segment, explicit method > ANY, ANY covering only the seven
//! methods API Gateway routes, empty segments ignored).
//!
//! parse_response: arbitrary bytes, arbitrary JSON, and near-valid proxy responses, both payload
//! versions. Never panics; `Ok` always carries a status in 100..=599 and valid header names/values.
//!
//! Short (CI):  cargo test --test prop_router
//! Long:        GW_LONG_TESTS=1 cargo test --test prop_router -- --nocapture

use gw::aws::lambda::{parse_response, PayloadVersion};
use gw::control::import::{import, ImportOptions};
use gw::gateway::router::Router;
use gw::model::RestApi;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

fn long() -> bool {
    std::env::var("GW_LONG_TESTS").is_ok_and(|v| v == "1")
}

fn cases() -> u32 {
    if long() {
        20_000
    } else {
        256
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

const SPEC: &str = r#"
openapi: 3.0.1
info: {title: router-props, version: "1"}
x-mock: &mock
  x-amazon-apigateway-integration:
    type: mock
    requestTemplates: {application/json: '{"statusCode": 200}'}
    responses: {default: {statusCode: "200"}}
paths:
  /:
    get: *mock
  /pets:
    get: *mock
    post: *mock
  /pets/mine:
    get: *mock
  /pets/{id}:
    get: *mock
    delete: *mock
  /pets/{id}/toys:
    x-amazon-apigateway-any-method: *mock
  /pets/{id}/toys/{toy}:
    put: *mock
  /files/special:
    get: *mock
  /files/{path+}:
    x-amazon-apigateway-any-method: *mock
  /static/{a}/{b}:
    get: *mock
  /a/b/c/d:
    get: *mock
"#;

fn api() -> RestApi {
    let imported = import("router.yaml", SPEC.as_bytes(), &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut api = imported.api;
    api.id = "routerapi".into();
    assert!(api.resources.iter().any(|r| r.path == "/files/{path+}"));
    api
}

// ---------------------------------------------------------------- the reference matcher

/// Decode `%XX` (two hex digits) to a byte; anything else stays as it is; then UTF-8, lossily.
fn decode(seg: &str) -> String {
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, PartialEq, Eq)]
struct Answer {
    resource: String,
    method: String,
    params: Vec<(String, String)>,
}

const SEVEN: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/// Rank every resource that matches; the best is the lexicographically largest list of
/// per-segment ranks (literal 2, param 1, greedy 0 — greedy ends the list).
fn reference(api: &RestApi, method: &str, path: &str) -> Option<Answer> {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    let mut best: Option<(Vec<u8>, Answer)> = None;
    for r in &api.resources {
        let pattern: Vec<&str> = r.path.split('/').filter(|s| !s.is_empty()).collect();
        // API Gateway routes seven methods; ANY stands for any of them and nothing else.
        if !SEVEN.contains(&method) {
            continue;
        }
        let Some(m) = r
            .resource_methods
            .get(method)
            .or_else(|| r.resource_methods.get("ANY"))
        else {
            continue;
        };
        let mut ranks = Vec::new();
        let mut params = Vec::new();
        let mut ok = true;
        let mut greedy = false;
        for (i, p) in pattern.iter().enumerate() {
            if let Some(inner) = p.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if let Some(name) = inner.strip_suffix('+') {
                    // Greedy: at least one segment left.
                    if i >= segs.len() {
                        ok = false;
                        break;
                    }
                    ranks.push(0);
                    params.push((name.to_string(), segs[i..].join("/")));
                    greedy = true;
                    break;
                }
                if i >= segs.len() {
                    ok = false;
                    break;
                }
                ranks.push(1);
                params.push((inner.to_string(), segs[i].clone()));
            } else {
                if i >= segs.len() || segs[i] != *p {
                    ok = false;
                    break;
                }
                ranks.push(2);
            }
        }
        if !ok || (!greedy && pattern.len() != segs.len()) {
            continue;
        }
        let answer = Answer {
            resource: r.path.clone(),
            method: m.http_method.clone(),
            params,
        };
        if best.as_ref().is_none_or(|(b, _)| ranks > *b) {
            best = Some((ranks, answer));
        }
    }
    best.map(|(_, a)| a)
}

fn routed(
    router: &Router,
    api: &RestApi,
    method: &str,
    path: &str,
) -> Result<Option<Answer>, TestCaseError> {
    let found = catch_unwind(AssertUnwindSafe(|| {
        router.find(api, method, path).map(|m| Answer {
            resource: m.resource.path.clone(),
            method: m.method.http_method.clone(),
            params: m.path_params.clone(),
        })
    }));
    found.map_err(|_| TestCaseError::fail(format!("router panicked on {method} {path:?}")))
}

// ---------------------------------------------------------------- path strategies

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        // Route names, raw and percent-encoded.
        4 => prop::sample::select(vec![
            "pets", "mine", "toys", "files", "special", "static", "a", "b", "c", "d", "x", "42",
        ])
        .prop_map(str::to_string),
        2 => prop::sample::select(vec!["pets", "mine", "files", "special", "toys"]).prop_flat_map(|s| {
            let s = s.to_string();
            prop::collection::vec(any::<bool>(), s.len()).prop_map(move |enc| {
                s.chars()
                    .zip(enc)
                    .map(|(c, e)| if e { format!("%{:02X}", c as u32) } else { c.to_string() })
                    .collect::<String>()
            })
        }),
        // Traversal, invalid and odd encodings.
        3 => prop::sample::select(vec![
            "..", ".", "%2e%2e", "%2E%2E", "..%2f..", "%2f", "%2F", "%00", "%zz", "%ff", "%fe%ff",
            "%c3", "%c3%28", "%e2%82", "%f0%9f%98%80", "%", "%%", "%2", "%g0", "%20", "+", "~",
            "{id}", "{path+}", "%7Bid%7D", "\\", ";", "?", "#", "é", "\u{1F600}", "\u{0}",
            "\u{feff}", "\u{202e}", "%25", "%2541",
        ])
        .prop_map(str::to_string),
        3 => "[ -~]{0,12}",
        2 => any::<String>().prop_map(|s| s.chars().filter(|c| *c != '/').take(16).collect()),
        1 => (1usize..20_000).prop_map(|n| "a".repeat(n)),
        1 => (1usize..3_000).prop_map(|n| "%zz%ff".repeat(n)),
    ]
}

/// A path shaped like one of the routes: literals kept (sometimes encoded), params filled with
/// arbitrary segments, greedy tails of 1..4 arbitrary segments, sometimes one segment too many.
fn route_shaped_path() -> impl Strategy<Value = String> {
    let templates = vec![
        "/",
        "/pets",
        "/pets/mine",
        "/pets/{id}",
        "/pets/{id}/toys",
        "/pets/{id}/toys/{toy}",
        "/files/special",
        "/files/{path+}",
        "/static/{a}/{b}",
        "/a/b/c/d",
        "/a/b/c",
    ];
    (
        prop::sample::select(templates),
        prop::collection::vec(segment(), 4),
        prop::collection::vec(segment(), 1..4),
        prop::option::weighted(0.15, segment()),
        1usize..3,
    )
        .prop_map(|(t, fills, tail, extra, slashes)| {
            let sep = "/".repeat(slashes);
            let mut fills = fills.into_iter();
            let mut out = String::new();
            for seg in t.split('/').filter(|s| !s.is_empty()) {
                out.push_str(&sep);
                if seg.ends_with("+}") {
                    out.push_str(&tail.join("/"));
                } else if seg.starts_with('{') {
                    out.push_str(&fills.next().unwrap_or_default());
                } else {
                    out.push_str(seg);
                }
            }
            if let Some(e) = extra {
                out.push('/');
                out.push_str(&e);
            }
            if out.is_empty() {
                out.push('/');
            }
            out
        })
}

fn raw_path() -> impl Strategy<Value = String> {
    prop_oneof![route_shaped_path(), free_path()]
}

/// A raw request path: segments joined by one or more slashes, maybe a trailing slash.
fn free_path() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((segment(), 1usize..4, 0usize..6), 0..8),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(segs, lead, trail)| {
            let mut s = String::new();
            for (i, (seg, slashes, _)) in segs.iter().enumerate() {
                let n = if i == 0 && !lead { 1 } else { *slashes };
                s.push_str(&"/".repeat(n));
                s.push_str(seg);
            }
            if trail || s.is_empty() {
                s.push('/');
            }
            s
        })
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
            .prop_map(str::to_string),
        1 => prop::sample::select(vec!["ANY", "get", "", "G\u{0}T", "TRACE"]).prop_map(str::to_string),
        1 => "[A-Za-z]{1,10}",
    ]
}

// ---------------------------------------------------------------- parse_response

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[ -~]{0,8}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z]{0,8}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn status_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..1_000).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0u64..1_000).prop_map(|n| Value::String(n.to_string())),
        (0u64..1_000).prop_map(|n| Value::String(format!(" {n}\n"))),
        Just(Value::String("2e2".into())),
        Just(Value::String("-200".into())),
        Just(Value::String("200.0".into())),
        Just(Value::from(200.0)),
        Just(Value::from(1e300)),
        Just(Value::String("18446744073709551816".into())),
        json_value(),
    ]
}

fn header_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[ -~]{0,16}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
        Just(Value::String("a\r\nb".into())),
        Just(Value::String("\u{7f}".into())),
        json_leaf(),
        json_value(),
    ]
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z-]{1,12}",
        Just("Content-Type".to_string()),
        Just("set-cookie".to_string()),
        Just(String::new()),
        Just("bad name".to_string()),
        Just("x:y".to_string()),
        Just("é".to_string()),
        any::<String>(),
    ]
}

/// Objects shaped like proxy responses, with each field sometimes odd.
fn proxy_like() -> impl Strategy<Value = Value> {
    (
        prop::option::of(status_value()),
        prop::option::of(prop_oneof![
            prop::collection::vec((header_name(), header_value()), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            json_value(),
        ]),
        prop::option::of(prop_oneof![
            prop::collection::vec(
                (
                    header_name(),
                    prop::collection::vec(header_value(), 0..3).prop_map(Value::Array)
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            json_value(),
        ]),
        prop::option::of(prop_oneof![
            any::<String>().prop_map(Value::String),
            "[A-Za-z0-9+/=]{0,24}".prop_map(Value::String),
            " aGVsbG8= ".prop_map(Value::String),
            json_value(),
        ]),
        prop::option::of(prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            json_leaf()
        ]),
        prop::option::of(prop_oneof![
            prop::collection::vec(header_value(), 0..3).prop_map(Value::Array),
            json_value(),
        ]),
        prop::option::of(("[a-zA-Z]{1,10}", json_value())),
    )
        .prop_map(|(status, headers, multi, body, b64, cookies, extra)| {
            let mut m = serde_json::Map::new();
            let fields = [
                ("statusCode", status),
                ("headers", headers),
                ("multiValueHeaders", multi),
                ("body", body),
                ("isBase64Encoded", b64),
                ("cookies", cookies),
            ];
            for (k, v) in fields {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            }
            if let Some((k, v)) = extra {
                m.insert(k, v);
            }
            Value::Object(m)
        })
}

/// What a function might print: JSON of some shape, raw bytes, or JSON with bytes spliced in.
fn stdout() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proxy_like().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => prop::collection::vec(any::<u8>(), 0..256),
        1 => (proxy_like(), any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(v, at, junk)| {
                let mut b = serde_json::to_vec(&v).unwrap();
                let i = at.index(b.len() + 1);
                b.splice(i..i, junk);
                b
            }),
        1 => (1usize..50_000).prop_map(|n| ("[".repeat(n) + &"]".repeat(n)).into_bytes()),
        1 => (1usize..50_000).prop_map(|n| ("{\"a\":".repeat(n) + "1" + &"}".repeat(n)).into_bytes()),
        1 => Just(b"{\"errorMessage\": \"boom\", \"statusCode\": 200}".to_vec()),
        1 => Just(b"  \"just a string\"  \n".to_vec()),
    ]
}

fn check_parse(
    version: PayloadVersion,
    bytes: &[u8],
    accept: Option<&str>,
    binary: &[String],
) -> Result<bool, TestCaseError> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        parse_response(version, bytes, accept, binary)
    }))
    .map_err(|_| {
        TestCaseError::fail(format!(
            "parse_response panicked on {:?}",
            String::from_utf8_lossy(bytes)
        ))
    })?;
    match result {
        Err(e) => {
            prop_assert!(!e.reason.is_empty());
            Ok(false)
        }
        Ok(r) => {
            prop_assert!(
                (100..=599).contains(&r.status),
                "status {} from {:?}",
                r.status,
                String::from_utf8_lossy(bytes)
            );
            for (n, v) in &r.headers {
                prop_assert!(
                    http::HeaderName::from_bytes(n.as_bytes()).is_ok(),
                    "header name {n:?}"
                );
                prop_assert!(http::HeaderValue::from_str(v).is_ok(), "header value {v:?}");
            }
            // The response can be built as the server would.
            let mut b = http::Response::builder().status(r.status);
            for (n, v) in &r.headers {
                b = b.header(n.as_str(), v.as_str());
            }
            prop_assert!(b.body(r.body.clone()).is_ok());
            Ok(true)
        }
    }
}

mod properties;
