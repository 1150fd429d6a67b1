//! Hostile input for the spec importer (`gw::control::import::import`): corpus specs mutated by byte flips,
//! truncation, spliced garbage, deleted subtrees, values of the wrong type, grafted keys, huge
//! strings, and documents nested thousands of levels deep. Nothing may panic or overflow the
//! stack; every error names the file, a location and a problem with a fix.
//!
//! Short (CI, ~200 cases):   cargo test --test prop_import
//! Long (~20,000 cases):     GW_LONG_TESTS=1 cargo test --test prop_import -- --nocapture
//! Reproduce a failure:      PROPTEST_RNG_SEED=... is not used; failures print the minimal case.

use crate::common;

use gw::control::import::{import, BasePathMode, ImportError, ImportOptions, Location};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

fn long() -> bool {
    std::env::var("GW_LONG_TESTS").is_ok_and(|v| v == "1")
}

/// Specs above this size (stripe, 4 MB) get their own, smaller test.
const SMALL: u64 = 256 * 1024;

struct Spec {
    name: String,
    bytes: Vec<u8>,
    tree: Value,
}

fn corpus() -> Vec<Spec> {
    let dir = common::corpus_dir();
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".json") || name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        if std::fs::metadata(&path).unwrap().len() > SMALL {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let tree: Value = if name.ends_with(".json") {
            serde_json::from_slice(&bytes).unwrap()
        } else {
            serde_yaml::from_slice(&bytes).unwrap()
        };
        out.push(Spec { name, bytes, tree });
    }
    assert!(
        out.len() >= 10,
        "corpus at {} looks incomplete",
        dir.display()
    );
    out
}

/// Every error is well formed: a file, a location that says something, a problem and a fix.
fn check_error(e: &ImportError) -> Result<(), TestCaseError> {
    prop_assert!(!e.file.is_empty(), "error without a file: {e:?}");
    prop_assert!(
        !e.problem.trim().is_empty(),
        "error without a problem: {e:?}"
    );
    prop_assert!(!e.fix.trim().is_empty(), "error without a fix: {e:?}");
    match &e.location {
        Location::Line { line, column } => {
            prop_assert!(*line >= 1, "line 0 in {e:?}");
            // serde_json documents column 0 for an error on a newline character (e.g. a raw
            // newline inside a string); YAML and UTF-8 errors are always 1-based.
            prop_assert!(
                *column >= 1 || e.problem.starts_with("invalid JSON"),
                "column 0 in {e:?}"
            );
        }
        Location::Pointer(p) => {
            prop_assert!(
                p.is_empty() || p.starts_with('/'),
                "not a JSON pointer: {e:?}"
            )
        }
        Location::Document => {}
    }
    prop_assert!(!e.location.to_string().is_empty());
    prop_assert!(!e.to_string().is_empty());
    Ok(())
}

/// Run the importer under `catch_unwind`; check the error, or the result's basic shape (and that
/// a router can be built from it and queried).
fn check_import(file: &str, bytes: &[u8], options: &ImportOptions) -> Result<bool, TestCaseError> {
    let result = catch_unwind(AssertUnwindSafe(|| import(file, bytes, options)));
    let result = match result {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Err(TestCaseError::fail(format!("import panicked: {msg}")));
        }
    };
    match result {
        Err(e) => {
            check_error(&e)?;
            Ok(false)
        }
        Ok(imported) => {
            let api = &imported.api;
            prop_assert!(
                api.resources.iter().any(|r| r.path == "/"),
                "no root resource"
            );
            for r in &api.resources {
                prop_assert!(r.path.starts_with('/'), "resource path {:?}", r.path);
            }
            for w in &imported.warnings {
                prop_assert!(!w.message.is_empty());
                prop_assert!(w.pointer.is_empty() || w.pointer.starts_with('/'), "{w:?}");
            }
            let routed = catch_unwind(AssertUnwindSafe(|| {
                let router = gw::gateway::router::Router::new(api);
                for r in &api.resources {
                    let _ = router.find(api, "GET", &r.path);
                }
                let _ = router.find(api, "POST", "/a/%zz/../b//c/");
            }));
            prop_assert!(routed.is_ok(), "router panicked on an imported API");
            prop_assert!(serde_json::to_string(api).is_ok());
            Ok(true)
        }
    }
}

