//! [`Doc`] → [`RestApi`]: resources from paths, methods from operations, integrations, authorizers
//! and the top-level extensions, with AWS's defaults and a warning for everything kept but not
//! acted on.

use super::doc::{kind_of, resolve_ref, Doc, Op, Version};
use super::{escape_pointer, ImportError, Imported, Location, Warning};
use crate::aws::ids;
use crate::model::*;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

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
        resources: Vec::new(),
        authorizers: Vec::new(),
        request_validators: Vec::new(),
        gateway_responses: BTreeMap::new(),
        models: BTreeMap::new(),
    };
    let default_validator = top_level(&mut cx, doc, &mut api)?;
    let authorizers = authorizers(&mut cx, doc)?;
    // Only schemes with an `x-amazon-apigateway-authorizer` become authorizers; the placeholders
    // for plain API-key, IAM and foreign schemes stay in the index only.
    api.authorizers = authorizers
        .values()
        .filter(|(_, kind)| matches!(kind, SchemeAuth::Authorizer))
        .map(|(a, _)| a.clone())
        .collect();
    api.authorizers.sort_by(|a, b| a.name.cmp(&b.name));
    if doc.root_security {
        cx.warn(
            "/security",
            "a root-level `security` is not applied by API Gateway (nor by gw); put `security` on each operation that needs it",
        );
    }
    resources(
        &mut cx,
        doc,
        options,
        &mut api,
        &authorizers,
        default_validator.as_deref(),
    )?;
    collect_models(doc, &mut api);
    if options.fail_on_warnings && !cx.warnings.is_empty() {
        let n = cx.warnings.len();
        let first = &cx.warnings[0];
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
    api.warnings = cx.warnings.iter().map(ToString::to_string).collect();
    Ok(Imported {
        api,
        warnings: cx.warnings,
        title: doc.title.clone(),
    })
}

/// Root-level `x-amazon-apigateway-*` extensions. Returns the default request validator name.
fn top_level(cx: &mut Ctx, doc: &Doc, api: &mut RestApi) -> Result<Option<String>, ImportError> {
    let Some(root) = doc.root.as_object() else {
        return Ok(None);
    };
    let mut default_validator = None;
    for (key, value) in root {
        let Some(name) = key.strip_prefix(EXT) else {
            continue;
        };
        let ptr = format!("/{}", escape_pointer(key));
        match name {
            "api-key-source" => {
                let v = value.as_str().map(str::to_ascii_uppercase);
                match v.as_deref() {
                    Some("HEADER") | Some("AUTHORIZER") => api.api_key_source = v,
                    _ => {
                        return Err(cx.error(
                            &ptr,
                            format!("invalid API key source {value}"),
                            "use HEADER or AUTHORIZER",
                        ))
                    }
                }
            }
            "binary-media-types" => {
                api.binary_media_types = string_list(cx, &ptr, value)?;
            }
            "minimum-compression-size" => {
                match value.as_i64() {
                    Some(n) if (0..=10_485_760).contains(&n) => {
                        api.minimum_compression_size = Some(n)
                    }
                    _ => {
                        return Err(cx.error(
                            &ptr,
                            "Invalid minimum compression size, must be between 0 and 10485760",
                            "set an integer between 0 and 10485760",
                        ))
                    }
                }
                cx.warn(
                    &ptr,
                    "kept as minimumCompressionSize; gw does not compress responses",
                );
            }
            "endpoint-configuration" => endpoint_configuration(cx, &ptr, value, api),
            "policy" => {
                api.policy = Some(policy_text(value));
                cx.warn(
                    &ptr,
                    "kept as the resource policy; gw does not enforce resource policies",
                );
            }
            "gateway-responses" => api.gateway_responses = gateway_responses(cx, &ptr, value)?,
            "request-validators" => {
                let Some(map) = value.as_object() else {
                    return Err(cx.error(
                        &ptr,
                        format!("request validators are {}, not a mapping", kind_of(value)),
                        "write `name: {validateRequestBody: true, validateRequestParameters: true}`",
                    ));
                };
                for (vname, v) in map {
                    api.request_validators.push(RequestValidator {
                        id: ids::short(),
                        name: vname.clone(),
                        validate_request_body: v
                            .get("validateRequestBody")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                        validate_request_parameters: v
                            .get("validateRequestParameters")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    });
                }
            }
            "request-validator" => default_validator = value.as_str().map(str::to_string),
            "cors" => {
                api.cors_configuration = Some(value.clone());
            }
            "importexport-version" => {}
            "documentation" | "tag-value" => {
                cx.warn(&ptr, "ignored: gw does not use documentation parts or tags")
            }
            _ => cx.warn(&ptr, format!("unknown extension {key} ignored")),
        }
    }
    // OpenAPI 3: the endpoint configuration lives on a Server object.
    if doc.version != Version::Swagger2 {
        if let Some(servers) = root.get("servers").and_then(Value::as_array) {
            for (i, s) in servers.iter().enumerate() {
                if let Some(ec) = s.get("x-amazon-apigateway-endpoint-configuration") {
                    let ptr = format!("/servers/{i}/x-amazon-apigateway-endpoint-configuration");
                    endpoint_configuration(cx, &ptr, ec, api);
                }
            }
        }
    }
    if let Some(name) = &default_validator {
        if !api.request_validators.iter().any(|v| &v.name == name) {
            cx.warn(
                "/x-amazon-apigateway-request-validator",
                format!("names the request validator {name:?}, which x-amazon-apigateway-request-validators does not define"),
            );
        }
    }
    Ok(default_validator)
}

