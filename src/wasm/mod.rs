//! The WebAssembly function runtime: one wasmtime `Engine` per process, compiled code cached on
//! disk, a fresh sandboxed instance per invocation, and limits on memory and time.
//!
//! A function is one of three contracts, told apart by what the binary exports ([`ContractKind`]):
//! a Lambda-style WASI command (a wasm32-wasip1 core module or a wasm32-wasip2 component) that
//! reads the proxy event on stdin and writes the proxy response on stdout, or a `wasi:http/proxy`
//! component that handles an HTTP request directly.
//!
//! Life of a function here:
//! 1. `gw function put`: [`Runtime::classify`] refuses what gw cannot run;
//!    [`Runtime::precompile_to_cache`] writes `<cache_dir>/<sha256>-<engine hash>.cwasm`.
//! 2. Serving: [`Runtime::load`] maps the `.cwasm` (or compiles and caches it) and pre-instantiates
//!    it once into a [`Loaded`] template.
//! 3. Per request: [`Runtime::invoke_lambda`] / [`Runtime::invoke_http`] take a pool slot, build a
//!    fresh `Store` (deny-by-default WASI, the function's memory limit, an epoch deadline),
//!    instantiate from the template, call, and drop the store whatever happened.
//!
//! Architecture invariant: this module knows nothing of APIs, stages, OpenAPI or the store. It
//! takes bytes, limits and environment variables, and returns bytes or a typed error; building the
//! Lambda event and parsing its response is `crate::aws::lambda`'s job.

mod code;
mod handler;
mod host;
mod invoke;
pub mod logs;

pub use handler::{GuestError, Invocation, Invoked, Outcome, Report, IDLE_TTL};
pub use host::{Outbound, OutboundPolicy, Route};
pub use invoke::CommandRun;

use std::fmt;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker as ComponentLinker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig,
};
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use handler::{EnvPool, HandlerPre};
use host::{P1Host, P2Host};

/// How many function instances may run at once. The pool holds exactly this many component
/// instances (and proportionally many memories, tables and stacks); a semaphore of the same size
/// makes callers wait for a slot instead of hitting "pool exhausted".
pub const MAX_CONCURRENT_INSTANCES: u32 = 100;

/// The largest memory limit a function may have; [`Limits::memory_bytes`] above it is clamped.
/// Each pool slot reserves virtual address space (not RAM) for this; resident memory is only what
/// guests touch, and at most 1 MiB per slot stays resident between requests.
pub const MAX_MEMORY_BYTES: u64 = 512 << 20;

/// Cap on what a Lambda-style guest may write to stdout (Lambda's 6 MB response limit); writing
/// more traps the guest.
pub const MAX_RESPONSE_BYTES: usize = 6 << 20;

/// Cap on a `wasi:http` handler's response body (API Gateway's 10 MB payload limit).
pub const MAX_HTTP_BODY_BYTES: usize = 10 << 20;

/// Guest log output kept per invocation; the rest is dropped (and the drop is logged).
pub const MAX_LOG_BYTES: usize = 64 << 10;

/// The epoch ticker period: the granularity of timeouts.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Which contract a function binary implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContractKind {
    /// A wasm32-wasip1 core module exporting `_start`: event JSON on stdin, response on stdout.
    LambdaCommandP1,
    /// A wasm32-wasip2 `wasi:cli/run` component: event JSON on stdin, response on stdout.
    LambdaCommandP2,
    /// A component exporting `wasi:http/incoming-handler` (the `wasi:http/proxy` world).
    HttpProxy,
    /// A `gw:lambda/handler` component (`wit/handler.wit`): `init` once per warm execution
    /// environment, then `handle(event, context)` per invocation.
    Handler,
}

impl ContractKind {
    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractKind::LambdaCommandP1 => "lambda-p1",
            ContractKind::LambdaCommandP2 => "lambda-p2",
            ContractKind::HttpProxy => "http-proxy",
            ContractKind::Handler => "lambda-handler",
        }
    }

    /// Whether the function speaks the Lambda proxy event/response contract.
    pub fn is_lambda(self) -> bool {
        !matches!(self, ContractKind::HttpProxy)
    }
}

