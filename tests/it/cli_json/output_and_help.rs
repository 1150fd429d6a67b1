//! Closed pipes, import warnings and help texts.

use super::*;

#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    let gw = Gw::new();
    gw.ok(&["import", &spec("petstore.yaml"), "--name", "pets"]);
    for args in [
        &["routes", "--api", "pets"][..],
        &["routes", "--api", "pets", "--json"][..],
        &["deploy", "--api", "pets", "--stage", "prod"][..],
    ] {
        let mut child = gw
            .cmd()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before gw writes (as `gw routes | head -0` would).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "gw {args:?}: {stderr}"
        );
        assert!(
            out.status.success(),
            "gw {args:?}: {:?} {stderr}",
            out.status
        );
    }
    // The deployment was made although its report could not be printed.
    let stages = json(&gw.ok(&["stages", "--api", "pets", "--json"]));
    assert_eq!(stages["item"].as_array().unwrap().len(), 1, "{stages}");
}

#[test]
fn what_import_leaves_out_is_named_in_warnings() {
    let gw = Gw::new();
    let file = write(
        &gw,
        "skipped.yaml",
        r##"
openapi: 3.0.1
info: {title: skipped, version: "1"}
paths:
  /kept:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 200}'}}
    trace:
      responses: {"200": {description: ok}}
    propfind:
      responses: {"200": {description: ok}}
  /shared:
    $ref: "#/components/pathItems/shared"
  no-slash:
    get:
      responses: {"200": {description: ok}}
  /fn:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: GET
        uri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello/invocations"
"##,
    );
    let out = gw.run(&["import", &file]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "/paths/~1kept/trace: API Gateway has no TRACE method",
        "/paths/~1kept/propfind: \"propfind\" is not an HTTP method API Gateway supports",
        "/paths/~1shared/$ref: a path item given by $ref is not followed",
        "/paths/no-slash: \"no-slash\" is not a path (paths start with /)",
        "/paths/~1fn/get/x-amazon-apigateway-integration/httpMethod: Lambda is invoked with POST; with httpMethod GET AWS fails every call",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert_eq!(
        route_pairs(&gw, "skipped"),
        pairs(&[("GET", "/fn"), ("GET", "/kept")]),
        "only the GETs are imported"
    );
}

/// Every command's help says something on every line: a summary for each command, a description
/// for each argument and option; and a group's summary in its parent's list names every
/// subcommand of the group (`gw --help` shows `stage`'s `throttle` and `access-log`).
#[test]
fn every_help_line_says_something() {
    let gw = Gw::new();
    let mut todo: Vec<(Vec<String>, String)> = vec![(vec![], String::new())];
    let mut pages = 0;
    while let Some((path, summary)) = todo.pop() {
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let page = help(&gw, &refs);
        pages += 1;
        let name = format!("gw {}", path.join(" "));
        assert!(
            !page.about.is_empty() && !page.about.starts_with("Usage:"),
            "{name}: no summary"
        );
        for (arg, description) in &page.entries {
            assert!(!description.is_empty(), "{name}: {arg} has no description");
        }
        let children: Vec<&(String, String)> =
            page.commands.iter().filter(|(c, _)| c != "help").collect();
        for (child, child_summary) in &children {
            assert!(!child_summary.is_empty(), "{name}: {child} has no summary");
            if !path.is_empty() {
                assert!(
                    summary.contains(child.as_str()),
                    "the summary of `{name}` ({summary:?}) does not name its subcommand {child}"
                );
            }
            let mut next = path.clone();
            next.push(child.clone());
            todo.push((next, child_summary.clone()));
        }
    }
    // Every command was seen: the top level, 18 commands, and the groups' subcommands.
    assert!(pages >= 30, "only {pages} help pages");
}

/// `gw --help` lists what `gw stage` can do, and `gw deploy --help` explains --description.
#[test]
fn help_names_stage_throttle_and_access_log_and_describes_deploy_description() {
    let gw = Gw::new();
    let top = help(&gw, &[]);
    let stage = &top.commands.iter().find(|(c, _)| c == "stage").unwrap().1;
    for sub in [
        "show",
        "set-var",
        "unset-var",
        "throttle",
        "access-log",
        "delete",
    ] {
        assert!(stage.contains(sub), "{stage}");
    }
    let deploy = help(&gw, &["deploy"]);
    let description = &deploy
        .entries
        .iter()
        .find(|(a, _)| a.starts_with("--description"))
        .unwrap()
        .1;
    assert!(description.contains("description"), "{description}");
}
