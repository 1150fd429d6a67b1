//! The parser: template text to the syntax tree of [`ast`](super::ast). One pass over the bytes,
//! no separate lexer: text is copied up to the next `#`, `$` or `\`, where a comment, directive or
//! reference may start (or not, and the character is text). Nesting is bounded by `MAX_DEPTH`,
//! so no template can exhaust the stack; every error names the byte it was found at.

use serde_json::{Number, Value};

use super::ast::{Expr, Node, Op, Part, Ref};
use super::{VtlError, MAX_DEPTH};

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

pub(super) fn parse(template: &str) -> Result<Vec<Node>, VtlError> {
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
