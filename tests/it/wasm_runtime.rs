//! The WebAssembly runtime against real wasmtime and the real guests in `functions/`
//! (build them first with `scripts/build-functions.sh`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use gw::aws::lambda::{self, EventInput, PayloadVersion};
use gw::wasm::{ContractKind, InvokeError, Limits, Loaded, Runtime};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

// ---- fixtures ----

fn guest_path(target: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(target)
        .join("release")
        .join(format!("{name}.wasm"))
}

fn read_guest(target: &str, name: &str) -> Vec<u8> {
    let path = guest_path(target, name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the test guest {}: {e}\nBuild the guests first: scripts/build-functions.sh",
            path.display()
        )
    })
}

fn p2(name: &str) -> Vec<u8> {
    read_guest("wasm32-wasip2", name)
}

fn p1(name: &str) -> Vec<u8> {
    read_guest("wasm32-wasip1", name)
}

fn sha(wasm: &[u8]) -> String {
    hex::encode(Sha256::digest(wasm))
}

/// Log lines captured from the `gw::function` target, for assertions on guest stderr.
static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap()
            .push(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs_containing(needle: &str) -> Vec<String> {
    LOGS.lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(needle))
        .cloned()
        .collect()
}

struct Guests {
    rt: Runtime,
    _cache: tempfile::TempDir,
    hello_p1: Arc<Loaded>,
    hello_p2: Arc<Loaded>,
    echo: Arc<Loaded>,
    http_hello: Arc<Loaded>,
    spin: Arc<Loaded>,
    hog: Arc<Loaded>,
    trap: Arc<Loaded>,
    badjson: Arc<Loaded>,
    respond: Arc<Loaded>,
}

/// One runtime with every guest loaded, shared by the tests (compiling is the slow part).
fn guests() -> &'static Guests {
    static G: OnceLock<Guests> = OnceLock::new();
    G.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(|| Capture)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .try_init();
        let cache = tempfile::tempdir().unwrap();
        let rt = Runtime::new(cache.path().to_owned()).unwrap();
        let load = |label: &str, wasm: Vec<u8>| rt.load(label, &sha(&wasm), &wasm).unwrap();
        Guests {
            hello_p1: load("hello-p1:1", p1("hello")),
            hello_p2: load("hello:1", p2("hello")),
            echo: load("echo:1", p2("echo")),
            http_hello: load("http-hello:1", p2("http_hello")),
            spin: load("spin:1", p2("spin")),
            hog: load("hog:1", p2("hog")),
            trap: load("trap:1", p2("trap")),
            badjson: load("badjson:1", p2("badjson")),
            respond: load("respond:1", p2("respond")),
            rt,
            _cache: cache,
        }
    })
}

fn limits(ms: u64) -> Limits {
    Limits {
        memory_bytes: 32 << 20,
        timeout: Duration::from_millis(ms),
        ..Limits::default()
    }
}

/// A REST (payload 1.0) event for GET /pets/1?name=wasm on stage prod.
fn event(version: PayloadVersion) -> Vec<u8> {
    let mut headers = http::HeaderMap::new();
    headers.insert("host", "localhost:4566".parse().unwrap());
    headers.insert("accept", "application/json".parse().unwrap());
    let vars = BTreeMap::from([("GREETING".to_string(), "hi".to_string())]);
    let params = vec![("id".to_string(), "1".to_string())];
    let input = EventInput {
        payload_version: version,
        http_method: "GET",
        route_method: "GET",
        path: "/pets/1",
        resource_path: "/pets/{id}",
        resource_id: "abc",
        headers: &headers,
        raw_query: Some("name=wasm"),
        path_parameters: &params,
        stage_variables: &vars,
        body: b"",
        body_is_binary: false,
        api_id: "a1b2c3d4e5",
        stage: "prod",
        deployment_id: "d1",
        request_id: "req-1",
        extended_request_id: "ext-1",
        source_ip: "127.0.0.1",
        domain_name: "localhost",
        protocol: "HTTP/1.1",
        request_time_epoch_ms: 1_700_000_000_000,
        account_id: lambda::DEFAULT_ACCOUNT_ID,
        authorizer: None,
        client_cert: None,
        scheme: "http",
        port: 4566,
    };
    lambda::encode_event(&input)
}

