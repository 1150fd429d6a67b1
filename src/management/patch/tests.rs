//! The patch engine's tests: each kind of path with AWS's exact error texts, the canary's
//! promotion and rollback as the CLI and SDKs send them, method settings as Terraform sends
//! them, and the all-or-nothing property over arbitrary operation lists. They drive `apply`
//! only, on one stage fixture, so they live beside the engine rather than in one of its parts.

use super::*;
use std::collections::BTreeMap;

fn stage() -> Stage {
    Stage {
        stage_name: "prod".into(),
        deployment_id: "d1".into(),
        description: None,
        variables: BTreeMap::from([
            ("backend".into(), "a.example".into()),
            ("keep".into(), "yes".into()),
        ]),
        canary_settings: None,
        tracing_enabled: false,
        method_settings: BTreeMap::new(),
        access_log_settings: None,
        documentation_version: None,
        tags: Default::default(),
        created_date: 1,
        last_updated_date: 1,
    }
}

fn with_canary() -> Stage {
    let mut s = stage();
    s.canary_settings = Some(CanarySettings {
        percent_traffic: 10.0,
        deployment_id: "d2".into(),
        stage_variable_overrides: BTreeMap::from([("backend".into(), "b.example".into())]),
        use_stage_cache: false,
        sticky: None,
    });
    s
}

fn exists(id: &str) -> bool {
    matches!(id, "d1" | "d2" | "d3")
}

fn run(s: &Stage, ops: &[PatchOp]) -> Result<Stage, String> {
    let mut s = s.clone();
    apply(&mut s, ops, exists).map(|()| s).map_err(|e| e.0)
}

fn err(s: &Stage, ops: &[PatchOp]) -> String {
    let before = s.clone();
    let mut after = s.clone();
    let e = apply(&mut after, ops, exists).expect_err("should fail");
    assert_eq!(
        after, before,
        "a failed patch must leave the stage untouched"
    );
    e.0
}

fn op(o: &str, p: &str, v: &str) -> PatchOp {
    PatchOp::new(o, p, Some(v))
}

fn promote_ops() -> Vec<PatchOp> {
    vec![
        op("replace", "/canarySettings/percentTraffic", "0.0"),
        PatchOp::copy("/canarySettings/stageVariableOverrides", "/variables"),
        PatchOp::copy("/canarySettings/deploymentId", "/deploymentId"),
    ]
}

#[test]
fn scalar_and_variable_paths() {
    let s = run(
        &stage(),
        &[
            op("replace", "/deploymentId", "d3"),
            op("replace", "/description", "the prod stage"),
            op("replace", "/variables/backend", "c.example"),
            op("add", "/variables/new_one", "1"),
            PatchOp::new("remove", "/variables/keep", None),
            op("replace", "/tracingEnabled", "TRUE"),
        ],
    )
    .unwrap();
    assert_eq!(s.deployment_id, "d3");
    assert_eq!(s.description.as_deref(), Some("the prod stage"));
    assert_eq!(
        s.variables,
        BTreeMap::from([
            ("backend".into(), "c.example".into()),
            ("new_one".into(), "1".into())
        ])
    );
    assert!(s.tracing_enabled);
}

#[test]
fn escaped_keys() {
    let s = run(&stage(), &[op("replace", "/variables/a~0b", "x")]);
    // `~` is not allowed in a variable name: AWS's rule, after unescaping.
    assert!(s.is_err());
    let s = run(
        &stage(),
        &[op(
            "replace",
            "/canarySettings/stageVariableOverrides/v_1",
            "x~1y",
        )],
    )
    .unwrap();
    assert_eq!(
        s.canary_settings.unwrap().stage_variable_overrides["v_1"],
        "x~1y",
        "values are not pointer-escaped"
    );
}

