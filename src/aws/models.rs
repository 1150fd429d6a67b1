//! API models: JSON Schema draft 4 documents that may refer to each other, compiled as API
//! Gateway reads them (by the management API when a model is created, by the data plane's
//! request validation when a deployment is served).

/// Compiles one model (JSON Schema draft 4). References resolve inside one document that holds
/// every model (`models`: name → schema), under both spellings specs use (`#/definitions/X`,
/// `#/components/schemas/X`) and the URL form the management API uses
/// (`https://apigateway.amazonaws.com/restapis/ID/models/X`).
pub fn compile(
    schema: &serde_json::Value,
    models: &serde_json::Value,
) -> Result<jsonschema::Validator, String> {
    let mut root = serde_json::json!({
        "allOf": [schema],
        "definitions": models,
        "components": {"schemas": models},
    });
    local_refs(&mut root);
    jsonschema::draft4::new(&root).map_err(|e| e.to_string())
}

/// Rewrites `https://apigateway.amazonaws.com/restapis/ID/models/X` references to `#/definitions/X`.
fn local_refs(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                match child {
                    serde_json::Value::String(r) if k == "$ref" => {
                        if let Some(name) = r
                            .strip_prefix("https://apigateway.amazonaws.com/restapis/")
                            .and_then(|rest| rest.split_once("/models/"))
                            .map(|(_, name)| name.to_string())
                        {
                            *r = format!("#/definitions/{name}");
                        }
                    }
                    _ => local_refs(child),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(local_refs),
        _ => {}
    }
}
