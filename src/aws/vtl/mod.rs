//! API Gateway's mapping-template language: the subset of Apache Velocity (VTL) that API Gateway
//! templates use, with API Gateway's variables.
//!
//! - Text is copied; `##` line and `#* *#` block comments are dropped.
//! - References: `$x`, `$!x`, `${x}`, with properties (`$x.a`), calls (`$x.size()`) and indexes
//!   (`$x[0]`, `$x['k']`). An undefined reference renders empty.
//! - Directives: `#set($x = expr)`, `#if(expr)` / `#elseif(expr)` / `#else` / `#end`,
//!   `#foreach($x in expr)` … `#end` (with `$foreach.hasNext`, `$foreach.index`,
//!   `$foreach.count`, `$velocityCount`), and the braced forms `#{else}` / `#{end}`.
//! - Expressions: strings (`'raw'`, `"interpolated $x"`), numbers, `true` / `false` / `null`,
//!   lists `[a, b]`, ranges `[1..3]`, maps `{"k": v}`, `!` `&&` `||` (and `not` `and` `or`),
//!   comparisons (`==` `!=` `<` `<=` `>` `>=`, and `eq` `ne` `lt` `le` `gt` `ge`), `+ - * / %`.
//! - API Gateway's variables: `$input.body`, `$input.json(path)`, `$input.path(path)`,
//!   `$input.params()`, `$input.params(name)` (path, then query string, then header),
//!   `$context.*`, `$stageVariables.*`, `$util.escapeJavaScript / parseJson / urlEncode /
//!   urlDecode / base64Encode / base64Decode`. JSONPath: `$`, `.name`, `['name']`, `[n]`, `[*]`.
//!
//! Values are JSON values; a map or list renders as Java renders it (`{k=v}`, `[a, b]`). Evaluation is bounded (loop iterations
//! and output size), so no template can hang or exhaust a worker.
//!
//! The pieces: `parse` reads a template into the syntax tree of `ast`; `eval` renders the tree
//! against [`Bindings`], with the values and operators of `value` and the JSONPath of
//! `json_path`. This module holds the entry points, the bounds every rendering keeps, and the
//! per-thread cache of parsed templates.

mod ast;
mod eval;
mod json_path;
mod parse;
mod value;

use ast::Node;
use parse::parse;
use std::collections::{BTreeMap, HashMap};

/// Loop iterations allowed in one rendering (all `#foreach` together).
const MAX_ITERATIONS: usize = 100_000;
/// Output allowed from one rendering.
const MAX_OUTPUT: usize = 10 * 1024 * 1024;
/// Nesting allowed in one template (directives and expressions).
const MAX_DEPTH: usize = 64;
/// Work allowed in one rendering, in value nodes read (a string counts one per 64 bytes): what
/// bounds a template that copies ever larger values around.
const MAX_WORK: usize = 5_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VtlError {
    #[error("mapping template, at byte {at}: {message}")]
    Syntax { at: usize, message: String },
    #[error("mapping template: {0}")]
    Limit(&'static str),
}

/// What a template can refer to besides its own variables.
pub struct Bindings<'a> {
    /// `$input.body`: the payload the template maps.
    pub body: &'a str,
    /// Path parameters, query-string parameters (last value wins) and headers of the method request.
    pub path: &'a [(String, String)],
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
    /// `$context.NAME` (dotted names, e.g. `identity.sourceIp`, `authorizer.principalId`).
    pub context: &'a dyn Fn(&str) -> Option<String>,
    pub stage_variables: &'a BTreeMap<String, String>,
}

/// Parse and render `template`.
pub fn render(template: &str, bindings: &Bindings) -> Result<String, VtlError> {
    render_with_overrides(template, bindings).map(|(out, _)| out)
}

/// What a template asked to override with `#set($context.responseOverride.status = 400)`,
/// `#set($context.responseOverride.header.X = ...)`, `#set($context.requestOverride.header.X =
/// ...)`: keyed by the path after `$context.` (`responseOverride.status`,
/// `responseOverride.header.X`).
pub type Overrides = BTreeMap<String, String>;

