//! `trap`: a hostile test guest that panics (built with panic = "abort", so the guest traps).

fn main() {
    let input = std::env::var("TRAP_MESSAGE").unwrap_or_else(|_| "trap guest always panics".into());
    panic!("{input}");
}
