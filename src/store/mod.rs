//! The embedded store: one SQLite database (WAL) under the state directory, shared by every gw
//! process. The only code that writes state.
//!
//! Every write runs in one `BEGIN IMMEDIATE` transaction, so a command either lands whole or not
//! at all (a kill -9 mid-write leaves the previous state), and concurrent writers queue on
//! SQLite's lock (with a generous busy timeout) instead of failing. Readers never block writers
//! (WAL). `PRAGMA data_version` tells a long-lived reader (the server) that someone committed.
//!
//! This module is the database itself: opening it (the schema, added to by `IF NOT EXISTS` for
//! state directories from an older gw), connections, transactions ([`Store::write`],
//! [`Store::read`], [`Tx`]) and the [`Watcher`]. The queries a [`Tx`] offers are grouped by the
//! table they touch: `apis`, `deployments` (deployments and stages), `functions`, `documents`
//! (API keys and usage plans).

pub mod serving;

mod apis;
mod deployments;
mod documents;
mod functions;
mod nodes;
mod ramps;

use crate::model::{CanarySettings, Stage};
use rusqlite::{Connection, TransactionBehavior};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use apis::ApiSummary;
pub use functions::{FunctionSettings, FunctionVersion};
pub use nodes::{Node, NODE_TIMEOUT_SECONDS};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // The underlying errors are part of the message, not a `source`, so that a report that
    // prints the chain does not say them twice.
    #[error("cannot use the state directory {dir}: {reason}; check that it is a writable directory, or choose another with --state DIR or GW_STATE")]
    Dir { dir: PathBuf, reason: String },
    #[error("state database {path}: {error}")]
    Sql {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("stored data is damaged ({0}); the store may come from a newer gw")]
    Corrupt(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A handle on the state directory. Cheap to create; opens a connection per call site.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    db: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS apis (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    model TEXT NOT NULL,
    spec BLOB,
    spec_file TEXT
);
CREATE TABLE IF NOT EXISTS deployments (
    api_id TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    description TEXT,
    created INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    PRIMARY KEY (api_id, id)
);
CREATE TABLE IF NOT EXISTS stages (
    api_id TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    stage TEXT NOT NULL,
    PRIMARY KEY (api_id, name)
);
CREATE TABLE IF NOT EXISTS functions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    memory_mb INTEGER NOT NULL,
    timeout_seconds INTEGER NOT NULL,
    environment TEXT NOT NULL,
    created INTEGER NOT NULL,
    wasm BLOB NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS ramps (
    api_id TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    ramp TEXT NOT NULL,
    PRIMARY KEY (api_id, stage)
);
CREATE TABLE IF NOT EXISTS stage_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    api_id TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stage_history_by_stage ON stage_history (api_id, stage, seq);
CREATE INDEX IF NOT EXISTS apis_by_name ON apis (name);
CREATE TABLE IF NOT EXISTS function_settings (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    settings TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    address TEXT NOT NULL,
    version TEXT NOT NULL,
    generation INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n INTEGER NOT NULL
);
INSERT OR IGNORE INTO generation (id, n) VALUES (1, 0);
";

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// The state directory: `--state`, else `GW_STATE`, else `.gw` under the current directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        if dir.exists() && !dir.is_dir() {
            return Err(StoreError::Dir {
                reason: "it is a file, not a directory".into(),
                dir,
            });
        }
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Dir {
            dir: dir.clone(),
            reason: e.to_string(),
        })?;
        let store = Store {
            db: dir.join("gw.db"),
            dir,
        };
        // The state holds private keys (custom domains, user pools): a new database is readable
        // by its owner only (SQLite gives its -wal and -shm files the same mode).
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&store.db);
        }
        let conn = store.connect()?;
        let ready: i64 = store.sql(conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'index') AND name IN ('apis', 'deployments', 'stages', 'functions', 'generation', 'documents', 'ramps', 'stage_history', 'function_settings', 'stage_history_by_stage', 'apis_by_name', 'nodes')",
            [],
            |r| r.get(0),
        ))?;
        // A state directory made by an older gw lacks the newer tables: the schema (all
        // `IF NOT EXISTS`) adds them.
        // A state directory made before REST API names could repeat (as on AWS) has a UNIQUE
        // name column: rebuild the table without it, keeping every row.
        let apis_sql: Option<String> = store.sql(
            conn.query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'apis'",
                [],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            }),
        )?;
        if apis_sql.is_some_and(|sql| sql.contains("UNIQUE")) {
            store.sql(conn.execute_batch(
                "PRAGMA foreign_keys = OFF;
                 BEGIN IMMEDIATE;
                 CREATE TABLE apis_without_unique_names (
                     id TEXT PRIMARY KEY,
                     name TEXT NOT NULL,
                     created INTEGER NOT NULL,
                     model TEXT NOT NULL,
                     spec BLOB,
                     spec_file TEXT
                 );
                 INSERT INTO apis_without_unique_names SELECT id, name, created, model, spec, spec_file FROM apis;
                 DROP TABLE apis;
                 ALTER TABLE apis_without_unique_names RENAME TO apis;
                 COMMIT;
                 PRAGMA foreign_keys = ON;",
            ))?;
        }
        if ready < 12 {
            // Schema creation races between first-time processes are serialized by the write lock.
            store.sql(conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;")))?;
        }
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where function logs are written (`logs/functions/NAME.log` in the state directory).
    pub fn function_log_dir(&self) -> PathBuf {
        self.dir.join("logs").join("functions")
    }

    /// Where compiled function code is cached (`cache/functions` in the state directory).
    pub fn function_cache_dir(&self) -> PathBuf {
        self.dir.join("cache").join("functions")
    }

    fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|error| StoreError::Sql {
            path: self.db.clone(),
            error,
        })
    }

    /// A new connection with WAL, foreign keys and a busy timeout long enough that writers queue.
    pub fn connect(&self) -> Result<Connection> {
        let conn = self.sql(Connection::open(&self.db))?;
        self.sql(conn.busy_timeout(Duration::from_secs(30)))?;
        // Switching a new database to WAL can answer SQLITE_BUSY at once (the busy handler is not
        // consulted for it) while another process opens it too: try again for a while.
        let mut tries = 0;
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if tries < 250
                        && matches!(
                            e.code,
                            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                        ) =>
                {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => {
                    self.sql(other)?;
                    break;
                }
            }
        }
        self.sql(conn.pragma_update(None, "synchronous", "NORMAL"))?;
        self.sql(conn.pragma_update(None, "foreign_keys", "ON"))?;
        Ok(conn)
    }

    /// Run `f` in one IMMEDIATE transaction: all of it commits, or none of it.
    pub fn write<T>(&self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.connect()?;
        let tx = self.sql(conn.transaction_with_behavior(TransactionBehavior::Immediate))?;
        let out = f(&Tx {
            tx: &tx,
            store: self,
        })?;
        self.sql(tx.execute("UPDATE generation SET n = n + 1", []))?;
        self.sql(tx.commit())?;
        Ok(out)
    }

    /// The store's generation: a counter every committed [`Store::write`] advances.
    pub fn generation(&self) -> Result<i64> {
        self.read(|tx| tx.generation())
    }

    /// Run `f` on a read snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.connect()?;
        let tx = self.sql(conn.transaction_with_behavior(TransactionBehavior::Deferred))?;
        f(&Tx {
            tx: &tx,
            store: self,
        })
    }

    /// Like [`Store::write`], but without advancing the generation: for bookkeeping that no
    /// server serves (a ramp's lease), so that servers do not rebuild their snapshot for it.
    pub fn write_unversioned<T>(&self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.connect()?;
        let tx = self.sql(conn.transaction_with_behavior(TransactionBehavior::Immediate))?;
        let out = f(&Tx {
            tx: &tx,
            store: self,
        })?;
        self.sql(tx.commit())?;
        Ok(out)
    }

    /// `PRAGMA integrity_check` result (`ok` when healthy).
    pub fn integrity_check(&self) -> Result<String> {
        let conn = self.connect()?;
        self.sql(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
    }
}

