//! Everything `/metrics` serves: the per-task families, described once
//! ([`families`]); their text, kept per snapshot in the exposition's own
//! [`store`] (built when a snapshot is published); the body, streamed at
//! scrape time ([`exposition`]); the name families ([`names`]); and the
//! exporter's own metrics.

pub mod exporter;
pub mod exposition;
pub mod families;
pub mod filter;
pub mod names;
pub mod settings;
pub mod store;

pub use exporter::ExporterMetrics;
pub use exposition::Exposition;
pub use filter::FamilyFilter;
pub use settings::ExpositionSettings;
