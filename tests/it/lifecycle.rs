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

// ---- errors ----

#[test]
fn promote_rollback_and_percent_need_a_canary() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod", "--var", "version=v1"]);
    // Named stage without a canary: AWS's promotion error.
    fails_with(
        &gw,
        &["promote", "--stage", "prod"],
        "Promotion not available. Canary does not exist.",
    );
    fails_with(
        &gw,
        &["rollback", "--stage", "prod"],
        "stage prod has no canary to roll back",
    );
    fails_with(
        &gw,
        &["canary", "--stage", "prod", "--percent", "5"],
        "stage prod has no canary; create one with `gw deploy --stage prod --canary PCT`",
    );
    // No stage named and none has a canary.
    for args in [
        &["promote"][..],
        &["rollback"],
        &["canary", "--percent", "5"],
    ] {
        fails_with(
            &gw,
            args,
            "no stage of API life has a canary; start one with `gw deploy --stage STAGE --canary PERCENT`",
        );
    }
    // Nothing changed.
    let s = stage(&gw, "prod");
    assert!(s.get("canarySettings").is_none(), "{s}");
    assert_eq!(s["variables"], serde_json::json!({"version": "v1"}));
}

#[test]
fn a_canary_needs_an_existing_stage() {
    let gw = Gw::new();
    import(&gw, "life");
    fails_with(
        &gw,
        &["deploy", "--stage", "beta", "--canary", "10"],
        "Invalid deployment content specified. Stage beta must already be created before making a canary release deployment; deploy it first with `gw deploy --stage beta`",
    );
    // Naming the API, the way out names it too.
    fails_with(
        &gw,
        &["deploy", "--api", "life", "--stage", "beta", "--canary", "10"],
        "Invalid deployment content specified. Stage beta must already be created before making a canary release deployment; deploy it first with `gw deploy --api life --stage beta`",
    );
    // No deployment was made and no stage created.
    assert_eq!(
        json(&gw, &["deployments", "--json"])["item"],
        serde_json::json!([])
    );
    assert_eq!(
        json(&gw, &["stages", "--json"])["item"],
        serde_json::json!([])
    );
}

#[test]
fn several_stages_with_a_canary_must_be_told_apart() {
    let gw = Gw::new();
    import(&gw, "life");
    for s in ["alpha", "beta"] {
        deploy(&gw, &["--stage", s]);
        deploy(&gw, &["--stage", s, "--canary", "10"]);
    }
    let msg = "several stages have a canary (alpha, beta); choose one with --stage";
    fails_with(&gw, &["promote"], msg);
    fails_with(&gw, &["rollback"], msg);
    fails_with(&gw, &["canary", "--percent", "20"], msg);
    // Naming one works, and then the other is the only one left.
    gw.ok(&["rollback", "--stage", "alpha"]);
    gw.ok(&["canary", "--percent", "20"]);
    assert_eq!(stage(&gw, "beta")["canarySettings"]["percentTraffic"], 20.0);
    assert!(stage(&gw, "alpha").get("canarySettings").is_none());
}

#[test]
fn the_canary_percentage_must_be_between_0_and_100() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod"]);
    let message = |flag: &str, input: &str| {
        format!(
            "{flag} {input}: the canary percentage must be a number from 0 to 100, like 10 or 12.5"
        )
    };
    // Negative, too large and malformed percentages get one message naming the input and the
    // range, and one exit code, whichever command takes them; `-5` is not taken for a flag.
    for bad in [
        "-5", "-0.5", "100.5", "150", "250", "abc", "ten", "1e3", "-1e3", "1.2.3", "%",
    ] {
        let out = gw.run(&["deploy", "--stage", "prod", "--canary", bad]);
        assert_eq!(out.status.code(), Some(1), "deploy --canary {bad}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            format!("error: {}", message("--canary", bad)),
        );
    }
    let canary = deploy(&gw, &["--stage", "prod", "--canary", "12.5"]);
    for bad in ["-5", "-1", "250", "abc", "1e3"] {
        let out = gw.run(&["canary", "--percent", bad]);
        assert_eq!(out.status.code(), Some(1), "canary --percent {bad}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            format!("error: {}", message("--percent", bad)),
        );
    }
    fails_with(
        &gw,
        &["canary", "--percent=-1"],
        &message("--percent", "-1"),
    );
    fails_with(
        &gw,
        &["canary", "--percent", ""],
        &message("--percent", "\"\""),
    );
    // Nothing changed.
    assert_eq!(stage(&gw, "prod")["canarySettings"]["percentTraffic"], 12.5);
    // A trailing % is accepted, and -0 is 0.
    gw.ok(&["canary", "--percent", "7.5%"]);
    assert_eq!(stage(&gw, "prod")["canarySettings"]["percentTraffic"], 7.5);
    let out = gw.ok(&["canary", "--percent=-0"]);
    assert!(out.contains("takes 0 %"), "{out}");
    // The bounds themselves are valid.
    gw.ok(&["canary", "--percent", "0"]);
    gw.ok(&["canary", "--percent", "100"]);
    let c = &stage(&gw, "prod")["canarySettings"];
    assert_eq!(c["percentTraffic"], 100.0);
    assert_eq!(c["deploymentId"], canary.as_str());
}

