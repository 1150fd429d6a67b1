//! One invocation: take a pool slot, build a fresh `Store` (deny-by-default WASI context, the
//! function's memory limit, an epoch deadline), instantiate from the pre-instantiated template,
//! call, and turn whatever happened into bytes or an [`InvokeError`]. The store is dropped in
//! every case, so a failed invocation leaves nothing behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::WasiHttpView;

use super::host::{Limiter, LogPipe, P1Host, P2Host};
use super::{
    InvokeError, Limits, Loaded, Pre, Report, Runtime, MAX_HTTP_BODY_BYTES, MAX_LOG_BYTES,
    MAX_MEMORY_BYTES, MAX_RESPONSE_BYTES,
};
use crate::net::body::{self, Body};

/// A WASI command's invocation: its result, report and stderr.
#[derive(Debug)]
pub struct CommandRun {
    pub result: Result<Vec<u8>, InvokeError>,
    pub report: Report,
    pub log: Vec<u8>,
}

impl Runtime {
    /// Runs a Lambda-style function: `event_json` on its stdin, `env` as its only environment
    /// variables; returns what it wrote to stdout (parsing it is `crate::aws::lambda`'s job). Guest
    /// stderr goes to the `gw::function` log target, one event per line, tagged with `request_id`.
    pub async fn invoke_lambda(
        &self,
        f: &Loaded,
        event_json: Vec<u8>,
        env: &[(String, String)],
        limits: &Limits,
        request_id: &str,
    ) -> Result<Vec<u8>, InvokeError> {
        let run = self.invoke_command(f, event_json, env, limits).await;
        for line in String::from_utf8_lossy(&run.log).lines() {
            tracing::info!(target: "gw::function", request_id, function = f.label(), "{line}");
        }
        run.result
    }

