//! The Arize REST API. [`client`] knows only transport: authentication,
//! the request budget, retries, the body cap and the request metrics;
//! [`pager`] follows cursor pagination for any list endpoint; each endpoint
//! has its own module with its path, query and page type ([`tasks`] for
//! `GET /v2/tasks`, [`runs`] for `GET /v2/tasks/{task_id}/runs`). A new
//! endpoint is a new module beside these.

pub mod budget;
pub mod client;
pub mod error;
pub mod field;
pub mod pager;
pub mod runs;
pub mod tasks;

pub use client::{Allowance, ArizeClient, ClientBuildError, Credentials, Endpoint, RequestMetrics};
pub use error::{ApiError, FailureReason};