fn endpoint_configuration(cx: &mut Ctx, ptr: &str, value: &Value, api: &mut RestApi) {
    if let Some(b) = value
        .get("disableExecuteApiEndpoint")
        .and_then(Value::as_bool)
    {
        api.disable_execute_api_endpoint = b;
    }
    if let Some(ids) = value.get("vpcEndpointIds").and_then(Value::as_array) {
        api.endpoint_configuration.vpc_endpoint_ids = ids
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    cx.warn(
        ptr,
        "endpoint configuration kept; gw serves every API on its own listener",
    );
}

/// The policy as AWS stores it: a JSON string, with `execute-api:/*` resources left for the
/// caller to qualify once the API id is known.
fn policy_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn string_list(cx: &Ctx, ptr: &str, value: &Value) -> Result<Vec<String>, ImportError> {
    let Some(list) = value.as_array() else {
        return Err(cx.error(
            ptr,
            format!("expected a list of strings, found {}", kind_of(value)),
            "write a YAML/JSON list such as [\"application/octet-stream\", \"image/*\"]",
        ));
    };
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().map(str::to_string).ok_or_else(|| {
                cx.error(
                    &format!("{ptr}/{i}"),
                    format!("expected a string, found {}", kind_of(v)),
                    "quote the value",
                )
            })
        })
        .collect()
}

fn string_map(cx: &mut Ctx, ptr: &str, value: Option<&Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(value) = value else {
        return out;
    };
    let Some(map) = value.as_object() else {
        cx.warn(
            ptr,
            format!("expected a mapping, found {}; ignored", kind_of(value)),
        );
        return out;
    };
    for (k, v) in map {
        match v {
            Value::String(s) => {
                out.insert(k.clone(), s.clone());
            }
            Value::Number(_) | Value::Bool(_) => {
                out.insert(k.clone(), v.to_string());
            }
            _ => cx.warn(
                &format!("{ptr}/{}", escape_pointer(k)),
                format!(
                    "{} where a string belongs (a CloudFormation intrinsic?); ignored",
                    kind_of(v)
                ),
            ),
        }
    }
    out
}

fn gateway_responses(
    cx: &mut Ctx,
    ptr: &str,
    value: &Value,
) -> Result<BTreeMap<String, GatewayResponse>, ImportError> {
    let Some(map) = value.as_object() else {
        return Err(cx.error(
            ptr,
            format!("gateway responses are {}, not a mapping", kind_of(value)),
            "write `RESPONSE_TYPE: {statusCode: ..., responseParameters: ..., responseTemplates: ...}`",
        ));
    };
    let mut out = BTreeMap::new();
    for (kind, v) in map {
        let p = format!("{ptr}/{}", escape_pointer(kind));
        let kind = kind.to_ascii_uppercase();
        if !crate::aws::gateway_response::is_known_type(&kind) {
            cx.warn(
                &p,
                format!("unknown gateway response type {kind}; kept but never used"),
            );
        }
        out.insert(
            kind,
            GatewayResponse {
                status_code: status_text(v.get("statusCode")),
                response_parameters: string_map(
                    cx,
                    &format!("{p}/responseParameters"),
                    v.get("responseParameters"),
                ),
                response_templates: string_map(
                    cx,
                    &format!("{p}/responseTemplates"),
                    v.get("responseTemplates"),
                ),
            },
        );
    }
    Ok(out)
}

fn status_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

type AuthorizerIndex = HashMap<String, (Authorizer, SchemeAuth)>;

/// What naming a security scheme in an operation's `security` does to the method.
#[derive(Clone, Debug)]
enum SchemeAuth {
    Authorizer,
    Iam,
    ApiKey,
    Unsupported(String),
}

