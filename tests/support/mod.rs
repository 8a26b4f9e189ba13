//! The helpers every integration test shares, one implementation of each:
//!
//! - [`tools`]: where the repository and the test tools are, finding a tool
//!   (a missing one fails the test with its installer: tests never skip),
//!   running commands, reading files, temporary directories;
//! - [`yaml`]: YAML as JSON, read the way Kubernetes and Helm read it;
//! - [`spec`]: the metric families the exporter serves (the README's Metrics section);
//! - [`exporter`]: the exporter in process and as the real binary, the
//!   exposition parser, `promtool check metrics`, HTTP helpers;
//! - [`observability`]: the dashboard and the rules as JSON, and a small
//!   PromQL lexer;
//! - [`pki`]: a private CA and the TLS certificates it signs (server,
//!   client, expired), and self-signed ones, made by `openssl`;
//! - [`prometheus`]: a started Prometheus server, killed on drop, and a
//!   query of its HTTP API.
//!
//! Each test file declares `mod support;` and uses the parts it needs, so
//! every test binary leaves some helpers unused.
#![allow(dead_code)]

pub mod exporter;
pub mod observability;
pub mod pki;
pub mod prometheus;
pub mod spec;
pub mod tools;
pub mod yaml;
