//! The `apis` table: each API's current definition (the model, as JSON) and the spec it was
//! last imported from; finding an API by id or name (or the only one), inserting, updating and
//! deleting it (with its deployments and stages).

use super::db::p;
use super::{corrupt, Result, StoreError, Tx};
use crate::model::RestApi;

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

impl Tx<'_> {
    pub fn list_apis(&self) -> Result<Vec<RestApi>> {
        self.rows("SELECT model FROM apis ORDER BY name, id", &[])?
            .iter()
            .map(|r| serde_json::from_str(&r.text(0)?).map_err(corrupt))
            .collect()
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
        self.one(
            "SELECT model FROM apis WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC, id LIMIT 1",
            p![id_or_name],
        )?
        .map(|r| serde_json::from_str(&r.text(0)?).map_err(corrupt))
        .transpose()
    }

    /// The API named by `selector`, or the only API when `selector` is `None`.
    pub fn resolve_api(&self, selector: Option<&str>) -> Result<RestApi> {
        match selector {
            Some(s) => {
                // A name several APIs have names none of them: ask for the id.
                let same: Vec<RestApi> = self
                    .list_apis()?
                    .into_iter()
                    .filter(|a| a.name == s && a.id != s)
                    .collect();
                if same.len() > 1 && !self.list_apis()?.iter().any(|a| a.id == s) {
                    return Err(StoreError::Invalid(format!(
                        "{} APIs are named {s:?}: choose one by id with --api ({})",
                        same.len(),
                        same.iter()
                            .map(|a| a.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                self.find_api(s)?.ok_or_else(|| {
                    let known = self.api_names().unwrap_or_default();
                    StoreError::NotFound(format!(
                        "no API with id or name {s:?}{}",
                        if known.is_empty() {
                            "; there are no APIs yet: import one with `gw import SPEC`".to_string()
                        } else {
                            format!("; known APIs: {}", known.join(", "))
                        }
                    ))
                })
            }
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

    /// Adds an API whose name no other API has (gw's own CLI keeps names unique, so `--api NAME`
    /// stays unambiguous).
    pub fn insert_api(&self, api: &RestApi, spec: &[u8], spec_file: &str) -> Result<()> {
        if let Some(other) = self.find_api(&api.name)? {
            return Err(StoreError::Conflict(format!(
                "an API named {:?} already exists (id {}); re-import into it with `--api {}`, or choose another name with --name",
                api.name, other.id, api.name
            )));
        }
        self.insert_api_any_name(api, spec, spec_file)
    }

    /// Adds an API even if another has its name (AWS's CreateRestApi and ImportRestApi: the id
    /// is the identity).
    pub fn insert_api_any_name(&self, api: &RestApi, spec: &[u8], spec_file: &str) -> Result<()> {
        let model = serde_json::to_string(api).map_err(corrupt)?;
        self.exec(
            "INSERT INTO apis (id, name, created, model, spec, spec_file) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            p![&api.id, &api.name, api.created_date, &model, spec, spec_file],
        )?;
        Ok(())
    }

    pub fn update_api(&self, api: &RestApi, spec: Option<(&[u8], &str)>) -> Result<()> {
        let model = serde_json::to_string(api).map_err(corrupt)?;
        let n = match spec {
            Some((bytes, file)) => self.exec(
                "UPDATE apis SET name = ?2, model = ?3, spec = ?4, spec_file = ?5 WHERE id = ?1",
                p![&api.id, &api.name, &model, bytes, file],
            )?,
            None => self.exec(
                "UPDATE apis SET name = ?2, model = ?3 WHERE id = ?1",
                p![&api.id, &api.name, &model],
            )?,
        };
        if n == 0 {
            return Err(StoreError::NotFound(format!("no API with id {}", api.id)));
        }
        Ok(())
    }

    /// The spec bytes an API was last imported from.
    pub fn api_spec(&self, api_id: &str) -> Result<Option<(Vec<u8>, String)>> {
        self.one(
            "SELECT spec, spec_file FROM apis WHERE id = ?1 AND spec IS NOT NULL",
            p![api_id],
        )?
        .map(|r| Ok((r.blob(0)?, r.opt_text(1)?.unwrap_or_default())))
        .transpose()
    }

    pub fn delete_api(&self, api_id: &str) -> Result<()> {
        self.exec("DELETE FROM stages WHERE api_id = ?1", p![api_id])?;
        self.exec("DELETE FROM deployments WHERE api_id = ?1", p![api_id])?;
        self.exec("DELETE FROM apis WHERE id = ?1", p![api_id])?;
        Ok(())
    }
}
