//! Payload format 1.0, the event REST APIs send: every map both single-valued (last value wins)
//! and multi-valued, `null` where a map is empty, header names in `Title-Case`, and
//! `requestContext` with the caller's identity (all `null` but the source IP and user agent).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::Serializer;
use serde::Serialize;

use super::{
    event_body, header_str, lossy, non_empty, path_parameters, stage_variables, staged_path,
    Entries, EventInput, Multi, HOP_BY_HOP,
};
use crate::aws::context::{clf_time, domain_prefix};
use crate::aws::lambda::authorizer::V1Authorizer;

/// Serialises as the last element of a non-empty list.
struct Last<'v, T>(&'v [T]);

impl<T: Serialize> Serialize for Last<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.last() {
            Some(v) => v.serialize(s),
            None => s.serialize_none(),
        }
    }
}

/// Name → last value, as payload 1.0's single-value maps (`null` when empty).
type SingleMap<'a> = Option<Entries<(&'a str, Last<'a, Cow<'a, str>>)>>;
/// Name → every value, as payload 1.0's multi-value maps (`null` when empty).
type MultiMap<'a> = Option<Entries<(&'a str, &'a [Cow<'a, str>])>>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Event<'a> {
    resource: &'a str,
    path: &'a str,
    http_method: &'a str,
    headers: SingleMap<'a>,
    multi_value_headers: MultiMap<'a>,
    query_string_parameters: SingleMap<'a>,
    multi_value_query_string_parameters: MultiMap<'a>,
    path_parameters: Option<Entries<(&'a str, &'a str)>>,
    stage_variables: Option<&'a BTreeMap<String, String>>,
    request_context: V1Context<'a>,
    body: Option<Cow<'a, str>>,
    is_base64_encoded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Context<'a> {
    account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<V1Authorizer<'a>>,
    api_id: &'a str,
    deployment_id: &'a str,
    domain_name: &'a str,
    domain_prefix: &'a str,
    extended_request_id: &'a str,
    http_method: &'a str,
    identity: V1Identity<'a>,
    path: String,
    protocol: &'a str,
    request_id: &'a str,
    request_time: String,
    request_time_epoch: i64,
    resource_id: &'a str,
    resource_path: &'a str,
    stage: &'a str,
}

/// Caller identity: only the source IP and user agent are known without an authorizer; the
/// other fields are always `null` (`()`), so build it with `..Default::default()`.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct V1Identity<'a> {
    access_key: (),
    account_id: (),
    caller: (),
    cognito_authentication_provider: (),
    cognito_authentication_type: (),
    cognito_identity_id: (),
    cognito_identity_pool_id: (),
    principal_org_id: (),
    source_ip: &'a str,
    user: (),
    user_agent: Option<Cow<'a, str>>,
    user_arn: (),
    #[serde(skip_serializing_if = "Option::is_none")]
    client_cert: Option<&'a crate::aws::context::ClientCert>,
}

/// Serialises a payload 1.0 event; `headers` and `query` hold the parts it borrows from.
pub(super) fn v1_event<'a>(input: &'a EventInput<'a>) -> V1Owned<'a> {
    let headers = v1_headers(input);
    let query = crate::aws::query::grouped(input.raw_query);
    V1Owned {
        input,
        headers,
        query,
    }
}

fn single<'s>(list: &'s Multi<'_>) -> Vec<(&'s str, Last<'s, Cow<'s, str>>)> {
    list.iter()
        .map(|(k, v)| (k.as_ref(), Last(v.as_slice())))
        .collect()
}

fn multi<'s>(list: &'s Multi<'_>) -> Vec<(&'s str, &'s [Cow<'s, str>])> {
    list.iter()
        .map(|(k, v)| (k.as_ref(), v.as_slice()))
        .collect()
}

/// A payload 1.0 event together with the header and query lists it is built from.
pub(super) struct V1Owned<'a> {
    input: &'a EventInput<'a>,
    headers: Multi<'a>,
    query: Multi<'a>,
}

impl Serialize for V1Owned<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let input = self.input;
        let (body, is_base64_encoded) = event_body(input);
        V1Event {
            resource: input.resource_path,
            path: input.path,
            http_method: input.http_method,
            headers: non_empty(single(&self.headers)),
            multi_value_headers: non_empty(multi(&self.headers)),
            query_string_parameters: non_empty(single(&self.query)),
            multi_value_query_string_parameters: non_empty(multi(&self.query)),
            path_parameters: path_parameters(input),
            stage_variables: stage_variables(input),
            request_context: V1Context {
                account_id: input.account_id,
                authorizer: input.authorizer.map(V1Authorizer),
                api_id: input.api_id,
                deployment_id: input.deployment_id,
                domain_name: input.domain_name,
                domain_prefix: domain_prefix(input.domain_name),
                extended_request_id: input.extended_request_id,
                http_method: input.http_method,
                identity: V1Identity {
                    source_ip: input.source_ip,
                    user_agent: header_str(input.headers, "user-agent"),
                    client_cert: input.client_cert,
                    ..Default::default()
                },
                path: staged_path(input.stage, input.path),
                protocol: input.protocol,
                request_id: input.request_id,
                request_time: clf_time(input.request_time_epoch_ms),
                request_time_epoch: input.request_time_epoch_ms,
                resource_id: input.resource_id,
                resource_path: input.resource_path,
                stage: input.stage,
            },
            body,
            is_base64_encoded,
        }
        .serialize(s)
    }
}

