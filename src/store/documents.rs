//! The `documents` table: account-wide objects (API keys, usage plans, local user pools) stored
//! as JSON by kind and id, in creation order.

use super::db::p;
use super::{corrupt, Result, Tx};

/// Account-wide documents (API keys, usage plans), stored as JSON by kind and id.
impl Tx<'_> {
    fn documents<T: serde::de::DeserializeOwned>(&self, kind: &str) -> Result<Vec<T>> {
        self.rows(
            "SELECT body FROM documents WHERE kind = ?1 ORDER BY rowid",
            p![kind],
        )?
        .iter()
        .map(|r| serde_json::from_str(&r.text(0)?).map_err(corrupt))
        .collect()
    }

    fn put_document<T: serde::Serialize>(&self, kind: &str, id: &str, doc: &T) -> Result<()> {
        let body = serde_json::to_string(doc).map_err(corrupt)?;
        self.exec(
            "INSERT INTO documents (kind, id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
            p![kind, id, &body],
        )?;
        Ok(())
    }

    fn delete_document(&self, kind: &str, id: &str) -> Result<bool> {
        let n = self.exec(
            "DELETE FROM documents WHERE kind = ?1 AND id = ?2",
            p![kind, id],
        )?;
        Ok(n > 0)
    }

    /// The account's settings (GetAccount / UpdateAccount), `{}` until set.
    pub fn account(&self) -> Result<serde_json::Value> {
        Ok(self
            .documents::<serde_json::Value>("account")?
            .into_iter()
            .next()
            .unwrap_or_else(|| serde_json::json!({})))
    }

    pub fn put_account(&self, account: &serde_json::Value) -> Result<()> {
        self.put_document("account", "account", account)
    }

    pub fn user_pools(&self) -> Result<Vec<crate::model::UserPool>> {
        self.documents("user_pool")
    }

    pub fn put_user_pool(&self, pool: &crate::model::UserPool) -> Result<()> {
        self.put_document("user_pool", &pool.id, pool)
    }

    pub fn delete_user_pool(&self, id: &str) -> Result<bool> {
        self.delete_document("user_pool", id)
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

    pub fn domain_names(&self) -> Result<Vec<crate::model::DomainName>> {
        self.documents("domain_name")
    }

    pub fn put_domain_name(&self, domain: &crate::model::DomainName) -> Result<()> {
        self.put_document("domain_name", &domain.domain_name, domain)
    }

    pub fn delete_domain_name(&self, name: &str) -> Result<bool> {
        self.delete_document("domain_name", name)
    }

    pub fn vpc_links(&self) -> Result<Vec<crate::model::VpcLink>> {
        self.documents("vpc_link")
    }

    pub fn put_vpc_link(&self, link: &crate::model::VpcLink) -> Result<()> {
        self.put_document("vpc_link", &link.id, link)
    }

    pub fn delete_vpc_link(&self, id: &str) -> Result<bool> {
        self.delete_document("vpc_link", id)
    }
}
