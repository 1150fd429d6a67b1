//! The store: by default one SQLite database (WAL) under the state directory, shared by every gw
//! process on the machine; with `--store postgres://...` (or `GW_STORE`), a PostgreSQL database
//! shared by gw nodes anywhere. The only code that writes state.
//!
//! Every write runs in one transaction that first takes the store's write lock (SQLite's
//! `BEGIN IMMEDIATE`; on PostgreSQL a row lock on the generation counter), so a command either
//! lands whole or not at all (a kill -9 mid-write leaves the previous state), writers queue
//! instead of failing, and each sees the last committed state. Readers never block writers. A
//! long-lived reader (the server) learns that someone committed from `PRAGMA data_version`, or
//! on PostgreSQL from `LISTEN gw_changes` with a periodic check of the generation as a fallback
//! ([`Watcher`]).
//!
//! This module is the database itself: opening it (the schema: on SQLite added to by `IF NOT
//! EXISTS` for state directories from an older gw; on PostgreSQL versioned migrations, refused
//! when the database is newer than this gw), connections, transactions ([`Store::write`],
//! [`Store::read`], [`Tx`]) and the [`Watcher`]. `db` is the SQL both engines share. The queries
//! a [`Tx`] offers are grouped by the table they touch: `apis`, `deployments` (deployments and
//! stages), `functions`, `documents` (API keys and usage plans), `ramps`, `nodes`.

pub mod serving;

mod apis;
mod copy;
pub(crate) mod db;
mod deployments;
mod documents;
mod functions;
mod nodes;
mod postgres_store;
mod ramps;

use crate::model::{CanarySettings, Stage};
use db::{Row, P};
use rusqlite::{Connection, TransactionBehavior};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use apis::ApiSummary;
pub use copy::Copied;
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
    #[error("PostgreSQL store {url}: {error}; check that the server runs and the URL (--store, GW_STORE) is right")]
    Postgres { url: String, error: String },
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

/// A handle on the store: the state directory (function cache, logs, TLS material, serving
/// markers) and the database. Cheap to clone; SQLite opens a connection per call, PostgreSQL
/// keeps a few open.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite { db: PathBuf },
    Postgres(Arc<postgres_store::Pg>),
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

/// Whether `location` (`--store`, `GW_STORE`) names a PostgreSQL database.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

