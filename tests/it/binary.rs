//! Binary media as API Gateway's binary support describes it: an image through HTTP_PROXY (passed
//! as it is, with or without `contentHandling`), through an HTTP integration (as it is, or base64
//! text with the integration response's `CONVERT_TO_TEXT`), through a MOCK (its template's base64
//! text, or the image with `CONVERT_TO_BINARY`), and a Lambda proxy answer with
//! `isBase64Encoded` (the image when `Accept` is a binary media type, base64 text otherwise).

use crate::common::{client, guest, send, Gw};
use base64::Engine as _;
use bytes::Bytes;
use serde_json::json;

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xff, 0xff, 0x3f,
    0x00, 0x05, 0xfe, 0x02, 0xfe, 0xa7, 0x35, 0x81, 0x84, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A backend answering the PNG as `image/png`.
async fn image_backend() -> std::net::SocketAddr {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(|_req: http::Request<hyper::body::Incoming>| async {
                    let mut resp =
                        http::Response::new(http_body_util::Full::new(Bytes::from_static(PNG)));
                    resp.headers_mut()
                        .insert("content-type", http::HeaderValue::from_static("image/png"));
                    Ok::<_, std::convert::Infallible>(resp)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_and_base64_through_every_integration_kind() {
    let up = image_backend().await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(PNG);
    let lambda = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:image/invocations";
    let proxy = |handling: Option<&str>| {
        let mut i =
            json!({"type": "http_proxy", "httpMethod": "GET", "uri": format!("http://{up}/img")});
        if let Some(h) = handling {
            i["contentHandling"] = json!(h);
        }
        i
    };
    let http = |handling: Option<&str>| {
        let mut response = json!({"statusCode": "200"});
        if let Some(h) = handling {
            response["contentHandling"] = json!(h);
        }
        json!({"type": "http", "httpMethod": "GET", "uri": format!("http://{up}/img"),
               "responses": {"default": response}})
    };
    let mock = |handling: Option<&str>| {
        let mut response = json!({"statusCode": "200", "responseTemplates": {"image/png": b64}});
        if let Some(h) = handling {
            response["contentHandling"] = json!(h);
        }
        json!({"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
               "responses": {"default": response}})
    };
    let get_op = |integration: serde_json::Value| json!({"get": {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": integration}});
    let spec = json!({
        "openapi": "3.0.1",
        "info": {"title": "binary", "version": "1"},
        "x-amazon-apigateway-binary-media-types": ["image/png"],
        "paths": {
            "/proxy": get_op(proxy(None)),
            "/proxy-text": get_op(proxy(Some("CONVERT_TO_TEXT"))),
            "/http": get_op(http(None)),
            "/http-text": get_op(http(Some("CONVERT_TO_TEXT"))),
            "/mock": get_op(mock(None)),
            "/mock-binary": get_op(mock(Some("CONVERT_TO_BINARY"))),
            "/lambda": get_op(json!({"type": "aws_proxy", "httpMethod": "POST", "uri": lambda})),
        }
    });
    let gw = Gw::new();
    gw.import_spec("binary.json", &spec);
    let answer = json!({"statusCode": 200, "headers": {"content-type": "image/png"}, "isBase64Encoded": true, "body": b64});
    gw.ok(&[
        "function",
        "put",
        "image",
        guest("respond").to_str().unwrap(),
        "--env",
        &format!("RESPONSE={answer}"),
    ]);
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();
    let fetch = |path: &'static str, accept: Option<&'static str>| {
        let c = c.clone();
        let url = server.url(path);
        async move {
            let mut headers = Vec::new();
            if let Some(a) = accept {
                headers.push(("accept", a));
            }
            let r = send(&c, "GET", &url, &headers, Bytes::new()).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            r.body
        }
    };
    // HTTP_PROXY passes the image as it is; contentHandling does not apply to a proxy.
    assert_eq!(fetch("/prod/proxy", Some("image/png")).await, PNG);
    assert_eq!(fetch("/prod/proxy-text", Some("image/png")).await, PNG);
    // HTTP: as it is, or base64 text with CONVERT_TO_TEXT.
    assert_eq!(fetch("/prod/http", Some("image/png")).await, PNG);
    assert_eq!(fetch("/prod/http-text", None).await, b64.as_bytes());
    // MOCK: the template's base64 text, or the image with CONVERT_TO_BINARY.
    assert_eq!(fetch("/prod/mock", None).await, b64.as_bytes());
    assert_eq!(fetch("/prod/mock-binary", Some("image/png")).await, PNG);
    // Lambda proxy with isBase64Encoded: decoded when Accept is a binary media type.
    assert_eq!(fetch("/prod/lambda", Some("image/png")).await, PNG);
    assert_eq!(
        fetch("/prod/lambda", Some("application/json")).await,
        b64.as_bytes()
    );
}
