//! `lambda-hello`: the hello handler written against gw's handler world (`wit/handler.wit`), the
//! Rust twin of `functions/python/hello/app.py` and `functions/javascript/hello/index.mjs` (the
//! three answer the same body). gw keeps the instance warm: `COUNT` counts the invocations this
//! execution environment has served.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use serde::de::IgnoredAny;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

wit_bindgen::generate!({ path: "../../wit/handler.wit", world: "handler" });

static COUNT: AtomicU64 = AtomicU64::new(0);

/// The event's top-level keys and its `requestContext`'s, sorted, values skipped.
struct Keys {
    top: BTreeMap<String, IgnoredAny>,
    request_context: BTreeMap<String, IgnoredAny>,
}

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Keys {
                    top: BTreeMap::new(),
                    request_context: BTreeMap::new(),
                };
                while let Some(k) = map.next_key::<String>()? {
                    if k == "requestContext" {
                        keys.request_context = map
                            .next_value::<Option<BTreeMap<String, IgnoredAny>>>()?
                            .unwrap_or_default();
                        keys.top.insert(k, IgnoredAny);
                    } else {
                        let v = map.next_value::<IgnoredAny>()?;
                        keys.top.insert(k, v);
                    }
                }
                Ok(keys)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The answer's body, fields in this order in all three languages.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Hello {
    message: String,
    event_keys: Vec<String>,
    request_context_keys: Vec<String>,
    function_name: String,
    request_id: String,
    remaining_ms: [u64; 2],
}

/// `context.get_remaining_time_in_millis()`, as Lambda's runtimes compute it.
fn remaining_ms(context: &Context) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    context.deadline_ms.saturating_sub(now)
}

fn fail(error_type: &str, message: String) -> HandlerError {
    HandlerError {
        error_type: error_type.into(),
        error_message: message,
        stack_trace: Vec::new(),
    }
}

struct Hello_;

impl Guest for Hello_ {
    fn init() -> Result<(), HandlerError> {
        Ok(())
    }

    fn handle(event: String, context: Context) -> Result<String, HandlerError> {
        let count = COUNT.fetch_add(1, Ordering::Relaxed) + 1;
        let req: ApiGatewayProxyRequest = serde_json::from_str(&event)
            .map_err(|e| fail("Runtime.UnmarshalError", e.to_string()))?;
        // The keys as the event has them (the typed struct would add every field it knows),
        // read without building the values.
        let raw: Keys = serde_json::from_str(&event)
            .map_err(|e| fail("Runtime.UnmarshalError", e.to_string()))?;
        let name = req
            .query_string_parameters
            .first("name")
            .filter(|n| !n.is_empty())
            .unwrap_or("world")
            .to_owned();
        // `?waitMs=N`: wait N ms between the two readings of the time remaining.
        let wait: u64 = req
            .query_string_parameters
            .first("waitMs")
            .and_then(|w| w.parse().ok())
            .unwrap_or(0);
        let r1 = remaining_ms(&context);
        if wait > 0 {
            std::thread::sleep(Duration::from_millis(wait));
        }
        let r2 = remaining_ms(&context);
        let body = Hello {
            message: format!("Hello, {name}!"),
            event_keys: raw.top.into_keys().collect(),
            request_context_keys: raw.request_context.into_keys().collect(),
            function_name: context.function_name,
            request_id: context.aws_request_id,
            remaining_ms: [r1, r2],
        };
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("x-count", HeaderValue::from(count));
        headers.insert("x-language", HeaderValue::from_static("rust"));
        let mut resp = ApiGatewayProxyResponse::default();
        resp.status_code = 200;
        resp.headers = headers;
        resp.body = Some(Body::Text(
            serde_json::to_string(&body).map_err(|e| fail("Runtime.MarshalError", e.to_string()))?,
        ));
        serde_json::to_string(&resp).map_err(|e| fail("Runtime.MarshalError", e.to_string()))
    }
}

export!(Hello_);