#[test]
fn stage_variable_errors_name_the_problem() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod", "--var", "version=v1"]);
    fails_with(
        &gw,
        &["stage", "unset-var", "prod", "nope"],
        "stage prod has no variable \"nope\"",
    );
    let err = gw.fails(&["stage", "set-var", "prod", "bad-name=x"]);
    assert!(
        err.contains("\"bad-name\"") && err.contains("invalid"),
        "{err}"
    );
    let err = gw.fails(&["stage", "set-var", "prod", "novalue"]);
    assert!(err.contains("\"novalue\" is not K=V"), "{err}");
    let err = gw.fails(&["stage", "set-var", "staging", "a=b"]);
    assert!(
        err.contains("Invalid Stage identifier specified") && err.contains("staging"),
        "{err}"
    );
    let err = gw.fails(&["stage", "delete", "staging"]);
    assert!(
        err.contains("Invalid Stage identifier specified") && err.contains("staging"),
        "{err}"
    );
    assert_eq!(
        stage(&gw, "prod")["variables"],
        serde_json::json!({"version": "v1"})
    );
}

// ---- effects, as the JSON listings show them ----

#[test]
fn canary_promote_and_rollback_as_the_stage_json_shows_them() {
    let gw = Gw::new();
    let api = import(&gw, "life");
    let d1 = deploy(
        &gw,
        &[
            "--stage",
            "prod",
            "--var",
            "version=v1",
            "--var",
            "color=blue",
            "--description",
            "first",
        ],
    );
    let s = stage(&gw, "prod");
    assert_eq!(s["stageName"], "prod");
    assert_eq!(s["deploymentId"], d1.as_str());
    assert_eq!(
        s["variables"],
        serde_json::json!({"color": "blue", "version": "v1"})
    );
    assert!(s.get("canarySettings").is_none());
    let urls: Vec<&str> = s["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), 3);
    assert!(urls[1].contains(&format!("{api}.execute-api.")), "{urls:?}");
    assert!(
        urls[2].contains(&format!("/_aws/execute-api/{api}/prod/")),
        "{urls:?}"
    );

    // A canary: production stays, the new deployment is the canary with its overrides.
    let c2 = deploy(
        &gw,
        &[
            "--stage",
            "prod",
            "--canary",
            "10",
            "--canary-var",
            "version=v2",
        ],
    );
    let s = stage(&gw, "prod");
    assert_eq!(s["deploymentId"], d1.as_str());
    assert_eq!(
        s["canarySettings"],
        serde_json::json!({"percentTraffic": 10.0, "deploymentId": c2, "stageVariableOverrides": {"version": "v2"}, "useStageCache": false})
    );
    gw.ok(&["canary", "--percent", "35.5"]);
    assert_eq!(stage(&gw, "prod")["canarySettings"]["percentTraffic"], 35.5);

    // Rollback: the canary goes, production and its variables are untouched.
    let out = gw.ok(&["rollback"]);
    assert!(out.contains(&c2) && out.contains(&d1), "{out}");
    let s = stage(&gw, "prod");
    assert_eq!(s["deploymentId"], d1.as_str());
    assert_eq!(
        s["variables"],
        serde_json::json!({"color": "blue", "version": "v1"})
    );
    assert!(s.get("canarySettings").is_none(), "{s}");

    // Promote: production takes the canary's deployment, overrides merge into the variables
    // (the non-overridden `color` survives) and the canary ends.
    let c3 = deploy(
        &gw,
        &[
            "--stage",
            "prod",
            "--canary",
            "50",
            "--canary-var",
            "version=v3",
            "--canary-var",
            "extra=1",
        ],
    );
    gw.ok(&["promote"]);
    let s = stage(&gw, "prod");
    assert_eq!(s["deploymentId"], c3.as_str());
    assert_eq!(
        s["variables"],
        serde_json::json!({"color": "blue", "extra": "1", "version": "v3"})
    );
    assert!(s.get("canarySettings").is_none(), "{s}");

    // Every deployment is listed; `stages` shows the one stage.
    let ds = json(&gw, &["deployments", "--json"]);
    let mut ids: Vec<&str> = ds["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = vec![d1.as_str(), c2.as_str(), c3.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let first = ds["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == d1.as_str())
        .unwrap();
    assert_eq!(first["description"], "first");
    assert!(first["createdDate"].as_i64().unwrap() > 1_600_000_000);
    let stages = json(&gw, &["stages", "--json"]);
    let list = stages["item"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["stageName"], "prod");
    assert_eq!(list[0]["deploymentId"], c3.as_str());
}

#[test]
fn a_plain_deploy_replaces_the_stage_canary() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod"]);
    let c = deploy(&gw, &["--stage", "prod", "--canary", "10"]);
    let out = gw.ok(&["deploy", "--stage", "prod"]);
    assert!(
        out.contains(&format!("the stage's canary ({c}) was removed")),
        "{out}"
    );
    assert!(stage(&gw, "prod").get("canarySettings").is_none());
}