impl fmt::Display for ContractKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContractKind::LambdaCommandP1 => "lambda (wasip1 command)",
            ContractKind::LambdaCommandP2 => "lambda (wasip2 command)",
            ContractKind::HttpProxy => "wasi:http/proxy",
            ContractKind::Handler => "lambda handler (gw:lambda/handler, warm)",
        })
    }
}

impl std::str::FromStr for ContractKind {
    type Err = WasmError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "lambda-p1" => Ok(ContractKind::LambdaCommandP1),
            "lambda-p2" => Ok(ContractKind::LambdaCommandP2),
            "http-proxy" => Ok(ContractKind::HttpProxy),
            "lambda-handler" => Ok(ContractKind::Handler),
            other => Err(WasmError::UnknownContractKind(other.to_owned())),
        }
    }
}

/// Per-invocation limits of one function: its memory, time and concurrency, and where it may
/// send HTTP requests.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most linear memory the guest may grow to (clamped to [`MAX_MEMORY_BYTES`]).
    pub memory_bytes: u64,
    /// Wall-clock budget for the whole invocation (instantiate, run, collect the response).
    pub timeout: Duration,
    /// Handler-world functions: how many invocations of one version may run at once (Lambda's
    /// reserved concurrency), which is also how many warm environments it may keep.
    pub concurrency: u32,
    /// Handler-world functions: how long an invocation may wait for a free environment before
    /// it is throttled ([`InvokeError::Throttled`]).
    pub queue_wait: Duration,
    /// Where the function's `wasi:http/outgoing-handler` requests may go (default: nowhere).
    pub outbound: Outbound,
}

/// A function's concurrency when none is set (`gw function put --concurrency`).
pub const DEFAULT_CONCURRENCY: u32 = 10;

/// How long an invocation waits for one of its function's environments when all are busy.
pub const DEFAULT_QUEUE_WAIT: Duration = Duration::from_secs(1);

impl Default for Limits {
    /// Lambda's defaults as gw uses them: 128 MiB, and API Gateway's 29 s integration timeout.
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            timeout: Duration::from_millis(29_000),
            concurrency: DEFAULT_CONCURRENCY,
            queue_wait: DEFAULT_QUEUE_WAIT,
            outbound: Outbound::default(),
        }
    }
}

/// Errors preparing a function (classify, compile, cache, load).
#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    #[error(
        "not a WebAssembly binary (it does not start with \"\\0asm\"): expected a WASI command \
         built for wasm32-wasip1 or wasm32-wasip2, or a wasi:http/proxy component"
    )]
    NotWasm,
    #[error("unsupported WebAssembly function: {0}")]
    Unsupported(String),
    #[error("invalid WebAssembly: {0}")]
    Compile(String),
    #[error("cannot start the WebAssembly engine: {0}")]
    Engine(String),
    #[error("function cache {}: {source}", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid sha256 {0:?}: expected 64 lowercase hex digits")]
    BadHash(String),
    #[error("the WebAssembly bytes have sha256 {actual}, not the expected {expected}")]
    HashMismatch { expected: String, actual: String },
    #[error("unknown function contract kind {0:?} (expected lambda-p1, lambda-p2, lambda-handler or http-proxy)")]
    UnknownContractKind(String),
}

