//! Locating a request: which API its URL names (the three invoke URL forms), which stage, and
//! which side of the stage answers it (production or canary, by the draw or the tester's
//! `x-gw-target`).

use crate::aws::gateway_response::{GatewayError, ResponseType};
use crate::gateway::canary::{self, Sticky, Variant};
use crate::gateway::snapshot::{LiveApi, LiveStage, Snapshot};
use http::HeaderValue;
use std::sync::Arc;

/// Request header forcing the choice: `canary` or `production`.
pub const TARGET_HEADER: &str = "x-gw-target";

/// Where the canary draw comes from: the thread's RNG, or a seeded one (tests).
pub enum Draw {
    Random,
    Seeded(Box<std::sync::Mutex<rand::rngs::StdRng>>),
}

impl Draw {
    pub fn seeded(seed: u64) -> Draw {
        use rand::SeedableRng;
        Draw::Seeded(Box::new(std::sync::Mutex::new(
            rand::rngs::StdRng::seed_from_u64(seed),
        )))
    }

    /// Uniform in `[0, 100)`.
    fn next(&self) -> f64 {
        use rand::Rng;
        match self {
            Draw::Random => rand::rng().random::<f64>() * 100.0,
            Draw::Seeded(rng) => match rng.lock() {
                Ok(mut r) => r.random::<f64>() * 100.0,
                Err(poisoned) => poisoned.into_inner().random::<f64>() * 100.0,
            },
        }
    }
}

/// Which API a request addresses, and the path after it.
#[derive(Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// `{id-or-name}.execute-api.{host}` or `/_aws/execute-api/{id}/...`.
    Api { api: &'a str, rest: &'a str },
    /// `localhost:4566/{stage}/...`: the default API.
    Default { rest: &'a str },
    /// LocalStack's path form, `/restapis/{id}/{stage}/_user_request_/{path}`.
    Staged {
        api: &'a str,
        stage: &'a str,
        path: &'a str,
    },
}

impl<'a> Target<'a> {
    /// The stage and the path after it (`/` when there is none).
    pub fn stage_and_path(&self) -> (&'a str, &'a str) {
        match *self {
            Target::Api { rest, .. } | Target::Default { rest } => split_stage(rest),
            Target::Staged { stage, path, .. } => (stage, if path.is_empty() { "/" } else { path }),
        }
    }
}

/// LocalStack's `/restapis/{id}/{stage}/_user_request_/{path}`.
fn localstack_form(path: &str) -> Option<Target<'_>> {
    let after = path.strip_prefix("/restapis/")?;
    let (api, after) = after.split_once('/')?;
    let (stage, after) = after.split_once('/')?;
    let path = after.strip_prefix("_user_request_")?;
    if api.is_empty() || stage.is_empty() || !(path.is_empty() || path.starts_with('/')) {
        return None;
    }
    Some(Target::Staged { api, stage, path })
}

