//! API keys and usage plans through the management API, as `aws apigateway create-api-key /
//! create-usage-plan / create-usage-plan-key ...` and Terraform's `aws_api_gateway_api_key`,
//! `_usage_plan` and `_usage_plan_key` call them. A method with `apiKeyRequired` accepts an
//! enabled key of a usage plan bound to its stage.

use super::{list, page, ApiError, Reply, Req, Result};
use crate::control::{self, NewApiKey};
use crate::model::{ApiKey, UsagePlan, UsagePlanStage};
use crate::store::Store;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn api_key(k: &ApiKey, with_value: bool) -> Value {
    let mut v = json!({
        "id": k.id,
        "enabled": k.enabled,
        "createdDate": k.created_date,
        "lastUpdatedDate": k.created_date,
        "stageKeys": [],
    });
    // A key made without a name has none, as on AWS.
    if !k.name.is_empty() {
        v["name"] = json!(k.name);
    }
    if with_value {
        v["value"] = json!(k.value);
    }
    if let Some(d) = &k.description {
        v["description"] = json!(d);
    }
    if !k.tags.is_empty() {
        v["tags"] = json!(k.tags);
    }
    v
}

fn usage_plan(p: &UsagePlan) -> Value {
    let mut v = json!({
        "id": p.id,
        "name": p.name,
        "apiStages": p.api_stages.iter().map(|s| {
            let mut v = json!({"apiId": s.api_id, "stage": s.stage});
            if !s.throttle.is_empty() {
                v["throttle"] = json!(s.throttle);
            }
            v
        }).collect::<Vec<_>>(),
    });
    if let Some(d) = &p.description {
        v["description"] = json!(d);
    }
    if let Some(t) = &p.throttle {
        v["throttle"] = t.clone();
    }
    if let Some(q) = &p.quota {
        v["quota"] = q.clone();
    }
    if !p.tags.is_empty() {
        v["tags"] = json!(p.tags);
    }
    v
}

fn plan_key(k: &ApiKey) -> Value {
    json!({"id": k.id, "type": "API_KEY", "value": k.value, "name": k.name})
}

