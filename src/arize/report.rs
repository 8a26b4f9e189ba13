//! What the client reports of each HTTP request, in its own vocabulary:
//! which endpoint ([`ApiPath`]) and how it ended ([`RequestCode`]). The
//! client knows nothing of how this is kept; the exporter's metrics
//! implement [`ClientRecorder`].

use std::time::Duration;

use reqwest::StatusCode;

use super::error::FailureReason;

/// An endpoint of the API, named by its path template: the value of the
/// `endpoint` label, never holding ids or query strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiPath {
    /// `GET /v2/tasks`.
    Tasks,
    /// `GET /v2/tasks/{task_id}/runs`.
    TaskRuns,
    /// `GET /v2/spaces` (names, see [`super::spaces`]).
    Spaces,
    /// `GET /v2/projects` (names, see [`super::projects`]).
    Projects,
    /// `GET /v2/datasets` (names, see [`super::datasets`]).
    Datasets,
}

impl ApiPath {
    /// Every endpoint the exporter calls.
    pub const ALL: [ApiPath; 5] = [
        ApiPath::Tasks,
        ApiPath::TaskRuns,
        ApiPath::Spaces,
        ApiPath::Projects,
        ApiPath::Datasets,
    ];

    /// The endpoints read for names (`--names-refresh-interval`).
    pub const NAMES: [ApiPath; 3] = [ApiPath::Spaces, ApiPath::Projects, ApiPath::Datasets];

    /// The path template, e.g. `/v2/tasks/{task_id}/runs`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ApiPath::Tasks => "/v2/tasks",
            ApiPath::TaskRuns => "/v2/tasks/{task_id}/runs",
            ApiPath::Spaces => "/v2/spaces",
            ApiPath::Projects => "/v2/projects",
            ApiPath::Datasets => "/v2/datasets",
        }
    }
}

/// How one HTTP request ended: the `code` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestCode {
    /// The API answered with this status, and the body (if wanted) arrived.
    Status(StatusCode),
    /// No complete answer: the request, or a 2xx body, failed for this
    /// reason ([`FailureReason::Timeout`] or [`FailureReason::Transport`]).
    Failed(FailureReason),
}

impl RequestCode {
    /// The three-digit status, or the reason (`timeout`, `transport`).
    pub fn as_str(&self) -> &str {
        match self {
            RequestCode::Status(status) => status.as_str(),
            RequestCode::Failed(reason) => reason.as_str(),
        }
    }
}

/// Where the client reports what it does: every HTTP request it sent
/// (retries included) and every failed read of the key file. Called from
/// the poller's thread; must not block.
pub trait ClientRecorder: Send + Sync {
    /// One request to `path` ended with `code` after `elapsed` (from
    /// sending to the end of the body or the failure).
    fn request(&self, path: ApiPath, code: RequestCode, elapsed: Duration);

    /// `--api-key-file` could not be used for one poll (see
    /// [`ArizeClient::session`](super::ArizeClient::session)).
    fn key_file_error(&self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_their_label_values() {
        assert_eq!(RequestCode::Status(StatusCode::OK).as_str(), "200");
        assert_eq!(
            RequestCode::Status(StatusCode::TOO_MANY_REQUESTS).as_str(),
            "429"
        );
        assert_eq!(
            RequestCode::Failed(FailureReason::Timeout).as_str(),
            "timeout"
        );
        assert_eq!(ApiPath::TaskRuns.as_str(), "/v2/tasks/{task_id}/runs");
    }
}
