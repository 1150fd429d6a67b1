//! `fan-out`: orchestration as code. A `wasi:http/proxy` component that answers one request with
//! several service calls made at once, and merges their answers into one JSON object.
//!
//! The calls are the `CALLS` environment variable, `NAME=URL` pairs separated by `;`, where `{id}`
//! in a URL is the request path's last segment. Unset, it is the two-service example:
//!
//! ```text
//! user=http://users/users/{id};orders=http://orders/orders?user={id}
//! ```
//!
//! where `users` and `orders` are VPC links: put it with
//! `gw function put fan-out fan-out.wasm --allow-http users --allow-http orders`, and gw sends
//! each call to one of that link's healthy targets. A call to anything not allowed is refused
//! inside the sandbox.
//!
//! The answer: 200 and `{"NAME": <the call's body, parsed as JSON when it is>, ...}` when every
//! call answered 2xx; otherwise 502 and, for each call that did not, `{"status": N}` or
//! `{"error": "<the wasi:http error>"}` in its place.
//! Build with `--target wasm32-wasip2`.

use std::io::{Read as _, Write as _};

use serde_json::{Map, Value};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, FutureIncomingResponse, IncomingRequest, Method, OutgoingBody, OutgoingRequest,
    OutgoingResponse, ResponseOutparam, Scheme,
};

wasip2::http::proxy::export!(FanOut);

struct FanOut;

const DEFAULT_CALLS: &str = "user=http://users/users/{id};orders=http://orders/orders?user={id}";

/// Most bytes kept of one call's answer.
const MAX_ANSWER: u64 = 1 << 20;

impl wasip2::exports::http::incoming_handler::Guest for FanOut {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_else(|| "/".into());
        let path = path.split('?').next().unwrap_or("");
        let id = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or("");
        let calls = std::env::var("CALLS").unwrap_or_else(|_| DEFAULT_CALLS.to_string());

        // Start every call, then wait for each: the host runs them at the same time.
        let started: Vec<(String, Result<FutureIncomingResponse, String>)> = calls
            .split(';')
            .filter_map(|c| c.split_once('='))
            .map(|(name, url)| (name.trim().to_string(), start(&url.trim().replace("{id}", id))))
            .collect();

        let mut merged = Map::new();
        let mut all_ok = true;
        for (name, call) in started {
            let value = match call.and_then(finish) {
                Ok((status, body)) if (200..300).contains(&status) => body,
                Ok((status, _)) => {
                    all_ok = false;
                    serde_json::json!({ "status": status })
                }
                Err(error) => {
                    all_ok = false;
                    serde_json::json!({ "error": error })
                }
            };
            merged.insert(name, value);
        }
        let status = if all_ok { 200 } else { 502 };
        respond(response_out, status, &Value::Object(merged).to_string());
    }
}

/// Sends a GET of `url`; the pending answer.
fn start(url: &str) -> Result<FutureIncomingResponse, String> {
    let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
        (Scheme::Https, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (Scheme::Http, r)
    } else {
        return Err(format!("{url}: not an http:// or https:// URL"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let request = OutgoingRequest::new(Fields::new());
    let set = request
        .set_method(&Method::Get)
        .and(request.set_scheme(Some(&scheme)))
        .and(request.set_authority(Some(authority)))
        .and(request.set_path_with_query(Some(path)));
    if set.is_err() {
        return Err(format!("{url}: not a valid URL"));
    }
    outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))
}

/// Waits for a call's answer: its status and its body (JSON when it parses, else text).
fn finish(pending: FutureIncomingResponse) -> Result<(u16, Value), String> {
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(e))) => return Err(format!("{e:?}")),
        Some(Err(())) | None => return Err("no answer".into()),
    };
    let status = response.status();
    let body = response.consume().map_err(|()| "no body".to_string())?;
    let mut bytes = Vec::new();
    {
        let stream = body.stream().map_err(|()| "no body".to_string())?;
        stream
            .take(MAX_ANSWER)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading the answer: {e}"))?;
    }
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok((status, value))
}

fn respond(out: ResponseOutparam, status: u16, text: &str) {
    let headers = Fields::new();
    // A constant header known to be valid.
    let _ = headers.set("content-type", &[b"application/json".to_vec()]);
    let resp = OutgoingResponse::new(headers);
    let _ = resp.set_status_code(status);
    let Ok(body) = resp.body() else { return };
    ResponseOutparam::set(out, Ok(resp));
    let Ok(mut w) = body.write() else { return };
    let _ = w.write_all(text.as_bytes());
    let _ = w.flush();
    drop(w);
    let _ = OutgoingBody::finish(body, None);
}
