//! The stage lifecycle through the real CLI: canary releases, percent changes, promote, rollback,
//! stage variables and deletion, with AWS's error texts where AWS has them; the JSON the listing
//! commands print; and a running `gw serve` following every change within 100 ms.

use crate::common;

use bytes::Bytes;
use common::{client, send, Gw, Server, TestClient};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A MOCK route that reports the stage variable `version`, the canary flag and the deployment.
const SPEC: &str = r#"
openapi: 3.0.1
info: {title: life, version: "1"}
paths:
  /v:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates:
          application/json: '{"statusCode": 200}'
        responses:
          default:
            statusCode: "200"
            responseTemplates:
              application/json: '{"version": "$stageVariables.version", "canary": "$context.isCanaryRequest", "deployment": "$context.deploymentId"}'
"#;

fn import(gw: &Gw, name: &str) -> String {
    let path = gw.state().join(format!("{name}.yaml"));
    std::fs::write(&path, SPEC).unwrap();
    let v: Value =
        serde_json::from_str(&gw.ok(&["import", path.to_str().unwrap(), "--name", name, "--json"]))
            .unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// Run a `gw deploy ...` and return the new deployment's id.
fn deploy(gw: &Gw, args: &[&str]) -> String {
    let mut all = vec!["deploy", "--json"];
    all.extend_from_slice(args);
    let v: Value = serde_json::from_str(&gw.ok(&all)).unwrap();
    v["deployment"]["id"].as_str().unwrap().to_string()
}

fn json(gw: &Gw, args: &[&str]) -> Value {
    serde_json::from_str(&gw.ok(args)).unwrap()
}

/// `gw ARGS` fails with exactly `error: MESSAGE`.
fn fails_with(gw: &Gw, args: &[&str], message: &str) {
    let stderr = gw.fails(args);
    assert_eq!(
        stderr.trim_end(),
        format!("error: {message}"),
        "gw {args:?}"
    );
}

fn stage(gw: &Gw, name: &str) -> Value {
    json(gw, &["stage", "show", name, "--json"])
}

// ---- a running server follows every change ----

/// What the MOCK route reports: (deployment, canary, version).
type Seen = (String, bool, String);

async fn probe(c: &TestClient, server: &Server, target: Option<&str>) -> Result<Seen, u16> {
    let headers: Vec<(&str, &str)> = target.map(|t| ("x-gw-target", t)).into_iter().collect();
    let r = send(c, "GET", &server.url("/prod/v"), &headers, Bytes::new()).await;
    if r.status != 200 {
        return Err(r.status);
    }
    let j = r.json();
    let deployment = r.header("x-gw-deployment").unwrap().to_string();
    let canary = r.header("x-gw-canary") == Some("true");
    // The template sees the same deployment and flag as the headers.
    assert_eq!(j["deployment"], deployment.as_str());
    assert_eq!(j["canary"], if canary { "true" } else { "false" });
    Ok((
        deployment,
        canary,
        j["version"].as_str().unwrap().to_string(),
    ))
}

/// The reload bound: the watcher polls the store every 20 ms and swaps in the new snapshot.
const FOLLOW_WITHIN: Duration = Duration::from_millis(100);

/// Poll from the moment the CLI returned until `done` holds; the time it took must be within
/// [`FOLLOW_WITHIN`]. Returns that time.
async fn follow(
    what: &str,
    c: &TestClient,
    server: &Server,
    target: Option<&str>,
    done: impl Fn(&Result<Seen, u16>) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let seen = probe(c, server, target).await;
        let took = start.elapsed();
        if done(&seen) {
            assert!(
                took <= FOLLOW_WITHIN,
                "{what}: the server took {took:?} to follow (bound {FOLLOW_WITHIN:?})"
            );
            return took;
        }
        assert!(
            took < Duration::from_secs(3),
            "{what}: the server never followed; it still answers {seen:?}\n{}",
            server.log()
        );
    }
}

/// The `  http://...` lines a command printed.
fn url_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("http://")
                .map(|u| format!("http://{u}"))
        })
        .collect()
}

mod canary_and_stages;
mod live_changes;
