//! Every real-world spec in `../shared/corpus/specs/` goes through the importer, and the outcome
//! is the one the table below states. A corpus file that is not in the table fails the test, so a
//! new file gets a decision. Errors must be located (a line or a JSON pointer) and say what to do;
//! nothing may panic.

use crate::common;

use gw::control::import::{import, ImportError, ImportOptions, Imported, Location};
use gw::model::{IntegrationType, RestApi};
use serde_json::Value;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What importing one corpus file must give.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Imports with at least `routes` methods; `warnings` says whether warnings are expected.
    Ok { routes: usize, warnings: bool },
    /// Fails; the message contains this text.
    Err(&'static str),
    /// Not a spec (the corpus index); skipped, but still listed so the directory stays decided.
    NotASpec,
}

use Expect::*;

const TABLE: &[(&str, Expect)] = &[
    ("INDEX.md", NotASpec),
    // A. Specs with x-amazon-apigateway-* extensions.
    ("aws-serverless-rest-api.swagger.yaml", Ok { routes: 13, warnings: true }),
    ("aws-fargate-rest-nlb.swagger.yaml", Ok { routes: 16, warnings: true }),
    ("aws-powertools-cdk.openapi.json", Ok { routes: 5, warnings: true }),
    ("aws-canary-deployment.openapi.yaml", Ok { routes: 1, warnings: true }),
    ("aws-sam-swagger-cors-proxy.swagger.yaml", Ok { routes: 2, warnings: true }),
    ("aws-sam-integ-swagger1.swagger.json", Ok { routes: 8, warnings: false }),
    // Its TOKEN authorizer, API key and gateway responses are all honoured: nothing to warn about.
    ("aws-localstack-pulumi.swagger.json", Ok { routes: 2, warnings: false }),
    ("aws-localstack-stage-variables.openapi.json", Ok { routes: 1, warnings: false }),
    // Its CORS configuration is honoured: nothing to warn about.
    ("aws-localstack-httpapi-cors.openapi.json", Ok { routes: 3, warnings: false }),
    // B. Plain specs: every operation lacks an integration, which is a warning.
    ("oai-v3.0-petstore.yaml", Ok { routes: 3, warnings: true }),
    ("oai-v3.0-petstore-expanded.yaml", Ok { routes: 4, warnings: true }),
    ("oai-v3.0-uspto.json", Ok { routes: 3, warnings: true }),
    ("oai-v2.0-petstore.yaml", Ok { routes: 3, warnings: true }),
    ("oai-v2.0-uber.json", Ok { routes: 5, warnings: true }),
    ("swagger-petstore-v3.yaml", Ok { routes: 19, warnings: true }),
    ("redocly-museum-3.1.yaml", Ok { routes: 8, warnings: true }),
    // Stripe names sibling path variables differently (/v1/application_fees/{id} next to
    // /v1/application_fees/{fee}/refunds), which API Gateway rejects with this very message.
    // `stripe_with_unified_path_variables_imports_all_468_methods` imports the rest of it.
    (
        "stripe-spec3-2023-09.yaml",
        Err("A sibling ({fee}) of this resource already has a variable path part -- only one is allowed"),
    ),
];

fn corpus_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(common::corpus_dir())
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", common::corpus_dir().display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(common::corpus_dir().join(name)).unwrap()
}

/// The spec as a JSON tree, to check that warning pointers point at something.
fn tree(bytes: &[u8]) -> Value {
    serde_yaml::from_slice(bytes).unwrap()
}

fn import_caught(name: &str, bytes: &[u8]) -> Result<Imported, ImportError> {
    catch_unwind(AssertUnwindSafe(|| {
        import(name, bytes, &ImportOptions::default())
    }))
    .unwrap_or_else(|_| panic!("importing {name} panicked"))
}

fn import_ok(name: &str) -> Imported {
    import_caught(name, &read(name)).unwrap_or_else(|e| panic!("{name} should import: {e}"))
}

/// (method, path) → method, for fact checks.
fn route<'a>(api: &'a RestApi, method: &str, path: &str) -> &'a gw::model::Method {
    api.resources
        .iter()
        .find(|r| r.path == path)
        .and_then(|r| r.resource_methods.get(method))
        .unwrap_or_else(|| panic!("no {method} {path} in {}", api.name))
}

