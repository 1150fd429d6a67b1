//! The simple template language of gateway responses and MOCK integration responses:
//! `$context.x`, `${context.x}`, `$stageVariables.x`, `${stageVariables.x}` and the bracket forms
//! `$stageVariables['x']` / `$context["x"]` are replaced, an unknown name renders empty (as on
//! AWS), everything else — VTL directives included — is returned as written.

/// A name a template refers to.
pub enum Reference<'a> {
    Context(&'a str),
    StageVariable(&'a str),
}

/// Render `template`, asking `lookup` for each reference.
pub fn render(template: &str, lookup: impl Fn(Reference) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (braced, body) = match after.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, after),
        };
        if let Some((reference, remainder)) = bracketed(body, braced) {
            out.push_str(&lookup(reference).unwrap_or_default());
            rest = remainder;
            continue;
        }
        let (context, tail) = if let Some(t) = body.strip_prefix("context.") {
            (true, t)
        } else if let Some(t) = body.strip_prefix("stageVariables.") {
            (false, t)
        } else {
            out.push('$');
            rest = after;
            continue;
        };
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(tail.len());
        let key = tail[..end].trim_end_matches('.');
        let mut remainder = &tail[key.len()..];
        if braced {
            match remainder.strip_prefix('}') {
                Some(r) => remainder = r,
                None => {
                    out.push('$');
                    rest = after;
                    continue;
                }
            }
        }
        let reference = if context {
            Reference::Context(key)
        } else {
            Reference::StageVariable(key)
        };
        out.push_str(&lookup(reference).unwrap_or_default());
        rest = remainder;
    }
    out.push_str(rest);
    out
}

/// `stageVariables['x']` or `context["x"]` (then `}` when braced): the reference and the text
/// after it.
fn bracketed(body: &str, braced: bool) -> Option<(Reference<'_>, &str)> {
    let (context, tail) = if let Some(t) = body.strip_prefix("context[") {
        (true, t)
    } else {
        (false, body.strip_prefix("stageVariables[")?)
    };
    let quote = tail.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &tail[1..];
    let end = inner.find(quote)?;
    let key = &inner[..end];
    let mut remainder = inner[end + 1..].strip_prefix(']')?;
    if braced {
        remainder = remainder.strip_prefix('}')?;
    }
    let reference = if context {
        Reference::Context(key)
    } else {
        Reference::StageVariable(key)
    };
    Some((reference, remainder))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_replaced_and_the_rest_kept() {
        let out = render(
            "{\"s\": \"$context.stage\", \"v\": \"${stageVariables.v}\", \"x\": \"$stageVariables.none\", \"cost\": \"$5\", \"vtl\": \"#if($a)\"}",
            |r| match r {
                Reference::Context("stage") => Some("prod".into()),
                Reference::StageVariable("v") => Some("1".into()),
                _ => None,
            },
        );
        assert_eq!(
            out,
            "{\"s\": \"prod\", \"v\": \"1\", \"x\": \"\", \"cost\": \"$5\", \"vtl\": \"#if($a)\"}"
        );
    }

    #[test]
    fn bracket_forms_are_replaced_and_broken_ones_kept() {
        let out = render(
            "$stageVariables['color'] ${stageVariables[\"color\"]} $context['stage'] $stageVariables['open $stageVariables[x]",
            |r| match r {
                Reference::Context("stage") => Some("prod".into()),
                Reference::StageVariable("color") => Some("red".into()),
                _ => None,
            },
        );
        assert_eq!(out, "red red prod $stageVariables['open $stageVariables[x]");
    }
}
