//! The tools suite: the tests that drive real external programs (promtool,
//! a Prometheus server, helm and the Kubernetes schema validators, hadolint,
//! actionlint, openssl and curl, headless Chromium, Node.js with Grafana's
//! schema, the official Arize SDK), installed by `scripts/tools/*.sh`.
//! Built only with the `tool-tests` feature: `scripts/test.sh` runs it as
//! `cargo test --workspace --all-targets --features tool-tests`. A missing
//! tool fails its test with the installer to run: never a skip.
//!
//! One module per subject; a subject's tests that need no tool are in the
//! hermetic suite's module of the same name (`tests/integration/`).

#[path = "../support/mod.rs"]
mod support;

mod binary;
mod binary_web;
mod compose_example;
mod dashboard;
mod dockerfile;
mod drift;
mod helm_chart;
mod landing;
mod mixin;
mod prometheus_e2e;
mod promtool;
mod release_workflow;
mod rules;
mod sdk_schema;
mod web;
mod web_faults;
