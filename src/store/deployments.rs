//! The `deployments` and `stages` tables: a deployment is an immutable snapshot of an API (a
//! deployment a stage or its canary points at cannot be deleted); a stage is stored whole, as
//! JSON, and replaced whole.

use super::{corrupt, now, Result, StoreError, Tx};
use crate::model::{Deployment, RestApi, Stage};
use rusqlite::{params, OptionalExtension};

impl Tx<'_> {
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
        // Documentation is the API's, not the deployment's: a stage's export reads it live.
        let snapshot = if api.documentation.is_empty() {
            serde_json::to_string(api)
        } else {
            serde_json::to_string(&RestApi {
                documentation: Default::default(),
                ..api.clone()
            })
        }
        .map_err(corrupt)?;
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

    /// Sets (or clears) a deployment's description; false if there is no such deployment.
    pub fn set_deployment_description(
        &self,
        api_id: &str,
        id: &str,
        description: Option<&str>,
    ) -> Result<bool> {
        let n = self.sql(self.tx.execute(
            "UPDATE deployments SET description = ?3 WHERE api_id = ?1 AND id = ?2",
            rusqlite::params![api_id, id, description],
        ))?;
        Ok(n > 0)
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
}
