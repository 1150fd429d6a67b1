//! Usage-plan and stage throttles, quotas, models and validators made through the management API.

use super::*;

/// A usage plan's `throttle` and `quota` through the AWS CLI: past the burst (with a rate too slow
/// to refill during the test) a key gets 429 "Too Many Requests"; past the quota, 429 "Limit
/// Exceeded"; each key spends its own allowance. (The quota is per UTC day: a run that crosses
/// midnight UTC between the calls would see it reset.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_plan_throttle_and_quota_answer_429() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let id = api_requiring_a_key(&aws);
    let stages = format!("apiId={id},stage=prod");
    // (value, id)
    let key = |name: &str| -> (String, String) {
        let k = aws.json(&["create-api-key", "--name", name, "--enabled"]);
        (s(&k["value"]).to_string(), s(&k["id"]).to_string())
    };
    let plan = |name: &str, limit: &[&str]| -> String {
        let mut args = vec!["create-usage-plan", "--name", name, "--api-stages", &stages];
        args.extend_from_slice(limit);
        let p = aws.json(&args);
        s(&p["id"]).to_string()
    };
    let join = |plan_id: &str, (_, key_id): &(String, String)| {
        aws.json(&[
            "create-usage-plan-key",
            "--usage-plan-id",
            plan_id,
            "--key-id",
            key_id,
            "--key-type",
            "API_KEY",
        ]);
    };
    let slow = plan("slow", &["--throttle", "burstLimit=2,rateLimit=0.001"]);
    let (a, b) = (key("a"), key("b"));
    join(&slow, &a);
    join(&slow, &b);
    let capped = plan("capped", &["--quota", "limit=3,period=DAY"]);
    let c = key("c");
    join(&capped, &c);

    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/"));
    let call = |(value, _): &(String, String)| {
        let (client, url, value) = (client.clone(), url.clone(), value.clone());
        async move { common::send(&client, "GET", &url, &[("x-api-key", value.as_str())], "").await }
    };
    for _ in 0..2 {
        assert_eq!(call(&a).await.status, 200);
    }
    let r = call(&a).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (429, r#"{"message":"Too Many Requests"}"#)
    );
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    assert_eq!(call(&b).await.status, 200, "b has its own bucket");

    for _ in 0..3 {
        assert_eq!(call(&c).await.status, 200);
    }
    let r = call(&c).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (429, r#"{"message":"Limit Exceeded"}"#)
    );
    assert_eq!(r.header("x-amzn-errortype"), Some("LimitExceededException"));

    // UpdateUsagePlan: a higher quota lets c on (3 of 10 used); without a throttle, a goes on.
    let updated = aws.json(&[
        "update-usage-plan",
        "--usage-plan-id",
        &capped,
        "--patch-operations",
        "op=replace,path=/quota/limit,value=10",
    ]);
    assert_eq!(updated["quota"]["limit"], 10.0);
    assert_eq!(call(&c).await.status, 200);
    aws.json(&[
        "update-usage-plan",
        "--usage-plan-id",
        &slow,
        "--patch-operations",
        "op=remove,path=/throttle",
    ]);
    for _ in 0..3 {
        assert_eq!(call(&a).await.status, 200);
    }
    let err = aws.fails(&[
        "update-usage-plan",
        "--usage-plan-id",
        &slow,
        "--patch-operations",
        "op=replace,path=/quota/period,value=YEAR",
    ]);
    assert!(err.contains("BadRequestException"), "{err}");
}