/// [`render`], and the overrides the template set.
pub fn render_with_overrides(
    template: &str,
    bindings: &Bindings,
) -> Result<(String, Overrides), VtlError> {
    render_with_variables(template, bindings, HashMap::new())
}

/// [`render_with_overrides`] with variables already set (gw's aggregation gives `$calls`).
pub fn render_with_variables(
    template: &str,
    bindings: &Bindings,
    vars: HashMap<String, serde_json::Value>,
) -> Result<(String, Overrides), VtlError> {
    if is_literal(template) {
        return Ok((template.to_string(), Overrides::new()));
    }
    let nodes = parsed(template)?;
    eval::render(&nodes, bindings, template.len(), vars)
}

thread_local! {
    /// Templates parsed on this thread (they come from deployed APIs, so there are few; emptied
    /// if it ever grows past `MAX_CACHED`).
    static PARSED: std::cell::RefCell<HashMap<String, std::rc::Rc<Vec<Node>>>> = Default::default();
}
const MAX_CACHED: usize = 256;

fn parsed(template: &str) -> Result<std::rc::Rc<Vec<Node>>, VtlError> {
    if let Some(nodes) = PARSED.with(|c| c.borrow().get(template).cloned()) {
        return Ok(nodes);
    }
    let nodes = std::rc::Rc::new(parse(template)?);
    PARSED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_CACHED {
            c.clear();
        }
        c.insert(template.to_string(), nodes.clone());
    });
    Ok(nodes)
}

/// Whether `template` is plain text: nothing in it is VTL, it renders as itself.
/// The value a JSONPath (`$.a.b[0]`, as `$input.path` reads it) selects from `root`.
pub fn select_json(root: &serde_json::Value, path: &str) -> Option<serde_json::Value> {
    json_path::json_path(root, path)
}

pub fn is_literal(template: &str) -> bool {
    !template.contains(['$', '#', '\\'])
}