/// Why one invocation failed. The store is dropped in every case; the function stays loaded and
/// the next invocation starts clean.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    #[error("function timed out")]
    Timeout,
    #[error("function ran out of memory")]
    OutOfMemory,
    #[error("function trapped: {0}")]
    Trap(String),
    #[error("function exited with status {0}")]
    Exit(i32),
    #[error("function returned no response")]
    NoResponse,
    #[error("too many concurrent function invocations")]
    Busy,
    /// Every environment the function's concurrency allows stayed busy for the queue wait:
    /// Lambda's `TooManyRequestsException` (`ReservedFunctionConcurrentInvocationLimitExceeded`).
    #[error("TooManyRequestsException: Rate Exceeded.")]
    Throttled,
    /// The handler's `init` returned an error: the environment could not start.
    #[error("{error_type}: {message}")]
    InitFailed { error_type: String, message: String },
    #[error("function invocation failed: {0}")]
    Other(String),
}

impl InvokeError {
    /// The gateway status for this failure: 504 for a timeout (AWS's "Endpoint request timed
    /// out"); 503 when every instance slot stayed busy for the whole timeout (gw's own overload
    /// signal: AWS would throttle the Lambda, which API Gateway also surfaces as a 5xx); 502 (AWS's
    /// "Internal server error" for a failed Lambda) for everything else.
    pub fn status(&self) -> u16 {
        match self {
            InvokeError::Timeout => 504,
            InvokeError::Busy => 503,
            InvokeError::Throttled => 429,
            _ => 502,
        }
    }
}

/// A function ready to run: compiled code pre-instantiated against gw's host functions.
pub struct Loaded {
    label: String,
    kind: ContractKind,
    from_cache: bool,
    pre: Pre,
}

pub(crate) enum Pre {
    P1(wasmtime::InstancePre<P1Host>),
    P2(CommandPre<P2Host>),
    Http(ProxyPre<P2Host>),
    Handler(Arc<EnvPool>),
}

impl Loaded {
    /// The `NAME:VER` label given to [`Runtime::load`].
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn kind(&self) -> ContractKind {
        self.kind
    }

    /// Whether the code came from the on-disk cache rather than a fresh compilation.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// Handler-world functions: how many warm environments are idle now (0 for the others).
    pub fn idle_environments(&self) -> usize {
        match &self.pre {
            Pre::Handler(pool) => pool.idle_count(),
            _ => 0,
        }
    }
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loaded")
            .field("label", &self.label)
            .field("kind", &self.kind)
            .field("from_cache", &self.from_cache)
            .finish_non_exhaustive()
    }
}

/// The process-wide WebAssembly runtime. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    p1_linker: Linker<P1Host>,
    p2_linker: ComponentLinker<P2Host>,
    cache_dir: PathBuf,
    /// Hex digest of the engine's precompilation compatibility hash: part of every cache name, so
    /// a different wasmtime or different settings never load an incompatible `.cwasm`.
    compat: String,
    slots: Arc<Semaphore>,
    stop_ticker: Arc<AtomicBool>,
    /// Every handler function's environments, for the idle sweeper and for reclaiming a slot.
    pools: Pools,
}

type Pools = Arc<Mutex<Vec<Weak<EnvPool>>>>;

fn live_pools(pools: &Pools) -> Vec<Arc<EnvPool>> {
    let mut all = pools.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|w| w.strong_count() > 0);
    all.iter().filter_map(Weak::upgrade).collect()
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// Feeds `Hash` output into SHA-256, giving a digest that is stable across Rust releases (unlike
/// `DefaultHasher`).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0 // unused: the digest is read with `finalize`
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

fn engine_config() -> Config {
    let mut pool = PoolingAllocationConfig::default();
    let n = MAX_CONCURRENT_INSTANCES;
    // A componentized Python handler instantiates 14 core modules, a JavaScript one 4.
    pool.total_component_instances(n)
        .total_core_instances(24 * n)
        .total_memories(2 * n)
        .total_tables(8 * n)
        .total_stacks(n)
        .max_core_instances_per_component(32)
        .max_memories_per_component(4)
        .max_tables_per_component(16)
        // Hard ceiling; each function's own limit is enforced below it by `StoreLimits`.
        .max_memory_size(MAX_MEMORY_BYTES as usize)
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10)
        // Reset only dirty pages of a reused slot (Linux >= 6.7; ignored elsewhere).
        .pagemap_scan(Enabled::Auto);
    let mut cfg = Config::new();
    cfg.epoch_interruption(true)
        .max_wasm_stack(1 << 20)
        .concurrency_support(false)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    cfg
}

