//! CORS from an API's `x-amazon-apigateway-cors` (HTTP APIs), as API Gateway applies it: a
//! preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered 204 by the
//! gateway itself, whether or not an `OPTIONS` route exists; any other request with an `Origin`
//! gets the configured CORS headers on the integration's response, and the integration's own
//! `Access-Control-*` headers are dropped. An origin that is not allowed gets no CORS headers (the
//! browser then refuses the response).

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;

/// One API's CORS configuration, read once per deployment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cors {
    origins: Vec<String>,
    methods: Vec<String>,
    headers: Vec<String>,
    expose: Vec<String>,
    max_age: Option<i64>,
    credentials: bool,
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Cors {
    /// From `x-amazon-apigateway-cors` (`allowOrigins`, `allowMethods`, `allowHeaders`,
    /// `exposeHeaders`, `maxAge`, `allowCredentials`).
    pub fn from_config(v: &Value) -> Cors {
        Cors {
            origins: strings(v, "allowOrigins"),
            methods: strings(v, "allowMethods"),
            headers: strings(v, "allowHeaders"),
            expose: strings(v, "exposeHeaders"),
            max_age: v.get("maxAge").and_then(Value::as_i64),
            credentials: v
                .get("allowCredentials")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed: `*` when every
    /// origin is (and credentials are not), else the origin itself. `https://*` allows every
    /// origin with that prefix.
    fn allow_origin(&self, origin: &str) -> Option<String> {
        let any = self.origins.iter().any(|o| o == "*");
        if any && !self.credentials {
            return Some("*".into());
        }
        let allowed = any
            || self.origins.iter().any(|o| match o.strip_suffix('*') {
                Some(prefix) => origin.starts_with(prefix),
                None => o.eq_ignore_ascii_case(origin),
            });
        allowed.then(|| origin.to_string())
    }

    /// Whether this request is a preflight the gateway answers itself.
    pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        *method == Method::OPTIONS
            && headers.contains_key(http::header::ORIGIN)
            && headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// The headers of the answer to a preflight.
    pub fn preflight_headers(&self, request: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::new();
        let Some(origin) = origin(request).and_then(|o| self.allow_origin(o)) else {
            return out;
        };
        put(&mut out, http::header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
        if !self.methods.is_empty() {
            put(
                &mut out,
                http::header::ACCESS_CONTROL_ALLOW_METHODS,
                &self.methods.join(","),
            );
        }
        if !self.headers.is_empty() {
            put(
                &mut out,
                http::header::ACCESS_CONTROL_ALLOW_HEADERS,
                &self.headers.join(","),
            );
        }
        if let Some(age) = self.max_age {
            put(
                &mut out,
                http::header::ACCESS_CONTROL_MAX_AGE,
                &age.to_string(),
            );
        }
        if self.credentials {
            put(
                &mut out,
                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                "true",
            );
        }
        out
    }

    /// Replaces the integration's CORS headers with the configured ones (for a request with an
    /// allowed `Origin`; without one, only the integration's are dropped).
    pub fn decorate(&self, request: &HeaderMap, response: &mut HeaderMap) {
        if origin(request).is_none() {
            return;
        }
        let theirs: Vec<HeaderName> = response
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for k in theirs {
            response.remove(k);
        }
        let Some(origin) = origin(request).and_then(|o| self.allow_origin(o)) else {
            return;
        };
        put(response, http::header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
        if !self.expose.is_empty() {
            put(
                response,
                http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
                &self.expose.join(","),
            );
        }
        if self.credentials {
            put(
                response,
                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                "true",
            );
        }
    }
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| !o.is_empty())
}

fn put(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn origins_are_matched_as_configured() {
        let exact =
            Cors::from_config(&json!({"allowOrigins": ["https://app.example", "http://*"]}));
        assert_eq!(
            exact.allow_origin("https://app.example").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            exact.allow_origin("http://localhost:3000").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(exact.allow_origin("https://evil.example"), None);
        let any = Cors::from_config(&json!({"allowOrigins": ["*"]}));
        assert_eq!(any.allow_origin("https://x").as_deref(), Some("*"));
        let creds = Cors::from_config(&json!({"allowOrigins": ["*"], "allowCredentials": true}));
        assert_eq!(
            creds.allow_origin("https://x").as_deref(),
            Some("https://x")
        );
    }
}
