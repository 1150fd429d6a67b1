//! Bytes → JSON tree, for YAML and JSON alike, with line numbers on syntax errors.

use super::{ImportError, Location};
use serde::de::{self, Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

pub(super) fn parse(file: &str, bytes: &[u8]) -> Result<Value, ImportError> {
    let err = |location, problem: String, fix: &str| ImportError {
        file: file.to_string(),
        location,
        problem,
        fix: fix.to_string(),
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_col(bytes, e.valid_up_to());
        err(
            Location::Line { line, column },
            "the file is not valid UTF-8".into(),
            "save the spec as UTF-8 text",
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(err(
            Location::Document,
            "the file is empty".into(),
            "pass an OpenAPI 3.x or Swagger 2.0 document",
        ));
    }
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| {
            err(
                Location::Line {
                    line: e.line(),
                    column: e.column(),
                },
                format!("invalid JSON: {}", strip_position(&e.to_string())),
                "fix the JSON syntax at that position",
            )
        })?
    } else {
        if let Some(offset) = flow_nesting_over_limit(text) {
            let (line, column) = line_col(bytes, offset + (bytes.len() - text.len()));
            return Err(err(
                Location::Line { line, column },
                format!("invalid YAML: brackets nested more than {MAX_FLOW_DEPTH} levels deep"),
                "flatten the document (YAML and JSON specs may nest at most 128 levels)",
            ));
        }
        let location = |e: &serde_yaml::Error| {
            e.location()
                .map(|l| Location::Line {
                    line: l.line(),
                    column: l.column(),
                })
                .unwrap_or(Location::Document)
        };
        match serde_yaml::from_str::<Tree>(text) {
            Ok(Tree(value)) => value,
            // Only a document libyaml cannot parse gets the syntax advice; valid YAML that has no
            // JSON equivalent (a tag, a key that is not text, too deep, several documents) is
            // told what to change instead.
            Err(e) => {
                return Err(match yaml_syntax_error(text) {
                    Some(syntax) => err(
                        location(&syntax),
                        format!("invalid YAML: {}", strip_position(&syntax.to_string())),
                        "fix the YAML syntax at that position",
                    ),
                    None => {
                        let problem = strip_position(&e.to_string());
                        let fix = unreadable_yaml_fix(&problem);
                        err(
                            location(&e),
                            format!("YAML that gw cannot read: {problem}"),
                            fix,
                        )
                    }
                });
            }
        }
    };
    if !value.is_object() {
        return Err(err(
            Location::Pointer(String::new()),
            format!(
                "the document is {}, not a mapping",
                super::doc::kind_of(&value)
            ),
            "pass an OpenAPI 3.x or Swagger 2.0 document (a mapping with `openapi` or `swagger` at the top)",
        ));
    }
    Ok(value)
}

/// libyaml's scanner keeps a possible simple key per open flow collection and re-checks all of
/// them at every token, so flow nesting costs time quadratic in its depth before serde_yaml's
/// recursion limit (128) refuses it: 100,000 nested `{a: ...}` (600 KB) take minutes, a 4 MB
/// document hours. Documents whose brackets nest far past that limit are refused up front.
const MAX_FLOW_DEPTH: usize = 1_000;

/// The byte offset of the first `[` or `{` that opens more than [`MAX_FLOW_DEPTH`] levels.
/// Brackets are counted everywhere, quoted text included: a stray bracket in a string can only
/// make the check stricter, never let a deep document through, and real specs stay far below.
fn flow_nesting_over_limit(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The first error libyaml finds in `text` (every document of it), if any: a real syntax error,
/// as opposed to valid YAML that [`Tree`] cannot take.
fn yaml_syntax_error(text: &str) -> Option<serde_yaml::Error> {
    // The iterator repeats a failure to start forever: stop at the first error.
    for document in serde_yaml::Deserializer::from_str(text) {
        if let Err(e) = de::IgnoredAny::deserialize(document) {
            return Some(e);
        }
    }
    None
}

const TAG_PROBLEM: &str = "has no JSON equivalent";

/// What to do about valid YAML that gw cannot read (serde_yaml's error kinds are not public, so
/// its message tells them apart).
fn unreadable_yaml_fix(problem: &str) -> &'static str {
    if problem.contains("recursion limit exceeded") {
        "flatten the document (YAML and JSON specs may nest at most 128 levels)"
    } else if problem.contains("more than one document") {
        "keep the spec in one YAML document: remove the `---` line and the documents after it"
    } else if problem.contains(TAG_PROBLEM) {
        "write the value without the tag (CloudFormation's `!Sub x` as `Fn::Sub: x`, `!Ref x` as `Ref: x`)"
    } else if problem.contains("repetition limit exceeded") {
        "use fewer aliases (`*name`): they expand to more than 100 times the document's size"
    } else {
        "write that part as plain data: text keys, no tags, one document"
    }
}

/// A YAML document read into a JSON tree: what `serde_json::Value` reads, except that integers
/// beyond 64 bits (serde_yaml hands them over as i128/u128, which `Value` refuses with "JSON
/// number out of range") become the nearest float, as serde_json reads them in JSON. The source
/// bytes are stored as given, so the numbers stay as written there.
struct Tree(Value);

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Tree, D::Error> {
        deserializer.deserialize_any(TreeVisitor).map(Tree)
    }
}

struct TreeVisitor;

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value JSON can hold")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Number::from_i128(v).map_or_else(|| float(v as f64), Value::Number))
    }

    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(Number::from_u128(v).map_or_else(|| float(v as f64), Value::Number))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Tree::deserialize(deserializer).map(|t| t.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Tree(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key()? {
            let Tree(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }

    /// serde_yaml hands a value with a local tag (`!Sub text`) over as an enum.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, _) = data.variant::<String>()?;
        Err(de::Error::custom(format!(
            "the YAML tag `!{tag}` {TAG_PROBLEM}"
        )))
    }
}

/// A mapping key: text, as JSON object keys are (a plain `200` is read as the text "200").
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = String;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping key that is text, as JSON object keys are")
            }

            fn visit_str<E>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }

            fn visit_string<E>(self, v: String) -> Result<String, E> {
                Ok(v)
            }
        }
        deserializer.deserialize_str(KeyVisitor).map(Key)
    }
}

fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// serde's messages end in " at line X column Y"; the location is reported separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Integers beyond 64 bits read from YAML as serde_json reads them from JSON: the nearest
    /// float. Those that fit stay integers.
    #[test]
    fn yaml_reads_numbers_beyond_64_bits_as_json_does() {
        let numbers = "[-9223372036854776000, 18446744073709551616, -170141183460469231731687303715884105729, 340282366920938463463374607431768211456, -9223372036854775808, 18446744073709551615]";
        let yaml = parse("t.yaml", format!("n: {numbers}\n").as_bytes()).unwrap();
        let json = parse("t.json", format!("{{\"n\": {numbers}}}").as_bytes()).unwrap();
        assert_eq!(yaml, json);
        assert_eq!(yaml["n"][0].as_f64(), Some(-9223372036854776000.0));
        assert_eq!(yaml["n"][1].as_f64(), Some(18446744073709551616.0));
        assert_eq!(yaml["n"][4].as_i64(), Some(i64::MIN));
        assert_eq!(yaml["n"][5].as_u64(), Some(u64::MAX));
    }
}
