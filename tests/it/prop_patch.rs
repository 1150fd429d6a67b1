//! Property tests for UpdateStage's patch engine (`gw::management::patch::apply`, pure): arbitrary
//! operation lists (valid and invalid ops, paths, values, `from`s) against arbitrary valid stages.
//!
//! - never panics;
//! - all or nothing: an `Err` leaves the stage exactly as it was;
//! - in order: applying the list at once equals applying its operations one by one, stopping at
//!   the first failure;
//! - an `Ok` stage is valid: its deployment and canary deployment exist, variables and canary
//!   overrides satisfy AWS's rules, the canary percentage is a finite number in 0..=100.
//!
//! Short (CI):  cargo test --test prop_patch
//! Long:        GW_LONG_TESTS=1 cargo test --test prop_patch -- --nocapture

use gw::management::patch::{apply, PatchOp};
use gw::model::{valid_variable_name, valid_variable_value, CanarySettings, Stage};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

fn long() -> bool {
    std::env::var("GW_LONG_TESTS").is_ok_and(|v| v == "1")
}

const DEPLOYMENTS: [&str; 3] = ["dep1", "dep2", "dep3"];

fn exists(id: &str) -> bool {
    DEPLOYMENTS.contains(&id)
}

fn var_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9_]{1,8}",
        1 => "[A-Za-z0-9_]{65}",
        1 => Just(String::new()),
        1 => prop::sample::select(vec!["a~1b", "a~0b", "a/b", "é", "a-b", "a b", "~", "~2", "%41"])
            .prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn var_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._~:/?#&=,-]{1,16}",
        1 => "[A-Za-z]{513}",
        1 => Just(String::new()),
        1 => any::<String>(),
    ]
}

fn valid_vars() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("[A-Za-z0-9_]{1,6}", "[A-Za-z0-9._~:/?#&=,-]{1,10}", 0..4)
}

fn stage() -> impl Strategy<Value = Stage> {
    (
        prop::sample::select(DEPLOYMENTS.to_vec()),
        prop::option::of(".{0,10}"),
        valid_vars(),
        prop::option::of((
            0.0f64..=100.0,
            prop::sample::select(DEPLOYMENTS.to_vec()),
            valid_vars(),
            any::<bool>(),
        )),
        any::<bool>(),
    )
        .prop_map(
            |(dep, description, variables, canary, tracing_enabled)| Stage {
                stage_name: "prod".into(),
                deployment_id: dep.into(),
                description,
                variables,
                canary_settings: canary.map(|(pct, d, o, cache)| CanarySettings {
                    percent_traffic: pct,
                    deployment_id: d.into(),
                    stage_variable_overrides: o,
                    use_stage_cache: cache,
                    sticky: None,
                }),
                tracing_enabled,
                method_settings: Default::default(),
                access_log_settings: None,
                documentation_version: None,
                tags: Default::default(),
                created_date: 1,
                last_updated_date: 1,
            },
        )
}

fn op_kind() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec!["add", "remove", "replace", "move", "copy", "test"]).prop_map(str::to_string),
        1 => prop::sample::select(vec!["REPLACE", "", "delete", "replace "]).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "/deploymentId", "/description", "/tracingEnabled", "/canarySettings",
            "/canarySettings/percentTraffic", "/canarySettings/deploymentId",
            "/canarySettings/useStageCache", "/canarySettings/stageVariableOverrides",
            "/variables", "/variables/", "/cacheClusterEnabled", "/cacheClusterSize",
            "/clientCertificateId", "/accessLogSettings", "/accessLogSettings/format",
            "/*/*/metrics/enabled", "/~1pets/GET/logging/loglevel", "/~1pets/GET/nope/nope",
            "//GET/metrics/enabled", "/a/b/c/d/e", "", "/", "deploymentId", "/deploymentId/",
        ])
        .prop_map(str::to_string),
        4 => var_name().prop_map(|n| format!("/variables/{n}")),
        3 => var_name().prop_map(|n| format!("/canarySettings/stageVariableOverrides/{n}")),
        1 => any::<String>(),
    ]
}

