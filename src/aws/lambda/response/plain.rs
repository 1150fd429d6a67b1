//! The fast path of the response contract, for the answer nearly every payload 1.0 function
//! gives (`statusCode`, `headers`, `multiValueHeaders`, `body`, `isBase64Encoded`, each of its
//! plain type): deserialised straight into typed fields, with strings borrowed from the output
//! where they have no escapes, and no JSON tree. Anything unusual is left to the general path,
//! which answers it (and explains any refusal) itself.

use std::borrow::Cow;

use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;

use super::ProxyResponse;

/// A `multiValueHeaders` value: `null`, or a list whose `null` items are skipped.
type MultiValue<'a> = Option<Vec<Option<Cow<'a, str>>>>;

/// The usual payload 1.0 answer: only the known keys, each of its plain type (`statusCode` a
/// number, header values strings). Read straight into this shape, without a JSON tree.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainV1<'a> {
    #[serde(rename = "statusCode", default)]
    status_code: Option<u64>,
    #[serde(default, borrow)]
    headers: Option<Pairs<'a, Option<Cow<'a, str>>>>,
    #[serde(rename = "multiValueHeaders", default, borrow)]
    multi_value_headers: Option<Pairs<'a, MultiValue<'a>>>,
    #[serde(default, borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(rename = "isBase64Encoded", default)]
    is_base64_encoded: Option<bool>,
}

/// A JSON object's entries in document order.
struct Pairs<'a, V>(Vec<(Cow<'a, str>, V)>);

impl<'de: 'a, 'a, V: Deserialize<'de>> Deserialize<'de> for Pairs<'a, V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<'a, V>(std::marker::PhantomData<(&'a (), V)>);
        impl<'de: 'a, 'a, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<'a, V> {
            type Value = Pairs<'a, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Borrowed<'a>, V>()? {
                    out.push((k.0, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// A string borrowed from the input where it has no escapes.
struct Borrowed<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Inner<'a>(#[serde(borrow)] Cow<'a, str>);
        Inner::deserialize(d).map(|i| Borrowed(i.0))
    }
}

/// The fast path of [`parse_response`](super::parse_response) for payload 1.0: `Some` only for
/// an answer that the general path would accept, with exactly its result; anything else (other
/// types, unknown keys, an error object, repeated names, invalid headers or base64) is left to
/// the general path to explain.
pub(super) fn plain_v1(stdout: &[u8], decode_base64: bool) -> Option<ProxyResponse> {
    let plain: PlainV1 = serde_json::from_slice(stdout).ok()?;
    let status = match plain.status_code {
        None => 200,
        Some(c @ 100..=599) => c as u16, // in 100..=599: fits in u16
        Some(_) => return None,
    };
    let multi = plain.multi_value_headers.map_or_else(Vec::new, |p| p.0);
    let solo = plain.headers.map_or_else(Vec::new, |p| p.0);
    if has_repeats(multi.iter().map(|(k, _)| k)) || has_repeats(solo.iter().map(|(k, _)| k)) {
        return None; // a JSON object with a repeated key: the last one wins, as the tree has it
    }
    let mut headers: Vec<(String, String)> = Vec::with_capacity(multi.len() + solo.len() + 1);
    for (name, values) in &multi {
        for v in values.iter().flatten().flatten() {
            headers.push((name.to_string(), v.to_string()));
        }
    }
    for (name, value) in &solo {
        if let Some(v) = value {
            headers.push((name.to_string(), v.to_string()));
        }
    }
    for (name, value) in &headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value).is_err()
        {
            return None;
        }
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let body = match plain.body {
        None => Bytes::new(),
        Some(s) if plain.is_base64_encoded == Some(true) && decode_base64 => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .ok()?,
        ),
        Some(s) => Bytes::from(s.into_owned()),
    };
    Some(ProxyResponse {
        status,
        headers,
        body,
    })
}

fn has_repeats<'k>(names: impl ExactSizeIterator<Item = &'k Cow<'k, str>>) -> bool {
    if names.len() > 32 {
        return true; // unusual: let the general path handle it
    }
    let names: Vec<&str> = names.map(|n| n.as_ref()).collect();
    names
        .iter()
        .enumerate()
        .any(|(i, n)| names[..i].contains(n))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::parse_response_tree;
    use super::super::tests::{cases, V1};
    use super::*;

    /// The fast payload 1.0 path answers exactly as the general path wherever it answers at all.
    #[test]
    fn plain_v1_agrees_with_the_tree() {
        let mut inputs: Vec<(String, bool)> = cases()
            .iter()
            .filter(|c| c.version == V1)
            .flat_map(|c| [(c.stdout.to_string(), false), (c.stdout.to_string(), true)])
            .collect();
        for extra in [
            r#"{"statusCode":201,"headers":{"A":"1","a":"2"},"body":"x"}"#,
            r#"{"statusCode":200,"headers":{"A":"1","A":"2"}}"#,
            r#"{"statusCode":200,"multiValueHeaders":{"A":["1",null,"2"],"B":null},"headers":{"A":"3","C":null}}"#,
            r#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#,
            r#"{"statusCode":200,"body":"not base64!","isBase64Encoded":true}"#,
            r#"{"statusCode":99}"#,
            r#"{"statusCode":600}"#,
            r#"{"statusCode":null,"body":null,"headers":null,"multiValueHeaders":null,"isBase64Encoded":null}"#,
            r#"{"statusCode":200,"headers":{"bad name":"v"}}"#,
            r#"{"statusCode":200,"headers":{"content-type":"text/plain"},"body":"\u00e9\n"}"#,
            r#"{"statusCode":200,"statusCode":201}"#,
            r#"{}"#,
        ] {
            inputs.push((extra.to_string(), false));
            inputs.push((extra.to_string(), true));
        }
        let binary = vec!["*/*".to_string()];
        let mut compared = 0;
        for (stdout, decode) in inputs {
            let Some(fast) = plain_v1(stdout.as_bytes(), decode) else {
                continue;
            };
            let (accept, types): (Option<&str>, &[String]) = if decode {
                (Some("image/png"), &binary)
            } else {
                (None, &[])
            };
            let tree = parse_response_tree(V1, stdout.as_bytes(), accept, types);
            assert_eq!(
                Ok(fast),
                tree.map_err(|e| e.reason),
                "{stdout} (decode: {decode})"
            );
            compared += 1;
        }
        assert!(compared >= 20, "only {compared} answers took the fast path");
    }
}
