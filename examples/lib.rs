//! Runnable examples for authflow-rs: see `quickstart.rs`
//! (`cargo run -p authflow-examples --example quickstart`).
