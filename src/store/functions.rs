//! The `functions` table: WebAssembly function versions, numbered per name from 1, with their
//! code, limits and environment; `$LATEST` is the highest version.

use super::db::{p, Row};
use super::{corrupt, now, Result, StoreError, Tx};
use std::collections::BTreeMap;

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
    /// Handler-world functions: most invocations at once (None: gw's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<i64>,
    /// For a function built from source: the runtime and handler it was built with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// Where the function's outgoing HTTP requests may go: VPC link names or ids, and
    /// `HOST:PORT`s (`gw function put --allow-http`). Empty: nowhere.
    #[serde(rename = "allowHttp", default, skip_serializing_if = "Vec::is_empty")]
    pub allow_http: Vec<String>,
}

/// A function version's settings beyond its code and limits (the `function_settings` table).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FunctionSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    #[serde(rename = "allowHttp", default, skip_serializing_if = "Vec::is_empty")]
    pub allow_http: Vec<String>,
}

impl Tx<'_> {
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
        settings: &FunctionSettings,
    ) -> Result<FunctionVersion> {
        let version = self
            .one(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM functions WHERE name = ?1",
                p![name],
            )?
            .ok_or_else(|| StoreError::Corrupt("no next function version".into()))?
            .int(0)?;
        let env = serde_json::to_string(environment).map_err(corrupt)?;
        let created = now();
        self.exec(
            "INSERT INTO functions (name, version, sha256, size, kind, memory_mb, timeout_seconds, environment, created, wasm)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            p![name, version, sha256, wasm.len() as i64, kind, memory_mb, timeout_seconds, &env, created, wasm],
        )?;
        if settings != &FunctionSettings::default() {
            let json = serde_json::to_string(settings).map_err(corrupt)?;
            self.exec(
                "INSERT INTO function_settings (name, version, settings) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name, version) DO UPDATE SET settings = excluded.settings",
                p![name, version, &json],
            )?;
        }
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
            concurrency: settings.concurrency,
            runtime: settings.runtime.clone(),
            handler: settings.handler.clone(),
            allow_http: settings.allow_http.clone(),
        })
    }

    /// A `functions` row (with its settings) and its environment's JSON.
    fn function_row(r: &Row) -> Result<(FunctionVersion, String)> {
        let settings: FunctionSettings = r
            .opt_text(9)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        Ok((
            FunctionVersion {
                name: r.text(0)?,
                version: r.int(1)?,
                sha256: r.text(2)?,
                size: r.int(3)?,
                kind: r.text(4)?,
                memory_mb: r.int(5)?,
                timeout_seconds: r.int(6)?,
                environment: BTreeMap::new(),
                created_date: r.int(8)?,
                concurrency: settings.concurrency,
                runtime: settings.runtime,
                handler: settings.handler,
                allow_http: settings.allow_http,
            },
            r.text(7)?,
        ))
    }

    pub fn functions(&self) -> Result<Vec<FunctionVersion>> {
        let rows = self.rows(
            "SELECT f.name, f.version, sha256, size, kind, memory_mb, timeout_seconds, environment, created, s.settings
             FROM functions f LEFT JOIN function_settings s ON s.name = f.name AND s.version = f.version
             ORDER BY f.name, f.version",
            &[],
        )?;
        let mut out = Vec::new();
        for row in &rows {
            let (mut f, env) = Self::function_row(row)?;
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
        let sql = "SELECT f.name, f.version, sha256, size, kind, memory_mb, timeout_seconds, environment, created, s.settings, wasm
             FROM functions f LEFT JOIN function_settings s ON s.name = f.name AND s.version = f.version
             WHERE f.name = ?1";
        let row = match version {
            Some(v) => self.one(&format!("{sql} AND f.version = ?2"), p![name, v])?,
            None => self.one(&format!("{sql} ORDER BY f.version DESC LIMIT 1"), p![name])?,
        };
        match row {
            None => Ok(None),
            Some(row) => {
                let (mut f, env) = Self::function_row(&row)?;
                f.environment = serde_json::from_str(&env).map_err(corrupt)?;
                Ok(Some((f, row.blob(10)?)))
            }
        }
    }

    pub fn delete_function(&self, name: &str) -> Result<usize> {
        let n = self.exec("DELETE FROM functions WHERE name = ?1", p![name])?;
        self.exec("DELETE FROM function_settings WHERE name = ?1", p![name])?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "no function named {name:?}; `gw functions` lists them"
            )));
        }
        Ok(n)
    }
}
