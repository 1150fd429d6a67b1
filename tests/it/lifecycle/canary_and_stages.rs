//! Canaries, promotion, rollback and stage variables through the CLI, and their errors.

use super::*;

// ---- errors ----

#[test]
fn promote_rollback_and_percent_need_a_canary() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod", "--var", "version=v1"]);
    // Named stage without a canary: AWS's promotion error.
    fails_with(
        &gw,
        &["promote", "--stage", "prod"],
        "Promotion not available. Canary does not exist.",
    );
    fails_with(
        &gw,
        &["rollback", "--stage", "prod"],
        "stage prod has no canary to roll back",
    );
    fails_with(
        &gw,
        &["canary", "--stage", "prod", "--percent", "5"],
        "stage prod has no canary; create one with `gw deploy --stage prod --canary PCT`",
    );
    // No stage named and none has a canary.
    for args in [
        &["promote"][..],
        &["rollback"],
        &["canary", "--percent", "5"],
    ] {
        fails_with(
            &gw,
            args,
            "no stage of API life has a canary; start one with `gw deploy --stage STAGE --canary PERCENT`",
        );
    }
    // Nothing changed.
    let s = stage(&gw, "prod");
    assert!(s.get("canarySettings").is_none(), "{s}");
    assert_eq!(s["variables"], serde_json::json!({"version": "v1"}));
}

#[test]
fn a_canary_needs_an_existing_stage() {
    let gw = Gw::new();
    import(&gw, "life");
    fails_with(
        &gw,
        &["deploy", "--stage", "beta", "--canary", "10"],
        "Invalid deployment content specified. Stage beta must already be created before making a canary release deployment; deploy it first with `gw deploy --stage beta`",
    );
    // Naming the API, the way out names it too.
    fails_with(
        &gw,
        &["deploy", "--api", "life", "--stage", "beta", "--canary", "10"],
        "Invalid deployment content specified. Stage beta must already be created before making a canary release deployment; deploy it first with `gw deploy --api life --stage beta`",
    );
    // No deployment was made and no stage created.
    assert_eq!(
        json(&gw, &["deployments", "--json"])["item"],
        serde_json::json!([])
    );
    assert_eq!(
        json(&gw, &["stages", "--json"])["item"],
        serde_json::json!([])
    );
}

#[test]
fn several_stages_with_a_canary_must_be_told_apart() {
    let gw = Gw::new();
    import(&gw, "life");
    for s in ["alpha", "beta"] {
        deploy(&gw, &["--stage", s]);
        deploy(&gw, &["--stage", s, "--canary", "10"]);
    }
    let msg = "several stages have a canary (alpha, beta); choose one with --stage";
    fails_with(&gw, &["promote"], msg);
    fails_with(&gw, &["rollback"], msg);
    fails_with(&gw, &["canary", "--percent", "20"], msg);
    // Naming one works, and then the other is the only one left.
    gw.ok(&["rollback", "--stage", "alpha"]);
    gw.ok(&["canary", "--percent", "20"]);
    assert_eq!(stage(&gw, "beta")["canarySettings"]["percentTraffic"], 20.0);
    assert!(stage(&gw, "alpha").get("canarySettings").is_none());
}

#[test]
fn the_canary_percentage_must_be_between_0_and_100() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod"]);
    let message = |flag: &str, input: &str| {
        format!(
            "{flag} {input}: the canary percentage must be a number from 0 to 100, like 10 or 12.5"
        )
    };
    // Negative, too large and malformed percentages get one message naming the input and the
    // range, and one exit code, whichever command takes them; `-5` is not taken for a flag.
    for bad in [
        "-5", "-0.5", "100.5", "150", "250", "abc", "ten", "1e3", "-1e3", "1.2.3", "%",
    ] {
        let out = gw.run(&["deploy", "--stage", "prod", "--canary", bad]);
        assert_eq!(out.status.code(), Some(1), "deploy --canary {bad}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            format!("error: {}", message("--canary", bad)),
        );
    }
    let canary = deploy(&gw, &["--stage", "prod", "--canary", "12.5"]);
    for bad in ["-5", "-1", "250", "abc", "1e3"] {
        let out = gw.run(&["canary", "--percent", bad]);
        assert_eq!(out.status.code(), Some(1), "canary --percent {bad}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            format!("error: {}", message("--percent", bad)),
        );
    }
    fails_with(
        &gw,
        &["canary", "--percent=-1"],
        &message("--percent", "-1"),
    );
    fails_with(
        &gw,
        &["canary", "--percent", ""],
        &message("--percent", "\"\""),
    );
    // Nothing changed.
    assert_eq!(stage(&gw, "prod")["canarySettings"]["percentTraffic"], 12.5);
    // A trailing % is accepted, and -0 is 0.
    gw.ok(&["canary", "--percent", "7.5%"]);
    assert_eq!(stage(&gw, "prod")["canarySettings"]["percentTraffic"], 7.5);
    let out = gw.ok(&["canary", "--percent=-0"]);
    assert!(out.contains("takes 0 %"), "{out}");
    // The bounds themselves are valid.
    gw.ok(&["canary", "--percent", "0"]);
    gw.ok(&["canary", "--percent", "100"]);
    let c = &stage(&gw, "prod")["canarySettings"];
    assert_eq!(c["percentTraffic"], 100.0);
    assert_eq!(c["deploymentId"], canary.as_str());
}