/// An error is located and says what is wrong and what to do.
fn assert_clear_error(name: &str, e: &ImportError) {
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("{name}: ")),
        "error does not name the file: {text}"
    );
    match &e.location {
        Location::Line { line, .. } => {
            assert!(*line > 0);
            assert!(text.contains(&format!("line {line}")), "{text}");
        }
        Location::Pointer(p) => {
            assert!(
                p.is_empty() || p.starts_with('/'),
                "not a JSON pointer: {p}"
            );
            assert!(text.contains("at "), "{text}");
        }
        Location::Document => panic!("{name}: error is not located: {text}"),
    }
    assert!(
        !e.problem.trim().is_empty() && !e.fix.trim().is_empty(),
        "{text}"
    );
    assert!(!text.contains('\n'), "error should be one line: {text}");
}

#[test]
fn every_corpus_file_has_the_expected_outcome() {
    if common::skip_without_corpus() {
        return;
    }
    let table: HashMap<&str, Expect> = TABLE.iter().copied().collect();
    let files = corpus_files();
    let undecided: Vec<&String> = files
        .iter()
        .filter(|f| !table.contains_key(f.as_str()))
        .collect();
    assert!(
        undecided.is_empty(),
        "corpus files without an expected outcome in TABLE: {undecided:?}; add each with Ok/Err/NotASpec"
    );
    let missing: Vec<&&str> = table
        .keys()
        .filter(|k| !files.iter().any(|f| f == *k))
        .collect();
    assert!(
        missing.is_empty(),
        "TABLE names files that are not in the corpus: {missing:?}"
    );

    let mut checked = 0;
    for name in &files {
        let bytes = read(name);
        match table[name.as_str()] {
            NotASpec => continue,
            Ok { routes, warnings } => {
                let imported = import_caught(name, &bytes)
                    .unwrap_or_else(|e| panic!("{name} should import, got: {e}"));
                let api = &imported.api;
                assert!(
                    api.method_count() >= routes,
                    "{name}: {} routes, expected at least {routes}",
                    api.method_count()
                );
                assert_eq!(
                    !imported.warnings.is_empty(),
                    warnings,
                    "{name}: warnings {:#?}",
                    imported.warnings
                );
                // The model's copy of the warnings is what the caller gets, less gw's own notes
                // (what it keeps but does not act on locally), which AWS would not report.
                assert_eq!(
                    api.warnings.len(),
                    imported.warnings.iter().filter(|w| !w.note).count()
                );
                // Every warning points at something that is in the document.
                let root = tree(&bytes);
                for w in &imported.warnings {
                    assert!(!w.message.is_empty());
                    assert!(
                        w.pointer.is_empty() || root.pointer(&w.pointer).is_some(),
                        "{name}: warning pointer {} does not resolve: {}",
                        w.pointer,
                        w.message
                    );
                }
                // A well-formed tree: one root, every other resource has a parent that exists.
                assert_eq!(
                    api.resources
                        .iter()
                        .filter(|r| r.parent_id.is_none())
                        .count(),
                    1
                );
                for r in &api.resources {
                    if let Some(p) = &r.parent_id {
                        assert!(
                            api.resources.iter().any(|q| &q.id == p),
                            "{name}: orphan {}",
                            r.path
                        );
                    }
                }
                // Only real authorizers are kept, each with an id and a type.
                for a in &api.authorizers {
                    assert!(
                        !a.id.is_empty() && !a.kind.is_empty(),
                        "{name}: placeholder authorizer {a:?}"
                    );
                }
            }
            Err(needle) => {
                let e = import_caught(name, &bytes)
                    .err()
                    .unwrap_or_else(|| panic!("{name} should fail"));
                assert!(e.to_string().contains(needle), "{name}: got {e}");
                assert_clear_error(name, &e);
            }
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        TABLE.len() - 1,
        "every spec in the table was imported"
    );
}

#[test]
fn sam_proxy_spec_yields_any_on_greedy_path_with_iam() {
    if common::skip_without_corpus() {
        return;
    }
    let api = import_ok("aws-sam-swagger-cors-proxy.swagger.yaml").api;
    let proxy = route(&api, "ANY", "/{proxy+}");
    assert_eq!(proxy.authorization_type, "AWS_IAM");
    let i = proxy.method_integration.as_ref().unwrap();
    assert_eq!(i.kind, IntegrationType::AwsProxy);
    // The Fn::Sub is read with the local region, and a stage variable for the function's ARN.
    assert_eq!(
        i.uri.as_deref(),
        Some("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${stageVariables.LambdaFunction_Arn}/invocations")
    );
    let root = route(&api, "ANY", "/");
    assert_eq!(root.authorization_type, "NONE");
    let greedy = api
        .resources
        .iter()
        .find(|r| r.path == "/{proxy+}")
        .unwrap();
    assert_eq!(greedy.path_part.as_deref(), Some("{proxy+}"));
    // `swagger: 2.0` is a YAML float there; still read as Swagger 2.0.
}

#[test]
fn fn_sub_uris_warn_with_their_pointer() {
    if common::skip_without_corpus() {
        return;
    }
    let imported = import_ok("aws-sam-swagger-cors-proxy.swagger.yaml");
    let pointers: Vec<&str> = imported
        .warnings
        .iter()
        .filter(|w| w.message.contains("Fn::Sub"))
        .map(|w| w.pointer.as_str())
        .collect();
    assert_eq!(
        pointers,
        [
            "/paths/~1/x-amazon-apigateway-any-method/x-amazon-apigateway-integration/uri",
            "/paths/~1{proxy+}/x-amazon-apigateway-any-method/x-amazon-apigateway-integration/uri",
        ]
    );
    // The serverless sample's authorizer URI and every Lambda URI are Fn::Sub too.
    let imported = import_ok("aws-serverless-rest-api.swagger.yaml");
    let subs: Vec<&gw::control::import::Warning> = imported
        .warnings
        .iter()
        .filter(|w| w.message.contains("Fn::Sub"))
        .collect();
    assert!(subs.iter().any(|w| w.pointer
        == "/securityDefinitions/LambdaAuthorizer/x-amazon-apigateway-authorizer/authorizerUri"));
    assert_eq!(
        subs.iter()
            .filter(|w| w.pointer.ends_with("/x-amazon-apigateway-integration/uri"))
            .count(),
        13,
        "one per operation"
    );
    // And the Display form a user sees leads with the pointer.
    assert!(subs[0]
        .to_string()
        .starts_with(&format!("{}: ", subs[0].pointer)));
}

#[test]
fn pulumi_spec_keeps_binary_media_types_gateway_responses_and_key_source() {
    if common::skip_without_corpus() {
        return;
    }
    let api = import_ok("aws-localstack-pulumi.swagger.json").api;
    assert_eq!(api.binary_media_types, ["*/*"]);
    assert_eq!(api.api_key_source.as_deref(), Some("HEADER"));
    let kinds: Vec<&str> = api.gateway_responses.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "ACCESS_DENIED",
            "EXPIRED_TOKEN",
            "MISSING_AUTHENTICATION_TOKEN",
            "UNAUTHORIZED"
        ]
    );
    assert!(api
        .gateway_responses
        .values()
        .all(|g| g.status_code.is_some()));
    let options = route(&api, "OPTIONS", "/{proxy+}");
    assert_eq!(
        options.method_integration.as_ref().unwrap().kind,
        IntegrationType::Mock
    );
    assert!(options.api_key_required);
    // `statusCode: 200` written as a number becomes the text "200".
    let default = &options
        .method_integration
        .as_ref()
        .unwrap()
        .integration_responses["default"];
    assert_eq!(default.status_code, "200");
    let get = route(&api, "GET", "/just_do_it");
    assert_eq!(get.authorization_type, "CUSTOM");
    assert_eq!(
        get.method_integration.as_ref().unwrap().kind,
        IntegrationType::AwsProxy
    );
    // The TOKEN authorizer is kept; the plain `api_key` scheme is not an authorizer.
    let names: Vec<(&str, &str)> = api
        .authorizers
        .iter()
        .map(|a| (a.name.as_str(), a.kind.as_str()))
        .collect();
    assert_eq!(names, [("Auth0", "TOKEN")]);
    assert_eq!(
        get.authorizer_id.as_deref(),
        Some(api.authorizers[0].id.as_str())
    );
}