/// An open transaction on the store.
pub struct Tx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    store: &'a Store,
}

impl Tx<'_> {
    /// The generation this transaction sees (see [`Store::generation`]).
    pub fn generation(&self) -> Result<i64> {
        self.store.sql(
            self.tx
                .query_row("SELECT n FROM generation WHERE id = 1", [], |r| r.get(0)),
        )
    }

    fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        self.store.sql(r)
    }
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A stage with its canary, as the data plane needs it.
pub fn merged_canary_variables(stage: &Stage, canary: &CanarySettings) -> BTreeMap<String, String> {
    let mut vars = stage.variables.clone();
    for (k, v) in &canary.stage_variable_overrides {
        vars.insert(k.clone(), v.clone());
    }
    vars
}

/// A connection that watches for commits by other processes.
pub struct Watcher {
    conn: Connection,
    db: PathBuf,
}

impl Watcher {
    pub fn new(store: &Store) -> Result<Watcher> {
        Ok(Watcher {
            conn: store.connect()?,
            db: store.db.clone(),
        })
    }

    /// Changes whenever another connection commits.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|error| StoreError::Sql {
                path: self.db.clone(),
                error,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_directory_from_an_older_gw_gets_the_newer_tables() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        // What an older gw left: every table but `documents`.
        let conn = store.connect().unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("DROP TABLE documents")
            .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let keys = store
            .read(|tx| tx.api_keys())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(keys.is_empty());
    }

    #[test]
    fn a_state_directory_with_unique_api_names_is_migrated_keeping_its_apis() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let conn = store.connect().unwrap_or_else(|e| panic!("{e}"));
        // The table as an older gw made it, with one API and its deployment.
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             DROP TABLE apis;
             CREATE TABLE apis (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL,
                                model TEXT NOT NULL, spec BLOB, spec_file TEXT);
             INSERT INTO apis VALUES ('a1', 'shop', 1, '{}', NULL, NULL);
             INSERT INTO deployments VALUES ('a1', 'd1', NULL, 1, '{}');
             PRAGMA foreign_keys = ON;",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let conn = store.connect().unwrap_or_else(|e| panic!("{e}"));
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'apis'",
                [],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!sql.contains("UNIQUE"), "{sql}");
        let (apis, deployments): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM apis), (SELECT count(*) FROM deployments)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((apis, deployments), (1, 1), "nothing lost");
        conn.execute(
            "INSERT INTO apis VALUES ('a2', 'shop', 2, '{}', NULL, NULL)",
            [],
        )
        .unwrap_or_else(|e| panic!("a second API named shop: {e}"));
    }

    #[test]
    fn a_state_directory_without_ramps_gets_their_tables() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let conn = store.connect().unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("DROP TABLE ramps; DROP TABLE stage_history")
            .unwrap_or_else(|e| panic!("{e}"));
        drop(conn);
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let ramps = store
            .read(|tx| tx.ramps())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(ramps.is_empty());
        let history = store
            .read(|tx| tx.history("a", "prod"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(history.is_empty());
    }
}
