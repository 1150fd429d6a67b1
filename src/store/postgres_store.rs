//! The PostgreSQL store (`--store postgres://...`): a few open connections, the schema and its
//! versioned migrations, transactions with SQLite's guarantees, and the change listener.
//!
//! - A write takes `SELECT ... FROM generation FOR UPDATE` first: writers queue on that row as
//!   they queue on SQLite's lock, and (READ COMMITTED) each statement after it sees every commit
//!   made before. A read runs in one REPEATABLE READ snapshot.
//! - A versioned commit advances the generation and sends `NOTIFY gw_changes` (delivered at
//!   commit); [`Listener`] holds a connection that `LISTEN`s, and checks the generation every
//!   [`FALLBACK_CHECK`] in case a notification was lost with a connection.
//! - The sync `postgres` client runs its own small runtime; a transaction asked for on a thread
//!   that is inside a tokio runtime runs on a scoped thread of its own, so it never blocks (or
//!   panics) a runtime.

use super::{Mode, Result, StoreError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The schema version this gw writes; a database with a newer one is refused.
pub const SCHEMA_VERSION: i64 = 1;

/// How often the listener checks the generation without a notification.
pub const FALLBACK_CHECK: Duration = Duration::from_millis(500);

/// Most idle connections kept open.
const IDLE: usize = 4;

/// Migrations, in order: `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &["
CREATE TABLE IF NOT EXISTS apis (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created BIGINT NOT NULL,
    model TEXT NOT NULL,
    spec BYTEA,
    spec_file TEXT
);
CREATE TABLE IF NOT EXISTS deployments (
    seq BIGSERIAL,
    api_id TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    description TEXT,
    created BIGINT NOT NULL,
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
    version BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    kind TEXT NOT NULL,
    memory_mb BIGINT NOT NULL,
    timeout_seconds BIGINT NOT NULL,
    environment TEXT NOT NULL,
    created BIGINT NOT NULL,
    wasm BYTEA NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS documents (
    seq BIGSERIAL,
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
    seq BIGSERIAL PRIMARY KEY,
    api_id TEXT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stage_history_by_stage ON stage_history (api_id, stage, seq);
CREATE INDEX IF NOT EXISTS apis_by_name ON apis (name);
CREATE TABLE IF NOT EXISTS function_settings (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    settings TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    address TEXT NOT NULL,
    version TEXT NOT NULL,
    generation BIGINT NOT NULL,
    started_ms BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO generation (id, n) VALUES (1, 0) ON CONFLICT DO NOTHING;
"];

/// A PostgreSQL store.
pub struct Pg {
    /// The URL without its password (for messages).
    pub url: String,
    config: postgres::Config,
    idle: Mutex<Vec<postgres::Client>>,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pg").field("url", &self.url).finish()
    }
}

/// A PostgreSQL error as the store says it.
pub fn error(url: &str, e: &postgres::Error) -> StoreError {
    let detail = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        // "error connecting to server" says little without its cause ("Connection refused").
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    };
    StoreError::Postgres {
        url: url.to_string(),
        error: detail,
    }
}

impl Pg {
    /// Connects, and brings the schema to [`SCHEMA_VERSION`] (refusing a newer database).
    pub fn open(url: &str) -> Result<Pg> {
        // The client blocks on a runtime of its own; see `Pg::transaction`.
        if tokio::runtime::Handle::try_current().is_ok() {
            let url = url.to_string();
            return std::thread::scope(|s| {
                s.spawn(move || Pg::open_here(&url))
                    .join()
                    .unwrap_or_else(|_| {
                        Err(StoreError::Invalid(
                            "opening the store failed unexpectedly".into(),
                        ))
                    })
            });
        }
        Pg::open_here(url)
    }

    fn open_here(url: &str) -> Result<Pg> {
        let config: postgres::Config = url.parse().map_err(|e| StoreError::Postgres {
            url: crate::net::redacted_url(url),
            error: format!("not a PostgreSQL URL ({e}); write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
        })?;
        let pg = Pg {
            url: crate::net::redacted_url(url),
            config,
            idle: Mutex::new(Vec::new()),
        };
        pg.migrate()?;
        Ok(pg)
    }

    fn err(&self, e: &postgres::Error) -> StoreError {
        error(&self.url, e)
    }

    fn connect(&self) -> Result<postgres::Client> {
        let mut config = self.config.clone();
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        // A server gone without closing the connection (a crash, a cut network) is noticed
        // within seconds, not when the kernel gives up hours later.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(5))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3)
            .tcp_user_timeout(Duration::from_secs(15));
        config
            .application_name("gw")
            .connect(postgres::NoTls)
            .map_err(|e| self.err(&e))
    }

    /// An open connection (a kept one that is still open, else a new one).
    fn checkout(&self) -> Result<postgres::Client> {
        loop {
            let kept = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match kept {
                Some(c) if c.is_closed() => continue,
                Some(c) => return Ok(c),
                None => return self.connect(),
            }
        }
    }

    fn checkin(&self, client: postgres::Client) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE && !client.is_closed() {
            idle.push(client);
        }
    }

    fn migrate(&self) -> Result<()> {
        let mut client = self.checkout()?;
        let mut tx = client.transaction().map_err(|e| self.err(&e))?;
        // One migrator at a time, whichever process starts first.
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7471727); CREATE TABLE IF NOT EXISTS gw_schema (version BIGINT NOT NULL)",
        )
        .map_err(|e| self.err(&e))?;
        let version: i64 = tx
            .query_opt("SELECT max(version) FROM gw_schema", &[])
            .map_err(|e| self.err(&e))?
            .and_then(|r| r.get::<_, Option<i64>>(0))
            .unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(StoreError::Invalid(format!(
                "the PostgreSQL store {} has schema version {version}, newer than this gw's {SCHEMA_VERSION}: use a newer gw (the one that wrote it, or later)",
                self.url
            )));
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(migration).map_err(|e| self.err(&e))?;
            tx.execute(
                "INSERT INTO gw_schema (version) VALUES ($1)",
                &[&(i as i64 + 1)],
            )
            .map_err(|e| self.err(&e))?;
        }
        tx.commit().map_err(|e| self.err(&e))?;
        self.checkin(client);
        Ok(())
    }

    /// Runs `f` in one transaction of `mode` (see the module's notes).
    pub(super) fn transaction<T: Send>(
        &self,
        mode: Mode,
        f: impl FnOnce(&mut postgres::Client) -> Result<T> + Send,
    ) -> Result<T> {
        // The client blocks on a runtime of its own, which tokio refuses inside another.
        if tokio::runtime::Handle::try_current().is_ok() {
            return std::thread::scope(|s| {
                s.spawn(|| self.transaction_here(mode, f))
                    .join()
                    .unwrap_or_else(|_| {
                        Err(StoreError::Invalid(
                            "a store transaction failed unexpectedly".into(),
                        ))
                    })
            });
        }
        self.transaction_here(mode, f)
    }

    fn transaction_here<T>(
        &self,
        mode: Mode,
        f: impl FnOnce(&mut postgres::Client) -> Result<T>,
    ) -> Result<T> {
        let begin = match mode {
            Mode::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Mode::Write | Mode::Unversioned => {
                "BEGIN; SELECT n FROM generation WHERE id = 1 FOR UPDATE"
            }
        };
        let mut client = self.checkout()?;
        if client.batch_execute(begin).is_err() {
            // A kept connection the server closed (a restart, an idle timeout) is only noticed
            // when used: once more on a new one.
            drop_off_runtime(vec![client]);
            client = self.connect()?;
            client.batch_execute(begin).map_err(|e| self.err(&e))?;
        }
        let out = f(&mut client);
        let end = match (&out, mode) {
            (Err(_), _) | (Ok(_), Mode::Read) => client.batch_execute("ROLLBACK"),
            (Ok(_), Mode::Write) => client.batch_execute(
                "UPDATE generation SET n = n + 1 WHERE id = 1; NOTIFY gw_changes; COMMIT",
            ),
            (Ok(_), Mode::Unversioned) => client.batch_execute("COMMIT"),
        };
        match end {
            Ok(()) => self.checkin(client),
            // A connection whose transaction state is unknown is not kept.
            Err(e) => {
                drop_off_runtime(vec![client]);
                if out.is_ok() {
                    return Err(self.err(&e));
                }
            }
        }
        out
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|p| p.into_inner()));
        drop_off_runtime(idle);
    }
}