/// Payload 1.0 headers: Title-Case names in first-appearance order, all values of each.
fn v1_headers<'a>(input: &EventInput<'a>) -> Multi<'a> {
    let mut out: Multi<'a> = Vec::with_capacity(input.headers.keys_len() + 1);
    for name in input.headers.keys() {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        let values = input.headers.get_all(name).iter().map(lossy).collect();
        out.push((Cow::Owned(title_case(name.as_str())), values));
    }
    match out.iter_mut().find(|(n, _)| n == "X-Forwarded-For") {
        Some((_, values)) => {
            if let Some(last) = values.last_mut() {
                let last = last.to_mut();
                last.push_str(", ");
                last.push_str(input.source_ip);
            }
        }
        None if !input.source_ip.is_empty() => {
            out.push((
                Cow::Borrowed("X-Forwarded-For"),
                vec![Cow::Borrowed(input.source_ip)],
            ));
        }
        None => {}
    }
    // What API Gateway adds: the scheme and port the client used (a client's own are replaced).
    if !input.scheme.is_empty() {
        out.retain(|(n, _)| n != "X-Forwarded-Proto" && n != "X-Forwarded-Port");
        if input.port != 0 {
            out.push((
                Cow::Borrowed("X-Forwarded-Port"),
                vec![Cow::Owned(input.port.to_string())],
            ));
        }
        out.push((
            Cow::Borrowed("X-Forwarded-Proto"),
            vec![Cow::Borrowed(input.scheme)],
        ));
    }
    out
}

/// `user-agent` → `User-Agent`.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if upper {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        upper = c == '-';
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::build_event;
    use super::super::tests::{fixture, input, V1};
    use super::*;
    use serde_json::json;

    #[test]
    fn v1_event_has_every_field() {
        let f = fixture();
        let e = build_event(&input(&f, V1));
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "resource",
                "path",
                "httpMethod",
                "headers",
                "multiValueHeaders",
                "queryStringParameters",
                "multiValueQueryStringParameters",
                "pathParameters",
                "stageVariables",
                "requestContext",
                "body",
                "isBase64Encoded"
            ]
        );
        assert_eq!(e["resource"], "/pets/{id}");
        assert_eq!(e["path"], "/pets/42");
        assert_eq!(e["headers"]["User-Agent"], "curl/8.5.0");
        assert_eq!(e["headers"]["X-Multi"], "two");
        assert_eq!(e["multiValueHeaders"]["X-Multi"], json!(["one", "two"]));
        assert_eq!(e["headers"]["X-Forwarded-For"], "127.0.0.1");
        assert!(e["headers"].get("Connection").is_none());
        assert_eq!(
            e["queryStringParameters"],
            json!({"a": "2", "b": "x y", "flag": "", "c": "d e"})
        );
        assert_eq!(e["multiValueQueryStringParameters"]["a"], json!(["1", "2"]));
        assert_eq!(e["pathParameters"], json!({"id": "42"}));
        assert_eq!(e["stageVariables"], json!({"GREETING": "hi"}));
        assert_eq!(e["body"], r#"{"n":1}"#);
        assert_eq!(e["isBase64Encoded"], false);
        let rc = &e["requestContext"];
        assert_eq!(rc["path"], "/prod/pets/42");
        assert_eq!(rc["resourcePath"], "/pets/{id}");
        assert_eq!(rc["requestTime"], "09/Apr/2015:12:34:56 +0000");
        assert_eq!(rc["requestTimeEpoch"], 1_428_582_896_000i64);
        assert_eq!(rc["domainPrefix"], "abc123");
        assert_eq!(rc["accountId"], "000000000000");
        assert_eq!(rc["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(rc["identity"]["userAgent"], "curl/8.5.0");
        assert!(rc["identity"]["cognitoIdentityId"].is_null());
        for k in [
            "apiId",
            "deploymentId",
            "extendedRequestId",
            "httpMethod",
            "protocol",
            "requestId",
            "resourceId",
            "stage",
        ] {
            assert!(rc[k].is_string(), "requestContext.{k}");
        }
    }

    #[test]
    fn v1_absent_maps_are_null_not_empty() {
        let headers = http::HeaderMap::new();
        let vars = BTreeMap::new();
        let f = fixture();
        let mut i = input(&f, V1);
        i.headers = &headers;
        i.raw_query = None;
        i.path_parameters = &[];
        i.stage_variables = &vars;
        i.body = b"";
        i.source_ip = "";
        let e = build_event(&i);
        for k in [
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "stageVariables",
            "body",
        ] {
            assert!(e[k].is_null(), "{k} should be null, is {}", e[k]);
        }
        assert!(e["requestContext"]["identity"]["userAgent"].is_null());
    }

    #[test]
    fn title_casing() {
        assert_eq!(title_case("user-agent"), "User-Agent");
        assert_eq!(title_case("x-api-key"), "X-Api-Key");
        assert_eq!(title_case("host"), "Host");
    }
}
