//! The landing page `/`: a summary of the tasks in trouble, the last poll,
//! and one row per task, troubled tasks first, each naming its space and
//! its project or dataset.
//!
//! Order: continuous tasks that are stale, then continuous tasks that never
//! ran, then tasks whose newest finished run failed (any mode, as the
//! `ArizeTaskLastRunFailed` alert), then tasks whose newest run is stuck
//! pending or running, then continuous tasks evaluating old data (lagging),
//! then tasks whose newest finished run has too many items in error; then
//! continuous tasks whose last run is unknown; then the rest, continuous
//! before one-off. Within each group the stalest come first. At most
//! [`MAX_ROWS`] rows are written, after that order: a stale task is never
//! cut for healthy ones.
//!
//! Stuck, lagging and erroring are the judgements of [`TaskRecord`]
//! (`run_stuck`, `evaluation_lagging`, `last_run_error_ratio` above
//! `--run-error-ratio-threshold`), the thresholds the alerts read from the
//! exporter's own metrics, so the page and the alerts agree.
//!
//! Task names, space, project and dataset names, ids, failure reasons and
//! errors are untrusted text: every value is HTML-escaped as it is
//! written. The page is one `String`, with no external resources.

use std::cmp::Ordering;
use std::fmt::Write;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::response::Html;
use time::OffsetDateTime;

use super::AppState;
use crate::arize::runs::RunStatus;
use crate::snapshot::{unix_seconds, Mode, Names, TaskRecord};
use crate::snapshot::{Place, Staleness};
use crate::state::PollOutcome;

/// Rows shown; a very large account is summarised rather than listed whole.
const MAX_ROWS: usize = 1000;

/// Characters of a failure reason shown in its cell; the whole reason is
/// in the cell's tooltip.
const REASON_CHARS: usize = 120;

/// Characters of a space, project or dataset name shown in its cell; the
/// whole name is in the cell's tooltip.
const NAME_CHARS: usize = 60;

/// Why a task comes before the others: its first trouble, in page order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Stale,
    NeverRan,
    Failing,
    Stuck,
    Lagging,
    Erroring,
    Unknown,
    Healthy,
}

/// What a task is judged by: the time of the request and the thresholds
/// the exporter serves to the alert rules.
#[derive(Clone, Copy, Debug)]
struct Judge {
    /// Unix seconds.
    now: f64,
    staleness: Staleness,
    /// `--run-error-ratio-threshold`, 0 < x <= 1.
    error_ratio_threshold: f64,
}

/// A newest run still pending or running past its threshold, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stuck {
    /// `pending` or `running`.
    status: &'static str,
    for_seconds: f64,
    threshold: f64,
}

/// A continuous task, on time, evaluating data older than its stale
/// threshold, in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Lagging {
    lag: f64,
    threshold: f64,
}

/// What the page says about one task at `now`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Health {
    /// Continuous, and its last run is older than its stale threshold.
    stale: bool,
    /// Continuous, and `last_run_at` is null.
    never_ran: bool,
    /// The newest finished run failed (any mode).
    failing: bool,
    /// The newest run is pending or running past its stuck threshold
    /// ([`TaskRecord::run_stuck`]).
    stuck: Option<Stuck>,
    /// [`TaskRecord::evaluation_lagging`] (never a stale task).
    lagging: Option<Lagging>,
    /// The share of the newest finished run's items in error, when above
    /// the threshold and that run did not fail (a failed run is
    /// `failing`; the error-ratio alert leaves it to the failure alert).
    erroring: Option<f64>,
    /// Continuous, and `last_run_at` could not be read.
    unknown: bool,
}

impl Health {
    fn of(task: &TaskRecord, judge: &Judge) -> Health {
        let (now, staleness) = (judge.now, &judge.staleness);
        let continuous = task.mode == Mode::Continuous;
        let failing = task.last_run_failed();
        let stuck = task.run_stuck(now, staleness).then(|| Stuck {
            status: match task.newest_run_status() {
                Some(RunStatus::Pending) => "pending",
                _ => "running",
            },
            for_seconds: task
                .runs
                .as_deref()
                .and_then(|r| r.newest_started_at.get())
                .map_or(0.0, |started| now - started),
            threshold: task.stuck_threshold(staleness),
        });
        let lagging = task.evaluation_lagging(now, staleness).then(|| Lagging {
            lag: task.evaluation_lag(now).unwrap_or(0.0),
            threshold: task.stale_threshold(staleness),
        });
        let erroring = task
            .last_run_error_ratio()
            .filter(|&ratio| !failing && ratio > judge.error_ratio_threshold);
        Health {
            stale: task.last_run_at.is_some() && task.is_stale(now, staleness),
            never_ran: continuous && task.never_ran(),
            failing,
            stuck,
            lagging,
            erroring,
            unknown: continuous && task.last_run_unknown(),
        }
    }

    fn group(self) -> Group {
        if self.stale {
            Group::Stale
        } else if self.never_ran {
            Group::NeverRan
        } else if self.failing {
            Group::Failing
        } else if self.stuck.is_some() {
            Group::Stuck
        } else if self.lagging.is_some() {
            Group::Lagging
        } else if self.erroring.is_some() {
            Group::Erroring
        } else if self.unknown {
            Group::Unknown
        } else {
            Group::Healthy
        }
    }
}

/// The troubles over all tasks; a task with two troubles (stale and
/// failing) counts in both.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Summary {
    tasks: usize,
    continuous: usize,
    stale: usize,
    never_ran: usize,
    failing: usize,
    stuck: usize,
    lagging: usize,
    erroring: usize,
    unknown: usize,
}

impl Summary {
    fn add(&mut self, task: &TaskRecord, health: Health) {
        self.tasks += 1;
        self.continuous += usize::from(task.mode == Mode::Continuous);
        self.stale += usize::from(health.stale);
        self.never_ran += usize::from(health.never_ran);
        self.failing += usize::from(health.failing);
        self.stuck += usize::from(health.stuck.is_some());
        self.lagging += usize::from(health.lagging.is_some());
        self.erroring += usize::from(health.erroring.is_some());
        self.unknown += usize::from(health.unknown);
    }

