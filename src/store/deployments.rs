//! The `deployments` and `stages` tables: a deployment is an immutable snapshot of an API (a
//! deployment a stage or its canary points at cannot be deleted); a stage is stored whole, as
//! JSON, and replaced whole.

use super::db::{p, Row};
use super::{corrupt, now, Result, StoreError, Tx};
use crate::model::{Deployment, RestApi, Stage};

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
        self.exec(
            "INSERT INTO deployments (api_id, id, description, created, snapshot) VALUES (?1, ?2, ?3, ?4, ?5)",
            p![&api.id, &deployment.id, deployment.description.as_deref(), deployment.created_date, &snapshot],
        )?;
        Ok(deployment)
    }

    pub fn deployments(&self, api_id: &str) -> Result<Vec<Deployment>> {
        self.rows(
            "SELECT id, description, created FROM deployments WHERE api_id = ?1 ORDER BY created, rowid",
            p![api_id],
        )?
        .iter()
        .map(deployment_row)
        .collect()
    }

    /// Sets (or clears) a deployment's description; false if there is no such deployment.
    pub fn set_deployment_description(
        &self,
        api_id: &str,
        id: &str,
        description: Option<&str>,
    ) -> Result<bool> {
        let n = self.exec(
            "UPDATE deployments SET description = ?3 WHERE api_id = ?1 AND id = ?2",
            p![api_id, id, description],
        )?;
        Ok(n > 0)
    }

    pub fn deployment(&self, api_id: &str, id: &str) -> Result<Option<Deployment>> {
        self.one(
            "SELECT id, description, created FROM deployments WHERE api_id = ?1 AND id = ?2",
            p![api_id, id],
        )?
        .as_ref()
        .map(deployment_row)
        .transpose()
    }

    /// The frozen API of a deployment.
    pub fn deployment_snapshot(&self, api_id: &str, id: &str) -> Result<Option<RestApi>> {
        self.one(
            "SELECT snapshot FROM deployments WHERE api_id = ?1 AND id = ?2",
            p![api_id, id],
        )?
        .map(|r| serde_json::from_str(&r.text(0)?).map_err(corrupt))
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
        let n = self.exec(
            "DELETE FROM deployments WHERE api_id = ?1 AND id = ?2",
            p![api_id, id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(
                "Invalid Deployment identifier specified".into(),
            ));
        }
        Ok(())
    }

    // ---- stages ----

    pub fn stages(&self, api_id: &str) -> Result<Vec<Stage>> {
        self.rows(
            "SELECT stage FROM stages WHERE api_id = ?1 ORDER BY name",
            p![api_id],
        )?
        .iter()
        .map(|r| serde_json::from_str(&r.text(0)?).map_err(corrupt))
        .collect()
    }

    pub fn stage(&self, api_id: &str, name: &str) -> Result<Option<Stage>> {
        self.one(
            "SELECT stage FROM stages WHERE api_id = ?1 AND name = ?2",
            p![api_id, name],
        )?
        .map(|r| serde_json::from_str(&r.text(0)?).map_err(corrupt))
        .transpose()
    }

    /// Insert or replace a stage.
    pub fn put_stage(&self, api_id: &str, stage: &Stage) -> Result<()> {
        let json = serde_json::to_string(stage).map_err(corrupt)?;
        self.exec(
            "INSERT INTO stages (api_id, name, stage) VALUES (?1, ?2, ?3)
             ON CONFLICT (api_id, name) DO UPDATE SET stage = excluded.stage",
            p![api_id, &stage.stage_name, &json],
        )?;
        Ok(())
    }

    pub fn delete_stage(&self, api_id: &str, name: &str) -> Result<()> {
        let n = self.exec(
            "DELETE FROM stages WHERE api_id = ?1 AND name = ?2",
            p![api_id, name],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(
                "Invalid Stage identifier specified".into(),
            ));
        }
        Ok(())
    }
}

fn deployment_row(r: &Row) -> Result<Deployment> {
    Ok(Deployment {
        id: r.text(0)?,
        description: r.opt_text(1)?,
        created_date: r.int(2)?,
    })
}