fn authorizers(cx: &mut Ctx, doc: &Doc) -> Result<AuthorizerIndex, ImportError> {
    let mut out = HashMap::new();
    for (name, scheme, ptr) in &doc.security_schemes {
        let scheme_type = scheme.get("type").and_then(Value::as_str).unwrap_or("");
        let authtype = scheme
            .get("x-amazon-apigateway-authtype")
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(ext) = scheme.get("x-amazon-apigateway-authorizer") else {
            let kind = if authtype
                .as_deref()
                .is_some_and(|t| t.to_ascii_lowercase().starts_with("aws"))
            {
                SchemeAuth::Iam
            } else if scheme_type == "apiKey"
                && scheme
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"))
            {
                SchemeAuth::ApiKey
            } else {
                SchemeAuth::Unsupported(scheme_type.to_string())
            };
            out.insert(name.clone(), (placeholder_authorizer(name), kind));
            continue;
        };
        let ext_ptr = format!("{ptr}/x-amazon-apigateway-authorizer");
        let kind = ext
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
            .ok_or_else(|| {
                cx.error(
                    &format!("{ext_ptr}/type"),
                    "the authorizer has no `type`",
                    "set type to token, request, cognito_user_pools or jwt",
                )
            })?;
        if !["TOKEN", "REQUEST", "COGNITO_USER_POOLS", "JWT"].contains(&kind.as_str()) {
            return Err(cx.error(
                &format!("{ext_ptr}/type"),
                format!("unknown authorizer type {kind:?}"),
                "use token, request, cognito_user_pools or jwt",
            ));
        }
        let authorizer_uri = text_or_intrinsic(
            cx,
            &format!("{ext_ptr}/authorizerUri"),
            ext.get("authorizerUri"),
        );
        let identity_source = ext
            .get("identitySource")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .or_else(|| {
                (kind == "TOKEN")
                    .then(|| scheme.get("name").and_then(Value::as_str))
                    .flatten()
                    .map(|h| format!("method.request.header.{h}"))
            });
        let mut extra = Map::new();
        for key in [
            "jwtConfiguration",
            "authorizerPayloadFormatVersion",
            "enableSimpleResponses",
        ] {
            if let Some(v) = ext.get(key) {
                extra.insert(key.to_string(), v.clone());
            }
        }
        let authorizer = Authorizer {
            id: ids::short(),
            name: name.clone(),
            kind: kind.clone(),
            auth_type: authtype,
            authorizer_uri,
            authorizer_credentials: text_or_intrinsic(
                cx,
                &format!("{ext_ptr}/authorizerCredentials"),
                ext.get("authorizerCredentials"),
            ),
            identity_source,
            identity_validation_expression: ext
                .get("identityValidationExpression")
                .and_then(Value::as_str)
                .map(str::to_string),
            authorizer_result_ttl_in_seconds: ext
                .get("authorizerResultTtlInSeconds")
                .and_then(Value::as_i64),
            provider_arns: ext
                .get("providerARNs")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            extra: (!extra.is_empty()).then_some(Value::Object(extra)),
        };
        if kind == "COGNITO_USER_POOLS" || kind == "JWT" {
            cx.warn(
                &ext_ptr,
                format!("authorizer {name} kept; gw runs TOKEN and REQUEST Lambda authorizers but does not check {kind} tokens, so its methods are served without authorization"),
            );
        }
        out.insert(name.clone(), (authorizer, SchemeAuth::Authorizer));
    }
    Ok(out)
}

/// Entry for a scheme without an authorizer; never stored in the API.
fn placeholder_authorizer(name: &str) -> Authorizer {
    Authorizer {
        id: String::new(),
        name: name.to_string(),
        kind: String::new(),
        auth_type: None,
        authorizer_uri: None,
        authorizer_credentials: None,
        identity_source: None,
        identity_validation_expression: None,
        authorizer_result_ttl_in_seconds: None,
        provider_arns: Vec::new(),
        extra: None,
    }
}

/// A string value, or the template of a CloudFormation intrinsic standing in for one (with a
/// warning). Placeholders `${...}` other than stage variables also warn.
fn text_or_intrinsic(cx: &mut Ctx, ptr: &str, v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => {
            if has_foreign_placeholder(s) {
                cx.warn(
                    ptr,
                    format!("{s:?} holds a ${{...}} placeholder that is not a stage variable; it is kept literally. Substitute it before import, or use ${{stageVariables.NAME}}"),
                );
            }
            Some(s.clone())
        }
        Value::Object(o) => {
            let (key, inner) = o.iter().next()?;
            let template = match inner {
                Value::String(s) => Some(s.clone()),
                Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
                _ => None,
            };
            cx.warn(
                ptr,
                format!("a CloudFormation intrinsic ({key}) stands where a string belongs; gw keeps its template text but cannot evaluate it. Put the resolved value in the spec (or use ${{stageVariables.NAME}})"),
            );
            if key == "Fn::Sub" {
                template
            } else {
                None
            }
        }
        other => Some(other.to_string()),
    }
}

