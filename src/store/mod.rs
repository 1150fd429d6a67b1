//! The embedded store: one SQLite database (WAL) under the state directory, shared by every gw
//! process. The only code that writes state.
//!
//! Every write runs in one `BEGIN IMMEDIATE` transaction, so a command either lands whole or not
//! at all (a kill -9 mid-write leaves the previous state), and concurrent writers queue on
//! SQLite's lock (with a generous busy timeout) instead of failing. Readers never block writers
//! (WAL). `PRAGMA data_version` tells a long-lived reader (the server) that someone committed.

pub mod serving;

use crate::model::{CanarySettings, Deployment, RestApi, Stage};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// A summary row for listings.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSummary {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_date: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub route_count: usize,
}

/// A registered WebAssembly function version.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionVersion {
    pub name: String,
    pub version: i64,
    pub sha256: String,
    pub size: i64,
    pub kind: String,
    pub memory_mb: i64,
    pub timeout_seconds: i64,
    pub environment: BTreeMap<String, String>,
    pub created_date: i64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS apis (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
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
        let conn = store.connect()?;
        let ready: i64 = store.sql(conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('apis', 'deployments', 'stages', 'functions', 'generation', 'documents')",
            [],
            |r| r.get(0),
        ))?;
        // A state directory made by an older gw lacks the newer tables: the schema (all
        // `IF NOT EXISTS`) adds them.
        if ready < 6 {
            // Schema creation races between first-time processes are serialized by the write lock.
            store.sql(conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;")))?;
        }
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
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
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Tx<'_> {
    fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        self.store.sql(r)
    }

    pub fn list_apis(&self) -> Result<Vec<RestApi>> {
        let mut stmt = self.sql(self.tx.prepare("SELECT model FROM apis ORDER BY name"))?;
        let rows = self.sql(stmt.query_map([], |r| r.get::<_, String>(0)))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&self.sql(row)?).map_err(corrupt)?);
        }
        Ok(out)
    }

    pub fn api_summaries(&self) -> Result<Vec<ApiSummary>> {
        Ok(self
            .list_apis()?
            .into_iter()
            .map(|a| ApiSummary {
                route_count: a.method_count(),
                id: a.id,
                name: a.name,
                description: a.description,
                created_date: a.created_date,
                version: a.version,
            })
            .collect())
    }

    /// Find an API by id or by name.
    pub fn find_api(&self, id_or_name: &str) -> Result<Option<RestApi>> {
        let model: Option<String> = self.sql(
            self.tx
                .query_row(
                    "SELECT model FROM apis WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1",
                    [id_or_name],
                    |r| r.get(0),
                )
                .optional(),
        )?;
        model
            .map(|m| serde_json::from_str(&m).map_err(corrupt))
            .transpose()
    }

    /// The API named by `selector`, or the only API when `selector` is `None`.
    pub fn resolve_api(&self, selector: Option<&str>) -> Result<RestApi> {
        match selector {
            Some(s) => self.find_api(s)?.ok_or_else(|| {
                let known = self.api_names().unwrap_or_default();
                StoreError::NotFound(format!(
                    "no API with id or name {s:?}{}",
                    if known.is_empty() {
                        "; there are no APIs yet: import one with `gw import SPEC`".to_string()
                    } else {
                        format!("; known APIs: {}", known.join(", "))
                    }
                ))
            }),
            None => {
                let mut apis = self.list_apis()?;
                match apis.len() {
                    0 => Err(StoreError::NotFound(
                        "there are no APIs yet: import one with `gw import SPEC`".into(),
                    )),
                    1 => Ok(apis.remove(0)),
                    _ => Err(StoreError::Invalid(format!(
                        "there are {} APIs; choose one with --api: {}",
                        apis.len(),
                        apis.iter()
                            .map(|a| format!("{} ({})", a.name, a.id))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                }
            }
        }
    }

    fn api_names(&self) -> Result<Vec<String>> {
        Ok(self
            .list_apis()?
            .into_iter()
            .map(|a| format!("{} ({})", a.name, a.id))
            .collect())
    }

    pub fn insert_api(&self, api: &RestApi, spec: &[u8], spec_file: &str) -> Result<()> {
        if let Some(other) = self.find_api(&api.name)? {
            return Err(StoreError::Conflict(format!(
                "an API named {:?} already exists (id {}); re-import into it with `--api {}`, or choose another name with --name",
                api.name, other.id, api.name
            )));
        }
        let model = serde_json::to_string(api).map_err(corrupt)?;
        self.sql(self.tx.execute(
            "INSERT INTO apis (id, name, created, model, spec, spec_file) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![api.id, api.name, api.created_date, model, spec, spec_file],
        ))?;
        Ok(())
    }

    pub fn update_api(&self, api: &RestApi, spec: Option<(&[u8], &str)>) -> Result<()> {
        let model = serde_json::to_string(api).map_err(corrupt)?;
        let n = match spec {
            Some((bytes, file)) => self.sql(self.tx.execute(
                "UPDATE apis SET name = ?2, model = ?3, spec = ?4, spec_file = ?5 WHERE id = ?1",
                params![api.id, api.name, model, bytes, file],
            ))?,
            None => self.sql(self.tx.execute(
                "UPDATE apis SET name = ?2, model = ?3 WHERE id = ?1",
                params![api.id, api.name, model],
            ))?,
        };
        if n == 0 {
            return Err(StoreError::NotFound(format!("no API with id {}", api.id)));
        }
        Ok(())
    }

    /// The spec bytes an API was last imported from.
    pub fn api_spec(&self, api_id: &str) -> Result<Option<(Vec<u8>, String)>> {
        self.sql(
            self.tx
                .query_row(
                    "SELECT spec, spec_file FROM apis WHERE id = ?1 AND spec IS NOT NULL",
                    [api_id],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        ))
                    },
                )
                .optional(),
        )
    }

    pub fn delete_api(&self, api_id: &str) -> Result<()> {
        self.sql(
            self.tx
                .execute("DELETE FROM stages WHERE api_id = ?1", [api_id]),
        )?;
        self.sql(
            self.tx
                .execute("DELETE FROM deployments WHERE api_id = ?1", [api_id]),
        )?;
        self.sql(self.tx.execute("DELETE FROM apis WHERE id = ?1", [api_id]))?;
        Ok(())
    }

    // ---- deployments ----

    /// Freeze `api` as it is now into a new deployment.
    pub fn create_deployment(
        &self,
        api: &RestApi,
        description: Option<&str>,
    ) -> Result<Deployment> {
        if api.method_count() == 0 {
            return Err(StoreError::Invalid(
                "The REST API doesn't contain any methods".into(),
            ));
        }
        let deployment = Deployment {
            id: crate::aws::ids::short(),
            description: description.map(str::to_string),
            created_date: now(),
        };
        let snapshot = serde_json::to_string(api).map_err(corrupt)?;
        self.sql(self.tx.execute(
            "INSERT INTO deployments (api_id, id, description, created, snapshot) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![api.id, deployment.id, deployment.description, deployment.created_date, snapshot],
        ))?;
        Ok(deployment)
    }

    pub fn deployments(&self, api_id: &str) -> Result<Vec<Deployment>> {
        let mut stmt = self.sql(self.tx.prepare(
            "SELECT id, description, created FROM deployments WHERE api_id = ?1 ORDER BY created, rowid",
        ))?;
        let rows = self.sql(stmt.query_map([api_id], |r| {
            Ok(Deployment {
                id: r.get(0)?,
                description: r.get(1)?,
                created_date: r.get(2)?,
            })
        }))?;
        rows.map(|r| self.sql(r)).collect()
    }

    pub fn deployment(&self, api_id: &str, id: &str) -> Result<Option<Deployment>> {
        self.sql(
            self.tx
                .query_row(
                    "SELECT id, description, created FROM deployments WHERE api_id = ?1 AND id = ?2",
                    [api_id, id],
                    |r| {
                        Ok(Deployment {
                            id: r.get(0)?,
                            description: r.get(1)?,
                            created_date: r.get(2)?,
                        })
                    },
                )
                .optional(),
        )
    }

    /// The frozen API of a deployment.
    pub fn deployment_snapshot(&self, api_id: &str, id: &str) -> Result<Option<RestApi>> {
        let s: Option<String> = self.sql(
            self.tx
                .query_row(
                    "SELECT snapshot FROM deployments WHERE api_id = ?1 AND id = ?2",
                    [api_id, id],
                    |r| r.get(0),
                )
                .optional(),
        )?;
        s.map(|s| serde_json::from_str(&s).map_err(corrupt))
            .transpose()
    }

    pub fn delete_deployment(&self, api_id: &str, id: &str) -> Result<()> {
        let in_use = self.stages(api_id)?.into_iter().any(|s| {
            s.deployment_id == id
                || s.canary_settings
                    .as_ref()
                    .is_some_and(|c| c.deployment_id == id)
        });
        if in_use {
            return Err(StoreError::Invalid(
                "Active stages pointing to this deployment must be moved or deleted".into(),
            ));
        }
        let n = self.sql(self.tx.execute(
            "DELETE FROM deployments WHERE api_id = ?1 AND id = ?2",
            [api_id, id],
        ))?;
        if n == 0 {
            return Err(StoreError::NotFound(
                "Invalid Deployment identifier specified".into(),
            ));
        }
        Ok(())
    }

    // ---- stages ----

    pub fn stages(&self, api_id: &str) -> Result<Vec<Stage>> {
        let mut stmt = self.sql(
            self.tx
                .prepare("SELECT stage FROM stages WHERE api_id = ?1 ORDER BY name"),
        )?;
        let rows = self.sql(stmt.query_map([api_id], |r| r.get::<_, String>(0)))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&self.sql(row)?).map_err(corrupt)?);
        }
        Ok(out)
    }

    pub fn stage(&self, api_id: &str, name: &str) -> Result<Option<Stage>> {
        let s: Option<String> = self.sql(
            self.tx
                .query_row(
                    "SELECT stage FROM stages WHERE api_id = ?1 AND name = ?2",
                    [api_id, name],
                    |r| r.get(0),
                )
                .optional(),
        )?;
        s.map(|s| serde_json::from_str(&s).map_err(corrupt))
            .transpose()
    }

    /// Insert or replace a stage.
    pub fn put_stage(&self, api_id: &str, stage: &Stage) -> Result<()> {
        let json = serde_json::to_string(stage).map_err(corrupt)?;
        self.sql(self.tx.execute(
            "INSERT INTO stages (api_id, name, stage) VALUES (?1, ?2, ?3)
             ON CONFLICT (api_id, name) DO UPDATE SET stage = excluded.stage",
            params![api_id, stage.stage_name, json],
        ))?;
        Ok(())
    }

    pub fn delete_stage(&self, api_id: &str, name: &str) -> Result<()> {
        let n = self.sql(self.tx.execute(
            "DELETE FROM stages WHERE api_id = ?1 AND name = ?2",
            [api_id, name],
        ))?;
        if n == 0 {
            return Err(StoreError::NotFound(
                "Invalid Stage identifier specified".into(),
            ));
        }
        Ok(())
    }

    // ---- functions ----

    #[allow(clippy::too_many_arguments)]
    pub fn put_function(
        &self,
        name: &str,
        wasm: &[u8],
        sha256: &str,
        kind: &str,
        memory_mb: i64,
        timeout_seconds: i64,
        environment: &BTreeMap<String, String>,
    ) -> Result<FunctionVersion> {
        let version: i64 = self.sql(self.tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM functions WHERE name = ?1",
            [name],
            |r| r.get(0),
        ))?;
        let env = serde_json::to_string(environment).map_err(corrupt)?;
        let created = now();
        self.sql(self.tx.execute(
            "INSERT INTO functions (name, version, sha256, size, kind, memory_mb, timeout_seconds, environment, created, wasm)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![name, version, sha256, wasm.len() as i64, kind, memory_mb, timeout_seconds, env, created, wasm],
        ))?;
        Ok(FunctionVersion {
            name: name.to_string(),
            version,
            sha256: sha256.to_string(),
            size: wasm.len() as i64,
            kind: kind.to_string(),
            memory_mb,
            timeout_seconds,
            environment: environment.clone(),
            created_date: created,
        })
    }

    fn function_row(r: &rusqlite::Row) -> rusqlite::Result<(FunctionVersion, String)> {
        Ok((
            FunctionVersion {
                name: r.get(0)?,
                version: r.get(1)?,
                sha256: r.get(2)?,
                size: r.get(3)?,
                kind: r.get(4)?,
                memory_mb: r.get(5)?,
                timeout_seconds: r.get(6)?,
                environment: BTreeMap::new(),
                created_date: r.get(8)?,
            },
            r.get(7)?,
        ))
    }

    pub fn functions(&self) -> Result<Vec<FunctionVersion>> {
        let mut stmt = self.sql(self.tx.prepare(
            "SELECT name, version, sha256, size, kind, memory_mb, timeout_seconds, environment, created
             FROM functions ORDER BY name, version",
        ))?;
        let rows = self.sql(stmt.query_map([], Self::function_row))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut f, env) = self.sql(row)?;
            f.environment = serde_json::from_str(&env).map_err(corrupt)?;
            out.push(f);
        }
        Ok(out)
    }

    /// A function version (`None`: `$LATEST`) with its code.
    pub fn function(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<Option<(FunctionVersion, Vec<u8>)>> {
        let row = self.sql(
            self.tx
                .query_row(
                    "SELECT name, version, sha256, size, kind, memory_mb, timeout_seconds, environment, created, wasm
                     FROM functions WHERE name = ?1 AND (?2 IS NULL OR version = ?2)
                     ORDER BY version DESC LIMIT 1",
                    params![name, version],
                    |r| Ok((Self::function_row(r)?, r.get::<_, Vec<u8>>(9)?)),
                )
                .optional(),
        )?;
        match row {
            None => Ok(None),
            Some(((mut f, env), wasm)) => {
                f.environment = serde_json::from_str(&env).map_err(corrupt)?;
                Ok(Some((f, wasm)))
            }
        }
    }

    pub fn delete_function(&self, name: &str) -> Result<usize> {
        let n = self.sql(
            self.tx
                .execute("DELETE FROM functions WHERE name = ?1", [name]),
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "no function named {name:?}; `gw functions` lists them"
            )));
        }
        Ok(n)
    }
}

