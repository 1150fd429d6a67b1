//! The evaluator: a parsed template rendered against [`Bindings`]. Directives (`#set`, `#if`,
//! `#foreach`), references and API Gateway's objects (`$input`, `$input.params()`, `$util`,
//! `$context`, `$stageVariables`), and the overrides a template sets on `$context`. This is where
//! a rendering's budgets are kept: loop iterations, output size and the work of copying values.

use serde_json::{Map, Value};
use std::collections::HashMap;

use super::ast::{Expr, Node, Op, Part, Ref};
use super::json_path::json_path;
use super::value::{as_f64, binary, index, method, nested, number, text, too_deep, truthy, weight};
use super::{Bindings, Overrides, VtlError, MAX_ITERATIONS, MAX_OUTPUT, MAX_WORK};

/// A reference's value: data, or one of API Gateway's objects.
#[derive(Debug, Clone)]
enum Val {
    Data(Value),
    Input,
    InputParams,
    Util,
    Context(String),
    StageVariables,
}

struct Renderer<'b, 'a> {
    b: &'b Bindings<'a>,
    vars: HashMap<String, Value>,
    out: String,
    iterations: usize,
    work: usize,
    /// `$input.body` parsed as JSON (its text when it is not JSON, `{}` when empty), on first use.
    parsed: Option<Value>,
    overrides: Overrides,
}

/// Renders `nodes` (a template of `len` bytes), answering the output and the overrides it set.
pub(super) fn render(
    nodes: &[Node],
    bindings: &Bindings,
    len: usize,
    vars: HashMap<String, Value>,
) -> Result<(String, Overrides), VtlError> {
    let mut r = Renderer {
        b: bindings,
        vars,
        out: String::with_capacity(len),
        iterations: 0,
        work: 0,
        parsed: None,
        overrides: Overrides::new(),
    };
    r.nodes(nodes)?;
    Ok((r.out, r.overrides))
}

