//! The backend URL of an HTTP or HTTP_PROXY integration: stage variables, `{param}`
//! placeholders filled through `requestParameters`, the client's query and mapped parameters, and
//! the URL taken apart (host, connect address, request target). A URI whose scheme and authority
//! are literal is taken apart once per deployment ([`UriPlan`]), so a request only fills in its
//! path and query.

use super::super::RequestCx;
use crate::aws::gateway_response::GatewayError;
use crate::model::{Integration, IntegrationType};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use std::borrow::Cow;

pub(super) const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'\\')
    .add(b'%');
pub(super) const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'&')
    .add(b'=')
    .add(b'+')
    .add(b'%');

/// The backend URL for this request.
pub fn backend_url(cx: &RequestCx, integration: &Integration) -> Result<String, GatewayError> {
    let template = integration.uri.as_deref().unwrap_or("");
    let uri = cx.stage_variables_in(template);
    let mut out = String::with_capacity(uri.len() + cx.path.len() + cx.query.map_or(0, str::len));
    for piece in pieces(&uri) {
        piece.push(&mut out, cx, integration);
    }
    push_query(&mut out, cx, integration);
    Ok(out)
}

/// A URI template's text between placeholders, or a placeholder.
#[derive(Debug, PartialEq)]
pub(super) enum Piece<S> {
    Literal(S),
    /// `{name}` or `{name+}`: the name as written between the braces.
    Placeholder(S),
}

impl<S: AsRef<str>> Piece<S> {
    /// The piece's text for this request: a placeholder is mapped through requestParameters, or
    /// else takes the same-named path parameter.
    fn push(&self, out: &mut String, cx: &RequestCx, integration: &Integration) {
        match self {
            Piece::Literal(text) => out.push_str(text.as_ref()),
            Piece::Placeholder(name) => push_placeholder(out, cx, integration, name.as_ref()),
        }
    }
}

/// `template` taken apart at its `{name}` placeholders (an unclosed `{` is text).
pub(super) fn pieces(template: &str) -> impl Iterator<Item = Piece<&str>> {
    let mut rest = template;
    let mut placeholder = None;
    std::iter::from_fn(move || {
        if let Some(name) = placeholder.take() {
            return Some(Piece::Placeholder(name));
        }
        if rest.is_empty() {
            return None;
        }
        let open = find_byte(rest, b'{');
        let close = open.and_then(|o| find_byte(&rest[o..], b'}').map(|c| o + c));
        let (Some(open), Some(close)) = (open, close) else {
            return Some(Piece::Literal(std::mem::take(&mut rest)));
        };
        let text = &rest[..open];
        placeholder = Some(&rest[open + 1..close]);
        rest = &rest[close + 1..];
        if text.is_empty() {
            placeholder.take().map(Piece::Placeholder)
        } else {
            Some(Piece::Literal(text))
        }
    })
}

/// The value of the URI placeholder `{name}` (`name` may end in `+`), encoded for the path; the
/// placeholder as written when nothing gives it a value.
pub(super) fn push_placeholder(
    out: &mut String,
    cx: &RequestCx,
    integration: &Integration,
    name: &str,
) {
    let bare = name.trim_end_matches('+');
    let mapped = integration
        .request_parameters
        .iter()
        .find(|(target, _)| target.strip_prefix("integration.request.path.") == Some(bare))
        .and_then(|(_, source)| cx.mapping_value(source))
        .or_else(|| cx.path_param(bare).map(Cow::Borrowed));
    match mapped {
        Some(v) if name.ends_with('+') || is_greedy(cx, bare) => {
            let mut segments: &str = &v;
            while let Some(slash) = find_byte(segments, b'/') {
                push_segment(out, &segments[..slash]);
                out.push('/');
                segments = &segments[slash + 1..];
            }
            push_segment(out, segments);
        }
        Some(v) => push_segment(out, &v),
        None => {
            out.push('{');
            out.push_str(name);
            out.push('}');
        }
    }
}

/// The query string: HTTP_PROXY passes the client's through; mapped parameters are added.
pub(super) fn push_query(out: &mut String, cx: &RequestCx, integration: &Integration) {
    let mut separator = if find_byte(out, b'?').is_some() {
        '&'
    } else {
        '?'
    };
    if integration.kind == IntegrationType::HttpProxy {
        if let Some(q) = cx.query.filter(|q| !q.is_empty()) {
            out.push(separator);
            out.push_str(q);
            separator = '&';
        }
    }
    for (target, source) in &integration.request_parameters {
        if let Some(name) = target.strip_prefix("integration.request.querystring.") {
            if let Some(v) = cx.mapping_value(source) {
                out.push(separator);
                out.extend(utf8_percent_encode(name, QUERY));
                out.push('=');
                out.extend(utf8_percent_encode(&v, QUERY));
                separator = '&';
            }
        }
    }
}

