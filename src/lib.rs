//! arize-exporter: a Prometheus exporter for the evaluation tasks of Arize AX.
//!
//! The data flows one way: [`config`] validates the flags; the `poller`
//! asks the Arize API through the `arize` client (one module per
//! endpoint), builds a `snapshot` of one complete poll and publishes it in
//! the shared `state`; the `server`'s routes render `metrics` from
//! whatever is published when they are scraped (the series text of each
//! snapshot is kept in the exposition's own store, built when the snapshot
//! is published), served by the `web` layer (listeners, TLS, basic auth).
//! `text_format` is a leaf the metrics write with; [`app`] wires it all.
//! `--demo` polls the fake Arize API of the `arize-sim` crate (the `demo`
//! feature, on by default).
//!
//! The public surface is the binary's: [`config::Settings`] from flags, and
//! [`app::App`] / [`app::run`]. The other modules are public only so that
//! the integration tests and the benchmarks can drive the parts they
//! measure; they are hidden from the documentation and carry no promise.

pub mod app;
pub mod config;

#[doc(hidden)]
pub mod arize;
#[doc(hidden)]
pub mod logging;
#[doc(hidden)]
pub mod metrics;
#[doc(hidden)]
pub mod poller;
#[doc(hidden)]
pub mod server;
#[doc(hidden)]
pub mod signals;
#[doc(hidden)]
pub mod snapshot;
#[doc(hidden)]
pub mod state;
#[doc(hidden)]
pub mod text_format;
#[doc(hidden)]
pub mod web;
