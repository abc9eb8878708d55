//! Ads benchmark (filled in below).
fn main() {}
