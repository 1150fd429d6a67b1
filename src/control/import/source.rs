//! Bytes → JSON tree, for YAML and JSON alike, with line numbers on syntax errors.

use super::{ImportError, Location};
use serde_json::Value;

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
        serde_yaml::from_str(text).map_err(|e| {
            let location = e
                .location()
                .map(|l| Location::Line {
                    line: l.line(),
                    column: l.column(),
                })
                .unwrap_or(Location::Document);
            err(
                location,
                format!("invalid YAML: {}", strip_position(&e.to_string())),
                "fix the YAML syntax at that position",
            )
        })?
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
