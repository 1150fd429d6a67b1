//! Several gw nodes: three `gw serve` processes on one state, their usage-plan throttles and
//! quotas counted in one real Redis (`--counters`), so a limit holds across the nodes; Redis
//! stopped, each node falls back as `--counters-unavailable` says, and recovers when it returns.
//! Each node registers with a heartbeat (`gw nodes`); one killed outright leaves the list, and
//! clients that retry on another node see no failure.

use crate::common::{self, redis::RedisServer, send, Gw, Server};
use crate::management::{api_requiring_a_key, s, Aws};
use std::time::{Duration, Instant};

/// Waits until every node serves the generation the first one does.
async fn same_generation(nodes: &[&Server]) {
    let c = common::client();
    let started = Instant::now();
    loop {
        let mut generations = Vec::new();
        for n in nodes {
            let r = common::get(&c, &n.url("/_gw/health")).await;
            generations.push(r.json()["generation"].as_i64().unwrap());
        }
        if generations.windows(2).all(|w| w[0] == w[1]) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "nodes serve different generations: {generations:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `requests` calls with key `value`, 8 at a time, spread round robin over `nodes`: the
/// statuses in order of completion.
async fn spread(nodes: &[&Server], url_path: &str, value: &str, requests: usize) -> Vec<u16> {
    let c = common::client();
    let urls: Vec<String> = nodes.iter().map(|n| n.url(url_path)).collect();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (c, urls, next, value) = (c.clone(), urls.clone(), next.clone(), value.to_string());
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= requests {
                    return got;
                }
                let url = &urls[i % urls.len()];
                let r = send(&c, "GET", url, &[("x-api-key", value.as_str())], "").await;
                got.push(r.status);
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_share_a_quota_and_a_throttle_in_redis() {
    let mut redis = RedisServer::start();
    let gw = Gw::new();
    let url = redis.url();
    let nodes: Vec<Server> = (0..3).map(|_| gw.serve(&["--counters", &url])).collect();
    let all: Vec<&Server> = nodes.iter().collect();
    let aws = Aws::new(nodes[0].addr);
    let id = api_requiring_a_key(&aws);
    let stages = format!("apiId={id},stage=prod");
    let plan_with_key = |name: &str, limits: &[&str]| -> String {
        let mut args = vec!["create-usage-plan", "--name", name, "--api-stages", &stages];
        args.extend_from_slice(limits);
        let plan = aws.json(&args);
        let key = aws.json(&["create-api-key", "--name", name, "--enabled"]);
        aws.json(&[
            "create-usage-plan-key",
            "--usage-plan-id",
            s(&plan["id"]),
            "--key-id",
            s(&key["id"]),
            "--key-type",
            "API_KEY",
        ]);
        s(&key["value"]).to_string()
    };
    let quota_key = plan_with_key("quota", &["--quota", "limit=100,period=DAY"]);
    let throttle_key = plan_with_key("throttle", &["--throttle", "burstLimit=20,rateLimit=20"]);
    same_generation(&all).await;
    let path = format!("/_aws/execute-api/{id}/prod/");

    // A quota of 100 a day, 150 requests over three nodes in parallel: exactly 100 pass.
    let statuses = spread(&all, &path, &quota_key, 150).await;
    let passed = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((passed, refused), (100, 50), "{statuses:?}");

    // A throttle of 20 a second with a burst of 20: over about two seconds of 8 clients on three
    // nodes, no more than burst + rate × elapsed pass (each node counting alone would let up
    // to three times that through).
    let started = Instant::now();
    let mut statuses = Vec::new();
    while started.elapsed() < Duration::from_secs(2) {
        statuses.extend(spread(&all, &path, &throttle_key, 48).await);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let passed = statuses.iter().filter(|s| **s == 200).count() as f64;
    let mut fallbacks = Vec::new();
    for n in &nodes {
        let m = common::get(&common::client(), &n.url("/_gw/metrics"))
            .await
            .text();
        fallbacks.push(metric(&m, "gw_counters_fallbacks_total"));
    }
    assert!(
        passed <= 20.0 + 20.0 * elapsed,
        "{passed} passed of {} in {elapsed:.2} s: more than 20 + 20/s allows (fallbacks {fallbacks:?}; {})",
        statuses.len(),
        nodes[0].log()
    );
    assert!(passed >= 20.0, "only {passed} passed: not even the burst");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );

    // Redis stops: each node counts alone (the default), says so, and the metrics show it.
    redis.stop();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let c = common::client();
    let r = send(
        &c,
        "GET",
        &nodes[1].url(&path),
        &[("x-api-key", throttle_key.as_str())],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "local counters admit: {}", r.text());
    assert!(
        nodes[1].log().contains("counting on this node alone"),
        "{}",
        nodes[1].log()
    );
    let m = common::get(&c, &nodes[1].url("/_gw/metrics")).await.text();
    assert_eq!(metric(&m, "gw_counters_redis_up"), Some(0.0), "{m}");
    assert!(
        metric(&m, "gw_counters_fallbacks_total").unwrap_or(0.0) >= 1.0,
        "{m}"
    );
    // A node told to refuse while the counters are away refuses.
    let strict = gw.serve(&["--counters", &url, "--counters-unavailable", "deny"]);
    let r = send(
        &c,
        "GET",
        &strict.url(&path),
        &[("x-api-key", throttle_key.as_str())],
        "",
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.text());

    // Redis returns: the node counts in it again.
    redis.restart();
    let started = Instant::now();
    loop {
        send(
            &c,
            "GET",
            &nodes[1].url(&path),
            &[("x-api-key", throttle_key.as_str())],
            "",
        )
        .await;
        let m = common::get(&c, &nodes[1].url("/_gw/metrics")).await.text();
        if metric(&m, "gw_counters_redis_up") == Some(1.0) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not back on Redis 10 s after it returned: {m}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        nodes[1].log().contains("limits are shared"),
        "{}",
        nodes[1].log()
    );
}

/// `gw nodes --json`'s items.
fn listed(gw: &Gw) -> (Vec<serde_json::Value>, i64) {
    let v: serde_json::Value = serde_json::from_str(&gw.ok(&["nodes", "--json"])).unwrap();
    (
        v["item"].as_array().unwrap().clone(),
        v["generation"].as_i64().unwrap(),
    )
}

/// One GET through `urls[first]`, then each other node in turn while one fails (a client that
/// retries on another node): the status, or `None` when every node failed.
async fn get_with_retry(c: &common::TestClient, urls: &[String], first: usize) -> Option<u16> {
    for i in 0..urls.len() {
        let url = &urls[(first + i) % urls.len()];
        let Ok(req) = http::Request::builder()
            .uri(url)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
        else {
            return None;
        };
        if let Ok(resp) = c.request(req).await {
            let status = resp.status().as_u16();
            use http_body_util::BodyExt as _;
            if resp.into_body().collect().await.is_ok() && status < 500 {
                return Some(status);
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_outright_leaves_the_list_and_the_others_keep_answering() {
    let gw = Gw::new();
    gw.import_spec(
        "mocked.json",
        &serde_json::json!({
            "openapi": "3.0.1",
            "info": {"title": "mocked", "version": "1"},
            "paths": {"/ping": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {"statusCode": "200",
                        "responseTemplates": {"application/json": "{\"pong\": true}"}}}
                }
            }}}
        }),
    );
    gw.ok(&["deploy", "--stage", "prod"]);
    let mut nodes: Vec<Server> = (0..3).map(|_| gw.serve(&[])).collect();
    let urls: Vec<String> = nodes.iter().map(|n| n.url("/prod/ping")).collect();

    // Every node registers, serving the store's generation.
    let started = Instant::now();
    loop {
        let (items, generation) = listed(&gw);
        if items.len() == 3 && items.iter().all(|n| n["generation"] == generation) {
            let addresses: Vec<&str> = items
                .iter()
                .map(|n| n["address"].as_str().unwrap())
                .collect();
            for n in &nodes {
                assert!(
                    addresses.contains(&n.addr.to_string().as_str()),
                    "{items:?}"
                );
            }
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{items:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Load from 8 clients that retry on another node; one node is killed with SIGKILL midway.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for k in 0..8 {
        let (urls, stop) = (urls.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let c = common::client();
            let (mut ok, mut failed, mut i) = (0usize, 0usize, k);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match get_with_retry(&c, &urls, i).await {
                    Some(200) => ok += 1,
                    _ => failed += 1,
                }
                i += 1;
            }
            (ok, failed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = nodes.pop().unwrap();
    let killed_addr = killed.addr.to_string();
    drop(killed); // SIGKILL: no clean shutdown, no deregistration
    let killed_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut failed) = (0, 0);
    for c in clients {
        let (o, f) = c.await.unwrap();
        ok += o;
        failed += f;
    }
    assert_eq!(failed, 0, "{failed} failed of {}", ok + failed);
    assert!(ok > 100, "only {ok} requests");

    // The dead node drops out of `gw nodes` within its heartbeat timeout (3 s after its last
    // heartbeat, which is at most 1 s before the kill).
    loop {
        let (items, _) = listed(&gw);
        if !items.iter().any(|n| n["address"] == killed_addr.as_str()) {
            assert_eq!(items.len(), 2, "{items:?}");
            break;
        }
        assert!(
            killed_at.elapsed() < Duration::from_millis(4500),
            "the killed node is still listed: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// START lines in a function's log (every invocation on any server of the state directory).
fn invocations(gw: &Gw, function: &str) -> usize {
    let path = gw
        .state()
        .join("logs/functions")
        .join(format!("{function}.log"));
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("START RequestId"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_share_authorizer_answers_in_redis_and_a_flush_reaches_them_all() {
    let redis = RedisServer::start();
    let gw = Gw::new();
    let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:authorizer/invocations";
    gw.import_spec(
        "guarded.json",
        &serde_json::json!({
            "openapi": "3.0.1",
            "info": {"title": "guarded", "version": "1"},
            "components": {"securitySchemes": {"cached": {
                "type": "apiKey", "name": "Authorization", "in": "header",
                "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {
                    "type": "token", "authorizerUri": uri, "authorizerResultTtlInSeconds": 300
                }
            }}},
            "paths": {"/hello": {"get": {
                "security": [{"cached": []}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {"statusCode": "200",
                        "responseTemplates": {"application/json": "{\"user\": \"$context.authorizer.principalId\"}"}}}
                }
            }}}
        }),
    );
    gw.ok(&[
        "function",
        "put",
        "authorizer",
        common::guest("authorizer").to_str().unwrap(),
    ]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let url = redis.url();
    let shared = ["--counters", url.as_str(), "--authorizer-cache", "redis"];
    let (a, b) = (gw.serve(&shared), gw.serve(&shared));
    let c = common::client();
    let call = |node: &Server, token: &str| {
        let (c, url, auth) = (
            c.clone(),
            node.url("/prod/hello"),
            format!("Bearer {token}"),
        );
        async move { send(&c, "GET", &url, &[("authorization", auth.as_str())], "").await }
    };

    let r = call(&a, "alice").await;
    assert_eq!(
        (r.status, r.json()["user"].clone()),
        (200, "alice".into()),
        "{}",
        r.text()
    );
    assert_eq!(invocations(&gw, "authorizer"), 1);
    // Node b has never seen alice: the answer node a got is in Redis.
    let r = call(&b, "alice").await;
    assert_eq!((r.status, r.json()["user"].clone()), (200, "alice".into()));
    assert_eq!(
        invocations(&gw, "authorizer"),
        1,
        "b asked the authorizer again"
    );
    let r = call(&b, "bob").await;
    assert_eq!(r.json()["user"], "bob");
    assert_eq!(invocations(&gw, "authorizer"), 2);

    // FlushStageAuthorizersCache through node a: node b asks again too.
    let aws = Aws::new(a.addr);
    let apis: serde_json::Value = serde_json::from_str(&gw.ok(&["apis", "--json"])).unwrap();
    let id = s(&apis[0]["id"]).to_string();
    aws.json(&[
        "flush-stage-authorizers-cache",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);
    assert_eq!(call(&b, "alice").await.status, 200);
    assert_eq!(
        invocations(&gw, "authorizer"),
        3,
        "the flush did not reach node b"
    );

    // A node with the default (its own memory) does not see the shared answers.
    let own = gw.serve(&["--counters", url.as_str()]);
    assert_eq!(call(&own, "alice").await.status, 200);
    assert_eq!(invocations(&gw, "authorizer"), 4);
    let refused = gw.fails(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--authorizer-cache",
        "redis",
    ]);
    assert!(refused.contains("add --counters"), "{refused}");
}
