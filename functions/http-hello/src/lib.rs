//! `http-hello`: a `wasi:http/proxy` component for gw (the contract Spin, `wasmtime serve` and
//! wasmCloud share). Answers 200 `hello from wasi:http` followed by the request's method and path,
//! e.g. `hello from wasi:http GET /pets?x=1`. Build with `--target wasm32-wasip2`.

use std::io::Write as _;

use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasip2::http::proxy::export!(HttpHello);

struct HttpHello;

fn method_name(m: &Method) -> String {
    match m {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(s) => s.clone(),
    }
}

impl wasip2::exports::http::incoming_handler::Guest for HttpHello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let text = format!(
            "hello from wasi:http {} {}",
            method_name(&request.method()),
            request.path_with_query().unwrap_or_else(|| "/".into())
        );
        let headers = Fields::new();
        // Header names and values here are constants known to be valid.
        let _ = headers.set("content-type", &[b"text/plain; charset=utf-8".to_vec()]);
        let resp = OutgoingResponse::new(headers);
        let Ok(body) = resp.body() else { return };
        ResponseOutparam::set(response_out, Ok(resp));
        let Ok(mut out) = body.write() else { return };
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        drop(out);
        let _ = OutgoingBody::finish(body, None);
    }
}
