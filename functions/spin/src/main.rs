//! `spin`: a hostile test guest that never returns (gw must time it out with a 504).

fn main() {
    let mut n: u64 = 0;
    loop {
        // black_box keeps the optimiser from proving the loop has no effect.
        n = std::hint::black_box(n.wrapping_add(1));
    }
}
