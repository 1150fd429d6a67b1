//! The one query-string parser, shared by mapping templates, the Lambda event, authorizers,
//! request validation and the management API, so they all read a URL the same way.
//!
//! As API Gateway reads a query string: `&` and `;` both separate pairs (AWS's known issue: `;`
//! splits a query string), `+` is a space, percent-escapes are decoded (invalid UTF-8 becomes
//! U+FFFD), a key without `=` has the empty value, empty pairs are skipped, and every value of a
//! repeated key is kept in order (`queryStringParameters` takes the last one,
//! `multiValueQueryStringParameters` all of them).

use percent_encoding::percent_decode_str;
use std::borrow::Cow;
use std::collections::HashMap;

/// The decoded `(key, value)` pairs of a raw query string (without the `?`), in order.
pub fn pairs(raw: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> + '_ {
    raw.split(['&', ';']).filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    })
}

/// The last value of `key`, as `queryStringParameters` and `method.request.querystring.X` see it.
pub fn last<'a>(raw: &'a str, key: &str) -> Option<Cow<'a, str>> {
    pairs(raw).filter(|(k, _)| k == key).last().map(|(_, v)| v)
}

/// Every key with all its values, keys in order of first appearance
/// (`multiValueQueryStringParameters`).
pub fn grouped(raw: Option<&str>) -> Vec<(Cow<'_, str>, Vec<Cow<'_, str>>)> {
    let Some(raw) = raw else { return Vec::new() };
    let mut out: Vec<(Cow<str>, Vec<Cow<str>>)> = Vec::new();
    let mut index: HashMap<Cow<str>, usize> = HashMap::new();
    for (k, v) in pairs(raw) {
        match index.get(&k) {
            Some(&i) => out[i].1.push(v),
            None => {
                index.insert(k.clone(), out.len());
                out.push((k, vec![v]));
            }
        }
    }
    out
}

/// One key or value: `+` is a space, then percent-escapes are decoded.
pub fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['+', '%']) {
        return Cow::Borrowed(s);
    }
    let spaced = s.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(raw: &str) -> Vec<(String, String)> {
        pairs(raw)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn separators_plus_and_percent() {
        assert_eq!(
            owned("a=1;b=2&c=x+y&d=x%20y&e=%2B&flag&=v&&g="),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "2".into()),
                ("c".into(), "x y".into()),
                ("d".into(), "x y".into()),
                ("e".into(), "+".into()),
                ("flag".into(), "".into()),
                ("".into(), "v".into()),
                ("g".into(), "".into()),
            ]
        );
    }

    #[test]
    fn repeated_keys() {
        assert_eq!(last("a=1&b=2&a=3", "a").as_deref(), Some("3"));
        assert_eq!(last("a=1", "z"), None);
        let g = grouped(Some("a=1&b=2;a=3"));
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].0, "a");
        assert_eq!(g[0].1, vec!["1", "3"]);
        assert_eq!(g[1].1, vec!["2"]);
        assert!(grouped(None).is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        assert_eq!(decode("%FF"), "\u{FFFD}");
        assert_eq!(decode("%zz"), "%zz");
    }
}
