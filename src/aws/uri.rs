//! What integration URIs say: `${stageVariables.x}` substitution (AWS's rule: an undefined
//! variable renders empty) and the Lambda function an AWS_PROXY URI names.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Substitute `${stageVariables.x}` in `text`; an undefined variable renders empty, as on AWS.
pub fn substitute_stage_variables<'t>(
    text: &'t str,
    vars: &BTreeMap<String, String>,
) -> Cow<'t, str> {
    const OPEN: &str = "${stageVariables.";
    // A `$` is looked for first: a plain search for one byte, where the whole marker's search
    // sets up a substring searcher on every call.
    if !text.as_bytes().contains(&b'$') || !text.contains(OPEN) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + OPEN.len()..];
        match after.find('}') {
            Some(end) => {
                if let Some(v) = vars.get(&after[..end]) {
                    out.push_str(v);
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A Lambda function named by an AWS_PROXY integration URI:
/// `arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]/invocations`
/// (or a bare function ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
}

/// The AWS service an `AWS` / `AWS_PROXY` integration URI calls, and how:
/// `arn:aws:apigateway:REGION:SERVICE:path/...` or `...:SERVICE:action/ACTION` → (`SERVICE`,
/// `path/...` or `action/ACTION`).
pub fn aws_service(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let _partition = parts.next()?;
    if parts.next()? != "apigateway" {
        return None;
    }
    let _region = parts.next()?;
    let service = parts.next()?;
    let what = parts.next()?;
    (!service.is_empty()).then_some((service, what))
}

pub fn parse_function_uri(uri: &str) -> Option<FunctionRef> {
    let start = uri.find(":function:")? + ":function:".len();
    let rest = &uri[start..];
    let rest = rest.strip_suffix("/invocations").unwrap_or(rest);
    let rest = rest.split('/').next()?;
    let (name, qualifier) = match rest.split_once(':') {
        Some((n, q)) => (n, Some(q.to_string()).filter(|q| !q.is_empty())),
        None => (rest, None),
    };
    (!name.is_empty()).then(|| FunctionRef {
        name: name.to_string(),
        qualifier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_of_aws_integration_uris() {
        assert_eq!(
            aws_service("arn:aws:apigateway:us-east-1:dynamodb:action/PutItem"),
            Some(("dynamodb", "action/PutItem"))
        );
        assert_eq!(
            aws_service("arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:function:f/invocations"),
            Some(("lambda", "path/2015-03-31/functions/arn:aws:lambda:eu-west-1:1:function:f/invocations"))
        );
        assert_eq!(aws_service("http://example.com"), None);
        assert_eq!(aws_service("arn:aws:s3:::bucket"), None);
    }

    #[test]
    fn function_uris() {
        let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:hello:2/invocations";
        assert_eq!(
            parse_function_uri(uri),
            Some(FunctionRef {
                name: "hello".into(),
                qualifier: Some("2".into())
            })
        );
        let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:app/invocations";
        assert_eq!(parse_function_uri(uri).map(|f| f.qualifier), Some(None));
        assert_eq!(parse_function_uri("http://x"), None);
    }

    #[test]
    fn stage_variables() {
        let vars: BTreeMap<String, String> = [("host".to_string(), "h:1".to_string())].into();
        assert_eq!(
            substitute_stage_variables(
                "http://${stageVariables.host}/${stageVariables.none}x",
                &vars
            ),
            "http://h:1/x"
        );
    }
}