/// An `http://` integration URI whose scheme and authority are literal (no stage variable, no
/// placeholder before the path), taken apart once per deployment ([`plans`]): a request only
/// fills in its path and query, with no search for placeholders and no parse of the host.
#[derive(Debug)]
pub struct UriPlan {
    pub(super) host: Box<str>,
    pub(super) connect: Box<str>,
    pub(super) pieces: Vec<Piece<Box<str>>>,
    pub(super) tls: bool,
    pub(super) named: bool,
}

/// The plans of the HTTP and HTTP_PROXY integration URIs of `api` that can have one, by URI.
pub fn plans(api: &crate::model::RestApi) -> crate::net::fnv::Map<Box<str>, UriPlan> {
    let mut plans = crate::net::fnv::Map::default();
    let uris = api
        .resources
        .iter()
        .flat_map(|r| r.resource_methods.values())
        .filter_map(|m| m.method_integration.as_ref())
        .filter(|i| matches!(i.kind, IntegrationType::HttpProxy | IntegrationType::Http))
        .filter_map(|i| i.uri.as_deref());
    for uri in uris {
        if !plans.contains_key(uri) {
            if let Some(plan) = UriPlan::new(uri) {
                plans.insert(uri.into(), plan);
            }
        }
    }
    plans
}

impl UriPlan {
    fn new(uri: &str) -> Option<UriPlan> {
        if uri.contains("${") {
            return None;
        }
        let (_, rest) = strip_scheme(uri)?;
        let (authority, path) = rest.split_at(authority_len(rest));
        if authority.contains('{') {
            return None;
        }
        let parts = split_backend_url(&uri[..uri.len() - path.len()]).ok()?;
        let pieces = pieces(path)
            .map(|piece| match piece {
                Piece::Literal(text) => Piece::Literal(text.into()),
                Piece::Placeholder(name) => Piece::Placeholder(name.into()),
            })
            .collect();
        Some(UriPlan {
            host: parts.host.into(),
            connect: parts.connect.into(),
            pieces,
            tls: parts.tls,
            named: parts.named,
        })
    }

    /// The request target (path and query) for this request, as [`backend_url`] would give it.
    pub(super) fn target(&self, cx: &RequestCx, integration: &Integration) -> String {
        let mut out = String::with_capacity(64 + cx.path.len() + cx.query.map_or(0, str::len));
        for piece in &self.pieces {
            piece.push(&mut out, cx, integration);
        }
        push_query(&mut out, cx, integration);
        out
    }
}

/// One path segment for the backend URL. `.` and `..` are sent encoded, so a client's
/// `%2e%2e` can never become a parent-directory step at a backend that normalises paths.
pub(super) fn push_segment(out: &mut String, s: &str) {
    match s {
        "." => out.push_str("%2E"),
        ".." => out.push_str("%2E%2E"),
        _ => out.extend(utf8_percent_encode(s, SEGMENT)),
    }
}

/// The first `byte` in `s`: a plain byte search, where `str::find(char)` sets up a general
/// searcher that costs more than these short strings do.
pub(super) fn find_byte(s: &str, byte: u8) -> Option<usize> {
    s.bytes().position(|b| b == byte)
}

/// Whether the matched resource's path has `{name+}`.
pub(super) fn is_greedy(cx: &RequestCx, name: &str) -> bool {
    let path = cx.resource.path.as_bytes();
    path.iter().enumerate().any(|(i, &b)| {
        b == b'{'
            && path[i + 1..]
                .strip_prefix(name.as_bytes())
                .is_some_and(|r| r.starts_with(b"+}"))
    })
}

/// An `http://` backend URL, taken apart.
pub(super) struct BackendUrl<'u> {
    /// `host[:port]` as written (user info dropped): the `Host` header.
    pub(super) host: &'u str,
    /// `host:port` to connect to (port 80 when the URL has none).
    pub(super) connect: Cow<'u, str>,
    /// The request target, `/path?query` (fragment dropped).
    pub(super) target: Cow<'u, str>,
    /// `https://`: the backend is called over TLS.
    pub(super) tls: bool,
    /// The host is a DNS name (not an IP address): balanced over its addresses when it has
    /// several (`links::Links::backend_name`).
    pub(super) named: bool,
}

/// What follows `http://` or `https://` (any case) in `url`, and whether it is `https`.
pub(super) fn strip_scheme(url: &str) -> Option<(bool, &str)> {
    for (scheme, tls) in [("http://", false), ("https://", true)] {
        if let Some(s) = url.get(..scheme.len()) {
            if s.eq_ignore_ascii_case(scheme) {
                return Some((tls, &url[scheme.len()..]));
            }
        }
    }
    None
}

/// The length of the authority at the start of `rest` (up to a path, query or fragment).
pub(super) fn authority_len(rest: &str) -> usize {
    rest.bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len())
}