#[test]
fn powertools_spec_has_a_cognito_authorizer() {
    if common::skip_without_corpus() {
        return;
    }
    let imported = import_ok("aws-powertools-cdk.openapi.json");
    let api = &imported.api;
    assert_eq!(api.authorizers.len(), 1);
    let a = &api.authorizers[0];
    assert_eq!(
        (a.name.as_str(), a.kind.as_str()),
        ("cognito-authorizer", "COGNITO_USER_POOLS")
    );
    assert_eq!(a.provider_arns.len(), 1);
    assert_eq!(a.auth_type.as_deref(), Some("cognito_user_pools"));
    // Its `security` is root-level, which AWS does not apply: methods stay NONE, with a warning.
    assert!(api.routes().all(|(_, m)| m.authorization_type == "NONE"));
    assert!(imported.warnings.iter().any(|w| w.pointer == "/security"));
    // CDK-style ${lambdaArn} placeholders are kept and warned about, once per operation.
    let placeholder = imported
        .warnings
        .iter()
        .filter(|w| w.message.contains("placeholder"))
        .count();
    assert_eq!(placeholder, 5);
    // One validator, named as the default for every method.
    assert_eq!(api.request_validators.len(), 1);
    let basic = &api.request_validators[0];
    assert_eq!(basic.name, "basic");
    assert!(api
        .routes()
        .all(|(_, m)| m.request_validator_id.as_deref() == Some(basic.id.as_str())));
}