impl Store {
    /// The SQLite store in state directory `dir` (`--state`, else `GW_STATE`, else `.gw`).
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        Store::open_at(dir, None)
    }

    /// The store in `dir`, its database at `database` when given (`postgres://...`), else the
    /// SQLite database in `dir`.
    pub fn open_at(dir: impl AsRef<Path>, database: Option<&str>) -> Result<Store> {
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
        match database {
            Some(url) if is_postgres_url(url) => Ok(Store {
                dir,
                backend: Backend::Postgres(Arc::new(postgres_store::Pg::open(url)?)),
            }),
            Some(other) => Err(StoreError::Invalid(format!(
                "--store {other:?} is not a store gw knows: give postgres://USER:PASSWORD@HOST:PORT/DATABASE, or leave it out for the SQLite database in the state directory"
            ))),
            None => Store::open_sqlite(dir),
        }
    }

    fn open_sqlite(dir: PathBuf) -> Result<Store> {
        let db = dir.join("gw.db");
        let store = Store {
            backend: Backend::Sqlite { db: db.clone() },
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
                .open(&db);
        }
        let conn = store.connect()?;
        let lite = |r| sqlite_error(&db, r);
        let ready: i64 = lite(conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'index') AND name IN ('apis', 'deployments', 'stages', 'functions', 'generation', 'documents', 'ramps', 'stage_history', 'function_settings', 'stage_history_by_stage', 'apis_by_name', 'nodes')",
            [],
            |r| r.get(0),
        ))?;
        // A state directory made by an older gw lacks the newer tables: the schema (all
        // `IF NOT EXISTS`) adds them.
        // A state directory made before REST API names could repeat (as on AWS) has a UNIQUE
        // name column: rebuild the table without it, keeping every row.
        let apis_sql: Option<String> = sqlite_error(
            &db,
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
            sqlite_error(
                &db,
                conn.execute_batch(
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
                ),
            )?;
        }
        if ready < 12 {
            // Schema creation races between first-time processes are serialized by the write lock.
            sqlite_error(
                &db,
                conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;")),
            )?;
        }
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the database is, for messages: the SQLite file, or the PostgreSQL URL without its
    /// password.
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Sqlite { db } => db.display().to_string(),
            Backend::Postgres(pg) => pg.url.clone(),
        }
    }

    /// Whether the database is PostgreSQL (shared by nodes on several machines).
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Where function logs are written (`logs/functions/NAME.log` in the state directory).
    pub fn function_log_dir(&self) -> PathBuf {
        self.dir.join("logs").join("functions")
    }

    /// Where compiled function code is cached (`cache/functions` in the state directory).
    pub fn function_cache_dir(&self) -> PathBuf {
        self.dir.join("cache").join("functions")
    }

    /// A new SQLite connection with WAL, foreign keys and a busy timeout long enough that
    /// writers queue. (SQLite stores only: a PostgreSQL store has no such file.)
    pub fn connect(&self) -> Result<Connection> {
        let db = match &self.backend {
            Backend::Sqlite { db } => db,
            Backend::Postgres(pg) => {
                return Err(StoreError::Invalid(format!(
                    "the store is PostgreSQL ({}), not a SQLite file",
                    pg.url
                )))
            }
        };
        let conn = sqlite_error(db, Connection::open(db))?;
        sqlite_error(db, conn.busy_timeout(Duration::from_secs(30)))?;
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
                    sqlite_error(db, other)?;
                    break;
                }
            }
        }
        sqlite_error(db, conn.pragma_update(None, "synchronous", "NORMAL"))?;
        sqlite_error(db, conn.pragma_update(None, "foreign_keys", "ON"))?;
        Ok(conn)
    }

    /// Run `f` in one write transaction: all of it commits, or none of it; the generation
    /// advances with it.
    pub fn write<T: Send>(&self, f: impl FnOnce(&Tx) -> Result<T> + Send) -> Result<T> {
        self.transaction(Mode::Write, f)
    }

    /// The store's generation: a counter every committed [`Store::write`] advances.
    pub fn generation(&self) -> Result<i64> {
        self.read(|tx| tx.generation())
    }

    /// Run `f` on a read snapshot.
    pub fn read<T: Send>(&self, f: impl FnOnce(&Tx) -> Result<T> + Send) -> Result<T> {
        self.transaction(Mode::Read, f)
    }

    /// Like [`Store::write`], but without advancing the generation: for bookkeeping that no
    /// server serves (a ramp's lease, a node's heartbeat), so that servers do not rebuild their
    /// snapshot for it.
    pub fn write_unversioned<T: Send>(&self, f: impl FnOnce(&Tx) -> Result<T> + Send) -> Result<T> {
        self.transaction(Mode::Unversioned, f)
    }

    fn transaction<T: Send>(
        &self,
        mode: Mode,
        f: impl FnOnce(&Tx) -> Result<T> + Send,
    ) -> Result<T> {
        match &self.backend {
            Backend::Sqlite { db } => {
                let mut conn = self.connect()?;
                let behavior = match mode {
                    Mode::Read => TransactionBehavior::Deferred,
                    Mode::Write | Mode::Unversioned => TransactionBehavior::Immediate,
                };
                let tx = sqlite_error(db, conn.transaction_with_behavior(behavior))?;
                let out = f(&Tx {
                    conn: Conn::Sqlite(&tx),
                    store: self,
                })?;
                match mode {
                    Mode::Read => {}
                    Mode::Write => {
                        sqlite_error(db, tx.execute("UPDATE generation SET n = n + 1", []))?;
                        sqlite_error(db, tx.commit())?;
                    }
                    Mode::Unversioned => sqlite_error(db, tx.commit())?,
                }
                Ok(out)
            }
            Backend::Postgres(pg) => pg.transaction(mode, |client| {
                f(&Tx {
                    conn: Conn::Postgres(RefCell::new(client)),
                    store: self,
                })
            }),
        }
    }

    /// `PRAGMA integrity_check` result (`ok` when healthy); PostgreSQL checks itself.
    pub fn integrity_check(&self) -> Result<String> {
        match &self.backend {
            Backend::Sqlite { db } => {
                let conn = self.connect()?;
                sqlite_error(
                    db,
                    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)),
                )
            }
            Backend::Postgres(_) => self.read(|tx| tx.generation()).map(|_| "ok".into()),
        }
    }
}

