//! A CLI change is live for the next request; printed URLs; the README loop.

use super::*;

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
