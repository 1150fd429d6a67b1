//! `gw demo`: the user's loop in one command, on the bundled petstore spec. It starts a small
//! in-process backend on a free loopback port (answering as version v1 or v2, by path), imports
//! `specs/petstore.yaml` (compiled into the binary), deploys stage `prod` with `version=v1`, and
//! adds a canary at 10 % whose override is `version=v2`, so the split is visible with curl.

use crate::body::{self, Body};
use crate::control::{self, PutMode};
use crate::import::ImportOptions;
use crate::store::{Store, StoreError};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::BTreeMap;
use tokio::net::TcpListener;

pub const SPEC: &[u8] = include_bytes!("../specs/petstore.yaml");
pub const API_NAME: &str = "petstore";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Control(#[from] control::ControlError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("demo backend: {0}")]
    Io(#[from] std::io::Error),
}

/// Start the demo backend; returns its address.
pub async fn start_backend() -> Result<std::net::SocketAddr, std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
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
    });
    Ok(addr)
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

/// Import (or refresh) the demo API and deploy production plus a 10 % canary.
pub async fn prepare(store: &Store, listener: &TcpListener) -> Result<(), DemoError> {
    let backend = start_backend().await?;
    let store = store.clone();
    let listen = listener.local_addr()?;
    tokio::task::spawn_blocking(move || deploy(&store, &backend.to_string(), &listen.to_string()))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?
}

fn deploy(store: &Store, backend: &str, listen: &str) -> Result<(), DemoError> {
    let options = ImportOptions::default();
    let exists = store.read(|tx| tx.find_api(API_NAME))?.is_some();
    if exists {
        control::import_into(
            store,
            API_NAME,
            "specs/petstore.yaml",
            SPEC,
            PutMode::Overwrite,
            &options,
        )?;
    } else {
        control::import_new(store, "specs/petstore.yaml", SPEC, Some(API_NAME), &options)?;
    }
    let vars: BTreeMap<String, String> = [
        ("backend".to_string(), backend.to_string()),
        ("version".to_string(), "v1".to_string()),
    ]
    .into();
    let prod = control::deploy(
        store,
        Some(API_NAME),
        "prod",
        Some("demo production"),
        &vars,
    )?;
    let overrides: BTreeMap<String, String> = [("version".to_string(), "v2".to_string())].into();
    let canary = control::deploy_canary(
        store,
        Some(API_NAME),
        "prod",
        10.0,
        &overrides,
        Some("demo canary"),
    )?;
    let urls = crate::urls::invoke_urls(&prod.api, "prod", Some(listen));
    eprintln!(
        "demo: API {} ({}) stage prod: production {} (version=v1), canary {} at 10 % (version=v2)",
        prod.api.name, prod.api.id, prod.deployment.id, canary.deployment.id
    );
    eprintln!("demo: backend on http://{backend}; try:");
    eprintln!("  curl -i {}pets", urls[1]);
    eprintln!(
        "  for i in $(seq 50); do curl -s {}pets; echo; done | sort | uniq -c",
        urls[1]
    );
    eprintln!("  gw promote     # in another terminal: the canary becomes production");
    Ok(())
}