#[test]
fn stage_variable_errors_name_the_problem() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod", "--var", "version=v1"]);
    fails_with(
        &gw,
        &["stage", "unset-var", "prod", "nope"],
        "stage prod has no variable \"nope\"",
    );
    let err = gw.fails(&["stage", "set-var", "prod", "bad-name=x"]);
    assert!(
        err.contains("\"bad-name\"") && err.contains("invalid"),
        "{err}"
    );
    let err = gw.fails(&["stage", "set-var", "prod", "novalue"]);
    assert!(err.contains("\"novalue\" is not K=V"), "{err}");
    let err = gw.fails(&["stage", "set-var", "staging", "a=b"]);
    assert!(
        err.contains("Invalid Stage identifier specified") && err.contains("staging"),
        "{err}"
    );
    let err = gw.fails(&["stage", "delete", "staging"]);
    assert!(
        err.contains("Invalid Stage identifier specified") && err.contains("staging"),
        "{err}"
    );
    assert_eq!(
        stage(&gw, "prod")["variables"],
        serde_json::json!({"version": "v1"})
    );
}

// ---- effects, as the JSON listings show them ----

#[test]
fn canary_promote_and_rollback_as_the_stage_json_shows_them() {
    let gw = Gw::new();
    let api = import(&gw, "life");
    let d1 = deploy(
        &gw,
        &[
            "--stage",
            "prod",
            "--var",
            "version=v1",
            "--var",
            "color=blue",
            "--description",
            "first",
        ],
    );
    let s = stage(&gw, "prod");
    assert_eq!(s["stageName"], "prod");
    assert_eq!(s["deploymentId"], d1.as_str());
    assert_eq!(
        s["variables"],
        serde_json::json!({"color": "blue", "version": "v1"})
    );
    assert!(s.get("canarySettings").is_none());
    let urls: Vec<&str> = s["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), 3);
    assert!(urls[1].contains(&format!("{api}.execute-api.")), "{urls:?}");
    assert!(
        urls[2].contains(&format!("/_aws/execute-api/{api}/prod/")),
        "{urls:?}"
    );

    // A canary: production stays, the new deployment is the canary with its overrides.
    let c2 = deploy(
        &gw,
        &[
            "--stage",
            "prod",
            "--canary",
            "10",
            "--canary-var",
            "version=v2",
        ],
    );
    let s = stage(&gw, "prod");
    assert_eq!(s["deploymentId"], d1.as_str());
    assert_eq!(
        s["canarySettings"],
        serde_json::json!({"percentTraffic": 10.0, "deploymentId": c2, "stageVariableOverrides": {"version": "v2"}, "useStageCache": false})
    );
    gw.ok(&["canary", "--percent", "35.5"]);
    assert_eq!(stage(&gw, "prod")["canarySettings"]["percentTraffic"], 35.5);

    // Rollback: the canary goes, production and its variables are untouched.
    let out = gw.ok(&["rollback"]);
    assert!(out.contains(&c2) && out.contains(&d1), "{out}");
    let s = stage(&gw, "prod");
    assert_eq!(s["deploymentId"], d1.as_str());
    assert_eq!(
        s["variables"],
        serde_json::json!({"color": "blue", "version": "v1"})
    );
    assert!(s.get("canarySettings").is_none(), "{s}");

    // Promote: production takes the canary's deployment, overrides merge into the variables
    // (the non-overridden `color` survives) and the canary ends.
    let c3 = deploy(
        &gw,
        &[
            "--stage",
            "prod",
            "--canary",
            "50",
            "--canary-var",
            "version=v3",
            "--canary-var",
            "extra=1",
        ],
    );
    gw.ok(&["promote"]);
    let s = stage(&gw, "prod");
    assert_eq!(s["deploymentId"], c3.as_str());
    assert_eq!(
        s["variables"],
        serde_json::json!({"color": "blue", "extra": "1", "version": "v3"})
    );
    assert!(s.get("canarySettings").is_none(), "{s}");

    // Every deployment is listed; `stages` shows the one stage.
    let ds = json(&gw, &["deployments", "--json"]);
    let mut ids: Vec<&str> = ds["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = vec![d1.as_str(), c2.as_str(), c3.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let first = ds["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == d1.as_str())
        .unwrap();
    assert_eq!(first["description"], "first");
    assert!(first["createdDate"].as_i64().unwrap() > 1_600_000_000);
    let stages = json(&gw, &["stages", "--json"]);
    let list = stages["item"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["stageName"], "prod");
    assert_eq!(list[0]["deploymentId"], c3.as_str());
}

#[test]
fn a_plain_deploy_replaces_the_stage_canary() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod"]);
    let c = deploy(&gw, &["--stage", "prod", "--canary", "10"]);
    let out = gw.ok(&["deploy", "--stage", "prod"]);
    assert!(
        out.contains(&format!("the stage's canary ({c}) was removed")),
        "{out}"
    );
    assert!(stage(&gw, "prod").get("canarySettings").is_none());
}

