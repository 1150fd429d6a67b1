//! `gw demo`: the user's loop in one command, on the bundled `specs/demo.yaml` (compiled into the
//! binary). It starts a small in-process backend on a free loopback port (answering as version v1
//! or v2, by path), registers the example functions `hello` (twice: versions 1 and 2), `echo` and
//! `authorizer` (guarding `/whoami`) from a directory of built guests, imports the spec, deploys stage `prod` (`version=v1`,
//! `helloVersion=1`) and adds a canary at 10 % whose overrides are `version=v2`,
//! `helloVersion=2`, so the split is visible with curl on both kinds of route.

use crate::control::import::ImportOptions;
use crate::control::{self, PutMode};
use crate::net::body::{self, Body};
use crate::store::{Store, StoreError};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::BTreeMap;
use std::path::Path;
use tokio::net::TcpListener;

pub const SPEC: &[u8] = include_bytes!("../specs/demo.yaml");
pub const SPEC_FILE: &str = "specs/demo.yaml";
pub const API_NAME: &str = "demo";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Control(#[from] control::ControlError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("demo backend: {0}")]
    Io(#[from] std::io::Error),
}

/// Start the demo backend on a free loopback port; returns its address.
pub async fn start_backend() -> Result<std::net::SocketAddr, std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve_backend(listener));
    Ok(addr)
}

/// Serve the demo backend on `listener` (`gw demo backend`): `GET /VERSION/pets` and
/// `/VERSION/pets/ID` answer JSON naming `VERSION`. Runs until the listener fails.
pub async fn serve_backend(listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let service = service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                Ok::<_, std::convert::Infallible>(backend_answer(&req))
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn backend_answer(req: &http::Request<hyper::body::Incoming>) -> http::Response<Body> {
    let path = req.uri().path();
    let version = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let rest = path
        .trim_start_matches('/')
        .split_once('/')
        .map_or("", |(_, r)| r);
    let pets = serde_json::json!([
        {"id": 1, "name": "Rex", "tag": "dog"},
        {"id": 2, "name": "Tom", "tag": "cat"},
    ]);
    let body = match rest.split('/').collect::<Vec<_>>().as_slice() {
        ["pets"] => serde_json::json!({"version": version, "pets": pets}),
        ["pets", id] => serde_json::json!({"version": version, "pet": {"id": id, "name": "Rex"}}),
        _ => serde_json::json!({"version": version, "path": path}),
    };
    let mut resp = http::Response::new(body::full(body.to_string()));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Import (or refresh) the demo API and deploy production plus a 10 % canary. `functions` is a
/// directory holding `hello.wasm`, `echo.wasm` and `authorizer.wasm`.
pub async fn prepare(
    store: &Store,
    listener: &TcpListener,
    functions: Option<&Path>,
) -> Result<(), DemoError> {
    let backend = start_backend().await?;
    let store = store.clone();
    let listen = listener.local_addr()?;
    let functions = functions.map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || {
        deploy(
            &store,
            &backend.to_string(),
            &listen.to_string(),
            functions.as_deref(),
        )
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))?
}

/// Register hello (v1 and v2, told apart by GREETING), echo and authorizer, unless already there.
fn register_functions(store: &Store, dir: &Path) -> Result<(), DemoError> {
    let existing = store.read(|tx| tx.functions())?;
    let has = |name: &str, n: usize| existing.iter().filter(|f| f.name == name).count() >= n;
    let read = |name: &str| -> Result<Vec<u8>, DemoError> {
        let path = dir.join(format!("{name}.wasm"));
        std::fs::read(&path).map_err(|e| {
            DemoError::Io(std::io::Error::new(
                e.kind(),
                format!(
                    "{}: {e}; build the example functions with scripts/build-functions.sh",
                    path.display()
                ),
            ))
        })
    };
    if !has("hello", 2) {
        let wasm = read("hello")?;
        for greeting in ["v1", "v2"] {
            let env: BTreeMap<String, String> =
                [("GREETING".to_string(), greeting.to_string())].into();
            control::put_function(store, "hello", &wasm, 128, 29, &env, &Default::default())?;
        }
    }
    if !has("echo", 1) {
        control::put_function(
            store,
            "echo",
            &read("echo")?,
            128,
            29,
            &BTreeMap::new(),
            &Default::default(),
        )?;
    }
    if !has("authorizer", 1) {
        let wasm = read("authorizer")?;
        control::put_function(
            store,
            "authorizer",
            &wasm,
            128,
            29,
            &BTreeMap::new(),
            &Default::default(),
        )?;
    }
    Ok(())
}

fn deploy(
    store: &Store,
    backend: &str,
    listen: &str,
    functions: Option<&Path>,
) -> Result<(), DemoError> {
    match functions {
        Some(dir) => register_functions(store, dir)?,
        None => eprintln!(
            "demo: no --functions DIR given; /hello, /echo and /whoami answer 500 until functions are registered"
        ),
    }
    let options = ImportOptions::default();
    let exists = store.read(|tx| tx.find_api(API_NAME))?.is_some();
    if exists {
        control::import_into(
            store,
            API_NAME,
            SPEC_FILE,
            SPEC,
            PutMode::Overwrite,
            &options,
        )?;
    } else {
        control::import_new(store, SPEC_FILE, SPEC, Some(API_NAME), &options)?;
    }
    let hello_v1 = store
        .read(|tx| tx.functions())?
        .iter()
        .filter(|f| f.name == "hello")
        .map(|f| f.version)
        .min()
        .unwrap_or(1);
    let vars: BTreeMap<String, String> = [
        ("backend".to_string(), backend.to_string()),
        ("version".to_string(), "v1".to_string()),
        ("helloVersion".to_string(), hello_v1.to_string()),
    ]
    .into();
    let prod = control::deploy(
        store,
        Some(API_NAME),
        "prod",
        Some("demo production"),
        &vars,
    )?;
    let overrides: BTreeMap<String, String> = [
        ("version".to_string(), "v2".to_string()),
        ("helloVersion".to_string(), (hello_v1 + 1).to_string()),
    ]
    .into();
    let canary = control::deploy_canary(
        store,
        Some(API_NAME),
        "prod",
        10.0,
        &overrides,
        Some("demo canary"),
        None,
    )?;
    let urls = crate::control::urls::invoke_urls(&prod.api, "prod", Some(listen));
    eprintln!(
        "demo: API {} ({}) stage prod: production {} (version=v1, hello:{hello_v1}), canary {} at 10 % (version=v2, hello:{})",
        prod.api.name,
        prod.api.id,
        prod.deployment.id,
        canary.deployment.id,
        hello_v1 + 1
    );
    eprintln!("demo: pet backend on http://{backend}; try, in another terminal:");
    eprintln!("  curl -i {}pets", urls[0]);
    eprintln!("  curl -s '{}hello?name=you'", urls[0]);
    eprintln!(
        "  curl -s -H 'Authorization: Bearer you' {}whoami    # behind the authorizer function; without the header: 401",
        urls[0]
    );
    eprintln!(
        "  for i in $(seq 50); do curl -s -o /dev/null -w '%header{{x-gw-canary}}\\n' {}hello; done | sort | uniq -c",
        urls[0]
    );
    eprintln!(
        "  cargo run -q -- promote --api {API_NAME}    # the canary becomes production, live at once"
    );
    Ok(())
}
