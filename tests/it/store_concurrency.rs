//! The store under several processes at once and under `kill -9`: parallel imports and listings
//! lose nothing and print no error; an import killed at any moment leaves a store that opens,
//! passes `PRAGMA integrity_check`, and holds the API's old or new definition, never a mix.

use crate::common;

use common::Gw;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn spec(name: &str) -> String {
    common::root()
        .join("specs")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn spawn(mut cmd: Command) -> std::process::Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn check_clean(what: &str, out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed: {stderr}");
    assert!(stderr.is_empty(), "{what} wrote to stderr: {stderr}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn parallel_imports_and_listings_lose_nothing() {
    // A fresh state directory: the first round also races on creating the database.
    let gw = Gw::new();
    let rounds = 20;
    for round in 0..rounds {
        let a = format!("round{round:02}-petstore");
        let b = format!("round{round:02}-proxy");
        let mut cmd_a = gw.cmd();
        cmd_a.args(["import", &spec("petstore.yaml"), "--name", &a, "--json"]);
        let mut cmd_b = gw.cmd();
        cmd_b.args(["import", &spec("proxy.yaml"), "--name", &b, "--json"]);
        let mut cmd_list = gw.cmd();
        cmd_list.args(["apis", "--json"]);
        let children = [spawn(cmd_a), spawn(cmd_list), spawn(cmd_b)];
        let outs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();

        for (what, out, name) in [("import A", &outs[0], &a), ("import B", &outs[2], &b)] {
            let v: Value = serde_json::from_str(&check_clean(what, out)).unwrap();
            assert_eq!(v["name"], name.as_str());
            assert_eq!(v["warnings"], serde_json::json!([]));
        }
        // The listing saw a consistent snapshot: every API before this round, plus 0-2 new.
        let listed: Value = serde_json::from_str(&check_clean("apis --json", &outs[1])).unwrap();
        let n = listed.as_array().unwrap().len();
        assert!(
            (2 * round..=2 * round + 2).contains(&n),
            "round {round}: listed {n} APIs"
        );
        for api in listed.as_array().unwrap() {
            let expected = if api["name"].as_str().unwrap().ends_with("-petstore") {
                4
            } else {
                3
            };
            assert_eq!(
                api["routeCount"], expected,
                "a listed API is complete: {api}"
            );
        }
        // Nothing lost so far.
        let all = gw.store().read(|tx| tx.api_summaries()).unwrap();
        assert_eq!(all.len(), 2 * (round + 1), "round {round}");
    }
    let all = gw.store().read(|tx| tx.api_summaries()).unwrap();
    for round in 0..rounds {
        for (suffix, routes) in [("petstore", 4), ("proxy", 3)] {
            let name = format!("round{round:02}-{suffix}");
            let api = all
                .iter()
                .find(|a| a.name == name)
                .unwrap_or_else(|| panic!("lost {name}"));
            assert_eq!(api.route_count, routes, "{name}");
        }
    }
    assert_eq!(gw.store().integrity_check().unwrap(), "ok");
}

/// Two importable variants of the 4 MB Stripe spec with different route counts: all of it, and
/// all but every fourth path. Written under `dir`; returns (path, routes) for each.
fn stripe_variants(dir: &Path) -> [(PathBuf, usize); 2] {
    let bytes = std::fs::read(common::corpus_dir().join("stripe-spec3-2023-09.yaml")).unwrap();
    let mut root: Value = serde_yaml::from_slice(&bytes).unwrap();
    common::stripe::unify_sibling_path_variables(&mut root);
    let full = serde_yaml::to_string(&root).unwrap();
    let paths = root["paths"].as_object_mut().unwrap();
    let keep: serde_json::Map<String, Value> = std::mem::take(paths)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 4 != 0)
        .map(|(_, kv)| kv)
        .collect();
    *paths = keep;
    let fewer = serde_yaml::to_string(&root).unwrap();
    let mut out = Vec::new();
    for (name, text) in [("stripe-full.yaml", full), ("stripe-fewer.yaml", fewer)] {
        let path = dir.join(name);
        std::fs::write(&path, &text).unwrap();
        let routes = gw::control::import::import(name, text.as_bytes(), &Default::default())
            .unwrap()
            .api
            .method_count();
        out.push((path, routes));
    }
    assert_ne!(out[0].1, out[1].1);
    [out[0].clone(), out[1].clone()]
}

fn routes_of(gw: &Gw, api: &str) -> Option<usize> {
    gw.store()
        .read(|tx| tx.find_api(api))
        .unwrap()
        .map(|a| a.method_count())
}

/// Run `gw ARGS` to completion; how long it took.
fn timed(gw: &Gw, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = gw.run(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

/// Start `gw ARGS`, SIGKILL it after `delay` (unless it finished), and wait for it.
/// Returns whether it was still running when killed.
fn kill_after(gw: &Gw, args: &[&str], delay: Duration) -> bool {
    let mut child = gw
        .cmd()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap(); // SIGKILL on Unix; a no-op error-free call if it already exited
    child.wait().unwrap();
    running
}

/// After a kill the store opens, is intact, and the CLI lists cleanly.
fn assert_store_healthy(gw: &Gw) {
    let store = gw::store::Store::open(gw.state()).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let out = gw.run(&["apis", "--json"]);
    check_clean("apis --json after a kill", &out);
}

#[test]
fn killed_imports_leave_the_old_or_the_new_api() {
    if common::skip_without_corpus() {
        return;
    }
    let seed = 0x6777_u64;
    let mut rng = SmallRng::seed_from_u64(seed);
    let gw = Gw::new();
    let [(full, full_routes), (fewer, fewer_routes)] = stripe_variants(gw.state());
    let (full, fewer) = (
        full.to_str().unwrap().to_string(),
        fewer.to_str().unwrap().to_string(),
    );

    // Big: re-imports of 4 MB into one API, alternating between the two variants.
    let duration = timed(&gw, &["import", &full, "--name", "big"]);
    gw.ok(&["import", &spec("petstore.yaml"), "--name", "bystander"]);
    let mut current = full_routes;
    let (mut killed_running, mut outcomes) = (0, [0usize; 2]); // [old, new]
    for round in 0..12 {
        let (file, new_routes) = if current == full_routes {
            (&fewer, fewer_routes)
        } else {
            (&full, full_routes)
        };
        let delay = duration.mul_f64(rng.random_range(0.0..1.0));
        killed_running += usize::from(kill_after(
            &gw,
            &["import", file, "--api", "big", "--mode", "overwrite"],
            delay,
        ));
        assert_store_healthy(&gw);
        let now =
            routes_of(&gw, "big").unwrap_or_else(|| panic!("round {round}: API big vanished"));
        assert!(
            now == current || now == new_routes,
            "round {round} (seed {seed}, kill after {delay:?}): {now} routes, expected {current} (old) or {new_routes} (new)"
        );
        outcomes[usize::from(now == new_routes)] += 1;
        current = now;
        assert_eq!(routes_of(&gw, "bystander"), Some(4));
    }
    eprintln!(
        "big: import takes {duration:?}; 12 kills, {killed_running} while running; kept old {} times, new {} times",
        outcomes[0], outcomes[1]
    );

    // Small: a 3 KB spec, re-imported into one API (petstore 4 routes <-> mock 2 routes) or
    // imported as a new API, killed within its (much shorter) run.
    let duration = timed(&gw, &["import", &spec("petstore.yaml"), "--name", "small"]);
    let mut current = 4;
    let mut killed_running = 0;
    for round in 0..12 {
        let delay = duration.mul_f64(rng.random_range(0.0..1.0));
        if round % 2 == 0 {
            let (file, new_routes) = if current == 4 {
                ("mock.yaml", 2)
            } else {
                ("petstore.yaml", 4)
            };
            killed_running += usize::from(kill_after(
                &gw,
                &[
                    "import",
                    &spec(file),
                    "--api",
                    "small",
                    "--mode",
                    "overwrite",
                ],
                delay,
            ));
            assert_store_healthy(&gw);
            let now = routes_of(&gw, "small").unwrap();
            assert!(
                now == current || now == new_routes,
                "round {round} (seed {seed}): {now} routes"
            );
            current = now;
        } else {
            let name = format!("fresh{round}");
            killed_running += usize::from(kill_after(
                &gw,
                &["import", &spec("petstore.yaml"), "--name", &name],
                delay,
            ));
            assert_store_healthy(&gw);
            // Either not there at all, or there whole.
            let now = routes_of(&gw, &name);
            assert!(
                now.is_none() || now == Some(4),
                "round {round} (seed {seed}): {now:?}"
            );
        }
    }
    eprintln!("small: import takes {duration:?}; 12 kills, {killed_running} while running");
    assert_eq!(
        routes_of(&gw, "big").map(|n| n == full_routes || n == fewer_routes),
        Some(true)
    );
}
