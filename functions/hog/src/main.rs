//! `hog`: a hostile test guest that allocates (and touches) memory until it is stopped.

fn main() {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let chunk = vec![1u8; 1 << 20];
        hoard.push(std::hint::black_box(chunk));
    }
}
