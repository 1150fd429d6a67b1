//! The dashboard at `/_gw/`: one self-contained HTML page (`dashboard/index.html`, embedded in
//! the binary: inline CSS and JavaScript, nothing fetched from elsewhere) that polls
//! `/_gw/stats` and `/_gw/api/stages` every second, and the JSON endpoints its buttons call:
//!
//! - `GET /_gw/api/stages` — every API and stage as served now: production and canary
//!   deployments, the canary's share and sticky key, the running ramp (steps, next share,
//!   deadline, gates) and the latest transitions of the stage's history;
//! - `GET /_gw/api/apis/{api}/stages/{stage}/history` — the stage's whole history;
//! - `POST /_gw/api/apis/{api}/stages/{stage}/promote` — [`control::promote`];
//! - `POST /_gw/api/apis/{api}/stages/{stage}/rollback` — [`control::rollback`];
//! - `POST /_gw/api/apis/{api}/stages/{stage}/canary` with `{"percent": P}` —
//!   [`control::set_canary_percent`].
//!
//! An action is one store transaction run off the async workers, then made live
//! ([`Reloader::sync`](crate::gateway::snapshot::Reloader::sync)) before the answer, as a
//! management call is.
//!
//! The actions change what every client of the gateway is served, so they are taken only from
//! this machine and from gw's own page ([`admit`]): the peer must be a loopback address, the
//! `Host` a loopback name (so a page on a rebound DNS name cannot pass for gw's origin), an
//! `Origin` a browser sends must be the origin the request was sent to, a `Sec-Fetch-Site` must
//! say `same-origin`, and the body must be `application/json`, which a cross-site form cannot
//! send and a cross-site script cannot send without a CORS preflight that gw never grants.

use super::surface::{ClientAddr, Surface};
use crate::control::{self, ControlError};
use crate::store::StoreError;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The page, embedded at build time.
const PAGE: &str = include_str!("dashboard/index.html");

/// What the page may do: run its own inline script and style, and fetch from gw itself;
/// nothing may frame it (its buttons change state).
const PAGE_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The largest action body read (`{"percent": 25}` is 15 bytes).
const MAX_ACTION_BODY: usize = 4096;

/// `GET /_gw/` (and `/_gw`): the dashboard page.
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE,
    )
        .into_response()
}

/// How many of a stage's latest transitions `/_gw/api/stages` carries.
const RECENT_TRANSITIONS: usize = 8;

/// `GET /_gw/api/stages`: every API and stage the server serves now, each with its running ramp
/// and its latest transitions from the store.
pub async fn stages(State(surface): State<Arc<Surface>>) -> Response {
    let snapshot = surface.reloader.current();
    let mut apis: Vec<_> = snapshot.apis.values().collect();
    apis.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    let mut keys = Vec::new();
    let mut listed = Vec::new();
    for api in apis {
        let mut stages: Vec<_> = api.stages.values().collect();
        stages.sort_by(|a, b| a.name.cmp(&b.name));
        keys.extend(stages.iter().map(|s| (api.id.clone(), s.name.clone())));
        listed.push((api, stages));
    }
    let store = surface.store.clone();
    let records = match tokio::task::spawn_blocking(move || {
        control::stage_records(&store, &keys, RECENT_TRANSITIONS)
    })
    .await
    {
        Ok(Ok(records)) => records,
        Ok(Err(e)) => return refuse(status_of(&e), e.to_string()),
        Err(e) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading the stages' ramps and history failed: {e}"),
            )
        }
    };
    let mut records = records.into_iter();
    let now = control::now_ms();
    let apis: Vec<Value> = listed
        .into_iter()
        .map(|(api, stages)| {
            let stages: Vec<Value> = stages
                .into_iter()
                .map(|s| {
                    let record = records.next().unwrap_or_default();
                    let canary = s.canary.as_ref();
                    // A ramp left over from an earlier canary is over (the driver removes it).
                    let ramp = record.ramp.filter(|r| {
                        canary.is_some_and(|c| c.deployment.deployment_id == r.canary_deployment_id)
                    });
                    json!({
                        "name": s.name,
                        "production": {"deployment": s.production.deployment_id},
                        "canary": canary.map(|c| json!({
                            "deployment": c.deployment.deployment_id,
                            "percent": c.percent,
                            "sticky": c.sticky.as_ref().map(sticky_text),
                        })),
                        "ramp": ramp.map(|r| ramp_json(&r, now)),
                        "history": {"transitions": record.transitions, "recent": record.recent},
                    })
                })
                .collect();
            json!({"id": api.id, "name": api.name, "stages": stages})
        })
        .collect();
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"generation": snapshot.generation, "apis": apis})),
    )
        .into_response()
}

