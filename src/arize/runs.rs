//! `GET /v2/tasks/{task_id}/runs`: the path (the task id as one
//! percent-encoded segment), the page decoded leniently, the run statuses,
//! and [`read_newest`], which reads as few pages as it takes to hold a
//! task's newest runs.
//!
//! Every run field is optional and decoded as a [`Field`], as for tasks: a
//! missing, null or mistyped field keeps the run. An element of `task_runs`
//! that is not an object is skipped. Only the envelope (`task_runs` not a
//! list, `pagination` missing or mistyped) fails the page.
//!
//! The order of the list is not documented, so the newest run is never
//! taken by position: the caller picks the greatest [`TaskRun::key`].

use std::collections::HashSet;

use serde::Deserialize;

use super::client::{Allowance, Endpoint, Session};
use super::error::ApiError;
use super::field::{self, Capped, Element, Field, Time};
use super::pager::{self, Page, Pagination};
use super::report::ApiPath;

/// The path template of the endpoint, as the `endpoint` metric label
/// (never the id).
pub const PATH: &str = ApiPath::TaskRuns.as_str();

/// `limit` of every runs request: enough runs for the run interval.
pub const PAGE_SIZE: u32 = 20;

/// Pages read at most for one task, when the first page shows that the
/// newest runs are further on (see [`read_newest`]).
pub const MAX_PAGES: usize = 10;

/// The longest `failure_reason` kept, in bytes: it is free text of any
/// length, and one is kept per task.
pub const MAX_REASON_BYTES: usize = 1024;

/// The longest status kept, in bytes (an unknown status is a label value).
pub const MAX_STATUS_BYTES: usize = 64;

/// `GET /v2/tasks/{task_id}/runs` for `task_id`, which the client
/// percent-encodes as one path segment (ids may hold `/`, `+`, `=`).
pub fn endpoint(task_id: &str) -> Endpoint {
    Endpoint::new(ApiPath::TaskRuns, ["v2", "tasks", task_id, "runs"])
}

/// A page of the endpoint: `{"task_runs": [...], "pagination": {...}}`.
#[derive(Debug, Deserialize)]
pub struct RunPage {
    pub task_runs: Vec<Element<TaskRun>>,
    pub pagination: Pagination,
}

impl Page for RunPage {
    type Item = TaskRun;
    fn into_parts(self) -> (Vec<TaskRun>, Pagination) {
        (field::items(self.task_runs, "task_runs"), self.pagination)
    }
}

/// A run as the API returns it, each field as sent (see [`Field`]).
/// Timestamps stay strings: the snapshot reads them and reports bad ones.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskRun {
    pub id: Field<String>,
    /// `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED` in any
    /// case, or a value new to this exporter; see [`RunStatus::parse`].
    pub status: Field<Capped<MAX_STATUS_BYTES>>,
    /// RFC 3339.
    pub created_at: Field<String>,
    pub run_started_at: Field<String>,
    pub run_finished_at: Field<String>,
    /// RFC 3339: the end of the data the run evaluated (null for
    /// `run_experiment` runs).
    pub data_end_time: Field<String>,
    /// Items evaluated, failed and skipped.
    pub num_successes: Field<u64>,
    pub num_errors: Field<u64>,
    pub num_skipped: Field<u64>,
    /// Free text, at most [`MAX_REASON_BYTES`] kept.
    pub failure_reason: Field<Capped<MAX_REASON_BYTES>>,
}

impl TaskRun {
    /// What orders runs from oldest to newest: `created_at`, else
    /// `run_started_at` (Unix seconds); `None` when neither is readable.
    pub fn key(&self) -> Option<f64> {
        Time::of(&self.created_at)
            .seconds()
            .or_else(|| Time::of(&self.run_started_at).seconds())
    }
}

/// The status of a run, compared case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    /// A status new to this exporter, lower-cased: kept, and not finished.
    Other(Box<str>),
}