fn env() -> Vec<(String, String)> {
    vec![
        ("GREETING".into(), "hi".into()),
        ("HELLO_LOG".into(), "1".into()),
    ]
}

async fn call(f: &Loaded, l: Limits, request_id: &str) -> Result<Vec<u8>, InvokeError> {
    guests()
        .rt
        .invoke_lambda(f, event(PayloadVersion::V1), &env(), &l, request_id)
        .await
}

fn assert_hello(stdout: &[u8], want_path: &str, want_stage: &str) {
    let resp = lambda::parse_response(PayloadVersion::V1, stdout, None, &[]).unwrap();
    assert_eq!(resp.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(body["message"], "hello from wasm");
    assert_eq!(body["greeting"], "hello, wasm");
    assert_eq!(body["path"], want_path);
    assert_eq!(body["stage"], want_stage);
    assert_eq!(body["stageVariable"], "hi");
}

// ---- classify ----

#[test]
fn classify_each_kind() {
    let rt = &guests().rt;
    assert_eq!(
        rt.classify(&p2("hello")).unwrap(),
        ContractKind::LambdaCommandP2
    );
    assert_eq!(
        rt.classify(&p1("hello")).unwrap(),
        ContractKind::LambdaCommandP1
    );
    assert_eq!(
        rt.classify(&p2("http_hello")).unwrap(),
        ContractKind::HttpProxy
    );
    assert_eq!(
        rt.classify(&p2("spin")).unwrap(),
        ContractKind::LambdaCommandP2
    );
}

#[test]
fn classify_refuses_what_is_not_wasm() {
    let rt = &guests().rt;
    let e = rt
        .classify(b"#!/bin/sh\necho hi\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a WebAssembly binary"), "{e}");
    assert!(e.contains("wasm32-wasip2"), "{e}");
    // A valid core module that is not a command.
    let e = rt.classify(b"\0asm\x01\0\0\0").unwrap_err().to_string();
    assert!(e.contains("`_start`"), "{e}");
    // Truncated wasm.
    let mut half = p2("hello");
    half.truncate(half.len() / 2);
    let e = rt.classify(&half).unwrap_err().to_string();
    assert!(e.contains("invalid WebAssembly"), "{e}");
}

