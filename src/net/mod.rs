//! HTTP plumbing shared by the listener, the data plane, the management API and the function
//! runtime: the one body type ([`body`]), reusable header maps and relayed backend fields
//! ([`headers`]), and FNV hashing for maps keyed by configuration ([`fnv`]).
//!
//! Architecture invariant: nothing here knows AWS, APIs or stages.

pub mod body;
pub mod fnv;
pub mod headers;
pub mod tls;

/// A URL with its password replaced by `***` (`scheme://user:***@host...`), for messages and
/// logs.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or("");
            format!("{scheme}://{name}:***@{host}")
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_left_out_of_urls() {
        use super::redacted_url as r;
        assert_eq!(
            r("postgres://gw:s3cr@t@db:5432/gw"),
            "postgres://gw:***@db:5432/gw"
        );
        assert_eq!(r("redis://:secret@cache:6379"), "redis://:***@cache:6379");
        assert_eq!(r("redis://cache:6379"), "redis://cache:6379");
        assert_eq!(r("postgres://gw@db/gw"), "postgres://gw@db/gw");
    }
}
