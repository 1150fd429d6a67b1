//! WebAssembly functions through the real gateway: the proxy event a guest receives (snapshots),
//! how the guest's answer is validated, hostile guests, canary routing between function versions,
//! a `wasi:http` component, and the compiled-code cache across restarts.
//!
//! Needs the guests: run `scripts/build-functions.sh` first.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{client, get, guest, send, Gw, Reply, Server};
use serde_json::{json, Value};

// ---- fixtures ----

const INTERNAL_ERROR: &str = r#"{"message": "Internal server error"}"#;
const TIMED_OUT: &str = r#"{"message": "Endpoint request timed out"}"#;

fn functions_spec() -> PathBuf {
    common::root().join("specs/functions.yaml")
}

/// The Lambda ARN integration URI for `function` (may contain `${stageVariables.x}`).
fn lambda_uri(function: &str) -> String {
    format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/\
         arn:aws:lambda:us-east-1:123456789012:function:{function}/invocations"
    )
}

/// One AWS_PROXY route of a test spec.
struct Route {
    path: &'static str,
    function: &'static str,
    payload_v2: bool,
    timeout_ms: Option<u64>,
}

/// Writes an OpenAPI spec with ANY-method AWS_PROXY `routes` into the state directory.
fn write_spec(gw: &Gw, title: &str, routes: &[Route]) -> PathBuf {
    let mut paths = serde_json::Map::new();
    for r in routes {
        let mut integration = json!({
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": lambda_uri(r.function),
        });
        if r.payload_v2 {
            integration["payloadFormatVersion"] = json!("2.0");
        }
        if let Some(t) = r.timeout_ms {
            integration["timeoutInMillis"] = json!(t);
        }
        paths.insert(
            r.path.to_owned(),
            json!({"x-amazon-apigateway-any-method": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": integration,
            }}),
        );
    }
    let spec = json!({
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1.0"},
        "paths": paths,
        "x-amazon-apigateway-binary-media-types": ["application/octet-stream", "image/*"],
    });
    let file = gw.state().join(format!("{title}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
    file
}

/// `gw import SPEC`; returns the API id.
fn import(gw: &Gw, spec: &Path) -> String {
    let out = gw.ok(&["import", spec.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

/// `gw function put NAME FILE EXTRA...`.
fn put(gw: &Gw, name: &str, wasm: &Path, extra: &[&str]) {
    let mut args = vec!["function", "put", name, wasm.to_str().unwrap()];
    args.extend_from_slice(extra);
    gw.ok(&args);
}

/// `gw stages --json`: the one stage's production and canary deployment ids.
fn deployment_ids(gw: &Gw) -> (String, Option<String>) {
    let v: Value = serde_json::from_str(&gw.ok(&["stages", "--json"])).unwrap();
    let stage = &v["item"][0];
    (
        stage["deploymentId"].as_str().unwrap().to_owned(),
        stage["canarySettings"]["deploymentId"]
            .as_str()
            .map(str::to_owned),
    )
}

/// `gw routes --json`: resource id by resource path.
fn resource_ids(gw: &Gw) -> BTreeMap<String, String> {
    let v: Value = serde_json::from_str(&gw.ok(&["routes", "--json"])).unwrap();
    v["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_owned(),
                r["resourceId"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Start `gw serve` keeping EVERY stderr line, including the ones printed before `listening on`
/// (`common::Gw::serve` drops those, and functions are loaded before the listener is ready).
fn serve_keeping_startup_log(gw: &Gw) -> Server {
    let mut child = gw
        .cmd()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let log = Arc::new(Mutex::new(String::new()));
    let mut line = String::new();
    let addr = loop {
        line.clear();
        let n = reader.read_line(&mut line).unwrap();
        assert!(
            n > 0,
            "gw serve exited before listening: {}",
            log.lock().unwrap()
        );
        log.lock().unwrap().push_str(&line);
        if let Some(a) = line.trim().strip_prefix("listening on http://") {
            break a.parse::<SocketAddr>().unwrap();
        }
    };
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut l = String::new();
        while reader.read_line(&mut l).map(|n| n > 0).unwrap_or(false) {
            sink.lock().unwrap().push_str(&l);
            l.clear();
        }
    });
    Server { child, addr, log }
}

/// The log without ANSI colour escapes, one entry per line.
fn plain_lines(log: &str) -> Vec<String> {
    let re = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    log.lines()
        .map(|l| re.replace_all(l, "").into_owned())
        .collect()
}

/// Waits (up to 10 s) until the server's log has a line containing `needle`: the log is read by a
/// thread of its own, so a line written before a response may be read after it.
async fn wait_for_log(server: &Server, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = plain_lines(&server.log()).join("\n");
        if log.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {needle:?} in:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn all_values(reply: &Reply, name: &str) -> Vec<String> {
    reply
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

// ---- 1. the event a function receives ----

/// What varies between runs, checked and then replaced by stable placeholders.
struct Redactor {
    api_id: String,
    port: String,
    production: String,
    canary: String,
    resource_ids: BTreeMap<String, String>,
    started_ms: i64,
}

impl Redactor {
    /// Checks the per-request values of `event` against `reply` (ids echoed in response headers)
    /// and the known deployment and resource ids, then redacts them and the API id and port.
    fn redact(&self, reply: &Reply, mut event: Value) -> Value {
        let request_id = reply.header("x-amzn-requestid").unwrap().to_owned();
        let extended_id = reply.header("x-amz-apigw-id").unwrap().to_owned();
        let now_ms = chrono::Utc::now().timestamp_millis();
        let clf =
            regex::Regex::new(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$").unwrap();
        let ctx = event["requestContext"].as_object_mut().unwrap();
        for (key, value) in ctx.iter_mut() {
            let placeholder = match key.as_str() {
                "requestId" => {
                    assert_eq!(
                        value.as_str(),
                        Some(request_id.as_str()),
                        "requestId = x-amzn-RequestId"
                    );
                    assert!(
                        uuid::Uuid::parse_str(&request_id).is_ok(),
                        "{request_id} is a UUID"
                    );
                    "[request-id]"
                }
                "extendedRequestId" => {
                    assert_eq!(
                        value.as_str(),
                        Some(extended_id.as_str()),
                        "= x-amz-apigw-id"
                    );
                    "[extended-request-id]"
                }
                "requestTime" | "time" => {
                    assert!(
                        clf.is_match(value.as_str().unwrap()),
                        "{key} {value} is CLF time"
                    );
                    "[clf-time]"
                }
                "requestTimeEpoch" | "timeEpoch" => {
                    let t = value.as_i64().unwrap();
                    assert!(
                        (self.started_ms..=now_ms).contains(&t),
                        "{key} {t} is the request's time"
                    );
                    "[epoch-ms]"
                }
                "deploymentId" => {
                    let id = value.as_str().unwrap();
                    if id == self.production {
                        "[production-deployment]"
                    } else if id == self.canary {
                        "[canary-deployment]"
                    } else {
                        panic!("deploymentId {id} is neither production nor canary")
                    }
                }
                "resourceId" => {
                    let id = value.as_str().unwrap();
                    assert!(
                        self.resource_ids.values().any(|r| r == id),
                        "unknown resourceId {id}"
                    );
                    "[resource-id]"
                }
                _ => continue,
            };
            *value = json!(placeholder);
        }
        self.substitute(&mut event);
        event
    }

    /// The API id and the listener port inside any string (Host header, domainName, apiId, …).
    fn substitute(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                *s = s
                    .replace(&self.api_id, "[api-id]")
                    .replace(&format!(":{}", self.port), ":[port]");
                // X-Forwarded-Port: the port alone.
                if *s == self.port {
                    *s = "[port]".into();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.substitute(i)),
            Value::Object(map) => map.values_mut().for_each(|i| self.substitute(i)),
            _ => {}
        }
    }
}

/// (name, method, path after the route prefix, extra headers, body)
type EventRequest<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [u8],
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_has_every_field_aws_sends_in_both_payload_formats() {
    let gw = Gw::new();
    let api = import(&gw, &functions_spec());
    put(&gw, "echo", &guest("echo"), &[]);
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--var",
        "mode=production",
        "--var",
        "keep=kept",
    ]);
    // A canary that is never drawn (0 %) but can be forced with `x-gw-target: canary`.
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--canary",
        "0",
        "--canary-var",
        "mode=canary",
    ]);
    let (production, canary) = deployment_ids(&gw);
    let server = gw.serve(&[]);
    let redactor = Redactor {
        api_id: api.clone(),
        port: server.addr.port().to_string(),
        production,
        canary: canary.unwrap(),
        resource_ids: resource_ids(&gw),
        started_ms: chrono::Utc::now().timestamp_millis(),
    };
    let host = format!("{api}.execute-api.localhost:{}", server.addr.port());
    let c = client();

    let binary: &[u8] = &[0x00, 0x01, 0xfe, 0xff, b'g', b'w', 0x80];
    let requests: [EventRequest; 3] = [
        (
            "get_multi_value",
            "GET",
            "/a/b?multi=1&multi=2&name=a%20b&plus=x+y&empty=",
            &[
                ("accept", "application/json"),
                ("x-multi", "one"),
                ("x-multi", "two"),
                ("cookie", "session=abc; theme=dark"),
            ],
            b"",
        ),
        (
            "post_text",
            "POST",
            "/items/42",
            &[("content-type", "text/plain; charset=utf-8")],
            b"hello, world",
        ),
        (
            "canary_binary",
            "PUT",
            "/upload",
            &[
                ("content-type", "application/octet-stream"),
                ("x-gw-target", "canary"),
            ],
            binary,
        ),
    ];
    for (version, prefix) in [("v1", "/echo"), ("v2", "/echo2")] {
        for (name, method, rest, extra, body) in requests {
            let url = server.url(&format!("/prod{prefix}{rest}"));
            let mut headers = vec![("host", host.as_str()), ("user-agent", "gw-test/1.0")];
            headers.extend_from_slice(extra);
            let reply = send(&c, method, &url, &headers, Bytes::copy_from_slice(body)).await;
            assert_eq!(reply.status, 200, "{version} {name}: {}", reply.text());
            assert_eq!(reply.header("content-type"), Some("application/json"));
            let is_canary = name.starts_with("canary");
            assert_eq!(
                reply.header("x-gw-canary"),
                Some(if is_canary { "true" } else { "false" })
            );
            let event = redactor.redact(&reply, reply.json());

            // The fields the reference (§4.1, §4.2) lists, present whatever the request.
            let keys: Vec<&str> = event
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let required: &[&str] = if version == "v1" {
                &[
                    "resource",
                    "path",
                    "httpMethod",
                    "headers",
                    "multiValueHeaders",
                    "queryStringParameters",
                    "multiValueQueryStringParameters",
                    "pathParameters",
                    "stageVariables",
                    "requestContext",
                    "body",
                    "isBase64Encoded",
                ]
            } else {
                &[
                    "version",
                    "routeKey",
                    "rawPath",
                    "rawQueryString",
                    "headers",
                    "requestContext",
                    "pathParameters",
                    "isBase64Encoded",
                    "stageVariables",
                ]
            };
            for k in required {
                assert!(keys.contains(k), "{version} {name}: no {k} in {keys:?}");
            }
            // The canary sees production's variables merged with its overrides.
            assert_eq!(
                event["stageVariables"],
                if is_canary {
                    json!({"keep": "kept", "mode": "canary"})
                } else {
                    json!({"keep": "kept", "mode": "production"})
                }
            );
            // A body of a binaryMediaTypes type arrives base64-encoded.
            if is_canary {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD.encode(binary);
                assert_eq!(event["body"], json!(b64));
                assert_eq!(event["isBase64Encoded"], json!(true));
            }
            insta::assert_json_snapshot!(format!("event_{version}_{name}"), event);
        }
    }
}

// ---- 2. what a function may answer ----

struct Answer {
    name: &'static str,
    /// Route `/r2` (payload format 2.0) instead of `/r` (1.0).
    v2: bool,
    /// The guest's stdout, verbatim.
    stdout: &'static str,
    /// The guest's exit status (0 when `None`).
    exit_code: Option<&'static str>,
    accept: Option<&'static str>,
    status: u16,
    body: &'static str,
    /// Every value each listed response header must have, in order.
    headers: &'static [(&'static str, &'static [&'static str])],
}

