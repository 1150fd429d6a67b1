//! Snapshots of what the importer makes: the model of every spec in `specs/` (ids redacted) with
//! its warnings, and the exact text of import errors as the real CLI prints them.
//!
//! Update after an intended change: `INSTA_UPDATE=always cargo test --test import_snapshots`,
//! then review the diff of `tests/it/snapshots/`.

use crate::common;

use gw::control::import::{import, ImportOptions};
use serde_json::Value;
use std::collections::HashMap;

/// Replace every generated id with `[id:N]`, N counted in order of first appearance, so the
/// snapshot is stable and still shows which resource is whose parent and which authorizer or
/// validator a method names.
fn redact_ids(api: &mut Value) {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut swap = |v: &mut Value| {
        if let Value::String(id) = v {
            let n = seen.len() + 1;
            *v = Value::String(
                seen.entry(id.clone())
                    .or_insert_with(|| format!("[id:{n}]"))
                    .clone(),
            );
        }
    };
    swap(&mut api["id"]);
    for r in api["resources"].as_array_mut().into_iter().flatten() {
        swap(&mut r["id"]);
        if r.get("parentId").is_some() {
            swap(&mut r["parentId"]);
        }
    }
    for list in ["authorizers", "requestValidators"] {
        for a in api
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            swap(&mut a["id"]);
        }
    }
    for r in api["resources"].as_array_mut().into_iter().flatten() {
        for m in r
            .get_mut("resourceMethods")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flatten()
        {
            for key in ["authorizerId", "requestValidatorId"] {
                if let Some(v) = m.1.get_mut(key) {
                    swap(v);
                }
            }
        }
    }
}

fn spec_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(common::root().join("specs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_model_of_every_spec_in_specs() {
    let files = spec_files();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in ["petstore.yaml", "proxy.yaml", "mock.yaml", "functions.yaml"] {
        assert!(
            names.iter().any(|n| n == expected),
            "specs/{expected} is missing: {names:?}"
        );
    }
    for path in files {
        let file = format!("specs/{}", path.file_name().unwrap().to_string_lossy());
        let imported = import(
            &file,
            &std::fs::read(&path).unwrap(),
            &ImportOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut api = serde_json::to_value(&imported.api).unwrap();
        redact_ids(&mut api);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let snapshot = serde_json::json!({ "warnings": imported.warnings, "api": api });
        insta::assert_yaml_snapshot!(format!("spec_{stem}"), snapshot);
    }
}

#[test]
fn redaction_is_consistent() {
    let spec = br#"
swagger: "2.0"
info: {title: t, version: "1"}
x-amazon-apigateway-request-validators: {all: {validateRequestBody: true}}
securityDefinitions:
  tok:
    type: apiKey
    name: Authorization
    in: header
    x-amazon-apigateway-authorizer: {type: token, authorizerUri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:a/invocations"}
paths:
  /a/{id}:
    get:
      security: [{tok: []}]
      x-amazon-apigateway-request-validator: all
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: mock}
"#;
    let imported = import("t.yaml", spec, &ImportOptions::default()).unwrap();
    let mut api = serde_json::to_value(&imported.api).unwrap();
    redact_ids(&mut api);
    let text = api.to_string();
    // No 6- or 10-character generated id survives.
    for r in &imported.api.resources {
        assert!(!text.contains(&format!("\"{}\"", r.id)));
    }
    let res = api["resources"].as_array().unwrap();
    assert_eq!(res[1]["parentId"], res[0]["id"], "/a's parent is /");
    assert_eq!(res[2]["parentId"], res[1]["id"]);
    let get = &res[2]["resourceMethods"]["GET"];
    assert_eq!(get["authorizerId"], api["authorizers"][0]["id"]);
    assert_eq!(get["requestValidatorId"], api["requestValidators"][0]["id"]);
    assert_ne!(
        api["authorizers"][0]["id"],
        api["requestValidators"][0]["id"]
    );
}

/// A state directory whose working directory holds the bad specs, so messages name them by a
/// stable relative path.
struct Cli {
    gw: common::Gw,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            gw: common::Gw::new(),
        }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.gw.state().join(name), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.gw
            .cmd()
            .current_dir(self.gw.state())
            .args(args)
            .output()
            .unwrap()
    }

    /// Run, expect failure with nothing on stdout; return stderr with API ids replaced.
    fn error(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "gw {args:?} should fail");
        assert_eq!(out.status.code(), Some(1));
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let mut text = String::from_utf8(out.stderr).unwrap();
        for a in self.gw.store().read(|tx| tx.api_summaries()).unwrap() {
            text = text.replace(&a.id, "[api-id]");
        }
        text
    }

    fn api_count(&self) -> usize {
        self.gw.store().read(|tx| tx.api_summaries()).unwrap().len()
    }
}

