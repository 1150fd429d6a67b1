//! Payload format 2.0, the event HTTP APIs send: one value per name (repeated headers and query
//! parameters joined with commas), cookies as their own list, empty parts omitted rather than
//! `null`, and a `routeKey` (`"METHOD /resource"` or `$default`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::Serializer;
use serde::Serialize;

use super::{
    event_body, header_str, lossy, non_empty, path_parameters, stage_variables, staged_path,
    Entries, EventInput, Multi, HOP_BY_HOP,
};
use crate::aws::context::{clf_time, domain_prefix};
use crate::aws::lambda::authorizer::V2Authorizer;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Event<'a> {
    version: &'static str,
    route_key: &'a str,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cookies: Vec<Cow<'a, str>>,
    headers: Entries<(&'a str, Cow<'a, str>)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_parameters: Option<Entries<(&'a str, String)>>,
    request_context: V2Context<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_parameters: Option<Entries<(&'a str, &'a str)>>,
    is_base64_encoded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage_variables: Option<&'a BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Context<'a> {
    account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<V2Authorizer<'a>>,
    api_id: &'a str,
    domain_name: &'a str,
    domain_prefix: &'a str,
    http: V2Http<'a>,
    request_id: &'a str,
    route_key: &'a str,
    stage: &'a str,
    time: String,
    time_epoch: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Http<'a> {
    method: &'a str,
    path: &'a str,
    protocol: &'a str,
    source_ip: &'a str,
    user_agent: Cow<'a, str>,
}

pub(super) fn v2_event<'a>(input: &'a EventInput<'a>) -> V2Owned<'a> {
    V2Owned {
        input,
        query: crate::aws::query::grouped(input.raw_query),
        route_key: if input.resource_path == "$default" {
            "$default".to_owned()
        } else {
            format!("{} {}", input.route_method, input.resource_path)
        },
        raw_path: if input.stage == "$default" {
            input.path.to_owned()
        } else {
            staged_path(input.stage, input.path)
        },
    }
}

/// A payload 2.0 event together with the parts it borrows from.
pub(super) struct V2Owned<'a> {
    input: &'a EventInput<'a>,
    query: Multi<'a>,
    route_key: String,
    raw_path: String,
}

impl Serialize for V2Owned<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let input = self.input;
        let mut cookies: Vec<Cow<str>> = Vec::new();
        let mut headers: Vec<(&str, Cow<str>)> = Vec::with_capacity(input.headers.keys_len() + 1);
        for name in input.headers.keys() {
            let mut values = input.headers.get_all(name).iter().map(lossy);
            if name == http::header::COOKIE {
                for v in input.headers.get_all(name) {
                    match lossy(v) {
                        Cow::Borrowed(text) => {
                            cookies.extend(cookie_pairs(text).map(Cow::Borrowed))
                        }
                        // Not UTF-8: with replacement characters it is an owned string.
                        Cow::Owned(text) => {
                            cookies.extend(cookie_pairs(&text).map(|c| Cow::Owned(c.to_owned())))
                        }
                    }
                }
                continue;
            }
            if HOP_BY_HOP.contains(&name.as_str()) {
                continue;
            }
            let first = values.next().unwrap_or_default();
            let joined = values.fold(first, |mut acc, v| {
                let s = acc.to_mut();
                s.push(',');
                s.push_str(&v);
                acc
            });
            headers.push((name.as_str(), joined));
        }
        if !input.source_ip.is_empty() {
            match headers.iter_mut().find(|(n, _)| *n == "x-forwarded-for") {
                Some((_, v)) => {
                    let v = v.to_mut();
                    v.push_str(", ");
                    v.push_str(input.source_ip);
                }
                None => headers.push(("x-forwarded-for", Cow::Borrowed(input.source_ip))),
            }
        }
        let port = (input.port != 0).then(|| input.port.to_string());
        if !input.scheme.is_empty() {
            headers.retain(|(n, _)| *n != "x-forwarded-proto" && *n != "x-forwarded-port");
            if let Some(p) = &port {
                headers.push(("x-forwarded-port", Cow::Borrowed(p.as_str())));
            }
            headers.push(("x-forwarded-proto", Cow::Borrowed(input.scheme)));
        }
        let query: Vec<(&str, String)> = self
            .query
            .iter()
            .map(|(k, values)| (k.as_ref(), values.join(",")))
            .collect();
        let (body, is_base64_encoded) = event_body(input);
        V2Event {
            version: "2.0",
            route_key: &self.route_key,
            raw_path: &self.raw_path,
            raw_query_string: input.raw_query.unwrap_or(""),
            cookies,
            headers: Entries(headers),
            query_string_parameters: non_empty(query),
            request_context: V2Context {
                account_id: input.account_id,
                authorizer: input.authorizer.map(V2Authorizer),
                api_id: input.api_id,
                domain_name: input.domain_name,
                domain_prefix: domain_prefix(input.domain_name),
                http: V2Http {
                    method: input.http_method,
                    path: &self.raw_path,
                    protocol: input.protocol,
                    source_ip: input.source_ip,
                    user_agent: header_str(input.headers, "user-agent").unwrap_or_default(),
                },
                request_id: input.request_id,
                route_key: &self.route_key,
                stage: input.stage,
                time: clf_time(input.request_time_epoch_ms),
                time_epoch: input.request_time_epoch_ms,
            },
            body,
            path_parameters: path_parameters(input),
            is_base64_encoded,
            stage_variables: stage_variables(input),
        }
        .serialize(s)
    }
}

