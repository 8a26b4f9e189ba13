//! The Arize REST API: the client (auth, budget, retries), pagination, the
//! response model and the failure reasons.

pub mod budget;
pub mod client;
pub mod error;
pub mod model;
pub mod pager;

pub use client::{ArizeClient, Credentials, Endpoint, RequestMetrics};
pub use error::{ApiError, FailureReason};