/// Account-wide documents (API keys, usage plans), stored as JSON by kind and id.
impl Tx<'_> {
    fn documents<T: serde::de::DeserializeOwned>(&self, kind: &str) -> Result<Vec<T>> {
        let mut stmt = self.sql(
            self.tx
                .prepare("SELECT body FROM documents WHERE kind = ?1 ORDER BY rowid"),
        )?;
        let rows = self.sql(stmt.query_map([kind], |r| r.get::<_, String>(0)))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&self.sql(row)?).map_err(corrupt)?);
        }
        Ok(out)
    }

    fn put_document<T: serde::Serialize>(&self, kind: &str, id: &str, doc: &T) -> Result<()> {
        let body = serde_json::to_string(doc).map_err(corrupt)?;
        self.sql(self.tx.execute(
            "INSERT INTO documents (kind, id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
            params![kind, id, body],
        ))?;
        Ok(())
    }

    fn delete_document(&self, kind: &str, id: &str) -> Result<bool> {
        let n = self.sql(self.tx.execute(
            "DELETE FROM documents WHERE kind = ?1 AND id = ?2",
            params![kind, id],
        ))?;
        Ok(n > 0)
    }

    pub fn api_keys(&self) -> Result<Vec<crate::model::ApiKey>> {
        self.documents("api_key")
    }

    pub fn put_api_key(&self, key: &crate::model::ApiKey) -> Result<()> {
        self.put_document("api_key", &key.id, key)
    }

    /// Deletes a key and takes it out of every usage plan.
    pub fn delete_api_key(&self, id: &str) -> Result<bool> {
        for mut plan in self.usage_plans()? {
            if plan.key_ids.iter().any(|k| k == id) {
                plan.key_ids.retain(|k| k != id);
                self.put_usage_plan(&plan)?;
            }
        }
        self.delete_document("api_key", id)
    }

    pub fn usage_plans(&self) -> Result<Vec<crate::model::UsagePlan>> {
        self.documents("usage_plan")
    }

    pub fn put_usage_plan(&self, plan: &crate::model::UsagePlan) -> Result<()> {
        self.put_document("usage_plan", &plan.id, plan)
    }

    pub fn delete_usage_plan(&self, id: &str) -> Result<bool> {
        self.delete_document("usage_plan", id)
    }
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
}
