use super::setup;
use crate::common::{client, get, Reply, Server, TestClient};
use serde_json::Value;

/// GET /prod/f with `query`.
async fn call(c: &TestClient, server: &Server, query: &str) -> Reply {
    get(c, &server.url(&format!("/prod/f?{query}"))).await
}

fn body(r: &Reply) -> Value {
    serde_json::from_str(&r.text()).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

/// The function's log, as `gw logs` prints it.
fn logs(gw: &crate::common::Gw, function: &str) -> String {
    gw.ok(&["logs", function])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_environment_keeps_its_globals_and_runs_init_once() {
    let gw = setup("warm", "lambda_hostile", &["--concurrency", "1"], 5_000);
    let server = gw.serve(&[]);
    let c = client();
    for n in 1..=5u64 {
        let r = call(&c, &server, "").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let b = body(&r);
        assert_eq!(
            b["count"], n,
            "invocation {n} ran in the same environment: {b}"
        );
        assert_eq!(b["inits"], 1, "init ran once: {b}");
    }
    // Lambda's log: START, the guest's output, END, REPORT per invocation; Init Duration only on
    // the cold start, and the init's output before the first invocation's.
    let log = logs(&gw, "warm");
    let reports: Vec<&str> = log.lines().filter(|l| l.starts_with("REPORT ")).collect();
    assert_eq!(reports.len(), 5, "{log}");
    assert!(reports[0].contains("\tInit Duration: "), "{}", reports[0]);
    for r in &reports[1..] {
        assert!(!r.contains("Init Duration"), "warm invocation: {r}");
    }
    for r in &reports {
        for field in [
            "Duration: ",
            "Billed Duration: ",
            "Memory Size: 128 MB",
            "Max Memory Used: ",
        ] {
            assert!(r.contains(field), "{field} in {r}");
        }
    }
    assert_eq!(log.matches("START RequestId: ").count(), 5);
    assert_eq!(log.matches("END RequestId: ").count(), 5);
    assert_eq!(
        log.matches("init: environment starting").count(),
        1,
        "{log}"
    );
    let first = log.find("START RequestId").unwrap();
    assert!(
        log[first..].find("init: environment starting").unwrap()
            < log[first..].find("END").unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_guest_recycles_only_its_environment() {
    // A 300 ms integration timeout keeps the spinning guest short.
    let gw = setup("hostile", "lambda_hostile", &["--concurrency", "1"], 300);
    let server = gw.serve(&[]);
    let c = client();
    // Each failure ends its environment: the next good invocation is served by a fresh one
    // (count 1, init again); a function error (a handled exception) does not.
    for (mode, status, fresh) in [
        ("mode=trap", 502, true),
        ("mode=hog", 502, true),
        ("mode=spin", 504, true),
        ("mode=error", 502, false),
    ] {
        let warm = body(&call(&c, &server, "").await)["count"]
            .as_u64()
            .unwrap();
        let r = call(&c, &server, mode).await;
        assert_eq!(r.status, status, "{mode}: {}", r.text());
        let next = call(&c, &server, "").await;
        assert_eq!(next.status, 200, "after {mode}: {}", next.text());
        let count = body(&next)["count"].as_u64().unwrap();
        if fresh {
            assert_eq!(count, 1, "after {mode} a fresh environment serves");
        } else {
            assert_eq!(count, warm + 2, "after {mode} the same environment serves");
        }
    }
    let log = logs(&gw, "hostile");
    assert!(log.contains("Task failed: function trapped"), "{log}");
    assert!(
        log.contains("Task failed: function ran out of memory"),
        "{log}"
    );
    assert!(log.contains("Task failed: function timed out"), "{log}");
    assert!(log.contains(r#""errorType":"ValueError""#), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_mixed_hostile_and_good_invocations_leave_every_good_one_answered() {
    // A 2 s timeout: long enough for a hog to fill its 128 MB under load, short for a spinner.
    let gw = setup("mixed", "lambda_hostile", &["--concurrency", "4"], 2_000);
    let server = gw.serve(&[]);
    // 1,000 invocations from 8 clients: every 10th traps, every 10th (offset 5) hogs memory,
    // every 100th spins until the 2 s timeout, every 25th returns an error; the rest are good.
    let mode = |i: usize| match i {
        i if i % 100 == 50 => "mode=spin",
        i if i % 10 == 3 => "mode=trap",
        i if i % 10 == 5 => "mode=hog",
        i if i % 25 == 7 => "mode=error",
        _ => "",
    };
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let url = server.url("/prod/f");
        tasks.push(tokio::spawn(async move {
            let c = client();
            let mut out = Vec::new();
            let mut i = worker;
            while i < 1000 {
                let m = mode(i);
                let r = get(&c, &format!("{url}?{m}")).await;
                out.push((i, m, r.status, r.text()));
                i += 8;
            }
            out
        }));
    }
    let mut good = 0;
    let mut hostile = 0;
    for t in tasks {
        for (i, m, status, text) in t.await.unwrap() {
            if m.is_empty() {
                good += 1;
                assert_eq!(status, 200, "good invocation {i}: {text}");
            } else {
                hostile += 1;
                let want = if m == "mode=spin" { 504 } else { 502 };
                assert_eq!(status, want, "{m} invocation {i}: {text}");
            }
        }
    }
    assert_eq!(good + hostile, 1000);
    assert!(
        good > 600 && hostile > 200,
        "{good} good, {hostile} hostile"
    );
    // The server still serves.
    let c = client();
    assert_eq!(call(&c, &server, "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_concurrency_invocations_run_at_once_and_the_rest_wait_or_are_throttled() {
    let gw = setup("slow", "lambda_hostile", &["--concurrency", "2"], 10_000);
    let server = gw.serve(&[]);
    // 8 clients on a 400 ms handler with 2 environments: rounds start at 0, 0.4, 0.8 and 1.2 s;
    // a request waits at most 1 s for an environment, so the last round (1.2 s) is throttled.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = server.url("/prod/f?mode=sleep&ms=400");
        tasks.push(tokio::spawn(async move {
            let r = get(&client(), &url).await;
            (r.status, r.text())
        }));
    }
    let mut spans = Vec::new();
    let mut throttled = 0;
    for t in tasks {
        let (status, text) = t.await.unwrap();
        match status {
            200 => {
                let b: Value = serde_json::from_str(&text).unwrap();
                spans.push((b["start"].as_u64().unwrap(), b["end"].as_u64().unwrap()));
            }
            429 => {
                throttled += 1;
                assert_eq!(text, r#"{"message":"Too Many Requests"}"#);
            }
            other => panic!("status {other}: {text}"),
        }
    }
    // What the guests observed: at no instant did more than 2 run.
    let mut most = 0;
    for &(s, _) in &spans {
        let running = spans.iter().filter(|&&(a, b)| a <= s && s < b).count();
        most = most.max(running);
    }
    assert!(most <= 2, "{most} ran at once: {spans:?}");
    assert_eq!(most, 2, "two environments ran side by side: {spans:?}");
    // Timing tolerance: each round's start may drift by tens of ms, so between 4 and 6 of the 8
    // were served (rounds 1–3) and the rest throttled.
    assert!(
        (4..=6).contains(&spans.len()),
        "{} served, {throttled} throttled",
        spans.len()
    );
    assert_eq!(spans.len() + throttled, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasi_command_is_logged_as_lambda_logs_too() {
    // The stdin/stdout contract: a fresh instance per request, so every REPORT is a cold one
    // without an init phase; the guest's stderr is the output between START and END.
    let gw = setup("cmd", "hello", &["--env", "HELLO_LOG=1"], 5_000);
    let server = gw.serve(&[]);
    let c = client();
    for _ in 0..3 {
        assert_eq!(call(&c, &server, "name=log").await.status, 200);
    }
    let log = logs(&gw, "cmd");
    assert_eq!(log.matches("START RequestId: ").count(), 3, "{log}");
    assert_eq!(log.matches("END RequestId: ").count(), 3, "{log}");
    let reports: Vec<&str> = log.lines().filter(|l| l.starts_with("REPORT ")).collect();
    assert_eq!(reports.len(), 3, "{log}");
    for r in reports {
        assert!(
            r.contains("Max Memory Used: ") && !r.contains("Init Duration"),
            "{r}"
        );
    }
    let first_end = log.find("END RequestId").unwrap();
    assert!(
        log[..first_end].lines().count() >= 2,
        "the guest's line is in the block: {log}"
    );
}
