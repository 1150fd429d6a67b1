//! An integration whose `requestParameters` map many special headers (hop-by-hop, framing and
//! AWS-reserved names, all at once) still answers: the mapped values that would break the
//! request's framing or the connection (`Connection`, `Content-Length`, `Transfer-Encoding`,
//! `Expect`, `Upgrade`, `TE`, `Trailer`, `Keep-Alive`, `Proxy-Authorization`) are not sent; the
//! others are.

use crate::common::{client, echo_upstream, get, Gw};
use serde_json::{json, Value};

const SPECIAL: [(&str, &str); 25] = [
    ("Connection", "Upgrade, keep-alive"),
    ("Content-Length", "5"),
    ("Transfer-Encoding", "chunked"),
    ("Expect", "100-continue"),
    ("Upgrade", "websocket"),
    ("Keep-Alive", "timeout=5"),
    ("TE", "trailers"),
    ("Trailer", "X-Checksum"),
    ("Proxy-Authorization", "Basic eDp5"),
    ("Host", "backend.example"),
    ("Via", "1.1 edge"),
    ("Date", "Mon, 01 Jan 2024 00:00:00 GMT"),
    ("Server", "mapped"),
    ("Authorization", "Bearer mapped"),
    ("User-Agent", "mapped-agent"),
    ("X-Amzn-Trace-Id", "Root=1-abc"),
    ("X-Amz-Date", "20240101T000000Z"),
    ("X-Forwarded-For", "10.0.0.1"),
    ("X-Forwarded-Proto", "https"),
    ("Content-Type", "application/json"),
    ("Accept-Encoding", "identity"),
    ("Cookie", "a=b"),
    ("Range", "bytes=0-10"),
    ("Max-Forwards", "3"),
    ("WWW-Authenticate", "Basic"),
];

const DROPPED: [&str; 9] = [
    "connection",
    "content-length",
    "transfer-encoding",
    "expect",
    "upgrade",
    "keep-alive",
    "te",
    "trailer",
    "proxy-authorization",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_mapped_special_headers_are_answered_and_framing_is_gws() {
    let up = echo_upstream("mapped").await;
    let params: serde_json::Map<String, Value> = SPECIAL
        .iter()
        .map(|(h, v)| {
            (
                format!("integration.request.header.{h}"),
                json!(format!("'{v}'")),
            )
        })
        .collect();
    let mut paths = serde_json::Map::new();
    for (path, kind) in [("/proxy", "http_proxy"), ("/plain", "http")] {
        let mut integration = json!({
            "type": kind,
            "httpMethod": "GET",
            "uri": format!("http://{up}/echo"),
            "timeoutInMillis": 5000,
            "requestParameters": params,
        });
        if kind == "http" {
            integration["responses"] = json!({"default": {"statusCode": "200"}});
        }
        paths.insert(
            path.to_owned(),
            json!({"get": {"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": integration}}),
        );
    }
    let gw = Gw::new();
    gw.import_spec(
        "mapped.json",
        &json!({"openapi": "3.0.1", "info": {"title": "mapped", "version": "1"}, "paths": paths}),
    );
    gw.ok(&["deploy", "--stage", "prod"]);
    let server = gw.serve(&[]);
    let c = client();
    for path in ["/prod/proxy", "/prod/plain"] {
        for _ in 0..3 {
            let r = get(&c, &server.url(path)).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            let seen: Value = serde_json::from_str(&r.text()).unwrap();
            let h = &seen["headers"];
            for name in DROPPED {
                let mapped = SPECIAL
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| *v)
                    .unwrap();
                assert_ne!(
                    h[name], mapped,
                    "{path}: the mapped {name} reached the backend: {h}"
                );
            }
            for (name, value) in [
                ("host", "backend.example"),
                ("via", "1.1 edge"),
                ("authorization", "Bearer mapped"),
                ("user-agent", "mapped-agent"),
                ("x-amz-date", "20240101T000000Z"),
                ("x-forwarded-for", "10.0.0.1"),
                ("range", "bytes=0-10"),
                ("cookie", "a=b"),
            ] {
                assert_eq!(h[name], value, "{path}: {name}: {h}");
            }
        }
    }
}
