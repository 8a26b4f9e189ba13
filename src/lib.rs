//! arize-exporter: a Prometheus exporter for the evaluation tasks of Arize AX.

pub mod simulator;
