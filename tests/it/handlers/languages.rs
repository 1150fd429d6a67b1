//! The same hello handler in Rust (`functions/lambda-hello`), Python (`functions/python/hello`)
//! and JavaScript (`functions/javascript/hello`), registered with `gw function put` — the Python
//! and JavaScript ones built from source by gw itself (componentize-py, componentize-js) — answer
//! through AWS_PROXY routes with the same body, see the event the other functions see, and read a
//! time remaining that decreases within an invocation. Failing handlers report Lambda's error.

use super::proxy_spec;
use crate::common::{self, client, get, guest, Gw};
use serde_json::Value;
use std::collections::BTreeSet;

/// Registers a function built from source, showing what gw printed if the build failed.
fn put_source(gw: &Gw, name: &str, runtime: &str, handler: &str, dir: &str) {
    let code = common::root().join(dir);
    let out = gw.run(&[
        "function",
        "put",
        name,
        "--runtime",
        runtime,
        "--handler",
        handler,
        "--code",
        code.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "gw function put {name} --runtime {runtime}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stderr).trim());
}

/// The top-level keys of the event snapshot the WASI-command functions receive, and of its
/// `requestContext`.
fn snapshot_keys() -> (BTreeSet<String>, BTreeSet<String>) {
    let snap = std::fs::read_to_string(
        common::root()
            .join("tests/it/functions/snapshots/it__functions__event_v1_get_multi_value.snap"),
    )
    .unwrap();
    let json = snap.splitn(3, "---\n").nth(2).unwrap();
    let event: Value = serde_json::from_str(json).unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect();
    (keys(&event), keys(&event["requestContext"]))
}

fn key_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hello_handler_answers_alike_in_rust_python_and_javascript() {
    let gw = Gw::new();
    let routes = [
        ("/rust", "hello-rust", 10_000),
        ("/python", "hello-python", 10_000),
        ("/javascript", "hello-javascript", 10_000),
        ("/python-fail", "fail-python", 10_000),
        ("/javascript-fail", "fail-javascript", 10_000),
        ("/javascript-cjs", "cjs-javascript", 10_000),
    ];
    gw.import_spec("languages.json", &proxy_spec("languages", &routes));
    gw.ok(&[
        "function",
        "put",
        "hello-rust",
        guest("lambda_hello").to_str().unwrap(),
    ]);
    put_source(
        &gw,
        "hello-python",
        "python3.12",
        "app.handler",
        "functions/python/hello",
    );
    put_source(
        &gw,
        "hello-javascript",
        "nodejs20.x",
        "index.handler",
        "functions/javascript/hello",
    );
    put_source(
        &gw,
        "fail-python",
        "python3.12",
        "app.handler",
        "functions/python/fail",
    );
    put_source(
        &gw,
        "fail-javascript",
        "nodejs20.x",
        "index.handler",
        "functions/javascript/fail",
    );
    put_source(
        &gw,
        "cjs-javascript",
        "nodejs20.x",
        "index.handler",
        "functions/javascript/cjs",
    );
    // Putting the same code again takes the cached build.
    let again = gw.run(&[
        "function",
        "put",
        "hello-python",
        "--runtime",
        "python3.12",
        "--handler",
        "app.handler",
        "--code",
        common::root()
            .join("functions/python/hello")
            .to_str()
            .unwrap(),
    ]);
    assert!(again.status.success());
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("built "),
        "a second put of the same code is not rebuilt: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    let listed: Value = serde_json::from_str(&gw.ok(&["functions", "--json"])).unwrap();
    let python = listed["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "hello-python")
        .unwrap();
    assert_eq!(python["kind"], "lambda-handler");
    assert_eq!(python["runtime"], "python3.12");
    assert_eq!(python["handler"], "app.handler");
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();

    let (event_keys, context_keys) = snapshot_keys();
    let mut bodies = Vec::new();
    for language in ["rust", "python", "javascript"] {
        for n in 1..=2 {
            let r = get(
                &c,
                &server.url(&format!("/prod/{language}?name=gw&waitMs=20")),
            )
            .await;
            assert_eq!(r.status, 200, "{language}: {}", r.text());
            assert_eq!(r.header("x-language"), Some(language));
            assert_eq!(
                r.header("x-count"),
                Some(n.to_string().as_str()),
                "{language}: the global counter of one warm environment"
            );
            let mut b: Value = serde_json::from_str(&r.text()).unwrap();
            assert_eq!(b["message"], "Hello, gw!", "{language}");
            assert_eq!(b["functionName"], format!("hello-{language}"));
            assert_eq!(b["requestId"], r.header("x-amzn-requestid").unwrap_or(""));
            // The time remaining decreases within an invocation (20 ms pass between readings).
            let left = b["remainingMs"].as_array().unwrap().clone();
            let (a, z) = (left[0].as_u64().unwrap(), left[1].as_u64().unwrap());
            assert!(a <= 10_000 && a > 9_000, "{language}: {left:?}");
            assert!(
                z + 15 <= a,
                "{language}: the time remaining decreased: {left:?}"
            );
            // The event seen is the one every function gets (the WASI-command snapshots).
            assert_eq!(key_set(&b["eventKeys"]), event_keys, "{language}");
            assert_eq!(
                key_set(&b["requestContextKeys"]),
                context_keys,
                "{language}"
            );
            for varying in ["requestId", "remainingMs", "functionName"] {
                b.as_object_mut().unwrap().remove(varying);
            }
            bodies.push((language, b));
        }
    }
    for (language, b) in &bodies {
        assert_eq!(b, &bodies[0].1, "{language} answers as rust does");
    }

    // Unhandled exceptions: AWS's 502 for a proxy integration, Lambda's error in the log.
    for (path, function, error_type) in [
        ("/prod/python-fail?name=gw", "fail-python", "ValueError"),
        (
            "/prod/javascript-fail?name=gw",
            "fail-javascript",
            "TypeError",
        ),
    ] {
        let r = get(&c, &server.url(path)).await;
        assert_eq!(r.status, 502, "{path}: {}", r.text());
        assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
        let log = gw.ok(&["logs", function]);
        let error: Value = log
            .lines()
            .find_map(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .filter(|v| v.get("errorType").is_some())
            })
            .unwrap_or_else(|| panic!("no error in {function}'s log: {log}"));
        assert_eq!(error["errorType"], error_type, "{log}");
        assert_eq!(error["errorMessage"], "bad input: gw", "{log}");
        assert!(!error["stackTrace"].as_array().unwrap().is_empty(), "{log}");
    }
    // A CommonJS module (`exports.handler`) runs as it is.
    let r = get(&c, &server.url("/prod/javascript-cjs")).await;
    assert_eq!((r.status, r.text().as_str()), (200, "cjs ok"));

    // Cold starts from the cached build, as the REPORT lines state them.
    for function in ["hello-rust", "hello-python", "hello-javascript"] {
        let log = gw.ok(&["logs", function]);
        let inits: Vec<&str> = log
            .lines()
            .filter_map(|l| l.split("Init Duration: ").nth(1))
            .collect();
        assert_eq!(inits.len(), 1, "{function}: one cold start: {log}");
        eprintln!("{function}: Init Duration {}", inits[0].trim());
    }
}