#[test]
fn museum_openapi_31_imports() {
    if common::skip_without_corpus() {
        return;
    }
    let imported = import_ok("redocly-museum-3.1.yaml");
    let api = &imported.api;
    assert_eq!(api.method_count(), 8);
    assert_eq!(api.version.as_deref(), Some("1.2.1"));
    let _ = route(api, "PATCH", "/special-events/{eventId}");
    let _ = route(api, "POST", "/tickets");
    // HTTP basic auth has no API Gateway meaning: no authorizer, no authorization.
    assert!(api.authorizers.is_empty());
    assert!(api.routes().all(|(_, m)| m.authorization_type == "NONE"));
    // It is read tolerantly without calling the document invalid.
    assert!(!imported
        .warnings
        .iter()
        .any(|w| w.message.contains("not a valid")));
}

#[test]
fn other_corpus_facts() {
    if common::skip_without_corpus() {
        return;
    }
    // Stage variables in an HTTP_PROXY URI: kept, no warning.
    let imported = import_ok("aws-localstack-stage-variables.openapi.json");
    let i = route(&imported.api, "GET", "/path1")
        .method_integration
        .clone()
        .unwrap();
    assert_eq!(i.kind, IntegrationType::HttpProxy);
    assert_eq!(
        i.uri.as_deref(),
        Some("https://${stageVariables.TestHost}/${stageVariables.testPath}?${stageVariables.querystring}")
    );

    // HTTP API style: CORS kept, reusable integrations resolved through $ref, REQUEST authorizer.
    let api = import_ok("aws-localstack-httpapi-cors.openapi.json").api;
    assert!(api.cors_configuration.is_some());
    assert!(api.routes().all(|(_, m)| m
        .method_integration
        .as_ref()
        .is_some_and(|i| i.kind == IntegrationType::HttpProxy
            && i.payload_format_version.as_deref() == Some("1.0"))));
    let pet = route(&api, "GET", "/pets/{petId}");
    assert_eq!(pet.authorization_type, "CUSTOM");
    assert_eq!(api.authorizers[0].kind, "REQUEST");

    // Fargate sample: every HTTP_PROXY goes over a VPC link; the OPTIONS are MOCK.
    let api = import_ok("aws-fargate-rest-nlb.swagger.yaml").api;
    let http: Vec<_> = api
        .routes()
        .filter_map(|(_, m)| m.method_integration.as_ref())
        .filter(|i| i.kind == IntegrationType::HttpProxy)
        .collect();
    assert_eq!(http.len(), 15);
    assert!(http.iter().all(|i| i.connection_type == "VPC_LINK"));

    // The canary sample's DynamoDB integration is an AWS integration with a {year} resource.
    let api = import_ok("aws-canary-deployment.openapi.yaml").api;
    let get = route(&api, "GET", "/{year}");
    assert_eq!(
        get.method_integration.as_ref().unwrap().kind,
        IntegrationType::Aws
    );
    // Three validators; the method names `params`.
    assert_eq!(api.request_validators.len(), 3);
    let params = api
        .request_validators
        .iter()
        .find(|v| v.name == "params")
        .unwrap();
    assert!(params.validate_request_parameters && !params.validate_request_body);
    assert_eq!(
        get.request_validator_id.as_deref(),
        Some(params.id.as_str())
    );

    // SAM's PetStore: HTTP integrations with parameter mappings, MOCK OPTIONS.
    let api = import_ok("aws-sam-integ-swagger1.swagger.json").api;
    assert_eq!(
        route(&api, "OPTIONS", "/pets")
            .method_integration
            .as_ref()
            .unwrap()
            .kind,
        IntegrationType::Mock
    );
    assert_eq!(
        route(&api, "GET", "/pets")
            .method_integration
            .as_ref()
            .unwrap()
            .kind,
        IntegrationType::Http
    );

    // The serverless sample: TOKEN authorizer on every method, gateway responses.
    let api = import_ok("aws-serverless-rest-api.swagger.yaml").api;
    assert!(api.routes().all(|(_, m)| m.authorization_type == "CUSTOM"));
    assert!(api.gateway_responses.contains_key("BAD_REQUEST_BODY"));

    // Plain specs: routes listed without integrations.
    let api = import_ok("swagger-petstore-v3.yaml").api;
    assert!(api.routes().all(|(_, m)| m.method_integration.is_none()));
    assert!(
        api.authorizers.is_empty(),
        "oauth2 / api_key schemes are not authorizers"
    );
}

