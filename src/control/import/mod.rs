//! The importer: the only code that knows OpenAPI. It turns Swagger 2.0, OpenAPI 3.0.x and 3.1.x
//! documents (YAML or JSON) into the model, the way API Gateway's ImportRestApi does.
//!
//! Two readers reach one intermediate form (`doc::Doc`): OpenAPI 3.0 goes through the typed
//! `openapiv3` parser; Swagger 2.0 and OpenAPI 3.1 (whose schemas `openapiv3` cannot read) through a
//! tolerant walk of the JSON tree. `build` then makes the model from that form alone, so the
//! model never depends on which version came in.

mod build;
mod doc;
mod source;

use crate::model::RestApi;
use std::fmt;

pub use build::{check_segment, BasePathMode, ImportOptions};

/// Where in the input a problem is: a line (syntax errors) or a JSON pointer (everything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Line { line: usize, column: usize },
    Pointer(String),
    Document,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line { line, column } => write!(f, "line {line}, column {column}"),
            Location::Pointer(p) if p.is_empty() => write!(f, "at the document root"),
            Location::Pointer(p) => write!(f, "at {p}"),
            Location::Document => write!(f, "whole document"),
        }
    }
}

/// A spec that cannot be imported: the file, where, what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {location}: {problem}; {fix}")]
pub struct ImportError {
    pub file: String,
    pub location: Location,
    pub problem: String,
    pub fix: String,
}

/// Something gw kept but does not act on, or a value that will not work as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    /// JSON pointer into the document.
    pub pointer: String,
    pub message: String,
    /// gw's own note on what it keeps but does not act on locally (VPC links, resource policies,
    /// AWS services it does not emulate), not a problem AWS would warn about: it does not fail an
    /// import with `failonwarnings` and is not among the API's `warnings`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub note: bool,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// The result of reading a spec: the API it describes (id and name still to be settled by the
/// caller) and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Imported {
    pub api: RestApi,
    pub warnings: Vec<Warning>,
    /// `info.title`, if the document has one.
    pub title: Option<String>,
}

/// Read `bytes` (named `file` in messages) into an API.
pub fn import(file: &str, bytes: &[u8], options: &ImportOptions) -> Result<Imported, ImportError> {
    let value = source::parse(file, bytes)?;
    let doc = doc::Doc::read(file, &value)?;
    build::build(file, &doc, options)
}

/// Read `bytes` (JSON or YAML; named `file` in messages) as a document, without building it.
pub fn parse_document(file: &str, bytes: &[u8]) -> Result<serde_json::Value, ImportError> {
    source::parse(file, bytes)
}

/// JSON-pointer escaping of one reference token (`~` → `~0`, `/` → `~1`).
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