#[test]
fn set_var_unset_var_and_delete() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod", "--var", "version=v1"]);
    deploy(&gw, &["--stage", "dev"]);
    gw.ok(&[
        "stage",
        "set-var",
        "prod",
        "version=v2",
        "host=localhost:9000/x?y=1",
    ]);
    assert_eq!(
        stage(&gw, "prod")["variables"],
        serde_json::json!({"host": "localhost:9000/x?y=1", "version": "v2"})
    );
    gw.ok(&["stage", "unset-var", "prod", "host"]);
    assert_eq!(
        stage(&gw, "prod")["variables"],
        serde_json::json!({"version": "v2"})
    );
    // Other stages are untouched.
    assert_eq!(stage(&gw, "dev")["variables"], serde_json::json!({}));
    gw.ok(&["stage", "delete", "dev"]);
    let err = gw.fails(&["stage", "show", "dev"]);
    assert!(
        err.contains("Invalid Stage identifier specified") && err.contains("dev"),
        "{err}"
    );
    let names: Vec<String> = json(&gw, &["stages", "--json"])["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stageName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["prod"]);
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

#[tokio::test]
async fn a_running_server_follows_each_change_within_100ms() {
    let gw = Gw::new();
    import(&gw, "life");
    let d1 = deploy(&gw, &["--stage", "prod", "--var", "version=v1"]);
    let server = gw.serve(&[]);
    let c = client();
    assert_eq!(
        probe(&c, &server, None).await,
        Ok((d1.clone(), false, "v1".into()))
    );
    let mut took = Vec::new();

    let d2 = deploy(&gw, &["--stage", "prod"]);
    took.push((
        "deploy",
        follow(
            "deploy",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((d, false, v)) if *d == d2 && v == "v1"),
        )
        .await,
    ));

    let c3 = deploy(
        &gw,
        &[
            "--stage",
            "prod",
            "--canary",
            "0",
            "--canary-var",
            "version=v2",
        ],
    );
    took.push((
        "canary deploy",
        follow(
            "canary deploy",
            &c,
            &server,
            Some("canary"),
            |s| matches!(s, Ok((d, true, v)) if *d == c3 && v == "v2"),
        )
        .await,
    ));
    // At 0 % an undirected request still goes to production.
    assert_eq!(
        probe(&c, &server, None).await,
        Ok((d2.clone(), false, "v1".into()))
    );

    gw.ok(&["canary", "--percent", "100"]);
    took.push((
        "percent",
        follow(
            "percent change",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((d, true, _)) if *d == c3),
        )
        .await,
    ));

    gw.ok(&["promote"]);
    // After promotion there is no canary: even a request asking for it gets production = c3.
    took.push((
        "promote",
        follow(
            "promote",
            &c,
            &server,
            Some("canary"),
            |s| matches!(s, Ok((d, false, v)) if *d == c3 && v == "v2"),
        )
        .await,
    ));

    let c4 = deploy(
        &gw,
        &[
            "--stage",
            "prod",
            "--canary",
            "100",
            "--canary-var",
            "version=v3",
        ],
    );
    took.push((
        "canary deploy 2",
        follow(
            "second canary",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((d, true, v)) if *d == c4 && v == "v3"),
        )
        .await,
    ));

    gw.ok(&["rollback"]);
    took.push((
        "rollback",
        follow(
            "rollback",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((d, false, v)) if *d == c3 && v == "v2"),
        )
        .await,
    ));

    gw.ok(&["stage", "set-var", "prod", "version=v9"]);
    took.push((
        "set-var",
        follow(
            "set-var",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((_, false, v)) if v == "v9"),
        )
        .await,
    ));

    gw.ok(&["stage", "unset-var", "prod", "version"]);
    took.push((
        "unset-var",
        follow(
            "unset-var",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((_, false, v)) if v.is_empty()),
        )
        .await,
    ));

    gw.ok(&["stage", "delete", "prod"]);
    took.push((
        "stage delete",
        follow("stage delete", &c, &server, None, |s| *s == Err(404)).await,
    ));

    eprintln!("time to follow each change: {took:?}");
}