    /// [`invoke_lambda`](Self::invoke_lambda), returning the guest's stderr and the invocation's
    /// report (for the function log) instead of logging.
    pub async fn invoke_command(
        &self,
        f: &Loaded,
        event_json: Vec<u8>,
        env: &[(String, String)],
        limits: &Limits,
    ) -> CommandRun {
        let started = Instant::now();
        let mut report = Report {
            duration: std::time::Duration::ZERO,
            memory_size_mb: limits.memory_bytes >> 20,
            max_memory_used_mb: 0,
            init_duration: None,
            environment: 0,
        };
        let stderr = LogPipe::new(MAX_LOG_BYTES);
        let (limiter, refused) = Limiter::new(memory_limit(limits));
        let peak = limiter.peak();
        let result = self
            .run_command(f, event_json, env, limits, &stderr, limiter, &refused)
            .await;
        report.duration = started.elapsed();
        report.max_memory_used_mb = peak.load(Ordering::Relaxed).div_ceil(1 << 20) as u64;
        let (log, dropped) = stderr.take();
        CommandRun {
            result,
            report,
            log: super::handler::with_dropped(log, dropped),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_command(
        &self,
        f: &Loaded,
        event_json: Vec<u8>,
        env: &[(String, String)],
        limits: &Limits,
        stderr: &LogPipe,
        limiter: Limiter,
        refused: &AtomicBool,
    ) -> Result<Vec<u8>, InvokeError> {
        if let Pre::Http(_) | Pre::Handler(_) = &f.pre {
            return Err(InvokeError::Other(format!(
                "{} is a {} function, not a WASI command",
                f.label(),
                f.kind()
            )));
        }
        let deadline = Instant::now() + limits.timeout;
        let _slot = self.slot(deadline).await?;

        let stdout = MemoryOutputPipe::new(MAX_RESPONSE_BYTES);
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdin(MemoryInputPipe::new(event_json))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .envs(env);

        let engine = self.engine();
        let run = async {
            match &f.pre {
                Pre::P1(pre) => {
                    let mut store = Store::new(
                        engine,
                        P1Host {
                            wasi: wasi.build_p1(),
                            limiter,
                        },
                    );
                    store.limiter(|h| &mut h.limiter);
                    arm_deadline(&mut store, deadline);
                    let instance = pre.instantiate_async(&mut store).await?;
                    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
                    start.call_async(&mut store, ()).await.map(Ok)
                }
                Pre::P2(pre) => {
                    let mut store = Store::new(
                        engine,
                        P2Host::new(wasi.build(), limiter, limits.outbound.clone()),
                    );
                    store.limiter(|h| &mut h.limiter);
                    arm_deadline(&mut store, deadline);
                    let command = pre.instantiate_async(&mut store).await?;
                    command.wasi_cli_run().call_run(&mut store).await
                }
                Pre::Http(_) | Pre::Handler(_) => Ok(Err(())), // refused above
            }
        };
        let outcome = match tokio::time::timeout_at(deadline, run).await {
            Err(_elapsed) => Err(InvokeError::Timeout),
            Ok(Ok(Ok(()))) => Ok(()),
            // `wasi:cli/run` returned `err`: the guest's `main` exited with a failure status.
            Ok(Ok(Err(()))) => Err(InvokeError::Exit(1)),
            Ok(Err(e)) => classify_error(e, refused),
        };
        outcome?;

        let out = stdout.contents();
        if out.is_empty() {
            return Err(InvokeError::NoResponse);
        }
        Ok(out.to_vec())
    }

    /// Runs a `wasi:http/proxy` function on `req` and returns its response, body buffered (at
    /// most [`MAX_HTTP_BODY_BYTES`]). Guest stdout and stderr go to the `gw::function` log target.
    /// A request without an authority or `Host` header is given `Host: localhost`.
    pub async fn invoke_http(
        &self,
        f: &Loaded,
        req: http::Request<Body>,
        env: &[(String, String)],
        limits: &Limits,
        request_id: &str,
    ) -> Result<http::Response<Body>, InvokeError> {
        let Pre::Http(pre) = &f.pre else {
            return Err(InvokeError::Other(format!(
                "{} is a Lambda-style function ({}), not a wasi:http/proxy component",
                f.label(),
                f.kind()
            )));
        };
        let deadline = Instant::now() + limits.timeout;
        let slot = self.slot(deadline).await?;

        let log = LogPipe::new(MAX_LOG_BYTES);
        let (limiter, refused) = Limiter::new(memory_limit(limits));
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(log.clone()).stderr(log.clone()).envs(env);
        let mut store = Store::new(
            self.engine(),
            P2Host::new(wasi.build(), limiter, limits.outbound.clone()),
        );
        store.limiter(|h| &mut h.limiter);
        arm_deadline(&mut store, deadline);

        let mut req = req
            .map(|b| b.map_err(|e| wasmtime_wasi_http::Error::InternalError(Some(e.to_string()))));
        if req.uri().authority().is_none() && !req.headers().contains_key(http::header::HOST) {
            req.headers_mut().insert(
                http::header::HOST,
                http::HeaderValue::from_static("localhost"),
            );
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handles = {
            let mut http = store.data_mut().http();
            http.new_incoming_request(Scheme::Http, req)
                .and_then(|incoming| Ok((incoming, http.new_response_outparam(tx)?)))
        };
        let (incoming, outparam) =
            handles.map_err(|e| InvokeError::Other(format!("cannot pass the request: {e:#}")))?;

        // The guest runs in its own task: it may keep streaming the body after it has handed
        // over the response head. The task owns the store and the pool slot.
        let pre = pre.clone();
        let mut task = tokio::spawn(async move {
            let _slot: OwnedSemaphorePermit = slot;
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, outparam)
                .await
        });

        let exchange = async {
            match rx.await {
                Ok(Ok(resp)) => {
                    let (parts, body) = resp.into_parts();
                    let collected = Limited::new(body, MAX_HTTP_BODY_BYTES).collect().await;
                    // The guest returns right after finishing the body; wait for it so its logs
                    // are complete and a late trap is noticed.
                    let finished = (&mut task).await;
                    match (collected, finished) {
                        (Ok(c), _) => {
                            Ok(http::Response::from_parts(parts, body::full(c.to_bytes())))
                        }
                        (Err(_), Ok(Err(e))) => Err(failure(e, &refused)),
                        (Err(e), _) => Err(InvokeError::Other(format!("response body: {e}"))),
                    }
                }
                Ok(Err(code)) => Err(InvokeError::Other(format!("the handler reported {code:?}"))),
                // The response-outparam was dropped unset: see how the guest ended.
                Err(_) => match (&mut task).await {
                    Ok(Ok(())) => Err(InvokeError::NoResponse),
                    Ok(Err(e)) => Err(failure(e, &refused)),
                    Err(join) => Err(InvokeError::Other(format!("function task failed: {join}"))),
                },
            }
        };
        let outcome = match tokio::time::timeout_at(deadline, exchange).await {
            Ok(r) => r,
            Err(_elapsed) => {
                task.abort();
                Err(InvokeError::Timeout)
            }
        };
        emit_log(f.label(), request_id, &log);
        outcome
    }

    /// Waits for a free instance slot until `deadline`; never waiting past it keeps the pool from
    /// filling up (which would fail instantiation) while letting short bursts queue.
    pub(super) async fn slot(
        &self,
        deadline: Instant,
    ) -> Result<OwnedSemaphorePermit, InvokeError> {
        let slots: Arc<Semaphore> = self.inner.slots.clone();
        // Usually a slot is free: take it without arming a timer.
        if let Ok(permit) = slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        // Every slot is taken. Idle warm environments hold slots without ever giving them back
        // on their own, so while waiting, keep asking one (of any handler function) to give its
        // slot up.
        loop {
            self.reclaim_idle();
            if let Ok(permit) = slots.clone().try_acquire_owned() {
                return Ok(permit);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(InvokeError::Busy);
            }
            let wait = deadline.min(now + std::time::Duration::from_millis(20));
            match tokio::time::timeout_at(wait, slots.clone().acquire_owned()).await {
                Ok(Ok(permit)) => return Ok(permit),
                Ok(Err(_closed)) => {
                    return Err(InvokeError::Other("the runtime is shutting down".into()))
                }
                Err(_elapsed) => {}
            }
        }
    }
}

/// A guest error where a response was expected: even a clean `exit(0)` leaves none.
fn failure(e: wasmtime::Error, refused: &AtomicBool) -> InvokeError {
    classify_error(e, refused)
        .err()
        .unwrap_or(InvokeError::NoResponse)
}

pub(super) fn memory_limit(limits: &Limits) -> usize {
    // Clamped to MAX_MEMORY_BYTES (512 MiB), which fits in usize on every supported target.
    limits.memory_bytes.min(MAX_MEMORY_BYTES) as usize
}

/// Interrupt the guest once `deadline` passes. Until then, every epoch tick (10 ms) yields to the
/// async executor, so a CPU-bound guest cannot hog a tokio worker.
pub(super) fn arm_deadline<T: 'static>(store: &mut Store<T>, deadline: Instant) {
    let deadline = deadline.into_std();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        Ok(if std::time::Instant::now() >= deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Yield(1)
        })
    });
}