const HEAD: &str = "openapi: 3.0.1\ninfo: {title: bad, version: \"1\"}\n";

/// A spec with one GET /pets whose integration is `integration` (a YAML flow mapping).
fn with_integration(integration: &str) -> String {
    format!(
        "{HEAD}paths:\n  /pets:\n    get:\n      responses: {{\"200\": {{description: ok}}}}\n      x-amazon-apigateway-integration: {integration}\n"
    )
}

#[test]
fn import_errors_through_the_cli() {
    let cli = Cli::new();
    cli.write(
        "invalid.yaml",
        "openapi: 3.0.1\ninfo:\n  title: bad\n   version: \"1\"\npaths: {}\n",
    );
    cli.write(
        "invalid.json",
        "{\n  \"openapi\": \"3.0.1\",\n  \"paths\": {\n    \"/a\": {]\n  }\n}\n",
    );
    cli.write(
        "not-openapi.json",
        "{\"name\": \"a package.json, perhaps\", \"version\": \"1.0.0\"}\n",
    );
    cli.write("swagger12.yaml", "swagger: \"1.2\"\npaths: {}\n");
    cli.write(
        "bad-type.yaml",
        &with_integration("{type: lambda, uri: \"arn:x\"}"),
    );
    cli.write(
        "greedy.yaml",
        &format!("{HEAD}paths:\n  /files/{{proxy+}}/meta:\n    get:\n      responses: {{\"200\": {{description: ok}}}}\n      x-amazon-apigateway-integration: {{type: mock}}\n"),
    );
    cli.write(
        "mixed.yaml",
        &format!("{HEAD}paths:\n  /res{{id}}:\n    get:\n      responses: {{\"200\": {{description: ok}}}}\n      x-amazon-apigateway-integration: {{type: mock}}\n"),
    );
    cli.write(
        "siblings.yaml",
        &format!("{HEAD}paths:\n  /pets/{{id}}:\n    get:\n      responses: {{\"200\": {{description: ok}}}}\n      x-amazon-apigateway-integration: {{type: mock}}\n  /pets/{{petId}}/toys:\n    get:\n      responses: {{\"200\": {{description: ok}}}}\n      x-amazon-apigateway-integration: {{type: mock}}\n"),
    );
    cli.write(
        "timeout.yaml",
        &with_integration("{type: http_proxy, httpMethod: GET, uri: \"http://example.com/pets\", timeoutInMillis: 10}"),
    );
    cli.write(
        "no-uri.yaml",
        &with_integration("{type: http_proxy, httpMethod: GET}"),
    );
    cli.write(
        "warns.yaml",
        &format!(
            "{HEAD}paths:\n  /pets:\n    get:\n      responses: {{\"200\": {{description: ok}}}}\n"
        ),
    );
    cli.write("good.yaml", &with_integration("{type: mock}"));

    let cases: &[(&str, &[&str])] = &[
        ("invalid_yaml", &["import", "invalid.yaml"]),
        ("invalid_json", &["import", "invalid.json"]),
        ("not_openapi", &["import", "not-openapi.json"]),
        ("unsupported_swagger_version", &["import", "swagger12.yaml"]),
        ("unknown_integration_type", &["import", "bad-type.yaml"]),
        ("greedy_segment_not_last", &["import", "greedy.yaml"]),
        ("parameter_mixed_with_text", &["import", "mixed.yaml"]),
        ("sibling_path_variables", &["import", "siblings.yaml"]),
        ("timeout_below_50", &["import", "timeout.yaml"]),
        ("http_proxy_without_uri", &["import", "no-uri.yaml"]),
        (
            "fail_on_warnings",
            &["import", "warns.yaml", "--fail-on-warnings"],
        ),
        ("missing_file", &["import", "nope.yaml"]),
        (
            "bad_basepath_mode",
            &["import", "good.yaml", "--basepath", "strip"],
        ),
        (
            "unknown_api_when_none_exist",
            &["import", "good.yaml", "--api", "nope"],
        ),
    ];
    for (name, args) in cases {
        let stderr = cli.error(args);
        assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
        insta::assert_snapshot!(format!("error_{name}"), stderr);
    }
    // No failed import stored anything.
    assert_eq!(cli.api_count(), 0);

    // Errors that depend on what is stored.
    let out = cli.run(&["import", "good.yaml", "--name", "first"]);
    assert!(out.status.success());
    let out = cli.run(&["import", "good.yaml", "--name", "second"]);
    assert!(out.status.success());
    let cases: &[(&str, &[&str])] = &[
        (
            "duplicate_name",
            &["import", "good.yaml", "--name", "first"],
        ),
        ("unknown_api", &["import", "good.yaml", "--api", "nope"]),
        (
            "bad_mode",
            &["import", "good.yaml", "--api", "first", "--mode", "replace"],
        ),
        ("routes_without_api_when_two_exist", &["routes"]),
    ];
    for (name, args) in cases {
        let stderr = cli.error(args);
        assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
        insta::assert_snapshot!(format!("error_{name}"), stderr);
    }
    assert_eq!(cli.api_count(), 2);
}

