//! The `nodes` table: every `gw serve` on this store registers itself (id, address, version, the
//! generation it serves) and renews the row with a heartbeat; a row not renewed within
//! [`NODE_TIMEOUT_SECONDS`] is a node that is gone. Written without advancing the generation (no
//! server serves it).

use super::db::p;
use super::{Result, Tx};

/// A node whose heartbeat is older than this is gone (`gw nodes` leaves it out).
pub const NODE_TIMEOUT_SECONDS: f64 = 3.0;

/// How long the row of a gone node is kept before it is deleted.
const FORGET_AFTER_SECONDS: f64 = 3600.0;

/// One `gw serve` on this store.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// `PID@ADDRESS` on `HOST` (unique while it runs).
    pub id: String,
    pub host: String,
    /// The plain (or, without one, the HTTPS) listener's address.
    pub address: String,
    pub version: String,
    /// The store generation it serves.
    pub generation: i64,
    /// When it started, epoch milliseconds.
    pub started_ms: i64,
    /// Its latest heartbeat, epoch milliseconds.
    pub heartbeat_ms: i64,
}

impl Tx<'_> {
    /// Registers or renews `node`, and forgets nodes gone for an hour.
    pub fn heartbeat(&self, node: &Node) -> Result<()> {
        self.exec(
            "INSERT INTO nodes (id, host, address, version, generation, started_ms, heartbeat_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET address = excluded.address, version = excluded.version,
                 generation = excluded.generation, heartbeat_ms = excluded.heartbeat_ms",
            p![
                &node.id,
                &node.host,
                &node.address,
                &node.version,
                node.generation,
                node.started_ms,
                node.heartbeat_ms
            ],
        )?;
        self.exec(
            "DELETE FROM nodes WHERE heartbeat_ms < ?1",
            p![node.heartbeat_ms - (FORGET_AFTER_SECONDS * 1000.0) as i64],
        )?;
        Ok(())
    }

    /// A node leaving (a clean shutdown).
    pub fn remove_node(&self, id: &str) -> Result<()> {
        self.exec("DELETE FROM nodes WHERE id = ?1", p![id])?;
        Ok(())
    }

    /// The nodes whose heartbeat is within [`NODE_TIMEOUT_SECONDS`] of `now_ms`, by id.
    pub fn nodes(&self, now_ms: i64) -> Result<Vec<Node>> {
        self.rows(
            "SELECT id, host, address, version, generation, started_ms, heartbeat_ms FROM nodes
             WHERE heartbeat_ms >= ?1 ORDER BY id",
            p![now_ms - (NODE_TIMEOUT_SECONDS * 1000.0) as i64],
        )?
        .iter()
        .map(|r| {
            Ok(Node {
                id: r.text(0)?,
                host: r.text(1)?,
                address: r.text(2)?,
                version: r.text(3)?,
                generation: r.int(4)?,
                started_ms: r.int(5)?,
                heartbeat_ms: r.int(6)?,
            })
        })
        .collect()
    }
}
