//! Automatic canary ramps (one row per stage, the [`Ramp`] as JSON) and each stage's history of
//! transitions (append-only).

use super::db::p;
use super::{corrupt, Result, Tx};
use crate::model::{HistoryEntry, Ramp};

impl Tx<'_> {
    pub fn ramp(&self, api_id: &str, stage: &str) -> Result<Option<Ramp>> {
        self.one(
            "SELECT ramp FROM ramps WHERE api_id = ?1 AND stage = ?2",
            p![api_id, stage],
        )?
        .map(|r| serde_json::from_str(&r.text(0)?).map_err(corrupt))
        .transpose()
    }

    /// Every ramp: `(api id, stage, ramp)`.
    pub fn ramps(&self) -> Result<Vec<(String, String, Ramp)>> {
        self.rows(
            "SELECT api_id, stage, ramp FROM ramps ORDER BY api_id, stage",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.text(0)?,
                r.text(1)?,
                serde_json::from_str(&r.text(2)?).map_err(corrupt)?,
            ))
        })
        .collect()
    }

    pub fn put_ramp(&self, api_id: &str, stage: &str, ramp: &Ramp) -> Result<()> {
        let json = serde_json::to_string(ramp).map_err(corrupt)?;
        self.exec(
            "INSERT INTO ramps (api_id, stage, ramp) VALUES (?1, ?2, ?3)
             ON CONFLICT (api_id, stage) DO UPDATE SET ramp = excluded.ramp",
            p![api_id, stage, &json],
        )?;
        Ok(())
    }

    /// Ends a stage's ramp; true if there was one.
    pub fn delete_ramp(&self, api_id: &str, stage: &str) -> Result<bool> {
        let n = self.exec(
            "DELETE FROM ramps WHERE api_id = ?1 AND stage = ?2",
            p![api_id, stage],
        )?;
        Ok(n > 0)
    }

    pub fn add_history(&self, api_id: &str, stage: &str, entry: &HistoryEntry) -> Result<()> {
        let json = serde_json::to_string(entry).map_err(corrupt)?;
        self.exec(
            "INSERT INTO stage_history (api_id, stage, entry) VALUES (?1, ?2, ?3)",
            p![api_id, stage, &json],
        )?;
        Ok(())
    }

    /// A stage's history, oldest first.
    pub fn history(&self, api_id: &str, stage: &str) -> Result<Vec<HistoryEntry>> {
        self.rows(
            "SELECT entry FROM stage_history WHERE api_id = ?1 AND stage = ?2 ORDER BY seq",
            p![api_id, stage],
        )?
        .iter()
        .map(|r| serde_json::from_str(&r.text(0)?).map_err(corrupt))
        .collect()
    }

    /// A stage's latest `limit` transitions, newest first, and how many it has in all.
    pub fn recent_history(
        &self,
        api_id: &str,
        stage: &str,
        limit: usize,
    ) -> Result<(Vec<HistoryEntry>, u64)> {
        let total = match self.one(
            "SELECT count(*) FROM stage_history WHERE api_id = ?1 AND stage = ?2",
            p![api_id, stage],
        )? {
            Some(r) => r.int(0)?,
            None => 0,
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let out = self
            .rows(
                "SELECT entry FROM stage_history WHERE api_id = ?1 AND stage = ?2 ORDER BY seq DESC LIMIT ?3",
                p![api_id, stage, limit],
            )?
            .iter()
            .map(|r| serde_json::from_str(&r.text(0)?).map_err(corrupt))
            .collect::<Result<Vec<_>>>()?;
        Ok((out, u64::try_from(total).unwrap_or(0)))
    }
}
