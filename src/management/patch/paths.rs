//! The paths of UpdateStage's patch operations: what each names ([`Target`]), read from the
//! JSON pointer (`~1` for `/` inside a key, as in `/~1pets/GET/throttling/rateLimit`), and
//! AWS's message listing the valid ones. The grammar only: what an operation does to the path
//! it names is `super::apply`'s.

/// The paths AWS lists in its "Invalid method setting path" message, in its order.
const STAGE_UPDATE_PATHS: &[&str] = &[
    "/deploymentId",
    "/description",
    "/cacheClusterEnabled",
    "/cacheClusterSize",
    "/clientCertificateId",
    "/accessLogSettings",
    "/accessLogSettings/destinationArn",
    "/accessLogSettings/format",
    "/{resourcePath}/{httpMethod}/metrics/enabled",
    "/{resourcePath}/{httpMethod}/logging/dataTrace",
    "/{resourcePath}/{httpMethod}/logging/loglevel",
    "/{resourcePath}/{httpMethod}/throttling/burstLimit",
    "/{resourcePath}/{httpMethod}/throttling/rateLimit",
    "/{resourcePath}/{httpMethod}/caching/ttlInSeconds",
    "/{resourcePath}/{httpMethod}/caching/enabled",
    "/{resourcePath}/{httpMethod}/caching/dataEncrypted",
    "/{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl",
    "/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy",
    "/*/*/metrics/enabled",
    "/*/*/logging/dataTrace",
    "/*/*/logging/loglevel",
    "/*/*/throttling/burstLimit",
    "/*/*/throttling/rateLimit",
    "/*/*/caching/ttlInSeconds",
    "/*/*/caching/enabled",
    "/*/*/caching/dataEncrypted",
    "/*/*/caching/requireAuthorizationForCacheControl",
    "/*/*/caching/unauthorizedCacheControlHeaderStrategy",
    "/variables/{variable_name}",
    "/tracingEnabled",
];

/// The method-setting suffixes (after `/{resourcePath}/{httpMethod}`).
const METHOD_SETTINGS: &[&str] = &[
    "metrics/enabled",
    "logging/dataTrace",
    "logging/loglevel",
    "throttling/burstLimit",
    "throttling/rateLimit",
    "caching/ttlInSeconds",
    "caching/enabled",
    "caching/dataEncrypted",
    "caching/requireAuthorizationForCacheControl",
    "caching/unauthorizedCacheControlHeaderStrategy",
];

/// AWS's message for a path outside `STAGE_UPDATE_PATHS`, with AWS's own irregular separators
/// (no comma after the `{resourcePath}` burst/rate limits, a space only after the `*/*` ones).
pub fn invalid_path_message(path: &str) -> String {
    let mut list = String::new();
    for (i, p) in STAGE_UPDATE_PATHS.iter().enumerate() {
        if i > 0 {
            let prev = STAGE_UPDATE_PATHS[i - 1];
            let sep = if prev.starts_with("/{resourcePath}")
                && (prev.ends_with("/burstLimit") || prev.ends_with("/rateLimit"))
            {
                ""
            } else if prev.ends_with("/burstLimit") || prev.ends_with("/rateLimit") {
                " "
            } else {
                ", "
            };
            list.push_str(sep);
        }
        list.push_str(p);
    }
    format!("Invalid method setting path: {path}. Must be one of: [{list}]")
}