/// Read the invoke URL form from the Host header and path.
pub fn target<'a>(host: Option<&'a str>, path: &'a str) -> Target<'a> {
    if let Some(host) = host {
        let host = match host.bytes().rposition(|b| b == b':') {
            Some(i) if host.as_bytes()[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
            _ => host,
        };
        // Host names are case-insensitive.
        const FORM: &[u8] = b".execute-api.";
        let found = host
            .as_bytes()
            .windows(FORM.len())
            .position(|w| w.eq_ignore_ascii_case(FORM));
        if let Some(i) = found {
            let api = &host[..i];
            if !api.is_empty() {
                return Target::Api { api, rest: path };
            }
        }
    }
    if let Some(t) = localstack_form(path) {
        return t;
    }
    if let Some(after) = path.strip_prefix("/_aws/execute-api/") {
        let (api, rest) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        return Target::Api { api, rest };
    }
    Target::Default { rest: path }
}

/// A request to a custom domain (its Host names one): the API and stage of the base-path
/// mapping that prefixes the path, the base path stripped (`(none)` maps the whole domain), or
/// AWS's 403 `{"message":"Forbidden"}` when none does. `None`: not a custom domain.
pub(super) fn domain_target<'a>(
    snapshot: &'a Snapshot,
    host: Option<&str>,
    path: &'a str,
    tls: Option<&crate::gateway::dispatch::TlsInfo>,
) -> Option<Result<Target<'a>, GatewayError>> {
    if snapshot.domains.is_empty() {
        return None;
    }
    let host = host?;
    let host = match host.bytes().rposition(|b| b == b':') {
        Some(i) if host.as_bytes()[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
        _ => host,
    };
    let host = host.to_ascii_lowercase();
    let domain = snapshot.domain(&host)?;
    // Mutual TLS is the domain's whole door: only a request whose TLS handshake named this
    // domain and presented a trusted certificate gets in (not the plain listener, not another
    // name's connection with this Host).
    if domain.tls.truststore_pem.is_some() {
        let admitted = tls.is_some_and(|t| {
            t.client_cert.is_some() && t.server_name.as_deref() == Some(host.as_str())
        });
        if !admitted {
            return Some(Err(GatewayError::with_message(
                ResponseType::InvalidApiKey,
                "Forbidden",
            )));
        }
    }
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    for m in &domain.mappings {
        let rest = if m.base_path.is_empty() {
            path
        } else {
            match trimmed.strip_prefix(m.base_path.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
                _ => continue,
            }
        };
        return Some(Ok(match &m.stage {
            Some(stage) => Target::Staged {
                api: &m.rest_api_id,
                stage,
                path: rest,
            },
            None => Target::Api {
                api: &m.rest_api_id,
                rest,
            },
        }));
    }
    // No mapping: AWS's 403 (a gateway response no API can customise).
    Some(Err(GatewayError::with_message(
        ResponseType::InvalidApiKey,
        "Forbidden",
    )))
}

pub(super) fn split_stage(rest: &str) -> (&str, &str) {
    let trimmed = rest.strip_prefix('/').unwrap_or(rest);
    match trimmed.find('/') {
        Some(i) => (&trimmed[..i], &trimmed[i..]),
        None => (trimmed, "/"),
    }
}

fn not_found(message: String) -> GatewayError {
    GatewayError::with_message(ResponseType::ResourceNotFound, message)
}

/// The API a URL names.
pub(super) fn find_api<'s>(
    snapshot: &'s Snapshot,
    target: &Target,
) -> Result<&'s Arc<LiveApi>, GatewayError> {
    match target {
        Target::Api { api, .. } | Target::Staged { api, .. } => {
            snapshot.api(api).ok_or_else(|| {
                not_found(format!(
                    "The API id '{api}' does not correspond to a deployed API Gateway API"
                ))
            })
        }
        Target::Default { .. } => match &snapshot.default_api {
            Some(id) => snapshot
                .apis
                .get(id)
                .ok_or_else(|| not_found("no API is deployed".into())),
            None => {
                let deployed: Vec<String> = snapshot
                    .apis
                    .values()
                    .filter(|a| !a.stages.is_empty())
                    .map(|a| format!("{} ({})", a.name, a.id))
                    .collect();
                Err(not_found(if deployed.is_empty() {
                    "No API is deployed: run `gw deploy --stage NAME` first".into()
                } else {
                    format!(
                        "{} APIs are deployed, so the short URL form is ambiguous; call http://API_ID.execute-api.localhost:PORT/STAGE/... or /_aws/execute-api/API_ID/STAGE/... (APIs: {})",
                        deployed.len(),
                        deployed.join(", ")
                    )
                }))
            }
        },
    }
}

