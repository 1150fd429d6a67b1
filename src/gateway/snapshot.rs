//! The serving snapshot: everything the data plane answers from, built from the store and held
//! as one immutable value behind an `Arc`. The server swaps in a new snapshot when the store
//! changes; requests never read the store or wait on a lock.
//!
//! Deployments are immutable, so a rebuilt snapshot reuses the routers of deployments it already
//! had ([`SnapshotCache`]); only stage pointers and variables are re-read on every change.

use crate::gateway::router::Router;
use crate::model::RestApi;
use crate::store::{self, Store, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One frozen deployment, ready to route.
#[derive(Debug)]
pub struct LiveDeployment {
    pub api_id: String,
    pub deployment_id: String,
    pub api: RestApi,
    pub router: Router,
    /// The compiled request-body schemas (see [`crate::gateway::validation::BodySchemas`]).
    pub body_schemas: crate::gateway::validation::BodySchemas,
    /// The API's `x-amazon-apigateway-cors`, if it has one.
    pub cors: Option<crate::gateway::cors::Cors>,
    /// Its HTTP integration URIs, taken apart (see [`crate::gateway::integrations::http::UriPlan`]).
    pub uri_plans: crate::net::fnv::Map<Box<str>, crate::gateway::integrations::http::UriPlan>,
}

impl LiveDeployment {
    /// `api`, frozen as deployment `deployment_id` and ready to route.
    pub fn compile(api_id: &str, deployment_id: &str, api: RestApi) -> LiveDeployment {
        LiveDeployment {
            api_id: api_id.to_string(),
            deployment_id: deployment_id.to_string(),
            router: Router::new(&api),
            body_schemas: crate::gateway::validation::BodySchemas::compile(&api),
            uri_plans: crate::gateway::integrations::http::plans(&api),
            cors: api
                .cors_configuration
                .as_ref()
                .map(crate::gateway::cors::Cors::from_config),
            api,
        }
    }
}

#[derive(Debug)]
pub struct LiveCanary {
    pub percent: f64,
    pub deployment: Arc<LiveDeployment>,
    /// The stage's variables merged with the canary's overrides.
    pub variables: Arc<BTreeMap<String, String>>,
    /// gw's sticky split, when the canary has one.
    pub sticky: Option<crate::gateway::canary::Sticky>,
}

#[derive(Debug)]
pub struct LiveStage {
    pub name: String,
    pub production: Arc<LiveDeployment>,
    pub variables: Arc<BTreeMap<String, String>>,
    pub canary: Option<LiveCanary>,
    /// `methodSettings` throttles: key (`pets/GET`, `*/*`) → limits. Empty: none.
    pub throttles: HashMap<String, crate::gateway::throttle::Limits>,
    /// `accessLogSettings.format`, when the stage logs.
    pub access_log: Option<Arc<str>>,
    /// The metrics keys of this stage's production and canary sides (api, stage, deployment,
    /// side and canary epoch hashed once here, not per request).
    pub metrics_keys: [u64; 2],
}

#[derive(Debug)]
pub struct LiveApi {
    pub id: String,
    pub name: String,
    pub stages: crate::net::fnv::Map<String, LiveStage>,
}

/// Everything served, at one instant of the store.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub apis: crate::net::fnv::Map<String, Arc<LiveApi>>,
    /// Lower-cased name → id.
    pub names: HashMap<String, String>,
    /// The API the short URL form (`/{stage}/...`) serves: the only API with a stage.
    pub default_api: Option<String>,
    pub functions: crate::gateway::integrations::function::Functions,
    /// API id → stage → the enabled API keys its usage plans accept, by value (nested, so a
    /// request looks a key up without building a composite key).
    pub api_keys: HashMap<String, HashMap<String, HashMap<String, KeyGrant>>>,
    /// Who signs the tokens Cognito and JWT authorizers accept: local user pools and the JWKS
    /// `gw serve --jwks` was given.
    pub issuers: Arc<crate::gateway::jwt::Issuers>,
    /// Custom domain names (lower-case) and how they route.
    pub domains: HashMap<String, LiveDomain>,
    /// The VPC links (their run-time state is `gateway::links::Links`, reconciled with these).
    pub vpc_links: Vec<crate::model::VpcLink>,
    /// The store generation this snapshot was read at.
    pub generation: i64,
}

/// A custom domain as served: its mappings, longest base path first, and its TLS settings.
#[derive(Debug, Default)]
pub struct LiveDomain {
    pub mappings: Vec<crate::model::BasePathMapping>,
    pub tls: crate::net::tls::DomainTls,
}

impl Snapshot {
    /// The grant of API key `value` on this API stage, if a usage plan of the stage has it.
    pub fn api_key(&self, api_id: &str, stage: &str, value: &str) -> Option<&KeyGrant> {
        self.api_keys.get(api_id)?.get(stage)?.get(value)
    }