fn has_foreign_placeholder(s: &str) -> bool {
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        if !after.starts_with("stageVariables.") {
            return true;
        }
        rest = after;
    }
    false
}

/// Check one path segment against AWS's rules; `Ok(kind)` for literal/param/greedy.
/// Whether `seg` may be one path segment of an API Gateway resource; the reason when not.
pub fn check_segment(seg: &str) -> Result<(), String> {
    if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        let name = inner.strip_suffix('+').unwrap_or(inner);
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(format!("path parameter {seg:?} has an invalid name"));
        }
        return Ok(());
    }
    if seg.contains('{') || seg.contains('}') {
        return Err(format!(
            "segment {seg:?} mixes a path parameter with text; a parameter must be a whole segment like /res/{{id}}"
        ));
    }
    if let Some(c) = seg
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-.,:$@=+~!*'()".contains(*c)))
    {
        return Err(format!("segment {seg:?} contains the character {c:?}"));
    }
    Ok(())
}

fn apply_basepath(path: &str, base: Option<&str>, mode: BasePathMode) -> String {
    let base = base.unwrap_or("").trim_end_matches('/');
    let prefix = match mode {
        BasePathMode::Ignore => "",
        BasePathMode::Prepend => base,
        BasePathMode::Split => {
            let trimmed = base.trim_start_matches('/');
            match trimmed.find('/') {
                Some(i) => &trimmed[i..],
                None => "",
            }
        }
    };
    let joined = format!("{prefix}{path}");
    if joined.is_empty() {
        "/".to_string()
    } else {
        joined
    }
}

fn normalize(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    format!("/{}", segs.join("/"))
}

fn resources(
    cx: &mut Ctx,
    doc: &Doc,
    options: &ImportOptions,
    api: &mut RestApi,
    authorizers: &AuthorizerIndex,
    default_validator: Option<&str>,
) -> Result<(), ImportError> {
    let mut index: HashMap<String, usize> = HashMap::new();
    api.resources.push(Resource {
        id: ids::short(),
        parent_id: None,
        path_part: None,
        path: "/".into(),
        resource_methods: BTreeMap::new(),
    });
    index.insert("/".into(), 0);
    for entry in &doc.paths {
        let path = normalize(&apply_basepath(
            &entry.path,
            doc.base_path.as_deref(),
            options.basepath,
        ));
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for (i, seg) in segs.iter().enumerate() {
            check_segment(seg).map_err(|problem| {
                cx.error(
                    &entry.pointer,
                    problem,
                    "API Gateway paths allow letters, digits, _ - . , : and whole-segment {param} or {proxy+}; rename the path",
                )
            })?;
            if seg.ends_with("+}") && i + 1 != segs.len() {
                return Err(cx.error(
                    &entry.pointer,
                    format!(
                        "Cannot create a child of a resource with a greedy path variable: {seg}"
                    ),
                    "a greedy {proxy+} segment must be the last one of its path",
                ));
            }
        }
        let mut parent = 0usize;
        let mut current = String::new();
        for seg in &segs {
            current.push('/');
            current.push_str(seg);
            parent = match index.get(&current) {
                Some(&i) => i,
                None => {
                    // Two differently named parameters at one level would make routing ambiguous.
                    let parent_path = api.resources[parent].path.clone();
                    if seg.starts_with('{') {
                        let clash = api.resources.iter().find(|r| {
                            r.parent_id.as_deref() == Some(api.resources[parent].id.as_str())
                                && r.path_part
                                    .as_deref()
                                    .is_some_and(|p| p.starts_with('{') && p != *seg)
                        });
                        if let Some(other) = clash {
                            return Err(cx.error(
                                &entry.pointer,
                                format!(
                                    "A sibling ({}) of this resource already has a variable path part -- only one is allowed (under {parent_path})",
                                    other.path_part.as_deref().unwrap_or("")
                                ),
                                "use one parameter name at each level of the path tree",
                            ));
                        }
                    }
                    let id = ids::short();
                    api.resources.push(Resource {
                        id,
                        parent_id: Some(api.resources[parent].id.clone()),
                        path_part: Some(seg.to_string()),
                        path: current.clone(),
                        resource_methods: BTreeMap::new(),
                    });
                    index.insert(current.clone(), api.resources.len() - 1);
                    api.resources.len() - 1
                }
            };
        }
        for op in &entry.ops {
            let method = method(cx, doc, op, api, authorizers, default_validator)?;
            api.resources[parent]
                .resource_methods
                .insert(op.method.clone(), method);
        }
    }
    api.resources.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(())
}

