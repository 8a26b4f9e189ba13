//! The landing page `/`: a summary of the tasks in trouble, the last poll,
//! and one row per task, troubled tasks first.
//!
//! Order: continuous tasks that are stale, then continuous tasks that never
//! ran, then tasks whose newest finished run failed (any mode, as the
//! `ArizeTaskLastRunFailed` alert), then continuous tasks whose last run is
//! unknown; then the rest, continuous before one-off. Within each group the
//! stalest come first. At most [`MAX_ROWS`] rows are written, after that
//! order: a stale task is never cut for healthy ones.
//!
//! Task names, ids, failure reasons and errors are untrusted text: every
//! value is HTML-escaped as it is written. The page is one `String`, with
//! no external resources.

use std::cmp::Ordering;
use std::fmt::Write;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::response::Html;
use time::OffsetDateTime;

use super::AppState;
use crate::snapshot::Staleness;
use crate::snapshot::{unix_seconds, Mode, TaskRecord};
use crate::state::PollOutcome;

/// Rows shown; a very large account is summarised rather than listed whole.
const MAX_ROWS: usize = 1000;

/// Characters of a failure reason shown in its cell; the whole reason is
/// in the cell's tooltip.
const REASON_CHARS: usize = 120;

/// Why a task comes before the others: its first trouble, in page order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Stale,
    NeverRan,
    Failing,
    Unknown,
    Healthy,
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
    /// Continuous, and `last_run_at` could not be read.
    unknown: bool,
}

