//! Documentation parts and versions through the AWS CLI: created, listed, filtered, updated with
//! the patch paths Terraform's `aws_api_gateway_documentation_part` (`/properties`) and
//! `aws_api_gateway_documentation_version` (`/description`) send, imported from
//! `x-amazon-apigateway-documentation` (ImportDocumentationParts and ImportRestApi), and
//! exported with the stage that names a version.

use super::*;

#[test]
fn documentation_parts_and_versions_round_trip_through_the_aws_cli() {
    let gw = Gw::new();
    let server = gw.serve(&[]);
    let aws = Aws::new(server.addr);
    let (id, _) = import_and_deploy(&aws, "http://127.0.0.1:9");
    let api_part = aws.json(&[
        "create-documentation-part",
        "--rest-api-id",
        &id,
        "--location",
        "type=API",
        "--properties",
        r#"{"description":"The pet store"}"#,
    ]);
    let api_part_id = s(&api_part["id"]).to_string();
    assert_eq!(api_part["location"], serde_json::json!({"type": "API"}));
    let method_part = aws.json(&[
        "create-documentation-part",
        "--rest-api-id",
        &id,
        "--location",
        "type=METHOD,path=/pets",
        "--properties",
        r#"{"summary":"List pets"}"#,
    ]);
    // AWS's defaults fill the location.
    assert_eq!(method_part["location"]["method"], "*", "{method_part}");
    // The same location twice is a conflict; a bad location or properties a bad request.
    let again = aws.fails(&[
        "create-documentation-part",
        "--rest-api-id",
        &id,
        "--location",
        "type=API",
        "--properties",
        "{}",
    ]);
    assert!(again.contains("ConflictException"), "{again}");
    for (location, properties) in [
        ("type=MODEL", "{}"),
        ("type=API,path=/", "{}"),
        ("type=API", "not json"),
    ] {
        let bad = aws.fails(&[
            "create-documentation-part",
            "--rest-api-id",
            &id,
            "--location",
            location,
            "--properties",
            properties,
        ]);
        assert!(bad.contains("BadRequestException"), "{location}: {bad}");
    }
    let methods = aws.json(&[
        "get-documentation-parts",
        "--rest-api-id",
        &id,
        "--type",
        "METHOD",
    ]);
    assert_eq!(methods["items"].as_array().unwrap().len(), 1, "{methods}");
    // Terraform's update of a part.
    let updated = aws.json(&[
        "update-documentation-part",
        "--rest-api-id",
        &id,
        "--documentation-part-id",
        &api_part_id,
        "--patch-operations",
        r#"[{"op":"replace","path":"/properties","value":"{\"description\":\"Pets, v2\"}"}]"#,
    ]);
    assert_eq!(s(&updated["properties"]), r#"{"description":"Pets, v2"}"#);

    // A version of the parts, given to the stage: the stage's export carries it.
    let version = aws.json(&[
        "create-documentation-version",
        "--rest-api-id",
        &id,
        "--documentation-version",
        "1.0",
        "--stage-name",
        "prod",
        "--description",
        "first",
    ]);
    assert_eq!(version["version"], "1.0");
    let stage = aws.json(&["get-stage", "--rest-api-id", &id, "--stage-name", "prod"]);
    assert_eq!(stage["documentationVersion"], "1.0", "{stage}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.json");
    aws.json(&[
        "get-export",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--export-type",
        "oas30",
        out.to_str().unwrap(),
    ]);
    let exported: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let doc = &exported["x-amazon-apigateway-documentation"];
    assert_eq!(doc["version"], "1.0", "{exported}");
    assert_eq!(doc["documentationParts"].as_array().unwrap().len(), 2);
    assert!(doc["documentationParts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["properties"]["description"] == "Pets, v2"));
    let described = aws.json(&[
        "update-documentation-version",
        "--rest-api-id",
        &id,
        "--documentation-version",
        "1.0",
        "--patch-operations",
        "op=replace,path=/description,value=renamed",
    ]);
    assert_eq!(described["description"], "renamed");
    let dup = aws.fails(&[
        "create-documentation-version",
        "--rest-api-id",
        &id,
        "--documentation-version",
        "1.0",
    ]);
    assert!(dup.contains("ConflictException"), "{dup}");

    // ImportDocumentationParts: overwrite replaces every part.
    let spec = dir.path().join("docs.json");
    std::fs::write(
        &spec,
        serde_json::json!({
            "openapi": "3.0.1",
            "info": {"title": "docs", "version": "1"},
            "paths": {},
            "x-amazon-apigateway-documentation": {
                "version": "2.0",
                "documentationParts": [
                    {"location": {"type": "RESOURCE", "path": "/pets"}, "properties": {"description": "Pets"}},
                    {"location": {"type": "QUERY_PARAMETER", "path": "/pets", "method": "GET", "name": "limit"}, "properties": {"description": "How many"}}
                ]
            }
        })
        .to_string(),
    )
    .unwrap();
    let imported = aws.json(&[
        "import-documentation-parts",
        "--rest-api-id",
        &id,
        "--mode",
        "overwrite",
        "--body",
        &format!("fileb://{}", spec.display()),
    ]);
    assert_eq!(imported["ids"].as_array().unwrap().len(), 2, "{imported}");
    let all = aws.json(&["get-documentation-parts", "--rest-api-id", &id]);
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "{all}");
    let named = aws.json(&[
        "get-documentation-parts",
        "--rest-api-id",
        &id,
        "--name-query",
        "lim",
    ]);
    assert_eq!(named["items"][0]["location"]["name"], "limit", "{named}");
    // The version kept the parts it was made from.
    let export_again = aws.json(&[
        "get-export",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--export-type",
        "oas30",
        out.to_str().unwrap(),
    ]);
    assert!(export_again.is_object());
    let exported: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        exported["x-amazon-apigateway-documentation"]["documentationParts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(exported.to_string().contains("Pets, v2"));

    // Deleting: parts and versions, then they are gone.
    let first = s(&all["items"][0]["id"]).to_string();
    aws.json(&[
        "delete-documentation-part",
        "--rest-api-id",
        &id,
        "--documentation-part-id",
        &first,
    ]);
    let gone = aws.fails(&[
        "get-documentation-part",
        "--rest-api-id",
        &id,
        "--documentation-part-id",
        &first,
    ]);
    assert!(gone.contains("NotFoundException"), "{gone}");
    aws.json(&[
        "delete-documentation-version",
        "--rest-api-id",
        &id,
        "--documentation-version",
        "1.0",
    ]);
    let versions = aws.json(&["get-documentation-versions", "--rest-api-id", &id]);
    assert!(
        versions
            .get("items")
            .and_then(Value::as_array)
            .is_none_or(|v| v.is_empty()),
        "{versions}"
    );

    // ImportRestApi reads the extension into parts.
    let with_docs = aws.json(&[
        "import-rest-api",
        "--body",
        &format!("fileb://{}", spec.display()),
    ]);
    let parts = aws.json(&[
        "get-documentation-parts",
        "--rest-api-id",
        s(&with_docs["id"]),
    ]);
    assert_eq!(parts["items"].as_array().unwrap().len(), 2, "{parts}");
}