pub(super) fn split_backend_url(url: &str) -> Result<BackendUrl<'_>, String> {
    let (tls, rest) = strip_scheme(url)
        .ok_or_else(|| format!("backend URL {url:?} does not start with http:// or https://"))?;
    let (authority, target) = rest.split_at(authority_len(rest));
    // Byte searches: `str::rfind(char)` sets up a general searcher, costly on strings this short.
    let host_port = match authority.bytes().rposition(|b| b == b'@') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    let valid_authority = authority.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'['
                    | b']'
                    | b'%'
            )
    });
    if host_port.is_empty() || !valid_authority {
        return Err(format!("backend URL {url:?} has no valid host"));
    }
    // The port is what follows the last `:` outside an IPv6 literal's brackets.
    let port = match host_port.bytes().rposition(|b| b == b':') {
        Some(i) if !host_port.as_bytes()[i..].contains(&b']') => Some(&host_port[i + 1..]),
        _ => None,
    };
    let connect = match port {
        Some(p) if p.parse::<u16>().is_ok() && host_port.len() > p.len() + 1 => {
            Cow::Borrowed(host_port)
        }
        Some(_) => return Err(format!("backend URL {url:?} has an invalid port")),
        None => Cow::Owned(format!("{host_port}:{}", if tls { 443 } else { 80 })),
    };
    let target = request_target(target).ok_or_else(|| {
        format!(
            "backend URL {url:?} has a space, a control or a non-ASCII character in its path or query"
        )
    })?;
    let named = crate::gateway::links::is_name(&connect);
    Ok(BackendUrl {
        host: host_port,
        connect,
        target,
        tls,
        named,
    })
}

/// The request target for what follows a backend URL's authority: the fragment dropped, `/`
/// added in front of a bare query or for nothing; `None` when it has a space, a control or a
/// non-ASCII character.
pub(super) fn request_target(target: &str) -> Option<Cow<'_, str>> {
    let target = find_byte(target, b'#').map_or(target, |i| &target[..i]);
    if target.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return None;
    }
    Some(match target.as_bytes().first() {
        None => Cow::Borrowed("/"),
        Some(b'?') => Cow::Owned(format!("/{target}")),
        Some(_) => Cow::Borrowed(target),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> Result<(String, String, String), String> {
        split_backend_url(url).map(|b| (b.host.into(), b.connect.into(), b.target.into()))
    }

    #[test]
    fn uri_plans_take_the_authority_apart_once() {
        let plan = UriPlan::new("HTTP://u@h:81/a/{id}/{proxy+}x?q={v}#f").unwrap();
        assert_eq!((&*plan.host, &*plan.connect), ("h:81", "h:81"));
        let lit = |s: &str| Piece::Literal(s.into());
        let ph = |s: &str| Piece::Placeholder(s.into());
        assert_eq!(
            plan.pieces,
            [
                lit("/a/"),
                ph("id"),
                lit("/"),
                ph("proxy+"),
                lit("x?q="),
                ph("v"),
                lit("#f")
            ]
        );
        let plan = UriPlan::new("http://h").unwrap();
        assert_eq!((&*plan.connect, plan.pieces.len()), ("h:80", 0));
        let plan = UriPlan::new("http://h/{open").unwrap();
        assert_eq!(plan.pieces, [lit("/{open")]);
        let borrowed: Vec<_> = pieces("{a}{b}/x{").collect();
        assert_eq!(
            borrowed,
            [
                Piece::Placeholder("a"),
                Piece::Placeholder("b"),
                Piece::Literal("/x{")
            ]
        );
        for general in [
            "http://${stageVariables.host}/a",
            "http://h/${stageVariables.p}",
            "http://{host}/a",
            "http://h:99999/a",
            "arn:aws:apigateway:us-east-1:lambda:path/x",
        ] {
            assert!(UriPlan::new(general).is_none(), "{general}");
        }
        let tls = UriPlan::new("https://h/a").unwrap();
        assert!(tls.tls);
        assert_eq!(&*tls.connect, "h:443");
        assert_eq!(request_target("").as_deref(), Some("/"));
        assert_eq!(request_target("?q").as_deref(), Some("/?q"));
        assert_eq!(request_target("/a#f").as_deref(), Some("/a"));
        assert_eq!(request_target("/a b"), None);
    }

    #[test]
    fn backend_urls_are_taken_apart() {
        let ok = |h: &str, c: &str, t: &str| Ok((h.to_string(), c.to_string(), t.to_string()));
        assert_eq!(
            parts("http://127.0.0.1:8080/pets/1?x=1"),
            ok("127.0.0.1:8080", "127.0.0.1:8080", "/pets/1?x=1")
        );
        assert_eq!(
            parts("http://example.com"),
            ok("example.com", "example.com:80", "/")
        );
        assert_eq!(parts("HTTP://h?q=1"), ok("h", "h:80", "/?q=1"));
        assert_eq!(parts("http://u:p@h:81/a#frag"), ok("h:81", "h:81", "/a"));
        assert_eq!(
            parts("http://[::1]:9000/a"),
            ok("[::1]:9000", "[::1]:9000", "/a")
        );
        assert_eq!(parts("http://[::1]/a"), ok("[::1]", "[::1]:80", "/a"));
        for bad in [
            "ftp://h/",
            "h:80/x",
            "http:///x",
            "http://h:99999/",
            "http://h:x/",
            "http://:80/",
            "http://h/a b",
            "http://h/a\r\nX: y",
            "http://h/é",
            "http://h\"/",
        ] {
            assert!(parts(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