impl Health {
    fn of(task: &TaskRecord, now: f64, staleness: &Staleness) -> Health {
        let continuous = task.mode == Mode::Continuous;
        Health {
            stale: task.last_run_at.is_some() && task.is_stale(now, staleness),
            never_ran: continuous && task.never_ran(),
            failing: task.last_run_failed(),
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
    unknown: usize,
}

impl Summary {
    fn add(&mut self, task: &TaskRecord, health: Health) {
        self.tasks += 1;
        self.continuous += usize::from(task.mode == Mode::Continuous);
        self.stale += usize::from(health.stale);
        self.never_ran += usize::from(health.never_ran);
        self.failing += usize::from(health.failing);
        self.unknown += usize::from(health.unknown);
    }

    /// "2 stale, 1 never run — of 12 tasks (8 continuous)", or "All 12
    /// tasks healthy (8 continuous)".
    fn write(&self, out: &mut String) {
        let parts = [
            (self.stale, "stale"),
            (self.never_ran, "never run"),
            (self.failing, "failing"),
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
    now: f64,
    staleness: &Staleness,
    limit: usize,
) -> (Vec<(Group, &'a TaskRecord)>, Summary) {
    let mut summary = Summary::default();
    let mut rows: Vec<(Group, &TaskRecord)> = tasks
        .map(|task| {
            let health = Health::of(task, now, staleness);
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
    ".reason{min-width:12em;max-width:30em}",
    "</style></head><body>\n<h1>Arize exporter</h1>\n",
);

pub(super) async fn page(State(app): State<Arc<AppState>>) -> Html<String> {
    Html(render(&app, SystemTime::now()))
}

/// The page as a request at `now` sees it.
fn render(app: &AppState, now: SystemTime) -> String {
    let published = app.state.load();
    let now_secs = unix_seconds(now);
    let staleness = &app.exposition.staleness;
    let rows_hint = published.snapshot.as_ref().map_or(0, |s| s.tasks.len());
    let mut out = String::with_capacity(4096 + 600 * rows_hint.min(MAX_ROWS));
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
        let (rows, summary) = select(
            snapshot.tasks.iter().map(|t| &**t),
            now_secs,
            staleness,
            MAX_ROWS,
        );
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
        write_table(&mut out, &rows, snapshot.by_space, now_secs, staleness);
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

fn write_table(
    out: &mut String,
    rows: &[(Group, &TaskRecord)],
    by_space: bool,
    now: f64,
    staleness: &Staleness,
) {
    out.push_str(
        "<table>\n<caption>Tasks, troubled first, then the stalest.</caption>\n<thead><tr>\
         <th scope=\"col\">Task</th><th scope=\"col\">ID</th><th scope=\"col\">Type</th>\
         <th scope=\"col\">Mode</th>",
    );
    if by_space {
        out.push_str("<th scope=\"col\">Space</th>");
    }
    out.push_str(
        "<th scope=\"col\">State</th><th scope=\"col\">Last run (UTC)</th>\
         <th scope=\"col\" class=\"num\">Age</th>\
         <th scope=\"col\" class=\"num\">Stale after</th>\
         <th scope=\"col\">Newest run</th><th scope=\"col\" class=\"num\">Successes</th>\
         <th scope=\"col\" class=\"num\">Errors</th><th scope=\"col\" class=\"num\">Skipped</th>\
         <th scope=\"col\">Failure reason</th></tr></thead>\n<tbody>\n",
    );
    for &(group, task) in rows {
        let health = Health::of(task, now, staleness);
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
        if by_space {
            out.push_str("<td>");
            escape_into(out, task.space.as_deref().unwrap_or(""));
            out.push_str("</td>");
        }
        write_state(out, health);

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
            write_age(out, task.stale_threshold(staleness));
        } else {
            out.push_str("<span title=\"one-off tasks are not watched for staleness\">—</span>");
        }
        out.push_str("</td>");

        write_runs(out, task);
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The state cell: every trouble in words (colour only repeats them).
fn write_state(out: &mut String, health: Health) {
    let troubles = [
        (health.stale, "stale"),
        (health.never_ran, "never ran"),
        (health.failing, "failing"),
        (health.unknown, "last run unknown"),
    ];
    if troubles.iter().any(|(on, _)| *on) {
        out.push_str("<td class=\"bad\">");
        let mut first = true;
        for (on, word) in troubles {
            if on {
                if !first {
                    out.push_str(", ");
                }
                out.push_str(word);
                first = false;
            }
        }
    } else {
        out.push_str("<td class=\"ok\">ok");
    }
    out.push_str("</td>");
}

/// The newest run's status, the newest finished run's items and its
/// failure reason (shortened; whole in the tooltip).
fn write_runs(out: &mut String, task: &TaskRecord) {
    let finished = task.newest_finished_run();
    out.push_str("<td>");
    match (task.newest_run_status(), finished) {
        (None, None) => out.push('—'),
        (Some(newest), Some(f)) if *newest != f.status => {
            escape_into(out, newest.as_str());
            out.push_str(" (last: ");
            write_status(out, f.status.as_str());
            out.push(')');
        }
        (Some(newest), _) => write_status(out, newest.as_str()),
        (None, Some(f)) => write_status(out, f.status.as_str()),
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
    use crate::snapshot::{MaybeCount, MaybeF64, RunRecord};

    const NOW: f64 = 1_800_000_000.0;

    fn staleness() -> Staleness {
        Staleness {
            after: Duration::from_secs(3600),
            after_intervals: 3,
            min: Duration::from_secs(600),
        }
    }

    fn task(id: &str, mode: Mode, last_run_ago: Option<f64>) -> TaskRecord {
        TaskRecord {
            id: Some(id.to_owned()),
            name: format!("task {id}"),
            task_type: "template_evaluation".into(),
            mode,
            space: None,
            last_run_at: last_run_ago.map(|ago| NOW - ago),
            last_run_unreadable: false,
            runs: None,
            project_id: None,
            dataset_id: None,
            created_by_user_id: None,
            sampling_rate: MaybeF64::NONE,
            evaluators: MaybeCount::NONE,
            evaluator_list: None,
            created_at: MaybeF64::NONE,
            updated_at: MaybeF64::NONE,
        }
    }

    fn unreadable(id: &str) -> TaskRecord {
        TaskRecord {
            last_run_unreadable: true,
            ..task(id, Mode::Continuous, None)
        }
    }

    /// `task` whose newest run, read from the API's JSON, is `run`.
    fn with_run(mut task: TaskRecord, run: serde_json::Value) -> TaskRecord {
        let run: TaskRun = serde_json::from_value(run).unwrap();
        let (record, _) = RunRecord::read(
            task.id.as_deref().unwrap_or(""),
            task.last_run_at,
            vec![run],
            None,
            NOW,
            &mut FieldWarnings::default(),
        );
        task.runs = Some(Arc::new(record));
        task
    }

    fn failed(task: TaskRecord, reason: &str) -> TaskRecord {
        with_run(
            task,
            serde_json::json!({
                "id": "run-1", "status": "FAILED",
                "created_at": "2027-01-15T08:00:00Z",
                "run_started_at": "2027-01-15T08:00:00Z",
                "run_finished_at": "2027-01-15T08:01:00Z",
                "num_successes": 7, "num_errors": 3, "num_skipped": 1,
                "failure_reason": reason,
            }),
        )
    }

    fn ids(rows: &[(Group, &TaskRecord)]) -> Vec<String> {
        rows.iter()
            .map(|(_, t)| t.id.clone().unwrap_or_default())
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
        let (rows, _) = select(tasks.iter(), NOW, &staleness(), MAX_ROWS);
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
        let (rows, summary) = select(tasks.iter(), NOW, &staleness(), MAX_ROWS);
        assert_eq!(rows.len(), MAX_ROWS);
        assert_eq!(ids(&rows)[..3], ["stale", "fresh", "oneoff-0000"]);
        assert_eq!(ids(&rows)[MAX_ROWS - 1], "oneoff-0997");
        assert_eq!((summary.tasks, summary.stale), (1102, 1));
        // The same order as sorting everything.
        let (all, _) = select(tasks.iter(), NOW, &staleness(), usize::MAX);
        assert_eq!(ids(&all)[..MAX_ROWS], ids(&rows)[..]);
    }

    #[test]
    fn summary_counts_every_task() {
        let tasks = mixed();
        let (rows, summary) = select(tasks.iter(), NOW, &staleness(), 2);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            summary,
            Summary {
                tasks: 10,
                continuous: 7,
                stale: 2,
                never_ran: 1,
                failing: 2,
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
        let (rows, summary) = select(tasks.iter(), NOW, &staleness(), MAX_ROWS);
        assert_eq!(rows[0].0, Group::Stale);
        assert_eq!((summary.stale, summary.failing), (1, 1));
    }

    #[test]
    fn summary_of_healthy_tasks() {
        let tasks = [
            task("a", Mode::Continuous, Some(5.0)),
            task("b", Mode::OneOff, None),
        ];
        let (_, summary) = select(tasks.iter(), NOW, &staleness(), MAX_ROWS);
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
        hostile.name = "<script>alert('name')</script> & \"co\"".to_owned();
        let mut out = String::new();
        write_table(
            &mut out,
            &[(Group::Failing, &hostile)],
            false,
            NOW,
            &staleness(),
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
}