/// Closes `clients`: a client's drop blocks on its own runtime, which tokio refuses inside
/// another, so inside one they are dropped on a thread of their own.
fn drop_off_runtime(clients: Vec<postgres::Client>) {
    if clients.is_empty() {
        return;
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        let _ = std::thread::spawn(move || drop(clients)).join();
    } else {
        drop(clients);
    }
}

/// Watches a PostgreSQL store for commits: `LISTEN gw_changes`, and the generation read every
/// [`FALLBACK_CHECK`]; reconnects after a lost connection.
pub struct Listener {
    pg: std::sync::Arc<Pg>,
    client: Option<postgres::Client>,
    /// Advanced whenever a change may have happened.
    version: i64,
    last_generation: Option<i64>,
    checked: Option<Instant>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop_off_runtime(vec![client]);
        }
    }
}

impl Listener {
    pub fn new(pg: &std::sync::Arc<Pg>) -> Listener {
        Listener {
            pg: pg.clone(),
            client: None,
            version: 0,
            last_generation: None,
            checked: None,
        }
    }

    /// A number that changes when someone may have committed.
    pub fn version(&mut self) -> Result<i64> {
        // The client blocks on a runtime of its own; see `Pg::transaction`.
        if tokio::runtime::Handle::try_current().is_ok() {
            return std::thread::scope(|s| {
                s.spawn(|| self.poll())
                    .join()
                    .unwrap_or_else(|_| Err(StoreError::Invalid("the store watcher failed".into())))
            });
        }
        self.poll()
    }

