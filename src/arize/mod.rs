//! The Arize REST API. [`client`] knows only transport: authentication,
//! the request budget, retries and the body cap; what it reports of each
//! request is described in [`report`] and kept by whoever implements
//! [`ClientRecorder`]. A poll talks to the API through one [`Session`]
//! (the key read for that poll); [`pager`] follows cursor pagination for
//! any list endpoint; each endpoint has its own module with its path,
//! query and page type ([`tasks`] for `GET /v2/tasks`, [`runs`] for
//! `GET /v2/tasks/{task_id}/runs`, and for names [`spaces`], [`projects`],
//! [`datasets`]). A new endpoint is a new module beside
//! these and a variant of [`ApiPath`].

pub mod budget;
pub mod client;
pub mod datasets;
pub mod error;
pub mod field;
pub mod key;
pub mod pager;
pub mod projects;
pub mod report;
pub mod runs;
pub mod spaces;
pub mod tasks;

pub use client::{
    Allowance, ApiKey, ArizeClient, ClientBuildError, ClientSettings, Endpoint, Session,
};
pub use error::{ApiError, FailureReason};
pub use report::{ApiPath, ClientRecorder, RequestCode};