    /// The custom domain a host name (lower-case, without port) names: exactly, else by a
    /// wildcard domain (`*.example.test` for `api.example.test`).
    pub fn domain(&self, host: &str) -> Option<&LiveDomain> {
        self.domains.get(host).or_else(|| {
            let (_, parent) = host.split_once('.')?;
            self.domains.get(&format!("*.{parent}"))
        })
    }

    /// An API by id or name (case-insensitive, as AWS host names are).
    pub fn api(&self, id_or_name: &str) -> Option<&Arc<LiveApi>> {
        self.apis.get(id_or_name).or_else(|| {
            let lower = id_or_name.to_ascii_lowercase();
            self.apis
                .get(&lower)
                .or_else(|| self.names.get(&lower).and_then(|id| self.apis.get(id)))
        })
    }
}

/// An API key accepted on a stage, with its usage plan's limits.
#[derive(Debug, Clone)]
pub struct KeyGrant {
    /// `PLAN_ID/KEY_ID`: whose bucket and quota a request spends.
    pub id: String,
    pub limits: crate::gateway::throttle::Limits,
    /// The plan's per-method throttles on this stage (`/pets/GET` → limits), each a bucket of
    /// its own in place of the plan's throttle.
    pub methods: HashMap<String, crate::gateway::throttle::Limits>,
}

/// Deployments already turned into routers, kept across rebuilds.
#[derive(Default)]
pub struct SnapshotCache {
    deployments: HashMap<(String, String), Arc<LiveDeployment>>,
    pub functions: crate::gateway::integrations::function::FunctionCache,
    /// The issuers given to the server (`gw serve --jwks`), beside the store's user pools.
    pub external_issuers: crate::gateway::jwt::Issuers,
}

impl SnapshotCache {
    fn deployment(
        &mut self,
        tx: &store::Tx,
        api_id: &str,
        id: &str,
    ) -> Result<Option<Arc<LiveDeployment>>, StoreError> {
        let key = (api_id.to_string(), id.to_string());
        if let Some(d) = self.deployments.get(&key) {
            return Ok(Some(d.clone()));
        }
        let Some(api) = tx.deployment_snapshot(api_id, id)? else {
            return Ok(None);
        };
        let live = Arc::new(LiveDeployment::compile(api_id, id, api));
        self.deployments.insert(key, live.clone());
        Ok(Some(live))
    }
}

/// Read the store into a new snapshot.
/// The local user pools' keys and clients, over the server's external issuers.
fn issuers(
    tx: &store::Tx,
    external: &crate::gateway::jwt::Issuers,
) -> Result<crate::gateway::jwt::Issuers, StoreError> {
    let mut out = external.clone();
    for pool in tx.user_pools()? {
        let key = match crate::aws::jwt::SigningKey::from_json(&pool.key) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!("user pool {}: {e}; its tokens are refused", pool.name);
                continue;
            }
        };
        match crate::aws::jwt::Keys::from_jwks(&serde_json::json!({ "keys": [key.jwk()] })) {
            Ok(keys) => out.insert(
                crate::aws::jwt::cognito_issuer(&pool.id),
                crate::gateway::jwt::Issuer {
                    keys,
                    clients: pool.clients.clone(),
                },
            ),
            Err(e) => tracing::warn!("user pool {}: {e}; its tokens are refused", pool.name),
        }
    }
    Ok(out)
}

