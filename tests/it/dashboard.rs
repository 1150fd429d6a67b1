//! The dashboard at `/_gw/`, through the real `gw serve`: the page and its JSON endpoints
//! (promote, roll back, set the canary's share), which take actions only same-origin from the
//! loopback listener; and the page in a real browser — headless Chromium driven through
//! Playwright (`tests/browser/driver.cjs`) — showing exactly the request counts `/_gw/metrics`
//! reports while traffic flows, and promoting the canary with its button.

use crate::common::{self, client, get, send, Gw, Reply, Server, TestClient};
use crate::metrics::{canary_spec, closed_port, parse_openmetrics, sum};
use bytes::Bytes;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// An API `metrics` with `prod` on one deployment and a second deployment as its canary at
/// 25 %, and `dev` without a canary: (gw, API id, production, canary).
fn setup() -> (Gw, String, String, String) {
    let gw = Gw::new();
    gw.import_spec("dash.json", &canary_spec(&closed_port()));
    gw.ok(&["deploy", "--stage", "prod"]);
    gw.ok(&["deploy", "--stage", "prod", "--canary", "25"]);
    gw.ok(&["deploy", "--stage", "dev"]);
    let apis: Value = serde_json::from_str(&gw.ok(&["apis", "--json"])).unwrap();
    let api = apis[0]["id"].as_str().unwrap().to_owned();
    let prod = stage(&gw, "prod");
    let production = prod["deploymentId"].as_str().unwrap().to_owned();
    let canary = prod["canarySettings"]["deploymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    (gw, api, production, canary)
}

/// A stage as `gw stages --json` shows it.
fn stage(gw: &Gw, name: &str) -> Value {
    let stages: Value = serde_json::from_str(&gw.ok(&["stages", "--json"])).unwrap();
    stages["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stageName"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {stages}"))
        .clone()
}

/// POST a dashboard action with `headers` (a JSON content type unless given).
async fn action(
    c: &TestClient,
    server: &Server,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        all.push(("content-type", "application/json"));
    }
    send(
        c,
        "POST",
        &server.url(path),
        &all,
        Bytes::from(body.to_owned()),
    )
    .await
}

/// Who answers `/prod/m` when nothing forces a side: every one of `n` requests.
async fn answered_by(c: &TestClient, server: &Server, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = get(c, &server.url("/prod/m")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        out.push((
            r.header("x-gw-deployment").unwrap_or("").to_owned(),
            r.header("x-gw-canary").unwrap_or("").to_owned(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_and_actions_same_origin_only_through_the_real_server() {
    let (gw, api, production, canary) = setup();
    let server = gw.serve(&[]);
    let c = client();
    let origin = format!("http://{}", server.addr);
    let same = [
        ("origin", origin.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];

    // The page: one self-contained HTML document, at /_gw/ and /_gw.
    for path in ["/_gw/", "/_gw"] {
        let r = get(&c, &server.url(path)).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").unwrap().starts_with("text/html"),
            "{:?}",
            r.header("content-type")
        );
        let page = r.text();
        assert!(page.contains("<title>gw dashboard</title>"));
        for external in ["src=\"http", "href=\"http", "<link", "@import", "url(http"] {
            assert!(!page.contains(external), "the page loads {external}...");
        }
        assert!(r
            .header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }

    // What the page polls besides /_gw/stats.
    let overview = get(&c, &server.url("/_gw/api/stages")).await.json();
    assert_eq!(overview["apis"][0]["id"], api.as_str());
    let stages = overview["apis"][0]["stages"].as_array().unwrap();
    assert_eq!(stages[0]["name"], "dev");
    assert_eq!(stages[0]["canary"], Value::Null);
    assert_eq!(stages[1]["name"], "prod");
    assert_eq!(stages[1]["production"]["deployment"], production.as_str());
    assert_eq!(stages[1]["canary"]["deployment"], canary.as_str());
    assert_eq!(stages[1]["canary"]["percent"], 25.0);

    let base = format!("/_gw/api/apis/{api}/stages/prod");
    let set = format!("{base}/canary");

    // Refused: another origin, another site, a rebound DNS name, a body a form could send.
    for (headers, status) in [
        (vec![("origin", "http://evil.example")], 403),
        (vec![("origin", "null")], 403),
        (vec![("sec-fetch-site", "cross-site")], 403),
        (
            vec![
                ("host", "rebind.example"),
                ("origin", "http://rebind.example"),
            ],
            403,
        ),
        (vec![("content-type", "text/plain")], 415),
        (
            vec![
                ("origin", origin.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            415,
        ),
    ] {
        let r = action(&c, &server, &set, &headers, r#"{"percent": 30}"#).await;
        assert_eq!(r.status, status, "{headers:?}: {}", r.text());
        let message = r.json()["message"].as_str().unwrap().to_owned();
        assert!(!message.is_empty());
        if headers.contains(&("origin", "http://evil.example")) {
            assert!(message.contains("cross-origin"), "{message}");
        }
    }
    let r = action(
        &c,
        &server,
        &format!("{base}/promote"),
        &[("origin", "http://evil.example")],
        "{}",
    )
    .await;
    assert_eq!(r.status, 403);
    let prod = stage(&gw, "prod");
    assert_eq!(prod["deploymentId"], production.as_str(), "nothing changed");
    assert_eq!(prod["canarySettings"]["percentTraffic"], 25.0);

    // Bad input: clear JSON errors.
    for (body, want) in [
        (r#"{"percent": 101}"#, "out of range"),
        (r#"{"percent": -5}"#, "out of range"),
        (r#"{"percent": "x"}"#, "must be a number"),
        (r#"{}"#, "percent"),
        ("percent=30", "not JSON"),
    ] {
        let r = action(&c, &server, &set, &same, body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let message = r.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(want), "{body}: {message}");
    }
    let r = action(
        &c,
        &server,
        &format!("/_gw/api/apis/{api}/stages/dev/promote"),
        &same,
        "",
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("Canary does not exist"),
        "{}",
        r.text()
    );
    let r = action(
        &c,
        &server,
        &format!("/_gw/api/apis/{api}/stages/nope/canary"),
        &same,
        r#"{"percent": 5}"#,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = action(
        &c,
        &server,
        "/_gw/api/apis/nosuchapi/stages/prod/rollback",
        &same,
        "",
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = get(&c, &server.url(&format!("{base}/promote"))).await;
    assert_eq!(r.status, 405);
    assert!(r.json()["message"].as_str().unwrap().contains("POST"));

    // Same origin: the share changes and is live when the answer comes.
    let r = action(&c, &server, &set, &same, r#"{"percent": 40}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["ok"], true);
    assert_eq!(r.json()["percent"], 40.0);
    assert_eq!(stage(&gw, "prod")["canarySettings"]["percentTraffic"], 40.0);
    let overview = get(&c, &server.url("/_gw/api/stages")).await.json();
    assert_eq!(overview["apis"][0]["stages"][1]["canary"]["percent"], 40.0);
    // A client that is not a browser page (no Origin), by the API's name.
    let r = action(
        &c,
        &server,
        "/_gw/api/apis/metrics/stages/prod/canary",
        &[],
        r#"{"percent": 0}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(answered_by(&c, &server, 20)
        .await
        .iter()
        .all(|(d, _)| *d == production));

    // Promote: the former canary answers every request, as production.
    let r = action(&c, &server, &format!("{base}/promote"), &same, "{}").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["deployment"], canary.as_str());
    let prod = stage(&gw, "prod");
    assert_eq!(prod["deploymentId"], canary.as_str());
    assert!(prod.get("canarySettings").is_none(), "{prod}");
    for (deployment, is_canary) in answered_by(&c, &server, 20).await {
        assert_eq!(deployment, canary);
        assert_eq!(is_canary, "false");
    }
    let r = action(&c, &server, &format!("{base}/promote"), &same, "").await;
    assert_eq!(r.status, 400, "{}", r.text());

    // Roll back a new canary: production stays.
    gw.ok(&["deploy", "--stage", "prod", "--canary", "50"]);
    let next = stage(&gw, "prod")["canarySettings"]["deploymentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = action(&c, &server, &format!("{base}/rollback"), &same, "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["removed"], next.as_str());
    assert_eq!(r.json()["deployment"], canary.as_str());
    let prod = stage(&gw, "prod");
    assert_eq!(prod["deploymentId"], canary.as_str());
    assert!(prod.get("canarySettings").is_none(), "{prod}");
    assert!(answered_by(&c, &server, 10)
        .await
        .iter()
        .all(|(d, _)| *d == canary));
}

/// Headless Chromium driven by `tests/browser/driver.cjs` (Playwright's `playwright-core`, no
/// browser download): one JSON command per line in, one JSON answer per line out.
struct Browser {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: mpsc::Receiver<String>,
}

/// The Chromium binary: `GW_CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    let path = std::env::var_os("GW_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "the dashboard's browser test needs headless Chromium, and {} is missing: \
         scripts/test.sh installs Debian's `chromium` package when run as root with apt-get; \
         otherwise install it (apt-get install chromium) or point GW_CHROMIUM at a Chromium binary",
        path.display()
    );
    path
}

/// The installed `playwright-core` (scripts/test.sh installs it under target/browser).
fn playwright_core() -> PathBuf {
    let path = common::root().join("target/browser/node_modules/playwright-core");
    assert!(
        path.join("package.json").exists(),
        "the dashboard's browser test needs playwright-core, and {} is missing: run \
         scripts/test.sh, which installs it (npm install --no-save --prefix target/browser \
         playwright-core@VERSION)",
        path.display()
    );
    path
}

impl Browser {
    fn launch(profile: &Path) -> Browser {
        let chromium = chromium();
        let playwright = playwright_core();
        let mut child = Command::new("node")
            .arg(common::root().join("tests/browser/driver.cjs"))
            .env("PLAYWRIGHT_CORE", &playwright)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the dashboard's browser test needs Node.js 20+ (`node`): {e}")
            });
        let stdout = child.stdout.take().unwrap();
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut browser = Browser {
            stdin: child.stdin.take(),
            child,
            replies,
        };
        browser.call(json!({
            "cmd": "launch",
            "executable": chromium,
            "userDataDir": profile,
            "width": 1280,
            "height": 900,
        }));
        browser
    }

    /// Send one command; its value, or a panic with the driver's error.
    fn call(&mut self, command: Value) -> Value {
        let stdin = self.stdin.as_mut().expect("the driver is open");
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
        let line = self
            .replies
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("the browser driver did not answer {command}: {e}"));
        let reply: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the browser driver said {line:?} ({e})"));
        assert_eq!(
            reply["ok"], true,
            "browser command {command} failed: {}",
            reply["error"]
        );
        reply["value"].clone()
    }

    fn eval(&mut self, expr: &str) -> Value {
        self.call(json!({"cmd": "eval", "expr": expr}))
    }

    /// Wait until `expr` is true in the page; on a timeout, panic showing `show` evaluated.
    fn wait_for(&mut self, expr: &str, show: &str, timeout: Duration) {
        let stdin = self.stdin.as_mut().expect("the driver is open");
        let command =
            json!({"cmd": "waitFor", "expr": expr, "timeout": timeout.as_millis() as u64});
        writeln!(stdin, "{command}").unwrap();
        let line = self
            .replies
            .recv_timeout(timeout + Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("the browser driver did not answer {command}: {e}"));
        let reply: Value = serde_json::from_str(&line).unwrap();
        if reply["ok"] != true {
            let shown = self.eval(show);
            panic!(
                "the page never showed {expr} ({}); it shows {shown}",
                reply["error"]
            );
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "{}", json!({"cmd": "close"}));
            // Closing stdin ends the driver once the browser has closed.
        }
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A figure the page shows: the `data-value` of the element with this `data-testid`.
fn shown(testid: &str) -> String {
    format!("(document.querySelector('[data-testid=\"{testid}\"]')?.dataset.value ?? null)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_the_page_shows_what_metrics_count_and_promotes() {
    let out = common::root().join("target/test-output");
    std::fs::create_dir_all(&out).unwrap();
    let (gw, api, production, canary) = setup();
    // A stage with a running ramp whose first step is far off, so the page shows it waiting.
    gw.ok(&["deploy", "--stage", "ramped"]);
    gw.ok(&[
        "deploy",
        "--stage",
        "ramped",
        "--canary",
        "10",
        "--ramp",
        "50,100",
        "--step",
        "10m",
        "--max-error-rate",
        "1",
        "--min-requests",
        "20",
    ]);
    // A VPC link with a live target and one that refuses connections.
    let live = common::echo_upstream("link-target").await.to_string();
    gw.ok(&[
        "vpc-link",
        "create",
        "backends",
        "--target",
        &live,
        "--target",
        "127.0.0.1:9",
        "--health-interval",
        "200ms",
        "--unhealthy",
        "1",
    ]);
    let profile = tempfile::tempdir().unwrap();
    let mut browser = Browser::launch(profile.path());
    let server = gw.serve(&[]);
    let c = client();

    let page = browser.call(json!({"cmd": "goto", "url": server.url("/_gw/")}));
    assert_eq!(page["status"], 200);
    assert!(
        page["contentType"]
            .as_str()
            .unwrap()
            .starts_with("text/html"),
        "{page}"
    );
    let everything = "document.getElementById('apis').innerText";
    browser.wait_for(
        &format!(
            "{} === '0' && {} === '0'",
            shown("requests-production-prod"),
            shown("requests-canary-prod")
        ),
        everything,
        Duration::from_secs(15),
    );

    // Known traffic on both sides while the page polls, spread over a few seconds so the charts
    // have a shape: production 37 answered + 4 failing, canary 23 answered + 2 failing.
    let batches = [(10, 1, 6, 0), (9, 1, 6, 1), (9, 1, 5, 0), (9, 1, 6, 1)];
    for (p_ok, p_down, c_ok, c_down) in batches {
        for (side, path, n) in [
            ("production", "/prod/m", p_ok),
            ("production", "/prod/down", p_down),
            ("canary", "/prod/m", c_ok),
            ("canary", "/prod/down", c_down),
        ] {
            for _ in 0..n {
                let r = send(
                    &c,
                    "GET",
                    &server.url(path),
                    &[("x-gw-target", side)],
                    Bytes::new(),
                )
                .await;
                assert_eq!(r.status, if path == "/prod/down" { 500 } else { 200 });
            }
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }

    // What /_gw/metrics counts, read by a real Prometheus parser.
    let metrics = get(&c, &server.url("/_gw/metrics")).await;
    let samples = parse_openmetrics(&metrics.text());
    let count = |side: &str, class: Option<&str>| {
        let mut want = vec![("api", api.as_str()), ("stage", "prod"), ("side", side)];
        if let Some(class) = class {
            want.push(("class", class));
        }
        sum(&samples, "gw_requests_total", &want) as u64
    };
    let expected = [
        (
            "production",
            count("production", None),
            count("production", Some("5xx")),
        ),
        (
            "canary",
            count("canary", None),
            count("canary", Some("5xx")),
        ),
    ];
    assert_eq!(expected[0].1, 41);
    assert_eq!(expected[0].2, 4);
    assert_eq!(expected[1].1, 25);
    assert_eq!(expected[1].2, 2);

    // The page shows the same figures (it polls once a second).
    let condition = expected
        .iter()
        .map(|(side, requests, errors)| {
            format!(
                "{} === '{requests}' && {} === '{errors}'",
                shown(&format!("requests-{side}-prod")),
                shown(&format!("errors-{side}-prod"))
            )
        })
        .collect::<Vec<_>>()
        .join(" && ");
    browser.wait_for(&condition, everything, Duration::from_secs(15));
    for (side, requests, errors) in expected {
        let requests_shown = browser_value(&mut browser, &shown(&format!("requests-{side}-prod")));
        let errors_shown = browser_value(&mut browser, &shown(&format!("errors-{side}-prod")));
        assert_eq!(requests_shown, requests, "{side}");
        assert_eq!(errors_shown, errors, "{side}");
    }
    // Since the canary started: latency percentiles on both sides, from the histogram.
    for side in ["production", "canary"] {
        for what in ["total-p50", "total-p99"] {
            let text = browser.eval(&format!(
                "document.querySelector('[data-testid=\"{what}-{side}-prod\"]').textContent"
            ));
            assert!(
                text.as_str().unwrap().ends_with(" ms"),
                "{what} of {side}: {text}"
            );
        }
    }
    assert_eq!(
        browser.eval(&shown("percent-prod")),
        "25",
        "the canary's share"
    );
    // The live charts have drawn the traffic: every line of the stage's three charts (request
    // rate, 5xx rate, p50 and p99 on both sides) has a segment.
    browser.wait_for(
        "[...document.querySelectorAll('[data-testid=\"stage-prod\"] svg path')]\
         .filter(p => (p.getAttribute('d') || '').includes('L')).length === 8",
        "[...document.querySelectorAll('[data-testid=\"stage-prod\"] svg path')]\
         .map(p => p.getAttribute('d'))",
        Duration::from_secs(15),
    );
    // The ramp's progress: at its starting share, 50 % next, about ten minutes away.
    let ramp = "document.querySelector('[data-testid=\"ramp-ramped\"]')";
    browser.wait_for(
        &format!("{ramp} && !{ramp}.hidden && {ramp}.dataset.next === '50'"),
        &format!("{ramp}?.outerHTML"),
        Duration::from_secs(15),
    );
    let next =
        browser.eval("document.querySelector('[data-testid=\"ramp-next-ramped\"]').textContent");
    let next = next.as_str().unwrap();
    assert!(
        next.starts_with("next: 50 % in ") && next.contains("if the gates pass"),
        "{next}"
    );
    let shown_ramp = browser.eval(&format!("{ramp}.innerText"));
    for part in [
        "step 0 of 2",
        "10 %",
        "100 %",
        "promote",
        "5xx ≤ 1 %",
        "≥ 20 canary requests",
    ] {
        assert!(
            shown_ramp.as_str().unwrap().contains(part),
            "{part} in {shown_ramp}"
        );
    }
    assert!(
        browser
            .eval("document.querySelector('[data-testid=\"ramp-prod\"]').hidden")
            .as_bool()
            .unwrap(),
        "prod has no ramp"
    );
    // The stage's history as the page shows it is the history `gw stage history` lists.
    assert_history_shown(&mut browser, &gw, "ramped");
    assert_history_shown(&mut browser, &gw, "prod");

    let shot = out.join("dashboard.png");
    browser.call(json!({"cmd": "screenshot", "path": shot}));

    // Set the canary's share with the field and its button.
    browser.call(
        json!({"cmd": "fill", "selector": "[data-testid=\"percent-input-prod\"]", "value": "40"}),
    );
    browser.call(json!({"cmd": "click", "selector": "[data-testid=\"percent-set-prod\"]"}));
    browser.wait_for(
        &format!("{} === '40'", shown("percent-prod")),
        "document.body.innerText",
        Duration::from_secs(15),
    );
    assert_eq!(stage(&gw, "prod")["canarySettings"]["percentTraffic"], 40.0);

    // Promote with the button (the page asks first; the driver answers yes).
    browser.call(json!({"cmd": "click", "selector": "[data-testid=\"promote-prod\"]"}));
    browser.wait_for(
        "document.querySelector('[data-testid=\"canary-badge-prod\"]')?.textContent === 'no canary' \
         && document.querySelector('[data-testid=\"notice\"]').textContent.startsWith('Promoted')",
        "document.body.innerText",
        Duration::from_secs(15),
    );
    let notice = browser.eval("document.querySelector('[data-testid=\"notice\"]').textContent");
    assert!(notice.as_str().unwrap().contains(&canary), "{notice}");
    let prod = stage(&gw, "prod");
    assert_eq!(prod["deploymentId"], canary.as_str());
    assert!(prod.get("canarySettings").is_none(), "{prod}");
    for (deployment, is_canary) in answered_by(&c, &server, 20).await {
        assert_eq!(deployment, canary, "the former canary answers");
        assert_eq!(is_canary, "false");
    }
    // The links table: each target of the link with its health, as the checks found it.
    browser.wait_for(
        &format!(
            "(() => {{ const rows = [...document.querySelectorAll('#link-rows tr')]
                .map((r) => r.dataset.link + ' ' + r.dataset.target + ' ' + r.querySelector('[data-testid=health]').textContent);
              return rows.includes('backends {live} healthy') && rows.includes('backends 127.0.0.1:9 unhealthy'); }})()"
        ),
        "document.getElementById('links').innerText",
        Duration::from_secs(15),
    );
    assert_eq!(
        browser.eval(
            "document.querySelector('[data-testid=\"deployment-production-prod\"]').textContent"
        ),
        canary.as_str()
    );
    assert_ne!(production, canary);
    browser.wait_for(
        &format!("{} === '20'", shown("requests-production-prod")),
        everything,
        Duration::from_secs(15),
    );
    // The promotion and the share set from the page are the latest transitions shown.
    let latest = assert_history_shown(&mut browser, &gw, "prod");
    assert_eq!(latest[0], ("promote".to_owned(), "user".to_owned()));
    assert_eq!(latest[1], ("percent".to_owned(), "user".to_owned()));
    browser.call(json!({"cmd": "screenshot", "path": out.join("dashboard-promoted.png")}));

    let problems = browser.call(json!({"cmd": "problems"}));
    assert_eq!(problems, json!([]), "the page logged errors");
    drop(browser);
    eprintln!("screenshots: {}", out.display());
}

/// A `data-value` the page shows, as a number.
fn browser_value(browser: &mut Browser, expr: &str) -> u64 {
    let v = browser.eval(expr);
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{expr} is {v}"))
}

/// Waits until the page's history of `stage` shows what `gw stage history --json` lists: the
/// number of transitions and the latest of them (newest first), each row's action and actor.
/// Returns the rows shown.
fn assert_history_shown(browser: &mut Browser, gw: &Gw, stage: &str) -> Vec<(String, String)> {
    let listed: Value =
        serde_json::from_str(&gw.ok(&["stage", "history", stage, "--json"])).unwrap();
    let listed = listed.as_array().unwrap();
    let want: Vec<Value> = listed
        .iter()
        .rev()
        .take(8)
        .map(|e| json!([e["action"], e["by"]]))
        .collect();
    let rows = format!(
        "[...document.querySelectorAll('[data-testid=\"history-{stage}\"] tr')]\
         .map(r => [r.dataset.action, r.dataset.by])"
    );
    browser.wait_for(
        &format!(
            "{} === '{}' && JSON.stringify({rows}) === '{}'",
            shown(&format!("history-count-{stage}")),
            listed.len(),
            Value::from(want.clone())
        ),
        &rows,
        Duration::from_secs(15),
    );
    assert!(!want.is_empty(), "stage {stage} has a history");
    want.iter()
        .map(|v| {
            (
                v[0].as_str().unwrap().to_owned(),
                v[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
