//! Header helpers shared by the client side (`conn`) and the backend side (`upstream`): the
//! comma-separated tokens of a field value, and header maps reused within a worker thread. A
//! request's map, once answered, and an answer's map, once written, are cleared and kept for the
//! next request or backend answer on the same thread. Besides two allocations per map, this
//! saves the system allocator's free-list consolidation that a proxied answer's map (the
//! backend's fields plus the ones gw adds: over 1 KiB of buckets) set off on every request.

use http::HeaderMap;
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
}