/// What a transaction may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Read,
    Write,
    Unversioned,
}

fn sqlite_error<T>(db: &Path, r: rusqlite::Result<T>) -> Result<T> {
    r.map_err(|error| StoreError::Sql {
        path: db.to_path_buf(),
        error,
    })
}

/// An open transaction on the store.
pub struct Tx<'a> {
    conn: Conn<'a>,
    store: &'a Store,
}

enum Conn<'a> {
    Sqlite(&'a rusqlite::Transaction<'a>),
    Postgres(RefCell<&'a mut postgres::Client>),
}

impl Tx<'_> {
    /// The generation this transaction sees (see [`Store::generation`]).
    pub fn generation(&self) -> Result<i64> {
        self.one("SELECT n FROM generation WHERE id = 1", &[])?
            .ok_or_else(|| StoreError::Corrupt("no generation row".into()))?
            .int(0)
    }

    /// Runs a statement; the number of rows it changed.
    pub(crate) fn exec(&self, sql: &str, params: &[P<'_>]) -> Result<usize> {
        match &self.conn {
            Conn::Sqlite(tx) => self.lite(tx.execute(sql, rusqlite::params_from_iter(params))),
            Conn::Postgres(client) => {
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                let n = client
                    .borrow_mut()
                    .execute(db::pg_sql(sql).as_str(), &params)
                    .map_err(|e| self.pg(e))?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// Every row a query answers.
    pub(crate) fn rows(&self, sql: &str, params: &[P<'_>]) -> Result<Vec<Row>> {
        match &self.conn {
            Conn::Sqlite(tx) => {
                let mut stmt = self.lite(tx.prepare(sql))?;
                let columns = stmt.column_count();
                let rows = self.lite(stmt.query_map(rusqlite::params_from_iter(params), |r| {
                    Row::from_sqlite(r, columns)
                }))?;
                rows.map(|r| self.lite(r)).collect()
            }
            Conn::Postgres(client) => {
                let params: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                let rows = client
                    .borrow_mut()
                    .query(db::pg_sql(sql).as_str(), &params)
                    .map_err(|e| self.pg(e))?;
                rows.iter()
                    .map(|r| Row::from_pg(r).map_err(|e| self.pg(e)))
                    .collect()
            }
        }
    }

    /// The first row a query answers, if any.
    pub(crate) fn one(&self, sql: &str, params: &[P<'_>]) -> Result<Option<Row>> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }

    fn lite<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|error| StoreError::Sql {
            path: PathBuf::from(self.store.location()),
            error,
        })
    }

    fn pg(&self, e: postgres::Error) -> StoreError {
        postgres_store::error(&self.store.location(), &e)
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

/// Tells a long-lived reader that someone committed.
pub struct Watcher {
    inner: WatcherInner,
}

enum WatcherInner {
    Sqlite { conn: Connection, db: PathBuf },
    Postgres(Box<postgres_store::Listener>),
}

impl Watcher {
    pub fn new(store: &Store) -> Result<Watcher> {
        Ok(Watcher {
            inner: match &store.backend {
                Backend::Sqlite { db } => WatcherInner::Sqlite {
                    conn: store.connect()?,
                    db: db.clone(),
                },
                Backend::Postgres(pg) => {
                    WatcherInner::Postgres(Box::new(postgres_store::Listener::new(pg)))
                }
            },
        })
    }

    /// Changes whenever another connection commits (on PostgreSQL: a notification, or the
    /// periodic check of the generation, says so).
    pub fn data_version(&mut self) -> Result<i64> {
        match &mut self.inner {
            WatcherInner::Sqlite { conn, db } => {
                sqlite_error(db, conn.query_row("PRAGMA data_version", [], |r| r.get(0)))
            }
            WatcherInner::Postgres(listener) => listener.version(),
        }
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
