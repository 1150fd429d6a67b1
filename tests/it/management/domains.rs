//! Custom domain names and base-path mappings through the AWS CLI: CreateDomainName (tags,
//! AWS's errors), the BasePathMapping calls, and a request to the domain reaching the mapped
//! stage.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_creates_a_domain_whose_mapping_routes_requests() {
    let backend = common::echo_upstream("domain").await;
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let (id, d1) = import_and_deploy(&aws, &backend.to_string());
    aws.json(&[
        "create-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "beta",
        "--deployment-id",
        &d1,
        "--variables",
        &format!("backend={backend},version=beta"),
    ]);
    let domain = aws.json(&[
        "create-domain-name",
        "--domain-name",
        "API.Cli.Test",
        "--endpoint-configuration",
        "types=REGIONAL",
        "--tags",
        "team=edge",
    ]);
    assert_eq!(domain["domainName"], "api.cli.test");
    assert_eq!(domain["domainNameStatus"], "AVAILABLE");
    assert_eq!(domain["endpointConfiguration"]["types"][0], "REGIONAL");
    assert!(domain["regionalDomainName"].is_string(), "{domain}");
    assert_eq!(domain["tags"]["team"], "edge");
    let again = aws.fails(&["create-domain-name", "--domain-name", "api.cli.test"]);
    assert!(again.contains("ConflictException"), "{again}");
    let missing = aws.fails(&["get-domain-name", "--domain-name", "nowhere.cli.test"]);
    assert!(
        missing.contains("NotFoundException")
            && missing.contains("Invalid domain name identifier specified"),
        "{missing}"
    );
    let mapping = aws.json(&[
        "create-base-path-mapping",
        "--domain-name",
        "api.cli.test",
        "--rest-api-id",
        &id,
        "--stage",
        "prod",
        "--base-path",
        "v1",
    ]);
    assert_eq!(
        mapping,
        serde_json::json!({"basePath": "v1", "restApiId": id, "stage": "prod"})
    );
    let bad = aws.fails(&[
        "create-base-path-mapping",
        "--domain-name",
        "api.cli.test",
        "--rest-api-id",
        &id,
        "--stage",
        "nostage",
    ]);
    assert!(bad.contains("BadRequestException"), "{bad}");
    aws.json(&[
        "create-base-path-mapping",
        "--domain-name",
        "api.cli.test",
        "--rest-api-id",
        &id,
        "--stage",
        "beta",
    ]);
    let mappings = aws.json(&["get-base-path-mappings", "--domain-name", "api.cli.test"]);
    let paths: Vec<&str> = mappings["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["basePath"]))
        .collect();
    assert_eq!(paths, ["v1", "(none)"], "{mappings}");
    let names = aws.json(&["get-domain-names"]);
    assert_eq!(names["items"][0]["domainName"], "api.cli.test");

    // Requests to the domain reach the mapped stages.
    let client = common::client();
    let get = |path: &'static str| {
        let client = client.clone();
        let url = server.url(path);
        async move { common::send(&client, "GET", &url, &[("host", "api.cli.test")], "").await }
    };
    let r = get("/v1/pets").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/v1/pets");
    let r = get("/pets").await;
    assert_eq!(
        r.json()["path"],
        "/beta/pets",
        "the (none) mapping serves beta"
    );

    // UpdateBasePathMapping moves v1 to beta; DeleteBasePathMapping removes it.
    let moved = aws.json(&[
        "update-base-path-mapping",
        "--domain-name",
        "api.cli.test",
        "--base-path",
        "v1",
        "--patch-operations",
        "op=replace,path=/stage,value=beta",
    ]);
    assert_eq!(moved["stage"], "beta");
    assert_eq!(get("/v1/pets").await.json()["path"], "/beta/pets");
    aws.json(&[
        "delete-base-path-mapping",
        "--domain-name",
        "api.cli.test",
        "--base-path",
        "v1",
    ]);
    let gone = aws.fails(&[
        "get-base-path-mapping",
        "--domain-name",
        "api.cli.test",
        "--base-path",
        "v1",
    ]);
    assert!(
        gone.contains("Invalid base path mapping identifier specified"),
        "{gone}"
    );
    // v1 is now a path under the (none) mapping.
    assert_eq!(get("/v1/pets").await.status, 404);
    let arn = "arn:aws:apigateway:us-east-1::/domainnames/api.cli.test";
    aws.json(&["tag-resource", "--resource-arn", arn, "--tags", "cost=1"]);
    let tags = aws.json(&["get-tags", "--resource-arn", arn]);
    assert_eq!(
        tags["tags"],
        serde_json::json!({"team": "edge", "cost": "1"})
    );
    aws.json(&["delete-domain-name", "--domain-name", "api.cli.test"]);
    let listed = gw.ok(&["domains"]);
    assert!(listed.contains("no custom domains"), "{listed}");
}
