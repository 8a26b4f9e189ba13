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

/// The test scaffolding cleans up after test processes that have ended
/// (static certificates are never dropped, killed runs drop nothing), and
/// never under a process still running.
#[test]
fn temp_dirs_of_ended_test_processes_are_swept() {
    let root = support::tools::TempDir::new("sweep");
    // Above Linux's largest pid (2^22): never a running process.
    let ended = root.path("arize-exporter-test-web-faults-pki-4194999-3-17");
    let running = root.path(&format!(
        "arize-exporter-test-web-pki-{}-0-17",
        std::process::id()
    ));
    let other = root.path("someone-elses-4194999-3-17");
    for dir in [&ended, &running, &other] {
        std::fs::create_dir_all(dir.join("inner")).unwrap();
    }
    support::tools::sweep_dead_processes_dirs(&root.0);
    assert!(!ended.exists());
    assert!(running.exists() && other.exists());
}