// ---- Lambda-style invocations ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_p2_and_p1_answer() {
    let g = guests();
    assert_eq!(g.hello_p2.kind(), ContractKind::LambdaCommandP2);
    assert_eq!(g.hello_p1.kind(), ContractKind::LambdaCommandP1);
    let out = call(&g.hello_p2, limits(5_000), "hello-p2").await.unwrap();
    assert_hello(&out, "/pets/1", "prod");
    let out = call(&g.hello_p1, limits(5_000), "hello-p1").await.unwrap();
    assert_hello(&out, "/pets/1", "prod");
    // Guest stderr reached the function log, tagged with the request id.
    let lines = logs_containing("hello: greeting wasm on /pets/1");
    assert!(lines.iter().any(|l| l.contains("hello-p1")), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_understands_payload_v2() {
    let g = guests();
    let out =
        g.rt.invoke_lambda(
            &g.hello_p2,
            event(PayloadVersion::V2),
            &env(),
            &limits(5_000),
            "v2",
        )
        .await
        .unwrap();
    assert_hello(&out, "/prod/pets/1", "prod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_returns_the_event() {
    let g = guests();
    let ev = event(PayloadVersion::V1);
    let out =
        g.rt.invoke_lambda(&g.echo, ev.clone(), &[], &limits(5_000), "echo")
            .await
            .unwrap();
    let resp = lambda::parse_response(PayloadVersion::V1, &out, None, &[]).unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(&resp.body[..], &ev[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spin_times_out_on_time() {
    let g = guests();
    let start = Instant::now();
    let r = call(&g.spin, limits(200), "spin").await;
    let took = start.elapsed();
    assert_eq!(r, Err(InvokeError::Timeout));
    assert_eq!(InvokeError::Timeout.status(), 504);
    assert!(took < Duration::from_millis(300), "took {took:?}");
    // The function stays usable.
    call(&g.hello_p2, limits(5_000), "after-spin")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hog_runs_out_of_memory() {
    let g = guests();
    let r = call(&g.hog, limits(5_000), "hog").await;
    assert_eq!(r, Err(InvokeError::OutOfMemory));
    assert_eq!(InvokeError::OutOfMemory.status(), 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_is_a_trap_and_its_panic_is_logged() {
    let g = guests();
    let r = call(&g.trap, limits(5_000), "trap-req-7").await;
    assert!(matches!(r, Err(InvokeError::Trap(_))), "{r:?}");
    assert_eq!(r.unwrap_err().status(), 502);
    let lines = logs_containing("trap guest always panics");
    assert!(lines.iter().any(|l| l.contains("trap-req-7")), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badjson_stdout_is_returned_verbatim() {
    let g = guests();
    let out = call(&g.badjson, limits(5_000), "badjson").await.unwrap();
    assert_eq!(out, b"this is not JSON {");
    assert!(lambda::parse_response(PayloadVersion::V1, &out, None, &[]).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn respond_writes_its_environment() {
    let g = guests();
    let run = |vars: Vec<(&str, &str)>| {
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        async move {
            g.rt.invoke_lambda(&g.respond, b"{}".to_vec(), &vars, &limits(5_000), "respond")
                .await
        }
    };
    let body = r#"{"statusCode":201,"body":"made"}"#;
    assert_eq!(
        run(vec![("RESPONSE", body)]).await.unwrap(),
        body.as_bytes()
    );
    assert_eq!(run(vec![]).await, Err(InvokeError::NoResponse));
    // WASIp2 (stable) carries only success or failure, so any failing status arrives as 1.
    assert_eq!(
        run(vec![("RESPONSE", body), ("EXIT_CODE", "3")]).await,
        Err(InvokeError::Exit(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_contract_is_refused() {
    let g = guests();
    let r = call(&g.http_hello, limits(1_000), "wrong").await;
    assert!(matches!(r, Err(InvokeError::Other(_))), "{r:?}");
    let req = http::Request::get("/x")
        .body(gw::net::body::empty())
        .unwrap();
    let r =
        g.rt.invoke_http(&g.hello_p2, req, &[], &limits(1_000), "wrong")
            .await;
    assert!(matches!(r, Err(InvokeError::Other(_))), "{r:?}");
}

// ---- wasi:http ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_hello_answers() {
    let g = guests();
    assert_eq!(g.http_hello.kind(), ContractKind::HttpProxy);
    let req = http::Request::post("http://localhost:4566/pets?x=1")
        .body(gw::net::body::full("ignored"))
        .unwrap();
    let resp =
        g.rt.invoke_http(&g.http_hello, req, &[], &limits(5_000), "http-1")
            .await
            .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello from wasi:http POST /pets?x=1");

    // Without an authority or Host header.
    let req = http::Request::get("/only/path")
        .body(gw::net::body::empty())
        .unwrap();
    let resp =
        g.rt.invoke_http(&g.http_hello, req, &[], &limits(5_000), "http-2")
            .await
            .unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello from wasi:http GET /only/path");
}

// ---- cache ----

#[test]
fn second_runtime_loads_precompiled_code() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = p2("hello");
    let sum = sha(&wasm);

    let first = Runtime::new(dir.path().to_owned()).unwrap();
    let loaded = first.load("hello:1", &sum, &wasm).unwrap();
    assert!(!loaded.from_cache());
    let path = first.cache_path(&sum).unwrap();
    assert!(path.exists(), "{} missing", path.display());
    let name = path.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with(&format!("{sum}-")) && name.ends_with(".cwasm"),
        "{name}"
    );
    drop(first);

    let second = Runtime::new(dir.path().to_owned()).unwrap();
    let loaded = second.load("hello:1", &sum, &wasm).unwrap();
    assert!(loaded.from_cache());
    assert_eq!(loaded.kind(), ContractKind::LambdaCommandP2);

    // precompile_to_cache writes the same file, for the p1 module too.
    let wasm1 = p1("hello");
    let sum1 = sha(&wasm1);
    second.precompile_to_cache(&sum1, &wasm1).unwrap();
    let loaded = second.load("hello-p1:1", &sum1, &wasm1).unwrap();
    assert!(loaded.from_cache());
    assert_eq!(loaded.kind(), ContractKind::LambdaCommandP1);
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".cwasm")), "{names:?}");

    // The hash must match the bytes.
    let e = second
        .precompile_to_cache(&sum1, &wasm)
        .unwrap_err()
        .to_string();
    assert!(e.contains("sha256"), "{e}");
}

#[test]
fn corrupt_cache_file_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = p2("echo");
    let sum = sha(&wasm);
    let rt = Runtime::new(dir.path().to_owned()).unwrap();
    std::fs::write(rt.cache_path(&sum).unwrap(), b"garbage").unwrap();
    let loaded = rt.load("echo:1", &sum, &wasm).unwrap();
    assert!(!loaded.from_cache());
    let again = Runtime::new(dir.path().to_owned()).unwrap();
    assert!(again.load("echo:1", &sum, &wasm).unwrap().from_cache());
}

// ---- soak ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_hostile_and_good_interleaved() {
    let g = guests();
    let sem = Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = Vec::new();
    for i in 0..1_000usize {
        let permit = sem.clone().acquire_owned().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let id = format!("soak-{i}");
            match i % 8 {
                0 => (i, "spin", call(&g.spin, limits(50), &id).await.map(drop)),
                1 => (i, "hog", call(&g.hog, limits(5_000), &id).await.map(drop)),
                2 => (i, "trap", call(&g.trap, limits(5_000), &id).await.map(drop)),
                3 => {
                    let out = call(&g.hello_p2, limits(5_000), &id).await;
                    (i, "good", out.map(|o| assert_hello(&o, "/pets/1", "prod")))
                }
                4 => {
                    let out = call(&g.hello_p1, limits(5_000), &id).await;
                    (i, "good", out.map(|o| assert_hello(&o, "/pets/1", "prod")))
                }
                5 => {
                    let req = http::Request::get("http://h/s")
                        .body(gw::net::body::empty())
                        .unwrap();
                    let out =
                        g.rt.invoke_http(&g.http_hello, req, &[], &limits(5_000), &id)
                            .await;
                    (i, "good", out.map(|r| assert_eq!(r.status(), 200)))
                }
                6 => (i, "good", call(&g.echo, limits(5_000), &id).await.map(drop)),
                _ => (
                    i,
                    "badjson",
                    call(&g.badjson, limits(5_000), &id).await.map(drop),
                ),
            }
        }));
    }
    let mut good = 0;
    let mut bad_failed = Vec::new();
    for t in tasks {
        let (i, kind, r) = t.await.unwrap();
        match kind {
            "good" => {
                assert!(r.is_ok(), "good request {i} failed: {r:?}");
                good += 1;
            }
            "spin" => assert_eq!(r, Err(InvokeError::Timeout), "request {i}"),
            "hog" => assert_eq!(r, Err(InvokeError::OutOfMemory), "request {i}"),
            "trap" => assert!(matches!(r, Err(InvokeError::Trap(_))), "request {i}: {r:?}"),
            _ => bad_failed.extend(r.err()),
        }
    }
    assert_eq!(good, 500);
    assert!(bad_failed.is_empty(), "{bad_failed:?}");
}

// ---- timing (not an assertion; run with --ignored --nocapture, ideally --release) ----

#[tokio::test(flavor = "current_thread")]
#[ignore = "prints timings; run explicitly"]
async fn print_invoke_timings() {
    let g = guests();
    let ev = event(PayloadVersion::V1);
    let l = limits(5_000);
    for (name, f) in [("hello p1", &g.hello_p1), ("hello p2", &g.hello_p2)] {
        let mut samples = Vec::new();
        for i in 0..2_200 {
            let start = Instant::now();
            let out =
                g.rt.invoke_lambda(f, ev.clone(), &[], &l, "t")
                    .await
                    .unwrap();
            let took = start.elapsed();
            if i >= 200 {
                samples.push(took);
            }
            std::hint::black_box(out);
        }
        report(name, &mut samples);
    }
    let mut samples = Vec::new();
    for i in 0..2_200 {
        let req = http::Request::get("http://h/pets")
            .body(gw::net::body::empty())
            .unwrap();
        let start = Instant::now();
        let resp =
            g.rt.invoke_http(&g.http_hello, req, &[], &l, "t")
                .await
                .unwrap();
        let took = start.elapsed();
        if i >= 200 {
            samples.push(took);
        }
        std::hint::black_box(resp);
    }
    report("http-hello (wasi:http)", &mut samples);
}

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize];
    println!(
        "{name}: instantiate+call median {:?}, p99 {:?} (n={})",
        pct(0.5),
        pct(0.99),
        samples.len()
    );
}
