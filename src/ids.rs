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

/// A request id (`x-amzn-RequestId`).
pub fn request_id() -> String {
    // From the thread-local RNG: no system call per request.
    let bytes: [u8; 16] = rand::rng().random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// An extended request id (`x-amz-apigw-id`), 16 characters as on AWS.
pub fn extended_request_id() -> String {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(16);
    s.extend((0..15).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char));
    s.push('=');
    s
}

/// Whether `s` has the shape of a REST API id.
pub fn looks_like_api_id(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| ALPHABET.contains(&b))
}
