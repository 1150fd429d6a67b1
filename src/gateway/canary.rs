//! The canary choice: a pure function of the stage's percentage and a random draw, so 0 %, the
//! exact boundary and 100 % are testable without randomness.

/// Which deployment of a stage answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Production,
    Canary,
}

/// `draw` is uniform in `[0, 100)`. The canary answers when `draw < percent` (so 0 % never and
/// 100 % always), as API Gateway's per-request random split does.
pub fn choose(percent: f64, draw: f64) -> Variant {
    if percent >= 100.0 || draw < percent {
        Variant::Canary
    } else {
        Variant::Production
    }
}

pub use crate::model::Sticky;

/// A key's fixed draw in `[0, 100)`: FNV-1a of the key, spread over the range.
pub fn key_draw(key: &[u8]) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // A final mix so keys that differ in their last byte spread over the whole range.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64 * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sticky_keys_parse() {
        assert_eq!(Sticky::parse("ip"), Ok(Sticky::Ip));
        assert_eq!(
            Sticky::parse("cookie"),
            Ok(Sticky::Cookie("gw-canary".into()))
        );
        assert_eq!(
            Sticky::parse("cookie:session"),
            Ok(Sticky::Cookie("session".into()))
        );
        assert_eq!(
            Sticky::parse("header:X-User"),
            Ok(Sticky::Header(http::HeaderName::from_static("x-user")))
        );
        for bad in [
            "",
            "ipv6",
            "header:",
            "header:bad name",
            "cookie:",
            "cookie:a;b",
            "x:y",
        ] {
            assert!(Sticky::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_draws_are_fixed_and_spread() {
        assert_eq!(key_draw(b"user-1"), key_draw(b"user-1"));
        let draws: Vec<f64> = (0..1000)
            .map(|i| key_draw(format!("k{i}").as_bytes()))
            .collect();
        assert!(draws.iter().all(|d| (0.0..100.0).contains(d)));
        // About 10 % under 10: binomial(1000, 0.1) has sd 9.5; ±5 sd.
        let under = draws.iter().filter(|d| **d < 10.0).count();
        assert!((53..=147).contains(&under), "{under}");
    }

    #[test]
    fn zero_percent_never_chooses_the_canary() {
        for draw in [0.0, 0.000001, 50.0, 99.999999] {
            assert_eq!(choose(0.0, draw), Variant::Production);
        }
    }

    #[test]
    fn hundred_percent_always_chooses_the_canary() {
        for draw in [0.0, 50.0, 99.999999, 100.0] {
            assert_eq!(choose(100.0, draw), Variant::Canary);
        }
    }

    #[test]
    fn the_boundary_belongs_to_production() {
        assert_eq!(choose(10.0, 9.999999), Variant::Canary);
        assert_eq!(choose(10.0, 10.0), Variant::Production);
        assert_eq!(choose(12.5, 12.499), Variant::Canary);
        assert_eq!(choose(12.5, 12.5), Variant::Production);
    }
}
