//! The canary split through the in-process server with a seeded draw: the share of traffic is
//! within binomial bounds, canary requests (and only they) see the stage-variable overrides,
//! and `x-gw-target` forces the choice (or is refused when misspelt). The pure chooser is checked
//! here too, over its whole domain (its unit tests in `src/canary.rs` pin 0 %, 100 % and the
//! boundary).

use crate::common;

use bytes::Bytes;
use common::{client, echo_upstream, send, serve_in_process, Gw, Reply};
use gw::gateway::canary::{choose, Variant};
use std::net::SocketAddr;
use std::sync::Arc;

/// One route whose backend URL is made of stage variables: `version` is overridden by the
/// canary, `color` is a production variable the canary must still see.
const SPEC: &str = r#"
openapi: 3.0.1
info: {title: split, version: "1"}
paths:
  /x:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: "http://${stageVariables.backend}/${stageVariables.version}/${stageVariables.color}/x"
"#;

struct Setup {
    gw: Gw,
    production: String,
    canary: String,
}

/// Production on `v1`, a canary at `percent` overriding `version=v2`.
fn setup(up: SocketAddr, percent: &str) -> Setup {
    let gw = Gw::new();
    let spec = gw.state().join("split.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    gw.ok(&["import", spec.to_str().unwrap()]);
    let backend = format!("backend={up}");
    let prod: serde_json::Value = serde_json::from_str(&gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--var",
        &backend,
        "--var",
        "version=v1",
        "--var",
        "color=blue",
        "--json",
    ]))
    .unwrap();
    let canary: serde_json::Value = serde_json::from_str(&gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--canary",
        percent,
        "--canary-var",
        "version=v2",
        "--json",
    ]))
    .unwrap();
    Setup {
        gw,
        production: prod["deployment"]["id"].as_str().unwrap().to_string(),
        canary: canary["deployment"]["id"].as_str().unwrap().to_string(),
    }
}

/// Check one answer is consistent, and say whether the canary served it.
fn classify(r: &Reply, s: &Setup) -> bool {
    assert_eq!(r.status, 200, "{}", r.text());
    let path = r.json()["path"].as_str().unwrap().to_string();
    let canary = match r.header("x-gw-canary") {
        Some("true") => true,
        Some("false") => false,
        other => panic!("x-gw-canary is {other:?}"),
    };
    let (want_path, want_deployment) = if canary {
        ("/v2/blue/x", &s.canary)
    } else {
        ("/v1/blue/x", &s.production)
    };
    // The override reaches canary requests only; the non-overridden `color` reaches both.
    assert_eq!(path, want_path, "canary={canary}");
    assert_eq!(r.header("x-gw-deployment"), Some(want_deployment.as_str()));
    canary
}