/// The `name=value` pairs of a `Cookie` header.
fn cookie_pairs(text: &str) -> impl Iterator<Item = &str> {
    text.split(';').map(str::trim).filter(|c| !c.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::tests::{fixture, input, V2};
    use super::super::{build_event, encode_event};
    use serde_json::{json, Value};
    use std::collections::BTreeMap;

    #[test]
    fn v2_event() {
        let f = fixture();
        let e = build_event(&input(&f, V2));
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["routeKey"], "POST /pets/{id}");
        assert_eq!(e["rawPath"], "/prod/pets/42");
        assert_eq!(e["rawQueryString"], "a=1&b=x%20y&a=2&flag&c=d+e");
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert!(e["headers"].get("cookie").is_none());
        assert_eq!(e["headers"]["x-multi"], "one,two");
        assert_eq!(e["headers"]["user-agent"], "curl/8.5.0");
        assert_eq!(
            e["queryStringParameters"],
            json!({"a": "1,2", "b": "x y", "flag": "", "c": "d e"})
        );
        assert_eq!(e["pathParameters"], json!({"id": "42"}));
        assert_eq!(e["stageVariables"], json!({"GREETING": "hi"}));
        assert_eq!(e["body"], r#"{"n":1}"#);
        assert_eq!(e["isBase64Encoded"], false);
        let rc = &e["requestContext"];
        assert_eq!(rc["http"]["method"], "POST");
        assert_eq!(rc["http"]["path"], "/prod/pets/42");
        assert_eq!(rc["http"]["sourceIp"], "127.0.0.1");
        assert_eq!(rc["routeKey"], "POST /pets/{id}");
        assert_eq!(rc["time"], "09/Apr/2015:12:34:56 +0000");
        assert_eq!(rc["timeEpoch"], 1_428_582_896_000i64);
        assert!(e.get("multiValueHeaders").is_none());
    }

    #[test]
    fn v2_cookies_that_are_not_utf8_keep_their_pairs() {
        let mut f = fixture();
        f.headers.append(
            "cookie",
            http::HeaderValue::from_bytes(b"c=3; d=\xff").unwrap(),
        );
        let e = build_event(&input(&f, V2));
        assert_eq!(e["cookies"], json!(["a=1", "b=2", "c=3", "d=\u{fffd}"]));
        // The event bytes say the same as the tree.
        let written: Value = serde_json::from_slice(&encode_event(&input(&f, V2))).unwrap();
        assert_eq!(written, e);
    }

    #[test]
    fn v2_route_key_of_an_any_method_route_says_any() {
        let f = fixture();
        let mut i = input(&f, V2);
        i.route_method = "ANY";
        let e = build_event(&i);
        assert_eq!(e["routeKey"], "ANY /pets/{id}");
        assert_eq!(e["requestContext"]["routeKey"], "ANY /pets/{id}");
        assert_eq!(e["requestContext"]["http"]["method"], "POST");
    }

    #[test]
    fn v2_default_stage_and_route() {
        let headers = http::HeaderMap::new();
        let vars = BTreeMap::new();
        let f = fixture();
        let mut i = input(&f, V2);
        i.stage = "$default";
        i.resource_path = "$default";
        i.headers = &headers;
        i.raw_query = None;
        i.path_parameters = &[];
        i.stage_variables = &vars;
        i.body = b"";
        let e = build_event(&i);
        assert_eq!(e["rawPath"], "/pets/42");
        assert_eq!(e["routeKey"], "$default");
        assert_eq!(e["rawQueryString"], "");
        for k in [
            "cookies",
            "queryStringParameters",
            "pathParameters",
            "stageVariables",
            "body",
        ] {
            assert!(e.get(k).is_none(), "{k} should be absent");
        }
    }
}