pub fn load(store: &Store, cache: &mut SnapshotCache) -> Result<Snapshot, StoreError> {
    let mut used = std::collections::HashSet::new();
    let mut snapshot = store.read(|tx| {
        let mut snap = Snapshot {
            generation: tx.generation()?,
            issuers: Arc::new(issuers(tx, &cache.external_issuers)?),
            ..Snapshot::default()
        };
        let mut ambiguous = std::collections::HashSet::new();
        for api in tx.list_apis()? {
            let mut stages = crate::net::fnv::Map::default();
            for s in tx.stages(&api.id)? {
                let Some(production) = cache.deployment(tx, &api.id, &s.deployment_id)? else {
                    tracing::warn!(api = %api.id, stage = %s.stage_name, deployment = %s.deployment_id, "stage points at a missing deployment; not served");
                    continue;
                };
                used.insert((api.id.clone(), s.deployment_id.clone()));
                let canary = match &s.canary_settings {
                    Some(c) => match cache.deployment(tx, &api.id, &c.deployment_id)? {
                        Some(d) => {
                            used.insert((api.id.clone(), c.deployment_id.clone()));
                            Some(LiveCanary {
                                percent: c.percent_traffic,
                                deployment: d,
                                variables: Arc::new(store::merged_canary_variables(&s, c)),
                                sticky: c.sticky.as_deref().and_then(|t| {
                                    crate::gateway::canary::Sticky::parse(t)
                                        .map_err(|e| tracing::warn!("stage {}: {e}; drawing per request", s.stage_name))
                                        .ok()
                                }),
                            })
                        }
                        None => None,
                    },
                    None => None,
                };
                let epoch = canary
                    .as_ref()
                    .map(|c| c.deployment.deployment_id.clone())
                    .unwrap_or_default();
                stages.insert(
                    s.stage_name.clone(),
                    LiveStage {
                        name: s.stage_name.clone(),
                        production,
                        variables: Arc::new(s.variables.clone()),
                        canary,
                        throttles: s
                            .method_settings
                            .iter()
                            .filter(|(_, m)| m.throttling_rate_limit >= 0.0)
                            .map(|(key, m)| {
                                let rate = m.throttling_rate_limit;
                                let burst = match m.throttling_burst_limit {
                                    b if b >= 0 => b as f64,
                                    _ => rate.max(1.0),
                                };
                                let limits = crate::gateway::throttle::Limits {
                                    throttle: Some((rate, burst)),
                                    quota: None,
                                };
                                (key.clone(), limits)
                            })
                            .collect(),
                        access_log: s
                            .access_log_settings
                            .as_ref()
                            .and_then(|a| a.format.as_deref())
                            .map(Arc::from),
                        metrics_keys: {
                            use crate::gateway::metrics::{stage_key, Side};
                            [
                                stage_key(&api.id, &s.stage_name, &s.deployment_id, Side::Production, &epoch),
                                stage_key(&api.id, &s.stage_name, &epoch, Side::Canary, &epoch),
                            ]
                        },
                    },
                );
            }
            // A name two APIs share names neither (the host form then needs the id).
            let lower = api.name.to_ascii_lowercase();
            if snap.names.insert(lower.clone(), api.id.clone()).is_some() {
                ambiguous.insert(lower);
            }
            snap.apis.insert(
                api.id.clone(),
                Arc::new(LiveApi {
                    id: api.id.clone(),
                    name: api.name.clone(),
                    stages,
                }),
            );
        }
        for name in &ambiguous {
            snap.names.remove(name);
        }
        snap.vpc_links = tx.vpc_links()?;
        for d in tx.domain_names()? {
            let certificate = match (&d.certificate_pem, &d.private_key_pem) {
                (Some(c), Some(k)) => match crate::net::tls::certified_from_pem(c, k) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        tracing::warn!("domain {}: {e}; the server's certificate is served", d.domain_name);
                        None
                    }
                },
                _ => None,
            };
            let mut mappings = d.mappings.clone();
            // The longest base path that prefixes a request's path wins: try them longest first.
            mappings.sort_by_key(|m| std::cmp::Reverse(m.base_path.split('/').filter(|s| !s.is_empty()).count()));
            snap.domains.insert(
                d.domain_name.clone(),
                LiveDomain {
                    mappings,
                    tls: crate::net::tls::DomainTls {
                        certificate,
                        truststore_pem: d.truststore_pem.as_deref().map(Arc::from),
                    },
                },
            );
        }
        let with_stages: Vec<&String> = snap
            .apis
            .values()
            .filter(|a| !a.stages.is_empty())
            .map(|a| &a.id)
            .collect();
        if with_stages.len() == 1 {
            snap.default_api = with_stages.first().map(|s| s.to_string());
        }
        let keys: HashMap<String, String> = tx
            .api_keys()?
            .into_iter()
            .filter(|k| k.enabled)
            .map(|k| (k.id, k.value))
            .collect();
        for plan in tx.usage_plans()? {
            let limits =
                crate::gateway::throttle::Limits::from_plan(plan.throttle.as_ref(), plan.quota.as_ref());
            for s in &plan.api_stages {
                let accepted = snap
                    .api_keys
                    .entry(s.api_id.clone())
                    .or_default()
                    .entry(s.stage.clone())
                    .or_default();
                let methods: HashMap<String, crate::gateway::throttle::Limits> = s
                    .throttle
                    .iter()
                    .map(|(method, t)| {
                        (method.clone(), crate::gateway::throttle::Limits::from_plan(Some(t), None))
                    })
                    .collect();
                for id in &plan.key_ids {
                    if let Some(value) = keys.get(id) {
                        accepted.entry(value.clone()).or_insert_with(|| KeyGrant {
                            id: format!("{}/{id}", plan.id),
                            limits,
                            methods: methods.clone(),
                        });
                    }
                }
            }
        }
        Ok(snap)
    })?;
    cache.deployments.retain(|k, _| used.contains(k));
    snapshot.functions =
        crate::gateway::integrations::function::load_all(store, &mut cache.functions)?;
    Ok(snapshot)
}