impl Runtime {
    /// Starts the engine (pooling allocator, epoch interruption) and its 10 ms epoch ticker
    /// thread. `cache_dir` holds the `.cwasm` files; it is created on first write.
    pub fn new(cache_dir: PathBuf) -> Result<Runtime, WasmError> {
        let engine =
            Engine::new(&engine_config()).map_err(|e| WasmError::Engine(format!("{e:#}")))?;

        let mut p1_linker = Linker::<P1Host>::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut p1_linker, |h| &mut h.wasi)
            .map_err(|e| WasmError::Engine(format!("linking WASIp1: {e:#}")))?;

        // `add_to_linker_async` for the `wasi:cli` imports every Rust std component has, plus
        // only the `wasi:http` interfaces (the strict proxy world alone rejects std components).
        let mut p2_linker = ComponentLinker::<P2Host>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut p2_linker)
            .map_err(|e| WasmError::Engine(format!("linking WASIp2: {e:#}")))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut p2_linker)
            .map_err(|e| WasmError::Engine(format!("linking wasi:http: {e:#}")))?;

        let mut hasher = ShaHasher(Sha256::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        let compat = hex::encode(&hasher.0.finalize()[..8]);

        let stop_ticker = Arc::new(AtomicBool::new(false));
        let pools: Pools = Arc::default();
        spawn_epoch_ticker(engine.weak(), stop_ticker.clone())?;
        spawn_idle_sweeper(stop_ticker.clone(), pools.clone())?;

        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                p1_linker,
                p2_linker,
                cache_dir,
                compat,
                slots: Arc::new(Semaphore::new(MAX_CONCURRENT_INSTANCES as usize)),
                stop_ticker,
                pools,
            }),
        })
    }

    /// Gives up the least recently used idle environment of any handler function, so its
    /// instance slot can start another.
    pub(crate) fn reclaim_idle(&self) {
        let pools = live_pools(&self.inner.pools);
        if let Some(pool) = pools
            .iter()
            .filter(|p| p.oldest_idle().is_some())
            .min_by_key(|p| p.oldest_idle())
        {
            pool.reclaim_one();
        }
    }

    /// The underlying engine (for benchmarks and diagnostics).
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }
}

/// One thread bumps the engine's epoch every [`EPOCH_TICK`]; per-store deadlines count ticks. It
/// stops when the runtime is dropped.
fn spawn_epoch_ticker(
    engine: wasmtime::EngineWeak,
    stop: Arc<AtomicBool>,
) -> Result<(), WasmError> {
    std::thread::Builder::new()
        .name("gw-wasm-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|e| WasmError::Engine(format!("cannot start the epoch ticker thread: {e}")))
}

/// Once a second, drops warm environments idle for longer than [`IDLE_TTL`] (on a thread of its
/// own: tearing down a store of a large component takes time the epoch ticker must not lose).
fn spawn_idle_sweeper(stop: Arc<AtomicBool>, pools: Pools) -> Result<(), WasmError> {
    std::thread::Builder::new()
        .name("gw-wasm-sweeper".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_secs(1));
                for pool in live_pools(&pools) {
                    pool.sweep(IDLE_TTL);
                }
            }
        })
        .map(drop)
        .map_err(|e| WasmError::Engine(format!("cannot start the idle sweeper thread: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn contract_kind_round_trips() {
        for k in [
            ContractKind::LambdaCommandP1,
            ContractKind::LambdaCommandP2,
            ContractKind::HttpProxy,
        ] {
            assert_eq!(k.as_str().parse::<ContractKind>().ok(), Some(k));
        }
        assert!("lambda".parse::<ContractKind>().is_err());
        assert_eq!(ContractKind::HttpProxy.to_string(), "wasi:http/proxy");
    }
}