/// A running ramp as the page shows it: where it is, what comes next and when, and the gates.
fn ramp_json(r: &crate::model::Ramp, now_ms: i64) -> Value {
    let driver = r
        .lease_owner
        .as_ref()
        .filter(|_| r.lease_expires_ms > now_ms);
    json!({
        "steps": r.steps,
        "reached": r.step,
        "next": r.next_percent(),
        "stepMs": r.step_ms,
        "deadline": chrono::DateTime::from_timestamp_millis(r.deadline_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        "deadlineInMs": r.deadline_ms.saturating_sub(now_ms),
        "paused": r.paused,
        "gates": r.gates,
        "driver": driver,
    })
}

/// `GET /_gw/api/apis/{api}/stages/{stage}/history`: every transition of a stage, oldest
/// first, as `gw stage history --json` lists them.
pub async fn history(
    State(surface): State<Arc<Surface>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let Path((api, stage)) = match path {
        Ok(p) => p,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("bad path: {e}")),
    };
    let store = surface.store.clone();
    match tokio::task::spawn_blocking(move || control::stage_history(&store, Some(&api), &stage))
        .await
    {
        Ok(Ok((_, entries))) => {
            ([(header::CACHE_CONTROL, "no-store")], Json(entries)).into_response()
        }
        Ok(Err(e)) => refuse(status_of(&e), e.to_string()),
        Err(e) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading the stage's history failed: {e}"),
        ),
    }
}

/// A sticky key as `--sticky` takes it.
fn sticky_text(sticky: &crate::gateway::canary::Sticky) -> String {
    use crate::gateway::canary::Sticky;
    match sticky {
        Sticky::Ip => "ip".to_string(),
        Sticky::Header(name) => format!("header:{name}"),
        Sticky::Cookie(name) => format!("cookie:{name}"),
    }
}

/// What a dashboard button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Promote,
    Rollback,
    Percent,
}

/// `POST /_gw/api/apis/{api}/stages/{stage}/promote`.
pub async fn promote(
    State(surface): State<Arc<Surface>>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> Response {
    act(surface, path, req, Action::Promote).await
}

/// `POST /_gw/api/apis/{api}/stages/{stage}/rollback`.
pub async fn rollback(
    State(surface): State<Arc<Surface>>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> Response {
    act(surface, path, req, Action::Rollback).await
}

/// `POST /_gw/api/apis/{api}/stages/{stage}/canary` with `{"percent": P}`.
pub async fn canary(
    State(surface): State<Arc<Surface>>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> Response {
    act(surface, path, req, Action::Percent).await
}

async fn act(
    surface: Arc<Surface>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
    action: Action,
) -> Response {
    let (parts, body) = req.into_parts();
    let peer = parts.extensions.get::<ClientAddr>().map(|c| c.0);
    if let Err((status, message)) = admit(&parts.headers, peer) {
        return refuse(status, message);
    }
    let Path((api, stage)) = match path {
        Ok(p) => p,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("bad path: {e}")),
    };
    let bytes = match axum::body::to_bytes(body, MAX_ACTION_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {MAX_ACTION_BODY} bytes; send {{\"percent\": P}} or nothing"),
            )
        }
    };
    let percent = match read_body(&bytes, action) {
        Ok(p) => p,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, message),
    };
    let store = surface.store.clone();
    let reloader = surface.reloader.clone();
    let done = tokio::task::spawn_blocking(move || {
        let answer = run(&store, &api, &stage, action, percent)?;
        // What the button changed is served by the time the page hears back.
        if let Err(e) = reloader.sync() {
            tracing::error!("reload after a dashboard action failed: {e}");
        }
        Ok::<Value, ControlError>(answer)
    })
    .await;
    match done {
        Ok(Ok(answer)) => (StatusCode::OK, Json(answer)).into_response(),
        Ok(Err(e)) => refuse(status_of(&e), e.to_string()),
        Err(e) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the dashboard action failed: {e}"),
        ),
    }
}

/// The body of an action: `{"percent": P}` for the canary's share (a number from 0 to 100),
/// nothing or any JSON object for promote and rollback.
fn read_body(bytes: &[u8], action: Action) -> Result<Option<f64>, String> {
    let value: Option<Value> = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(
            serde_json::from_slice(bytes)
                .map_err(|e| format!("the body is not JSON ({e}); send {{\"percent\": P}}"))?,
        )
    };
    if let Some(v) = &value {
        if !v.is_object() {
            return Err("the body must be a JSON object such as {\"percent\": 25}".into());
        }
    }
    if action != Action::Percent {
        return Ok(None);
    }
    let percent = value
        .as_ref()
        .and_then(|v| v.get("percent"))
        .ok_or("send the canary's new share as {\"percent\": P}, P from 0 to 100")?;
    match percent.as_f64() {
        Some(p) if (0.0..=100.0).contains(&p) => Ok(Some(p)),
        Some(p) => Err(format!(
            "percent {p} is out of range: use a number from 0 to 100"
        )),
        None => Err(format!(
            "percent must be a number from 0 to 100, not {percent}"
        )),
    }
}

