//! `badjson`: a test guest that exits 0 but writes something that is not a proxy response.

fn main() {
    print!("this is not JSON {{");
}