const JSON_CT: (&str, &[&str]) = ("content-type", &["application/json"]);
const ERROR_HEADERS: &[(&str, &[&str])] = &[
    JSON_CT,
    ("x-amzn-errortype", &["InternalServerErrorException"]),
];

const fn ok(name: &'static str, stdout: &'static str, status: u16, body: &'static str) -> Answer {
    Answer {
        name,
        v2: false,
        stdout,
        exit_code: None,
        accept: None,
        status,
        body,
        headers: &[JSON_CT],
    }
}

const fn malformed(name: &'static str, stdout: &'static str) -> Answer {
    Answer {
        name,
        v2: false,
        stdout,
        exit_code: None,
        accept: None,
        status: 502,
        body: INTERNAL_ERROR,
        headers: ERROR_HEADERS,
    }
}

/// Reference §4.3 (what AWS answers for each guest response), plus a few failure modes of gw's own.
const ANSWERS: &[Answer] = &[
    ok(
        "string statusCode",
        r#"{"statusCode":"201","body":"created"}"#,
        201,
        "created",
    ),
    ok("statusCode only, no body", r#"{"statusCode":200}"#, 200, ""),
    ok("empty object", "{}", 200, ""),
    ok(
        "headers null",
        r#"{"statusCode":202,"headers":null,"body":"ok"}"#,
        202,
        "ok",
    ),
    ok(
        "default content type",
        r#"{"statusCode":200,"body":"{\"a\":1}"}"#,
        200,
        r#"{"a":1}"#,
    ),
    Answer {
        headers: &[("content-type", &["text/plain"])],
        ..ok(
            "own content type kept, no default added",
            r#"{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"plain"}"#,
            200,
            "plain",
        )
    },
    Answer {
        accept: Some("image/png"),
        headers: &[("content-type", &["image/png"])],
        ..ok(
            "base64 body, Accept matches binaryMediaTypes: decoded",
            r#"{"statusCode":200,"headers":{"content-type":"image/png"},"isBase64Encoded":true,"body":"aGVsbG8="}"#,
            200,
            "hello",
        )
    },
    Answer {
        accept: Some("application/json"),
        headers: &[("content-type", &["image/png"])],
        ..ok(
            "base64 body, Accept does not match: returned verbatim",
            r#"{"statusCode":200,"headers":{"content-type":"image/png"},"isBase64Encoded":true,"body":"aGVsbG8="}"#,
            200,
            "aGVsbG8=",
        )
    },
    Answer {
        headers: &[
            ("x-a", &["m1", "m2", "solo"]),
            ("x-b", &["b1", "b2"]),
            JSON_CT,
        ],
        ..ok(
            "multiValueHeaders merged with headers",
            r#"{"headers":{"X-A":"solo"},"multiValueHeaders":{"X-A":["m1","m2"],"X-B":["b1","b2"]},"body":"m"}"#,
            200,
            "m",
        )
    },
    Answer {
        headers: &[
            ("x-flag", &["true"]),
            ("x-off", &["false"]),
            ("x-num", &["3"]),
            JSON_CT,
        ],
        ..ok(
            "bool and number header values",
            r#"{"headers":{"X-Flag":true,"X-Off":false,"X-Num":3},"body":"b"}"#,
            200,
            "b",
        )
    },
    Answer {
        headers: &[
            ("content-length", &["5"]),
            ("connection", &[]),
            ("transfer-encoding", &[]),
            ("x-kept", &["yes"]),
            JSON_CT,
        ],
        ..ok(
            "the function's own Content-Length (too long) and hop-by-hop headers are not passed on",
            r#"{"headers":{"Content-Length":"100","Connection":"close","Transfer-Encoding":"chunked","X-Kept":"yes"},"body":"hello"}"#,
            200,
            "hello",
        )
    },
    Answer {
        headers: &[("content-length", &["5"]), JSON_CT],
        ..ok(
            "the function's own Content-Length (too short) does not truncate the body",
            r#"{"multiValueHeaders":{"Content-Length":["1"]},"body":"hello"}"#,
            200,
            "hello",
        )
    },
    malformed(
        "unknown top-level key",
        r#"{"statusCode":200,"body":"x","extra":1}"#,
    ),
    malformed("not JSON", "this is not JSON {"),
    malformed("bare string", r#""hello""#),
    malformed("bare number", "42"),
    malformed(
        "non-integer statusCode",
        r#"{"statusCode":"test","body":"x"}"#,
    ),
    malformed("statusCode out of range", r#"{"statusCode":1000}"#),
    malformed(
        "multiValueHeaders value not a list",
        r#"{"multiValueHeaders":{"X-A":"v"}}"#,
    ),
    malformed("body not a string", r#"{"statusCode":200,"body":{"a":1}}"#),
    malformed(
        "function error",
        r#"{"errorMessage":"boom","errorType":"Error"}"#,
    ),
    malformed("no output at all", ""),
    Answer {
        exit_code: Some("3"),
        ..malformed(
            "valid response, then exit status 3",
            r#"{"statusCode":200,"body":"x"}"#,
        )
    },
    // Payload format 2.0 (reference §4.3, "v2.0 extra").
    Answer {
        v2: true,
        headers: &[JSON_CT],
        ..ok(
            "2.0: JSON without statusCode is the body",
            r#"{"a":1}"#,
            200,
            r#"{"a":1}"#,
        )
    },
    Answer {
        v2: true,
        headers: &[("set-cookie", &["a=1", "b=2"]), JSON_CT],
        ..ok(
            "2.0: cookies become set-cookie",
            r#"{"statusCode":200,"cookies":["a=1","b=2"],"body":"c"}"#,
            200,
            "c",
        )
    },
    Answer {
        v2: true,
        headers: &[JSON_CT],
        ..ok(
            "2.0: base64 body always decoded",
            r#"{"statusCode":200,"isBase64Encoded":true,"body":"aGVsbG8="}"#,
            200,
            "hello",
        )
    },
];

// ---- 3. hostile guests ----

/// A `/proc/PID/status` memory field in KiB (`VmRSS`: resident now; `VmHWM`: peak resident).
fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

const SPIN_TIMEOUT_MS: u64 = 300;

fn hostile_setup(gw: &Gw) {
    let spec = write_spec(
        gw,
        "hostile",
        &[
            Route {
                path: "/spin",
                function: "spin",
                payload_v2: false,
                timeout_ms: Some(SPIN_TIMEOUT_MS),
            },
            Route {
                path: "/hog",
                function: "hog",
                payload_v2: false,
                timeout_ms: None,
            },
            Route {
                path: "/trap",
                function: "trap",
                payload_v2: false,
                timeout_ms: None,
            },
            Route {
                path: "/hello",
                function: "hello",
                payload_v2: false,
                timeout_ms: None,
            },
        ],
    );
    import(gw, &spec);
    put(gw, "spin", &guest("spin"), &[]);
    put(gw, "hog", &guest("hog"), &["--memory", "64"]);
    put(gw, "trap", &guest("trap"), &[]);
    put(gw, "hello", &guest("hello"), &["--env", "GREETING=hi"]);
    gw.ok(&["deploy", "--stage", "prod"]);
}

/// Resident memory allowed to remain after the mixed run, over the warmed-up baseline.
/// What may legitimately stay: the pooling allocator keeps up to 1 MiB of each used linear-memory
/// slot resident, plus 64 KiB of table and 64 KiB of async stack (`engine_config` in
/// src/wasm/mod.rs). With 8 concurrent invocations of 4 functions, slot affinity touches at most
/// about 4 x 8 = 32 slots: 32 x 1.125 MiB = 36 MiB; 12 MiB more for allocator arenas and buffers.
/// What must not stay is any hog's memory: each touches 64 MiB (its limit), 200 of them run, so
/// one retained hog alone exceeds the bound. Measured on the 2-core dev box: about +2 MiB.
const RSS_SLACK_KIB: u64 = 48 << 10;

// ---- 6. compiled code is cached across restarts ----

fn loads(log: &str) -> (Vec<String>, Vec<String>) {
    let lines = plain_lines(log);
    let after = |marker: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.contains("gw::wasm"))
            .filter_map(|l| {
                l.split_once(marker)
                    .map(|(_, label)| label.trim().to_owned())
            })
            .collect()
    };
    // "loaded precompiled echo:1" also contains "compiled echo:1": match the message start.
    (after(": loaded precompiled "), after(": compiled "))
}

mod guests;
