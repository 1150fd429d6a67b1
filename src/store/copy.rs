//! `gw store copy`: every table of one store into another, empty one (SQLite to PostgreSQL and
//! back), in one read transaction on the source and one write transaction on the destination.

use super::db::{Cell, P};
use super::{Result, Store, StoreError};

/// The tables copied, with their columns, in an order that satisfies the foreign keys, each read
/// in insertion order where that order is kept.
const TABLES: &[(&str, &str, &str)] = &[
    ("apis", "id, name, created, model, spec, spec_file", "id"),
    (
        "deployments",
        "api_id, id, description, created, snapshot",
        "rowid",
    ),
    ("stages", "api_id, name, stage", "api_id, name"),
    (
        "functions",
        "name, version, sha256, size, kind, memory_mb, timeout_seconds, environment, created, wasm",
        "name, version",
    ),
    (
        "function_settings",
        "name, version, settings",
        "name, version",
    ),
    ("documents", "kind, id, body", "rowid"),
    ("ramps", "api_id, stage, ramp", "api_id, stage"),
    ("stage_history", "api_id, stage, entry", "seq"),
];

/// How many rows each table had.
pub type Copied = Vec<(&'static str, usize)>;

impl Store {
    /// Copies every table of this store into `dest`, which must hold no APIs, functions or
    /// documents yet.
    pub fn copy_into(&self, dest: &Store) -> Result<Copied> {
        let tables = self.read(|tx| {
            TABLES
                .iter()
                .map(|(table, columns, order)| {
                    tx.rows(
                        &format!("SELECT {columns} FROM {table} ORDER BY {order}"),
                        &[],
                    )
                })
                .collect::<Result<Vec<_>>>()
        })?;
        dest.write(|tx| {
            for table in ["apis", "functions", "documents"] {
                let n = tx
                    .one(&format!("SELECT count(*) FROM {table}"), &[])?
                    .map_or(Ok(0), |r| r.int(0))?;
                if n > 0 {
                    return Err(StoreError::Conflict(format!(
                        "the destination {} already holds state ({n} rows in {table}): gw store copy fills an empty store; choose a new database or state directory",
                        dest.location()
                    )));
                }
            }
            let mut copied = Vec::new();
            for ((table, columns, _), rows) in TABLES.iter().zip(&tables) {
                let width = columns.split(',').count();
                let placeholders: Vec<String> = (1..=width).map(|i| format!("?{i}")).collect();
                let sql = format!(
                    "INSERT INTO {table} ({columns}) VALUES ({})",
                    placeholders.join(", ")
                );
                for row in rows {
                    let params: Vec<P<'_>> = row
                        .0
                        .iter()
                        .map(|c| match c {
                            Cell::Null => P::Null,
                            Cell::Int(v) => P::Int(*v),
                            Cell::Text(v) => P::Text(v),
                            Cell::Blob(v) => P::Blob(v),
                        })
                        .collect();
                    tx.exec(&sql, &params)?;
                }
                copied.push((*table, rows.len()));
            }
            Ok(copied)
        })
    }
}