/// Each CLI change is served by the very first request sent after the command returns: the CLI
/// waits until every running `gw serve` on the state directory has loaded it (`gw::store::serving`).
#[tokio::test]
async fn the_first_request_after_a_cli_command_sees_its_change() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod", "--var", "version=v0"]);
    let server = gw.serve(&[]);
    let c = client();
    for round in 1..=8 {
        let version = format!("v{round}");
        let d = deploy(
            &gw,
            &["--stage", "prod", "--var", &format!("version={version}")],
        );
        assert_eq!(
            probe(&c, &server, None).await,
            Ok((d.clone(), false, version.clone())),
            "round {round}: deploy"
        );
        let canary = deploy(
            &gw,
            &[
                "--stage",
                "prod",
                "--canary",
                "100",
                "--canary-var",
                "version=next",
            ],
        );
        assert_eq!(
            probe(&c, &server, None).await,
            Ok((canary.clone(), true, "next".into())),
            "round {round}: canary"
        );
        gw.ok(&["rollback"]);
        assert_eq!(
            probe(&c, &server, None).await,
            Ok((d, false, version)),
            "round {round}: rollback"
        );
    }
    // A server that has stopped leaves no marker behind for later commands to wait on.
    drop(server);
    let start = Instant::now();
    gw.ok(&["stage", "set-var", "prod", "version=after"]);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "a command waited {:?} for a server that is gone",
        start.elapsed()
    );
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