impl RunStatus {
    /// The statuses of a finished run, as the `status` label writes them.
    pub const FINISHED: [&'static str; 3] = ["completed", "failed", "cancelled"];

    /// The status `text` names, in any case; `None` for an empty one.
    pub fn parse(text: &str) -> Option<RunStatus> {
        let text = text.trim();
        let known = [
            ("pending", RunStatus::Pending),
            ("running", RunStatus::Running),
            ("completed", RunStatus::Completed),
            ("failed", RunStatus::Failed),
            ("cancelled", RunStatus::Cancelled),
        ];
        if text.is_empty() {
            return None;
        }
        Some(
            known
                .into_iter()
                .find(|(name, _)| text.eq_ignore_ascii_case(name))
                .map_or_else(|| RunStatus::Other(text.to_lowercase().into()), |(_, s)| s),
        )
    }

    /// The `status` label value: lower case.
    pub fn as_str(&self) -> &str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Other(other) => other,
        }
    }

    /// Completed, failed or cancelled: the run will not change any more.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    /// Pending or running: the task's runs are read again next poll.
    pub fn in_progress(&self) -> bool {
        matches!(self, RunStatus::Pending | RunStatus::Running)
    }
}

/// A read of one task's runs that did not complete.
#[derive(Debug)]
pub enum ReadError {
    /// The API failed the request, or answered what cannot be used.
    Api(ApiError),
    /// The requests allowed ran out before the newest runs were reached;
    /// `pages` pages had been read, holding `runs`.
    AllowanceSpent { pages: usize, runs: Vec<TaskRun> },
}

/// The newest runs of the task `task_id`, at [`PAGE_SIZE`] a page, every
/// request taken from `allowance`.
///
/// The first page is enough when it lists the newest runs first. The list
/// order is not documented, so the page decides: if any run on it is newer
/// (by [`TaskRun::key`]) than the run listed just before it, the order is
/// not newest-first (ascending, or no order at all) and the newest runs may
/// be on later pages; the cursor is then followed to the end, at most
/// [`MAX_PAGES`] pages (a repeated or missing cursor fails the read as
/// `pagination`). Returns every run read, in no particular order.
pub async fn read_newest(
    session: &Session<'_>,
    task_id: &str,
    allowance: &Allowance,
) -> Result<Vec<TaskRun>, ReadError> {
    let endpoint = endpoint(task_id);
    let limit = PAGE_SIZE.to_string();
    let mut runs = Vec::new();
    let mut seen_cursors = HashSet::new();
    let mut cursor: Option<String> = None;
    for pages in 0..MAX_PAGES {
        if allowance.left() == 0 {
            return Err(ReadError::AllowanceSpent { pages, runs });
        }
        let mut query = vec![("limit", limit.as_str())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor));
        }
        let page: RunPage = session
            .get_json_within(&endpoint, &query, allowance)
            .await
            .map_err(ReadError::Api)?;
        let (mut items, pagination) = page.into_parts();
        for run in &mut items {
            // Free text from the API: it may echo the key.
            if let Field::Value(reason) = &mut run.failure_reason {
                if let std::borrow::Cow::Owned(masked) = session.mask(&reason.text) {
                    reason.text = masked;
                }
            }
        }
        let enough = pages == 0 && newest_first(&items);
        runs.extend(items);
        if !pagination.has_more || enough {
            return Ok(runs);
        }
        cursor = Some(
            pager::next_cursor(&endpoint, pagination, &mut seen_cursors).map_err(ReadError::Api)?,
        );
    }
    tracing::debug!(
        task_id,
        pages = MAX_PAGES,
        "a task's runs go on beyond the pages read; using the newest of those read"
    );
    Ok(runs)
}

