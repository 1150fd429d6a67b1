//! Header helpers shared by the client side (`conn`) and the backend side (`upstream`): the
//! comma-separated tokens of a field value, a backend answer's fields kept as received
//! ([`Relayed`]), and header maps reused within a worker thread. A
//! request's map, once answered, and an answer's map, once written, are cleared and kept for the
//! next request or backend answer on the same thread. Besides two allocations per map, this
//! saves the system allocator's free-list consolidation that a proxied answer's map (the
//! backend's fields plus the ones gw adds: over 1 KiB of buckets) set off on every request.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use std::cell::RefCell;

/// Maps kept per thread (one per request in flight on it is enough).
const KEPT: usize = 64;
/// Larger maps are not kept (a rare answer with many fields should not pin its memory).
const MAX_KEPT_CAPACITY: usize = 64;

thread_local! {
    static SPARE: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
}

/// An empty map with room for `capacity` fields, reused when this thread has one.
pub fn map(capacity: usize) -> HeaderMap {
    let spare = SPARE.with_borrow_mut(Vec::pop);
    match spare {
        Some(mut map) => {
            map.reserve(capacity);
            map
        }
        None => HeaderMap::with_capacity(capacity),
    }
}

/// Give a map back for reuse on this thread.
pub fn recycle(mut map: HeaderMap) {
    if map.capacity() > MAX_KEPT_CAPACITY {
        return;
    }
    map.clear();
    SPARE.with_borrow_mut(|spare| {
        if spare.len() < KEPT {
            spare.push(map);
        }
    });
}

/// A backend answer's end-to-end fields as received: `name: value` lines, each ending in CR LF,
/// in one buffer, without the hop-by-hop fields (and those `Connection` names) and without the
/// framing ones (`Content-Length` is kept aside, `Transfer-Encoding` is hop-by-hop).
///
/// A proxied answer travels to the client this way, beside the response, while its header map
/// holds only the fields gw sets; the client side writes the lines as they are, so
/// relaying the backend's fields builds no map. A field of the map replaces the lines of that
/// name, as `HeaderMap::insert` would have. Code that reads or edits an answer's fields calls
/// [`materialize`] first.
#[derive(Clone, Debug, Default)]
pub struct Relayed {
    lines: Bytes,
    /// The answer's `Content-Length`, when it has a valid one and no `Transfer-Encoding`.
    pub content_length: Option<u64>,
    /// Whether one of the lines is `Date`.
    pub has_date: bool,
    /// The [`name_bit`]s of the lines' names: a name whose bit is not set is not among them.
    names: u64,
}

/// One of 64 bits for a field name (any case), for [`Relayed::may_have`].
pub const fn name_bit(name: &[u8]) -> u64 {
    let (Some(first), Some(last)) = (name.first(), name.last()) else {
        return 1;
    };
    let mix = name.len()
        + 7 * first.to_ascii_lowercase() as usize
        + 13 * last.to_ascii_lowercase() as usize;
    1 << (mix & 63)
}

impl Relayed {
    /// `lines`: `name: value\r\n` lines, as written by the backend side (names and values
    /// already checked by its parser).
    /// `names`: the [`name_bit`]s of the lines' names, or'ed.
    pub fn new(lines: Bytes, content_length: Option<u64>, has_date: bool, names: u64) -> Relayed {
        Relayed {
            lines,
            content_length,
            has_date,
            names,
        }
    }

    /// All the lines, in one piece.
    pub fn all(&self) -> &[u8] {
        &self.lines
    }

    /// Whether a field named `name` may be among the lines (`false`: it certainly is not).
    pub fn may_have(&self, name: &[u8]) -> bool {
        self.may_have_any(name_bit(name))
    }

    /// Whether a field whose [`name_bit`] is among `bits` may be among the lines.
    pub fn may_have_any(&self, bits: u64) -> bool {
        self.names & bits != 0
    }

    /// Each field as `(name, whole line including its CR LF)`.
    pub fn lines(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut rest: &[u8] = &self.lines;
        std::iter::from_fn(move || {
            let end = rest.iter().position(|&b| b == b'\n')? + 1;
            let (line, tail) = rest.split_at(end);
            rest = tail;
            let colon = line.iter().position(|&b| b == b':').unwrap_or(0);
            Some((&line[..colon], line))
        })
    }

    /// Each field as a name and a value (a slice of the buffer, not a copy).
    fn fields(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
        let base = self.lines.as_ptr() as usize;
        self.lines().filter_map(move |(name, line)| {
            let start = line.as_ptr() as usize - base;
            let value = line[name.len() + 1..].trim_ascii();
            let value_start = start + (value.as_ptr() as usize - line.as_ptr() as usize);
            let value = self.lines.slice(value_start..value_start + value.len());
            Some((
                HeaderName::from_bytes(name).ok()?,
                HeaderValue::from_maybe_shared(value).ok()?,
            ))
        })
    }
}

/// Move an answer's [`Relayed`] fields into its header map, behind the fields already there
/// (which win, by name), with its `Content-Length`.
pub fn materialize<B>(response: &mut Response<B>, relayed: Relayed) {
    let headers = response.headers_mut();
    let ours: Vec<HeaderName> = headers.keys().cloned().collect();
    for (name, value) in relayed.fields() {
        if !ours.contains(&name) {
            headers.append(name, value);
        }
    }
    if let Some(n) = relayed.content_length {
        if !ours.contains(&http::header::CONTENT_LENGTH) {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(n));
        }
    }
}

/// The comma-separated tokens of a field value (`Connection`, `Transfer-Encoding`), trimmed,
/// empty ones skipped.
pub fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|t| t.trim_ascii())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_map_comes_back_empty_with_its_room() {
        let mut m = map(12);
        m.insert("a", http::HeaderValue::from_static("1"));
        let room = m.capacity();
        recycle(m);
        let again = map(4);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), room);
        let mut big = HeaderMap::with_capacity(1000);
        big.insert("b", http::HeaderValue::from_static("2"));
        recycle(big);
        assert!(map(1).capacity() < 1000, "a large map is not kept");
    }

    #[test]
    fn relayed_fields_become_map_fields_behind_the_maps_own() {
        let lines = Bytes::from_static(
            b"Server: up\r\nx-amzn-RequestId: theirs\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Empty:\r\n",
        );
        let names = [
            &b"Server"[..],
            b"x-amzn-RequestId",
            b"Set-Cookie",
            b"X-Empty",
        ];
        let relayed = Relayed::new(
            lines,
            Some(12),
            false,
            names.iter().map(|n| name_bit(n)).fold(0, |a, b| a | b),
        );
        assert!(relayed.may_have(b"x-amzn-requestid"));
        assert!(relayed.may_have(b"SERVER"));
        let names: Vec<&[u8]> = relayed.lines().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                &b"Server"[..],
                b"x-amzn-RequestId",
                b"Set-Cookie",
                b"Set-Cookie",
                b"X-Empty"
            ]
        );
        let mut resp = Response::new(());
        resp.headers_mut()
            .insert("x-amzn-requestid", HeaderValue::from_static("ours"));
        materialize(&mut resp, relayed);
        let h = resp.headers();
        assert_eq!(h["server"], "up");
        assert_eq!(h["x-amzn-requestid"], "ours", "the map's own field wins");
        assert_eq!(h.get_all("set-cookie").iter().count(), 2);
        assert_eq!(h["x-empty"], "");
        assert_eq!(h["content-length"], "12");
        assert_eq!(h.len(), 6);
    }
}