impl Renderer<'_, '_> {
    fn emit(&mut self, s: &str) -> Result<(), VtlError> {
        if self.out.len() + s.len() > MAX_OUTPUT {
            return Err(VtlError::Limit("the output is larger than 10 MB"));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn nodes(&mut self, nodes: &[Node]) -> Result<(), VtlError> {
        for node in nodes {
            match node {
                Node::Text(t) => self.emit(t)?,
                Node::Ref(r) => match self.reference(r)? {
                    Some(Val::Data(v)) => self.emit(&text(&v))?,
                    Some(Val::Context(key)) => {
                        let v = self.context_value(&key).unwrap_or_default();
                        self.emit(&v)?
                    }
                    // An object on its own, or nothing: empty, as API Gateway renders an undefined reference.
                    _ => {}
                },
                Node::Set { name, path, value } => {
                    let v = self.data(value)?;
                    self.set(name, path, v)?;
                }
                Node::If { arms, otherwise } => {
                    let mut done = false;
                    for (cond, body) in arms {
                        if truthy(&self.data(cond)?) {
                            self.nodes(body)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        self.nodes(otherwise)?;
                    }
                }
                Node::Foreach { var, items, body } => {
                    let items: Vec<Value> = match self.data(items)? {
                        Value::Array(a) => a,
                        Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
                        Value::Null => Vec::new(),
                        other => vec![other],
                    };
                    let saved = (
                        self.vars.remove(var),
                        self.vars.remove("foreach"),
                        self.vars.remove("velocityCount"),
                    );
                    let n = items.len();
                    for (i, item) in items.into_iter().enumerate() {
                        self.iterations += 1;
                        if self.iterations > MAX_ITERATIONS {
                            return Err(VtlError::Limit("more than 100,000 loop iterations"));
                        }
                        self.vars.insert(var.clone(), item);
                        let mut f = Map::new();
                        f.insert("index".into(), Value::from(i));
                        f.insert("count".into(), Value::from(i + 1));
                        f.insert("hasNext".into(), Value::Bool(i + 1 < n));
                        f.insert("first".into(), Value::Bool(i == 0));
                        f.insert("last".into(), Value::Bool(i + 1 == n));
                        self.vars.insert("foreach".into(), Value::Object(f));
                        self.vars.insert("velocityCount".into(), Value::from(i + 1));
                        self.nodes(body)?;
                    }
                    for (k, v) in [
                        (var.as_str(), saved.0),
                        ("foreach", saved.1),
                        ("velocityCount", saved.2),
                    ] {
                        match v {
                            Some(v) => self.vars.insert(k.to_string(), v),
                            None => self.vars.remove(k),
                        };
                    }
                }
            }
        }
        Ok(())
    }

    /// `#set($a.b.c = v)`: sets a variable, or a key inside a map variable.
    fn set(&mut self, name: &str, path: &[Part], v: Value) -> Result<(), VtlError> {
        if path.is_empty() {
            self.vars.insert(name.to_string(), v);
            return Ok(());
        }
        let mut keys = Vec::new();
        for p in path {
            match p {
                Part::Prop(k) => keys.push(k.clone()),
                Part::Index(e) => keys.push(text(&self.data(e)?)),
                Part::Call(..) => return Ok(()),
            }
        }
        if name == "context" {
            let key = keys.join(".");
            if key.starts_with("responseOverride.") || key.starts_with("requestOverride.") {
                self.overrides.insert(key, text(&v));
            }
            return Ok(());
        }
        let mut slot = self
            .vars
            .entry(name.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        for k in &keys {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(m) = slot else {
                return Ok(());
            };
            slot = m.entry(k.clone()).or_insert(Value::Null);
        }
        *slot = v;
        if self.vars.get(name).is_some_and(too_deep) {
            self.vars.remove(name);
            return Err(VtlError::Limit("a value nested more than 128 deep"));
        }
        Ok(())
    }

    /// An expression's value as data (API Gateway's objects become their text or null).
    fn data(&mut self, e: &Expr) -> Result<Value, VtlError> {
        Ok(match e {
            Expr::Lit(v) => v.clone(),
            Expr::Interpolated(nodes) => {
                let saved = std::mem::take(&mut self.out);
                let result = self.nodes(nodes);
                let rendered = std::mem::replace(&mut self.out, saved);
                result?;
                Value::String(rendered)
            }
            Expr::Ref(r) => match self.reference(r)? {
                Some(Val::Data(v)) => v,
                Some(Val::Context(key)) => {
                    self.context_value(&key).map_or(Value::Null, Value::String)
                }
                Some(Val::InputParams) => self.all_params(),
                _ => Value::Null,
            },
            Expr::List(items) => nested(Value::Array(
                items
                    .iter()
                    .map(|i| self.data(i))
                    .collect::<Result<_, _>>()?,
            ))?,
            Expr::Range(a, b) => {
                let (a, b) = (as_f64(&self.data(a)?), as_f64(&self.data(b)?));
                let (Some(a), Some(b)) = (a, b) else {
                    return Ok(Value::Array(Vec::new()));
                };
                let (a, b) = (a as i64, b as i64);
                if a.abs_diff(b) > MAX_ITERATIONS as u64 {
                    return Err(VtlError::Limit("a range of more than 100,000 numbers"));
                }
                if a <= b {
                    (a..=b).map(Value::from).collect()
                } else {
                    (b..=a).rev().map(Value::from).collect()
                }
            }
            Expr::Map(entries) => {
                let mut m = Map::new();
                for (k, v) in entries {
                    let k = text(&self.data(k)?);
                    let v = self.data(v)?;
                    m.insert(k, v);
                }
                nested(Value::Object(m))?
            }
            Expr::Not(e) => Value::Bool(!truthy(&self.data(e)?)),
            Expr::Neg(e) => as_f64(&self.data(e)?).map_or(Value::Null, |x| number(-x)),
            Expr::Bin(op, a, b) => {
                let a = self.data(a)?;
                match op {
                    Op::And => Value::Bool(truthy(&a) && truthy(&self.data(b)?)),
                    Op::Or => Value::Bool(truthy(&a) || truthy(&self.data(b)?)),
                    _ => {
                        let b = self.data(b)?;
                        binary(*op, &a, &b)
                    }
                }
            }
        })
    }

    fn reference(&mut self, r: &Ref) -> Result<Option<Val>, VtlError> {
        if let Some(done) = self.mutation(r)? {
            return Ok(done);
        }
        let mut cur = match r.root.as_str() {
            "input" => Val::Input,
            "util" => Val::Util,
            "context" => Val::Context(String::new()),
            "stageVariables" => Val::StageVariables,
            name => match self.vars.get(name) {
                Some(v) => {
                    self.work += weight(v, MAX_WORK.saturating_sub(self.work));
                    if self.work > MAX_WORK {
                        return Err(VtlError::Limit("the template copies too much data"));
                    }
                    Val::Data(v.clone())
                }
                None => return Ok(None),
            },
        };
        for part in &r.parts {
            let next = match part {
                Part::Prop(name) => self.property(cur, name),
                Part::Index(e) => {
                    let key = self.data(e)?;
                    match cur {
                        Val::Data(v) => index(&v, &key).map(Val::Data),
                        Val::Context(prefix) => Some(Val::Context(join(&prefix, &text(&key)))),
                        other => self.property(other, &text(&key)),
                    }
                }
                Part::Call(name, args) => {
                    let args = args
                        .iter()
                        .map(|a| self.data(a))
                        .collect::<Result<Vec<_>, _>>()?;
                    self.call(cur, name, &args)?
                }
            };
            match next {
                Some(v) => cur = v,
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// A Java collection's mutating call on a variable (`$map.put(k, v)`, `$map.putAll(m)`,
    /// `$map.remove(k)`, `$list.add(v)`, `$list.addAll(l)`, `$list.remove(i)`, `$list.set(i, v)`,
    /// `$x.clear()`), applied to the variable in place; `None` when `r` is not one. Answers what
    /// Java's method returns (`put` the previous value, `add` true, ...).
    fn mutation(&mut self, r: &Ref) -> Result<Option<Option<Val>>, VtlError> {
        const MUTATORS: &[&str] = &["put", "putAll", "remove", "add", "addAll", "set", "clear"];
        let Some((Part::Call(name, args), prefix)) = r.parts.split_last() else {
            return Ok(None);
        };
        if !MUTATORS.contains(&name.as_str()) || !self.vars.contains_key(&r.root) {
            return Ok(None);
        }
        let mut keys = Vec::with_capacity(prefix.len());
        for p in prefix {
            match p {
                Part::Prop(k) => keys.push(Value::String(k.clone())),
                Part::Index(e) => keys.push(self.data(e)?),
                Part::Call(..) => return Ok(None),
            }
        }
        let args = args
            .iter()
            .map(|a| self.data(a))
            .collect::<Result<Vec<_>, _>>()?;
        // What a call stores counts as work, so a template cannot grow a value without bound
        // (`$list.add($list)` in a loop doubles it).
        for a in &args {
            self.work += weight(a, MAX_WORK.saturating_sub(self.work));
            if self.work > MAX_WORK {
                return Err(VtlError::Limit("the template copies too much data"));
            }
        }
        let Some(mut slot) = self.vars.get_mut(&r.root) else {
            return Ok(None);
        };
        for k in &keys {
            let next = match (slot, k) {
                (Value::Object(m), k) => m.get_mut(&text(k)),
                (Value::Array(a), Value::Number(n)) => {
                    n.as_u64().and_then(|i| a.get_mut(usize::try_from(i).ok()?))
                }
                _ => None,
            };
            match next {
                Some(v) => slot = v,
                None => return Ok(Some(None)),
            }
        }
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        let index = |v: &Value, len: usize| {
            v.as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i < len)
        };
        let answer = match (slot, name.as_str()) {
            (Value::Object(m), "put") => m.insert(text(&arg(0)), arg(1)),
            (Value::Object(m), "putAll") => {
                if let Value::Object(other) = arg(0) {
                    m.extend(other);
                }
                None
            }
            (Value::Object(m), "remove") => m.remove(&text(&arg(0))),
            (Value::Object(m), "clear") => {
                m.clear();
                Some(Value::String(String::new()))
            }
            (Value::Array(a), "add") => {
                a.push(arg(0));
                Some(Value::Bool(true))
            }
            (Value::Array(a), "addAll") => {
                if let Value::Array(other) = arg(0) {
                    a.extend(other);
                }
                Some(Value::Bool(true))
            }
            (Value::Array(a), "remove") => index(&arg(0), a.len()).map(|i| a.remove(i)),
            (Value::Array(a), "set") => match index(&arg(0), a.len()) {
                Some(i) => Some(std::mem::replace(&mut a[i], arg(1))),
                None => None,
            },
            (Value::Array(a), "clear") => {
                a.clear();
                Some(Value::String(String::new()))
            }
            _ => return Ok(None),
        };
        if self.vars.get(&r.root).is_some_and(too_deep) {
            self.vars.remove(&r.root);
        }
        Ok(Some(answer.filter(|v| !v.is_null()).map(Val::Data)))
    }

    fn property(&self, cur: Val, name: &str) -> Option<Val> {
        match cur {
            Val::Data(v) => index(&v, &Value::String(name.to_string())).map(Val::Data),
            Val::Input => match name {
                "body" => Some(Val::Data(Value::String(self.b.body.to_string()))),
                _ => None,
            },
            Val::Context(prefix) => Some(Val::Context(join(&prefix, name))),
            Val::StageVariables => self
                .b
                .stage_variables
                .get(name)
                .map(|v| Val::Data(Value::String(v.clone()))),
            Val::InputParams => self.all_params().get(name).cloned().map(Val::Data),
            Val::Util => None,
        }
    }

    /// `$context.KEY`: an override this template set, else the request's value.
    fn context_value(&self, key: &str) -> Option<String> {
        self.overrides
            .get(key)
            .cloned()
            .or_else(|| (self.b.context)(key))
    }

    /// What a JSONPath selects from the body (parsed once per rendering), its size charged.
    fn select(&mut self, path: &str) -> Result<Option<Value>, VtlError> {
        let body = self.b.body;
        let root = self.parsed.get_or_insert_with(|| {
            if body.trim().is_empty() {
                // As API Gateway has it: no payload is an empty object.
                Value::Object(Map::new())
            } else {
                serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()))
            }
        });
        let selected = json_path(root, path);
        if let Some(v) = &selected {
            self.work += weight(v, MAX_WORK.saturating_sub(self.work));
            if self.work > MAX_WORK {
                return Err(VtlError::Limit("the template copies too much data"));
            }
        }
        Ok(selected)
    }

    fn all_params(&self) -> Value {
        let map = |pairs: &[(String, String)]| {
            Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        };
        let mut m = Map::new();
        m.insert("path".into(), map(self.b.path));
        m.insert("querystring".into(), map(self.b.query));
        m.insert("header".into(), map(self.b.headers));
        Value::Object(m)
    }

    fn param(&self, name: &str) -> Option<String> {
        let find = |pairs: &[(String, String)], ci: bool| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| {
                    if ci {
                        k.eq_ignore_ascii_case(name)
                    } else {
                        k == name
                    }
                })
                .map(|(_, v)| v.clone())
        };
        find(self.b.path, false)
            .or_else(|| find(self.b.query, false))
            .or_else(|| find(self.b.headers, true))
    }

    fn call(&mut self, cur: Val, name: &str, args: &[Value]) -> Result<Option<Val>, VtlError> {
        let arg = |i: usize| args.get(i).map(text).unwrap_or_default();
        Ok(match cur {
            Val::Input => match name {
                "params" if args.is_empty() => Some(Val::InputParams),
                "params" => Some(Val::Data(
                    self.param(&arg(0)).map_or(Value::Null, Value::String),
                )),
                "json" => {
                    let selected = self.select(&arg(0))?;
                    Some(Val::Data(Value::String(
                        selected.map_or_else(|| "null".to_string(), |v| v.to_string()),
                    )))
                }
                "path" => Some(Val::Data(self.select(&arg(0))?.unwrap_or(Value::Null))),
                _ => None,
            },
            Val::Util => Some(Val::Data(match name {
                "escapeJavaScript" => Value::String(escape_javascript(&arg(0))),
                "parseJson" => serde_json::from_str(&arg(0)).unwrap_or(Value::Null),
                // gw's (AppSync has it; API Gateway does not): a value as JSON text, how an
                // aggregate's response template writes `$calls.NAME.body` out whole.
                "toJson" => Value::String(args.first().unwrap_or(&Value::Null).to_string()),
                "urlEncode" => Value::String(
                    percent_encoding::utf8_percent_encode(
                        &arg(0),
                        percent_encoding::NON_ALPHANUMERIC,
                    )
                    .to_string()
                    .replace("%2D", "-")
                    .replace("%2E", ".")
                    .replace("%5F", "_")
                    .replace("%2A", "*")
                    .replace("%20", "+"),
                ),
                "urlDecode" => Value::String(
                    percent_encoding::percent_decode_str(&arg(0).replace('+', " "))
                        .decode_utf8_lossy()
                        .into_owned(),
                ),
                "base64Encode" => {
                    use base64::Engine;
                    Value::String(base64::engine::general_purpose::STANDARD.encode(arg(0)))
                }
                "base64Decode" => {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(arg(0).trim())
                        .ok()
                        .map_or(Value::Null, |b| {
                            Value::String(String::from_utf8_lossy(&b).into_owned())
                        })
                }
                _ => return Ok(None),
            })),
            Val::InputParams => match name {
                "get" => self.all_params().get(arg(0)).cloned().map(Val::Data),
                _ => method(&self.all_params(), name, args).map(Val::Data),
            },
            Val::Context(key) => {
                let v = self.context_value(&key).map_or(Value::Null, Value::String);
                method(&v, name, args).map(Val::Data)
            }
            Val::StageVariables => {
                let m: Map<String, Value> = self
                    .b
                    .stage_variables
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                method(&Value::Object(m), name, args).map(Val::Data)
            }
            Val::Data(v) => method(&v, name, args).map(Val::Data),
        })
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// `$util.escapeJavaScript`: a string made safe inside a JavaScript (and JSON) string literal.
fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}