fn value() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(
        0.9,
        prop_oneof![
            3 => prop::sample::select(vec![
                "dep1", "dep2", "dep3", "missing", "", "true", "false", "TRUE", "yes", "0", "25",
                "25.5", " 50 ", "100", "100.0000001", "-0", "-1", "101", "NaN", "inf", "-inf",
                "1e2", "1e400", "0x10",
            ])
            .prop_map(str::to_string),
            3 => var_value(),
            1 => any::<String>(),
        ],
    )
}

fn from() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(
        0.5,
        prop_oneof![
            prop::sample::select(vec![
                "/canarySettings/deploymentId",
                "/canarySettings/stageVariableOverrides",
                "/deploymentId",
                "/variables",
                "",
            ])
            .prop_map(str::to_string),
            any::<String>(),
        ],
    )
}

fn ops() -> impl Strategy<Value = Vec<PatchOp>> {
    prop::collection::vec(
        (op_kind(), path(), value(), from()).prop_map(|(op, path, value, from)| PatchOp {
            op,
            path,
            value,
            from,
        }),
        0..8,
    )
}

fn run(stage: &Stage, ops: &[PatchOp]) -> Result<(Stage, Result<(), String>), TestCaseError> {
    let mut s = stage.clone();
    let r = catch_unwind(AssertUnwindSafe(|| apply(&mut s, ops, exists)))
        .map_err(|_| TestCaseError::fail(format!("apply panicked on {ops:?}")))?;
    Ok((s, r.map_err(|e| e.0)))
}

fn check_valid(s: &Stage) -> Result<(), TestCaseError> {
    prop_assert!(exists(&s.deployment_id), "deployment {:?}", s.deployment_id);
    for (k, v) in &s.variables {
        prop_assert!(
            valid_variable_name(k) && valid_variable_value(v),
            "variable {k:?}={v:?}"
        );
    }
    if let Some(c) = &s.canary_settings {
        prop_assert!(
            exists(&c.deployment_id),
            "canary deployment {:?}",
            c.deployment_id
        );
        prop_assert!(
            c.percent_traffic.is_finite() && (0.0..=100.0).contains(&c.percent_traffic),
            "{c:?}"
        );
        for (k, v) in &c.stage_variable_overrides {
            prop_assert!(
                valid_variable_name(k) && valid_variable_value(v),
                "override {k:?}={v:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn patches_are_all_or_nothing_in_order_and_leave_valid_stages() {
    let cases = if long() { 20_000 } else { 500 };
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let tried = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    let result = runner.run(&(stage(), ops()), |(stage, ops)| {
        tried.fetch_add(1, Ordering::Relaxed);
        let (after, result) = run(&stage, &ops)?;
        match &result {
            Err(msg) => {
                prop_assert!(!msg.trim().is_empty());
                prop_assert_eq!(&after, &stage, "a failed patch changed the stage");
            }
            Ok(()) => {
                ok.fetch_add(1, Ordering::Relaxed);
                check_valid(&after)?;
            }
        }
        // One at a time, stopping at the first failure, gives the same answer.
        let mut step = stage.clone();
        let mut step_result = Ok(());
        for op in &ops {
            let (next, r) = run(&step, std::slice::from_ref(op))?;
            if let Err(e) = r {
                prop_assert_eq!(&next, &step);
                step_result = Err(e);
                break;
            }
            step = next;
        }
        match (&result, &step_result) {
            (Ok(()), Ok(())) => prop_assert_eq!(&after, &step),
            (Err(a), Err(b)) => prop_assert_eq!(a, b, "the first failure differs"),
            _ => prop_assert!(false, "batch {:?} vs one by one {:?}", result, step_result),
        }
        // Deterministic.
        let (again, r2) = run(&stage, &ops)?;
        prop_assert_eq!(&again, &after);
        prop_assert_eq!(&r2, &result);
        Ok(())
    });
    eprintln!(
        "patch engine: {} cases tried, {} patches applied, the rest refused atomically, 0 panics",
        tried.load(Ordering::Relaxed),
        ok.load(Ordering::Relaxed)
    );
    result.unwrap();
}
