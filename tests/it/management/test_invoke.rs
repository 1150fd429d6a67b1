//! TestInvokeMethod through the AWS CLI: the method as it is now (never deployed, or changed
//! since), with the call's path, query, headers, body and stage variables, answered with AWS's
//! `status`, `body`, `headers`, `multiValueHeaders`, `log` and `latency`; admission (API key,
//! authorizer) is skipped, as on AWS.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_invoke_runs_the_undeployed_method_through_the_data_plane() {
    let backend = common::echo_upstream("tested").await;
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    // Imported, never deployed.
    let api = aws.json(&["import-rest-api", "--body", "fileb://specs/petstore.yaml"]);
    let id = s(&api["id"]).to_string();
    let resources = aws.json(&["get-resources", "--rest-api-id", &id]);
    let rid = |path: &str| -> String {
        resources["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == path)
            .map(|r| s(&r["id"]).to_string())
            .unwrap_or_else(|| panic!("no resource {path}: {resources}"))
    };
    let pet = rid("/pets/{petId}");
    let out = aws.json(&[
        "test-invoke-method",
        "--rest-api-id",
        &id,
        "--resource-id",
        &pet,
        "--http-method",
        "GET",
        "--path-with-query-string",
        "/pets/7?color=red",
        "--headers",
        "x-probe=one",
        "--stage-variables",
        &format!("backend={backend},version=v9"),
    ]);
    assert_eq!(out["status"], 200, "{out}");
    let echoed: Value = serde_json::from_str(s(&out["body"])).unwrap();
    assert_eq!(echoed["tag"], "tested");
    assert_eq!(echoed["path"], "/v9/pets/7", "{echoed}");
    assert_eq!(echoed["query"], "color=red");
    assert_eq!(echoed["headers"]["x-probe"], "one");
    assert!(out["headers"].is_object() && out["multiValueHeaders"].is_object());
    let log = s(&out["log"]);
    assert!(
        log.contains("Resource Path: /pets/{petId}")
            && log.contains("Method completed with status: 200"),
        "{log}"
    );
    assert!(out["latency"].as_u64().is_some(), "{out}");

    // A MOCK on a method requiring an API key, changed after creation: no key is needed and the
    // current template answers.
    let root = rid("/");
    let calls = MethodCalls { aws: &aws, id: &id };
    calls.ok(
        "put-method",
        &root,
        "GET",
        &["--authorization-type", "NONE", "--api-key-required"],
    );
    calls.mock_answer(&root, "GET", r#"{"stage": "$context.stage"}"#);
    let mock = aws.json(&[
        "test-invoke-method",
        "--rest-api-id",
        &id,
        "--resource-id",
        &root,
        "--http-method",
        "GET",
    ]);
    assert_eq!(mock["status"], 200, "{mock}");
    assert_eq!(s(&mock["body"]), r#"{"stage": "test-invoke-stage"}"#);

    // Missing things are AWS's errors.
    let err = aws.fails(&[
        "test-invoke-method",
        "--rest-api-id",
        &id,
        "--resource-id",
        &root,
        "--http-method",
        "DELETE",
    ]);
    assert!(err.contains("Invalid Method identifier specified"), "{err}");
}
