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
//! Values are JSON values; a map or list renders as JSON. Evaluation is bounded (loop iterations
//! and output size), so no template can hang or exhaust a worker.

use serde_json::{Map, Number, Value};
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
    if is_literal(template) {
        return Ok((template.to_string(), Overrides::new()));
    }
    let nodes = parsed(template)?;
    let mut r = Renderer {
        b: bindings,
        vars: HashMap::new(),
        out: String::with_capacity(template.len()),
        iterations: 0,
        work: 0,
        parsed: None,
        overrides: Overrides::new(),
    };
    r.nodes(&nodes)?;
    Ok((r.out, r.overrides))
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
pub fn is_literal(template: &str) -> bool {
    !template.contains(['$', '#', '\\'])
}

/// Whether `template` is valid VTL (as far as gw reads it).
pub fn check(template: &str) -> Result<(), VtlError> {
    parse(template).map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Syntax

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    /// `$x`, `$!x` and `${x}` render alike: an undefined reference renders empty.
    Ref(Ref),
    Set {
        name: String,
        path: Vec<Part>,
        value: Expr,
    },
    If {
        arms: Vec<(Expr, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    Foreach {
        var: String,
        items: Expr,
        body: Vec<Node>,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Ref {
    root: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Prop(String),
    Call(String, Vec<Expr>),
    Index(Expr),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Lit(Value),
    Interpolated(Vec<Node>),
    Ref(Ref),
    List(Vec<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Map(Vec<(Expr, Expr)>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// How a block of nodes ended.
#[derive(Debug, PartialEq)]
enum BlockEnd {
    Eof,
    End,
    Else,
    ElseIf(Expr),
}

struct Parser<'t> {
    s: &'t str,
    pos: usize,
    depth: usize,
}

fn parse(template: &str) -> Result<Vec<Node>, VtlError> {
    let mut p = Parser {
        s: template,
        pos: 0,
        depth: 0,
    };
    let (nodes, end) = p.block()?;
    match end {
        BlockEnd::Eof => Ok(nodes),
        _ => Err(p.error("#end, #else or #elseif without an #if or #foreach")),
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

impl<'t> Parser<'t> {
    fn error(&self, message: impl Into<String>) -> VtlError {
        VtlError::Syntax {
            at: self.pos,
            message: message.into(),
        }
    }

    fn error_at(&self, at: usize, message: impl Into<String>) -> VtlError {
        VtlError::Syntax {
            at,
            message: message.into(),
        }
    }

    fn rest(&self) -> &'t str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, text: &str) -> bool {
        if self.rest().starts_with(text) {
            self.pos += text.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, text: &str) -> Result<(), VtlError> {
        if self.eat(text) {
            Ok(())
        } else {
            Err(self.error(format!("expected {text:?}")))
        }
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn deeper(&mut self) -> Result<(), VtlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        Ok(())
    }

    /// Nodes up to the end of the template or a block keyword.
    fn block(&mut self) -> Result<(Vec<Node>, BlockEnd), VtlError> {
        self.deeper()?;
        let mut nodes = Vec::new();
        let mut text = String::new();
        let flush = |text: &mut String, nodes: &mut Vec<Node>| {
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(text)));
            }
        };
        let end = loop {
            let Some(c) = self.peek() else {
                break BlockEnd::Eof;
            };
            match c {
                b'#' => {
                    if let Some(end) = self.directive(&mut nodes, &mut text)? {
                        break end;
                    }
                }
                b'$' => {
                    let start = self.pos;
                    match self.reference_node()? {
                        Some(node) => {
                            flush(&mut text, &mut nodes);
                            nodes.push(node);
                        }
                        None => {
                            self.pos = start + 1;
                            text.push('$');
                        }
                    }
                }
                b'\\' if self.rest()[1..].starts_with(['$', '#']) => {
                    // `\$x` and `\#set` are written as they are, without the backslash.
                    text.push(self.rest().as_bytes()[1] as char);
                    self.pos += 2;
                }
                _ => {
                    // Past this character (which may take several bytes), up to the next one that
                    // may start something.
                    let first = self.rest().chars().next().map_or(1, char::len_utf8);
                    let next = self.rest()[first..]
                        .find(['#', '$', '\\'])
                        .map_or(self.s.len(), |i| self.pos + first + i);
                    text.push_str(&self.s[self.pos..next]);
                    self.pos = next;
                }
            }
        };
        flush(&mut text, &mut nodes);
        self.depth -= 1;
        Ok((nodes, end))
    }

    /// At `#`: a comment, a directive (pushed, or the block end it is), or a literal `#`.
    fn directive(
        &mut self,
        nodes: &mut Vec<Node>,
        text: &mut String,
    ) -> Result<Option<BlockEnd>, VtlError> {
        if self.eat("##") {
            let end = self
                .rest()
                .find('\n')
                .map_or(self.s.len(), |i| self.pos + i);
            self.pos = end;
            return Ok(None);
        }
        if self.eat("#*") {
            let end = self
                .rest()
                .find("*#")
                .ok_or_else(|| self.error("a #* comment is not closed with *#"))?;
            self.pos += end + 2;
            return Ok(None);
        }
        let keyword = |p: &Parser, k: &str| {
            let r = p.rest();
            let braced = format!("#{{{k}}}");
            if r.starts_with(&braced) {
                return Some(braced.len());
            }
            let plain = format!("#{k}");
            (r.starts_with(&plain) && !r.as_bytes().get(plain.len()).is_some_and(|c| is_ident(*c)))
                .then_some(plain.len())
        };
        let push_text = |text: &mut String, nodes: &mut Vec<Node>| {
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(text)));
            }
        };
        if let Some(n) = keyword(self, "end") {
            self.pos += n;
            return Ok(Some(BlockEnd::End));
        }
        if let Some(n) = keyword(self, "elseif") {
            self.pos += n;
            let cond = self.condition()?;
            return Ok(Some(BlockEnd::ElseIf(cond)));
        }
        if let Some(n) = keyword(self, "else") {
            self.pos += n;
            return Ok(Some(BlockEnd::Else));
        }
        if let Some(n) = keyword(self, "set") {
            self.pos += n;
            self.skip_space();
            self.expect("(")?;
            self.skip_space();
            let target = self
                .reference()?
                .ok_or_else(|| self.error("#set needs a $variable to set"))?;
            self.skip_space();
            self.expect("=")?;
            let value = self.expr()?;
            self.skip_space();
            self.expect(")")?;
            push_text(text, nodes);
            nodes.push(Node::Set {
                name: target.root,
                path: target.parts,
                value,
            });
            return Ok(None);
        }
        if let Some(n) = keyword(self, "if") {
            let start = self.pos;
            self.pos += n;
            let mut cond = self.condition()?;
            let mut arms = Vec::new();
            let otherwise = loop {
                let (body, end) = self.block()?;
                arms.push((cond, body));
                match end {
                    BlockEnd::ElseIf(next) => cond = next,
                    BlockEnd::Else => {
                        let (body, end) = self.block()?;
                        if end != BlockEnd::End {
                            return Err(self.error_at(start, "#if … #else without #end"));
                        }
                        break body;
                    }
                    BlockEnd::End => break Vec::new(),
                    BlockEnd::Eof => return Err(self.error_at(start, "#if without #end")),
                }
            };
            push_text(text, nodes);
            nodes.push(Node::If { arms, otherwise });
            return Ok(None);
        }
        if let Some(n) = keyword(self, "foreach") {
            let start = self.pos;
            self.pos += n;
            self.skip_space();
            self.expect("(")?;
            self.skip_space();
            let var = self
                .reference()?
                .filter(|r| r.parts.is_empty())
                .ok_or_else(|| self.error("#foreach needs a $variable"))?;
            self.skip_space();
            self.expect("in")?;
            let items = self.expr()?;
            self.skip_space();
            self.expect(")")?;
            let (body, end) = self.block()?;
            if end != BlockEnd::End {
                return Err(self.error_at(start, "#foreach without #end"));
            }
            push_text(text, nodes);
            nodes.push(Node::Foreach {
                var: var.root,
                items,
                body,
            });
            return Ok(None);
        }
        for unsupported in [
            "macro", "define", "include", "parse", "evaluate", "stop", "break",
        ] {
            if keyword(self, unsupported).is_some() {
                return Err(self.error(format!(
                    "#{unsupported} is not supported in API Gateway mapping templates"
                )));
            }
        }
        self.pos += 1;
        text.push('#');
        Ok(None)
    }

    /// The text of a string literal up to its closing `quote` (a doubled quote is one quote, as
    /// in Velocity).
    fn quoted(&mut self, quote: char) -> Result<String, VtlError> {
        let mut out = String::new();
        loop {
            let Some(i) = self.rest().find(quote) else {
                return Err(self.error(format!("a {quote}...{quote} string is not closed")));
            };
            out.push_str(&self.rest()[..i]);
            self.pos += i + 1;
            if self.rest().starts_with(quote) {
                out.push(quote);
                self.pos += 1;
            } else {
                return Ok(out);
            }
        }
    }

    /// `( expr )` after `#if` / `#elseif`.
    fn condition(&mut self) -> Result<Expr, VtlError> {
        self.skip_space();
        self.expect("(")?;
        let e = self.expr()?;
        self.skip_space();
        self.expect(")")?;
        Ok(e)
    }

    /// At `$` in text: a reference node, or `None` when what follows is not one.
    fn reference_node(&mut self) -> Result<Option<Node>, VtlError> {
        Ok(self.reference()?.map(Node::Ref))
    }

    /// `$x…`, `$!x…`, `${x…}`; `None` (position unchanged) when `$` starts no reference.
    fn reference(&mut self) -> Result<Option<Ref>, VtlError> {
        let start = self.pos;
        if !self.eat("$") {
            return Ok(None);
        }
        self.eat("!");
        let braced = self.eat("{");
        let Some(root) = self.ident() else {
            self.pos = start;
            return Ok(None);
        };
        let mut parts = Vec::new();
        loop {
            let here = self.pos;
            if self.eat(".") {
                let Some(name) = self.ident() else {
                    self.pos = here;
                    break;
                };
                if self.peek() == Some(b'(') {
                    self.pos += 1;
                    let args = self.list_until(")")?;
                    parts.push(Part::Call(name, args));
                } else {
                    parts.push(Part::Prop(name));
                }
            } else if self.peek() == Some(b'[') {
                self.pos += 1;
                let index = self.expr()?;
                self.skip_space();
                self.expect("]")?;
                parts.push(Part::Index(index));
            } else {
                break;
            }
        }
        if braced {
            self.expect("}")?;
        }
        Ok(Some(Ref { root, parts }))
    }

    fn ident(&mut self) -> Option<String> {
        let bytes = self.s.as_bytes();
        if !bytes.get(self.pos).is_some_and(|c| is_ident_start(*c)) {
            return None;
        }
        let start = self.pos;
        while bytes.get(self.pos).is_some_and(|c| is_ident(*c)) {
            self.pos += 1;
        }
        // A trailing `-` belongs to the text (`$a-` is `$a` then `-`).
        while self.pos > start + 1 && bytes[self.pos - 1] == b'-' {
            self.pos -= 1;
        }
        Some(self.s[start..self.pos].to_string())
    }

    /// Comma-separated expressions up to `close`.
    fn list_until(&mut self, close: &str) -> Result<Vec<Expr>, VtlError> {
        let mut items = Vec::new();
        self.skip_space();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            self.skip_space();
            if self.eat(close) {
                return Ok(items);
            }
            self.expect(",")?;
        }
    }

    fn expr(&mut self) -> Result<Expr, VtlError> {
        self.deeper()?;
        let e = self.binary(0)?;
        self.depth -= 1;
        Ok(e)
    }

    fn operator(&mut self, level: usize) -> Option<Op> {
        self.skip_space();
        const LEVELS: [&[(&str, Op)]; 5] = [
            &[("||", Op::Or), ("or", Op::Or)],
            &[("&&", Op::And), ("and", Op::And)],
            &[
                ("==", Op::Eq),
                ("!=", Op::Ne),
                ("eq", Op::Eq),
                ("ne", Op::Ne),
            ],
            &[
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("<", Op::Lt),
                (">", Op::Gt),
                ("le", Op::Le),
                ("ge", Op::Ge),
                ("lt", Op::Lt),
                ("gt", Op::Gt),
            ],
            &[("+", Op::Add), ("-", Op::Sub)],
        ];
        const MUL: &[(&str, Op)] = &[("*", Op::Mul), ("/", Op::Div), ("%", Op::Rem)];
        let table = LEVELS.get(level).copied().unwrap_or(MUL);
        for (text, op) in table {
            if self.rest().starts_with(text) {
                let word = text.as_bytes()[0].is_ascii_alphabetic();
                let after = self.rest().as_bytes().get(text.len()).copied();
                if word && after.is_some_and(is_ident) {
                    continue;
                }
                self.pos += text.len();
                return Some(*op);
            }
        }
        None
    }

    fn binary(&mut self, level: usize) -> Result<Expr, VtlError> {
        if level > 5 {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        while let Some(op) = self.operator(level) {
            let right = self.binary(level + 1)?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, VtlError> {
        self.skip_space();
        if self.eat("!") {
            self.deeper()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        let r = self.rest();
        if r.starts_with("not") && !r.as_bytes().get(3).is_some_and(|c| is_ident(*c)) {
            self.pos += 3;
            self.deeper()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if self.peek() == Some(b'-') && !self.rest()[1..].starts_with(|c: char| c.is_ascii_digit())
        {
            self.pos += 1;
            self.deeper()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, VtlError> {
        self.skip_space();
        let Some(c) = self.peek() else {
            return Err(self.error("expected an expression"));
        };
        match c {
            b'(' => {
                self.pos += 1;
                let e = self.expr()?;
                self.skip_space();
                self.expect(")")?;
                Ok(e)
            }
            b'\'' | b'"' => {
                let quote = c as char;
                self.pos += 1;
                let inner = self.quoted(quote)?;
                if quote == '\'' || !inner.contains(['$', '#']) {
                    return Ok(Expr::Lit(Value::String(inner)));
                }
                let at = self.pos;
                let nodes = parse(&inner).map_err(|e| match e {
                    VtlError::Syntax { message, .. } => VtlError::Syntax { at, message },
                    other => other,
                })?;
                Ok(Expr::Interpolated(nodes))
            }
            b'[' => {
                self.pos += 1;
                self.skip_space();
                if self.eat("]") {
                    return Ok(Expr::List(Vec::new()));
                }
                let first = self.expr()?;
                self.skip_space();
                if self.eat("..") {
                    let last = self.expr()?;
                    self.skip_space();
                    self.expect("]")?;
                    return Ok(Expr::Range(Box::new(first), Box::new(last)));
                }
                let mut items = vec![first];
                loop {
                    self.skip_space();
                    if self.eat("]") {
                        return Ok(Expr::List(items));
                    }
                    self.expect(",")?;
                    items.push(self.expr()?);
                }
            }
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.skip_space();
                if self.eat("}") {
                    return Ok(Expr::Map(entries));
                }
                loop {
                    let k = self.expr()?;
                    self.skip_space();
                    self.expect(":")?;
                    let v = self.expr()?;
                    entries.push((k, v));
                    self.skip_space();
                    if self.eat("}") {
                        return Ok(Expr::Map(entries));
                    }
                    self.expect(",")?;
                }
            }
            b'$' => match self.reference()? {
                Some(r) => Ok(Expr::Ref(r)),
                None => Err(self.error("expected a reference after $")),
            },
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                self.pos += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                if self.peek() == Some(b'.')
                    && self.rest()[1..].starts_with(|c: char| c.is_ascii_digit())
                {
                    self.pos += 1;
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                }
                let text = &self.s[start..self.pos];
                let n = if text.contains('.') {
                    text.parse::<f64>().ok().and_then(Number::from_f64)
                } else {
                    text.parse::<i64>().ok().map(Number::from)
                };
                n.map(|n| Expr::Lit(Value::Number(n)))
                    .ok_or_else(|| self.error(format!("invalid number {text}")))
            }
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    let r = self.rest();
                    if r.starts_with(word)
                        && !r.as_bytes().get(word.len()).is_some_and(|c| is_ident(*c))
                    {
                        self.pos += word.len();
                        return Ok(Expr::Lit(v));
                    }
                }
                Err(self.error("expected an expression"))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

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

/// Values may nest this deep (as deep as JSON that serde_json reads), so dropping, comparing or
/// writing one never exhausts the stack.
const MAX_VALUE_DEPTH: usize = 128;

/// Whether `v` nests deeper than [`MAX_VALUE_DEPTH`].
fn too_deep(v: &Value) -> bool {
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        if d > MAX_VALUE_DEPTH {
            return true;
        }
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(m) => stack.extend(m.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    false
}

fn nested(v: Value) -> Result<Value, VtlError> {
    if too_deep(&v) {
        Err(VtlError::Limit("a value nested more than 128 deep"))
    } else {
        Ok(v)
    }
}

/// A value's size in work units, counted up to `cap`.
fn weight(v: &Value, cap: usize) -> usize {
    let mut total = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += match v {
            Value::String(s) => 1 + s.len() / 64,
            Value::Array(a) => {
                stack.extend(a.iter());
                1
            }
            Value::Object(m) => {
                stack.extend(m.values());
                1 + m.len()
            }
            _ => 1,
        };
        if total > cap {
            break;
        }
    }
    total
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        _ => true,
    }
}

/// How a value renders into text: strings as they are, everything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::Number(Number::from(x as i64))
    } else {
        Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(_), _) | (_, Value::Number(_)) => as_f64(a)?.partial_cmp(&as_f64(b)?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => compare(a, b) == Some(std::cmp::Ordering::Equal),
        // Velocity compares a string with anything else by their text.
        (Value::String(x), other) | (other, Value::String(x)) if !other.is_null() => {
            *x == text(other)
        }
        _ => a == b,
    }
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

fn index(v: &Value, key: &Value) -> Option<Value> {
    match (v, key) {
        (Value::Array(a), k) => {
            let i = as_f64(k)?;
            let i = if i < 0.0 { a.len() as f64 + i } else { i };
            a.get(i as usize).cloned()
        }
        (Value::Object(m), k) => m.get(&text(k)).cloned(),
        _ => None,
    }
}

fn binary(op: Op, a: &Value, b: &Value) -> Value {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => Value::Bool(equal(a, b)),
        Op::Ne => Value::Bool(!equal(a, b)),
        Op::Lt => Value::Bool(compare(a, b) == Some(Less)),
        Op::Le => Value::Bool(matches!(compare(a, b), Some(Less | Equal))),
        Op::Gt => Value::Bool(compare(a, b) == Some(Greater)),
        Op::Ge => Value::Bool(matches!(compare(a, b), Some(Greater | Equal))),
        Op::Add if a.is_string() || b.is_string() => {
            let (x, y) = (text(a), text(b));
            if x.len() + y.len() > MAX_OUTPUT {
                return Value::Null;
            }
            Value::String(x + &y)
        }
        _ => {
            let (Some(x), Some(y)) = (as_f64(a), as_f64(b)) else {
                return Value::Null;
            };
            let integers = a.as_i64().is_some() && b.as_i64().is_some();
            match op {
                Op::Add => number(x + y),
                Op::Sub => number(x - y),
                Op::Mul => number(x * y),
                Op::Div if y == 0.0 => Value::Null,
                Op::Div if integers => number((x / y).trunc()),
                Op::Div => number(x / y),
                Op::Rem if y == 0.0 => Value::Null,
                Op::Rem => number(x % y),
                _ => Value::Null,
            }
        }
    }
}

/// The Java methods templates call on strings, lists and maps.
fn method(v: &Value, name: &str, args: &[Value]) -> Option<Value> {
    let arg = |i: usize| args.get(i).map(text).unwrap_or_default();
    let int = |i: usize| args.get(i).and_then(as_f64).map(|x| x as i64);
    Some(match (v, name) {
        (Value::String(s), "length") => Value::from(s.chars().count()),
        (Value::String(s), "isEmpty") => Value::Bool(s.is_empty()),
        (Value::String(s), "toLowerCase") => Value::String(s.to_lowercase()),
        (Value::String(s), "toUpperCase") => Value::String(s.to_uppercase()),
        (Value::String(s), "trim") => Value::String(s.trim().to_string()),
        (Value::String(s), "contains") => Value::Bool(s.contains(&arg(0))),
        (Value::String(s), "startsWith") => Value::Bool(s.starts_with(&arg(0))),
        (Value::String(s), "endsWith") => Value::Bool(s.ends_with(&arg(0))),
        (Value::String(s), "equals") => Value::Bool(*s == arg(0)),
        (Value::String(s), "equalsIgnoreCase") => Value::Bool(s.eq_ignore_ascii_case(&arg(0))),
        (Value::String(s), "indexOf") => Value::from(
            s.find(&arg(0))
                .map_or(-1, |i| s[..i].chars().count() as i64),
        ),
        (Value::String(s), "replace") => {
            let (from, to) = (arg(0), arg(1));
            let times = if from.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(from.as_str()).count()
            };
            if s.len() + times.saturating_mul(to.len()) > MAX_OUTPUT {
                return None;
            }
            Value::String(s.replace(&from, &to))
        }
        (Value::String(s), "replaceAll") => {
            let re = regex::Regex::new(&arg(0)).ok()?;
            let times = re.find_iter(s).count();
            if s.len() + times.saturating_mul(arg(1).len()) > MAX_OUTPUT {
                return None;
            }
            Value::String(
                re.replace_all(s, arg(1).replace('$', "$$").as_str())
                    .into_owned(),
            )
        }
        (Value::String(s), "matches") => {
            let re = regex::Regex::new(&format!("^(?:{})$", arg(0))).ok()?;
            Value::Bool(re.is_match(s))
        }
        (Value::String(s), "split") => {
            let re = regex::Regex::new(&arg(0)).ok()?;
            Value::Array(re.split(s).map(|p| Value::String(p.to_string())).collect())
        }
        (Value::String(s), "substring") => {
            let chars: Vec<char> = s.chars().collect();
            let from = int(0)?.clamp(0, chars.len() as i64) as usize;
            let to = int(1)
                .unwrap_or(chars.len() as i64)
                .clamp(from as i64, chars.len() as i64) as usize;
            Value::String(chars[from..to].iter().collect())
        }
        (Value::String(s), "charAt") => {
            Value::String(s.chars().nth(usize::try_from(int(0)?).ok()?)?.to_string())
        }
        (Value::String(s), "toString") => Value::String(s.clone()),
        (Value::Array(a), "size") => Value::from(a.len()),
        (Value::Array(a), "isEmpty") => Value::Bool(a.is_empty()),
        (Value::Array(a), "get") => {
            index(v, args.first()?).unwrap_or_else(|| a.first().cloned().unwrap_or(Value::Null))
        }
        (Value::Array(a), "contains") => Value::Bool(
            a.iter()
                .any(|x| equal(x, args.first().unwrap_or(&Value::Null))),
        ),
        (Value::Object(m), "size") => Value::from(m.len()),
        (Value::Object(m), "isEmpty") => Value::Bool(m.is_empty()),
        (Value::Object(m), "get") => m.get(&arg(0)).cloned().unwrap_or(Value::Null),
        (Value::Object(m), "containsKey") => Value::Bool(m.contains_key(&arg(0))),
        (Value::Object(m), "keySet") => {
            Value::Array(m.keys().map(|k| Value::String(k.clone())).collect())
        }
        (Value::Object(m), "values") => Value::Array(m.values().cloned().collect()),
        (Value::Object(m), "entrySet") => Value::Array(
            m.iter()
                .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
                .collect(),
        ),
        (Value::Object(m), "put") => {
            // Maps are values here: `put` answers the previous value, as Java's does, but the
            // map itself is changed only through #set.
            m.get(&arg(0)).cloned().unwrap_or(Value::Null)
        }
        (other, "toString") => Value::String(text(other)),
        _ => return None,
    })
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

/// `$input.path` / `$input.json`: the value a JSONPath selects from the (parsed) body; `$`
/// alone is the whole body.
fn json_path(root: &Value, path: &str) -> Option<Value> {
    let path = path.trim();
    let mut rest = path.strip_prefix('$')?;
    let mut current = vec![root];
    let mut many = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("..") {
            // Recursive descent: the named member of every value below.
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            let mut found = Vec::new();
            for v in current {
                descend(v, name, &mut found);
            }
            current = found;
            many = true;
            rest = &r[end..];
            continue;
        }
        let (step, after) = if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            let step = if key == "*" {
                Step::All
            } else {
                Step::Key(key.to_string())
            };
            (step, &r[end..])
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            let step = if inner == "*" {
                Step::All
            } else if let Some(q) = inner
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
            {
                Step::Key(q.to_string())
            } else {
                Step::Index(inner.parse().ok()?)
            };
            (step, &r[end + 1..])
        } else {
            return None;
        };
        let mut next = Vec::new();
        for v in current {
            match (&step, v) {
                (Step::Key(k), Value::Object(m)) => next.extend(m.get(k)),
                (Step::Index(i), Value::Array(a)) => {
                    let i = if *i < 0 { a.len() as i64 + i } else { *i };
                    next.extend(usize::try_from(i).ok().and_then(|i| a.get(i)));
                }
                (Step::All, Value::Array(a)) => next.extend(a.iter()),
                (Step::All, Value::Object(m)) => next.extend(m.values()),
                _ => {}
            }
        }
        many |= matches!(step, Step::All);
        current = next;
        rest = after;
    }
    if many {
        Some(Value::Array(current.into_iter().cloned().collect()))
    } else {
        current.first().map(|v| (*v).clone())
    }
}

enum Step {
    Key(String),
    Index(i64),
    All,
}

fn descend<'v>(v: &'v Value, name: &str, found: &mut Vec<&'v Value>) {
    match v {
        Value::Object(m) => {
            if let Some(x) = m.get(name) {
                found.push(x);
            }
            for x in m.values() {
                descend(x, name, found);
            }
        }
        Value::Array(a) => {
            for x in a {
                descend(x, name, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