/// No run (with a key) is newer than the one listed before it. A page
/// with fewer than two such runs shows no order, and counts as newest-first.
fn newest_first(runs: &[TaskRun]) -> bool {
    let mut keys = runs.iter().filter_map(TaskRun::key);
    let Some(mut before) = keys.next() else {
        return true;
    };
    for key in keys {
        if key > before {
            return false;
        }
        before = key;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(json: &str) -> RunPage {
        serde_json::from_str(json).unwrap()
    }

    fn runs(created: &[&str]) -> Vec<TaskRun> {
        created
            .iter()
            .map(|t| TaskRun {
                created_at: Field::Value((*t).to_owned()),
                ..TaskRun::default()
            })
            .collect()
    }

    #[test]
    fn the_id_is_one_segment_and_the_template_never_holds_it() {
        let e = endpoint("a/b+c=");
        assert_eq!(e.template(), "/v2/tasks/{task_id}/runs");
        assert_eq!(e.segments, ["v2", "tasks", "a/b+c=", "runs"]);
    }

    #[test]
    fn statuses_are_read_in_any_case_and_unknown_ones_kept_lower_case() {
        assert_eq!(RunStatus::parse("COMPLETED"), Some(RunStatus::Completed));
        assert_eq!(RunStatus::parse("Failed"), Some(RunStatus::Failed));
        assert_eq!(RunStatus::parse("cancelled"), Some(RunStatus::Cancelled));
        assert_eq!(RunStatus::parse(" running "), Some(RunStatus::Running));
        let other = RunStatus::parse("TIMED_OUT").unwrap();
        assert_eq!(other.as_str(), "timed_out");
        assert!(!other.is_finished() && !other.in_progress());
        assert_eq!(RunStatus::parse(""), None);
        assert!(RunStatus::Failed.is_finished() && RunStatus::Pending.in_progress());
    }

    #[test]
    fn mistyped_fields_keep_the_run_and_huge_reasons_are_cut() {
        let reason = "x".repeat(10_000);
        let page = page(&format!(
            r#"{{"task_runs":[{{"id":"r","status":7,"num_errors":"3","num_successes":-1,
                "created_at":{{"a":1}},"failure_reason":"{reason}","extra":[1]}},null,"junk"],
                "pagination":{{"has_more":false}}}}"#
        ));
        let (runs, _) = page.into_parts();
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!(run.status.mistyped(), Some(field::JsonKind::Number));
        assert_eq!(run.num_errors.mistyped(), Some(field::JsonKind::String));
        assert_eq!(run.num_successes.mistyped(), Some(field::JsonKind::Number));
        assert_eq!(run.key(), None);
        let kept = run.failure_reason.as_value().unwrap();
        assert_eq!((kept.text.len(), kept.cut), (MAX_REASON_BYTES, true));
    }

    #[test]
    fn only_a_wrong_envelope_is_an_error() {
        for envelope in [
            r#"{"pagination":{"has_more":false}}"#,
            r#"{"task_runs":{},"pagination":{"has_more":false}}"#,
            r#"{"task_runs":[]}"#,
            r#"{"task_runs":[],"pagination":{"has_more":"no"}}"#,
            r#"{"task_runs":[],"pagination":{"has_more":true,"next_cursor":7}}"#,
        ] {
            assert!(
                serde_json::from_str::<RunPage>(envelope).is_err(),
                "{envelope}"
            );
        }
    }

    #[test]
    fn the_key_is_created_at_else_the_start() {
        let run: TaskRun = serde_json::from_str(
            r#"{"created_at":"yesterday","run_started_at":"1970-01-01T00:01:40Z"}"#,
        )
        .unwrap();
        assert_eq!(run.key(), Some(100.0));
        let run: TaskRun = serde_json::from_str(
            r#"{"created_at":"1970-01-01T00:00:10Z","run_started_at":"1970-01-01T00:01:40Z"}"#,
        )
        .unwrap();
        assert_eq!(run.key(), Some(10.0));
    }

    #[test]
    fn a_page_is_newest_first_unless_some_run_is_newer_than_the_one_before() {
        let t = |s: u32| format!("1970-01-01T00:00:{s:02}Z");
        let (a, b, c) = (t(1), t(2), t(3));
        assert!(newest_first(&runs(&[&c, &b, &a])));
        assert!(newest_first(&runs(&[&c, &c, &a])), "ties are in order");
        assert!(!newest_first(&runs(&[&a, &b, &c])), "ascending");
        assert!(!newest_first(&runs(&[&c, &a, &b])), "shuffled");
        assert!(!newest_first(&runs(&[&b, &c, &a])), "shuffled");
        assert!(newest_first(&runs(&[&c, "junk", &a])), "unreadable skipped");
        assert!(newest_first(&runs(&[&a])) && newest_first(&[]));
    }
}
