//! VPC links through the real server: requests spread over a link's targets as its balancing
//! mode says, a killed instance costs no GET and is taken out and brought back by its health
//! checks, POSTs are never sent twice, and a registration with a time to live leaves the pool
//! when it is not renewed; a function put with `--allow-http` fans out to its links and is
//! refused everything else.

use crate::common::{self, client, send, Gw, Server};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An HTTP_PROXY API whose every path goes through the VPC link the stage variable
/// `vpcLinkId` names (as the corpus's NLB specs write it).
fn link_spec() -> Value {
    json!({
        "openapi": "3.0.1",
        "info": {"title": "linked", "version": "1"},
        "paths": {"/{proxy+}": {"x-amazon-apigateway-any-method": {
            "parameters": [{"name": "proxy", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "http_proxy",
                "httpMethod": "ANY",
                "uri": "http://service.internal/{proxy}",
                "connectionType": "VPC_LINK",
                "connectionId": "${stageVariables.vpcLinkId}",
                "requestParameters": {"integration.request.path.proxy": "method.request.path.proxy"}
            }
        }}}
    })
}

/// A backend instance that can be stopped and started again on its port; counts POSTs.
struct Instance {
    addr: SocketAddr,
    tag: &'static str,
    posts: Arc<AtomicUsize>,
    /// Every request it answered.
    hits: Arc<AtomicUsize>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Instance {
    async fn start(tag: &'static str) -> Instance {
        Instance::start_on(tag, "127.0.0.1:0").await
    }

    async fn start_on(tag: &'static str, addr: &str) -> Instance {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let mut i = Instance {
            addr: listener.local_addr().unwrap(),
            tag,
            posts: Arc::new(AtomicUsize::new(0)),
            hits: Arc::new(AtomicUsize::new(0)),
            task: None,
        };
        i.serve(listener);
        i
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (tag, posts, hits) = (self.tag, self.posts.clone(), self.hits.clone());
        self.task = Some(tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let (posts, hits) = (posts.clone(), hits.clone());
                conns.spawn(async move {
                    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        hits.fetch_add(1, Ordering::SeqCst);
                        if req.method() == http::Method::POST {
                            posts.fetch_add(1, Ordering::SeqCst);
                        }
                        let body = json!({"tag": tag, "path": req.uri().path(), "query": req.uri().query(), "host": req.headers().get("host").and_then(|h| h.to_str().ok())}).to_string();
                        async move { Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(body)))) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        }));
    }

    /// Stops accepting and drops every open connection (the JoinSet aborts them).
    fn kill(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

/// `gw vpc-links --json`'s targets of the one link: address → healthy.
fn health(gw: &Gw) -> HashMap<String, Option<bool>> {
    let v: Value = serde_json::from_str(&gw.ok(&["vpc-links", "--json"])).unwrap();
    v["item"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["address"].as_str().unwrap().to_string(),
                t["healthy"].as_bool(),
            )
        })
        .collect()
}

