//! Invoke URLs: the three forms a stage answers on.

use crate::model::RestApi;
use std::net::SocketAddr;
use std::path::Path;

/// The default listener, where LocalStack users already point their tools.
pub const DEFAULT_ENDPOINT: &str = "localhost:4566";

/// The URLs of `stage` of `api`, for an endpoint such as `localhost:4566`: the short form (when
/// this is the default API), AWS's host form and LocalStack's path form.
pub fn invoke_urls(api: &RestApi, stage: &str, endpoint: Option<&str>) -> Vec<String> {
    let endpoint = endpoint.unwrap_or(DEFAULT_ENDPOINT);
    let (host, port) = match endpoint.rsplit_once(':') {
        Some((h, p)) => (h, format!(":{p}")),
        None => (endpoint, String::new()),
    };
    let host = if host == "127.0.0.1" {
        "localhost"
    } else {
        host
    };
    vec![
        format!("http://{host}{port}/{stage}/"),
        format!("http://{}.execute-api.{host}{port}/{stage}/", api.id),
        format!("http://{host}{port}/_aws/execute-api/{}/{stage}/", api.id),
    ]
}

/// The endpoint of a server listening on `addr`, as invoke URLs write it: a loopback or
/// any-address listener (`127.0.0.1`, `0.0.0.0`, `::1`, `::`) is reached as `localhost`.
pub fn endpoint(addr: SocketAddr) -> String {
    let ip = addr.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

/// The endpoints of the servers running on the state directory `state_dir`, in the order of
/// their addresses; [`DEFAULT_ENDPOINT`] alone when none runs (where `gw serve` listens by
/// default).
pub fn serving_endpoints(state_dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for addr in crate::store::serving::listening(state_dir) {
        let e = endpoint(addr);
        if !out.contains(&e) {
            out.push(e);
        }
    }
    if out.is_empty() {
        out.push(DEFAULT_ENDPOINT.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_name_loopback_listeners_localhost() {
        let e = |a: &str| endpoint(a.parse().unwrap());
        assert_eq!(e("127.0.0.1:4566"), "localhost:4566");
        assert_eq!(e("0.0.0.0:8000"), "localhost:8000");
        assert_eq!(e("[::1]:4566"), "localhost:4566");
        assert_eq!(e("[::]:9"), "localhost:9");
        assert_eq!(e("192.168.1.5:4566"), "192.168.1.5:4566");
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(serving_endpoints(dir.path()), vec![DEFAULT_ENDPOINT]);
    }
}
