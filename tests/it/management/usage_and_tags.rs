//! GetUsage (a usage plan's keys' requests per day, with what the quota has left) and tags on
//! API keys and usage plans (given at creation, TagResource, UntagResource, GetTags), through
//! the AWS CLI.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_usage_counts_each_keys_requests_and_keys_and_plans_keep_tags() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let id = api_requiring_a_key(&aws);
    let key = aws.json(&[
        "create-api-key",
        "--name",
        "counted",
        "--enabled",
        "--tags",
        "team=pets",
    ]);
    assert_eq!(key["tags"]["team"], "pets", "{key}");
    let key_id = s(&key["id"]).to_string();
    let value = s(&key["value"]).to_string();
    let idle = aws.json(&["create-api-key", "--name", "idle", "--enabled"]);
    assert!(idle.get("tags").is_none(), "no tags, no field: {idle}");
    let idle_id = s(&idle["id"]).to_string();
    let plan = aws.json(&[
        "create-usage-plan",
        "--name",
        "metered",
        "--api-stages",
        &format!("apiId={id},stage=prod"),
        "--quota",
        "limit=5,period=DAY",
        "--tags",
        "env=test",
    ]);
    assert_eq!(plan["tags"]["env"], "test", "{plan}");
    let plan_id = s(&plan["id"]).to_string();
    for k in [&key_id, &idle_id] {
        aws.json(&[
            "create-usage-plan-key",
            "--usage-plan-id",
            &plan_id,
            "--key-id",
            k,
            "--key-type",
            "API_KEY",
        ]);
    }
    let client = common::client();
    let url = server.url(&format!("/_aws/execute-api/{id}/prod/"));
    for _ in 0..3 {
        let r = common::send(&client, "GET", &url, &[("x-api-key", value.as_str())], "").await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    let usage = aws.json(&[
        "get-usage",
        "--usage-plan-id",
        &plan_id,
        "--start-date",
        &yesterday.format("%Y-%m-%d").to_string(),
        "--end-date",
        &today.format("%Y-%m-%d").to_string(),
    ]);
    assert_eq!(usage["usagePlanId"], plan_id.as_str());
    assert_eq!(
        usage["items"][&key_id],
        serde_json::json!([[0, 5], [3, 2]]),
        "{usage}"
    );
    assert_eq!(
        usage["items"][&idle_id],
        serde_json::json!([[0, 5], [0, 5]])
    );
    let one = aws.json(&[
        "get-usage",
        "--usage-plan-id",
        &plan_id,
        "--key-id",
        &idle_id,
        "--start-date",
        &today.format("%Y-%m-%d").to_string(),
        "--end-date",
        &today.format("%Y-%m-%d").to_string(),
    ]);
    let items = one["items"].as_object().unwrap();
    assert_eq!(items.len(), 1, "{one}");
    let bad = aws.fails(&[
        "get-usage",
        "--usage-plan-id",
        &plan_id,
        "--start-date",
        "yesterday",
        "--end-date",
        "2026-01-01",
    ]);
    assert!(bad.contains("BadRequestException"), "{bad}");

    // Tags on the key and the plan, by ARN.
    for (arn, given) in [
        (
            format!("arn:aws:apigateway:us-east-1::/apikeys/{key_id}"),
            "team",
        ),
        (
            format!("arn:aws:apigateway:us-east-1::/usageplans/{plan_id}"),
            "env",
        ),
    ] {
        aws.json(&["tag-resource", "--resource-arn", &arn, "--tags", "cost=42"]);
        let tags = aws.json(&["get-tags", "--resource-arn", &arn]);
        assert_eq!(tags["tags"]["cost"], "42", "{arn}: {tags}");
        assert!(tags["tags"].get(given).is_some(), "{arn}: {tags}");
        aws.json(&[
            "untag-resource",
            "--resource-arn",
            &arn,
            "--tag-keys",
            given,
        ]);
        let tags = aws.json(&["get-tags", "--resource-arn", &arn]);
        assert_eq!(tags["tags"], serde_json::json!({"cost": "42"}), "{arn}");
    }
    let gone = aws.fails(&[
        "get-tags",
        "--resource-arn",
        "arn:aws:apigateway:us-east-1::/apikeys/nokey1",
    ]);
    assert!(gone.contains("NotFoundException"), "{gone}");
}