/// `gw deploy` and `gw stage show` print invoke URLs on the port the running servers listen on
/// (recorded in their `.gw/serving/` markers), and on the default :4566 when none runs.
#[tokio::test]
async fn printed_invoke_urls_carry_the_running_servers_port() {
    let gw = Gw::new();
    let id = import(&gw, "life");
    let urls_on = |port: u16| {
        vec![
            format!("http://localhost:{port}/prod/"),
            format!("http://{id}.execute-api.localhost:{port}/prod/"),
            format!("http://localhost:{port}/_aws/execute-api/{id}/prod/"),
        ]
    };
    // No server runs: where `gw serve` listens by default.
    let out = gw.ok(&["deploy", "--stage", "prod", "--var", "version=v1"]);
    assert_eq!(url_lines(&out), urls_on(4566), "{out}");

    let server = gw.serve(&[]);
    let port = server.addr.port();
    assert_ne!(port, 4566);
    let out = gw.ok(&["deploy", "--stage", "prod", "--var", "version=v2"]);
    assert_eq!(url_lines(&out), urls_on(port), "{out}");
    let out = gw.ok(&["deploy", "--stage", "prod", "--canary", "10"]);
    assert_eq!(url_lines(&out), urls_on(port), "{out}");
    let out = gw.ok(&["stage", "show", "prod"]);
    assert_eq!(url_lines(&out), urls_on(port), "{out}");
    assert_eq!(stage(&gw, "prod")["urls"], serde_json::json!(urls_on(port)));
    // The printed URLs answer (the host form through a Host header).
    let c = client();
    let r = send(
        &c,
        "GET",
        &format!("{}v", urls_on(port)[2]),
        &[("x-gw-target", "production")],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["version"], "v2");
    let r = send(
        &c,
        "GET",
        &server.url("/prod/v"),
        &[
            ("host", &format!("{id}.execute-api.localhost:{port}")),
            ("x-gw-target", "production"),
        ],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Two servers on different ports: the URLs on each, in the order of their addresses.
    let second = gw.serve(&[]);
    let mut both = [
        (port, urls_on(port)),
        (second.addr.port(), urls_on(second.addr.port())),
    ];
    both.sort();
    let expected: Vec<String> = both.into_iter().flat_map(|(_, u)| u).collect();
    assert_eq!(url_lines(&gw.ok(&["stage", "show", "prod"])), expected);

    // Once they have stopped (killed: their markers stay behind, unlocked), the default again.
    drop(server);
    drop(second);
    assert_eq!(url_lines(&gw.ok(&["stage", "show", "prod"])), urls_on(4566));
}

/// The README's loop: the demo's pet backend (`gw demo backend`) stands in for the user's
/// service; with a second API in the store, every command names its API with --api; the host
/// form of the URL reaches it.
#[tokio::test]
async fn the_readme_loop_runs_against_the_demo_backend() {
    let gw = Gw::new();
    // Another API with a stage, as `scripts/demo.sh` leaves one behind.
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod"]);
    let backend = gw.start(
        &["demo", "backend", "--listen", "127.0.0.1:0"],
        "demo pet backend on http://",
    );
    let backend_addr = backend.addr.to_string();
    let out = gw.ok(&["import", "specs/petstore.yaml"]);
    assert!(out.starts_with("imported API petstore (id "), "{out}");
    let out = gw.ok(&[
        "deploy",
        "--api",
        "petstore",
        "--stage",
        "prod",
        "--var",
        &format!("backend={backend_addr}"),
        "--var",
        "version=v1",
    ]);
    // Two APIs have stages: the short form would not reach petstore, so it is not printed.
    let id = json(&gw, &["apis", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "petstore")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        url_lines(&out),
        [
            format!("http://{id}.execute-api.localhost:4566/prod/"),
            format!("http://localhost:4566/_aws/execute-api/{id}/prod/"),
        ],
        "{out}"
    );
    gw.ok(&[
        "deploy",
        "--api",
        "petstore",
        "--stage",
        "prod",
        "--canary",
        "10",
        "--canary-var",
        "version=v2",
    ]);
    let server = gw.serve(&[]);
    let c = client();
    let host = format!("petstore.execute-api.localhost:{}", server.addr.port());
    let pets = |target: &'static str| {
        let (c, host, url) = (c.clone(), host.clone(), server.url("/prod/pets"));
        async move {
            let r = send(
                &c,
                "GET",
                &url,
                &[("host", host.as_str()), ("x-gw-target", target)],
                Bytes::new(),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.text());
            (
                r.json()["version"].as_str().unwrap_or_default().to_string(),
                r.header("x-gw-canary").unwrap_or_default().to_string(),
            )
        }
    };
    assert_eq!(pets("production").await, ("v1".into(), "false".into()));
    assert_eq!(pets("canary").await, ("v2".into(), "true".into()));
    // Without --api the commands would not know which API is meant.
    let err = gw.fails(&["canary", "--percent", "50"]);
    assert!(err.contains("--api"), "{err}");
    gw.ok(&["canary", "--api", "petstore", "--percent", "50"]);
    gw.ok(&["promote", "--api", "petstore"]);
    assert_eq!(pets("production").await, ("v2".into(), "false".into()));
    // The backend named its port in its first line and answers by itself too.
    let r = common::get(&c, &format!("http://{backend_addr}/v1/pets/2")).await;
    assert_eq!(r.json()["pet"]["id"], "2");
}