/// The stage a path names.
pub(super) fn find_stage<'a>(api: &'a LiveApi, stage: &str) -> Result<&'a LiveStage, GatewayError> {
    api.stages.get(stage).ok_or_else(|| {
        let mut names: Vec<&str> = api.stages.keys().map(String::as_str).collect();
        names.sort_unstable();
        not_found(format!(
            "Stage '{stage}' is not deployed in API {} ({}); deployed stages: {}",
            api.name,
            api.id,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ))
    })
}

/// The side that answers: the tester's forced choice, else the sticky key's fixed draw, else the
/// random draw. A forced choice that is neither `canary` nor `production` is refused rather than
/// silently drawn. With `--sticky cookie` and a client without the cookie, a new key is drawn
/// and returned, for the answer to set.
pub(super) fn choose(
    draw: &Draw,
    stage: &LiveStage,
    forced: Option<&HeaderValue>,
    headers: &http::HeaderMap,
    peer_ip: &str,
) -> Result<(Variant, Option<String>), GatewayError> {
    let forced = match forced.map(HeaderValue::as_bytes) {
        None => None,
        Some(b"canary") => Some(Variant::Canary),
        Some(b"production") => Some(Variant::Production),
        Some(other) => {
            return Err(GatewayError::with_message(
                ResponseType::BadRequestParameters,
                format!(
                    "{TARGET_HEADER} is {:?}; send canary or production, or leave the header out for the random split",
                    String::from_utf8_lossy(other)
                ),
            ))
        }
    };
    let Some(canary) = &stage.canary else {
        return Ok((Variant::Production, None));
    };
    if let Some(v) = forced {
        return Ok((v, None));
    }
    let (point, new_cookie) = match &canary.sticky {
        None => (draw.next(), None),
        Some(Sticky::Ip) => (canary::key_draw(peer_ip.as_bytes()), None),
        Some(Sticky::Header(name)) => match headers.get(name) {
            Some(v) => (canary::key_draw(v.as_bytes()), None),
            None => (draw.next(), None),
        },
        Some(Sticky::Cookie(name)) => match cookie(headers, name) {
            Some(v) => (canary::key_draw(v.as_bytes()), None),
            None if name == Sticky::GW_COOKIE => {
                let key = uuid::Uuid::new_v4().simple().to_string();
                (canary::key_draw(key.as_bytes()), Some(key))
            }
            None => (draw.next(), None),
        },
    };
    Ok((canary::choose(canary.percent, point), new_cookie))
}

/// The value of cookie `name` in the request's `Cookie` fields.
fn cookie<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        assert_eq!(
            target(Some("abc.execute-api.localhost:4566"), "/prod/pets"),
            Target::Api {
                api: "abc",
                rest: "/prod/pets"
            }
        );
        assert_eq!(
            target(Some("localhost:4566"), "/_aws/execute-api/abc/prod/pets"),
            Target::Api {
                api: "abc",
                rest: "/prod/pets"
            }
        );
        assert_eq!(
            target(Some("localhost:4566"), "/prod/pets"),
            Target::Default { rest: "/prod/pets" }
        );
        assert_eq!(
            target(Some("AbC.Execute-API.LocalHost:4566"), "/prod/pets"),
            Target::Api {
                api: "AbC",
                rest: "/prod/pets"
            }
        );
        let ls = target(
            Some("localhost:4566"),
            "/restapis/abc/prod/_user_request_/pets/1",
        );
        assert_eq!(
            ls,
            Target::Staged {
                api: "abc",
                stage: "prod",
                path: "/pets/1"
            }
        );
        assert_eq!(ls.stage_and_path(), ("prod", "/pets/1"));
        assert_eq!(
            target(None, "/restapis/abc/prod/_user_request_").stage_and_path(),
            ("prod", "/")
        );
        assert_eq!(
            target(None, "/restapis/abc/prod/pets"),
            Target::Default {
                rest: "/restapis/abc/prod/pets"
            }
        );
        assert_eq!(split_stage("/prod/pets/1"), ("prod", "/pets/1"));
        assert_eq!(split_stage("/prod"), ("prod", "/"));
    }
}
