//! The PostgreSQL store (`--store postgres://...`) with a real PostgreSQL server: three nodes,
//! each with a state directory of its own, follow a deploy, a canary change and a promote made
//! by a fourth process; the database stopped for a while, every node keeps serving, then
//! follows again; `gw store copy` moves a whole state from SQLite to PostgreSQL and back.

use crate::common::{self, postgres::PostgresServer, send, Gw, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A MOCK API answering `{"version": "<the stage variable version>"}`.
fn versioned_spec() -> Value {
    json!({
        "openapi": "3.0.1",
        "info": {"title": "versioned", "version": "1"},
        "paths": {"/version": {"get": {
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "mock",
                "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                "responses": {"default": {"statusCode": "200",
                    "responseTemplates": {"application/json": "{\"version\": \"$stageVariables.version\"}"}}}
            }
        }}}
    })
}

/// What `node` answers for `side` (`production` or `canary`).
async fn version(c: &common::TestClient, node: &Server, side: &str) -> String {
    let r = send(
        c,
        "GET",
        &node.url("/prod/version"),
        &[("x-gw-target", side)],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["version"].as_str().unwrap_or_default().to_string()
}

/// Waits until every node answers `want` for `side`; how long that took after `since`.
async fn all_serve(nodes: &[Server], side: &str, want: &str, since: Instant) -> Duration {
    let c = common::client();
    loop {
        let mut all = true;
        for n in nodes {
            if version(&c, n, side).await != want {
                all = false;
            }
        }
        if all {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "the nodes do not serve {want} as {side}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_on_one_postgres_follow_changes_and_outlive_an_outage() {
    let mut pg = PostgresServer::start();
    let url = pg.database("nodes");
    let cli = Gw::on_database(&url);
    cli.import_spec("versioned.json", &versioned_spec());
    cli.ok(&["deploy", "--stage", "prod", "--var", "version=v1"]);
    // Three nodes, each with a state directory of its own (as on three machines).
    let homes: Vec<Gw> = (0..3).map(|_| Gw::on_database(&url)).collect();
    let nodes: Vec<Server> = homes.iter().map(|h| h.serve(&[])).collect();
    all_serve(&nodes, "production", "v1", Instant::now()).await;
    let listed: Value = serde_json::from_str(&cli.ok(&["nodes", "--json"])).unwrap();
    assert_eq!(listed["item"].as_array().unwrap().len(), 3, "{listed}");

    // A canary, a change of its variables' deployment, a promote: each served by all three
    // within 200 ms of the command's return (the command itself waits for the nodes).
    let started = Instant::now();
    cli.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--canary",
        "10",
        "--canary-var",
        "version=v2",
    ]);
    let took = all_serve(&nodes, "canary", "v2", Instant::now()).await;
    assert!(
        took <= Duration::from_millis(200),
        "canary served after {took:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    cli.ok(&["canary", "--stage", "prod", "--percent", "50"]);
    let since = Instant::now();
    let c = common::client();
    loop {
        let mut shares = Vec::new();
        for n in &nodes {
            let v = common::get(&c, &n.url("/_gw/api/stages")).await.json();
            shares.push(v["apis"][0]["stages"][0]["canary"]["percent"].as_f64());
        }
        if shares.iter().all(|s| *s == Some(50.0)) {
            break;
        }
        assert!(
            since.elapsed() <= Duration::from_millis(200),
            "the canary's share is not 50 on every node 200 ms on: {shares:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The canary is judged by every node's requests: the CLI's own state directory has no
    // server, the figures come from the three nodes of the store.
    for n in &nodes {
        for _ in 0..2 {
            version(&c, n, "canary").await;
        }
    }
    let status: Value =
        serde_json::from_str(&cli.ok(&["canary", "status", "--stage", "prod", "--json"])).unwrap();
    assert!(
        status["canary"]["requests"].as_u64().unwrap() >= 6,
        "two canary requests on each of three nodes: {status}"
    );
    cli.ok(&["promote", "--stage", "prod"]);
    let took = all_serve(&nodes, "production", "v2", Instant::now()).await;
    assert!(
        took <= Duration::from_millis(200),
        "promotion served after {took:?}"
    );

    // PostgreSQL stops for 10 s: every node keeps serving what it has.
    pg.stop();
    let c = common::client();
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(10) {
        for n in &nodes {
            assert_eq!(version(&c, n, "production").await, "v2");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let down = cli.fails(&["deploy", "--stage", "prod", "--var", "version=v3"]);
    assert!(down.contains("PostgreSQL store"), "{down}");
    // It starts again: the nodes reconnect and follow the next change; nothing was lost.
    pg.restart();
    cli.ok(&["deploy", "--stage", "prod", "--var", "version=v3"]);
    all_serve(&nodes, "production", "v3", Instant::now()).await;
    let deployments: Value = serde_json::from_str(&cli.ok(&["deployments", "--json"])).unwrap();
    assert_eq!(
        deployments["item"].as_array().unwrap().len(),
        3,
        "v1, the canary's, v3: {deployments}"
    );
    for n in &nodes {
        assert!(
            n.log().contains("PostgreSQL store"),
            "the outage is in each node's log: {}",
            n.log()
        );
    }

    // A clean shutdown (SIGTERM) exits 0 — its database connections closed off the runtime —
    // and deregisters the node.
    let mut nodes = nodes;
    let mut first = nodes.remove(0);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &first.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(s) = first.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "exit {exit:?}: {}", first.log());
    assert!(!first.log().contains("panicked"), "{}", first.log());
    let listed: Value = serde_json::from_str(&cli.ok(&["nodes", "--json"])).unwrap();
    assert_eq!(listed["item"].as_array().unwrap().len(), 2, "{listed}");
}

/// Every listing that shows state, as JSON (ids, dates and all).
fn state_of(gw: &Gw) -> Vec<Value> {
    [
        vec!["apis", "--json"],
        vec!["routes", "--json"],
        vec!["stages", "--json"],
        vec!["deployments", "--json"],
        vec!["functions", "--json"],
        vec!["api-keys", "--json"],
        vec!["vpc-links", "--json"],
        vec!["stage", "history", "prod", "--json"],
    ]
    .iter()
    .map(|args| serde_json::from_str(&gw.ok(args)).unwrap())
    .collect()
}

#[test]
fn store_copy_round_trips_a_state_through_postgres() {
    let pg = PostgresServer::start();
    let url = pg.database("copied");
    let sqlite = Gw::new();
    sqlite.import_spec("versioned.json", &versioned_spec());
    sqlite.ok(&["deploy", "--stage", "prod", "--var", "version=v1"]);
    sqlite.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--canary",
        "25",
        "--canary-var",
        "version=v2",
    ]);
    sqlite.ok(&[
        "function",
        "put",
        "hello",
        common::guest("hello").to_str().unwrap(),
        "--env",
        "GREETING=hi",
    ]);
    sqlite.ok(&["api-key", "create", "alice", "--stage", "prod"]);
    sqlite.ok(&["vpc-link", "create", "pets", "--target", "127.0.0.1:9"]);
    let before = state_of(&sqlite);

    let dir = sqlite.state().to_str().unwrap().to_string();
    let out = sqlite.ok(&["store", "copy", "--from", &dir, "--to", &url]);
    assert!(out.contains("1 apis"), "{out}");
    let on_pg = Gw::on_database(&url);
    assert_eq!(state_of(&on_pg), before, "SQLite → PostgreSQL");
    // A second copy into the same database is refused: nothing is overwritten.
    let refused = sqlite.fails(&["store", "copy", "--from", &dir, "--to", &url]);
    assert!(refused.contains("already holds state"), "{refused}");

    let back = Gw::new();
    let back_dir = back.state().to_str().unwrap().to_string();
    on_pg.ok(&["store", "copy", "--from", &url, "--to", &back_dir]);
    assert_eq!(state_of(&back), before, "PostgreSQL → SQLite");
    // A database written by a newer gw is refused, saying so.
    let newer = url.clone();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&newer, postgres::NoTls).unwrap();
        c.batch_execute("INSERT INTO gw_schema (version) VALUES (99)")
            .unwrap();
    })
    .join()
    .unwrap();
    let refused = on_pg.fails(&["apis"]);
    assert!(
        refused.contains("schema version 99, newer than this gw's"),
        "{refused}"
    );
    // The function's code came along: the copy serves it.
    let code = back.store().read(|tx| tx.function("hello", None)).unwrap();
    let original = sqlite
        .store()
        .read(|tx| tx.function("hello", None))
        .unwrap();
    assert_eq!(code.map(|c| c.1), original.map(|c| c.1));
}