// ---------------------------------------------------------------- mutations

/// Keys the importer looks at; tree mutations prefer nodes under these.
const INTERESTING: &[&str] = &[
    "openapi",
    "swagger",
    "info",
    "title",
    "version",
    "paths",
    "servers",
    "url",
    "variables",
    "default",
    "basePath",
    "components",
    "securitySchemes",
    "securityDefinitions",
    "security",
    "parameters",
    "in",
    "name",
    "required",
    "$ref",
    "responses",
    "statusCode",
    "operationId",
    "get",
    "post",
    "put",
    "delete",
    "options",
    "x-amazon-apigateway-any-method",
    "x-amazon-apigateway-integration",
    "x-amazon-apigateway-integrations",
    "x-amazon-apigateway-authorizer",
    "x-amazon-apigateway-authtype",
    "x-amazon-apigateway-auth",
    "x-amazon-apigateway-gateway-responses",
    "x-amazon-apigateway-request-validators",
    "x-amazon-apigateway-request-validator",
    "x-amazon-apigateway-binary-media-types",
    "x-amazon-apigateway-api-key-source",
    "x-amazon-apigateway-minimum-compression-size",
    "x-amazon-apigateway-endpoint-configuration",
    "x-amazon-apigateway-policy",
    "x-amazon-apigateway-cors",
    "type",
    "uri",
    "httpMethod",
    "timeoutInMillis",
    "passthroughBehavior",
    "connectionType",
    "contentHandling",
    "requestParameters",
    "requestTemplates",
    "responseParameters",
    "responseTemplates",
    "payloadFormatVersion",
    "authorizerUri",
    "identitySource",
    "providerARNs",
    "Fn::Sub",
];

#[derive(Debug, Clone)]
enum TreeOp {
    /// Remove a random subtree.
    Delete(u64),
    /// Replace a random value with one of another type.
    WrongType(u64),
    /// Insert an interesting key with an odd value into a random mapping.
    Graft(u64),
    /// Put a huge string somewhere (as a value, a key or a path).
    Huge { seed: u64, len: usize },
}

#[derive(Debug, Clone)]
enum ByteOp {
    Flip(Index, u8),
    Truncate(Index),
    Splice(Index, Vec<u8>),
    /// Duplicate a random slice somewhere else (breaks indentation and brackets).
    Duplicate(Index, Index, Index),
}

#[derive(Debug, Clone, Copy)]
enum Nest {
    JsonList,
    JsonMap,
    YamlFlowList,
    YamlFlowMap,
    YamlBlockList,
    YamlBlockMap,
    Mixed,
}

#[derive(Debug, Clone, Copy)]
enum Place {
    /// The whole document.
    Root,
    /// The value of `paths`.
    Paths,
    /// An operation's integration.
    Integration,
    /// An ignored `x-` extension on an operation.
    Extension,
}

#[derive(Debug, Clone)]
enum Case {
    Mutated {
        spec: Index,
        tree_ops: Vec<TreeOp>,
        /// Re-serialise as JSON (true) or YAML (false); unused without tree ops.
        as_json: bool,
        byte_ops: Vec<ByteOp>,
    },
    Deep {
        depth: usize,
        nest: Nest,
        place: Place,
    },
}

fn options() -> impl Strategy<Value = ImportOptions> {
    (
        0..3u8,
        prop::bool::weighted(0.2),
        prop::option::of("[A-Z_]{0,12}"),
    )
        .prop_map(|(b, fail, ep)| ImportOptions {
            basepath: [
                BasePathMode::Ignore,
                BasePathMode::Prepend,
                BasePathMode::Split,
            ][b as usize],
            fail_on_warnings: fail,
            endpoint_type: ep,
        })
}

fn tree_op() -> impl Strategy<Value = TreeOp> {
    prop_oneof![
        3 => any::<u64>().prop_map(TreeOp::Delete),
        4 => any::<u64>().prop_map(TreeOp::WrongType),
        3 => any::<u64>().prop_map(TreeOp::Graft),
        1 => (any::<u64>(), prop_oneof![1usize..5_000, 5_000usize..(2 << 20)])
            .prop_map(|(seed, len)| TreeOp::Huge { seed, len }),
    ]
}