    /// "2 stale, 1 never run — of 12 tasks (8 continuous)", or "All 12
    /// tasks healthy (8 continuous)".
    fn write(&self, out: &mut String) {
        let parts = [
            (self.stale, "stale"),
            (self.never_ran, "never run"),
            (self.failing, "failing"),
            (self.stuck, "stuck"),
            (self.lagging, "lagging"),
            (self.erroring, "erroring"),
            (self.unknown, "last run unknown"),
        ];
        let mut first = true;
        for (n, what) in parts {
            if n > 0 {
                let _ = write!(out, "{}{n} {what}", if first { "" } else { ", " });
                first = false;
            }
        }
        let plural = if self.tasks == 1 { "" } else { "s" };
        if first {
            let all = if self.tasks == 1 { "The" } else { "All" };
            let _ = write!(out, "{all} {} task{plural} healthy", self.tasks);
        } else {
            let _ = write!(out, " — of {} task{plural}", self.tasks);
        }
        let _ = write!(out, " ({} continuous)", self.continuous);
    }
}

/// The order of the page: group, then continuous before one-off, then the
/// oldest last run first (never ran and unknown before any time), then by
/// name and id so that equal tasks keep one order.
fn page_order(a: &(Group, &TaskRecord), b: &(Group, &TaskRecord)) -> Ordering {
    let last = |t: &TaskRecord| t.last_run_at.unwrap_or(f64::NEG_INFINITY);
    a.0.cmp(&b.0)
        .then(a.1.mode.cmp(&b.1.mode))
        .then(last(a.1).total_cmp(&last(b.1)))
        .then_with(|| a.1.name.cmp(&b.1.name))
        .then_with(|| a.1.id.cmp(&b.1.id))
}

