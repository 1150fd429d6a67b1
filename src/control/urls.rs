//! Invoke URLs: the three forms a stage answers on.

use crate::model::RestApi;

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