/// Whether `template` is valid VTL (as far as gw reads it).
pub fn check(template: &str) -> Result<(), VtlError> {
    parse(template).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn run(template: &str, body: &str) -> String {
        let path = vec![("id".to_string(), "42".to_string())];
        let query = vec![
            ("q".to_string(), "cats & dogs".to_string()),
            ("n".to_string(), "3".to_string()),
        ];
        let headers = vec![("X-Trace".to_string(), "t-1".to_string())];
        let vars = BTreeMap::from([("env".to_string(), "test".to_string())]);
        let context = |k: &str| match k {
            "requestId" => Some("r-1".to_string()),
            "identity.sourceIp" => Some("127.0.0.1".to_string()),
            _ => None,
        };
        let b = Bindings {
            body,
            path: &path,
            query: &query,
            headers: &headers,
            context: &context,
            stage_variables: &vars,
        };
        render(template, &b).unwrap_or_else(|e| panic!("{template}: {e}"))
    }

    #[test]
    fn to_json_writes_a_value_as_json() {
        assert_eq!(
            run(r#"#set($m = {"a": [1, "x"]})$util.toJson($m)|$m"#, ""),
            r#"{"a":[1,"x"]}|{a=[1, x]}"#
        );
    }

    #[test]
    fn collection_calls_change_the_variable_as_java_does() {
        assert_eq!(
            run(r#"#set($m = {})#set($old = $m.put("p", "q"))$m.p|$m"#, ""),
            "q|{p=q}"
        );
        assert_eq!(
            run(r#"#set($m = {"a": 1})$m.put("a", 2)|$m.a"#, ""),
            "1|2",
            "put answers the previous value"
        );
        assert_eq!(
            run(
                r#"#set($l = [])#set($ok = $l.add("a"))#set($ok = $l.add("b"))$l|$l.size()"#,
                ""
            ),
            "[a, b]|2"
        );
        assert_eq!(
            run(
                r#"#set($m = $input.path('$'))#set($x = $m.remove("a"))$x|$m"#,
                r#"{"a":1,"b":2}"#
            ),
            "1|{b=2}"
        );
        assert_eq!(
            run(r#"#set($m = {"in": []})#set($ok = $m.in.add(7))$m.in"#, ""),
            "[7]"
        );
        // Growth is bounded: doubling a list in a loop stops at the work limit.
        let b = Bindings {
            body: "",
            path: &[],
            query: &[],
            headers: &[],
            context: &|_: &str| None,
            stage_variables: &BTreeMap::new(),
        };
        assert!(render(
            r#"#set($l = [1])#foreach($i in [1..64])#set($ok = $l.addAll($l))#end$l.size()"#,
            &b
        )
        .is_err());
    }

    #[test]
    fn maps_are_set_by_key_and_render_as_java_does() {
        assert_eq!(
            run(r#"#set($m = {})#set($m.a = "x")#set($m.n = 2)$m.a|$m"#, ""),
            "x|{a=x, n=2}"
        );
        assert_eq!(
            run(r#"#set($m = {"k": "v"})#set($m["w"] = "z")$m.w|$m.k"#, ""),
            "z|v"
        );
        assert_eq!(
            run(
                "$input.path('$')|$input.json('$')",
                r#"{"foo":"bar","n":[1,2]}"#
            ),
            r#"{foo=bar, n=[1, 2]}|{"foo":"bar","n":[1,2]}"#
        );
    }

    #[test]
    fn references_and_api_gateway_variables() {
        assert_eq!(
            run("plain text, 5$ and # signs", ""),
            "plain text, 5$ and # signs"
        );
        assert_eq!(
            run(
                r#"{"id": "$input.params('id')", "q": "$input.params('q')", "trace": "$input.params('x-trace')"}"#,
                ""
            ),
            r#"{"id": "42", "q": "cats & dogs", "trace": "t-1"}"#
        );
        assert_eq!(
            run("$context.requestId from ${context.identity.sourceIp}", ""),
            "r-1 from 127.0.0.1"
        );
        assert_eq!(
            run("[$context.nothing][$!missing][$stageVariables.env]", ""),
            "[][][test]"
        );
        let body = r#"{"name": "Rex", "tags": ["a", "b"], "owner": {"email": "x@y"}}"#;
        assert_eq!(run("$input.path('$.name')", body), "Rex");
        assert_eq!(run("$input.json('$.tags')", body), r#"["a","b"]"#);
        assert_eq!(run("$input.json('$.owner')", body), r#"{"email":"x@y"}"#);
        assert_eq!(run("$input.json('$.missing')", body), "null");
        assert_eq!(run("$input.path('$.tags').size()", body), "2");
        assert_eq!(run("$input.path('$.tags[1]')", body), "b");
        assert_eq!(run(r#"$input.path("$['owner']['email']")"#, body), "x@y");
        assert_eq!(run("$input.path('$.owner.email')", body), "x@y");
        assert_eq!(run("$input.body", "raw text"), "raw text");
        assert_eq!(
            run("$input.json('$')", body),
            serde_json::from_str::<Value>(body).unwrap().to_string()
        );
        assert_eq!(run("$input.params().querystring.n", ""), "3");
        assert_eq!(run("$input.params().path.get('id')", ""), "42");
    }

    #[test]
    fn directives() {
        assert_eq!(
            run(
                "#set($x = 2)#if($x > 1)big#elseif($x == 1)one#{else}small#end",
                ""
            ),
            "big"
        );
        assert_eq!(
            run(
                "#if($input.params('q') == 'cats & dogs' && !$nope)yes#end",
                ""
            ),
            "yes"
        );
        assert_eq!(
            run(
                r##"[#foreach($t in $input.path('$.tags'))"$t"#if($foreach.hasNext),#end#end]"##,
                r#"{"tags": ["a", "b", "c"]}"#
            ),
            r#"["a","b","c"]"#
        );
        assert_eq!(run("#foreach($i in [1..3])$i#end", ""), "123");
        assert_eq!(
            run("#foreach($i in [3..1])$velocityCount:$i #end", ""),
            "1:3 2:2 3:1 "
        );
        assert_eq!(
            run(
                "#set($m = {\"a\": 1})#set($m.b = \"two $m.a\")$m.b $m.size()",
                ""
            ),
            "two 1 2"
        );
        assert_eq!(run("## a comment\n#* and\n a block *#text", ""), "\ntext");
        assert_eq!(
            run("#set($n = $input.params('n'))#set($t = $n * 2 + 1)$t", ""),
            "7"
        );
        assert_eq!(
            run(
                "#set($s = 'Ab')$s.toUpperCase()$s.length() $s.replace('b', 'c')",
                ""
            ),
            "AB2 Ac"
        );
        assert_eq!(
            run(
                r#"#set($p = $input.params())#foreach($k in $p.header.keySet())$k=$p.header.get($k)#end"#,
                ""
            ),
            "X-Trace=t-1"
        );
        assert_eq!(run("\\$notAReference \\#if", ""), "$notAReference #if");
    }

    /// The console's "Method Request passthrough" template, as API Gateway generates it.
    #[test]
    fn the_method_request_passthrough_template_makes_json() {
        let template = r##"##  See https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
#set($allParams = $input.params())
{
"body-json" : $input.json('$'),
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
},
"stage-variables" : {
#foreach($key in $stageVariables.keySet())
"$key" : "$util.escapeJavaScript($stageVariables.get($key))"
    #if($foreach.hasNext),#end
#end
},
"context" : {
    "api-id" : "$context.apiId",
    "request-id" : "$context.requestId",
    "source-ip" : "$context.identity.sourceIp"
    }
}
"##;
        for body in ["", r#"{"a": [1, 2]}"#] {
            let out = run(template, body);
            let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}:\n{out}"));
            assert_eq!(v["params"]["path"]["id"], "42");
            assert_eq!(v["params"]["querystring"]["q"], "cats & dogs");
            assert_eq!(v["params"]["header"]["X-Trace"], "t-1");
            assert_eq!(v["stage-variables"]["env"], "test");
            assert_eq!(v["context"]["request-id"], "r-1");
            let expected: Value = if body.is_empty() {
                serde_json::json!({})
            } else {
                serde_json::from_str(body).unwrap()
            };
            assert_eq!(v["body-json"], expected);
        }
    }

    #[test]
    fn util_functions() {
        assert_eq!(
            run(r#"$util.escapeJavaScript('a "q" / b')"#, ""),
            r#"a \"q\" \/ b"#
        );
        assert_eq!(
            run(r#"$util.escapeJavaScript("it''s ""x""")"#, ""),
            r#"it\'\'s \"x\""#
        );
        assert_eq!(run("$util.urlEncode('a b&c')", ""), "a+b%26c");
        assert_eq!(run("$util.urlDecode('a+b%26c')", ""), "a b&c");
        assert_eq!(
            run("$util.base64Encode('hi')|$util.base64Decode('aGk=')", ""),
            "aGk=|hi"
        );
        assert_eq!(run(r#"$util.parseJson('{"a": [1, 2]}').a.get(1)"#, ""), "2");
    }

    #[test]
    fn bad_templates_are_errors_not_panics() {
        let b = |t: &str| {
            let empty = BTreeMap::new();
            let context = |_: &str| None;
            render(
                t,
                &Bindings {
                    body: "",
                    path: &[],
                    query: &[],
                    headers: &[],
                    context: &context,
                    stage_variables: &empty,
                },
            )
        };
        for bad in [
            "#if($x)",
            "#end",
            "#foreach($x in [1])",
            "#set($x = )",
            "#set(x = 1)",
            "#* open",
            "${x",
            "#if($x == 'a)#end",
            "#macro(m)#end",
        ] {
            assert!(b(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            b("#foreach($i in [1..200000])#end"),
            Err(VtlError::Limit("a range of more than 100,000 numbers"))
        );
        let deep = "#if(true)".repeat(100) + &"#end".repeat(100);
        assert!(b(&deep).is_err());
        assert_eq!(b("$").as_deref(), Ok("$"));
        assert_eq!(b("#").as_deref(), Ok("#"));
        assert_eq!(b("$1.50").as_deref(), Ok("$1.50"));
    }
}
