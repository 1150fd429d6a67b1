//! Property tests for mapping templates (`gw::aws::vtl`): templates assembled from VTL's pieces (and
//! arbitrary text), run on arbitrary bodies and parameters, always end in output or an error —
//! never a panic, a hang or unbounded memory — and text without `$`, `#` or `\` is copied as is.
//!
//! Short (CI):  cargo test --test prop_vtl
//! Long:        GW_LONG_TESTS=1 cargo test --test prop_vtl

use gw::aws::vtl::{render, Bindings};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::BTreeMap;

fn cases() -> u32 {
    if std::env::var("GW_LONG_TESTS").is_ok_and(|v| v == "1") {
        20_000
    } else {
        1_000
    }
}

/// Pieces of templates: directives, references, operators, literals, and stray characters
/// (multi-byte ones included), so that both valid and broken templates come up often.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("#set($x = ".to_string()),
        Just("#set($m.k = ".to_string()),
        Just("#if(".to_string()),
        Just("#elseif(".to_string()),
        Just("#else".to_string()),
        Just("#{else}".to_string()),
        Just("#end".to_string()),
        Just("#foreach($i in ".to_string()),
        Just(")".to_string()),
        Just("(".to_string()),
        Just("$x".to_string()),
        Just("$!x".to_string()),
        Just("${x}".to_string()),
        Just("$m".to_string()),
        Just("$i".to_string()),
        Just("$foreach.hasNext".to_string()),
        Just("$input.body".to_string()),
        Just("$input.json('$')".to_string()),
        Just("$input.path('$.a[0]')".to_string()),
        Just("$input.path('$..b')".to_string()),
        Just("$input.params()".to_string()),
        Just("$input.params('id')".to_string()),
        Just("$context.requestId".to_string()),
        Just("$stageVariables.v".to_string()),
        Just("$util.escapeJavaScript($x)".to_string()),
        Just("$util.parseJson($input.body)".to_string()),
        Just("$util.base64Decode($x)".to_string()),
        Just(".size()".to_string()),
        Just(".get(0)".to_string()),
        Just(".replace('a', 'bb')".to_string()),
        Just(".split(',')".to_string()),
        Just(".substring(1, 3)".to_string()),
        Just("[0]".to_string()),
        Just(" == ".to_string()),
        Just(" && ".to_string()),
        Just(" + ".to_string()),
        Just(" / ".to_string()),
        Just("!".to_string()),
        Just("[1..3]".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{\"k\": 1}".to_string()),
        Just("'s'".to_string()),
        Just("\"i $x\"".to_string()),
        Just("12".to_string()),
        Just("-3.5".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just("##c\n".to_string()),
        Just("#*".to_string()),
        Just("*#".to_string()),
        Just("\\$".to_string()),
        "[a-z é{},:\"'\\\\$#.]{0,4}",
    ]
}

fn template() -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 0..24).prop_map(|p| p.concat())
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(r#"{"a": [1, {"b": "x"}], "b": {"b": null}}"#.to_string()),
        Just("[[[[]]]]".to_string()),
        ".{0,40}",
    ]
}

fn run(template: &str, body: &str, param: &str) -> Result<String, gw::aws::vtl::VtlError> {
    let path = vec![("id".to_string(), param.to_string())];
    let query = vec![("q".to_string(), param.to_string())];
    let headers = vec![("X-H".to_string(), "h".to_string())];
    let vars = BTreeMap::from([("v".to_string(), param.to_string())]);
    let context = |k: &str| (k == "requestId").then(|| "r-1".to_string());
    render(
        template,
        &Bindings {
            body,
            path: &path,
            query: &query,
            headers: &headers,
            context: &context,
            stage_variables: &vars,
        },
    )
}

proptest! {
    #![proptest_config(Config { cases: cases(), ..Config::default() })]

    #[test]
    fn any_template_renders_or_fails_cleanly(t in template(), b in body(), p in ".{0,12}") {
        if let Ok(out) = run(&t, &b, &p) {
            prop_assert!(out.len() <= 10 * 1024 * 1024);
        }
    }

    #[test]
    fn plain_text_is_copied(t in "[^$#\\\\]{0,64}") {
        prop_assert_eq!(run(&t, "", "").unwrap(), t);
    }
}

#[test]
fn templates_that_grow_without_bound_are_stopped() {
    for t in [
        "#set($s = 'ab')#foreach($i in [1..60])#set($s = \"$s$s\")#end$s.length()",
        "#set($s = 'ab')#foreach($i in [1..60])#set($s = $s + $s)#end",
        "#set($l = [1])#foreach($i in [1..60])#set($l = [$l, $l])#end",
        "#set($l = [])#foreach($i in [1..100000])#set($l = [$l])#end",
        "#foreach($i in [1..100000])#foreach($j in [1..100000])#end#end",
        "#set($s = 'a')#foreach($i in [1..40])#set($s = $s.replace('a', 'aa'))#end$s.length()",
    ] {
        let started = std::time::Instant::now();
        let out = run(t, "", "");
        assert!(
            out.as_ref().map_or(true, |o| o.len() <= 10 * 1024 * 1024),
            "{t}: {} bytes",
            out.map(|o| o.len()).unwrap_or(0)
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{t} took {:?}",
            started.elapsed()
        );
    }
}