/// The tasks to list, in page order, at most `limit`, and the summary of
/// all of them.
fn select<'a>(
    tasks: impl Iterator<Item = &'a TaskRecord>,
    judge: &Judge,
    limit: usize,
) -> (Vec<(Group, &'a TaskRecord)>, Summary) {
    let mut summary = Summary::default();
    let mut rows: Vec<(Group, &TaskRecord)> = tasks
        .map(|task| {
            let health = Health::of(task, judge);
            summary.add(task, health);
            (health.group(), task)
        })
        .collect();
    if rows.len() > limit && limit > 0 {
        // Only the first `limit` need sorting.
        rows.select_nth_unstable_by(limit - 1, page_order);
    }
    rows.truncate(limit);
    rows.sort_unstable_by(page_order);
    (rows, summary)
}

const HEAD: &str = concat!(
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
    "<title>Arize exporter</title><style>",
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#1a1a1a;background:#fff;line-height:1.4}",
    "h1{font-size:1.5em;margin:0 0 .5em}",
    ".demo{background:#fff4ce;border:1px solid #c9a400;padding:.5em .75em;border-radius:4px}",
    ".summary{font-size:1.15em;font-weight:600}",
    "table{border-collapse:collapse;font-size:.9em}",
    "caption{text-align:left;padding:.25em 0;color:#444}",
    "td,th{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}",
    "thead th{background:#f3f3f3;position:sticky;top:0}",
    "tbody th{font-weight:600;min-width:9em}",
    ".num{text-align:right;font-variant-numeric:tabular-nums}",
    ".nowrap{white-space:nowrap}",
    ".bad{color:#a00018;font-weight:600}.warn{color:#8a5300;font-weight:600}.ok{color:#1b5e20}",
    "tr.trouble{background:#fff5f5}",
    "code{font-size:.85em}",
    ".kind{color:#555;font-size:.85em}",
    "th.state{min-width:14em}",
    ".reason{min-width:12em;max-width:30em}",
    "</style></head><body>\n<h1>Arize exporter</h1>\n",
);

pub(super) async fn page(State(app): State<Arc<AppState>>) -> Html<String> {
    Html(render(&app, SystemTime::now()))
}

/// The page as a request at `now` sees it.
fn render(app: &AppState, now: SystemTime) -> String {
    let published = app.state.load();
    let judge = Judge {
        now: unix_seconds(now),
        staleness: app.exposition.staleness,
        error_ratio_threshold: app.exposition.run_error_ratio_threshold,
    };
    let rows_hint = published.snapshot.as_ref().map_or(0, |s| s.tasks.len());
    let mut out = String::with_capacity(4096 + 800 * rows_hint.min(MAX_ROWS));
    out.push_str(HEAD);
    if app.demo {
        out.push_str(concat!(
            "<p class=\"demo\" role=\"note\"><strong>Demo mode:</strong> these tasks come from ",
            "the built-in simulated Arize API, not from an Arize account. Run without ",
            "<code>--demo</code> and with an API key to watch real tasks.</p>\n"
        ));
    }

    let snapshot = published.snapshot.as_ref();
    if let Some(snapshot) = snapshot {
        let (rows, summary) = select(snapshot.tasks.iter(), &judge, MAX_ROWS);
        out.push_str("<p class=\"summary\" id=\"summary\">");
        summary.write(&mut out);
        out.push_str(".</p>\n");
        write_poll(&mut out, published.last_poll.as_ref(), true);
        let _ = write!(out, "<p>Data from the poll completed ");
        write_time(&mut out, unix_seconds(snapshot.completed_at));
        out.push_str(". ");
        if rows.len() < summary.tasks {
            let _ = write!(
                out,
                "<strong>Showing {} of {} tasks</strong>: the page lists at most {MAX_ROWS}, \
                 troubled tasks first; {} left out (the metrics have every task).",
                rows.len(),
                summary.tasks,
                summary.tasks - rows.len()
            );
        } else {
            let _ = write!(
                out,
                "Showing all {} tasks (the page lists at most {MAX_ROWS}, troubled tasks first).",
                summary.tasks
            );
        }
        out.push_str("</p>\n");
        write_table(&mut out, &rows, &snapshot.names, &judge);
    } else {
        write_poll(&mut out, published.last_poll.as_ref(), false);
        out.push_str("<p>No poll has completed yet: no tasks to show.</p>\n");
    }

    let _ = write!(
        out,
        "<p>Version {} (revision {}). Metrics: <a href=\"",
        env!("CARGO_PKG_VERSION"),
        env!("ARIZE_EXPORTER_REVISION"),
    );
    escape_into(&mut out, &app.telemetry_path);
    out.push_str("\">");
    escape_into(&mut out, &app.telemetry_path);
    out.push_str("</a>.</p>\n</body></html>\n");
    out
}

/// The last poll: when it ended and how; `have_data` says whether a
/// complete poll is being served.
fn write_poll(out: &mut String, last_poll: Option<&PollOutcome>, have_data: bool) {
    let Some(poll) = last_poll else {
        out.push_str("<p>Last poll: <strong>none yet</strong> (the first poll is running).</p>\n");
        return;
    };
    out.push_str("<p>Last poll: ");
    match &poll.error {
        None => out.push_str("<span class=\"ok\">succeeded</span>"),
        Some(e) => {
            out.push_str("<span class=\"bad\">failed</span> (");
            escape_into(out, &e.to_string());
            out.push(')');
        }
    }
    out.push_str(", ended ");
    write_time(out, unix_seconds(poll.finished_at));
    if poll.error.is_some() {
        out.push_str(if have_data {
            "; the page shows the last complete poll"
        } else {
            "; no poll has completed yet"
        });
    }
    out.push_str(".</p>\n");
}

fn write_table(out: &mut String, rows: &[(Group, &TaskRecord)], names: &Names, judge: &Judge) {
    out.push_str(
        "<table>\n<caption>Tasks, troubled first, then the stalest.</caption>\n<thead><tr>\
         <th scope=\"col\">Task</th><th scope=\"col\">ID</th><th scope=\"col\">Type</th>\
         <th scope=\"col\">Mode</th><th scope=\"col\">Space</th>\
         <th scope=\"col\">Project / dataset</th>\
         <th scope=\"col\" class=\"state\">State</th><th scope=\"col\">Last run (UTC)</th>\
         <th scope=\"col\" class=\"num\">Age</th>\
         <th scope=\"col\" class=\"num\">Stale after</th>\
         <th scope=\"col\" class=\"num\" title=\"how old the newest data evaluated is: \
         the end of the newest completed run&#39;s data window\">Evaluation lag</th>\
         <th scope=\"col\">Newest run</th><th scope=\"col\" class=\"num\">Successes</th>\
         <th scope=\"col\" class=\"num\">Errors</th><th scope=\"col\" class=\"num\">Skipped</th>\
         <th scope=\"col\">Failure reason</th></tr></thead>\n<tbody>\n",
    );
    let now = judge.now;
    for &(group, task) in rows {
        let health = Health::of(task, judge);
        out.push_str(if group == Group::Healthy {
            "<tr>"
        } else {
            "<tr class=\"trouble\">"
        });
        out.push_str("<th scope=\"row\">");
        escape_into(out, &task.name);
        out.push_str("</th><td><code>");
        escape_into(out, task.id.as_deref().unwrap_or(""));
        out.push_str("</code></td><td>");
        escape_into(out, &task.task_type);
        out.push_str("</td><td>");
        out.push_str(task.mode.as_str());
        out.push_str("</td>");
        let place = names.place(task.project_id.as_deref(), task.dataset_id.as_deref());
        write_place(out, task, &place);
        write_state(out, health, judge);

        out.push_str("<td class=\"nowrap\">");
        match task.last_run_at {
            Some(last) => write_time(out, last),
            None if task.last_run_unknown() => out.push_str("unreadable"),
            None => out.push_str("never"),
        }
        out.push_str("</td><td class=\"num nowrap\">");
        match task.last_run_at {
            Some(last) => write_age(out, now - last),
            None => out.push('—'),
        }
        out.push_str("</td><td class=\"num nowrap\">");
        if task.mode == Mode::Continuous {
            write_age(out, task.stale_threshold(&judge.staleness));
        } else {
            out.push_str("<span title=\"one-off tasks are not watched for staleness\">—</span>");
        }
        out.push_str("</td><td class=\"num nowrap\">");
        match task.evaluation_lag(now) {
            Some(lag) => write_age(out, lag),
            None => out.push('—'),
        }
        out.push_str("</td>");

        write_runs(out, task, now);
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The space cell and the project / dataset cell: names, with their ids
/// in the tooltip; an id alone while its name is unknown. Without a known
/// space, the space filter that found the task, as given.
fn write_place(out: &mut String, task: &TaskRecord, place: &Place<'_>) {
    out.push_str("<td>");
    match task.space.as_deref() {
        Some(filter) if place.space_id.is_empty() => escape_shortened_into(out, filter, NAME_CHARS),
        _ => write_named(out, place.space_name, place.space_id),
    }
    out.push_str("</td><td>");
    let project = task.project_id.as_deref();
    let dataset = task.dataset_id.as_deref();
    if let Some(id) = project {
        write_named(out, place.project_name, id);
    }
    if let Some(id) = dataset {
        if project.is_some() {
            out.push_str("<br>");
        }
        out.push_str("<span class=\"kind\">dataset</span> ");
        write_named(out, place.dataset_name, id);
    }
    if project.is_none() && dataset.is_none() {
        out.push('—');
    }
    out.push_str("</td>");
}

/// A name from the API, shortened, its id (and the whole name when
/// shortened) in its tooltip; the id alone when the name is unknown;
/// `—` when neither is known.
fn write_named(out: &mut String, name: &str, id: &str) {
    if name.is_empty() {
        if id.is_empty() {
            out.push('—');
        } else {
            out.push_str("<code title=\"name not known\">");
            escape_into(out, id);
            out.push_str("</code>");
        }
        return;
    }
    out.push_str("<span title=\"");
    if name.chars().nth(NAME_CHARS).is_some() {
        escape_into(out, name);
        out.push_str(", ");
    }
    out.push_str("id ");
    escape_into(out, id);
    out.push_str("\">");
    escape_shortened_into(out, name, NAME_CHARS);
    out.push_str("</span>");
}

/// The state cell: every trouble in words, with why for the troubles the
/// other cells do not show (colour only repeats them).
fn write_state(out: &mut String, health: Health, judge: &Judge) {
    let troubled = health.stale
        || health.never_ran
        || health.failing
        || health.stuck.is_some()
        || health.lagging.is_some()
        || health.erroring.is_some()
        || health.unknown;
    if !troubled {
        out.push_str("<td class=\"ok\">ok</td>");
        return;
    }
    out.push_str("<td class=\"bad\">");
    let mut first = true;
    let mut next = |out: &mut String| {
        if !first {
            out.push_str("; ");
        }
        first = false;
    };
    for (on, word) in [
        (health.stale, "stale"),
        (health.never_ran, "never ran"),
        (health.failing, "failing"),
    ] {
        if on {
            next(out);
            out.push_str(word);
        }
    }
    if let Some(stuck) = health.stuck {
        next(out);
        out.push_str("stuck: ");
        out.push_str(stuck.status);
        out.push_str(" for ");
        write_age(out, stuck.for_seconds);
        out.push_str(", threshold ");
        write_age(out, stuck.threshold);
    }
    if let Some(lagging) = health.lagging {
        next(out);
        out.push_str("lagging: data ");
        write_age(out, lagging.lag);
        out.push_str(" old, threshold ");
        write_age(out, lagging.threshold);
    }
    if let Some(ratio) = health.erroring {
        next(out);
        out.push_str("errors: ");
        write_ratio_above(out, ratio, judge.error_ratio_threshold);
        out.push_str(" of items, threshold ");
        write_percent(out, judge.error_ratio_threshold, 3);
    }
    if health.unknown {
        next(out);
        out.push_str("last run unknown");
    }
    out.push_str("</td>");
}

/// `ratio` as a percentage with the fewest decimals (up to 3) that tell
/// it from `threshold` (up to 6): 13 % beside 10 %, 10.04 % beside 10 %.
fn write_ratio_above(out: &mut String, ratio: f64, threshold: f64) {
    let decimals = (0..6)
        .find(|&d| percent(ratio, d) != percent(threshold, d))
        .unwrap_or(6);
    write_percent(out, ratio, decimals);
}

/// `ratio` (0.125) as a percentage (`12.5 %`), at most `decimals`
/// decimals, trailing zeros dropped.
fn write_percent(out: &mut String, ratio: f64, decimals: usize) {
    out.push_str(&percent(ratio, decimals));
    out.push_str(" %");
}

fn percent(ratio: f64, decimals: usize) -> String {
    let mut text = format!("{:.*}", decimals, ratio * 100.0);
    if text.contains('.') {
        let kept = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(kept);
    }
    text
}

/// The newest run's status (with how long it has been in progress), the
/// newest finished run's items and its failure reason (shortened; whole
/// in the tooltip).
fn write_runs(out: &mut String, task: &TaskRecord, now: f64) {
    let finished = task.newest_finished_run();
    out.push_str("<td>");
    let newest = task.newest_run_status();
    match newest {
        None => {}
        Some(status) if status.in_progress() => {
            escape_into(out, status.as_str());
            if let Some(started) = task.runs.as_deref().and_then(|r| r.newest_started_at.get()) {
                out.push_str(" for ");
                write_age(out, now - started);
            }
        }
        Some(status) => write_status(out, status.as_str()),
    }
    match (newest, finished) {
        (None, None) => out.push('—'),
        (None, Some(f)) => write_status(out, f.status.as_str()),
        (Some(newest), Some(f)) if *newest != f.status => {
            out.push_str(" (last: ");
            write_status(out, f.status.as_str());
            out.push(')');
        }
        (Some(_), _) => {}
    }
    out.push_str("</td>");
    for count in [
        finished.and_then(|f| f.successes.get()),
        finished.and_then(|f| f.errors.get()),
        finished.and_then(|f| f.skipped.get()),
    ] {
        out.push_str("<td class=\"num\">");
        match count {
            Some(n) => {
                let _ = write!(out, "{n}");
            }
            None => out.push('—'),
        }
        out.push_str("</td>");
    }
    match finished.and_then(|f| f.failure_reason.as_deref()) {
        Some(reason) => {
            out.push_str("<td class=\"reason\" title=\"");
            escape_into(out, reason);
            out.push_str("\">");
            escape_shortened_into(out, reason, REASON_CHARS);
            out.push_str("</td>");
        }
        None => out.push_str("<td></td>"),
    }
}
fn write_status(out: &mut String, status: &str) {
    match status {
        "failed" => out.push_str("<span class=\"bad\">failed</span>"),
        "cancelled" => out.push_str("<span class=\"warn\">cancelled</span>"),
        "completed" => out.push_str("<span class=\"ok\">completed</span>"),
        other => escape_into(out, other),
    }
}

/// `unix` seconds as `2026-11-29 17:05:09`, UTC; `?` when out of range.
fn write_time(out: &mut String, unix: f64) {
    match OffsetDateTime::from_unix_timestamp(unix.floor() as i64) {
        Ok(t) => {
            let _ = write!(
                out,
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
        }
        Err(_) => out.push('?'),
    }
}

/// A duration in seconds in its two largest units: `5d 3h`, `42m`, `1h 5m`,
/// `17s`; a negative one (a last run in the future) as `0s`.
fn write_age(out: &mut String, seconds: f64) {
    let total = if seconds.is_finite() && seconds > 0.0 {
        seconds as u64
    } else {
        0
    };
    let units = [
        (total / 86_400, 'd'),
        (total / 3_600 % 24, 'h'),
        (total / 60 % 60, 'm'),
        (total % 60, 's'),
    ];
    let Some(first) = units.iter().position(|(n, _)| *n > 0) else {
        out.push_str("0s");
        return;
    };
    let (n, unit) = units[first];
    let _ = write!(out, "{n}{unit}");
    if let Some(&(n, unit)) = units.get(first + 1) {
        if n > 0 {
            let _ = write!(out, " {n}{unit}");
        }
    }
}

/// Writes `text` escaped for HTML element content and quoted attributes.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        push_escaped(out, c);
    }
}

/// Writes `text` escaped, cut to `max` characters, the last being `…`
/// when it was cut.
fn escape_shortened_into(out: &mut String, text: &str, max: usize) {
    if text.chars().nth(max).is_none() {
        escape_into(out, text);
        return;
    }
    for c in text.chars().take(max.saturating_sub(1)) {
        push_escaped(out, c);
    }
    out.push('…');
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::arize::field::FieldWarnings;
    use crate::arize::runs::TaskRun;
    use crate::snapshot::{MaybeCount, MaybeF64, RunRecord, TaskDefinition};

    const NOW: f64 = 1_800_000_000.0;

    fn staleness() -> Staleness {
        Staleness {
            after: Duration::from_secs(3600),
            after_intervals: 3,
            min: Duration::from_secs(600),
        }
    }

    fn judge() -> Judge {
        Judge {
            now: NOW,
            staleness: staleness(),
            error_ratio_threshold: 0.1,
        }
    }

    fn definition(id: &str, mode: Mode) -> TaskDefinition {
        TaskDefinition {
            id: Some(id.into()),
            name: format!("task {id}").into(),
            task_type: "template_evaluation".into(),
            mode,
            space: None,
            project_id: None,
            dataset_id: None,
            created_by_user_id: None,
            sampling_rate: MaybeF64::NONE,
            evaluators: MaybeCount::NONE,
            evaluator_list: None,
            created_at: MaybeF64::NONE,
        }
    }

    fn task(id: &str, mode: Mode, last_run_ago: Option<f64>) -> TaskRecord {
        TaskRecord {
            definition: Arc::new(definition(id, mode)),
            last_run_at: last_run_ago.map(|ago| NOW - ago),
            last_run_unreadable: false,
            runs: None,
            updated_at: MaybeF64::NONE,
        }
    }

    fn unreadable(id: &str) -> TaskRecord {
        TaskRecord {
            last_run_unreadable: true,
            ..task(id, Mode::Continuous, None)
        }
    }

    /// `task` whose runs, newest first, are `runs` (the API's JSON).
    fn with_runs(mut task: TaskRecord, runs: Vec<serde_json::Value>) -> TaskRecord {
        let runs: Vec<TaskRun> = runs
            .into_iter()
            .map(|run| serde_json::from_value(run).unwrap())
            .collect();
        let (record, _) = RunRecord::read(
            task.id.as_deref().unwrap_or(""),
            task.last_run_at,
            runs,
            None,
            NOW,
            &mut FieldWarnings::default(),
        );
        task.runs = Some(Arc::new(record));
        task
    }

    /// `NOW - ago` seconds in RFC 3339.
    fn at(ago: f64) -> String {
        OffsetDateTime::from_unix_timestamp((NOW - ago) as i64)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    }

    /// `task` whose newest run is `status` (`PENDING`, `RUNNING`), started
    /// `ago` seconds before `NOW`, after a completed one.
    fn in_progress(task: TaskRecord, status: &str, ago: f64) -> TaskRecord {
        let started = if status == "PENDING" {
            serde_json::Value::Null
        } else {
            at(ago).into()
        };
        with_runs(
            task,
            vec![
                serde_json::json!({
                    "id": "run-2", "status": status, "created_at": at(ago),
                    "run_started_at": started,
                }),
                serde_json::json!({
                    "id": "run-1", "status": "COMPLETED", "created_at": at(ago + 86_400.0),
                    "run_started_at": at(ago + 86_400.0),
                    "run_finished_at": at(ago + 86_000.0),
                    "num_successes": 10, "num_errors": 0, "num_skipped": 0,
                }),
            ],
        )
    }

    /// `task` whose newest run finished `status` with `ok` and `errors`
    /// items, over data that ended `data_ago` seconds before `NOW`.
    fn finished(task: TaskRecord, status: &str, ok: u64, errors: u64, data_ago: f64) -> TaskRecord {
        let started = task.last_run_at.map_or(0.0, |t| NOW - t);
        with_runs(
            task,
            vec![serde_json::json!({
                "id": "run-1", "status": status, "created_at": at(started),
                "run_started_at": at(started), "run_finished_at": at(started - 30.0),
                "data_start_time": at(data_ago + 300.0), "data_end_time": at(data_ago),
                "num_successes": ok, "num_errors": errors, "num_skipped": 0,
            })],
        )
    }

    fn failed(task: TaskRecord, reason: &str) -> TaskRecord {
        with_runs(
            task,
            vec![serde_json::json!({
                "id": "run-1", "status": "FAILED",
                "created_at": "2027-01-15T08:00:00Z",
                "run_started_at": "2027-01-15T08:00:00Z",
                "run_finished_at": "2027-01-15T08:01:00Z",
                "num_successes": 7, "num_errors": 3, "num_skipped": 1,
                "failure_reason": reason,
            })],
        )
    }

    fn ids(rows: &[(Group, &TaskRecord)]) -> Vec<String> {
        rows.iter()
            .map(|(_, t)| t.id.as_deref().unwrap_or_default().to_owned())
            .collect()
    }

    /// Tasks in shuffled order: one of each trouble, and healthy ones.
    fn mixed() -> Vec<TaskRecord> {
        vec![
            task("oneoff-old", Mode::OneOff, Some(90_000.0)),
            task("oneoff-never", Mode::OneOff, None),
            task("cont-fresh", Mode::Continuous, Some(60.0)),
            failed(task("cont-failing", Mode::Continuous, Some(120.0)), "boom"),
            unreadable("cont-unknown"),
            task("cont-stale-2h", Mode::Continuous, Some(7_200.0)),
            task("cont-never", Mode::Continuous, None),
            task("cont-stale-5h", Mode::Continuous, Some(18_000.0)),
            failed(task("oneoff-failing", Mode::OneOff, Some(50_000.0)), "bad"),
            task("cont-older", Mode::Continuous, Some(1_800.0)),
        ]
    }

    #[test]
    fn trouble_comes_first_then_continuous_then_the_stalest() {
        let tasks = mixed();
        let (rows, _) = select(tasks.iter(), &judge(), MAX_ROWS);
        assert_eq!(
            ids(&rows),
            [
                "cont-stale-5h",
                "cont-stale-2h",
                "cont-never",
                "cont-failing",
                "oneoff-failing",
                "cont-unknown",
                "cont-older",
                "cont-fresh",
                "oneoff-never",
                "oneoff-old",
            ]
        );
    }

    #[test]
    fn the_row_limit_applies_after_the_order() {
        let mut tasks: Vec<TaskRecord> = (0..1100)
            .map(|i| task(&format!("oneoff-{i:04}"), Mode::OneOff, None))
            .collect();
        tasks.push(task("stale", Mode::Continuous, Some(86_400.0)));
        tasks.push(task("fresh", Mode::Continuous, Some(10.0)));
        let (rows, summary) = select(tasks.iter(), &judge(), MAX_ROWS);
        assert_eq!(rows.len(), MAX_ROWS);
        assert_eq!(ids(&rows)[..3], ["stale", "fresh", "oneoff-0000"]);
        assert_eq!(ids(&rows)[MAX_ROWS - 1], "oneoff-0997");
        assert_eq!((summary.tasks, summary.stale), (1102, 1));
        // The same order as sorting everything.
        let (all, _) = select(tasks.iter(), &judge(), usize::MAX);
        assert_eq!(ids(&all)[..MAX_ROWS], ids(&rows)[..]);
    }

    #[test]
    fn summary_counts_every_task() {
        let tasks = mixed();
        let (rows, summary) = select(tasks.iter(), &judge(), 2);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            summary,
            Summary {
                tasks: 10,
                continuous: 7,
                stale: 2,
                never_ran: 1,
                failing: 2,
                stuck: 0,
                lagging: 0,
                erroring: 0,
                unknown: 1,
            }
        );
        let mut line = String::new();
        summary.write(&mut line);
        assert_eq!(
            line,
            "2 stale, 1 never run, 2 failing, 1 last run unknown — of 10 tasks (7 continuous)"
        );
    }

    #[test]
    fn a_stale_failing_task_counts_in_both() {
        let tasks = [failed(task("a", Mode::Continuous, Some(9_000.0)), "x")];
        let (rows, summary) = select(tasks.iter(), &judge(), MAX_ROWS);
        assert_eq!(rows[0].0, Group::Stale);
        assert_eq!((summary.stale, summary.failing), (1, 1));
    }

    #[test]
    fn summary_of_healthy_tasks() {
        let tasks = [
            task("a", Mode::Continuous, Some(5.0)),
            task("b", Mode::OneOff, None),
        ];
        let (_, summary) = select(tasks.iter(), &judge(), MAX_ROWS);
        let mut line = String::new();
        summary.write(&mut line);
        assert_eq!(line, "All 2 tasks healthy (1 continuous)");
        let mut one = String::new();
        Summary {
            tasks: 1,
            ..Summary::default()
        }
        .write(&mut one);
        assert_eq!(one, "The 1 task healthy (0 continuous)");
    }

    fn age(seconds: f64) -> String {
        let mut out = String::new();
        write_age(&mut out, seconds);
        out
    }

    #[test]
    fn ages_are_compact() {
        assert_eq!(age(5.0 * 86_400.0 + 3.0 * 3600.0 + 107.0), "5d 3h");
        assert_eq!(age(5.0 * 86_400.0 + 59.0), "5d");
        assert_eq!(age(42.0 * 60.0), "42m");
        assert_eq!(age(42.0 * 60.0 + 5.9), "42m 5s");
        assert_eq!(age(3600.0 + 300.0), "1h 5m");
        assert_eq!(age(17.0), "17s");
        assert_eq!(age(0.4), "0s");
        assert_eq!(age(-30.0), "0s");
        assert_eq!(age(f64::NAN), "0s");
        assert_eq!(age(86_400.0), "1d");
    }

    #[test]
    fn escapes_markup() {
        let mut out = String::new();
        escape_into(&mut out, "<script>\"x\" & 'y'</script>");
        assert_eq!(
            out,
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn shortens_by_characters_with_an_ellipsis() {
        let mut short = String::new();
        escape_shortened_into(&mut short, "é<b>", 4);
        assert_eq!(short, "é&lt;b&gt;");
        let mut cut = String::new();
        escape_shortened_into(&mut cut, "ééé<b>cd", 5);
        assert_eq!(cut, "ééé&lt;…");
        let long = "x".repeat(300);
        let mut out = String::new();
        escape_shortened_into(&mut out, &long, REASON_CHARS);
        assert_eq!(out.chars().count(), REASON_CHARS);
        assert!(out.ends_with("x…"));
    }

    #[test]
    fn a_hostile_row_is_escaped_and_its_reason_shortened_with_a_tooltip() {
        let reason = format!(
            "<script>alert(\"pwned\")</script> & 'quoted' {}",
            "long ".repeat(40)
        );
        let mut hostile = failed(task("id\"><b>", Mode::Continuous, Some(30.0)), &reason);
        Arc::make_mut(&mut hostile.definition).name =
            "<script>alert('name')</script> & \"co\"".into();
        let mut out = String::new();
        write_table(
            &mut out,
            &[(Group::Failing, &hostile)],
            &Names::default(),
            &judge(),
        );
        assert!(!out.contains("<script>"), "{out}");
        assert!(!out.contains("<b>"), "{out}");
        assert!(out.contains(
            "<th scope=\"row\">&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; &amp; &quot;co&quot;</th>"
        ));
        assert!(out.contains("<code>id&quot;&gt;&lt;b&gt;</code>"), "{out}");
        let title = format!(
            "title=\"&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &#39;quoted&#39; {}\"",
            "long ".repeat(40)
        );
        assert!(out.contains(&title), "{out}");
        assert!(out.contains("&#39;quoted&#39; long long"));
        assert!(out.contains(" long l…</td>"), "{out}");
        assert!(out.contains("<td class=\"bad\">failing</td>"), "{out}");
        assert!(out
            .contains("<td class=\"num\">7</td><td class=\"num\">3</td><td class=\"num\">1</td>"));
        // Age beside the threshold: 30 s old, stale after --stale-after (1 h).
        assert!(
            out.contains(">30s</td><td class=\"num nowrap\">1h</td>"),
            "{out}"
        );
    }

    /// One task of each new trouble, a task near each threshold, and a
    /// stale and a failed task that also have old data or many errors.
    fn run_troubles() -> Vec<TaskRecord> {
        let mut stale_old_data = task("cont-stale-old-data", Mode::Continuous, Some(7_200.0));
        stale_old_data = finished(stale_old_data, "COMPLETED", 100, 0, 21_600.0);
        vec![
            in_progress(
                task("oneoff-running-50m", Mode::OneOff, Some(3_000.0)),
                "RUNNING",
                3_000.0,
            ),
            finished(
                task("oneoff-at-threshold", Mode::OneOff, Some(4_000.0)),
                "COMPLETED",
                90,
                10,
                4_000.0,
            ),
            finished(
                task("cont-lagging", Mode::Continuous, Some(120.0)),
                "COMPLETED",
                100,
                0,
                14_400.0,
            ),
            in_progress(
                task("oneoff-stuck", Mode::OneOff, Some(10_800.0)),
                "RUNNING",
                10_800.0,
            ),
            finished(
                task("cont-recent-data", Mode::Continuous, Some(120.0)),
                "COMPLETED",
                100,
                0,
                3_000.0,
            ),
            finished(
                task("oneoff-erroring", Mode::OneOff, Some(5_000.0)),
                "COMPLETED",
                2600,
                400,
                5_000.0,
            ),
            finished(
                task("cont-failed-erroring", Mode::Continuous, Some(60.0)),
                "FAILED",
                5,
                5,
                60.0,
            ),
            in_progress(
                task("oneoff-pending", Mode::OneOff, Some(7_200.0)),
                "PENDING",
                7_200.0,
            ),
            stale_old_data,
        ]
    }

    /// The one row of `table` whose ID cell is `id`.
    fn row<'a>(table: &'a str, id: &str) -> &'a str {
        let found: Vec<&str> = table
            .split("<tr")
            .filter(|r| r.contains(&format!("<code>{id}</code>")))
            .collect();
        assert_eq!(found.len(), 1, "one row of {id}: {table}");
        found[0]
    }

    #[test]
    fn stuck_lagging_and_erroring_tasks_are_trouble() {
        let tasks = run_troubles();
        let (rows, summary) = select(tasks.iter(), &judge(), MAX_ROWS);
        assert_eq!(
            ids(&rows),
            [
                "cont-stale-old-data",
                "cont-failed-erroring",
                "oneoff-stuck",
                "oneoff-pending",
                "cont-lagging",
                "oneoff-erroring",
                "cont-recent-data",
                "oneoff-at-threshold",
                "oneoff-running-50m",
            ]
        );
        let mut line = String::new();
        summary.write(&mut line);
        assert_eq!(
            line,
            "1 stale, 1 failing, 2 stuck, 1 lagging, 1 erroring — of 9 tasks (4 continuous)"
        );
    }

    #[test]
    fn the_state_says_which_trouble_and_why() {
        let tasks = run_troubles();
        let (rows, _) = select(tasks.iter(), &judge(), MAX_ROWS);
        let mut table = String::new();
        write_table(&mut table, &rows, &Names::default(), &judge());
        let state = |id: &str, cell: &str| {
            let row = row(&table, id);
            assert!(row.contains(cell), "{id}: {cell} in {row}");
        };
        state(
            "oneoff-stuck",
            "<td class=\"bad\">stuck: running for 3h, threshold 1h</td>",
        );
        state(
            "oneoff-pending",
            "<td class=\"bad\">stuck: pending for 2h, threshold 1h</td>",
        );
        state(
            "cont-lagging",
            "<td class=\"bad\">lagging: data 4h old, threshold 1h</td>",
        );
        state(
            "oneoff-erroring",
            "<td class=\"bad\">errors: 13 % of items, threshold 10 %</td>",
        );
        // A failed run is failing, not erroring too (as the alerts);
        // a stale task is not lagging too.
        state("cont-failed-erroring", "<td class=\"bad\">failing</td>");
        state("cont-stale-old-data", "<td class=\"bad\">stale</td>");
        for healthy in [
            "cont-recent-data",
            "oneoff-at-threshold",
            "oneoff-running-50m",
        ] {
            assert!(row(&table, healthy).starts_with("><th"), "{table}");
            state(healthy, "<td class=\"ok\">ok</td>");
        }
        // The run in progress and for how long; the evaluation lag beside
        // the stale threshold, for every task with a data window.
        state(
            "oneoff-stuck",
            "<td>running for 3h (last: <span class=\"ok\">completed</span>)</td>",
        );
        state("oneoff-running-50m", "<td>running for 50m (last: ");
        state(
            "cont-lagging",
            ">1h</td><td class=\"num nowrap\">4h</td><td><span class=\"ok\">completed</span></td>",
        );
        state(
            "cont-stale-old-data",
            ">1h</td><td class=\"num nowrap\">6h</td>",
        );
        state(
            "oneoff-stuck",
            "</span></td><td class=\"num nowrap\">—</td>",
        );
    }

    #[test]
    fn the_error_ratio_threshold_is_the_exporters() {
        let tasks = run_troubles();
        let strict = Judge {
            error_ratio_threshold: 0.05,
            ..judge()
        };
        let (rows, summary) = select(tasks.iter(), &strict, MAX_ROWS);
        assert_eq!(summary.erroring, 2);
        let mut table = String::new();
        write_table(&mut table, &rows, &Names::default(), &strict);
        assert!(
            row(&table, "oneoff-at-threshold")
                .contains("<td class=\"bad\">errors: 10 % of items, threshold 5 %</td>"),
            "{table}"
        );
        let lax = Judge {
            error_ratio_threshold: 0.2,
            ..judge()
        };
        let (_, summary) = select(tasks.iter(), &lax, MAX_ROWS);
        assert_eq!(summary.erroring, 0);
    }

    #[test]
    fn percentages_tell_the_ratio_from_the_threshold() {
        let above = |ratio: f64, threshold: f64| {
            let mut out = String::new();
            write_ratio_above(&mut out, ratio, threshold);
            out
        };
        assert_eq!(above(400.0 / 3000.0, 0.1), "13 %");
        assert_eq!(above(0.1004, 0.1), "10.04 %");
        assert_eq!(above(0.105, 0.1), "10.5 %");
        assert_eq!(above(1.0, 0.25), "100 %");
        let threshold = |t: f64| {
            let mut out = String::new();
            write_percent(&mut out, t, 3);
            out
        };
        assert_eq!(threshold(0.1), "10 %");
        assert_eq!(threshold(0.125), "12.5 %");
        assert_eq!(threshold(1.0), "100 %");
    }

    fn names() -> Names {
        use crate::snapshot::names::{DatasetName, ProjectName, SpaceName};
        use std::collections::BTreeMap;
        let space = |name: &str| SpaceName {
            name: name.into(),
            ..SpaceName::default()
        };
        let project = |name: &str, space_id: &str| ProjectName {
            name: name.into(),
            space_id: space_id.into(),
            ..ProjectName::default()
        };
        Names {
            spaces: Some(Arc::new(BTreeMap::from([(
                "sp1".into(),
                space("Prod <b>&</b>"),
            )]))),
            projects: Some(Arc::new(BTreeMap::from([
                ("p1".into(), project("Support \"Chatbot\"", "sp1")),
                (
                    "p-long".into(),
                    project(&format!("{}<i>", "L".repeat(100)), "sp1"),
                ),
            ]))),
            datasets: Some(Arc::new(BTreeMap::from([(
                "d1".into(),
                DatasetName {
                    name: "Golden 'Set'".into(),
                    space_id: "sp2".into(),
                },
            )]))),
        }
    }

    fn placed(id: &str, project: Option<&str>, dataset: Option<&str>) -> TaskRecord {
        TaskRecord {
            definition: Arc::new(TaskDefinition {
                project_id: project.map(Arc::from),
                dataset_id: dataset.map(Arc::from),
                ..definition(id, Mode::Continuous)
            }),
            ..task(id, Mode::Continuous, Some(60.0))
        }
    }

    #[test]
    fn every_row_names_its_space_and_project_escaped_with_ids_in_tooltips() {
        let tasks = [
            placed("t-project", Some("p1"), None),
            placed("t-dataset", None, Some("d1")),
            placed("t-both", Some("p1"), Some("d1")),
            placed("t-long", Some("p-long"), None),
            placed("t-unknown", Some("p\"><script>x</script>"), None),
            TaskRecord {
                definition: Arc::new(TaskDefinition {
                    space: Some("filter <space>".into()),
                    ..definition("t-filter", Mode::Continuous)
                }),
                ..task("t-filter", Mode::Continuous, Some(60.0))
            },
        ];
        let rows: Vec<(Group, &TaskRecord)> = tasks.iter().map(|t| (Group::Healthy, t)).collect();
        let mut table = String::new();
        write_table(&mut table, &rows, &names(), &judge());
        assert!(table.contains("<th scope=\"col\">Space</th>"), "{table}");
        assert!(!table.contains("<script>"), "{table}");
        assert!(!table.contains("<b>") && !table.contains("<i>"), "{table}");
        let cells = |id: &str, expected: &str| {
            let row = row(&table, id);
            assert!(row.contains(expected), "{id}: {expected} in {row}");
        };
        let prod = "<td><span title=\"id sp1\">Prod &lt;b&gt;&amp;&lt;/b&gt;</span></td>";
        let chatbot = "<span title=\"id p1\">Support &quot;Chatbot&quot;</span>";
        let golden = "<span class=\"kind\">dataset</span> \
                      <span title=\"id d1\">Golden &#39;Set&#39;</span>";
        cells("t-project", &format!("{prod}<td>{chatbot}</td>"));
        // A dataset's space, whose name is not known: its id.
        cells(
            "t-dataset",
            &format!("<td><code title=\"name not known\">sp2</code></td><td>{golden}</td>"),
        );
        // The project's space wins; the dataset under the project.
        cells("t-both", &format!("{prod}<td>{chatbot}<br>{golden}</td>"));
        // A long name: cut in the cell, whole (escaped) in the tooltip.
        let long = "L".repeat(100);
        cells(
            "t-long",
            &format!(
                "<td><span title=\"{long}&lt;i&gt;, id p-long\">{}…</span></td>",
                &long[..NAME_CHARS - 1]
            ),
        );
        // A project not listed: no space, the project's id (escaped).
        cells(
            "t-unknown",
            "<td>—</td><td><code title=\"name not known\">\
             p&quot;&gt;&lt;script&gt;x&lt;/script&gt;</code></td>",
        );
        // Neither project nor dataset: the space filter that found it.
        cells("t-filter", "<td>filter &lt;space&gt;</td><td>—</td>");
    }
}
