//! Everything `/metrics` serves: the task families rendered from the last
//! snapshot at scrape time, and the exporter's own metrics.

pub mod exporter;
pub mod exposition;
pub mod settings;

pub use exporter::ExporterMetrics;
pub use exposition::Exposition;
pub use settings::ExpositionSettings;
