//! `x-amazon-apigateway-cors` through the real server: preflights answered by the gateway
//! (without an OPTIONS route), configured headers replacing the integration's on CORS requests,
//! nothing for origins that are not allowed.

use crate::common;

use bytes::Bytes;
use common::{client, send, Gw};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_answers_preflights_and_sets_the_configured_headers() {
    let spec = json!({
        "openapi": "3.0.1",
        "info": {"title": "cors", "version": "1"},
        "x-amazon-apigateway-cors": {
            "allowOrigins": ["https://app.example", "http://*"],
            "allowMethods": ["GET", "POST"],
            "allowHeaders": ["authorization", "content-type"],
            "exposeHeaders": ["x-request-id"],
            "maxAge": 300,
            "allowCredentials": true
        },
        "paths": {"/items": {"get": {
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "mock",
                "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                "responses": {"default": {
                    "statusCode": "200",
                    "responseParameters": {"method.response.header.Access-Control-Allow-Origin": "'*'"},
                    "responseTemplates": {"application/json": "items"}
                }}
            }
        }}}
    });
    let gw = Gw::new();
    let warnings = gw.import_spec("cors.json", &spec);
    assert_eq!(warnings, json!([]), "the CORS configuration is honoured");
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();
    let url = server.url("/prod/items");
    let app = "https://app.example";

    // A preflight: answered by the gateway, though the API has no OPTIONS route.
    let pre = [("origin", app), ("access-control-request-method", "POST")];
    let r = send(&c, "OPTIONS", &url, &pre, Bytes::new()).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some(app));
    assert_eq!(r.header("access-control-allow-methods"), Some("GET,POST"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("authorization,content-type")
    );
    assert_eq!(r.header("access-control-max-age"), Some("300"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let local = [
        ("origin", "http://localhost:3000"),
        ("access-control-request-method", "GET"),
    ];
    let r = send(&c, "OPTIONS", &url, &local, Bytes::new()).await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    // An origin that is not allowed: answered, without CORS headers.
    let evil = [
        ("origin", "https://evil.example"),
        ("access-control-request-method", "GET"),
    ];
    let r = send(&c, "OPTIONS", &url, &evil, Bytes::new()).await;
    assert_eq!(r.status, 204);
    assert!(r.header("access-control-allow-origin").is_none());
    // An OPTIONS that is not a preflight is routed as usual: there is no OPTIONS route.
    let r = send(&c, "OPTIONS", &url, &[("origin", app)], Bytes::new()).await;
    assert_eq!(r.status, 403, "{}", r.text());

    // A CORS request: the configured headers replace the integration's `*`.
    let r = send(&c, "GET", &url, &[("origin", app)], Bytes::new()).await;
    assert_eq!((r.status, r.text().as_str()), (200, "items"));
    assert_eq!(r.header("access-control-allow-origin"), Some(app));
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("x-request-id")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let r = send(
        &c,
        "GET",
        &url,
        &[("origin", "https://evil.example")],
        Bytes::new(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        !r.headers
            .keys()
            .any(|k| k.as_str().starts_with("access-control-")),
        "{:?}",
        r.headers
    );
    // Not a CORS request: the integration's own headers stay.
    let r = send(&c, "GET", &url, &[], Bytes::new()).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxied_backends_cors_headers_are_replaced_and_its_others_kept() {
    use tokio::io::AsyncWriteExt;
    // A backend with CORS fields of its own, as many frameworks send.
    let up = common::raw_upstream(|mut s| async move {
        while common::read_head(&mut s).await.is_some() {
            let answer = b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\n\
                Access-Control-Max-Age: 5\r\nX-Backend: yes\r\nContent-Length: 7\r\n\r\nproxied";
            if s.write_all(answer).await.is_err() {
                return;
            }
        }
    })
    .await;
    let spec = json!({
        "openapi": "3.0.1",
        "info": {"title": "cors-proxy", "version": "1"},
        "x-amazon-apigateway-cors": {"allowOrigins": ["https://app.example"]},
        "paths": {"/items": {"get": {
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "uri": format!("http://{up}/items")
            }
        }}}
    });
    let gw = Gw::new();
    gw.import_spec("cors-proxy.json", &spec);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();
    let url = server.url("/prod/items");
    let app = "https://app.example";
    let r = send(&c, "GET", &url, &[("origin", app)], Bytes::new()).await;
    assert_eq!((r.status, r.text().as_str()), (200, "proxied"));
    let origins: Vec<_> = r
        .headers
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(origins, [app], "{:?}", r.headers);
    assert!(
        r.header("access-control-max-age").is_none(),
        "{:?}",
        r.headers
    );
    assert_eq!(r.header("x-backend"), Some("yes"));
    // Not a CORS request: the backend's fields go through as it sent them.
    let r = send(&c, "GET", &url, &[], Bytes::new()).await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-max-age"), Some("5"));
    assert_eq!(r.header("content-length"), Some("7"));
}
