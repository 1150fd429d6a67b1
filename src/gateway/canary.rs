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

#[cfg(test)]
mod tests {
    use super::*;

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