fn byte_op() -> impl Strategy<Value = ByteOp> {
    prop_oneof![
        4 => (any::<Index>(), 1u8..=255).prop_map(|(i, m)| ByteOp::Flip(i, m)),
        2 => any::<Index>().prop_map(ByteOp::Truncate),
        2 => (any::<Index>(), prop::collection::vec(
            prop_oneof![
                any::<u8>(),
                prop::sample::select(b"{}[]:,'\"\n\t -?&*!|>%@`#\\".to_vec()),
            ],
            1..24,
        ))
            .prop_map(|(i, b)| ByteOp::Splice(i, b)),
        1 => (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(a, b, c)| ByteOp::Duplicate(a, b, c)),
    ]
}

fn nest() -> impl Strategy<Value = Nest> {
    prop::sample::select(vec![
        Nest::JsonList,
        Nest::JsonMap,
        Nest::YamlFlowList,
        Nest::YamlFlowMap,
        Nest::YamlBlockList,
        Nest::YamlBlockMap,
        Nest::Mixed,
    ])
}

fn place() -> impl Strategy<Value = Place> {
    prop::sample::select(vec![
        Place::Root,
        Place::Paths,
        Place::Integration,
        Place::Extension,
    ])
}

fn case() -> impl Strategy<Value = Case> {
    prop_oneof![
        8 => (
            any::<Index>(),
            prop::collection::vec(tree_op(), 0..4),
            any::<bool>(),
            prop_oneof![
                3 => Just(Vec::new()),
                2 => prop::collection::vec(byte_op(), 1..4),
            ],
        )
            .prop_map(|(spec, tree_ops, as_json, byte_ops)| Case::Mutated {
                spec,
                tree_ops,
                as_json,
                byte_ops,
            }),
        2 => (
            prop_oneof![1usize..300, 300usize..20_000],
            nest(),
            place(),
        )
            .prop_map(|(depth, nest, place)| Case::Deep { depth, nest, place }),
    ]
}

/// Every node of the tree, as a JSON pointer (the root excluded), with its key if it has one.
fn nodes(v: &Value, at: &str, out: &mut Vec<(String, Option<String>)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{at}/{}", gw::control::import::escape_pointer(k));
                out.push((p.clone(), Some(k.clone())));
                nodes(child, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push((p.clone(), None));
                nodes(child, &p, out);
            }
        }
        _ => {}
    }
}

/// A random node, biased towards the keys the importer reads.
fn pick(tree: &Value, rng: &mut SmallRng) -> Option<String> {
    let mut all = Vec::new();
    nodes(tree, "", &mut all);
    if all.is_empty() {
        return None;
    }
    if rng.random_bool(0.6) {
        let hot: Vec<&(String, Option<String>)> = all
            .iter()
            .filter(|(_, k)| k.as_deref().is_some_and(|k| INTERESTING.contains(&k)))
            .collect();
        if !hot.is_empty() {
            return Some(hot[rng.random_range(0..hot.len())].0.clone());
        }
    }
    Some(all[rng.random_range(0..all.len())].0.clone())
}

fn split_pointer(p: &str) -> (&str, String) {
    let i = p.rfind('/').unwrap();
    (&p[..i], p[i + 1..].replace("~1", "/").replace("~0", "~"))
}

fn odd_value(rng: &mut SmallRng, not_like: Option<&Value>) -> Value {
    let menu = [
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(49),
        json!(29001),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1.5e308),
        json!(-0.0),
        json!(""),
        json!(" "),
        json!("x"),
        json!("{proxy+}"),
        json!("/a/{b}/{c+}/d"),
        json!("${stageVariables.}"),
        json!("${AWS::Region}"),
        json!("http://"),
        json!("%zz%ff%00"),
        json!("\u{0}\u{feff}\u{10ffff}"),
        json!("#/nowhere/at/all"),
        json!("#"),
        json!([]),
        json!({}),
        json!([1, "a", null, {}]),
        json!({"$ref": "#/paths"}),
        json!({"$ref": "#/components/x-amazon-apigateway-integrations/missing"}),
        json!({"Fn::Sub": ["a", {"b": 1}]}),
        json!({"type": 7, "uri": [], "statusCode": {}}),
        json!({"type": "http_proxy"}),
        json!({"type": "mock", "responses": {"default": {"statusCode": "abc"}}}),
        json!({"name": "p", "in": "path"}),
    ];
    for _ in 0..8 {
        let v = menu[rng.random_range(0..menu.len())].clone();
        let same_kind =
            not_like.is_some_and(|o| std::mem::discriminant(o) == std::mem::discriminant(&v));
        if !same_kind {
            return v;
        }
    }
    Value::Null
}

