//! arize-exporter: a Prometheus exporter for the evaluation tasks of Arize AX.
//!
//! The data flows one way: [`config`] validates the flags; the [`poller`]
//! asks the Arize API through the [`arize`] client (one module per
//! endpoint), builds a [`snapshot`] of one complete poll and publishes it in
//! the shared [`state`]; the [`server`]'s routes render [`metrics`] from
//! whatever is published when they are scraped (the series text of each
//! snapshot is kept in the exposition's own store, built when the snapshot
//! is published), served by the [`web`] layer (listeners, TLS, basic auth).
//! [`text_format`] is a leaf the metrics write with; [`app`] wires it all. `--demo` polls the fake
//! Arize API of the `arize-sim` crate (the `demo` feature, on by default).

pub mod app;
pub mod arize;
pub mod config;
pub mod logging;
pub mod metrics;
pub mod poller;
pub mod server;
pub mod signals;
pub mod snapshot;
pub mod state;
pub mod text_format;
pub mod web;