/// `~1` → `/`, `~0` → `~` (in that order, as RFC 6901 says).
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// What a path names.
#[derive(Debug, PartialEq)]
pub(super) enum Target {
    DeploymentId,
    Description,
    /// `/documentationVersion`: the version the stage's export carries.
    DocumentationVersion,
    TracingEnabled,
    Variable(String),
    /// `/canarySettings` itself.
    Canary,
    CanaryPercent,
    CanaryDeploymentId,
    CanaryUseStageCache,
    CanaryOverride(String),
    /// `/{resourcePath}/{httpMethod}/{group}/{setting}`: the `methodSettings` key (`pets/GET`,
    /// `*/*`) and the setting (`throttling/rateLimit`).
    MethodSetting {
        key: String,
        setting: String,
    },
    /// `/accessLogSettings`, `/accessLogSettings/format`, `/accessLogSettings/destinationArn`.
    AccessLog,
    AccessLogFormat,
    AccessLogDestination,
    /// A path AWS accepts whose setting gw does not model (cache cluster, client certificate).
    NotEmulated(&'static str),
    Invalid,
}

/// A method-setting path: its `methodSettings` key (`pets/GET`, `*/*`) and setting
/// (`throttling/rateLimit`).
fn method_setting(path: &str) -> Option<(String, &str)> {
    // `/{resourcePath}/{httpMethod}/{group}/{setting}`: resourcePath is one escaped segment
    // (`~1pets`) or `*`.
    let rest = path.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.len() != 4 || parts[0].is_empty() || parts[1].is_empty() {
        return None;
    }
    let setting = &rest[parts[0].len() + parts[1].len() + 2..];
    if !METHOD_SETTINGS.contains(&setting) {
        return None;
    }
    let resource = unescape(parts[0]);
    let resource = resource.strip_prefix('/').unwrap_or(&resource);
    Some((format!("{resource}/{}", parts[1]), setting))
}

/// What `path` names; [`Target::Invalid`] when nothing.
pub(super) fn target(path: &str) -> Target {
    match path {
        "/deploymentId" => return Target::DeploymentId,
        "/description" => return Target::Description,
        "/documentationVersion" => return Target::DocumentationVersion,
        "/tracingEnabled" => return Target::TracingEnabled,
        "/canarySettings" => return Target::Canary,
        "/canarySettings/percentTraffic" => return Target::CanaryPercent,
        "/canarySettings/deploymentId" => return Target::CanaryDeploymentId,
        "/canarySettings/useStageCache" => return Target::CanaryUseStageCache,
        "/cacheClusterEnabled" | "/cacheClusterSize" => {
            return Target::NotEmulated("the stage cache cluster")
        }
        "/clientCertificateId" => return Target::NotEmulated("client certificates"),
        "/accessLogSettings" => return Target::AccessLog,
        "/accessLogSettings/format" => return Target::AccessLogFormat,
        "/accessLogSettings/destinationArn" => return Target::AccessLogDestination,
        _ => {}
    }
    if let Some(name) = path.strip_prefix("/variables/") {
        if !name.is_empty() {
            return Target::Variable(unescape(name));
        }
    }
    if let Some(name) = path.strip_prefix("/canarySettings/stageVariableOverrides/") {
        if !name.is_empty() {
            return Target::CanaryOverride(unescape(name));
        }
    }
    if let Some((key, setting)) = method_setting(path) {
        return Target::MethodSetting {
            key,
            setting: setting.to_string(),
        };
    }
    Target::Invalid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_path_message_is_awss_text() {
        assert_eq!(
            invalid_path_message("/test/GET/throttling/burstLimit"),
            "Invalid method setting path: /test/GET/throttling/burstLimit. Must be one of: [/deploymentId, /description, /cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, /accessLogSettings, /accessLogSettings/destinationArn, /accessLogSettings/format, /{resourcePath}/{httpMethod}/metrics/enabled, /{resourcePath}/{httpMethod}/logging/dataTrace, /{resourcePath}/{httpMethod}/logging/loglevel, /{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/rateLimit/{resourcePath}/{httpMethod}/caching/ttlInSeconds, /{resourcePath}/{httpMethod}/caching/enabled, /{resourcePath}/{httpMethod}/caching/dataEncrypted, /{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, /{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, /*/*/metrics/enabled, /*/*/logging/dataTrace, /*/*/logging/loglevel, /*/*/throttling/burstLimit /*/*/throttling/rateLimit /*/*/caching/ttlInSeconds, /*/*/caching/enabled, /*/*/caching/dataEncrypted, /*/*/caching/requireAuthorizationForCacheControl, /*/*/caching/unauthorizedCacheControlHeaderStrategy, /variables/{variable_name}, /tracingEnabled]"
        );
    }
}
