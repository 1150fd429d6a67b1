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

/// CreateVpcLink with `HOST:PORT` target "ARNs" makes a working link: an integration naming it
/// by id is served by its targets; GetVpcLink(s), UpdateVpcLink, tags and DeleteVpcLink answer
/// as AWS does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_manages_vpc_links_that_serve() {
    let backend = common::echo_upstream("linked").await;
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let link = aws.json(&[
        "create-vpc-link",
        "--name",
        "orders",
        "--target-arns",
        &backend.to_string(),
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/orders/abc",
        "--tags",
        "team=orders",
    ]);
    let id = s(&link["id"]).to_string();
    assert_eq!(link["status"], "AVAILABLE");
    assert_eq!(link["targetArns"].as_array().unwrap().len(), 1, "{link}");
    // gw's own fields are not in botocore's model; gw's CLI shows the target.
    let mine: serde_json::Value = serde_json::from_str(&gw.ok(&["vpc-links", "--json"])).unwrap();
    assert_eq!(
        mine["item"][0]["targets"][0]["address"],
        backend.to_string()
    );
    let listed = aws.json(&["get-vpc-links"]);
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let renamed = aws.json(&[
        "update-vpc-link",
        "--vpc-link-id",
        &id,
        "--patch-operations",
        "op=replace,path=/description,value=the orders service",
    ]);
    assert_eq!(renamed["description"], "the orders service");
    let missing = aws.fails(&["get-vpc-link", "--vpc-link-id", "nolink1"]);
    assert!(
        missing.contains("Invalid VPC link identifier specified"),
        "{missing}"
    );
    let arn = format!("arn:aws:apigateway:us-east-1::/vpclinks/{id}");
    assert_eq!(
        aws.json(&["get-tags", "--resource-arn", &arn])["tags"]["team"],
        "orders"
    );

    // An API built call by call whose integration goes through the link by id.
    let api = aws.json(&["create-rest-api", "--name", "linked"]);
    let api_id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let calls = MethodCalls {
        aws: &aws,
        id: &api_id,
    };
    calls.ok(
        "put-method",
        &root,
        "GET",
        &["--authorization-type", "NONE"],
    );
    calls.ok(
        "put-integration",
        &root,
        "GET",
        &[
            "--type",
            "HTTP_PROXY",
            "--integration-http-method",
            "GET",
            "--uri",
            "http://orders.internal/all",
            "--connection-type",
            "VPC_LINK",
            "--connection-id",
            &id,
        ],
    );
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &api_id,
        "--stage-name",
        "prod",
    ]);
    let c = common::client();
    let r = common::send(
        &c,
        "GET",
        &server.url(&format!("/_aws/execute-api/{api_id}/prod/")),
        &[],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["tag"], "linked");
    assert_eq!(r.json()["path"], "/all");
    aws.json(&["delete-vpc-link", "--vpc-link-id", &id]);
    assert!(aws
        .json(&["get-vpc-links"])
        .get("items")
        .is_none_or(|i| i.as_array().is_some_and(|a| a.is_empty())));
}
