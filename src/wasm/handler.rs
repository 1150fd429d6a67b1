//! Handler-world components (`wit/handler.wit`, world `gw:lambda/handler`) run in warm
//! execution environments, as Lambda runs a function: an environment is one instance of the
//! component in its own `Store`, initialised once (`init`, reported as *Init Duration*) and then
//! invoked (`handle`) for many requests, so what the guest keeps in globals survives between them.
//!
//! Each function version has an [`EnvPool`]: idle environments (most recently used first) and a
//! semaphore of `Limits::concurrency` permits, like Lambda's reserved concurrency. An invocation
//! takes a permit (waiting at most `Limits::queue_wait`, then [`InvokeError::Throttled`]), reuses an
//! idle environment or starts one, runs `handle` under the invocation's deadline, and gives the
//! environment back — unless the guest trapped, ran out of memory, timed out or failed in the host,
//! in which case the environment is dropped and the next invocation starts a fresh one. An
//! environment idle for [`IDLE_TTL`] is dropped by the runtime's sweeper; one idle environment is
//! also given up when another function needs its instance slot.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use wasmtime::Store;
use wasmtime_wasi::WasiCtxBuilder;

use super::host::{Limiter, LogPipe, P2Host};
use super::invoke::{arm_deadline, classify_error, memory_limit};
use super::{InvokeError, Limits, Loaded, Pre, Runtime, MAX_LOG_BYTES};

wasmtime::component::bindgen!({
    path: "wit/handler.wit",
    world: "handler",
    exports: { default: async },
});

pub use self::HandlerError as GuestError;

/// How long an environment may stay idle before it is dropped (Lambda keeps idle environments
/// for minutes, unspecified; gw keeps them 5).
pub const IDLE_TTL: Duration = Duration::from_secs(300);

/// How long an environment's start (instantiation and `init`) may take: Lambda's init phase
/// limit, separate from the invocation's timeout.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What Lambda's context carries for one invocation (the deadline is computed from the limits).
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub request_id: String,
    pub function_name: String,
    pub function_version: String,
    pub invoked_function_arn: String,
}

/// What one invocation cost, as Lambda's `REPORT` line states it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub duration: Duration,
    pub memory_size_mb: u64,
    /// The most linear memory the environment has used, in MiB (rounded up).
    pub max_memory_used_mb: u64,
    /// Set on a cold start: how long starting the environment and its `init` took.
    pub init_duration: Option<Duration>,
    /// Which environment ran it (for logs and tests).
    pub environment: u64,
}

/// A handler's answer: its result's JSON, or the error it returned (Lambda's function error).
#[derive(Debug, Clone)]
pub enum Outcome {
    Ok(String),
    Error(GuestError),
}

/// One invocation's result, with its report and what the guest wrote (stdout and stderr).
#[derive(Debug)]
pub struct Invoked {
    pub result: Result<Outcome, InvokeError>,
    pub report: Report,
    pub log: Vec<u8>,
}

/// A live instance of the component.
struct Env {
    store: Store<P2Host>,
    handler: Handler,
    output: LogPipe,
    refused: Arc<AtomicBool>,
    peak: Arc<AtomicUsize>,
    id: u64,
    idle_since: std::time::Instant,
    /// The runtime's instance slot this environment holds for as long as it lives.
    _slot: OwnedSemaphorePermit,
}

/// The warm environments of one function version.
pub(crate) struct EnvPool {
    pre: HandlerPre<P2Host>,
    idle: Mutex<VecDeque<Env>>,
    /// Created by the first invocation, with its `Limits::concurrency`.
    running: OnceLock<Arc<Semaphore>>,
    next_id: AtomicU64,
}

impl EnvPool {
    pub(crate) fn new(pre: HandlerPre<P2Host>) -> EnvPool {
        EnvPool {
            pre,
            idle: Mutex::new(VecDeque::new()),
            running: OnceLock::new(),
            next_id: AtomicU64::new(1),
        }
    }