#[test]
fn replace_on_a_stage_without_canary_creates_one_with_defaults() {
    let s = run(
        &stage(),
        &[op("replace", "/canarySettings/percentTraffic", "25")],
    )
    .unwrap();
    assert_eq!(
        s.canary_settings,
        Some(CanarySettings {
            percent_traffic: 25.0,
            deployment_id: "d1".into(),
            stage_variable_overrides: BTreeMap::new(),
            use_stage_cache: false,
            sticky: None,
        })
    );
    let s = run(
        &stage(),
        &[op("replace", "/canarySettings/useStageCache", "true")],
    )
    .unwrap();
    assert!(s.canary_settings.unwrap().use_stage_cache);
    let s = run(
        &stage(),
        &[op("replace", "/canarySettings/deploymentId", "d2")],
    )
    .unwrap();
    assert_eq!(s.canary_settings.unwrap().deployment_id, "d2");
}

#[test]
fn promotion_merges_variables_and_keeps_the_canary() {
    let s = run(&with_canary(), &promote_ops()).unwrap();
    assert_eq!(s.deployment_id, "d2");
    assert_eq!(s.variables["backend"], "b.example");
    assert_eq!(
        s.variables["keep"], "yes",
        "variables not overridden survive"
    );
    let c = s
        .canary_settings
        .expect("promotion does not remove the canary");
    assert_eq!(c.percent_traffic, 0.0);
    // Then the finishing step.
    let s = run(&with_canary(), &{
        let mut ops = promote_ops();
        ops.push(PatchOp::new("remove", "/canarySettings", None));
        ops
    })
    .unwrap();
    assert_eq!(s.canary_settings, None);
    assert_eq!(s.deployment_id, "d2");
}

#[test]
fn full_promotion_on_a_canaryless_stage_is_a_no_op_because_ops_apply_in_order() {
    let s = run(&stage(), &promote_ops()).unwrap();
    assert_eq!(s.deployment_id, "d1");
    assert_eq!(s.variables, stage().variables);
    assert_eq!(s.canary_settings.unwrap().percent_traffic, 0.0);
}

#[test]
fn rollback_keeps_production() {
    let s = run(
        &with_canary(),
        &[PatchOp::new("remove", "/canarySettings", None)],
    )
    .unwrap();
    assert_eq!(s.canary_settings, None);
    assert_eq!(s.deployment_id, "d1");
    assert_eq!(s.variables, stage().variables);
}

#[test]
fn exact_errors() {
    let no_canary = stage();
    let canary = with_canary();
    let table: Vec<(&Stage, Vec<PatchOp>, String)> = vec![
        (
            &no_canary,
            vec![PatchOp::copy("/canarySettings/deploymentId", "/deploymentId")],
            "Promotion not available. Canary does not exist.".into(),
        ),
        (
            &canary,
            vec![PatchOp::copy("/variables", "/canarySettings/stageVariableOverrides")],
            "Invalid copy operation with path: /canarySettings/stageVariableOverrides and from /variables. Valid copy:path are [/deploymentId, /variables] and valid copy:from are [/canarySettings/deploymentId, /canarySettings/stageVariableOverrides]".into(),
        ),
        (
            &canary,
            vec![op("add", "/canarySettings/deploymentId", "d3")],
            "Invalid add operation with path: /canarySettings/deploymentId".into(),
        ),
        (
            &canary,
            vec![PatchOp::new("remove", "/canarySettings/stageVariableOverrides", None)],
            "Cannot remove method setting canarySettings/stageVariableOverrides because there is no method setting for this method ".into(),
        ),
        (
            &canary,
            vec![op("replace", "/deploymentId", "nope")],
            "Deployment id does not exist".into(),
        ),
        (
            &canary,
            vec![op("replace", "/canarySettings/deploymentId", "nope")],
            "Deployment id does not exist".into(),
        ),
        (
            &canary,
            vec![op("replace", "/nope", "x")],
            invalid_path_message("/nope"),
        ),
        (
            &canary,
            vec![op("replace", "/variables", "x")],
            invalid_path_message("/variables"),
        ),
    ];
    for (s, ops, want) in table {
        assert_eq!(err(s, &ops), want, "ops: {ops:?}");
    }
}

