//! The hermetic suite: everything `cargo test` runs on a machine with only
//! Rust. The exporter in process and as the real binary (plain HTTP), the
//! simulated Arize API, and the repository's files read as data; no external
//! program is run. Tests that drive a real tool (promtool, Prometheus, helm,
//! openssl, Chromium, ...) are in `tests/tools/`, run by `scripts/test.sh`.
//!
//! One module per subject; `tests/tools/` has a module of the same name for
//! the subject's tool-driven tests.

#[path = "../support/mod.rs"]
mod support;

mod accept_header;
mod api_client;
mod binary;
mod binary_web;
mod dashboard;
mod dockerfile;
mod docs;
mod drift;
mod golden_exposition;
mod landing;
mod names;
mod polling;
mod runs;
mod signals;
mod web;