/// Run one action against the store (blocking).
fn run(
    store: &crate::store::Store,
    api: &str,
    stage: &str,
    action: Action,
    percent: Option<f64>,
) -> Result<Value, ControlError> {
    Ok(match action {
        Action::Promote => {
            let (api, stage) = control::promote(store, Some(api), Some(stage))?;
            json!({
                "ok": true,
                "action": "promote",
                "api": api.id,
                "stage": stage.stage_name,
                "deployment": stage.deployment_id,
            })
        }
        Action::Rollback => {
            let (api, stage, removed) = control::rollback(store, Some(api), Some(stage))?;
            json!({
                "ok": true,
                "action": "rollback",
                "api": api.id,
                "stage": stage.stage_name,
                "deployment": stage.deployment_id,
                "removed": removed,
            })
        }
        Action::Percent => {
            let percent = percent.unwrap_or_default();
            let (api, stage) = control::set_canary_percent(store, Some(api), Some(stage), percent)?;
            json!({
                "ok": true,
                "action": "canary",
                "api": api.id,
                "stage": stage.stage_name,
                "deployment": stage.deployment_id,
                "canary": stage.canary_settings.as_ref().map(|c| c.deployment_id.clone()),
                "percent": stage.canary_settings.as_ref().map_or(percent, |c| c.percent_traffic),
            })
        }
    })
}

/// The status a control error answers with.
pub(super) fn status_of(e: &ControlError) -> StatusCode {
    match e {
        ControlError::Store(StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
        ControlError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
        ControlError::Store(StoreError::Invalid(_)) | ControlError::Import(_) => {
            StatusCode::BAD_REQUEST
        }
        ControlError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(super) fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "message": message.into() })),
    )
        .into_response()
}

/// Whether a dashboard action may run: sent from this machine to a loopback name, by gw's own
/// page or by a client that is not a browser page at all, with a JSON body. The refusal is a
/// status (403, or 415 for the content type) and a message saying why.
pub(crate) fn admit(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Result<(), (StatusCode, String)> {
    let forbidden = |m: String| Err((StatusCode::FORBIDDEN, m));
    let Some(peer) = peer else {
        return forbidden(
            "dashboard actions need the client's address, which this request did not carry".into(),
        );
    };
    if !peer.ip().to_canonical().is_loopback() {
        return forbidden(format!(
            "dashboard actions are accepted only from this machine (a loopback address); {} is not one",
            peer.ip()
        ));
    }
    let text = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or(""));
    let Some(host) = text(header::HOST) else {
        return forbidden("dashboard actions need a Host header".into());
    };
    if !is_loopback_host(host) {
        return forbidden(format!(
            "dashboard actions are accepted only at a loopback name (localhost, 127.0.0.1, [::1]); this request was sent to {host:?}"
        ));
    }
    if let Some(origin) = text(header::ORIGIN) {
        let same = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|authority| authority.eq_ignore_ascii_case(host));
        if !same {
            return forbidden(format!(
                "cross-origin request refused: Origin {origin:?} is not http://{host}; use the dashboard at http://{host}/_gw/"
            ));
        }
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        if site.as_bytes() != b"same-origin" {
            return forbidden(format!(
                "cross-site request refused (Sec-Fetch-Site: {}); use the dashboard at http://{host}/_gw/",
                site.to_str().unwrap_or("?")
            ));
        }
    }
    let json = text(header::CONTENT_TYPE).is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send dashboard actions with Content-Type: application/json".into(),
        ));
    }
    Ok(())
}