/// Keeps a live snapshot in step with the store: [`Reloader::sync`] rebuilds and swaps it in when
/// any connection has committed since the last look. The server's watcher thread calls it every
/// few milliseconds (for changes made by other processes); the management API calls it before
/// answering a write, so a change made through the API is live when the caller hears back.
pub struct Reloader {
    live: arc_swap::ArcSwap<Snapshot>,
    /// Counts swaps of `live` (bumped after each), so a [`WorkerSnapshot`] knows when to look.
    swaps: std::sync::atomic::AtomicU64,
    state: std::sync::Mutex<ReloadState>,
    /// Tells CLI commands which generation is live here ([`crate::store::serving`]).
    marker: crate::store::serving::Marker,
}

struct ReloadState {
    store: Store,
    watcher: store::Watcher,
    seen: Option<i64>,
    cache: SnapshotCache,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader").finish_non_exhaustive()
    }
}

impl Reloader {
    /// Loads the first snapshot. The watch starts before the load, so a commit made during it
    /// is picked up by the next [`Reloader::sync`]. `listen`: the address callers reach this
    /// server on, recorded for CLI commands ([`crate::store::serving`]).
    pub fn open(
        store: &Store,
        listen: Option<std::net::SocketAddr>,
    ) -> Result<Reloader, StoreError> {
        Reloader::open_with_issuers(store, listen, Default::default())
    }

    /// [`Reloader::open`], with the token issuers given to the server (`gw serve --jwks`).
    pub fn open_with_issuers(
        store: &Store,
        listen: Option<std::net::SocketAddr>,
        external_issuers: crate::gateway::jwt::Issuers,
    ) -> Result<Reloader, StoreError> {
        let mut watcher = store::Watcher::new(store)?;
        let seen = watcher.data_version().ok();
        let mut cache = SnapshotCache {
            external_issuers,
            ..SnapshotCache::default()
        };
        let snap = load(store, &mut cache)?;
        let marker = crate::store::serving::Marker::new(store.dir(), listen);
        marker.set(snap.generation);
        Ok(Reloader {
            marker,
            live: arc_swap::ArcSwap::from_pointee(snap),
            swaps: std::sync::atomic::AtomicU64::new(0),
            state: std::sync::Mutex::new(ReloadState {
                store: store.clone(),
                watcher,
                seen,
                cache,
            }),
        })
    }

    /// The snapshot being served now (lock-free; what the request path reads).
    pub fn current(&self) -> Arc<Snapshot> {
        self.live.load_full()
    }

    /// Rebuilds the snapshot if the store changed since the last call; blocking (SQLite).
    /// Returns `Ok(true)` when a new snapshot was swapped in. On an error the previous snapshot
    /// stays live and the next call tries again.
    pub fn sync(&self) -> Result<bool, StoreError> {
        // A poisoned lock only means an earlier reload panicked; the state is still usable.
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Some(st.watcher.data_version()?);
        if now == st.seen {
            return Ok(false);
        }
        // A commit that did not advance the generation (a ramp's lease) changes nothing served.
        if st.store.generation()? == self.live.load().generation {
            st.seen = now;
            return Ok(false);
        }
        let ReloadState { store, cache, .. } = &mut *st;
        let snap = load(store, cache)?;
        st.seen = now;
        let generation = snap.generation;
        self.live.store(Arc::new(snap));
        self.swaps
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        self.marker.set(generation);
        Ok(true)
    }
}

/// One worker thread's view of the live snapshot. Every request holds the snapshot it started
/// with; taking a reference to the shared one would make each request increment and decrement
/// a counter that every worker writes, a cache line bouncing between cores. Here each worker
/// holds the snapshot in an `Arc` of its own, which only it counts, and looks at the shared one
/// again only when the reloader has swapped it.
pub struct WorkerSnapshot {
    reloader: Arc<Reloader>,
    cached: std::sync::Mutex<(u64, WorkerArc)>,
}

/// The outer `Arc` is the worker's own counter; the inner one is shared by all workers.
#[allow(clippy::redundant_allocation)]
pub type WorkerArc = Arc<Arc<Snapshot>>;

impl WorkerSnapshot {
    pub fn new(reloader: Arc<Reloader>) -> WorkerSnapshot {
        let swaps = reloader.swaps.load(std::sync::atomic::Ordering::Acquire);
        let first = Arc::new(reloader.current());
        WorkerSnapshot {
            reloader,
            cached: std::sync::Mutex::new((swaps, first)),
        }
    }

    /// The snapshot being served now (as [`Reloader::current`]).
    pub fn current(&self) -> WorkerArc {
        // Read before the snapshot: a count that has moved implies the new snapshot is there.
        let swaps = self
            .reloader
            .swaps
            .load(std::sync::atomic::Ordering::Acquire);
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached.0 != swaps {
            *cached = (swaps, Arc::new(self.reloader.current()));
        }
        cached.1.clone()
    }
}
