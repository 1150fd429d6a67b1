//! Hostile, deep and large inputs to the importer: errors, never panics or stack overflows.

use super::*;

#[test]
fn mutated_corpus_specs_never_panic_and_errors_are_located() {
    if common::skip_without_corpus() {
        return;
    }
    let corpus = corpus();
    // The unmutated corpus itself must import (or fail cleanly) too.
    for spec in &corpus {
        check_import(&spec.name, &spec.bytes, &ImportOptions::default()).unwrap();
    }
    let cases = if long() { 20_000 } else { 200 };
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    });
    let tried = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    let result = runner.run(&(case(), options()), |(case, options)| {
        tried.fetch_add(1, Ordering::Relaxed);
        let (file, bytes) = materialise(&case, &corpus);
        if check_import(&file, &bytes, &options)? {
            ok.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    let (tried, ok) = (tried.into_inner(), ok.into_inner());
    eprintln!(
        "prop_import: {tried} cases tried (incl. shrinking), {ok} imported, {} rejected with a located error, 0 panics",
        tried - ok
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(tried >= cases as usize);
}

/// The documented limits of the parsers: 10,000 and 100,000 levels of nesting, in each syntax
/// and place, are refused with a located error, never a stack overflow.
#[test]
fn very_deep_documents_are_errors_not_stack_overflows() {
    let depths: &[usize] = if long() {
        &[200, 1_000, 10_000, 100_000]
    } else {
        &[10_000]
    };
    let mut n = 0;
    for &depth in depths {
        for nest in [
            Nest::JsonList,
            Nest::JsonMap,
            Nest::YamlFlowList,
            Nest::YamlFlowMap,
            Nest::YamlBlockList,
            Nest::YamlBlockMap,
            Nest::Mixed,
        ] {
            for place in [
                Place::Root,
                Place::Paths,
                Place::Integration,
                Place::Extension,
            ] {
                let bytes = deep_document(depth, nest, place);
                let file = format!("deep-{depth}-{nest:?}-{place:?}");
                let imported = check_import(&file, &bytes, &ImportOptions::default())
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
                assert!(
                    !imported,
                    "{file}: a document nested {depth} deep was accepted"
                );
                n += 1;
            }
        }
    }
    eprintln!("deep documents: {n} refused cleanly");
}

/// YAML alias expansion ("billion laughs") and other resource bombs are refused or bounded.
#[test]
fn yaml_alias_bombs_are_refused() {
    let mut doc = String::from("openapi: 3.0.1\ninfo: {title: t, version: '1'}\nx-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let p = i - 1;
        doc.push_str(&format!(
            "x-a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    doc.push_str("paths: {}\n");
    let started = std::time::Instant::now();
    let imported = check_import("bomb.yaml", doc.as_bytes(), &ImportOptions::default()).unwrap();
    assert!(!imported, "a 10^12-element alias bomb was accepted");
    // Bound, not a benchmark: expansion would take hours.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// Hand-picked hostile inputs that random mutation reaches only rarely.
#[test]
fn hand_picked_hostile_inputs() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("bom only", "\u{feff}".into()),
        ("nul", vec![0]),
        ("invalid utf8", vec![b'o', b'p', 0xff, 0xfe, b'\n', 0xc3]),
        ("lone brace", b"{".to_vec()),
        ("json scalar", b"{\"openapi\": 3}".to_vec()),
        ("yaml scalar", b"3.0".to_vec()),
        ("yaml list", b"- openapi\n- paths".to_vec()),
        ("tab indent", b"openapi: 3.0.1\npaths:\n\t/x: {}".to_vec()),
        ("huge number", b"{\"openapi\": 1e999999, \"paths\": {}}".to_vec()),
        ("version list", b"openapi: [3.0.1]\npaths: {}".to_vec()),
        ("version map", b"swagger: {a: 1}\npaths: {}".to_vec()),
        ("paths list", b"openapi: 3.0.1\npaths: [a, b]".to_vec()),
        ("path not a map", b"openapi: 3.0.1\npaths: {/x: 5}".to_vec()),
        ("op not a map", b"openapi: 3.1.0\npaths: {/x: {get: 5}}".to_vec()),
        ("empty path", b"swagger: '2.0'\npaths: {'': {get: {}}}".to_vec()),
        ("slashes", b"swagger: '2.0'\npaths: {'////': {get: {}}}".to_vec()),
        ("braces", b"swagger: '2.0'\npaths: {'/{': {get: {}}, '/}{': {get: {}}, '/{}': {get: {}}, '/{+}': {get: {}}}".to_vec()),
        ("greedy middle", b"swagger: '2.0'\npaths: {'/{a+}/b': {get: {}}}".to_vec()),
        ("sibling params", b"swagger: '2.0'\npaths: {'/{a}': {get: {}}, '/{b}': {get: {}}, '/{c+}': {get: {}}}".to_vec()),
        ("unicode path", "swagger: '2.0'\npaths: {'/\u{e9}\u{1F600}': {get: {}}}".into()),
        ("self ref", b"openapi: 3.0.1\npaths: {/x: {get: {parameters: [{$ref: '#/paths/~1x/get/parameters/0'}], x-amazon-apigateway-integration: {$ref: '#/paths/~1x/get/x-amazon-apigateway-integration'}}}}".to_vec()),
        ("ref to root", b"swagger: '2.0'\npaths: {/x: {get: {parameters: [{$ref: '#'}], x-amazon-apigateway-integration: {$ref: '#'}}}}".to_vec()),
        ("bad timeout", b"swagger: '2.0'\npaths: {/x: {get: {x-amazon-apigateway-integration: {type: http, uri: 'http://a', timeoutInMillis: -1}}}}".to_vec()),
        ("float timeout", b"swagger: '2.0'\npaths: {/x: {get: {x-amazon-apigateway-integration: {type: http, uri: 'http://a', timeoutInMillis: 1.0e300}}}}".to_vec()),
        ("servers junk", b"openapi: 3.0.1\nservers: [{url: '://'}, 5]\npaths: {}".to_vec()),
        ("servers url only scheme", b"openapi: 3.0.1\nservers: [{url: 'http://'}]\npaths: {/x: {get: {}}}".to_vec()),
        ("basepath var", b"openapi: 3.0.1\nservers: [{url: x, variables: {basePath: {default: ''}}}]\npaths: {/x: {get: {}}}".to_vec()),
        ("yaml tags", b"openapi: !!binary aGVsbG8=\npaths: !!set {a, b}".to_vec()),
        ("yaml merge", b"openapi: 3.0.1\nx: &x {get: {}}\npaths: {/a: {<<: *x}}".to_vec()),
        ("duplicate keys", b"openapi: 3.0.1\npaths: {}\npaths: {}".to_vec()),
        ("many docs", b"openapi: 3.0.1\npaths: {}\n---\nopenapi: 3.0.1\n".to_vec()),
    ];
    let mut n = 0;
    for (name, bytes) in &cases {
        for basepath in [
            BasePathMode::Ignore,
            BasePathMode::Prepend,
            BasePathMode::Split,
        ] {
            for fail_on_warnings in [false, true] {
                let options = ImportOptions {
                    basepath,
                    fail_on_warnings,
                    endpoint_type: None,
                };
                check_import(name, bytes, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
                n += 1;
            }
        }
    }
    assert_eq!(n, cases.len() * 6);
}

/// The 4 MB spec (stripe), whole and cut at seeded offsets.
#[test]
fn large_spec_whole_and_truncated() {
    if common::skip_without_corpus() {
        return;
    }
    let path = common::corpus_dir().join("stripe-spec3-2023-09.yaml");
    let bytes = std::fs::read(&path).unwrap();
    check_import("stripe.yaml", &bytes, &ImportOptions::default()).unwrap();
    let cuts = if long() { 20 } else { 2 };
    let mut rng = SmallRng::seed_from_u64(0x0571_71be);
    for _ in 0..cuts {
        let at = rng.random_range(0..bytes.len());
        check_import("stripe.yaml", &bytes[..at], &ImportOptions::default())
            .unwrap_or_else(|e| panic!("cut at {at}: {e}"));
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x20;
        check_import("stripe.yaml", &flipped, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("flip at {at}: {e}"));
    }
}

/// libyaml's scanner is quadratic in flow nesting depth: 200,000 nested `{a: ...}` took about
/// two minutes before the importer refused deep brackets up front. Bound, generously: 20 s.
#[test]
fn deep_yaml_flow_nesting_is_refused_quickly() {
    for (open, close) in [("{a: ", "}"), ("[", "]"), ("{\"k\": [", "]}")] {
        let depth = 200_000;
        let doc = format!(
            "openapi: 3.0.1\npaths: {}1{}",
            open.repeat(depth),
            close.repeat(depth)
        );
        let started = std::time::Instant::now();
        let imported =
            check_import("flow.yaml", doc.as_bytes(), &ImportOptions::default()).unwrap();
        assert!(!imported);
        let err = import("flow.yaml", doc.as_bytes(), &ImportOptions::default()).unwrap_err();
        assert!(
            matches!(err.location, Location::Line { line: 2, .. }),
            "{err}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{open:?} x {depth}: {:?}",
            started.elapsed()
        );
    }
}
