//! Mapping templates (VTL) through the real server: a MOCK whose request template picks the status
//! from the request (a query parameter, the JSON body) and whose response templates build the
//! answer from `$input.params`, `$input.path`, `#foreach`, `$context` and `$util`; a template gw
//! cannot run answers AWS's 500.

use crate::common;

use bytes::Bytes;
use common::{client, send, Gw};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_templates_are_velocity() {
    let request = r#"#set($wanted = $input.params('status'))
{"statusCode": #if($wanted == "")200#else$wanted#end}"#;
    let found = r##"#set($tags = $input.params().querystring.get('tags').split(','))
{
  "id": "$input.params('id')",
  "name": "$util.escapeJavaScript($input.params('name'))",
  "tags": [#foreach($t in $tags)"$t.trim()"#if($foreach.hasNext), #end#end],
  "requestId": "$context.requestId",
  "stage": "$context.stage",
  "greeting": "$stageVariables.greeting"
}"##;
    let body_request = r#"{"statusCode": #if($input.path('$.valid'))201#{else}422#end}"#;
    let spec = json!({
        "openapi": "3.0.1",
        "info": {"title": "vtl", "version": "1"},
        "paths": {
            "/pets/{id}": {"get": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": request},
                    "responses": {
                        "4\\d{2}": {
                            "statusCode": "404",
                            "responseTemplates": {"application/json": "{\"message\": \"no pet $input.params('id')\"}"}
                        },
                        "default": {
                            "statusCode": "200",
                            "responseTemplates": {"application/json": found}
                        }
                    }
                }
            }},
            "/pets": {"post": {
                "responses": {"201": {"description": "created"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": body_request},
                    "responses": {
                        "201": {"statusCode": "201", "responseTemplates": {"application/json": "created"}},
                        "default": {"statusCode": "422", "responseTemplates": {"application/json": "invalid"}}
                    }
                }
            }},
            "/teapot": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {
                        "statusCode": "200",
                        "responseTemplates": {"application/json": "#set($context.responseOverride.status = 418)#set($context.responseOverride.header.X-Why = \"short and stout\")status $context.responseOverride.status"}
                    }}
                }
            }},
            "/overridden": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "#set($context.responseOverride.status = 451)#set($context.requestOverride.header.X-Asked = \"by the request\"){\"statusCode\": 200}"},
                    "responses": {"default": {
                        "statusCode": "200",
                        "responseTemplates": {"application/json": "#set($m = {})#set($old = $m.put(\"k\", \"v\"))$context.requestOverride.header.X-Asked|$m"}
                    }}
                }
            }},
            "/broken": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {
                        "statusCode": "200",
                        "responseTemplates": {"application/json": "#if($x) never closed"}
                    }}
                }
            }}
        }
    });
    let gw = Gw::new();
    let warnings = gw.import_spec("vtl.json", &spec);
    assert_eq!(
        warnings,
        json!([{
            "pointer": "/paths/~1broken/get/x-amazon-apigateway-integration/responses/default/responseTemplates/application~1json",
            "message": "mapping template, at byte 0: #if without #end; calls answered through this response get 500 until it is fixed"
        }]),
        "only the broken template is warned about"
    );
    gw.ok(&["deploy", "--stage", "prod", "--var", "greeting=hi"]);
    let server = gw.serve(&[]);
    let c = client();

    let r = send(
        &c,
        "GET",
        &server.url("/prod/pets/7?tags=a,%20b&name=R%22ex"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_str(&r.text()).expect("the template makes JSON");
    assert_eq!(v["id"], "7");
    assert_eq!(v["name"], "R\"ex");
    assert_eq!(v["tags"], json!(["a", "b"]));
    assert_eq!(v["stage"], "prod");
    assert_eq!(v["greeting"], "hi");
    assert_eq!(
        Some(v["requestId"].as_str().unwrap()),
        r.header("x-amzn-requestid")
    );

    // The request template asks for 404: the `4\d{2}` integration response answers.
    let r = send(
        &c,
        "GET",
        &server.url("/prod/pets/9?status=404"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, r#"{"message": "no pet 9"}"#)
    );

    // The request template reads the JSON body.
    let json_type = [("content-type", "application/json")];
    let pets = server.url("/prod/pets");
    let post = |body: &'static str| send(&c, "POST", &pets, &json_type, Bytes::from(body));
    let r = post(r#"{"valid": true}"#).await;
    assert_eq!((r.status, r.text().as_str()), (201, "created"));
    let r = post(r#"{"valid": false}"#).await;
    assert_eq!((r.status, r.text().as_str()), (422, "invalid"));

    // `$context.responseOverride`: the template sets the status and a header.
    let r = send(&c, "GET", &server.url("/prod/teapot"), &[], Bytes::new()).await;
    assert_eq!((r.status, r.text().as_str()), (418, "status 418"));
    assert_eq!(r.header("x-why"), Some("short and stout"));

    // Overrides set by the request template: its status holds for the answer, and its
    // requestOverride is visible to the response template; `$map.put` changes the map.
    let r = send(
        &c,
        "GET",
        &server.url("/prod/overridden"),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (451, "by the request|{k=v}"));

    // A template gw cannot run: AWS's 500, and the server goes on.
    let r = send(&c, "GET", &server.url("/prod/broken"), &[], Bytes::new()).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (500, r#"{"message": "Internal server error"}"#)
    );
    let r = send(&c, "GET", &server.url("/prod/pets/1"), &[], Bytes::new()).await;
    assert_eq!(r.status, 200);
    assert!(!server.log().contains("panicked"));
}

/// An HTTP (non-proxy) integration with a request template (the body reshaped before it reaches
/// the backend) and a response template (the backend's JSON reshaped for the client), and AWS's
/// `passthroughBehavior` rules for a content type without a template.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_integrations_map_bodies_both_ways() {
    let backend = common::echo_upstream("mapped").await;
    let request = r#"#set($context.requestOverride.header.X-Mapped = "yes")
{"petName": "$input.path('$.name')", "id": "$input.params('id')", "stage": "$context.stage"}"#;
    let response = r#"#set($echo = $util.parseJson($input.path('$.body')))
{"sentPath": "$input.path('$.path')", "sentName": "$echo.petName", "backend": "$input.path('$.tag')", "mapped": "$input.path('$.headers.x-mapped')"}"#;
    let integration = |passthrough: &str| {
        json!({
            "type": "http",
            "httpMethod": "POST",
            "uri": format!("http://{backend}/store/{{id}}"),
            "passthroughBehavior": passthrough,
            "requestParameters": {"integration.request.path.id": "method.request.path.id"},
            "requestTemplates": {"application/json": request},
            "responses": {"default": {
                "statusCode": "200",
                "responseTemplates": {"application/json": response}
            }}
        })
    };
    let spec = json!({
        "openapi": "3.0.1",
        "info": {"title": "mapped", "version": "1"},
        "paths": {
            "/pets/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "put": {
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": integration("when_no_match")
                },
                "post": {
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": integration("never")
                }
            }
        }
    });
    let gw = Gw::new();
    let warnings = gw.import_spec("mapped.json", &spec);
    assert_eq!(warnings, json!([]), "HTTP mapping templates are applied");
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();
    let url = server.url("/prod/pets/5");

    let json_type = [("content-type", "application/json")];
    let r = send(
        &c,
        "PUT",
        &url,
        &json_type,
        Bytes::from(r#"{"name": "Rex"}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: Value = serde_json::from_str(&r.text()).expect("the response template makes JSON");
    assert_eq!(
        v,
        json!({"sentPath": "/store/5", "sentName": "Rex", "backend": "mapped", "mapped": "yes"})
    );

    // No template for text/plain: WHEN_NO_MATCH passes the body through unchanged...
    let text_type = [("content-type", "text/plain")];
    let r = send(&c, "PUT", &url, &text_type, Bytes::from("just text")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v: Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(
        v["sentName"], "",
        "the backend got the raw body, not the template's JSON"
    );
    // ...NEVER refuses it, as API Gateway does.
    let r = send(&c, "POST", &url, &text_type, Bytes::from("just text")).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (415, r#"{"message":"Unsupported Media Type"}"#)
    );
}

/// Gateway-response templates see the whole `$context` and the stage's variables, whatever
/// phase the request failed in: before a route matched (MISSING_AUTHENTICATION_TOKEN) and after
/// (DEFAULT_4XX for a missing required parameter). Regression: they used to render from the
/// request head alone, so `$context.stage`, `$context.apiId`, `$context.resourcePath` and
/// `$stageVariables.*` came out empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_response_templates_see_the_whole_context() {
    let template = r#"{"stage":"$context.stage","api":"$context.apiId","path":"$context.resourcePath","v":"$stageVariables.x","type":"$context.error.responseType","ip":"$context.identity.sourceIp","method":"$context.httpMethod","full":"$context.path"}"#;
    let spec = json!({
        "openapi": "3.0.1",
        "info": {"title": "responses", "version": "1"},
        "x-amazon-apigateway-request-validators": {
            "params": {"validateRequestParameters": true, "validateRequestBody": false}
        },
        "x-amazon-apigateway-gateway-responses": {
            "MISSING_AUTHENTICATION_TOKEN": {
                "statusCode": 404,
                "responseTemplates": {"application/json": template}
            },
            "DEFAULT_4XX": {
                "responseParameters": {"gatewayresponse.header.x-stage": "context.stage"},
                "responseTemplates": {"application/json": template}
            }
        },
        "paths": {
            "/needs": {"get": {
                "x-amazon-apigateway-request-validator": "params",
                "parameters": [{"name": "q", "in": "query", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {"statusCode": "200"}}
                }
            }}
        }
    });
    let gw = Gw::new();
    gw.import_spec("responses.json", &spec);
    gw.ok(&["deploy", "--stage", "prod", "--var", "x=hello"]);
    let api: Value = serde_json::from_str(&gw.ok(&["apis", "--json"])).unwrap();
    let api_id = api[0]["id"].as_str().unwrap().to_owned();
    let server = gw.serve(&[]);
    let c = client();

    // No route: MISSING_AUTHENTICATION_TOKEN, customised to 404 with the template.
    let r = send(&c, "GET", &server.url("/prod/nowhere"), &[], Bytes::new()).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let v: Value = serde_json::from_str(&r.text()).expect("the template makes JSON");
    assert_eq!(v["stage"], "prod");
    assert_eq!(v["api"], api_id.as_str());
    assert_eq!(v["v"], "hello");
    assert_eq!(v["type"], "MISSING_AUTHENTICATION_TOKEN");
    assert_eq!(v["ip"], "127.0.0.1");
    assert_eq!(v["method"], "GET");
    assert_eq!(v["full"], "/prod/nowhere");
    assert_eq!(v["path"], "", "no resource matched");

    // Routed, then refused by the validator: DEFAULT_4XX sees the resource too.
    let r = send(&c, "GET", &server.url("/prod/needs"), &[], Bytes::new()).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let v: Value = serde_json::from_str(&r.text()).expect("the template makes JSON");
    assert_eq!(v["stage"], "prod");
    assert_eq!(v["api"], api_id.as_str());
    assert_eq!(v["path"], "/needs");
    assert_eq!(v["v"], "hello");
    assert_eq!(v["type"], "BAD_REQUEST_PARAMETERS");
    assert_eq!(r.header("x-stage"), Some("prod"));

    // With the parameter, the method answers.
    let r = send(&c, "GET", &server.url("/prod/needs?q=1"), &[], Bytes::new()).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// One reading of a query string for mapping templates and the Lambda event: `&` and `;` both
/// separate pairs, `+` and `%20` are spaces, repeated keys keep every value (templates and
/// `queryStringParameters` see the last), empty values and bare keys are empty strings.
/// Regression: templates split on `&` only, so `a=1;b=2` was one pair there and two in the event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_and_the_lambda_event_read_a_query_string_alike() {
    let template = r#"{"a":"$input.params('a')","b":"$input.params('b')","c":"$input.params('c')","d":"$input.params('d')","e":"$input.params('e')","f":"$input.params('f')","g":"$input.params().querystring.get('g')"}"#;
    let spec = json!({
        "openapi": "3.0.1",
        "info": {"title": "query", "version": "1"},
        "paths": {
            "/t": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {
                        "statusCode": "200",
                        "responseTemplates": {"application/json": template}
                    }}
                }
            }},
            "/e": {"get": {
                "responses": {"200": {"description": "ok"}},
                "x-amazon-apigateway-integration": {
                    "type": "aws_proxy",
                    "httpMethod": "POST",
                    "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:echo/invocations"
                }
            }}
        }
    });
    let gw = Gw::new();
    gw.import_spec("query.json", &spec);
    gw.ok(&[
        "function",
        "put",
        "echo",
        common::guest("echo").to_str().unwrap(),
    ]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();
    let query = "?a=1;b=2&c=x+y&d=x%20y&a=3&e=&f&g=%E2%9C%93";

    let r = send(
        &c,
        "GET",
        &server.url(&format!("/prod/t{query}")),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t: Value = serde_json::from_str(&r.text()).expect("the template makes JSON");
    assert_eq!(
        t,
        json!({"a": "3", "b": "2", "c": "x y", "d": "x y", "e": "", "f": "", "g": "✓"})
    );

    let r = send(
        &c,
        "GET",
        &server.url(&format!("/prod/e{query}")),
        &[],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-gw-function-version"), Some("echo:1"));
    let event: Value = serde_json::from_str(&r.text()).expect("echo answers the event");
    assert_eq!(
        event["queryStringParameters"],
        json!({"a": "3", "b": "2", "c": "x y", "d": "x y", "e": "", "f": "", "g": "✓"})
    );
    assert_eq!(
        event["multiValueQueryStringParameters"],
        json!({"a": ["1", "3"], "b": ["2"], "c": ["x y"], "d": ["x y"], "e": [""], "f": [""], "g": ["✓"]})
    );
    // A MOCK answer names no function.
    let r = send(&c, "GET", &server.url("/prod/t"), &[], Bytes::new()).await;
    assert_eq!(r.header("x-gw-function-version"), None);

    // gw's answer fields switch off together.
    drop(server);
    let quiet = gw.serve(&["--no-deployment-header"]);
    let r = send(&c, "GET", &quiet.url("/prod/e"), &[], Bytes::new()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-gw-function-version"), None);
    assert_eq!(r.header("x-gw-deployment"), None);
}