/// Whether a `Host` value (`name[:port]`) names this machine's loopback interface:
/// `localhost`, a name under `.localhost`, `127.x.y.z` or `[::1]`.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.strip_prefix(':').is_some_and(is_port) => {
                ip
            }
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return false,
            None => host,
        }
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip.to_canonical().is_loopback();
    }
    let lower = name.to_ascii_lowercase();
    lower == "localhost" || lower.ends_with(".localhost")
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn local() -> Option<SocketAddr> {
        Some("127.0.0.1:50000".parse().unwrap())
    }

    const JSON: (&str, &str) = ("content-type", "application/json");

    #[test]
    fn same_origin_json_from_loopback_is_admitted() {
        for h in [
            headers(&[("host", "127.0.0.1:4566"), JSON]),
            headers(&[
                ("host", "localhost:4566"),
                ("origin", "http://localhost:4566"),
                ("sec-fetch-site", "same-origin"),
                ("content-type", "application/json; charset=utf-8"),
            ]),
            headers(&[
                ("host", "[::1]:4566"),
                ("origin", "http://[::1]:4566"),
                JSON,
            ]),
            headers(&[("host", "api.execute-api.localhost:4566"), JSON]),
            headers(&[("host", "127.0.0.2"), JSON]),
        ] {
            assert_eq!(admit(&h, local()), Ok(()), "{h:?}");
        }
        let v6: SocketAddr = "[::1]:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().unwrap();
        let h = headers(&[("host", "localhost:4566"), JSON]);
        assert_eq!(admit(&h, Some(v6)), Ok(()));
        assert_eq!(admit(&h, Some(mapped)), Ok(()));
    }

    #[test]
    fn cross_origin_foreign_host_and_remote_peers_are_refused() {
        let refused = |h: HeaderMap, peer: Option<SocketAddr>| {
            let (status, message) = admit(&h, peer).unwrap_err();
            assert_eq!(status, StatusCode::FORBIDDEN, "{message}");
            message
        };
        let host = ("host", "127.0.0.1:4566");
        let m = refused(
            headers(&[host, ("origin", "http://evil.example"), JSON]),
            local(),
        );
        assert!(m.contains("evil.example"), "{m}");
        refused(headers(&[host, ("origin", "null"), JSON]), local());
        refused(
            headers(&[host, ("origin", "http://127.0.0.1:4567"), JSON]),
            local(),
        );
        refused(
            headers(&[host, ("sec-fetch-site", "cross-site"), JSON]),
            local(),
        );
        refused(
            headers(&[host, ("sec-fetch-site", "same-site"), JSON]),
            local(),
        );
        // DNS rebinding: the origin matches the host, but the host is not a loopback name.
        refused(
            headers(&[
                ("host", "rebind.example:4566"),
                ("origin", "http://rebind.example:4566"),
                JSON,
            ]),
            local(),
        );
        refused(headers(&[("host", "localhost:x"), JSON]), local());
        refused(headers(&[JSON]), local());
        let m = refused(
            headers(&[host, JSON]),
            Some("192.168.1.20:5000".parse().unwrap()),
        );
        assert!(m.contains("192.168.1.20"), "{m}");
        refused(headers(&[host, JSON]), None);
    }

    #[test]
    fn actions_need_a_json_body() {
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let mut h = headers(&[("host", "localhost")]);
            if let Some(ct) = ct {
                h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            }
            assert_eq!(
                admit(&h, local()).unwrap_err().0,
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            );
        }
    }

    #[test]
    fn percent_bodies() {
        assert_eq!(
            read_body(br#"{"percent": 25}"#, Action::Percent),
            Ok(Some(25.0))
        );
        assert_eq!(
            read_body(br#"{"percent": 0}"#, Action::Percent),
            Ok(Some(0.0))
        );
        assert_eq!(
            read_body(br#"{"percent": 12.5}"#, Action::Percent),
            Ok(Some(12.5))
        );
        for bad in [
            &br#"{"percent": 101}"#[..],
            br#"{"percent": -1}"#,
            br#"{"percent": "25"}"#,
            br#"{}"#,
            b"",
            b"percent=25",
            b"[25]",
        ] {
            assert!(read_body(bad, Action::Percent).is_err(), "{bad:?}");
        }
        assert_eq!(read_body(b"", Action::Promote), Ok(None));
        assert_eq!(read_body(b"{}", Action::Rollback), Ok(None));
        assert!(read_body(b"nope", Action::Promote).is_err());
    }

    #[test]
    fn loopback_hosts() {
        for yes in [
            "localhost",
            "LOCALHOST:80",
            "localhost.",
            "a.b.localhost:1",
            "127.0.0.1",
            "127.9.9.9:4566",
            "[::1]",
            "[::1]:4566",
        ] {
            assert!(is_loopback_host(yes), "{yes}");
        }
        for no in [
            "",
            "example.com",
            "localhost.example.com",
            "10.0.0.1:4566",
            "[::2]:1",
            "[::1",
            "::1",
            "localhost:",
            "localhost:123456",
            "0.0.0.0:4566",
            "notlocalhost",
        ] {
            assert!(!is_loopback_host(no), "{no}");
        }
    }
}