/// What an error out of wasmtime means for the caller. `Ok(())` for a guest that called
/// `exit(0)` (normal for WASIp1 commands).
pub(super) fn classify_error(e: wasmtime::Error, refused: &AtomicBool) -> Result<(), InvokeError> {
    if let Some(exit) = e.downcast_ref::<I32Exit>() {
        return match exit.0 {
            0 => Ok(()),
            code => Err(InvokeError::Exit(code)),
        };
    }
    if refused.load(Ordering::Relaxed) {
        return Err(InvokeError::OutOfMemory);
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt | Trap::OutOfFuel) => Err(InvokeError::Timeout),
        Some(trap) => Err(InvokeError::Trap(trap.to_string())),
        None => Err(InvokeError::Other(format!("{e:#}"))),
    }
}

/// Forwards captured guest output to the function log, one event per line.
fn emit_log(label: &str, request_id: &str, pipe: &LogPipe) {
    let (bytes, dropped) = pipe.take();
    for line in String::from_utf8_lossy(&bytes).lines() {
        tracing::info!(target: "gw::function", request_id, function = label, "{line}");
    }
    if dropped > 0 {
        tracing::info!(
            target: "gw::function",
            request_id,
            function = label,
            "[{dropped} more bytes of function output dropped]"
        );
    }
}
