//! The syntax tree of a mapping template: what [`parse`](mod@super::parse) makes of the text and
//! what [`eval`](super::eval) walks. Kept apart from both so that the evaluator depends on the
//! shape of a template, not on how it was read.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
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
pub(super) struct Ref {
    pub(super) root: String,
    pub(super) parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Part {
    Prop(String),
    Call(String, Vec<Expr>),
    Index(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
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
pub(super) enum Op {
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
