//! The helpers every integration test shares, one implementation of each:
//!
//! - [`tools`]: where the repository and the test tools are, finding a tool
//!   (a missing one fails the test with its installer: tests never skip),
//!   running commands, reading files, temporary directories;
//! - [`yaml`]: YAML as JSON, read the way Kubernetes and Helm read it;
//! - [`spec`]: the metric families the exporter serves (`docs/metrics.md`);
//! - [`exporter`]: the exporter in process and as the real binary, the
//!   exposition parser, `promtool check metrics`, HTTP helpers;
//! - [`observability`]: the dashboard and the rules as JSON, and a small
//!   PromQL lexer;
//! - [`pki`]: a private CA and the TLS certificates it signs (server,
//!   client, expired), and self-signed ones, made by `openssl`;
//! - [`prometheus`]: a started Prometheus server, killed on drop, and a
//!   query of its HTTP API;
//! - [`scenarios`]: hostile inputs the hermetic suite checks the exporter
//!   against and the tools suite runs promtool over;
//! - [`web`]: `web::serve` in process with a tiny router, and a client.
//!
//! The tests are two binaries, one module per subject file:
//! - `tests/integration/` (target `integration`): the hermetic suite, what
//!   `cargo test` runs with only Rust installed; no external program;
//! - `tests/tools/` (target `tools`, feature `tool-tests`): the tests that
//!   drive a real tool (promtool, Prometheus, helm, openssl, curl, Chromium,
//!   node, hadolint, actionlint, the Arize SDK), with `pki` and `prometheus`.
//!
//! Each `main.rs` declares `#[path = "../support/mod.rs"] mod support;` and
//! each subject file `use crate::support;`. A subject with tests of both
//! kinds has a file of the same name in each folder. Neither binary uses
//! every helper.
#![allow(dead_code)]

pub mod exporter;
pub mod logs;
pub mod observability;
pub mod pki;
pub mod prometheus;
pub mod scenarios;
pub mod spec;
pub mod tools;
pub mod web;
pub mod yaml;
