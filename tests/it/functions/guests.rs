//! Guest answers validated as AWS does, hostile guests, canaries on function versions, wasi:http, restarts.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_responses_are_validated_as_aws_does() {
    assert!(ANSWERS.len() >= 10);
    let gw = Gw::new();
    let spec = write_spec(
        &gw,
        "respond",
        &[
            Route {
                path: "/r",
                function: "respond:${stageVariables.rv}",
                payload_v2: false,
                timeout_ms: None,
            },
            Route {
                path: "/r2",
                function: "respond:${stageVariables.rv}",
                payload_v2: true,
                timeout_ms: None,
            },
        ],
    );
    import(&gw, &spec);
    // Case i runs on version i+1 of `respond`, served by stage s{i+1} (variable rv = i+1).
    let respond = guest("respond");
    for (i, a) in ANSWERS.iter().enumerate() {
        let response = format!("RESPONSE={}", a.stdout);
        let mut extra = vec!["--env", response.as_str()];
        let exit = a.exit_code.map(|c| format!("EXIT_CODE={c}"));
        if let Some(e) = &exit {
            extra.extend(["--env", e.as_str()]);
        }
        put(&gw, "respond", &respond, &extra);
        let n = i + 1;
        gw.ok(&[
            "deploy",
            "--stage",
            &format!("s{n}"),
            "--var",
            &format!("rv={n}"),
        ]);
    }
    let server = gw.serve(&[]);
    let c = client();
    let mut failures = Vec::new();
    for (i, a) in ANSWERS.iter().enumerate() {
        let url = server.url(&format!("/s{}/{}", i + 1, if a.v2 { "r2" } else { "r" }));
        let headers: Vec<(&str, &str)> = a.accept.iter().map(|v| ("accept", *v)).collect();
        let reply = send(&c, "GET", &url, &headers, Bytes::new()).await;
        let mut problems = Vec::new();
        if reply.status != a.status {
            problems.push(format!("status {} (want {})", reply.status, a.status));
        }
        if reply.body != a.body.as_bytes() {
            problems.push(format!("body {:?} (want {:?})", reply.text(), a.body));
        }
        for (name, want) in a.headers {
            let got = all_values(&reply, name);
            if got != *want {
                problems.push(format!("{name}: {got:?} (want {want:?})"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", a.name, problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A malformed answer is logged as AWS's execution log words it.
    wait_for_log(
        &server,
        "Execution failed due to configuration error: Malformed Lambda proxy response",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_guests_get_aws_errors_and_the_timeout_is_kept() {
    let gw = Gw::new();
    hostile_setup(&gw);
    let server = gw.serve(&[]);
    let c = client();

    // An endless loop is stopped at the integration's timeoutInMillis: 504, on time.
    for _ in 0..3 {
        let start = Instant::now();
        let r = get(&c, &server.url("/prod/spin")).await;
        let took = start.elapsed();
        eprintln!("spin: {} after {took:?}", r.status);
        assert_eq!((r.status, r.text().as_str()), (504, TIMED_OUT));
        assert!(
            took >= Duration::from_millis(SPIN_TIMEOUT_MS)
                && took <= Duration::from_millis(SPIN_TIMEOUT_MS + 100),
            "504 after {took:?}: want within {SPIN_TIMEOUT_MS} ms + 100 ms"
        );
    }
    // Out of memory (64 MiB limit) and a panic: 502 Internal server error.
    for path in ["/prod/hog", "/prod/trap"] {
        let r = get(&c, &server.url(path)).await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (502, INTERNAL_ERROR),
            "{path}"
        );
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("InternalServerErrorException")
        );
    }
    // And the good function still answers.
    let r = get(&c, &server.url("/prod/hello")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["stageVariable"], json!("hi"));
    for line in [
        "function spin:1: function timed out",
        "function hog:1: function ran out of memory",
        "function trap:1: function trapped",
    ] {
        wait_for_log(&server, line).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_mixed_invocations_leave_good_requests_answered_and_memory_reclaimed() {
    let gw = Gw::new();
    hostile_setup(&gw);
    let server = gw.serve(&[]);
    let pid = server.child.id();
    let c = client();
    // Per 10 requests: 5 good, 2 hogs, 2 traps, 1 spin.
    const PATTERN: [&str; 10] = [
        "/prod/hello",
        "/prod/hog",
        "/prod/hello",
        "/prod/trap",
        "/prod/hello",
        "/prod/spin",
        "/prod/hello",
        "/prod/hog",
        "/prod/hello",
        "/prod/trap",
    ];
    let expected = |path: &str| match path {
        "/prod/hello" => 200,
        "/prod/spin" => 504,
        _ => 502,
    };

    let run = |count: usize| {
        let c = c.clone();
        let base = server.url("");
        async move {
            let next = Arc::new(AtomicUsize::new(0));
            let wrong = Arc::new(Mutex::new(Vec::new()));
            let mut workers = Vec::new();
            for _ in 0..8 {
                let (c, base, next, wrong) = (c.clone(), base.clone(), next.clone(), wrong.clone());
                workers.push(tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        let path = PATTERN[i % PATTERN.len()];
                        let r = get(&c, &format!("{base}{path}")).await;
                        if r.status != expected(path) {
                            wrong.lock().unwrap().push(format!(
                                "#{i} {path}: {} {}",
                                r.status,
                                r.text()
                            ));
                        }
                    }
                }));
            }
            for w in workers {
                w.await.unwrap();
            }
            let wrong = wrong.lock().unwrap().clone();
            wrong
        }
    };

    // Warm-up: every guest has run, pool slots and allocator arenas are in use.
    let wrong = run(100).await;
    assert!(wrong.is_empty(), "warm-up: {wrong:#?}");
    let baseline = proc_kib(pid, "VmRSS:");
    let wrong = run(1000).await;
    assert!(
        wrong.is_empty(),
        "{} of 1000 answered wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let after = proc_kib(pid, "VmRSS:");
    let peak = proc_kib(pid, "VmHWM:");
    eprintln!(
        "gw serve VmRSS: {baseline} KiB after warm-up, {after} KiB after 1000 mixed invocations \
         (peak {peak} KiB)"
    );
    // The hogs really did make the server resident in their 64 MiB...
    assert!(
        peak >= baseline + (60 << 10),
        "peak {peak} KiB: the hog never used its memory?"
    );
    // ... and it was given back.
    assert!(
        after <= baseline + RSS_SLACK_KIB,
        "RSS grew from {baseline} KiB to {after} KiB (allowed: + {RSS_SLACK_KIB} KiB)"
    );
}

// ---- 4. canary between function versions ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_on_function_version_2_takes_its_share() {
    let gw = Gw::new();
    import(&gw, &functions_spec());
    put(
        &gw,
        "hello",
        &guest("hello"),
        &["--env", "GREETING=version one"],
    );
    put(
        &gw,
        "hello",
        &guest("hello"),
        &["--env", "GREETING=version two"],
    );
    gw.ok(&["deploy", "--stage", "prod", "--var", "helloVersion=1"]);
    gw.ok(&[
        "deploy",
        "--stage",
        "prod",
        "--canary",
        "30",
        "--canary-var",
        "helloVersion=2",
    ]);

    let config = gw::server::Config {
        canary_seed: Some(7),
        ..Default::default()
    };
    let (addr, stop, handle) = common::serve_in_process(gw.store(), config).await;
    let c = client();
    const N: usize = 2000;
    let (mut one, mut two) = (0usize, 0usize);
    for _ in 0..N {
        let r = get(&c, &format!("http://{addr}/prod/hello")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let greeting = r.json()["stageVariable"].as_str().unwrap().to_owned();
        let canary = r.header("x-gw-canary") == Some("true");
        match greeting.as_str() {
            "version one" => {
                assert!(!canary, "production answered by version 1");
                one += 1;
            }
            "version two" => {
                assert!(canary, "the canary answered by version 2");
                two += 1;
            }
            other => panic!("unexpected greeting {other:?}"),
        }
    }
    let _ = stop.send(());
    handle.await.unwrap();
    // Binomial(2000, 0.3): mean 600, sd = sqrt(2000 * 0.3 * 0.7) ≈ 20.5. Allow ±5 sd (±102):
    // a fair 30 % draw falls outside with probability < 1e-6 (and the seed makes it repeatable).
    eprintln!("canary: {two} of {N}, production: {one}");
    assert_eq!(one + two, N);
    assert!(two > 0 && one > 0, "both versions answer");
    assert!(
        (498..=702).contains(&two),
        "canary took {two} of {N}; want 600 ± 102"
    );
}

// ---- 5. a wasi:http component ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasi_http_component_is_served_at_a_stage_url() {
    let gw = Gw::new();
    import(&gw, &functions_spec());
    put(&gw, "http-hello", &guest("http_hello"), &[]);
    let listed = gw.ok(&["functions", "--json"]);
    assert!(listed.contains("http-proxy"), "{listed}");
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();

    let r = get(&c, &server.url("/prod/web")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "hello from wasi:http GET /web");
    assert_eq!(
        all_values(&r, "content-type"),
        ["text/plain; charset=utf-8"]
    );
    assert!(r.header("x-amzn-requestid").is_some());
    assert_eq!(r.header("x-gw-canary"), Some("false"));

    let r = get(&c, &server.url("/prod/web?x=1&y=two")).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "hello from wasi:http GET /web?x=1&y=two")
    );

    // Only GET is routed to it: other methods never reach the component.
    let r = send(&c, "POST", &server.url("/prod/web"), &[], "x").await;
    assert_eq!(r.status, 403, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loads_precompiled_functions_instead_of_compiling() {
    let gw = Gw::new();
    import(&gw, &functions_spec());
    put(&gw, "echo", &guest("echo"), &[]);
    put(&gw, "hello", &guest("hello"), &["--env", "GREETING=g"]);
    gw.ok(&["deploy", "--stage", "prod", "--var", "helloVersion=1"]);
    let cache = gw.state().join("cache/functions");
    let cached = || -> usize {
        std::fs::read_dir(&cache)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "cwasm")
                })
                .count()
            })
            .unwrap_or(0)
    };
    // `gw function put` already compiled both into the cache...
    assert_eq!(cached(), 2);
    let c = client();
    let check = |server: &Server| {
        let url = server.url("/prod/hello");
        let c = c.clone();
        async move {
            let r = get(&c, &url).await;
            assert_eq!(r.status, 200, "{}", r.text());
        }
    };

    // ... so even the first serve compiles nothing.
    let server = serve_keeping_startup_log(&gw);
    check(&server).await;
    let (precompiled, compiled) = loads(&server.log());
    assert_eq!(
        (precompiled, compiled),
        (vec!["echo:1".to_owned(), "hello:1".into()], vec![])
    );
    drop(server);

    // Without the cache, serve compiles and writes it back...
    std::fs::remove_dir_all(&cache).unwrap();
    let server = serve_keeping_startup_log(&gw);
    check(&server).await;
    let (precompiled, compiled) = loads(&server.log());
    assert_eq!(
        (precompiled, compiled),
        (vec![], vec!["echo:1".to_owned(), "hello:1".into()])
    );
    drop(server);
    assert_eq!(cached(), 2);

    // ... and the next start loads what the previous one compiled.
    let server = serve_keeping_startup_log(&gw);
    check(&server).await;
    let (precompiled, compiled) = loads(&server.log());
    assert_eq!(
        (precompiled, compiled),
        (vec!["echo:1".to_owned(), "hello:1".into()], vec![])
    );
}
