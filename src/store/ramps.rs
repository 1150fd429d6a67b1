//! Automatic canary ramps (one row per stage, the [`Ramp`] as JSON) and each stage's history of
//! transitions (append-only).

use super::{corrupt, Result, Tx};
use crate::model::{HistoryEntry, Ramp};
use rusqlite::{params, OptionalExtension};

impl Tx<'_> {
    pub fn ramp(&self, api_id: &str, stage: &str) -> Result<Option<Ramp>> {
        let s: Option<String> = self.sql(
            self.tx
                .query_row(
                    "SELECT ramp FROM ramps WHERE api_id = ?1 AND stage = ?2",
                    [api_id, stage],
                    |r| r.get(0),
                )
                .optional(),
        )?;
        s.map(|s| serde_json::from_str(&s).map_err(corrupt))
            .transpose()
    }

    /// Every ramp: `(api id, stage, ramp)`.
    pub fn ramps(&self) -> Result<Vec<(String, String, Ramp)>> {
        let mut stmt = self.sql(
            self.tx
                .prepare("SELECT api_id, stage, ramp FROM ramps ORDER BY api_id, stage"),
        )?;
        let rows = self.sql(stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        }))?;
        let mut out = Vec::new();
        for row in rows {
            let (api, stage, ramp) = self.sql(row)?;
            out.push((api, stage, serde_json::from_str(&ramp).map_err(corrupt)?));
        }
        Ok(out)
    }

    pub fn put_ramp(&self, api_id: &str, stage: &str, ramp: &Ramp) -> Result<()> {
        let json = serde_json::to_string(ramp).map_err(corrupt)?;
        self.sql(self.tx.execute(
            "INSERT INTO ramps (api_id, stage, ramp) VALUES (?1, ?2, ?3)
             ON CONFLICT (api_id, stage) DO UPDATE SET ramp = excluded.ramp",
            params![api_id, stage, json],
        ))?;
        Ok(())
    }

    /// Ends a stage's ramp; true if there was one.
    pub fn delete_ramp(&self, api_id: &str, stage: &str) -> Result<bool> {
        let n = self.sql(self.tx.execute(
            "DELETE FROM ramps WHERE api_id = ?1 AND stage = ?2",
            [api_id, stage],
        ))?;
        Ok(n > 0)
    }

    pub fn add_history(&self, api_id: &str, stage: &str, entry: &HistoryEntry) -> Result<()> {
        let json = serde_json::to_string(entry).map_err(corrupt)?;
        self.sql(self.tx.execute(
            "INSERT INTO stage_history (api_id, stage, entry) VALUES (?1, ?2, ?3)",
            params![api_id, stage, json],
        ))?;
        Ok(())
    }

    /// A stage's history, oldest first.
    pub fn history(&self, api_id: &str, stage: &str) -> Result<Vec<HistoryEntry>> {
        let mut stmt = self.sql(self.tx.prepare(
            "SELECT entry FROM stage_history WHERE api_id = ?1 AND stage = ?2 ORDER BY seq",
        ))?;
        let rows = self.sql(stmt.query_map([api_id, stage], |r| r.get::<_, String>(0)))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&self.sql(row)?).map_err(corrupt)?);
        }
        Ok(out)
    }

    /// A stage's latest `limit` transitions, newest first, and how many it has in all.
    pub fn recent_history(
        &self,
        api_id: &str,
        stage: &str,
        limit: usize,
    ) -> Result<(Vec<HistoryEntry>, u64)> {
        let total: i64 = self.sql(self.tx.query_row(
            "SELECT count(*) FROM stage_history WHERE api_id = ?1 AND stage = ?2",
            [api_id, stage],
            |r| r.get(0),
        ))?;
        let mut stmt = self.sql(self.tx.prepare(
            "SELECT entry FROM stage_history WHERE api_id = ?1 AND stage = ?2 ORDER BY seq DESC LIMIT ?3",
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows =
            self.sql(stmt.query_map(params![api_id, stage, limit], |r| r.get::<_, String>(0)))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&self.sql(row)?).map_err(corrupt)?);
        }
        Ok((out, u64::try_from(total).unwrap_or(0)))
    }
}
