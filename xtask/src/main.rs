//! `cargo xtask`: the project's automation (rust-analyzer style).
fn main() {}
