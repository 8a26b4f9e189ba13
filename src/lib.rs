//! arize-exporter: a Prometheus exporter for the evaluation tasks of Arize AX.
//!
//! The data flows one way: the [`poller`] asks the Arize API through the
//! [`arize`] client, builds a [`snapshot`] of one complete poll and publishes
//! it in the shared [`state`]; the [`server`] renders [`metrics`] from
//! whatever is published when it is scraped. The [`simulator`] is a fake
//! Arize API for `--demo` and the tests.

pub mod app;
pub mod arize;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod poller;
pub mod server;
pub mod simulator;
pub mod snapshot;
pub mod state;
pub mod web;