fn method(
    cx: &mut Ctx,
    doc: &Doc,
    op: &Op,
    api: &RestApi,
    authorizers: &AuthorizerIndex,
    default_validator: Option<&str>,
) -> Result<Method, ImportError> {
    let mut m = Method {
        http_method: op.method.clone(),
        authorization_type: "NONE".into(),
        authorizer_id: None,
        api_key_required: false,
        request_validator_id: None,
        operation_name: op.operation_id.clone(),
        request_parameters: BTreeMap::new(),
        method_responses: BTreeMap::new(),
        request_models: BTreeMap::new(),
        method_integration: None,
    };
    for p in &op.params {
        let loc = match p.location.as_str() {
            "path" => "path",
            "query" => "querystring",
            "header" => "header",
            _ => continue,
        };
        let required = p.required || loc == "path";
        m.request_parameters
            .insert(format!("method.request.{loc}.{}", p.name), required);
    }
    for code in &op.response_codes {
        if code.len() == 3 && code.chars().all(|c| c.is_ascii_digit()) {
            m.method_responses.insert(
                code.clone(),
                MethodResponse {
                    status_code: code.clone(),
                    response_parameters: BTreeMap::new(),
                },
            );
        }
    }
    for name in op.security.iter().flatten() {
        match authorizers.get(name) {
            Some((a, SchemeAuth::Authorizer)) => {
                m.authorization_type = match a.kind.as_str() {
                    "COGNITO_USER_POOLS" => "COGNITO_USER_POOLS".into(),
                    "JWT" => "JWT".into(),
                    _ => "CUSTOM".into(),
                };
                m.authorizer_id = Some(a.id.clone());
            }
            Some((_, SchemeAuth::Iam)) => m.authorization_type = "AWS_IAM".into(),
            Some((_, SchemeAuth::ApiKey)) => m.api_key_required = true,
            Some((_, SchemeAuth::Unsupported(kind))) => cx.warn(
                &format!("{}/security", op.pointer),
                format!(
                    "security scheme {name} (type {kind:?}) has no API Gateway meaning; ignored"
                ),
            ),
            None => cx.warn(
                &format!("{}/security", op.pointer),
                format!("security scheme {name} is not defined in the document; ignored"),
            ),
        }
    }
    let mut validator = default_validator.map(str::to_string);
    for (key, value) in &op.extensions {
        let Some(name) = key.strip_prefix(EXT) else {
            continue;
        };
        let ptr = format!("{}/{}", op.pointer, escape_pointer(key));
        match name {
            "integration" => {
                let (value, ptr) = match value.get("$ref").and_then(Value::as_str) {
                    Some(r) => match resolve_ref(doc.root, r) {
                        Some(v) => (v, r.trim_start_matches('#').to_string()),
                        None => {
                            return Err(cx.error(
                                &format!("{ptr}/$ref"),
                                format!("the reference {r:?} does not resolve"),
                                "point $ref at an integration under components/x-amazon-apigateway-integrations",
                            ))
                        }
                    },
                    None => (value, ptr),
                };
                m.method_integration = Some(integration(cx, &ptr, value)?);
            }
            "request-validator" => validator = value.as_str().map(str::to_string),
            "auth" => {
                let t = value.get("type").and_then(Value::as_str).unwrap_or("");
                if t.eq_ignore_ascii_case("aws_iam") {
                    m.authorization_type = "AWS_IAM".into();
                }
            }
            _ => cx.warn(
                &ptr,
                format!("unknown extension {key} on an operation ignored"),
            ),
        }
    }
    if let Some(vname) = validator {
        m.request_validator_id = api
            .request_validators
            .iter()
            .find(|v| v.name == vname)
            .map(|v| v.id.clone());
    }
    let validates_body = m.request_validator_id.as_deref().is_some_and(|id| {
        api.request_validators
            .iter()
            .any(|v| v.id == id && v.validate_request_body)
    });
    if validates_body {
        m.request_models = request_models(doc, op);
    }
    if m.method_integration.is_none() {
        cx.warn(
            &op.pointer,
            "no x-amazon-apigateway-integration: the route is listed, but calls to it answer 500 until an integration is added",
        );
    }
    Ok(m)
}

/// The name a `$ref` gives a model: `#/definitions/Pet` or `#/components/schemas/Pet` → `Pet`.
fn model_ref_name(reference: &str) -> Option<&str> {
    reference
        .strip_prefix("#/definitions/")
        .or_else(|| reference.strip_prefix("#/components/schemas/"))
        .filter(|n| !n.contains('/'))
}