/// A request body model whose bounds do not fit 64 bits, as OpenAI's OpenAPI spec has them
/// (`minimum: -9223372036854776000`, i64::MIN as JavaScript prints it), behind a validator.
fn spec_with_numbers_beyond_64_bits(openapi: &str) -> String {
    format!(
        r##"openapi: {openapi}
info: {{title: big numbers, version: "1"}}
x-amazon-apigateway-request-validators:
  body: {{validateRequestBody: true, validateRequestParameters: false}}
x-amazon-apigateway-request-validator: body
paths:
  /items:
    post:
      requestBody:
        content:
          application/json:
            schema: {{$ref: "#/components/schemas/Big"}}
      responses: {{"200": {{description: ok}}}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {{application/json: '{{"statusCode": 200}}'}}
        responses: {{default: {{statusCode: "200", responseTemplates: {{application/json: ok}}}}}}
components:
  schemas:
    Big:
      type: object
      properties:
        low:
          type: integer
          minimum: -9223372036854776000
        high:
          type: number
          maximum: 18446744073709551616
"##
    )
}

/// The bug: a valid YAML spec with an integer beyond 64 bits (OpenAI's spec has
/// `minimum: -9223372036854776000`) was refused as "invalid YAML: ... JSON number out of range;
/// fix the YAML syntax at that position". It imports, for OpenAPI 3.0 and 3.1 alike; the stored
/// source document keeps the numbers as written, and the model keeps them as the nearest floats
/// (what a JSON spec with the same numbers gets): the stored model, GetModel through the
/// management API and request validation all see them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_numbers_beyond_64_bits_import_instead_of_being_called_invalid_yaml() {
    let low = -9223372036854776000.0_f64;
    let high = 18446744073709551616.0_f64;
    for openapi in ["3.0.1", "3.1.0"] {
        let gw = common::Gw::new();
        let path = gw.state().join("big.yaml");
        std::fs::write(&path, spec_with_numbers_beyond_64_bits(openapi)).unwrap();
        let out = gw.run(&["import", path.to_str().unwrap(), "--json"]);
        assert!(
            out.status.success(),
            "openapi {openapi}: gw import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            !report["warnings"]
                .to_string()
                .contains("not a valid OpenAPI"),
            "openapi {openapi}: {report}"
        );

        let api = gw.store().read(|tx| tx.resolve_api(None)).unwrap();
        // The source document is kept byte for byte, the numbers as written.
        let (source, _) = gw.store().read(|tx| tx.api_spec(&api.id)).unwrap().unwrap();
        let source = String::from_utf8(source).unwrap();
        assert!(source.contains("minimum: -9223372036854776000"), "{source}");
        assert!(source.contains("maximum: 18446744073709551616"), "{source}");
        // The model, which needs them only to validate bodies, as the nearest floats.
        let big = &api.models["Big"]["properties"];
        assert_eq!(big["low"]["minimum"].as_f64(), Some(low), "{big}");
        assert_eq!(big["high"]["maximum"].as_f64(), Some(high), "{big}");

        gw.ok(&["deploy", "--stage", "prod"]);
        let server = gw.serve(&[]);
        let c = common::client();
        // GetModel, as `aws apigateway get-model` asks for it (gw checks signatures only with
        // --require-sigv4).
        let signed = [(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/apigateway/aws4_request, SignedHeaders=host, Signature=0",
        )];
        let r = common::send(
            &c,
            "GET",
            &server.url(&format!("/restapis/{}/models/Big", api.id)),
            &signed,
            bytes::Bytes::new(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let schema: Value = serde_json::from_str(r.json()["schema"].as_str().unwrap()).unwrap();
        assert_eq!(
            schema["properties"]["low"]["minimum"].as_f64(),
            Some(low),
            "{schema}"
        );
        assert_eq!(
            schema["properties"]["high"]["maximum"].as_f64(),
            Some(high),
            "{schema}"
        );

        // The validator enforces the bounds.
        let items = server.url("/prod/items");
        let post = |body: &'static str| {
            common::send(
                &c,
                "POST",
                &items,
                &[("content-type", "application/json")],
                bytes::Bytes::from_static(body.as_bytes()),
            )
        };
        let r = post(r#"{"low": -5, "high": 5}"#).await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "ok"),
            "openapi {openapi}"
        );
        let r = post(r#"{"high": 1e20}"#).await;
        assert_eq!(r.status, 400, "openapi {openapi}: {}", r.text());
    }
}

/// A real YAML syntax error is still blamed on the syntax, with its line; valid YAML that gw
/// cannot read (a tag, a key that is not text, several documents, nesting past 128 levels) is
/// not called invalid and is told what to change instead.
#[test]
fn only_real_yaml_syntax_errors_get_the_syntax_advice() {
    let cli = Cli::new();
    cli.write(
        "invalid.yaml",
        "openapi: 3.0.1\ninfo:\n  title: bad\n   version: \"1\"\npaths: {}\n",
    );
    let stderr = cli.error(&["import", "invalid.yaml"]);
    assert!(
        stderr.contains("invalid.yaml: line 4, column 11: invalid YAML: mapping values are not allowed in this context; fix the YAML syntax at that position"),
        "{stderr}"
    );

    let deep = format!("{HEAD}paths: {}{}\n", "[".repeat(200), "]".repeat(200));
    let valid: &[(&str, String, &str)] = &[
        (
            "tag.yaml",
            with_integration("{type: http_proxy, httpMethod: GET, uri: !Sub \"http://${Host}/\"}"),
            "line 7, column 81: YAML that gw cannot read: paths./pets.get.x-amazon-apigateway-integration.uri: the YAML tag `!Sub` has no JSON equivalent; write the value without the tag",
        ),
        (
            "key.yaml",
            format!("{HEAD}paths:\n  ? [a, b]\n  : {{}}\n"),
            "YAML that gw cannot read: paths: invalid type: sequence, expected a mapping key that is text, as JSON object keys are; write that part as plain data",
        ),
        (
            "two.yaml",
            format!("{}---\n{HEAD}", with_integration("{type: mock}")),
            "whole document: YAML that gw cannot read: deserializing from YAML containing more than one document is not supported; keep the spec in one YAML document",
        ),
        (
            "deep.yaml",
            deep,
            "YAML that gw cannot read: recursion limit exceeded; flatten the document",
        ),
    ];
    for (name, text, expected) in valid {
        cli.write(name, text);
        let stderr = cli.error(&["import", name]);
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(!stderr.contains("invalid YAML"), "{name}: {stderr}");
        assert!(!stderr.contains("fix the YAML syntax"), "{name}: {stderr}");
    }
    assert_eq!(cli.api_count(), 0);
}
