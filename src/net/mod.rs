//! HTTP plumbing shared by the listener, the data plane, the management API and the function
//! runtime: the one body type ([`body`]), reusable header maps and relayed backend fields
//! ([`headers`]), and FNV hashing for maps keyed by configuration ([`fnv`]).
//!
//! Architecture invariant: nothing here knows AWS, APIs or stages.

pub mod body;
pub mod fnv;
pub mod headers;
pub mod tls;