async fn tag_of(
    c: &common::TestClient,
    server: &Server,
    path: &str,
    headers: &[(&str, &str)],
) -> String {
    let r = send(c, "GET", &server.url(path), headers, Bytes::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["tag"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_link_balances_round_robin_and_by_a_stable_hash() {
    let a = Instance::start("a").await;
    let b = Instance::start("b").await;
    let c = Instance::start("c").await;
    let gw = Gw::new();
    gw.import_spec("linked.json", &link_spec());
    let targets: Vec<String> = [&a, &b, &c].iter().map(|i| i.addr.to_string()).collect();
    gw.ok(&[
        "vpc-link",
        "create",
        "pets",
        "--target",
        &targets[0],
        "--target",
        &targets[1],
        "--target",
        &targets[2],
    ]);
    gw.ok(&[
        "vpc-link",
        "create",
        "sticky",
        "--balance",
        "hash:header:x-user",
        "--target",
        &targets[0],
        "--target",
        &targets[1],
        "--target",
        &targets[2],
    ]);
    gw.ok(&["deploy", "--stage", "prod", "--var", "vpcLinkId=pets"]);
    gw.ok(&["deploy", "--stage", "sticky", "--var", "vpcLinkId=sticky"]);
    let server = gw.serve(&[]);
    let client = client();

    // The URI's path and Host are kept; the target is the link's.
    let r = send(
        &client,
        "GET",
        &server.url("/prod/pets/1"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.json()["path"], "/pets/1");
    assert_eq!(r.json()["host"], "service.internal");

    // Round robin: 3,000 requests, each target within ±5 % of a third.
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..3000 {
        *counts
            .entry(tag_of(&client, &server, "/prod/x", &[]).await)
            .or_default() += 1;
    }
    for tag in ["a", "b", "c"] {
        let n = counts.get(tag).copied().unwrap_or(0);
        assert!((950..=1050).contains(&n), "{tag}: {n} of 3000 ({counts:?})");
    }

    // A consistent hash of x-user: 100 keys stay put when a fourth target joins, except those
    // that move to it.
    let mut before = HashMap::new();
    for k in 0..100 {
        let user = format!("user-{k}");
        before.insert(
            user.clone(),
            tag_of(&client, &server, "/sticky/x", &[("x-user", &user)]).await,
        );
    }
    let d = Instance::start("d").await;
    gw.ok(&["vpc-link", "register", "sticky", &d.addr.to_string()]);
    let mut moved = 0;
    for (user, was) in &before {
        let now = tag_of(&client, &server, "/sticky/x", &[("x-user", user)]).await;
        if &now != was {
            assert_eq!(
                now, "d",
                "{user} moved from {was} to {now}, not to the new target"
            );
            moved += 1;
        }
    }
    // A quarter should move; the tolerance is wide for 100 keys.
    assert!(
        (5..=50).contains(&moved),
        "{moved} of 100 keys moved to the new target"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_instance_costs_no_get_and_health_checks_follow_it() {
    let mut a = Instance::start("a").await;
    let b = Instance::start("b").await;
    let c = Instance::start("c").await;
    let gw = Gw::new();
    gw.import_spec("linked.json", &link_spec());
    gw.ok(&[
        "vpc-link",
        "create",
        "pets",
        "--target",
        &a.addr.to_string(),
        "--target",
        &b.addr.to_string(),
        "--target",
        &c.addr.to_string(),
        "--health-interval",
        "200ms",
        "--healthy",
        "2",
        "--unhealthy",
        "2",
        "--health-timeout",
        "150ms",
    ]);
    gw.ok(&["deploy", "--stage", "prod", "--var", "vpcLinkId=pets"]);
    let server = Arc::new(gw.serve(&[]));
    let url = server.url("/prod/x");

    // 8 clients in a loop while one instance dies.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failed = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for _ in 0..8 {
        let (stop, failed, sent, url) = (stop.clone(), failed.clone(), sent.clone(), url.clone());
        load.push(tokio::spawn(async move {
            let c = client();
            while !stop.load(Ordering::Relaxed) {
                let r = send(&c, "GET", &url, &[], Bytes::new()).await;
                sent.fetch_add(1, Ordering::Relaxed);
                if r.status != 200 {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.kill();
    let killed = Instant::now();
    let a_addr = a.addr.to_string();
    // Unhealthy within unhealthy × interval (plus a check's timeout and the poll's slack).
    loop {
        if health(&gw).get(&a_addr) == Some(&Some(false)) {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_millis(2_000),
            "not marked unhealthy: {:?}",
            health(&gw)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.restart().await;
    let restarted = Instant::now();
    loop {
        if health(&gw).get(&a_addr) == Some(&Some(true)) {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_millis(2_000),
            "not healthy again: {:?}",
            health(&gw)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "of {} GETs",
        sent.load(Ordering::Relaxed)
    );
    assert!(sent.load(Ordering::Relaxed) > 100);

    // POSTs are never sent twice: with an instance down, what the instances received equals
    // what was answered 200.
    a.kill();
    let http = client();
    let mut ok = 0;
    for _ in 0..60 {
        let r = send(&http, "POST", &url, &[], Bytes::from("{}")).await;
        if r.status == 200 {
            ok += 1;
        }
    }
    let received = a.posts.load(Ordering::SeqCst)
        + b.posts.load(Ordering::SeqCst)
        + c.posts.load(Ordering::SeqCst);
    assert_eq!(received, ok, "every POST reached an instance at most once");
    assert!(ok >= 40, "the healthy instances answered ({ok} of 60)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_with_a_ttl_leaves_unless_renewed() {
    let a = Instance::start("a").await;
    let b = Instance::start("b").await;
    let gw = Gw::new();
    gw.import_spec("linked.json", &link_spec());
    gw.ok(&[
        "vpc-link",
        "create",
        "pets",
        "--target",
        &a.addr.to_string(),
    ]);
    gw.ok(&["deploy", "--stage", "prod", "--var", "vpcLinkId=pets"]);
    let server = gw.serve(&[]);
    gw.ok(&[
        "vpc-link",
        "register",
        "pets",
        &b.addr.to_string(),
        "--ttl",
        "2s",
    ]);
    let registered = Instant::now();
    let c = client();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10 {
        seen.insert(tag_of(&c, &server, "/prod/x", &[]).await);
    }
    assert!(
        seen.contains("b"),
        "the registered target takes traffic: {seen:?}"
    );
    tokio::time::sleep(Duration::from_millis(3_000).saturating_sub(registered.elapsed())).await;
    for _ in 0..20 {
        assert_eq!(tag_of(&c, &server, "/prod/x", &[]).await, "a", "b expired");
    }
    assert_eq!(health(&gw).len(), 1, "gw vpc-links no longer lists it");
    // The metrics show each target's health and requests.
    let metrics = send(&c, "GET", &server.url("/_gw/metrics"), &[], Bytes::new())
        .await
        .text();
    let a_addr = a.addr.to_string();
    assert!(
        metrics.contains(&format!(
            "gw_vpc_link_target_healthy{{link=\"pets\",target=\"{a_addr}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "gw_vpc_link_target_requests_total{{link=\"pets\",target=\"{a_addr}\"}}"
        )),
        "{metrics}"
    );
    // A link that does not exist: the URI is called directly (and the log says so).
    gw.ok(&["deploy", "--stage", "prod", "--var", "vpcLinkId=nolink"]);
    let r = send(&c, "GET", &server.url("/prod/x"), &[], Bytes::new()).await;
    assert_eq!(r.status, 500, "service.internal does not resolve here");
    assert!(
        server.log().contains("VPC link \"nolink\" does not exist"),
        "{}",
        server.log()
    );
}

/// A target given by DNS name is every address the name resolves to, followed as it changes
/// (names resolve from the hosts-format file `GW_HOSTS` names, before the system's resolver).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_name_target_follows_the_names_addresses() {
    let a = Instance::start("a").await;
    let port = a.addr.port();
    // Another loopback address, the same port.
    let b = Instance::start_on("b", &format!("127.0.0.2:{port}")).await;
    let gw = Gw::new();
    let hosts = gw.state().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 svc.test\n").unwrap();
    gw.import_spec("linked.json", &link_spec());
    gw.ok(&[
        "vpc-link",
        "create",
        "named",
        "--target",
        &format!("svc.test:{port}"),
    ]);
    gw.ok(&["deploy", "--stage", "prod", "--var", "vpcLinkId=named"]);
    let server = gw.serve_with_env(&[], &[("GW_HOSTS", hosts.to_str().unwrap())]);
    let c = client();
    let seen = |n: usize| {
        let (c, server) = (&c, &server);
        async move {
            let mut tags = std::collections::BTreeSet::new();
            for _ in 0..n {
                tags.insert(tag_of(c, server, "/prod/x", &[]).await);
            }
            tags.into_iter().collect::<Vec<_>>()
        }
    };
    let wait_for = |want: Vec<&'static str>| {
        let seen = &seen;
        async move {
            let started = Instant::now();
            loop {
                let got = seen(20).await;
                if got == want {
                    return;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "still {got:?}, want {want:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for(vec!["a"]).await;
    std::fs::write(&hosts, "127.0.0.2 svc.test\n").unwrap();
    wait_for(vec!["b"]).await;
    std::fs::write(&hosts, "127.0.0.1 svc.test\n127.0.0.2 svc.test\n").unwrap();
    wait_for(vec!["a", "b"]).await;
    let v: Value = serde_json::from_str(&gw.ok(&["vpc-links", "--json"])).unwrap();
    assert_eq!(
        v["item"][0]["targets"][0]["address"],
        format!("svc.test:{port}")
    );
    drop(b);
}

/// A name in a plain HTTP_PROXY URI that resolves to several addresses is balanced over them,
/// and followed as they change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_uri_name_with_several_addresses_is_balanced() {
    let a = Instance::start("a").await;
    let port = a.addr.port();
    let b = Instance::start_on("b", &format!("127.0.0.2:{port}")).await;
    let gw = Gw::new();
    let hosts = gw.state().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 svc.test\n127.0.0.2 svc.test\n").unwrap();
    let mut spec = link_spec();
    let integration = &mut spec["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]
        ["x-amazon-apigateway-integration"];
    integration["uri"] = json!(format!("http://svc.test:{port}/{{proxy}}"));
    integration["connectionType"] = json!("INTERNET");
    integration.as_object_mut().unwrap().remove("connectionId");
    gw.import_spec("plain.json", &spec);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve_with_env(&[], &[("GW_HOSTS", hosts.to_str().unwrap())]);
    let c = client();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..200 {
        *counts
            .entry(tag_of(&c, &server, "/prod/x", &[]).await)
            .or_default() += 1;
    }
    // Round robin over the two addresses: 100 each, within ±5 %.
    for tag in ["a", "b"] {
        let n = counts.get(tag).copied().unwrap_or(0);
        assert!((95..=105).contains(&n), "{tag}: {n} of 200 ({counts:?})");
    }
    // The name drops an address: followed within the refresh (1 s) and a margin.
    std::fs::write(&hosts, "127.0.0.2 svc.test\n").unwrap();
    let started = Instant::now();
    loop {
        let mut tags = std::collections::BTreeSet::new();
        for _ in 0..10 {
            tags.insert(tag_of(&c, &server, "/prod/x", &[]).await);
        }
        if tags.into_iter().collect::<Vec<_>>() == ["b"] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still sent to a"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(server.log().contains("now resolves to"), "{}", server.log());
    assert!(b.hits.load(Ordering::SeqCst) >= 110);
}

/// The fargate sample's NLB spec (every HTTP_PROXY over a VPC link named by a CloudFormation
/// `Ref`, its URI an `Fn::Join` with the load balancer's DNS name, a TOKEN authorizer whose URI
/// is an `Fn::Sub`) imports, and with a link created and the stage variables the intrinsics
/// stand for set, serves through the link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fargate_nlb_corpus_spec_serves_through_a_link() {
    if common::skip_without_corpus() {
        return;
    }
    let instance = Instance::start("locations-service").await;
    let gw = Gw::new();
    gw.ok(&[
        "function",
        "put",
        "authorizer",
        common::guest("authorizer").to_str().unwrap(),
    ]);
    let spec = common::corpus_dir().join("aws-fargate-rest-nlb.swagger.yaml");
    let imported = gw.ok(&["import", spec.to_str().unwrap(), "--json"]);
    assert!(
        imported.contains("--var LocationsServiceVPCLink=VALUE"),
        "the import says which stage variables the intrinsics stand for: {imported}"
    );
    gw.ok(&[
        "vpc-link",
        "create",
        "locations",
        "--target",
        &instance.addr.to_string(),
    ]);
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--var",
        "LocationsServiceVPCLink=locations",
        "--var",
        "LocationsServiceLoadBalancer_DNSName=locations.internal",
        "--var",
        "AuthorizerFunction_Arn=arn:aws:lambda:us-east-1:000000000000:function:authorizer",
    ]);
    let server = gw.serve(&[]);
    let c = client();
    let url = server.url("/prod/locations/42");
    let r = send(
        &c,
        "GET",
        &url,
        &[("authorization", "Bearer you")],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["tag"], "locations-service");
    assert_eq!(r.json()["path"], "/locations/42");
    assert_eq!(r.json()["host"], "locations.internal");
    let r = send(&c, "GET", &url, &[], Bytes::new()).await;
    assert_eq!(r.status, 401, "the TOKEN authorizer still guards it");
}

/// An API whose `/profile/{id}` runs the `fan-out` function (AWS_PROXY).
fn fan_out_spec() -> Value {
    json!({
        "openapi": "3.0.1",
        "info": {"title": "orchestrated", "version": "1"},
        "paths": {"/profile/{id}": {"get": {
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "aws_proxy",
                "httpMethod": "POST",
                "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:fan-out/invocations"
            }
        }}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_orchestrating_function_calls_its_two_links_and_is_refused_a_third_host() {
    let users_a = Instance::start("users-a").await;
    let users_b = Instance::start("users-b").await;
    let orders = Instance::start("orders").await;
    let other = Instance::start("other").await;
    let gw = Gw::new();
    gw.import_spec("orchestrated.json", &fan_out_spec());
    gw.ok(&[
        "vpc-link",
        "create",
        "users",
        "--target",
        &users_a.addr.to_string(),
        "--target",
        &users_b.addr.to_string(),
    ]);
    gw.ok(&[
        "vpc-link",
        "create",
        "orders",
        "--target",
        &orders.addr.to_string(),
    ]);
    let wasm = common::guest("fan_out");
    let wasm = wasm.to_str().unwrap();
    gw.ok(&[
        "function",
        "put",
        "fan-out",
        wasm,
        "--allow-http",
        "users",
        "--allow-http",
        "orders",
    ]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let client = client();

    // The example's two calls, each to a target of its link, merged into one answer.
    let mut users_seen = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let r = send(
            &client,
            "GET",
            &server.url("/prod/profile/7"),
            &[],
            Bytes::new(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["user"]["path"], "/users/7", "{v}");
        assert_eq!(v["user"]["host"], "users", "{v}");
        assert_eq!(v["orders"]["tag"], "orders", "{v}");
        assert_eq!(v["orders"]["path"], "/orders", "{v}");
        assert_eq!(v["orders"]["query"], "user=7", "{v}");
        users_seen.insert(v["user"]["tag"].as_str().unwrap().to_string());
    }
    // The users link balanced the function's calls over both of its targets.
    assert_eq!(
        users_seen.into_iter().collect::<Vec<_>>(),
        ["users-a", "users-b"]
    );
    assert_eq!(orders.hits.load(Ordering::SeqCst), 4);
    // And counted them as the link's requests.
    let links: Value = serde_json::from_str(&gw.ok(&["vpc-links", "--json"])).unwrap();
    let users_requests: u64 = links["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "users")
        .unwrap()["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(users_requests, 4, "{links}");

    // A third host, not allowed: refused inside the sandbox, before any connection; the two
    // allowed calls still answer.
    let audit = format!("http://{}/audit", other.addr);
    let calls = format!(
        "CALLS=user=http://users/users/{{id}};orders=http://orders/orders?user={{id}};audit={audit}"
    );
    gw.ok(&[
        "function",
        "put",
        "fan-out",
        wasm,
        "--allow-http",
        "users",
        "--allow-http",
        "orders",
        "--env",
        &calls,
    ]);
    let r = send(
        &client,
        "GET",
        &server.url("/prod/profile/8"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.text());
    let v = r.json();
    assert!(
        v["audit"]["error"]
            .as_str()
            .unwrap()
            .contains("HttpRequestDenied"),
        "{v}"
    );
    assert_eq!(v["user"]["path"], "/users/8", "{v}");
    assert_eq!(v["orders"]["query"], "user=8", "{v}");
    assert_eq!(other.hits.load(Ordering::SeqCst), 0);
    assert!(
        server.log().contains("--allow-http"),
        "the refusal is logged with its fix: {}",
        server.log()
    );
    // A link's own target addressed directly is another host: refused too.
    let direct = format!("CALLS=user=http://{}/users/{{id}}", users_a.addr);
    gw.ok(&[
        "function",
        "put",
        "fan-out",
        wasm,
        "--allow-http",
        "users",
        "--env",
        &direct,
    ]);
    let r = send(
        &client,
        "GET",
        &server.url("/prod/profile/9"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(r.json()["user"]["error"]
        .as_str()
        .unwrap()
        .contains("HttpRequestDenied"));

    // Allowed by HOST:PORT, the third host is reached.
    gw.ok(&[
        "function",
        "put",
        "fan-out",
        wasm,
        "--allow-http",
        "users",
        "--allow-http",
        "orders",
        "--allow-http",
        &other.addr.to_string(),
        "--env",
        &calls,
    ]);
    let r = send(
        &client,
        "GET",
        &server.url("/prod/profile/10"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["audit"]["path"], "/audit");
    assert_eq!(other.hits.load(Ordering::SeqCst), 1);

    // A bad entry is refused at put, naming the fix.
    let err = gw.fails(&[
        "function",
        "put",
        "fan-out",
        wasm,
        "--allow-http",
        "http://x/",
    ]);
    assert!(err.contains("HOST:PORT"), "{err}");
}
