//! [`Doc`] → [`RestApi`]: resources from paths, methods from operations, integrations, authorizers
//! and the top-level extensions, with AWS's defaults and a warning for everything kept but not
//! acted on.
//!
//! This module is the entry (`build`) and the assembly of the API from its parts; each part of
//! the document has a builder of its own, so that one extension's rules read in one place:
//! - `top_level`: the root-level `x-amazon-apigateway-*` extensions (API key source, binary
//!   media types, endpoint configuration, policy, gateway responses, request validators, CORS);
//! - `auth`: security schemes → authorizers, and what an operation's `security` does to its method;
//! - `resources`: paths → the resource tree (AWS's segment rules, `basepath`), operations → methods;
//! - `integration`: `x-amazon-apigateway-integration` → an [`Integration`];
//! - `models`: the request models a method validates against, and the schemas they refer to;
//! - `values`: reading the strings, lists and maps extensions hold (CloudFormation intrinsics
//!   included).
//!
//! Every builder reports through one `Ctx`: warnings in document order, errors located by
//! JSON pointer. The order in which the builders run is the order of the warnings.

mod auth;
mod integration;
mod models;
mod resources;
mod top_level;
mod values;

use super::doc::Doc;
use super::{ImportError, Imported, Location, Warning};
use crate::model::*;
use std::collections::BTreeMap;

pub use resources::check_segment;

/// AWS's `basepath` import parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BasePathMode {
    #[default]
    Ignore,
    Prepend,
    Split,
}

impl BasePathMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ignore" => Some(BasePathMode::Ignore),
            "prepend" => Some(BasePathMode::Prepend),
            "split" => Some(BasePathMode::Split),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub basepath: BasePathMode,
    pub fail_on_warnings: bool,
    /// `endpointConfigurationTypes` (default EDGE).
    pub endpoint_type: Option<String>,
}

const EXT: &str = "x-amazon-apigateway-";

struct Ctx<'a> {
    file: &'a str,
    warnings: Vec<Warning>,
}

impl Ctx<'_> {
    fn warn(&mut self, pointer: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            pointer: pointer.to_string(),
            message: message.into(),
            note: false,
        });
    }

    /// A note on what gw keeps but does not act on locally (see [`Warning::note`]).
    fn note(&mut self, pointer: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            pointer: pointer.to_string(),
            message: message.into(),
            note: true,
        });
    }

    fn error(
        &self,
        pointer: &str,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> ImportError {
        ImportError {
            file: self.file.to_string(),
            location: Location::Pointer(pointer.to_string()),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

pub(super) fn build(
    file: &str,
    doc: &Doc,
    options: &ImportOptions,
) -> Result<Imported, ImportError> {
    let mut cx = Ctx {
        file,
        warnings: doc.notes.clone(),
    };
    let mut api = RestApi {
        id: String::new(),
        name: doc.title.clone().unwrap_or_default(),
        description: doc.description.clone(),
        version: doc.api_version.clone(),
        created_date: 0,
        api_key_source: None,
        binary_media_types: Vec::new(),
        minimum_compression_size: None,
        endpoint_configuration: EndpointConfiguration {
            types: vec![options
                .endpoint_type
                .clone()
                .unwrap_or_else(|| "EDGE".to_string())],
            vpc_endpoint_ids: Vec::new(),
        },
        policy: None,
        disable_execute_api_endpoint: false,
        cors_configuration: None,
        warnings: Vec::new(),
        tags: BTreeMap::new(),
        resources: Vec::new(),
        authorizers: Vec::new(),
        request_validators: Vec::new(),
        gateway_responses: BTreeMap::new(),
        models: BTreeMap::new(),
        documentation: Default::default(),
    };
    let default_validator = top_level::top_level(&mut cx, doc, &mut api)?;
    let authorizers = auth::authorizers(&mut cx, doc)?;
    // Only schemes with an `x-amazon-apigateway-authorizer` become authorizers; the placeholders
    // for plain API-key, IAM and foreign schemes stay in the index only.
    api.authorizers = authorizers
        .values()
        .filter(|(_, kind)| matches!(kind, auth::SchemeAuth::Authorizer))
        .map(|(a, _)| a.clone())
        .collect();
    api.authorizers.sort_by(|a, b| a.name.cmp(&b.name));
    if doc.root_security {
        cx.warn(
            "/security",
            "a root-level `security` is not applied by API Gateway (nor by gw); put `security` on each operation that needs it",
        );
    }
    resources::resources(
        &mut cx,
        doc,
        options,
        &mut api,
        &authorizers,
        default_validator.as_deref(),
    )?;
    models::collect_models(doc, &mut api);
    let problems: Vec<&Warning> = cx.warnings.iter().filter(|w| !w.note).collect();
    if let (true, Some(first)) = (options.fail_on_warnings, problems.first()) {
        let n = problems.len();
        return Err(ImportError {
            file: file.to_string(),
            location: Location::Pointer(first.pointer.clone()),
            problem: format!(
                "{n} warning(s) with --fail-on-warnings, the first: {}",
                first.message
            ),
            fix: "fix the warnings, or import without --fail-on-warnings".into(),
        });
    }
    api.warnings = cx
        .warnings
        .iter()
        .filter(|w| !w.note)
        .map(ToString::to_string)
        .collect();
    Ok(Imported {
        api,
        warnings: cx.warnings,
        title: doc.title.clone(),
    })
}
