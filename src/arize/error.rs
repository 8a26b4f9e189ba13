//! Why a request, and so a poll or a read of a task's runs, failed: the
//! `reason` label of the error counters.

use std::fmt;
use std::time::Duration;

/// The `reason` label of `arize_exporter_poll_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
    Unauthorized,
    RateLimited,
    ServerError,
    ClientError,
    Timeout,
    Transport,
    Decode,
    Pagination,
}

impl FailureReason {
    /// Every reason, so that each counter series exists from the start.
    pub const ALL: [FailureReason; 8] = [
        FailureReason::Unauthorized,
        FailureReason::RateLimited,
        FailureReason::ServerError,
        FailureReason::ClientError,
        FailureReason::Timeout,
        FailureReason::Transport,
        FailureReason::Decode,
        FailureReason::Pagination,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::Unauthorized => "unauthorized",
            FailureReason::RateLimited => "rate_limited",
            FailureReason::ServerError => "server_error",
            FailureReason::ClientError => "client_error",
            FailureReason::Timeout => "timeout",
            FailureReason::Transport => "transport",
            FailureReason::Decode => "decode",
            FailureReason::Pagination => "pagination",
        }
    }

    /// The reason a final HTTP status maps to.
    pub fn from_status(status: u16) -> FailureReason {
        match status {
            401 | 403 => FailureReason::Unauthorized,
            429 => FailureReason::RateLimited,
            408 => FailureReason::Timeout,
            500..=599 => FailureReason::ServerError,
            _ => FailureReason::ClientError,
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed API call: the reason it is counted under and a one-line message.
/// Messages never carry the API key: it only ever travels in a header.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub reason: FailureReason,
    pub message: String,
    /// The server asked to wait this long before trying again (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// Whether trying the same request again may succeed.
    pub retryable: bool,
    /// The HTTP status of the final answer, when there was one (a 404 of
    /// the runs endpoint means the task was deleted meanwhile).
    pub status: Option<u16>,
}

impl ApiError {
    /// A failure that retrying the same request cannot mend.
    pub fn fatal(reason: FailureReason, message: impl Into<String>) -> ApiError {
        ApiError {
            reason,
            message: one_line(message.into()),
            retry_after: None,
            retryable: false,
            status: None,
        }
    }

    /// A failure worth another try (408, 429, 5xx, timeout, connection error).
    pub fn transient(reason: FailureReason, message: impl Into<String>) -> ApiError {
        ApiError {
            retryable: true,
            ..ApiError::fatal(reason, message)
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Collapses whitespace so that an upstream message can never break a log line.
fn one_line(message: String) -> String {
    if message.contains(['\n', '\r']) {
        message.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        message
    }
}