/// Content type → model name of an operation's request body: the name a `$ref` schema points
/// at, or, for an inline schema, its JSON pointer in the document.
fn request_models(doc: &Doc, op: &Op) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(op_json) = doc.root.pointer(&op.pointer) else {
        return out;
    };
    let name_of = |schema: &Value, ptr: String| {
        schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(model_ref_name)
            .map(str::to_string)
            .unwrap_or(ptr)
    };
    match doc.version {
        Version::Swagger2 => {
            let params = op_json.get("parameters").and_then(Value::as_array);
            for (i, p) in params.into_iter().flatten().enumerate() {
                let (p, ptr) = match p.get("$ref").and_then(Value::as_str) {
                    Some(r) => match resolve_ref(doc.root, r) {
                        Some(v) => (v, r.trim_start_matches('#').to_string()),
                        None => continue,
                    },
                    None => (p, format!("{}/parameters/{i}", op.pointer)),
                };
                if p.get("in").and_then(Value::as_str) != Some("body") {
                    continue;
                }
                let Some(schema) = p.get("schema") else {
                    continue;
                };
                let types = op_json
                    .get("consumes")
                    .or_else(|| doc.root.get("consumes"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| vec!["application/json"]);
                let name = name_of(schema, format!("{ptr}/schema"));
                for t in types {
                    out.insert(t.to_ascii_lowercase(), name.clone());
                }
            }
        }
        Version::OpenApi30 | Version::OpenApi31 => {
            let Some(body) = op_json.get("requestBody") else {
                return out;
            };
            let (body, base) = match body.get("$ref").and_then(Value::as_str) {
                Some(r) => match resolve_ref(doc.root, r) {
                    Some(v) => (v, r.trim_start_matches('#').to_string()),
                    None => return out,
                },
                None => (body, format!("{}/requestBody", op.pointer)),
            };
            for (t, media) in body
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let Some(schema) = media.get("schema") else {
                    continue;
                };
                let ptr = format!("{base}/content/{}/schema", escape_pointer(t));
                out.insert(t.to_ascii_lowercase(), name_of(schema, ptr));
            }
        }
    }
    out
}

