//! The store under SIGKILL and contention: `gw deploy`, `gw deploy --canary`, `gw canary` and
//! `gw promote` processes are killed at seeded random moments; afterwards the database passes
//! `PRAGMA integrity_check`, every deployment a command reported (exit 0 seen before the kill
//! landed) is still there, and every stage points at deployments that exist. Then 20 `gw deploy`
//! processes at once all succeed and all 20 deployments are recorded.
//!
//! Short (CI):  cargo test --test store_faults                       (30 kill cycles)
//! Long:        GW_LONG_TESTS=1 cargo test --test store_faults -- --nocapture   (100 cycles)
//! Seed:        GW_FAULT_SEED=N (default fixed; printed on failure)

use crate::common;

use common::Gw;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn long() -> bool {
    std::env::var("GW_LONG_TESTS").is_ok_and(|v| v == "1")
}

const SPEC: &str = r#"
openapi: 3.0.1
info: {title: faults, version: "1"}
paths:
  /pets:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200"}}
"#;

fn setup() -> (Gw, String) {
    let gw = Gw::new();
    let file = gw.state().join("faults.yaml");
    std::fs::write(&file, SPEC).unwrap();
    let out = gw.ok(&["import", file.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let api = v["id"].as_str().unwrap().to_string();
    gw.ok(&["deploy", "--stage", "prod"]);
    (gw, api)
}

fn deployment_id(stdout: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(stdout).ok()?;
    v["deployment"]["id"].as_str().map(str::to_string)
}

/// Everything the store says about the API: integrity, deployment ids, and every stage's
/// production and canary deployment exist.
fn check_store(gw: &Gw, api: &str) -> BTreeSet<String> {
    let store = gw.store();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let (deployments, stages) = store
        .read(|tx| Ok((tx.deployments(api)?, tx.stages(api)?)))
        .unwrap();
    let ids: BTreeSet<String> = deployments.into_iter().map(|d| d.id).collect();
    for s in &stages {
        assert!(
            ids.contains(&s.deployment_id),
            "stage {} points at a missing deployment {}",
            s.stage_name,
            s.deployment_id
        );
        if let Some(c) = &s.canary_settings {
            assert!(
                ids.contains(&c.deployment_id),
                "stage {}'s canary points at a missing deployment {}",
                s.stage_name,
                c.deployment_id
            );
        }
    }
    ids
}

#[test]
fn sigkill_at_random_moments_never_corrupts_the_store_or_loses_a_reported_deployment() {
    let (gw, api) = setup();
    let seed: u64 = std::env::var("GW_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6a77_5eed);
    let mut rng = SmallRng::seed_from_u64(seed);
    let cycles = if long() { 100 } else { 30 };

    // How long a deploy takes here: kill moments are drawn from 0..1.5x that.
    let started = Instant::now();
    for _ in 0..3 {
        gw.ok(&["deploy", "--stage", "prod", "--json"]);
    }
    let typical = started.elapsed() / 3;
    let window_ms = (typical.as_millis() as u64 * 3 / 2).max(5);

    let commands: [&[&str]; 5] = [
        &["deploy", "--stage", "prod", "--json"],
        &["deploy", "--stage", "prod", "--canary", "10", "--json"],
        &["deploy", "--stage", "beta", "--json"],
        &["canary", "--stage", "prod", "--percent", "25"],
        &["promote", "--stage", "prod"],
    ];
    let mut reported: Vec<String> = Vec::new();
    let (mut killed, mut succeeded, mut failed) = (0, 0, 0);
    for cycle in 0..cycles {
        let args = commands[rng.random_range(0..commands.len())];
        let delay = Duration::from_millis(rng.random_range(0..=window_ms));
        let mut child = gw
            .cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        // SIGKILL unless it already exited (then the kill is a harmless no-op on a zombie).
        if child.try_wait().unwrap().is_none() {
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        match out.status.code() {
            None => killed += 1,
            Some(0) => {
                succeeded += 1;
                if args[0] == "deploy" {
                    let id = deployment_id(&stdout).unwrap_or_else(|| {
                        panic!("cycle {cycle} (seed {seed}): exit 0 without a deployment: {stdout}")
                    });
                    reported.push(id);
                }
                if args[0] == "promote" {
                    let id = stdout
                        .split("now serves deployment ")
                        .nth(1)
                        .and_then(|s| s.split(';').next())
                        .unwrap_or("");
                    assert!(!id.is_empty(), "{stdout}");
                    reported.push(id.to_string());
                }
            }
            // E.g. promote or canary without a canary: a clean refusal.
            Some(_) => {
                failed += 1;
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    stderr.starts_with("error: "),
                    "cycle {cycle} (seed {seed}): {args:?} failed oddly: {stderr}"
                );
                assert!(!stderr.contains("panicked"), "{stderr}");
            }
        }
        // Every few cycles, the store must be sound right now (not just at the end).
        if cycle % 10 == 9 {
            let ids = check_store(&gw, &api);
            for id in &reported {
                assert!(
                    ids.contains(id),
                    "cycle {cycle} (seed {seed}): reported deployment {id} is gone"
                );
            }
        }
    }
    let ids = check_store(&gw, &api);
    for id in &reported {
        assert!(
            ids.contains(id),
            "seed {seed}: reported deployment {id} is gone"
        );
    }
    // The CLI still works on the store the kills left behind.
    gw.ok(&["deployments", "--json"]);
    gw.ok(&["deploy", "--stage", "prod"]);
    eprintln!(
        "{cycles} cycles (seed {seed:#x}, kill window 0..{window_ms} ms): {killed} killed, {succeeded} succeeded, {failed} refused; {} reported deployments all present; integrity ok",
        reported.len()
    );
    assert!(
        killed > 0,
        "no process was killed mid-run: the window ({window_ms} ms) is off"
    );
}

#[test]
fn twenty_concurrent_deploys_all_succeed_and_are_all_recorded() {
    let (gw, api) = setup();
    let before = check_store(&gw, &api).len();
    let children: Vec<_> = (0..20)
        .map(|i| {
            // Half share one stage (row contention), half get their own.
            let stage = if i % 2 == 0 {
                "shared".to_string()
            } else {
                format!("s{i}")
            };
            let mut c: Command = gw.cmd();
            c.args(["deploy", "--stage", &stage, "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let mut ids = BTreeSet::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "deploy {i} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = deployment_id(&String::from_utf8_lossy(&out.stdout)).unwrap();
        assert!(ids.insert(id.clone()), "deployment id {id} reported twice");
    }
    let after = check_store(&gw, &api);
    assert_eq!(after.len(), before + 20);
    assert!(ids.is_subset(&after));
}