#[test]
fn throttling_method_settings_are_kept_with_awss_defaults() {
    let mut s = stage();
    apply(
        &mut s,
        &[
            op("replace", "/*/*/throttling/rateLimit", "10"),
            op("replace", "/~1pets~1{id}/GET/throttling/burstLimit", "3"),
        ],
        exists,
    )
    .expect("valid throttling paths");
    let all = &s.method_settings["*/*"];
    assert_eq!(
        (all.throttling_rate_limit, all.throttling_burst_limit),
        (10.0, -1)
    );
    let one = &s.method_settings["pets/{id}/GET"];
    assert_eq!(
        (one.throttling_rate_limit, one.throttling_burst_limit),
        (-1.0, 3)
    );
    apply(
        &mut s,
        &[PatchOp::new("remove", "/*/*/throttling/rateLimit", None)],
        exists,
    )
    .expect("remove");
    assert!(!s.method_settings.contains_key("*/*"));
    for bad in ["-2", "x", "NaN", "inf"] {
        let e = err(&stage(), &[op("replace", "/*/*/throttling/rateLimit", bad)]);
        assert!(e.starts_with("Invalid rate limit"), "{e}");
    }
    let e = err(
        &stage(),
        &[op("replace", "/*/*/throttling/burstLimit", "1.5")],
    );
    assert!(e.starts_with("Invalid burst limit"), "{e}");
}

/// What Terraform's `aws_api_gateway_method_settings` sends in one UpdateStage: every
/// setting, throttling -1 for "not set".
#[test]
fn terraform_method_settings_are_kept() {
    let mut s = stage();
    let ops: Vec<PatchOp> = [
        ("metrics/enabled", "true"),
        ("logging/loglevel", "info"),
        ("logging/dataTrace", "false"),
        ("throttling/burstLimit", "-1"),
        ("throttling/rateLimit", "-1"),
        ("caching/enabled", "false"),
        ("caching/ttlInSeconds", "300"),
        ("caching/dataEncrypted", "false"),
        ("caching/requireAuthorizationForCacheControl", "true"),
        (
            "caching/unauthorizedCacheControlHeaderStrategy",
            "SUCCEED_WITH_RESPONSE_HEADER",
        ),
    ]
    .iter()
    .map(|(p, v)| op("replace", &format!("/*/*/{p}"), v))
    .collect();
    apply(&mut s, &ops, exists).expect("Terraform's settings");
    let m = &s.method_settings["*/*"];
    assert!(m.metrics_enabled);
    assert_eq!(m.logging_level, "INFO");
    assert_eq!(
        (m.throttling_rate_limit, m.throttling_burst_limit),
        (-1.0, -1)
    );
    let e = err(&stage(), &[op("replace", "/*/*/logging/loglevel", "LOUD")]);
    assert_eq!(
        e,
        "Invalid value LOUD for /*/*/logging/loglevel: use one of OFF, ERROR, INFO"
    );
    let e = err(&stage(), &[op("replace", "/*/*/caching/enabled", "true")]);
    assert!(e.starts_with("gw does not emulate response caching"), "{e}");
}

#[test]
fn access_log_settings_need_a_request_id_and_an_arn() {
    let mut s = stage();
    let format = r#"{"requestId":"$context.requestId","status":"$context.status"}"#;
    apply(
        &mut s,
        &[
            op("replace", "/accessLogSettings/format", format),
            op(
                "replace",
                "/accessLogSettings/destinationArn",
                "arn:aws:logs:us-east-1:000000000000:log-group:gw",
            ),
        ],
        exists,
    )
    .expect("valid access log settings");
    let logs = s.access_log_settings.clone().expect("settings");
    assert_eq!(logs.format.as_deref(), Some(format));
    let e = err(
        &stage(),
        &[op(
            "replace",
            "/accessLogSettings/format",
            "$context.status",
        )],
    );
    assert_eq!(
        e,
        "Access Log format must contain at least one of $context.requestId or $context.extendedRequestId"
    );
    let e = err(
        &stage(),
        &[op("replace", "/accessLogSettings/destinationArn", "logs")],
    );
    assert_eq!(e, "Invalid ARN specified in the request");
    apply(
        &mut s,
        &[PatchOp::new("remove", "/accessLogSettings", None)],
        exists,
    )
    .expect("remove");
    assert_eq!(s.access_log_settings, None);
}