    fn poll(&mut self) -> Result<i64> {
        if self.client.as_ref().is_none_or(postgres::Client::is_closed) {
            if let Some(old) = self.client.take() {
                drop_off_runtime(vec![old]);
            }
            let mut client = self.pg.connect()?;
            client
                .batch_execute("LISTEN gw_changes")
                .map_err(|e| self.pg.err(&e))?;
            self.client = Some(client);
            // Whatever happened while not listening: look.
            self.version += 1;
            self.checked = None;
        }
        let Some(client) = self.client.as_mut() else {
            return Ok(self.version);
        };
        let drained: std::result::Result<bool, postgres::Error> = {
            use postgres::fallible_iterator::FallibleIterator as _;
            let mut notifications = client.notifications();
            let mut pending = notifications.iter();
            let mut any = false;
            loop {
                match pending.next() {
                    Ok(Some(_)) => any = true,
                    Ok(None) => break Ok(any),
                    Err(e) => break Err(e),
                }
            }
        };
        let notified = match drained {
            Ok(n) => n,
            Err(e) => {
                let e = self.pg.err(&e);
                if let Some(old) = self.client.take() {
                    drop_off_runtime(vec![old]);
                }
                return Err(e);
            }
        };
        if notified {
            self.version += 1;
        }
        if self.checked.is_none_or(|c| c.elapsed() >= FALLBACK_CHECK) {
            let n = client
                .query_one("SELECT n FROM generation WHERE id = 1", &[])
                .and_then(|r| r.try_get::<_, i64>(0));
            match n {
                Ok(n) => {
                    if self.last_generation != Some(n) {
                        self.last_generation = Some(n);
                        self.version += 1;
                    }
                    self.checked = Some(Instant::now());
                }
                Err(e) => {
                    let e = self.pg.err(&e);
                    if let Some(old) = self.client.take() {
                        drop_off_runtime(vec![old]);
                    }
                    return Err(e);
                }
            }
        }
        Ok(self.version)
    }
}