fn flag(req: &Req, name: &str) -> bool {
    req.q(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateApiKeyBody {
    name: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
    value: Option<String>,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
}

pub(super) fn create_api_key(store: &Store, req: &Req) -> Result<Reply> {
    let b: CreateApiKeyBody = req.json()?;
    let key = control::create_api_key(
        store,
        NewApiKey {
            name: b.name.unwrap_or_default(),
            value: b.value,
            // AWS's default: a key is created disabled unless asked otherwise.
            enabled: b.enabled.unwrap_or(false),
            description: b.description,
            tags: b.tags,
        },
    )?;
    Ok(Reply::created(api_key(&key, true)))
}

pub(super) fn get_api_keys(store: &Store, req: &Req) -> Result<Reply> {
    let mut keys = store.read(|tx| tx.api_keys())?;
    if let Some(prefix) = req.q("name") {
        keys.retain(|k| k.name.starts_with(prefix));
    }
    let with_values = flag(req, "includeValues");
    let (keys, next) = page(keys, req)?;
    Ok(Reply::ok(list(
        keys.iter().map(|k| api_key(k, with_values)).collect(),
        next,
    )))
}

pub(super) fn get_api_key(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let key = store.read(|tx| {
        tx.api_keys()?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or_else(|| crate::store::StoreError::NotFound(control::NO_API_KEY.into()))
    })?;
    Ok(Reply::ok(api_key(&key, flag(req, "includeValue"))))
}

pub(super) fn delete_api_key(store: &Store, id: &str) -> Result<Reply> {
    store.write(|tx| {
        if tx.delete_api_key(id)? {
            Ok(())
        } else {
            Err(crate::store::StoreError::NotFound(
                control::NO_API_KEY.into(),
            ))
        }
    })?;
    Ok(Reply::accepted())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StageBody {
    api_id: Option<String>,
    stage: Option<String>,
    throttle: Option<std::collections::BTreeMap<String, Value>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateUsagePlanBody {
    name: Option<String>,
    description: Option<String>,
    api_stages: Option<Vec<StageBody>>,
    throttle: Option<Value>,
    quota: Option<Value>,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, String>,
}

pub(super) fn create_usage_plan(store: &Store, req: &Req) -> Result<Reply> {
    let b: CreateUsagePlanBody = req.json()?;
    let mut api_stages = Vec::new();
    for s in b.api_stages.unwrap_or_default() {
        match (s.api_id, s.stage) {
            (Some(api_id), Some(stage)) => {
                let throttle = s.throttle.unwrap_or_default();
                for (method, limits) in &throttle {
                    let well_formed = method.starts_with('/')
                        && method
                            .rsplit_once('/')
                            .is_some_and(|(_, verb)| !verb.is_empty());
                    let numbers = limits.get("rateLimit").is_some_and(Value::is_number)
                        && limits.get("burstLimit").is_none_or(Value::is_number);
                    if !well_formed || !numbers {
                        return Err(ApiError::bad_request(format!(
                            "Invalid method throttle {method:?}: key it /RESOURCE_PATH/HTTP_METHOD (such as /pets/GET) and give rateLimit and burstLimit numbers"
                        )));
                    }
                }
                api_stages.push(UsagePlanStage {
                    api_id,
                    stage,
                    throttle,
                })
            }
            _ => {
                return Err(ApiError::bad_request(
                    "Each API stage of a usage plan needs apiId and stage",
                ))
            }
        }
    }
    let plan = control::create_usage_plan(
        store,
        UsagePlan {
            id: String::new(),
            name: b.name.unwrap_or_default(),
            description: b.description,
            api_stages,
            throttle: b.throttle,
            quota: b.quota,
            key_ids: Vec::new(),
            tags: b.tags,
        },
    )?;
    Ok(Reply::created(usage_plan(&plan)))
}

pub(super) fn get_usage_plans(store: &Store, req: &Req) -> Result<Reply> {
    let mut plans = store.read(|tx| tx.usage_plans())?;
    if let Some(key) = req.q("keyId") {
        plans.retain(|p| p.key_ids.iter().any(|k| k == key));
    }
    let (plans, next) = page(plans, req)?;
    Ok(Reply::ok(list(
        plans.iter().map(usage_plan).collect(),
        next,
    )))
}

fn find_plan(store: &Store, id: &str) -> Result<UsagePlan> {
    Ok(store.read(|tx| {
        tx.usage_plans()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| crate::store::StoreError::NotFound(control::NO_USAGE_PLAN.into()))
    })?)
}

pub(super) fn get_usage_plan(store: &Store, id: &str) -> Result<Reply> {
    Ok(Reply::ok(usage_plan(&find_plan(store, id)?)))
}

/// GET /usageplans/{id}/usage: GetUsage. For each key of the plan (or `keyId`), one
/// `[used, remaining]` per day from `startDate` to `endDate` (at most 90 days), `remaining`
/// being what the plan's quota had left at the end of that day (0 without a quota).
pub(super) fn get_usage(
    store: &Store,
    req: &Req,
    id: &str,
    usage: &BTreeMap<String, BTreeMap<i64, u64>>,
) -> Result<Reply> {
    use chrono::{Datelike, NaiveDate};
    let plan = find_plan(store, id)?;
    let date = |name: &str| -> Result<NaiveDate> {
        let raw = req.q(name).unwrap_or("");
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_request(format!("Invalid {name} {raw:?}: give a date as YYYY-MM-DD"))
        })
    };
    let (start, end) = (date("startDate")?, date("endDate")?);
    if end < start {
        return Err(ApiError::bad_request(
            "The endDate must not be before the startDate",
        ));
    }
    let days = (end - start).num_days() + 1;
    if days > 90 {
        return Err(ApiError::bad_request(format!(
            "The date range is {days} days: GetUsage reaches at most 90 days"
        )));
    }
    let quota = plan.quota.as_ref().and_then(|q| {
        let limit = q.get("limit").and_then(Value::as_u64)?;
        let period = q
            .get("period")
            .and_then(Value::as_str)?
            .to_ascii_uppercase();
        Some((limit, period))
    });
    // The quota period a day falls in, as a comparable value.
    let period_of = |d: NaiveDate, period: &str| -> (i32, u32) {
        match period {
            "WEEK" => (d.iso_week().year(), d.iso_week().week()),
            "MONTH" => (d.year(), d.month()),
            _ => (d.year(), d.ordinal()),
        }
    };
    let mut keys: Vec<&String> = plan.key_ids.iter().collect();
    if let Some(k) = req.q("keyId") {
        keys.retain(|id| *id == k);
    }
    let (keys, next) = page(keys, req)?;
    let mut items = serde_json::Map::new();
    for key in keys {
        let counts = usage.get(key.as_str());
        let used_on = |d: NaiveDate| -> u64 {
            counts
                .and_then(|c| c.get(&i64::from(d.num_days_from_ce())))
                .copied()
                .unwrap_or(0)
        };
        let mut rows = Vec::with_capacity(days as usize);
        for d in start.iter_days().take(days as usize) {
            let used = used_on(d);
            let remaining = match &quota {
                None => 0,
                Some((limit, period)) => {
                    let this = period_of(d, period);
                    // Every day of the same period up to and including d.
                    let mut spent = 0;
                    let mut day = d;
                    while period_of(day, period) == this {
                        spent += used_on(day);
                        match day.pred_opt() {
                            Some(p) => day = p,
                            None => break,
                        }
                    }
                    limit.saturating_sub(spent)
                }
            };
            rows.push(json!([used, remaining]));
        }
        items.insert(key.clone(), Value::Array(rows));
    }
    let mut v = json!({
        "usagePlanId": plan.id,
        "startDate": start.format("%Y-%m-%d").to_string(),
        "endDate": end.format("%Y-%m-%d").to_string(),
        // botocore reads `items` from the wire's `values`.
        "values": items,
    });
    if let Some(p) = next {
        v["position"] = json!(p);
    }
    Ok(Reply::ok(v))
}

pub(super) fn delete_usage_plan(store: &Store, id: &str) -> Result<Reply> {
    store.write(|tx| {
        if tx.delete_usage_plan(id)? {
            Ok(())
        } else {
            Err(crate::store::StoreError::NotFound(
                control::NO_USAGE_PLAN.into(),
            ))
        }
    })?;
    Ok(Reply::accepted())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateUsagePlanKeyBody {
    key_id: Option<String>,
    key_type: Option<String>,
}

pub(super) fn create_usage_plan_key(store: &Store, req: &Req, plan: &str) -> Result<Reply> {
    let b: CreateUsagePlanKeyBody = req.json()?;
    if b.key_type.as_deref().is_some_and(|t| t != "API_KEY") {
        return Err(ApiError::bad_request(
            "Invalid key type: only API_KEY is supported",
        ));
    }
    let key_id = b
        .key_id
        .ok_or_else(|| ApiError::bad_request("keyId must be specified"))?;
    find_plan(store, plan)?;
    let (_, key) = control::add_usage_plan_key(store, plan, &key_id)?;
    Ok(Reply::created(plan_key(&key)))
}

fn plan_keys(store: &Store, plan: &str) -> Result<Vec<ApiKey>> {
    let plan = find_plan(store, plan)?;
    let keys = store.read(|tx| tx.api_keys())?;
    Ok(keys
        .into_iter()
        .filter(|k| plan.key_ids.contains(&k.id))
        .collect())
}

pub(super) fn get_usage_plan_keys(store: &Store, req: &Req, plan: &str) -> Result<Reply> {
    let (keys, next) = page(plan_keys(store, plan)?, req)?;
    Ok(Reply::ok(list(keys.iter().map(plan_key).collect(), next)))
}

pub(super) fn get_usage_plan_key(store: &Store, plan: &str, key: &str) -> Result<Reply> {
    let keys = plan_keys(store, plan)?;
    let k = keys
        .iter()
        .find(|k| k.id == key)
        .ok_or_else(|| ApiError::not_found(control::NO_API_KEY))?;
    Ok(Reply::ok(plan_key(k)))
}

pub(super) fn delete_usage_plan_key(store: &Store, plan: &str, key: &str) -> Result<Reply> {
    find_plan(store, plan)?;
    control::remove_usage_plan_key(store, plan, key)?;
    Ok(Reply::accepted())
}

fn bad_path(op: &crate::management::patch::PatchOp) -> ApiError {
    ApiError::bad_request(format!(
        "Invalid patch operation specified: {} {}",
        op.op, op.path
    ))
}

fn set(op: &crate::management::patch::PatchOp) -> bool {
    matches!(op.op.as_str(), "replace" | "add")
}

/// UpdateApiKey: `/name`, `/description`, `/enabled`.
pub(super) fn update_api_key(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let ops = req.json::<super::PatchBody>()?.patch_operations;
    let mut refused = None;
    let key = store.write(|tx| {
        let Some(mut key) = tx.api_keys()?.into_iter().find(|k| k.id == id) else {
            return Err(crate::store::StoreError::NotFound(
                control::NO_API_KEY.into(),
            ));
        };
        for op in &ops {
            let v = op.value.clone();
            match (op.path.as_str(), set(op)) {
                ("/name", true) => key.name = v.unwrap_or_default(),
                ("/description", s) => key.description = if s { v } else { None },
                ("/enabled", true) => match v.as_deref() {
                    Some("true") => key.enabled = true,
                    Some("false") => key.enabled = false,
                    _ => {
                        refused = Some(ApiError::bad_request(
                            "Invalid value for /enabled: use true or false",
                        ));
                        return Err(crate::store::StoreError::Invalid(String::new()));
                    }
                },
                _ => {
                    refused = Some(bad_path(op));
                    return Err(crate::store::StoreError::Invalid(String::new()));
                }
            }
        }
        tx.put_api_key(&key)?;
        Ok(key)
    });
    if let Some(e) = refused {
        return Err(e);
    }
    Ok(Reply::ok(api_key(&key?, false)))
}

/// UpdateUsagePlan: `/name`, `/description`, `/throttle/rateLimit`, `/throttle/burstLimit`,
/// `/quota/limit`, `/quota/period`, `/quota/offset` (replace), `remove /throttle`,
/// `remove /quota`, and `add` / `remove` `/apiStages` with the value `API_ID:STAGE`.
pub(super) fn update_usage_plan(store: &Store, req: &Req, id: &str) -> Result<Reply> {
    let ops = req.json::<super::PatchBody>()?.patch_operations;
    let mut refused = None;
    let plan = store.write(|tx| {
        let Some(mut plan) = tx.usage_plans()?.into_iter().find(|p| p.id == id) else {
            return Err(crate::store::StoreError::NotFound(
                control::NO_USAGE_PLAN.into(),
            ));
        };
        for op in &ops {
            if let Err(e) = apply_plan_op(tx, &mut plan, op) {
                refused = Some(e);
                return Err(crate::store::StoreError::Invalid(String::new()));
            }
        }
        tx.put_usage_plan(&plan)?;
        Ok(plan)
    });
    if let Some(e) = refused {
        return Err(e);
    }
    Ok(Reply::ok(usage_plan(&plan?)))
}

fn apply_plan_op(
    tx: &crate::store::Tx,
    plan: &mut UsagePlan,
    op: &crate::management::patch::PatchOp,
) -> Result<()> {
    let v = op.value.clone();
    let number = |what: &str| -> Result<Value> {
        let text = v.as_deref().unwrap_or("");
        let n: f64 = text
            .parse()
            .map_err(|_| ApiError::bad_request(format!("Invalid {what}: {text:?}")))?;
        Ok(json!(n))
    };
    let field = |slot: &mut Option<Value>, key: &str, value: Value| {
        let obj = slot.get_or_insert_with(|| json!({}));
        obj[key] = value;
    };
    match (op.path.as_str(), op.op.as_str()) {
        ("/name", "replace") => plan.name = v.unwrap_or_default(),
        ("/description", "replace") => plan.description = v,
        ("/description", "remove") => plan.description = None,
        ("/throttle/rateLimit", "replace") => {
            let n = number("rate limit")?;
            field(&mut plan.throttle, "rateLimit", n)
        }
        ("/throttle/burstLimit", "replace") => {
            let n = number("burst limit")?;
            field(&mut plan.throttle, "burstLimit", n)
        }
        ("/throttle", "remove") => plan.throttle = None,
        ("/quota/limit", "replace") => {
            let n = number("quota limit")?;
            field(&mut plan.quota, "limit", n)
        }
        ("/quota/offset", "replace") => {
            let n = number("quota offset")?;
            field(&mut plan.quota, "offset", n)
        }
        ("/quota/period", "replace") => {
            let p = v.unwrap_or_default().to_ascii_uppercase();
            if !["DAY", "WEEK", "MONTH"].contains(&p.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "Invalid quota period {p:?}: use DAY, WEEK or MONTH"
                )));
            }
            field(&mut plan.quota, "period", json!(p))
        }
        ("/quota", "remove") => plan.quota = None,
        ("/apiStages", "add" | "remove") => {
            let (api_id, stage) = v
                .as_deref()
                .and_then(|s| s.split_once(':'))
                .ok_or_else(|| ApiError::bad_request("An API stage is written API_ID:STAGE"))?;
            let s = UsagePlanStage {
                api_id: api_id.to_string(),
                stage: stage.to_string(),
                throttle: Default::default(),
            };
            if op.op == "add" {
                if tx.stage(api_id, stage)?.is_none() {
                    return Err(ApiError::bad_request(format!(
                        "Invalid stage identifier specified: {api_id} has no stage {stage:?}"
                    )));
                }
                let same = |x: &UsagePlanStage| x.api_id == s.api_id && x.stage == s.stage;
                if !plan.api_stages.iter().any(same) {
                    plan.api_stages.push(s);
                }
            } else {
                plan.api_stages
                    .retain(|x| !(x.api_id == s.api_id && x.stage == s.stage));
            }
        }
        _ => return Err(bad_path(op)),
    }
    Ok(())
}