/// Terraform's `aws_api_gateway_model` / `_request_validator` path through the AWS CLI: models
/// (one referring to another by AWS's model URL) and a body validator attached with PutMethod;
/// the deployed method refuses a body its model does not accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_and_request_validators_made_through_the_api_check_bodies() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "models"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let model = |name: &str, schema: &str| {
        aws.json(&[
            "create-model",
            "--rest-api-id",
            &id,
            "--name",
            name,
            "--content-type",
            "application/json",
            "--schema",
            schema,
        ])
    };
    model(
        "Owner",
        r#"{"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}}}"#,
    );
    let pet = model(
        "Pet",
        &format!(
            r#"{{"type": "object", "required": ["name"], "properties": {{"name": {{"type": "string"}},
               "owner": {{"$ref": "https://apigateway.amazonaws.com/restapis/{id}/models/Owner"}}}}}}"#
        ),
    );
    assert_eq!(pet["name"], "Pet");
    let err = aws.fails(&[
        "create-model",
        "--rest-api-id",
        &id,
        "--name",
        "Bad",
        "--content-type",
        "application/json",
        "--schema",
        "{not json",
    ]);
    assert!(err.contains("BadRequestException"), "{err}");
    let models = aws.json(&["get-models", "--rest-api-id", &id]);
    // Its two models beside AWS's defaults, Empty and Error.
    assert_eq!(
        models["items"].as_array().map(Vec::len),
        Some(4),
        "{models}"
    );

    let v = aws.json(&[
        "create-request-validator",
        "--rest-api-id",
        &id,
        "--name",
        "body",
        "--validate-request-body",
    ]);
    let vid = s(&v["id"]).to_string();
    assert_eq!(v["validateRequestBody"], true);
    let calls = MethodCalls { aws: &aws, id: &id };
    let err = calls.fails(
        "put-method",
        &root,
        "POST",
        &[
            "--authorization-type",
            "NONE",
            "--request-models",
            "application/json=Nope",
        ],
    );
    assert!(err.contains("BadRequestException"), "{err}");
    let m = calls.ok(
        "put-method",
        &root,
        "POST",
        &[
            "--authorization-type",
            "NONE",
            "--request-validator-id",
            &vid,
            "--request-models",
            "application/json=Pet",
        ],
    );
    assert_eq!(m["requestModels"]["application/json"], "Pet");
    calls.mock_answer(&root, "POST", "stored");
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);

    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/"));
    let json_type = [("content-type", "application/json")];
    let r = common::send(
        &client,
        "POST",
        &url,
        &json_type,
        r#"{"name": "Rex", "owner": {"email": "a@b"}}"#,
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "stored"));
    for bad in [
        r#"{"owner": {"email": "a@b"}}"#,
        r#"{"name": "Rex", "owner": {}}"#,
        "[]",
    ] {
        let r = common::send(&client, "POST", &url, &json_type, bad).await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (400, r#"{"message":"Invalid request body"}"#),
            "{bad}"
        );
    }

    // UpdateModel: Pet now needs an age too (it still refers to Owner); redeployed, it applies.
    let updated = aws.json(&[
        "update-model",
        "--rest-api-id",
        &id,
        "--model-name",
        "Pet",
        "--patch-operations",
        &serde_json::json!([{"op": "replace", "path": "/schema", "value": format!(
            r#"{{"type": "object", "required": ["name", "age"], "properties": {{"name": {{"type": "string"}},
               "owner": {{"$ref": "https://apigateway.amazonaws.com/restapis/{id}/models/Owner"}}}}}}"#
        )}])
        .to_string(),
    ]);
    assert!(s(&updated["schema"]).contains("age"), "{updated}");
    let err = aws.fails(&[
        "update-model",
        "--rest-api-id",
        &id,
        "--model-name",
        "Pet",
        "--patch-operations",
        r#"[{"op": "replace", "path": "/schema", "value": "{broken"}]"#,
    ]);
    assert!(err.contains("Invalid model schema specified"), "{err}");
    let redeploy = || {
        aws.json(&[
            "create-deployment",
            "--rest-api-id",
            &id,
            "--stage-name",
            "prod",
        ]);
    };
    redeploy();
    let r = common::send(&client, "POST", &url, &json_type, r#"{"name": "Rex"}"#).await;
    assert_eq!(r.status, 400, "age is required now");
    let r = common::send(
        &client,
        "POST",
        &url,
        &json_type,
        r#"{"name": "Rex", "age": 3}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    // UpdateRequestValidator: bodies no longer checked.
    let v = aws.json(&[
        "update-request-validator",
        "--rest-api-id",
        &id,
        "--request-validator-id",
        &vid,
        "--patch-operations",
        "op=replace,path=/validateRequestBody,value=false",
        "op=replace,path=/name,value=lenient",
    ]);
    assert_eq!(
        (v["validateRequestBody"].clone(), v["name"].clone()),
        (false.into(), "lenient".into())
    );
    redeploy();
    let r = common::send(&client, "POST", &url, &json_type, "[]").await;
    assert_eq!(r.status, 200, "the validator checks nothing now");

    let err = aws.fails(&["delete-model", "--rest-api-id", &id, "--model-name", "Pet"]);
    assert!(err.contains("ConflictException"), "{err}");
    let err = aws.fails(&[
        "delete-request-validator",
        "--rest-api-id",
        &id,
        "--request-validator-id",
        &vid,
    ]);
    assert!(err.contains("ConflictException"), "{err}");
    calls.ok("delete-method", &root, "POST", &[]);
    aws.json(&["delete-model", "--rest-api-id", &id, "--model-name", "Pet"]);
    aws.json(&[
        "delete-request-validator",
        "--rest-api-id",
        &id,
        "--request-validator-id",
        &vid,
    ]);
    let validators = aws.json(&["get-request-validators", "--rest-api-id", &id]);
    assert_eq!(
        validators["items"].as_array().map(Vec::len),
        Some(0),
        "{validators}"
    );
}

/// `aws apigateway update-stage` with method throttling (`/*/*/throttling/...` and one method's
/// own) and access-log settings, as the developer guide sets them: the limits answer 429 per
/// method, GetStage shows them in AWS's shape, and every request leaves an access-log line in the
/// stage's format (here in the file `gw serve --access-log` names).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_method_throttles_and_access_logs_follow_update_stage() {
    let gw = Gw::new();
    let log_path = gw.dir.path().join("access.log");
    let server = gw.serve(&["--access-log", log_path.to_str().unwrap()]);
    let aws = Aws::new(server.addr);
    let api = aws.json(&["create-rest-api", "--name", "limited"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let pets = aws.json(&[
        "create-resource",
        "--rest-api-id",
        &id,
        "--parent-id",
        &root,
        "--path-part",
        "pets",
    ]);
    let pets = s(&pets["id"]).to_string();
    let calls = MethodCalls { aws: &aws, id: &id };
    for rid in [&root, &pets] {
        calls.ok("put-method", rid, "GET", &["--authorization-type", "NONE"]);
        calls.mock_answer(rid, "GET", "ok");
    }
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);

    let format = r#"{"requestId":"$context.requestId","resourcePath":"$context.resourcePath","status":"$context.status","error":"$context.error.message","caller":"$context.identity.caller"}"#;
    let ops = serde_json::json!([
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"},
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.001"},
        {"op": "replace", "path": "/~1pets/GET/throttling/burstLimit", "value": "4"},
        {"op": "replace", "path": "/~1pets/GET/throttling/rateLimit", "value": "0.001"},
        {"op": "replace", "path": "/accessLogSettings/format", "value": format},
        {"op": "replace", "path": "/accessLogSettings/destinationArn",
         "value": "arn:aws:logs:us-east-1:000000000000:log-group:gw-access"},
    ])
    .to_string();
    let stage = aws.json(&[
        "update-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--patch-operations",
        &ops,
    ]);
    assert_eq!(stage["methodSettings"]["*/*"]["throttlingBurstLimit"], 2);
    assert_eq!(stage["methodSettings"]["*/*"]["throttlingRateLimit"], 0.001);
    assert_eq!(
        stage["methodSettings"]["pets/GET"]["throttlingBurstLimit"],
        4
    );
    assert_eq!(stage["methodSettings"]["*/*"]["cachingEnabled"], false);
    assert_eq!(stage["accessLogSettings"]["format"], format);
    let shown = aws.json(&["get-stage", "--rest-api-id", &id, "--stage-name", "prod"]);
    assert_eq!(shown["methodSettings"], stage["methodSettings"]);

    let client = common::client();
    let get = |path: &str| {
        let (client, url) = (
            client.clone(),
            server.url(&format!("/_aws/execute-api/{id}/prod{path}")),
        );
        async move { common::send(&client, "GET", &url, &[], "").await }
    };
    // `*/*` gives the root method 2 requests; /pets has its own bucket of 4.
    for _ in 0..2 {
        assert_eq!(get("/").await.status, 200);
    }
    let r = get("/").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (429, r#"{"message":"Too Many Requests"}"#)
    );
    for _ in 0..4 {
        assert_eq!(get("/pets").await.status, 200);
    }
    assert_eq!(get("/pets").await.status, 429);

    // Every request above has its line, in order, in the stage's format.
    let lines = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            if lines.len() >= 8 || std::time::Instant::now() > deadline {
                break lines;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    assert_eq!(lines.len(), 8, "{lines:#?}");
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(parsed[0]["resourcePath"], "/");
    assert_eq!(parsed[0]["status"], "200");
    assert_eq!(parsed[0]["error"], "-");
    assert_eq!(parsed[0]["caller"], "-");
    assert_eq!(parsed[2]["status"], "429");
    assert_eq!(parsed[2]["error"], "Too Many Requests");
    assert_eq!(parsed[7]["resourcePath"], "/pets");
    assert_eq!(parsed[7]["status"], "429");
    assert!(parsed.iter().all(|p| s(&p["requestId"]).len() == 36));

    // Limits and logs removed: the root answers again, and no more lines are written.
    let ops = serde_json::json!([
        {"op": "remove", "path": "/*/*/throttling/rateLimit"},
        {"op": "remove", "path": "/accessLogSettings"},
    ])
    .to_string();
    let stage = aws.json(&[
        "update-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--patch-operations",
        &ops,
    ]);
    assert!(stage.get("accessLogSettings").is_none());
    assert!(stage["methodSettings"].get("*/*").is_none());
    assert_eq!(get("/").await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(text.lines().count(), 8);

    // AWS's checks on the settings themselves.
    let e = aws.fails(&[
        "update-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--patch-operations",
        "op=replace,path=/accessLogSettings/format,value=$context.status",
    ]);
    assert!(
        e.contains("Access Log format must contain at least one of $context.requestId or $context.extendedRequestId"),
        "{e}"
    );
}
