//! An API's documentation parts and versions (`x-amazon-apigateway-documentation`).

use serde::{Deserialize, Serialize};

/// An API's documentation: its parts now, and the versions (named snapshots of the parts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Documentation {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<DocumentationPart>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<DocumentationVersion>,
}

impl Documentation {
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty() && self.versions.is_empty()
    }
}

/// One documentation part: where it applies and its properties (a JSON object, kept as text
/// as AWS keeps it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentationPart {
    pub id: String,
    pub location: DocumentationLocation,
    pub properties: String,
}

/// A documentation part's location, with AWS's defaults filled in (`path` `/`, `method` and
/// `statusCode` `*` where the type has them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentationLocation {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A documentation version: the parts as they were when it was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentationVersion {
    pub version: String,
    pub created_date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub parts: Vec<DocumentationPart>,
}