/// Send `n` GETs with up to `concurrency` in flight; returns how many the canary served.
async fn count_canary(
    addr: SocketAddr,
    s: &Arc<Setup>,
    n: usize,
    headers: &'static [(&'static str, &'static str)],
) -> usize {
    let concurrency = 16;
    let url = format!("http://{addr}/prod/x");
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let url = url.clone();
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let c = client();
            let mut canary = 0;
            for _ in (worker..n).step_by(concurrency) {
                let r = send(&c, "GET", &url, headers, Bytes::new()).await;
                canary += usize::from(classify(&r, &s));
            }
            canary
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_of_ten_thousand_requests_go_to_the_canary() {
    let up = echo_upstream("split").await;
    let s = Arc::new(setup(up, "10"));
    let config = gw::server::Config {
        canary_seed: Some(42),
        ..Default::default()
    };
    let (addr, stop, handle) = serve_in_process(s.gw.store(), config).await;
    const N: usize = 10_000;
    let canary = count_canary(addr, &s, N, &[]).await;
    // Each request is an independent draw with p = 0.1, so the count is Binomial(10000, 0.1):
    // mean = 10000 * 0.1 = 1000, sd = sqrt(10000 * 0.1 * 0.9) = 30. We accept mean ± 5 sd,
    // [850, 1150]; a correct split falls outside with probability < 1e-6. The draw is seeded
    // (42), and each request takes exactly one draw, so the count is the same on every run
    // whatever order the concurrent requests take their draws in.
    let (lo, hi) = (1000 - 5 * 30, 1000 + 5 * 30);
    assert!(
        (lo..=hi).contains(&canary),
        "{canary} of {N} requests went to the canary; expected within [{lo}, {hi}]"
    );
    eprintln!("canary served {canary} of {N} requests (bounds [{lo}, {hi}])");
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_gw_target_forces_the_choice() {
    let up = echo_upstream("forced").await;
    let s = Arc::new(setup(up, "50"));
    let config = gw::server::Config {
        canary_seed: Some(7),
        ..Default::default()
    };
    let (addr, stop, handle) = serve_in_process(s.gw.store(), config).await;
    assert_eq!(
        count_canary(addr, &s, 200, &[("x-gw-target", "canary")]).await,
        200
    );
    assert_eq!(
        count_canary(addr, &s, 200, &[("x-gw-target", "production")]).await,
        0
    );
    // Anything else is refused, so a typo never passes for a random draw.
    let r = send(
        &client(),
        "GET",
        &format!("http://{addr}/prod/x"),
        &[("x-gw-target", "canry")],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.header("x-amzn-ErrorType"), Some("BadRequestException"));
    let message = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("x-gw-target is \"canry\"; send canary or production"),
        "{message}"
    );
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_and_hundred_percent_through_the_server() {
    let up = echo_upstream("edges").await;
    let s = Arc::new(setup(up, "0"));
    let (addr, stop, handle) = serve_in_process(s.gw.store(), Default::default()).await;
    assert_eq!(count_canary(addr, &s, 300, &[]).await, 0);
    // The in-process server follows the store like `gw serve` does.
    s.gw.ok(&["canary", "--percent", "100"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let r = send(
            &client(),
            "GET",
            &format!("http://{addr}/prod/x"),
            &[],
            Bytes::new(),
        )
        .await;
        if classify(&r, &s) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the 100 % canary never answered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(count_canary(addr, &s, 300, &[]).await, 300);
    stop.send(()).unwrap();
    handle.await.unwrap();
}

// ---- the pure chooser over its whole domain ----

proptest::proptest! {
    #[test]
    fn the_canary_answers_exactly_when_the_draw_is_below_the_percentage(
        percent in 0.0f64..=100.0,
        draw in 0.0f64..100.0,
    ) {
        let want = if percent >= 100.0 || draw < percent { Variant::Canary } else { Variant::Production };
        proptest::prop_assert_eq!(choose(percent, draw), want);
    }
}

#[test]
fn over_evenly_spread_draws_the_canary_share_equals_the_percentage() {
    // 10,000 draws at the centres of equal slices of [0, 100): the share is exact to one slice.
    for percent in [0.0, 0.01, 1.0, 10.0, 12.5, 33.3, 50.0, 99.99, 100.0] {
        let n = 10_000;
        let canary = (0..n)
            .map(|i| (i as f64 + 0.5) * 100.0 / n as f64)
            .filter(|&d| choose(percent, d) == Variant::Canary)
            .count();
        let expected = percent / 100.0 * n as f64;
        assert!(
            (canary as f64 - expected).abs() <= 1.0,
            "{percent} %: {canary} of {n}, expected {expected}"
        );
    }
}

/// Sticky splits (beyond AWS): 1,000 requests from 100 distinct keys at 10 % — every key always
/// lands on the same side; raising the share to 50 % moves no canary key back to production;
/// `--sticky off` returns to AWS's draw per request. Also `ip` (one client: one side) and
/// `cookie` (gw sets the cookie for a client without one, and the client then stays put).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_canaries_keep_each_client_on_its_side() {
    let gw = Gw::new();
    gw.import_spec(
        "sticky.json",
        &crate::metrics::canary_spec(&crate::metrics::closed_port()),
    );
    gw.ok(&["deploy", "--stage", "prod"]);
    let out = gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--canary",
        "10",
        "--sticky",
        "header:x-user",
    ]);
    assert!(out.contains("canary"), "{out}");
    let server = gw.serve(&[]);
    let c = client();
    let side = |key: String| {
        let url = server.url("/prod/m");
        let c = c.clone();
        async move {
            let r = send(&c, "GET", &url, &[("x-user", key.as_str())], Bytes::new()).await;
            assert_eq!(r.status, 200);
            r.header("x-gw-canary") == Some("true")
        }
    };
    let mut first: std::collections::BTreeMap<String, bool> = Default::default();
    for round in 0..10 {
        for k in 0..100 {
            let key = format!("user-{k}");
            let on_canary = side(key.clone()).await;
            match first.get(&key) {
                None => {
                    first.insert(key, on_canary);
                }
                Some(&was) => assert_eq!(was, on_canary, "{key} changed sides in round {round}"),
            }
        }
    }
    let canary_keys: Vec<&String> = first.iter().filter(|(_, c)| **c).map(|(k, _)| k).collect();
    // 100 keys at 10 %: binomial sd 3; 10 ± 5 sd.
    assert!(
        (1..=25).contains(&canary_keys.len()),
        "{}",
        canary_keys.len()
    );

    // Raise the share: every canary key stays on the canary, and more keys join it.
    let out = gw.ok(&["canary", "--percent", "50"]);
    assert!(out.contains("sticky by header:x-user"), "{out}");
    let mut now_canary = 0;
    for (key, was_canary) in &first {
        let on_canary = side(key.clone()).await;
        if *was_canary {
            assert!(on_canary, "{key} moved back to production at 50 %");
        }
        now_canary += usize::from(on_canary);
    }
    assert!(now_canary > canary_keys.len(), "{now_canary}");
    assert!((30..=70).contains(&now_canary), "{now_canary}");

    // One client address: one side, whatever the request.
    gw.ok(&["canary", "--sticky", "ip"]);
    let sides: std::collections::BTreeSet<bool> = {
        let mut s = std::collections::BTreeSet::new();
        for i in 0..40 {
            s.insert(side(format!("anyone-{i}")).await);
        }
        s
    };
    assert_eq!(sides.len(), 1, "one address, one side");

    // `cookie`: a client without the cookie gets one, and keeps its side with it.
    gw.ok(&["canary", "--sticky", "cookie"]);
    let r = send(&c, "GET", &server.url("/prod/m"), &[], Bytes::new()).await;
    let cookie = r
        .header("set-cookie")
        .expect("gw sets its sticky cookie")
        .to_owned();
    assert!(cookie.starts_with("gw-canary="), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let was = r.header("x-gw-canary").map(str::to_owned);
    for _ in 0..20 {
        let r = send(
            &c,
            "GET",
            &server.url("/prod/m"),
            &[("cookie", pair.as_str())],
            Bytes::new(),
        )
        .await;
        assert_eq!(r.header("x-gw-canary").map(str::to_owned), was);
        assert!(
            r.header("set-cookie").is_none(),
            "a client with the cookie keeps it"
        );
    }

    // Bad keys are refused with the fix; `off` returns to the per-request draw.
    let err = gw.fails(&["canary", "--sticky", "session"]);
    assert!(
        err.contains("ip, header:NAME, cookie or cookie:NAME"),
        "{err}"
    );
    let out = gw.ok(&["canary", "--sticky", "off"]);
    assert!(out.contains("drawn per request"), "{out}");
    let stages: serde_json::Value = serde_json::from_str(&gw.ok(&["stages", "--json"])).unwrap();
    assert!(
        stages["item"][0]["canarySettings"]["sticky"].is_null(),
        "{stages}"
    );
}