fn huge_string(rng: &mut SmallRng, len: usize) -> String {
    let units = [
        "a",
        "{",
        "}",
        "/",
        "%",
        "é",
        "\u{1F600}",
        " ",
        "\n",
        "\"",
        "$",
        ":",
        "+",
    ];
    let pattern: String = (0..64)
        .map(|_| units[rng.random_range(0..units.len())])
        .collect();
    let mut s = String::with_capacity(len + 64);
    while s.len() < len {
        s.push_str(&pattern);
    }
    // Keep it valid UTF-8 when cutting.
    let mut cut = len.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

fn apply_tree_op(tree: &mut Value, op: &TreeOp) {
    let seed = match op {
        TreeOp::Delete(s) | TreeOp::WrongType(s) | TreeOp::Graft(s) => *s,
        TreeOp::Huge { seed, .. } => *seed,
    };
    let mut rng = SmallRng::seed_from_u64(seed);
    match op {
        TreeOp::Delete(_) => {
            let Some(p) = pick(tree, &mut rng) else {
                return;
            };
            let (parent, key) = split_pointer(&p);
            match tree.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&key);
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                }
                _ => {}
            }
        }
        TreeOp::WrongType(_) => {
            let Some(p) = pick(tree, &mut rng) else {
                return;
            };
            if let Some(slot) = tree.pointer_mut(&p) {
                let v = odd_value(&mut rng, Some(slot));
                *slot = v;
            }
        }
        TreeOp::Graft(_) => {
            let mut maps = Vec::new();
            let mut all = Vec::new();
            nodes(tree, "", &mut all);
            maps.push(String::new());
            for (p, _) in all {
                if tree.pointer(&p).is_some_and(Value::is_object) {
                    maps.push(p);
                }
            }
            let at = maps[rng.random_range(0..maps.len())].clone();
            let key = INTERESTING[rng.random_range(0..INTERESTING.len())].to_string();
            let v = odd_value(&mut rng, None);
            if let Some(Value::Object(m)) = tree.pointer_mut(&at) {
                m.insert(key, v);
            }
        }
        TreeOp::Huge { len, .. } => {
            let s = huge_string(&mut rng, *len);
            match rng.random_range(0..4) {
                // A path of one huge segment (or many, with the '/' in the pattern).
                0 => {
                    if let Some(Value::Object(paths)) = tree.get_mut("paths") {
                        let item =
                            json!({"get": {"x-amazon-apigateway-integration": {"type": "mock"}}});
                        paths.insert(format!("/{s}"), item);
                    }
                }
                // A huge key somewhere.
                1 => {
                    if let Value::Object(m) = tree {
                        m.insert(s, json!(1));
                    }
                }
                // A huge value at a random place.
                _ => {
                    if let Some(p) = pick(tree, &mut rng) {
                        if let Some(slot) = tree.pointer_mut(&p) {
                            *slot = Value::String(s);
                        }
                    }
                }
            }
        }
    }
}

fn apply_byte_op(bytes: &mut Vec<u8>, op: &ByteOp) {
    if bytes.is_empty() {
        return;
    }
    match op {
        ByteOp::Flip(i, mask) => {
            let i = i.index(bytes.len());
            bytes[i] ^= mask;
        }
        ByteOp::Truncate(i) => {
            let i = i.index(bytes.len());
            bytes.truncate(i);
        }
        ByteOp::Splice(i, b) => {
            let i = i.index(bytes.len() + 1);
            bytes.splice(i..i, b.iter().copied());
        }
        ByteOp::Duplicate(a, b, c) => {
            let (x, y) = (a.index(bytes.len()), b.index(bytes.len()));
            let (from, to) = (x.min(y), x.max(y).min(x.min(y) + 4096));
            let slice = bytes[from..to].to_vec();
            let at = c.index(bytes.len() + 1);
            bytes.splice(at..at, slice);
        }
    }
}

