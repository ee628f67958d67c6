//! Command-line entry points.

pub fn main() -> i32 {
    0
}