/// Stripe with each level's path variables renamed to one name (what a user has to do before
/// importing it into API Gateway): all 318 paths / 468 operations come through.
#[test]
fn stripe_with_unified_path_variables_imports_all_468_methods() {
    if common::skip_without_corpus() {
        return;
    }
    let mut root = tree(&read("stripe-spec3-2023-09.yaml"));
    let renamed = common::stripe::unify_sibling_path_variables(&mut root);
    assert!(renamed > 0);
    let bytes = serde_yaml::to_string(&root).unwrap();
    let imported = import_caught("stripe.yaml", bytes.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imported.api.method_count(), 468);
    assert_eq!(imported.api.name, "Stripe API");
    assert!(!imported
        .warnings
        .iter()
        .any(|w| w.message.contains("not a valid")));
}

#[test]
fn stripe_error_points_at_the_path() {
    if common::skip_without_corpus() {
        return;
    }
    let name = "stripe-spec3-2023-09.yaml";
    let e = import_caught(name, &read(name)).err().unwrap();
    assert_eq!(
        e.location,
        Location::Pointer("/paths/~1v1~1application_fees~1{id}".into())
    );
    assert!(e.fix.contains("one parameter name at each level"), "{e}");
}

/// The same files through the real CLI: same route counts, same errors, nothing on stderr but
/// warnings, and nothing stored on failure.
#[test]
fn cli_imports_agree_with_the_library() {
    if common::skip_without_corpus() {
        return;
    }
    let gw = common::Gw::new();
    let cases = [
        "aws-sam-swagger-cors-proxy.swagger.yaml",
        "aws-localstack-pulumi.swagger.json",
        "aws-powertools-cdk.openapi.json",
        "redocly-museum-3.1.yaml",
        "oai-v2.0-petstore.yaml",
    ];
    for (i, name) in cases.iter().enumerate() {
        let path = common::corpus_dir().join(name);
        let expected = import_ok(name);
        let api_name = format!("corpus-{i}");
        let out = gw.ok(&[
            "import",
            path.to_str().unwrap(),
            "--name",
            &api_name,
            "--json",
        ]);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["name"], api_name.as_str());
        assert_eq!(
            v["warnings"].as_array().unwrap().len(),
            expected.warnings.len(),
            "{name}"
        );
        let routes: Value =
            serde_json::from_str(&gw.ok(&["routes", "--api", &api_name, "--json"])).unwrap();
        assert_eq!(
            routes["item"].as_array().unwrap().len(),
            expected.api.method_count(),
            "{name}"
        );
    }
    let routes: Value =
        serde_json::from_str(&gw.ok(&["routes", "--api", "corpus-0", "--json"])).unwrap();
    assert!(routes["item"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["httpMethod"] == "ANY"
            && r["path"] == "/{proxy+}"
            && r["authorizationType"] == "AWS_IAM"));

    // The table form prints warnings on stderr, each led by its pointer.
    let path = common::corpus_dir().join("aws-sam-swagger-cors-proxy.swagger.yaml");
    let out = gw.run(&["import", path.to_str().unwrap(), "--name", "table-form"]);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("2 warning(s):\n"), "{stderr}");
    assert!(stderr.contains(
        "  warning: /paths/~1{proxy+}/x-amazon-apigateway-any-method/x-amazon-apigateway-integration/uri: a CloudFormation intrinsic (Fn::Sub)"
    ));

    // Stripe fails in one located line, and nothing is stored.
    let before = gw.store().read(|tx| tx.api_summaries()).unwrap().len();
    let stripe = common::corpus_dir().join("stripe-spec3-2023-09.yaml");
    let err = gw.fails(&["import", stripe.to_str().unwrap()]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ")
            && err.contains("stripe-spec3-2023-09.yaml: at /paths/~1v1~1application_fees~1{id}: "),
        "{err}"
    );
    assert_eq!(
        gw.store().read(|tx| tx.api_summaries()).unwrap().len(),
        before
    );
}
