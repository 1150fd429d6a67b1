//! Identifiers in AWS's shapes: 10-character REST API ids, 6-character resource, deployment and
//! authorizer ids (lowercase letters and digits), UUID request ids.

use rand::Rng;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn random(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A REST API id such as `a1b2c3d4e5`.
pub fn api_id() -> String {
    random(10)
}

/// A resource, deployment or authorizer id such as `x7k2p9`.
pub fn short() -> String {
    random(6)
}

/// An API key value: 40 random letters and digits (AWS's keys are 40 characters too).
pub fn api_key_value() -> String {
    const KEY: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..40)
        .map(|_| KEY[rng.random_range(0..KEY.len())] as char)
        .collect()
}

thread_local! {
    /// Request ids need uniqueness, not secrecy: a fast generator per thread, seeded once from
    /// the thread's cryptographic one.
    static FAST: std::cell::RefCell<rand::rngs::SmallRng> =
        std::cell::RefCell::new(rand::SeedableRng::from_rng(&mut rand::rng()));
}

fn fast_random() -> u128 {
    FAST.with_borrow_mut(|rng| rng.random())
}

/// The length of a request id.
pub const REQUEST_ID_LEN: usize = uuid::fmt::Hyphenated::LENGTH;
/// The length of an extended request id.
pub const EXTENDED_REQUEST_ID_LEN: usize = 16;

/// A request id (`x-amzn-RequestId`): a version 4 UUID, as ASCII text.
pub fn request_id() -> [u8; REQUEST_ID_LEN] {
    let mut text = [0u8; REQUEST_ID_LEN];
    uuid::Builder::from_random_bytes(fast_random().to_le_bytes())
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text);
    text
}

/// The characters of an extended request id.
const EXTENDED_CHARS: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// An extended request id (`x-amz-apigw-id`), 16 characters as on AWS (`LIxCyGd7SK4FjEg=`): 15
/// letters and digits and `=`, as ASCII text. Each character takes six random bits, scaled onto
/// the 62 characters (a multiply and a shift, no division).
pub fn extended_request_id() -> [u8; EXTENDED_REQUEST_ID_LEN] {
    let mut bits = fast_random();
    let mut text = [b'='; EXTENDED_REQUEST_ID_LEN];
    for slot in &mut text[..15] {
        *slot = EXTENDED_CHARS[((bits & 63) as usize * EXTENDED_CHARS.len()) >> 6];
        bits >>= 6;
    }
    text
}

/// Whether `s` has the shape of a REST API id.
pub fn looks_like_api_id(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_have_aws_shapes_and_differ() {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        let id = text(&request_id());
        let uuid = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(id.len(), 36);
        let ext = text(&extended_request_id());
        assert_eq!(ext.len(), 16);
        assert!(ext.ends_with('='));
        assert!(
            ext[..15].bytes().all(|b| b.is_ascii_alphanumeric()),
            "{ext}"
        );
        let ids: std::collections::HashSet<[u8; EXTENDED_REQUEST_ID_LEN]> =
            (0..1000).map(|_| extended_request_id()).collect();
        assert_eq!(ids.len(), 1000);
        // Every character can come up: the scaling reaches both ends of the 62.
        let seen: std::collections::HashSet<u8> =
            ids.iter().flat_map(|i| i[..15].to_vec()).collect();
        assert_eq!(seen.len(), 62, "{seen:?}");
        assert_ne!(text(&request_id()), id);
    }
}
