//! This server as a node of its store: registered in the `nodes` table with a heartbeat every
//! [`HEARTBEAT`] (carrying the generation it serves), removed on a clean shutdown; a node killed
//! outright stops renewing and drops out of `gw nodes` after `store::NODE_TIMEOUT_SECONDS`.

use crate::gateway::snapshot::Reloader;
use crate::store::{Node, Store};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a node renews its registration.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// This machine's name (`/proc/sys/kernel/hostname`, else `HOSTNAME`, else `localhost`).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Registers this server and renews it until `stop`; then removes it.
pub fn spawn(
    store: Store,
    reloader: Arc<Reloader>,
    address: String,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let started_ms = chrono::Utc::now().timestamp_millis();
    let mut node = Node {
        id: format!("{}@{address}", std::process::id()),
        host: host_name(),
        address,
        version: env!("CARGO_PKG_VERSION").to_string(),
        generation: 0,
        started_ms,
        heartbeat_ms: started_ms,
    };
    std::thread::Builder::new()
        .name("gw-node".into())
        .spawn(move || {
            let mut last_error = None;
            while !stop.load(Ordering::Relaxed) {
                node.generation = reloader.current().generation;
                node.heartbeat_ms = chrono::Utc::now().timestamp_millis();
                match store.write_unversioned(|tx| tx.heartbeat(&node)) {
                    Ok(()) => last_error = None,
                    Err(e) => {
                        let msg = e.to_string();
                        if last_error.as_ref() != Some(&msg) {
                            tracing::warn!("node heartbeat: {msg}; trying again");
                            last_error = Some(msg);
                        }
                    }
                }
                // Sleep in short steps, so a shutdown is not kept waiting for a beat, and, on a
                // PostgreSQL store, a reload is said at once (a CLI change waits for it there;
                // on SQLite it waits on the serving markers, so no extra write is made).
                let prompt = store.is_postgres();
                let mut slept = Duration::ZERO;
                while slept < HEARTBEAT
                    && !stop.load(Ordering::Relaxed)
                    && !(prompt && reloader.current().generation != node.generation)
                {
                    std::thread::sleep(Duration::from_millis(10));
                    slept += Duration::from_millis(10);
                }
            }
            if let Err(e) = store.write_unversioned(|tx| tx.remove_node(&node.id)) {
                tracing::warn!("node {}: could not deregister: {e}", node.id);
            }
        })
}
