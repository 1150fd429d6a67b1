//! `gw nodes`: the servers on this store, from their heartbeats.

use super::{store, JsonFlag};
use crate::output::{print_json, Table};
use anyhow::Result;
use std::path::PathBuf;

pub fn list(state: &Option<PathBuf>, json: JsonFlag) -> Result<()> {
    let store = store(state)?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let nodes = store.read(|tx| tx.nodes(now_ms))?;
    let current = store.generation()?;
    if json.json {
        return print_json(&serde_json::json!({ "item": nodes, "generation": current }));
    }
    let mut t = Table::new(&[
        "NODE",
        "HOST",
        "ADDRESS",
        "VERSION",
        "GENERATION",
        "UP",
        "LAST HEARTBEAT",
    ]);
    for n in &nodes {
        let generation = if n.generation >= current {
            n.generation.to_string()
        } else {
            format!("{} (behind {current})", n.generation)
        };
        t.row(vec![
            n.id.clone(),
            n.host.clone(),
            n.address.clone(),
            n.version.clone(),
            generation,
            up(now_ms - n.started_ms),
            format!(
                "{:.1} s ago",
                (now_ms - n.heartbeat_ms).max(0) as f64 / 1000.0
            ),
        ]);
    }
    if t.is_empty() {
        outln!("no gw serve is running on this store (a node leaves the list {} s after its last heartbeat)", gw::store::NODE_TIMEOUT_SECONDS);
    } else {
        out!("{t}");
    }
    Ok(())
}

/// A duration in the largest whole unit: `42 s`, `7 min`, `3 h`, `2 d`.
fn up(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}