#[test]
fn set_var_unset_var_and_delete() {
    let gw = Gw::new();
    import(&gw, "life");
    deploy(&gw, &["--stage", "prod", "--var", "version=v1"]);
    deploy(&gw, &["--stage", "dev"]);
    gw.ok(&[
        "stage",
        "set-var",
        "prod",
        "version=v2",
        "host=localhost:9000/x?y=1",
    ]);
    assert_eq!(
        stage(&gw, "prod")["variables"],
        serde_json::json!({"host": "localhost:9000/x?y=1", "version": "v2"})
    );
    gw.ok(&["stage", "unset-var", "prod", "host"]);
    assert_eq!(
        stage(&gw, "prod")["variables"],
        serde_json::json!({"version": "v2"})
    );
    // Other stages are untouched.
    assert_eq!(stage(&gw, "dev")["variables"], serde_json::json!({}));
    gw.ok(&["stage", "delete", "dev"]);
    let err = gw.fails(&["stage", "show", "dev"]);
    assert!(
        err.contains("Invalid Stage identifier specified") && err.contains("dev"),
        "{err}"
    );
    let names: Vec<String> = json(&gw, &["stages", "--json"])["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stageName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["prod"]);
}

#[tokio::test]
async fn a_running_server_follows_each_change_within_100ms() {
    let gw = Gw::new();
    import(&gw, "life");
    let d1 = deploy(&gw, &["--stage", "prod", "--var", "version=v1"]);
    let server = gw.serve(&[]);
    let c = client();
    assert_eq!(
        probe(&c, &server, None).await,
        Ok((d1.clone(), false, "v1".into()))
    );
    let mut took = Vec::new();

    let d2 = deploy(&gw, &["--stage", "prod"]);
    took.push((
        "deploy",
        follow(
            "deploy",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((d, false, v)) if *d == d2 && v == "v1"),
        )
        .await,
    ));

    let c3 = deploy(
        &gw,
        &[
            "--stage",
            "prod",
            "--canary",
            "0",
            "--canary-var",
            "version=v2",
        ],
    );
    took.push((
        "canary deploy",
        follow(
            "canary deploy",
            &c,
            &server,
            Some("canary"),
            |s| matches!(s, Ok((d, true, v)) if *d == c3 && v == "v2"),
        )
        .await,
    ));
    // At 0 % an undirected request still goes to production.
    assert_eq!(
        probe(&c, &server, None).await,
        Ok((d2.clone(), false, "v1".into()))
    );

    gw.ok(&["canary", "--percent", "100"]);
    took.push((
        "percent",
        follow(
            "percent change",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((d, true, _)) if *d == c3),
        )
        .await,
    ));

    gw.ok(&["promote"]);
    // After promotion there is no canary: even a request asking for it gets production = c3.
    took.push((
        "promote",
        follow(
            "promote",
            &c,
            &server,
            Some("canary"),
            |s| matches!(s, Ok((d, false, v)) if *d == c3 && v == "v2"),
        )
        .await,
    ));

    let c4 = deploy(
        &gw,
        &[
            "--stage",
            "prod",
            "--canary",
            "100",
            "--canary-var",
            "version=v3",
        ],
    );
    took.push((
        "canary deploy 2",
        follow(
            "second canary",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((d, true, v)) if *d == c4 && v == "v3"),
        )
        .await,
    ));

    gw.ok(&["rollback"]);
    took.push((
        "rollback",
        follow(
            "rollback",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((d, false, v)) if *d == c3 && v == "v2"),
        )
        .await,
    ));

    gw.ok(&["stage", "set-var", "prod", "version=v9"]);
    took.push((
        "set-var",
        follow(
            "set-var",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((_, false, v)) if v == "v9"),
        )
        .await,
    ));

    gw.ok(&["stage", "unset-var", "prod", "version"]);
    took.push((
        "unset-var",
        follow(
            "unset-var",
            &c,
            &server,
            None,
            |s| matches!(s, Ok((_, false, v)) if v.is_empty()),
        )
        .await,
    ));

    gw.ok(&["stage", "delete", "prod"]);
    took.push((
        "stage delete",
        follow("stage delete", &c, &server, None, |s| *s == Err(404)).await,
    ));

    eprintln!("time to follow each change: {took:?}");
}