/// A document nested `depth` levels deep at `place`.
fn deep_document(depth: usize, nest: Nest, place: Place) -> Vec<u8> {
    let yaml_style = matches!(
        nest,
        Nest::YamlFlowList | Nest::YamlFlowMap | Nest::YamlBlockList | Nest::YamlBlockMap
    );
    // The nested value, as text, for the given indentation (block styles only).
    let nested = |indent: usize| -> String {
        match nest {
            Nest::JsonList | Nest::YamlFlowList => "[".repeat(depth) + &"]".repeat(depth),
            Nest::JsonMap | Nest::YamlFlowMap => "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth),
            Nest::Mixed => {
                let mut open = String::new();
                let mut closers = Vec::with_capacity(depth);
                for i in 0..depth {
                    if i % 2 == 0 {
                        open.push_str("[{\"k\":");
                        closers.push("}]");
                    } else {
                        open.push('[');
                        closers.push("]");
                    }
                }
                closers.reverse();
                open + "null" + &closers.concat()
            }
            // `- - - - x`: nested sequences on one line.
            Nest::YamlBlockList => {
                "\n".to_string() + &" ".repeat(indent) + &"- ".repeat(depth) + "x"
            }
            // a:\n  a:\n    a: ... (quadratic in depth, so capped).
            Nest::YamlBlockMap => {
                let depth = depth.min(1_500);
                let mut s = String::new();
                for i in 0..depth {
                    s.push('\n');
                    s.push_str(&" ".repeat(indent + i));
                    s.push_str("a:");
                }
                s.push_str(" 1");
                s
            }
        }
    };
    if !yaml_style && !matches!(nest, Nest::Mixed)
        || (matches!(nest, Nest::Mixed) && depth.is_multiple_of(2))
    {
        // JSON documents.
        let v = nested(0);
        let doc = match place {
            Place::Root => v,
            Place::Paths => {
                format!(r#"{{"openapi":"3.0.1","info":{{"title":"t","version":"1"}},"paths":{v}}}"#)
            }
            Place::Integration => format!(
                r#"{{"openapi":"3.0.1","info":{{"title":"t","version":"1"}},"paths":{{"/x":{{"get":{{"x-amazon-apigateway-integration":{v}}}}}}}}}"#
            ),
            Place::Extension => format!(
                r#"{{"swagger":"2.0","info":{{"title":"t","version":"1"}},"paths":{{"/x":{{"get":{{"x-deep":{v},"responses":{{}}}}}}}}}}"#
            ),
        };
        return doc.into_bytes();
    }
    let doc = match place {
        Place::Root => nested(0),
        Place::Paths => format!("openapi: 3.0.1\ninfo: {{title: t, version: '1'}}\npaths: {}", nested(2)),
        Place::Integration => format!(
            "openapi: 3.1.0\ninfo: {{title: t, version: '1'}}\npaths:\n  /x:\n    get:\n      x-amazon-apigateway-integration: {}",
            nested(8)
        ),
        Place::Extension => format!(
            "swagger: '2.0'\ninfo: {{title: t, version: '1'}}\npaths:\n  /x:\n    get:\n      x-deep: {}",
            nested(8)
        ),
    };
    doc.into_bytes()
}

fn materialise(case: &Case, corpus: &[Spec]) -> (String, Vec<u8>) {
    match case {
        Case::Mutated {
            spec,
            tree_ops,
            as_json,
            byte_ops,
        } => {
            let spec = &corpus[spec.index(corpus.len())];
            let mut bytes = if tree_ops.is_empty() {
                spec.bytes.clone()
            } else {
                let mut tree = spec.tree.clone();
                for op in tree_ops {
                    apply_tree_op(&mut tree, op);
                }
                if *as_json {
                    serde_json::to_vec_pretty(&tree).unwrap()
                } else {
                    serde_yaml::to_string(&tree).unwrap().into_bytes()
                }
            };
            for op in byte_ops {
                apply_byte_op(&mut bytes, op);
            }
            (spec.name.clone(), bytes)
        }
        Case::Deep { depth, nest, place } => (
            format!("deep-{depth}.spec"),
            deep_document(*depth, *nest, *place),
        ),
    }
}

mod hostile;
