//! AWS path matching over a deployment's resource tree: literal segment > `{param}` > `{proxy+}`,
//! an explicit method > `ANY` (which covers the seven methods API Gateway knows), trailing slash
//! ignored. Lookups walk a segment trie with hash-map children, so the cost depends on the path's
//! depth, not on the number of routes.

use crate::model::{Method, Resource, RestApi};
use percent_encoding::percent_decode_str;
use std::borrow::Cow;

#[derive(Debug, Default)]
struct Node {
    resource: Option<usize>,
    literal: crate::net::fnv::Map<String, Node>,
    param: Option<(String, Box<Node>)>,
    /// `{name+}`: resource index and parameter name.
    greedy: Option<(String, usize)>,
}

/// The routes of one deployment.
#[derive(Debug, Default)]
pub struct Router {
    root: Node,
}

/// A matched route.
#[derive(Debug)]
pub struct Matched<'a> {
    pub resource: &'a Resource,
    pub method: &'a Method,
    /// Decoded path parameters, in path order.
    pub path_params: Vec<(String, String)>,
}

impl Router {
    pub fn new(api: &RestApi) -> Router {
        let mut root = Node::default();
        for (i, r) in api.resources.iter().enumerate() {
            let mut node = &mut root;
            let segs: Vec<&str> = r.path.split('/').filter(|s| !s.is_empty()).collect();
            let mut greedy = None;
            for (j, seg) in segs.iter().enumerate() {
                if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    if let Some(name) = inner.strip_suffix('+') {
                        if j + 1 == segs.len() {
                            greedy = Some(name.to_string());
                            break;
                        }
                    }
                    let entry = node
                        .param
                        .get_or_insert_with(|| (inner.to_string(), Box::default()));
                    node = &mut entry.1;
                } else {
                    node = node.literal.entry(seg.to_string()).or_default();
                }
            }
            match greedy {
                Some(name) => node.greedy = Some((name, i)),
                None => node.resource = Some(i),
            }
        }
        Router { root }
    }

    /// Find the route for `method` and `path` (the path after the stage, raw, percent-encoded).
    pub fn find<'a>(&self, api: &'a RestApi, method: &str, path: &str) -> Option<Matched<'a>> {
        let mut params = Vec::new();
        let (idx, m) = search(&self.root, api, path, method, &mut params)?;
        Some(Matched {
            resource: &api.resources[idx],
            method: m,
            path_params: params,
        })
    }
}

/// The methods API Gateway routes, and so the methods `ANY` stands for. Anything else (TRACE,
/// CONNECT, PROPFIND, a lower-case `get`, a request whose method is literally `ANY`) matches no
/// route, as in API Gateway.
fn routable(method: &str) -> bool {
    matches!(
        method,
        "DELETE" | "GET" | "HEAD" | "OPTIONS" | "PATCH" | "POST" | "PUT"
    )
}

fn method_of<'a>(api: &'a RestApi, idx: usize, method: &str) -> Option<&'a Method> {
    let r = api.resources.get(idx)?;
    if !routable(method) {
        return None;
    }
    r.resource_methods
        .get(method)
        .or_else(|| r.resource_methods.get("ANY"))
}

/// The first non-empty segment of `path` (raw) and what follows it.
fn next_segment(path: &str) -> Option<(&str, &str)> {
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return None;
    }
    let end = path.find('/').unwrap_or(path.len());
    Some(path.split_at(end))
}

fn decode(segment: &str) -> Cow<'_, str> {
    percent_decode_str(segment).decode_utf8_lossy()
}

/// `path` (raw) from `node` on; segments are decoded as they are reached.
fn search<'a>(
    node: &Node,
    api: &'a RestApi,
    path: &str,
    method: &str,
    params: &mut Vec<(String, String)>,
) -> Option<(usize, &'a Method)> {
    let Some((raw, rest)) = next_segment(path) else {
        let idx = node.resource?;
        return method_of(api, idx, method).map(|m| (idx, m));
    };
    let first = decode(raw);
    if let Some(child) = node.literal.get(first.as_ref()) {
        if let Some(found) = search(child, api, rest, method, params) {
            return Some(found);
        }
    }
    if let Some((name, child)) = &node.param {
        params.push((name.clone(), first.to_string()));
        if let Some(found) = search(child, api, rest, method, params) {
            return Some(found);
        }
        params.pop();
    }
    if let Some((name, idx)) = &node.greedy {
        if let Some(m) = method_of(api, *idx, method) {
            let mut value = String::with_capacity(path.len());
            let mut remaining = path;
            while let Some((segment, after)) = next_segment(remaining) {
                if remaining.len() < path.len() {
                    value.push('/'); // not before the first segment
                }
                value.push_str(&decode(segment));
                remaining = after;
            }
            params.push((name.clone(), value));
            return Some((*idx, m));
        }
    }
    None
}
