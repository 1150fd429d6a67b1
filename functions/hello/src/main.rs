//! `hello`: a Lambda-style gw function (API Gateway proxy event JSON on stdin, proxy response JSON
//! on stdout). Answers 200 with a greeting for `?name=` (default "world"), the request path and the
//! stage. Understands payload 1.0 (REST) and 2.0 (HTTP API) events. Builds for wasm32-wasip1 (a core
//! module) and wasm32-wasip2 (a `wasi:cli/run` component) from the same source.

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
};
use aws_lambda_events::http::HeaderValue;
use std::io::{Read, Write};

/// The JSON body of the answer (a typed struct: cheaper than building a `serde_json::Value`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    message: &'static str,
    greeting: String,
    path: &'a str,
    stage: &'a str,
    stage_variable: Option<String>,
}

struct Greeting {
    name: String,
    path: String,
    stage: String,
}

impl Greeting {
    fn new(name: Option<&str>, path: String, stage: Option<String>) -> Greeting {
        Greeting {
            name: name.unwrap_or("world").to_owned(),
            path,
            stage: stage.unwrap_or_default(),
        }
    }
}

fn greeting(event: &[u8]) -> Result<Greeting, serde_json::Error> {
    // A payload 1.0 (REST API) event always has `path`; a 2.0 (HTTP API) event has `rawPath`
    // instead, so a 1.0 event is parsed once and a 2.0 event at most twice.
    if let Ok(req) = serde_json::from_slice::<ApiGatewayProxyRequest>(event) {
        if let Some(path) = req.path {
            let name = req.query_string_parameters.first("name");
            return Ok(Greeting::new(name, path, req.request_context.stage));
        }
    }
    let req: ApiGatewayV2httpRequest = serde_json::from_slice(event)?;
    let name = req.query_string_parameters.first("name");
    let path = req.raw_path.unwrap_or_default();
    Ok(Greeting::new(name, path, req.request_context.stage))
}

/// The whole of stdin. Read through a buffer on the stack, so a typical event takes two reads
/// (the data, then the end) and the heap only ever holds the event itself: `read_to_end` on an
/// empty `Vec` would grow it step by step, one host call per step.
fn read_stdin() -> std::io::Result<Vec<u8>> {
    let mut input = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut stdin = std::io::stdin().lock();
    loop {
        match stdin.read(&mut chunk)? {
            0 => return Ok(input),
            n => input.extend_from_slice(&chunk[..n]),
        }
    }
}

fn main() {
    let input = match read_stdin() {
        Ok(input) => input,
        Err(e) => {
            eprintln!("hello: cannot read the event: {e}");
            std::process::exit(1);
        }
    };
    let g = match greeting(&input) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("hello: not an API Gateway proxy event: {e}");
            std::process::exit(1);
        }
    };
    // Log lines go to gw's log with the request id; set HELLO_LOG=1 to see one per call.
    if std::env::var_os("HELLO_LOG").is_some() {
        eprintln!("hello: greeting {} on {}", g.name, g.path);
    }
    let body = Body {
        message: "hello from wasm",
        greeting: format!("hello, {}", g.name),
        path: &g.path,
        stage: &g.stage,
        stage_variable: std::env::var("GREETING").ok(),
    };
    let body = match serde_json::to_string(&body) {
        Ok(body) => body,
        Err(e) => {
            eprintln!("hello: cannot serialize the body: {e}");
            std::process::exit(1);
        }
    };
    let mut resp = ApiGatewayProxyResponse::default(); // #[non_exhaustive]: Default, then assign
    resp.status_code = 200;
    resp.headers
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp.body = Some(aws_lambda_events::encodings::Body::Text(body));
    let out = match serde_json::to_vec(&resp) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("hello: cannot serialize the response: {e}");
            std::process::exit(1);
        }
    };
    if std::io::stdout().write_all(&out).is_err() {
        std::process::exit(1);
    }
}