#[test]
fn not_emulated_paths_say_so() {
    let e = err(
        &stage(),
        &[op("replace", "/~1pets/GET/caching/enabled", "true")],
    );
    assert!(e.starts_with("gw does not emulate"), "{e}");
    let e = err(&stage(), &[op("replace", "/cacheClusterEnabled", "true")]);
    assert!(
        e.starts_with("gw does not emulate the stage cache cluster"),
        "{e}"
    );
}

#[test]
fn a_later_failure_undoes_earlier_operations() {
    let e = err(
        &with_canary(),
        &[
            op("replace", "/description", "changed"),
            op("replace", "/canarySettings/percentTraffic", "50"),
            op("replace", "/deploymentId", "missing"),
        ],
    );
    assert_eq!(e, "Deployment id does not exist");
}

#[test]
fn percent_must_be_a_number_in_range() {
    assert!(run(
        &stage(),
        &[op("replace", "/canarySettings/percentTraffic", "abc")]
    )
    .is_err());
    assert!(run(
        &stage(),
        &[op("replace", "/canarySettings/percentTraffic", "100.5")]
    )
    .is_err());
    assert!(run(
        &stage(),
        &[op("replace", "/canarySettings/percentTraffic", "100")]
    )
    .is_ok());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn any_op() -> impl Strategy<Value = PatchOp> {
        let ops = prop::sample::select(vec!["add", "remove", "replace", "copy", "move", "bogus"]);
        let paths = prop::sample::select(vec![
            "/deploymentId",
            "/description",
            "/variables/backend",
            "/variables/v",
            "/variables",
            "/canarySettings",
            "/canarySettings/percentTraffic",
            "/canarySettings/deploymentId",
            "/canarySettings/useStageCache",
            "/canarySettings/stageVariableOverrides",
            "/canarySettings/stageVariableOverrides/backend",
            "/tracingEnabled",
            "/nope",
        ]);
        let values = prop::sample::select(vec![
            "d1", "d2", "d3", "missing", "0", "42.5", "101", "true", "x", "",
        ]);
        let froms = prop::sample::select(vec![
            "/canarySettings/deploymentId",
            "/canarySettings/stageVariableOverrides",
            "/variables",
        ]);
        (
            ops,
            paths,
            prop::option::of(values),
            prop::option::of(froms),
        )
            .prop_map(|(o, p, v, f)| PatchOp {
                op: o.into(),
                path: p.into(),
                value: v.map(Into::into),
                from: f.map(Into::into),
            })
    }

    proptest! {
        #[test]
        fn all_or_nothing_and_never_dangling(
            start_with_canary in any::<bool>(),
            ops in prop::collection::vec(any_op(), 0..6),
        ) {
            let before = if start_with_canary { with_canary() } else { stage() };
            let mut after = before.clone();
            match apply(&mut after, &ops, exists) {
                Err(_) => prop_assert_eq!(&after, &before),
                Ok(()) => {
                    prop_assert!(exists(&after.deployment_id));
                    if let Some(c) = &after.canary_settings {
                        prop_assert!(exists(&c.deployment_id));
                        prop_assert!((0.0..=100.0).contains(&c.percent_traffic));
                    }
                    for (k, v) in &after.variables {
                        prop_assert!(model::valid_variable_name(k) && model::valid_variable_value(v));
                    }
                }
            }
        }
    }
}