/// Fills `api.models` with the schemas the methods' request models name and every schema they
/// refer to (`#/definitions/X`, `#/components/schemas/X`), transitively.
fn collect_models(doc: &Doc, api: &mut RestApi) {
    let lookup = |name: &str| -> Option<&Value> {
        if name.starts_with('/') {
            return doc.root.pointer(name);
        }
        doc.root
            .get("definitions")
            .and_then(|d| d.get(name))
            .or_else(|| {
                doc.root
                    .pointer(&format!("/components/schemas/{}", escape_pointer(name)))
            })
    };
    let mut pending: Vec<String> = api
        .resources
        .iter()
        .flat_map(|r| r.resource_methods.values())
        .flat_map(|m| m.request_models.values().cloned())
        .collect();
    while let Some(name) = pending.pop() {
        if api.models.contains_key(&name) {
            continue;
        }
        let Some(schema) = lookup(&name) else {
            continue;
        };
        let mut refs = Vec::new();
        collect_refs(schema, &mut refs);
        pending.extend(refs);
        api.models.insert(name, schema.clone());
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("$ref", Value::String(r)) => {
                        if let Some(n) = model_ref_name(r) {
                            out.push(n.to_string());
                        }
                    }
                    _ => collect_refs(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

fn integration(cx: &mut Ctx, ptr: &str, v: &Value) -> Result<Integration, ImportError> {
    let Some(obj) = v.as_object() else {
        return Err(cx.error(
            ptr,
            format!("the integration is {}, not a mapping", kind_of(v)),
            "write the integration as a mapping with at least `type` (and `uri` for HTTP)",
        ));
    };
    let field = |k: &str| format!("{ptr}/{k}");
    let kind_text = obj.get("type").and_then(Value::as_str).ok_or_else(|| {
        cx.error(
            &field("type"),
            "the integration has no `type`",
            "set type to one of aws_proxy, http_proxy, http, mock, aws",
        )
    })?;
    let kind = IntegrationType::parse(kind_text).ok_or_else(|| {
        cx.error(
            &field("type"),
            format!("unknown integration type {kind_text:?}"),
            "use one of aws_proxy, http_proxy, http, mock, aws (any case)",
        )
    })?;
    let upper =
        |cx: &Ctx, k: &str, allowed: &[&str], default: &str| -> Result<String, ImportError> {
            match obj.get(k) {
                None => Ok(default.to_string()),
                Some(Value::String(s)) => {
                    let up = s.to_ascii_uppercase();
                    if allowed.contains(&up.as_str()) {
                        Ok(up)
                    } else {
                        Err(cx.error(
                            &field(k),
                            format!("invalid {k} {s:?}"),
                            format!("use one of {}", allowed.join(", ")),
                        ))
                    }
                }
                Some(other) => Err(cx.error(
                    &field(k),
                    format!("{k} is {}, not text", kind_of(other)),
                    format!("use one of {}", allowed.join(", ")),
                )),
            }
        };
    let passthrough_behavior = upper(
        cx,
        "passthroughBehavior",
        &["WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER"],
        "WHEN_NO_MATCH",
    )?;
    let connection_type = upper(cx, "connectionType", &["INTERNET", "VPC_LINK"], "INTERNET")?;
    let content_handling = match obj.get("contentHandling") {
        None => None,
        Some(_) => Some(upper(
            cx,
            "contentHandling",
            &["CONVERT_TO_BINARY", "CONVERT_TO_TEXT"],
            "",
        )?),
    };
    let timeout_in_millis = match obj.get("timeoutInMillis") {
        None => DEFAULT_TIMEOUT_MS,
        Some(t) => {
            let n = t
                .as_u64()
                .or_else(|| t.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| {
                    cx.error(
                        &field("timeoutInMillis"),
                        format!("timeoutInMillis is {t}, not a whole number of milliseconds"),
                        "set a number between 50 and 29000",
                    )
                })?;
            if n < 50 {
                return Err(cx.error(
                    &field("timeoutInMillis"),
                    format!("timeoutInMillis {n} is below API Gateway's minimum of 50"),
                    "set a number between 50 and 29000",
                ));
            }
            if n > 29_000 {
                cx.warn(
                    &field("timeoutInMillis"),
                    format!("{n} ms is above the default 29000 ms limit (allowed only for Regional and private APIs with a quota increase); gw uses it as given"),
                );
            }
            n
        }
    };
    let uri = text_or_intrinsic(cx, &field("uri"), obj.get("uri"));
    let is_http = matches!(kind, IntegrationType::Http | IntegrationType::HttpProxy);
    if is_http && obj.get("uri").is_none() {
        return Err(cx.error(
            ptr,
            format!("an {} integration needs a `uri`", kind.as_str()),
            "set uri to the backend URL, e.g. http://${stageVariables.backend}/pets/{id}",
        ));
    }
    if let (true, Some(u)) = (is_http, &uri) {
        if !u.starts_with("http://")
            && !u.starts_with("https://")
            && !u.starts_with("${stageVariables.")
        {
            cx.warn(
                &field("uri"),
                format!("{u:?} is not an http(s) URL; calls to it will fail with 500"),
            );
        }
    }
    if kind == IntegrationType::Aws {
        cx.warn(
            ptr,
            "AWS service integrations are kept but not emulated: calls to them answer 500",
        );
    }
    if kind == IntegrationType::AwsProxy {
        if let Some(u) = &uri {
            if !u.contains(":lambda:path/") {
                cx.warn(
                    &field("uri"),
                    "AWS_PROXY to a service other than Lambda is not emulated: calls answer 500",
                );
            } else if let Some(m) = obj.get("httpMethod").and_then(Value::as_str) {
                if !m.eq_ignore_ascii_case("POST") {
                    cx.warn(
                        &field("httpMethod"),
                        format!(
                            "Lambda is invoked with POST; with httpMethod {m} AWS fails every call to this method (gw runs the function anyway); set httpMethod: POST"
                        ),
                    );
                }
            }
        }
    }
    if connection_type == "VPC_LINK" {
        cx.warn(
            &field("connectionType"),
            "VPC links do not exist locally; gw calls the uri directly",
        );
    }
    let mut integration_responses = BTreeMap::new();
    if let Some(resp) = obj.get("responses") {
        let Some(map) = resp.as_object() else {
            return Err(cx.error(
                &field("responses"),
                format!("responses is {}, not a mapping", kind_of(resp)),
                "map a selection pattern (or `default`) to {statusCode: ...}",
            ));
        };
        for (pattern, r) in map {
            let p = format!("{}/{}", field("responses"), escape_pointer(pattern));
            let status_code = status_text(r.get("statusCode")).ok_or_else(|| {
                cx.error(
                    &format!("{p}/statusCode"),
                    "the integration response has no statusCode",
                    "add statusCode: \"200\" (a status the operation declares)",
                )
            })?;
            if pattern != "default" {
                if let Err(e) = regex::Regex::new(pattern) {
                    return Err(cx.error(
                        &p,
                        format!("invalid selection pattern: {e}"),
                        "write a valid regular expression, or `default`",
                    ));
                }
            }
            integration_responses.insert(
                pattern.clone(),
                IntegrationResponse {
                    status_code,
                    selection_pattern: (pattern != "default").then(|| pattern.clone()),
                    response_parameters: string_map(
                        cx,
                        &format!("{p}/responseParameters"),
                        r.get("responseParameters"),
                    ),
                    response_templates: string_map(
                        cx,
                        &format!("{p}/responseTemplates"),
                        r.get("responseTemplates"),
                    ),
                    content_handling: r
                        .get("contentHandling")
                        .and_then(Value::as_str)
                        .map(str::to_ascii_uppercase),
                },
            );
        }
    }
    let request_templates = string_map(cx, &field("requestTemplates"), obj.get("requestTemplates"));
    match kind {
        _ if request_templates.is_empty() => {}
        IntegrationType::Mock | IntegrationType::Http => {
            for (content_type, template) in &request_templates {
                if let Err(e) = crate::aws::vtl::check(template) {
                    cx.warn(
                        &format!(
                            "{}/{}",
                            field("requestTemplates"),
                            escape_pointer(content_type)
                        ),
                        format!("{e}; calls to this method answer 500 until it is fixed"),
                    );
                }
            }
        }
        IntegrationType::HttpProxy | IntegrationType::AwsProxy => cx.warn(
            &field("requestTemplates"),
            "mapping templates are ignored for proxy integrations, as on AWS",
        ),
        IntegrationType::Aws => {}
    }
    if matches!(kind, IntegrationType::Mock | IntegrationType::Http) {
        for (pattern, r) in &integration_responses {
            for (content_type, template) in &r.response_templates {
                if let Err(e) = crate::aws::vtl::check(template) {
                    cx.warn(
                        &format!(
                            "{}/{}/responseTemplates/{}",
                            field("responses"),
                            escape_pointer(pattern),
                            escape_pointer(content_type)
                        ),
                        format!(
                            "{e}; calls answered through this response get 500 until it is fixed"
                        ),
                    );
                }
            }
        }
    }
    for (k, name) in [
        ("credentials", "credentials"),
        ("cacheKeyParameters", "cache key parameters"),
        ("cacheNamespace", "cache namespace"),
        ("tlsConfig", "TLS configuration"),
        ("contentHandling", "content handling"),
    ] {
        if obj.contains_key(k) {
            cx.warn(&field(k), format!("{name} kept; gw does not act on it"));
        }
    }
    const KNOWN: [&str; 18] = [
        "type",
        "uri",
        "httpMethod",
        "requestParameters",
        "requestTemplates",
        "responses",
        "passthroughBehavior",
        "timeoutInMillis",
        "connectionType",
        "connectionId",
        "credentials",
        "contentHandling",
        "payloadFormatVersion",
        "cacheKeyParameters",
        "cacheNamespace",
        "tlsConfig",
        "integrationSubtype",
        "description",
    ];
    for k in obj.keys() {
        if !KNOWN.contains(&k.as_str()) {
            cx.warn(
                &field(&escape_pointer(k)),
                format!("unknown integration field {k} ignored"),
            );
        }
    }
    Ok(Integration {
        kind,
        uri,
        http_method: obj
            .get("httpMethod")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase),
        request_parameters: string_map(
            cx,
            &field("requestParameters"),
            obj.get("requestParameters"),
        ),
        request_templates,
        passthrough_behavior,
        timeout_in_millis,
        connection_type,
        connection_id: text_or_intrinsic(cx, &field("connectionId"), obj.get("connectionId")),
        credentials: obj
            .get("credentials")
            .and_then(Value::as_str)
            .map(str::to_string),
        content_handling,
        payload_format_version: match obj.get("payloadFormatVersion") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(format!("{:.1}", n.as_f64().unwrap_or(1.0))),
            _ => None,
        },
        cache_key_parameters: obj
            .get("cacheKeyParameters")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        cache_namespace: obj
            .get("cacheNamespace")
            .and_then(Value::as_str)
            .map(str::to_string),
        tls_config: obj.get("tlsConfig").cloned(),
        integration_subtype: obj
            .get("integrationSubtype")
            .and_then(Value::as_str)
            .map(str::to_string),
        integration_responses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basepath_modes_follow_aws() {
        assert_eq!(
            apply_basepath("/e", Some("/a/b/c"), BasePathMode::Ignore),
            "/e"
        );
        assert_eq!(
            apply_basepath("/e", Some("/a/b/c"), BasePathMode::Prepend),
            "/a/b/c/e"
        );
        assert_eq!(
            apply_basepath("/e", Some("/a/b/c"), BasePathMode::Split),
            "/b/c/e"
        );
        assert_eq!(apply_basepath("/e", None, BasePathMode::Prepend), "/e");
    }

    #[test]
    fn segments() {
        assert!(check_segment("{id}").is_ok());
        assert!(check_segment("{proxy+}").is_ok());
        assert!(check_segment("res{id}").is_err());
        assert!(check_segment("a b").is_err());
    }

    #[test]
    fn placeholders() {
        assert!(!has_foreign_placeholder("http://${stageVariables.host}/x"));
        assert!(has_foreign_placeholder("arn:${AWS::Region}:x"));
    }
}