    fn idle(&self) -> MutexGuard<'_, VecDeque<Env>> {
        // A poisoned lock means a panic while pushing or popping; the queue itself is intact.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many environments are idle now.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle().len()
    }

    /// Drops environments idle longer than `ttl`; returns how many.
    pub(crate) fn sweep(&self, ttl: Duration) -> usize {
        let expired: Vec<Env> = {
            let mut idle = self.idle();
            let mut out = Vec::new();
            // Oldest at the back.
            while idle.back().is_some_and(|e| e.idle_since.elapsed() >= ttl) {
                if let Some(e) = idle.pop_back() {
                    out.push(e);
                }
            }
            out
        };
        expired.len()
    }

    /// Gives up the least recently used idle environment (its instance slot returns to the
    /// runtime); false when none is idle.
    pub(crate) fn reclaim_one(&self) -> bool {
        let env = self.idle().pop_back();
        env.is_some()
    }

    /// The environments' idle since, oldest first (for the sweeper's choice).
    pub(crate) fn oldest_idle(&self) -> Option<std::time::Instant> {
        self.idle().back().map(|e| e.idle_since)
    }
}

impl Runtime {
    /// Runs a handler-world function: `event` (JSON) to `handle` in a warm environment (started,
    /// with `init`, when none is idle). `env` is the environment's variables (used only when a new
    /// environment starts).
    pub async fn invoke_handler(
        &self,
        f: &Loaded,
        event: String,
        invocation: &Invocation,
        env: &[(String, String)],
        limits: &Limits,
    ) -> Invoked {
        let start = Instant::now();
        let mut report = Report {
            duration: Duration::ZERO,
            memory_size_mb: limits.memory_bytes >> 20,
            max_memory_used_mb: 0,
            init_duration: None,
            environment: 0,
        };
        let Pre::Handler(pool) = &f.pre else {
            return Invoked {
                result: Err(InvokeError::Other(format!(
                    "{} is a {} function, not a handler-world component",
                    f.label(),
                    f.kind()
                ))),
                report,
                log: Vec::new(),
            };
        };
        let deadline = start + limits.timeout;
        let running = pool
            .running
            .get_or_init(|| Arc::new(Semaphore::new(limits.concurrency.max(1) as usize)))
            .clone();
        let _permit = match running.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let wait_until = deadline.min(start + limits.queue_wait);
                match tokio::time::timeout_at(wait_until, running.acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    _ => {
                        return Invoked {
                            result: Err(InvokeError::Throttled),
                            report,
                            log: Vec::new(),
                        }
                    }
                }
            }
        };

        let reused = pool.idle().pop_front();
        let mut env = match reused {
            Some(env) => env,
            None => {
                let started = Instant::now();
                let init_deadline = started + INIT_TIMEOUT;
                match self.start_env(pool, env, limits, init_deadline).await {
                    Ok(env) => {
                        report.init_duration = Some(started.elapsed());
                        env
                    }
                    Err((e, log)) => {
                        report.duration = start.elapsed();
                        return Invoked {
                            result: Err(e),
                            report,
                            log,
                        };
                    }
                }
            }
        };
        report.environment = env.id;

        // The function's time starts once its environment is ready (Lambda's init phase has a
        // budget of its own).
        let invoke_started = Instant::now();
        let deadline = invoke_started + limits.timeout;
        env.refused.store(false, Ordering::Relaxed);
        let ctx = Context {
            aws_request_id: invocation.request_id.clone(),
            function_name: invocation.function_name.clone(),
            function_version: invocation.function_version.clone(),
            invoked_function_arn: invocation.invoked_function_arn.clone(),
            memory_limit_in_mb: u32::try_from(limits.memory_bytes >> 20).unwrap_or(u32::MAX),
            deadline_ms: deadline_epoch_ms(deadline),
        };
        arm_deadline(&mut env.store, deadline);
        // This invocation's outbound policy (a warm environment keeps none between calls).
        env.store.data_mut().hooks.outbound = limits.outbound.clone();
        let call = env.handler.call_handle(&mut env.store, &event, &ctx);
        let result = match tokio::time::timeout_at(deadline, call).await {
            Err(_elapsed) => Err(InvokeError::Timeout),
            Ok(Ok(Ok(json))) => Ok(Outcome::Ok(json)),
            Ok(Ok(Err(error))) => Ok(Outcome::Error(error)),
            Ok(Err(e)) => Err(classify_error(e, &env.refused)
                .err()
                .unwrap_or(InvokeError::NoResponse)),
        };
        report.duration = invoke_started.elapsed();
        report.max_memory_used_mb = env.peak.load(Ordering::Relaxed).div_ceil(1 << 20) as u64;
        let (log, dropped) = env.output.take();
        let log = with_dropped(log, dropped);
        if result.is_ok() {
            env.idle_since = std::time::Instant::now();
            pool.idle().push_front(env);
        }
        // Otherwise the environment is dropped here: the next invocation starts a fresh one.
        Invoked {
            result,
            report,
            log,
        }
    }

    /// Starts an environment: an instance slot (giving up another function's idle environment if
    /// every slot is taken), a store with the function's variables and memory limit, the
    /// instance, and its `init`.
    async fn start_env(
        &self,
        pool: &EnvPool,
        vars: &[(String, String)],
        limits: &Limits,
        deadline: Instant,
    ) -> Result<Env, (InvokeError, Vec<u8>)> {
        let slot = self.slot(deadline).await.map_err(|e| (e, Vec::new()))?;
        let output = LogPipe::new(MAX_LOG_BYTES);
        let (limiter, refused) = Limiter::new(memory_limit(limits));
        let peak = limiter.peak();
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(output.clone())
            .stderr(output.clone())
            .envs(vars);
        let mut store = Store::new(
            self.engine(),
            P2Host::new(wasi.build(), limiter, limits.outbound.clone()),
        );
        store.limiter(|h| &mut h.limiter);
        arm_deadline(&mut store, deadline);
        let started = async {
            let handler = pool.pre.instantiate_async(&mut store).await?;
            let init = handler.call_init(&mut store).await?;
            Ok::<_, wasmtime::Error>((handler, init))
        };
        let outcome = tokio::time::timeout_at(deadline, started).await;
        let (log, dropped) = output.take();
        let log = with_dropped(log, dropped);
        match outcome {
            Err(_elapsed) => Err((InvokeError::Timeout, log)),
            Ok(Err(e)) => Err((
                classify_error(e, &refused)
                    .err()
                    .unwrap_or(InvokeError::NoResponse),
                log,
            )),
            Ok(Ok((_, Err(error)))) => Err((
                InvokeError::InitFailed {
                    error_type: error.error_type,
                    message: error.error_message,
                },
                log,
            )),
            Ok(Ok((handler, Ok(())))) => {
                // Init output belongs to the first invocation's log, as Lambda prints it.
                output.put_back(&log);
                Ok(Env {
                    store,
                    handler,
                    output,
                    refused,
                    peak,
                    id: pool.next_id.fetch_add(1, Ordering::Relaxed),
                    idle_since: std::time::Instant::now(),
                    _slot: slot,
                })
            }
        }
    }
}

pub(super) fn with_dropped(mut log: Vec<u8>, dropped: usize) -> Vec<u8> {
    if dropped > 0 {
        log.extend_from_slice(
            format!("[{dropped} more bytes of function output dropped]\n").as_bytes(),
        );
    }
    log
}

/// A tokio deadline as milliseconds since the Unix epoch.
fn deadline_epoch_ms(deadline: Instant) -> u64 {
    let left = deadline.saturating_duration_since(Instant::now());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from((now + left).as_millis()).unwrap_or(u64::MAX)
}
