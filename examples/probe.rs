//! Measurements that need whole processes: hot-reload latency and server footprint.
//!
//! ```sh
//! cargo build --release
//! cargo run --release --example probe -- reload target/release/gw      # promote → first request on the new deployment
//! cargo run --release --example probe -- footprint target/release/gw   # time to ready and idle RSS, 1 and 100 APIs
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SPEC: &str = r#"openapi: 3.0.1
info: {title: probe, version: "1"}
paths:
  /ping:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"ok": true}'}}}
"#;

fn gw(bin: &Path, state: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .env("GW_STATE", state)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gw {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Start `gw serve`; returns the child (the caller kills and waits for it), its address and the
/// time to the `listening on` line.
#[allow(clippy::zombie_processes)]
fn serve(bin: &Path, state: &Path) -> (Child, String, Duration) {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .env("GW_STATE", state)
        .env("GW_LOG", "warn")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "gw serve exited");
        if let Some(a) = line.trim().strip_prefix("listening on http://") {
            let ready = start.elapsed();
            let addr = a.to_string();
            std::thread::spawn(move || {
                let mut sink = String::new();
                while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                    sink.clear();
                }
            });
            return (child, addr, ready);
        }
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn deploy_json(bin: &Path, state: &Path, args: &[&str]) -> String {
    let out = gw(bin, state, args);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["deployment"]["id"].as_str().unwrap().to_string()
}

fn footprint(bin: &Path) {
    for apis in [1usize, 100] {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("probe.yaml");
        std::fs::write(&spec, SPEC).unwrap();
        let state = dir.path().join("state");
        for i in 0..apis {
            let name = format!("api{i}");
            gw(
                bin,
                &state,
                &["import", spec.to_str().unwrap(), "--name", &name],
            );
            gw(bin, &state, &["deploy", "--api", &name, "--stage", "prod"]);
        }
        let mut readies = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..5 {
            let (mut child, _addr, ready) = serve(bin, &state);
            std::thread::sleep(Duration::from_millis(1000));
            rss.push(rss_kib(child.id()));
            readies.push(ready);
            let _ = child.kill();
            let _ = child.wait();
        }
        readies.sort();
        rss.sort();
        println!(
            "footprint apis={apis}: time to ready median {:.1} ms (min {:.1}, max {:.1}); idle RSS median {:.1} MiB",
            readies[2].as_secs_f64() * 1e3,
            readies[0].as_secs_f64() * 1e3,
            readies[4].as_secs_f64() * 1e3,
            rss[2] as f64 / 1024.0
        );
    }
}

fn reload(bin: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("probe.yaml");
    std::fs::write(&spec, SPEC).unwrap();
    let state = dir.path().join("state");
    gw(bin, &state, &["import", spec.to_str().unwrap()]);
    gw(bin, &state, &["deploy", "--stage", "prod"]);
    let (mut child, addr, _) = serve(bin, &state);
    let url = format!("http://{addr}/prod/ping");

    // Continuous traffic from 4 clients: (receive time, deployment) per response, plus failures.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let total = Arc::new(AtomicU64::new(0));
    let seen: Arc<Mutex<Vec<(Instant, Instant, String)>>> = Arc::default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for _ in 0..4 {
        let (stop, failures, total, seen, url) = (
            stop.clone(),
            failures.clone(),
            total.clone(),
            seen.clone(),
            url.clone(),
        );
        rt.spawn(async move {
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<http_body_util::Empty<bytes::Bytes>>();
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let uri: http::Uri = url.parse().unwrap();
                match client.get(uri).await {
                    Ok(resp) if resp.status() == 200 => {
                        let d = resp
                            .headers()
                            .get("x-gw-deployment")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        let _ = http_body_util::BodyExt::collect(resp.into_body()).await;
                        seen.lock().unwrap().push((sent, Instant::now(), d));
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                total.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut lat = Vec::new();
    for _ in 0..20 {
        let canary = deploy_json(
            bin,
            &state,
            &["deploy", "--stage", "prod", "--canary", "0", "--json"],
        );
        std::thread::sleep(Duration::from_millis(150));
        gw(bin, &state, &["promote"]);
        let returned = Instant::now();
        // The first request sent after promote returned that the new deployment answered.
        let deadline = returned + Duration::from_secs(2);
        let visible = loop {
            let found = seen
                .lock()
                .unwrap()
                .iter()
                .filter(|(sent, _, d)| *sent >= returned && *d == canary)
                .map(|(_, got, _)| *got)
                .min();
            if let Some(t) = found {
                break t;
            }
            assert!(Instant::now() < deadline, "promote not visible within 2 s");
            std::thread::sleep(Duration::from_millis(1));
        };
        lat.push(visible.duration_since(returned));
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(200));
    lat.sort();
    println!(
        "reload: promote → first request on the new deployment over 20 promotions: median {:.1} ms, max {:.1} ms; requests {} failed {}",
        lat[lat.len() / 2].as_secs_f64() * 1e3,
        lat[lat.len() - 1].as_secs_f64() * 1e3,
        total.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed)
    );
    let _ = child.kill();
    let _ = child.wait();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(what), Some(bin)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: probe reload|footprint PATH_TO_GW");
        std::process::exit(2);
    };
    let bin = Path::new(bin);
    match what.as_str() {
        "reload" => reload(bin),
        "footprint" => footprint(bin),
        other => {
            eprintln!("unknown probe {other:?}: use reload or footprint");
            std::process::exit(2);
        }
    }
}
