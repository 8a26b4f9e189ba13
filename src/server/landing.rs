//! The landing page: version, a link to the metrics, the last poll, and the
//! tasks, stalest first. Task names and ids are untrusted text: every value
//! is HTML-escaped.

use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::response::Html;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::AppState;
use crate::snapshot::{unix_seconds, TaskRecord};

/// Rows shown; a very large account is summarised rather than listed whole.
const MAX_ROWS: usize = 1000;

pub(super) async fn page(State(app): State<Arc<AppState>>) -> Html<String> {
    let published = app.state.load();
    let now = SystemTime::now();
    let now_secs = unix_seconds(now);
    let staleness = &app.exposition.staleness;
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>Arize exporter</title><style>",
        "body{font-family:system-ui,sans-serif;margin:2em;color:#222}",
        "table{border-collapse:collapse}td,th{padding:.25em .75em;border-bottom:1px solid #ddd;text-align:left}",
        ".stale{color:#b00020;font-weight:600}.ok{color:#1b5e20}code{font-size:.9em}.time{white-space:nowrap}",
        "</style></head><body>\n<h1>Arize exporter</h1>\n"
    ));
    let _ = writeln!(
        out,
        "<p>Version {} (revision {}). Metrics: <a href=\"{path}\">{path}</a>.</p>",
        env!("CARGO_PKG_VERSION"),
        env!("ARIZE_EXPORTER_REVISION"),
        path = escape(&app.telemetry_path),
    );
    match &published.last_poll {
        None => out
            .push_str("<p>Last poll: <strong>none yet</strong> (the first poll is running).</p>\n"),
        Some(poll) => {
            let status = match &poll.error {
                None => "<span class=\"ok\">succeeded</span>".to_owned(),
                Some(e) => format!(
                    "<span class=\"stale\">failed</span> ({})",
                    escape(&e.to_string())
                ),
            };
            let _ = writeln!(
                out,
                "<p>Last poll: {status}, ended {}.</p>",
                timestamp(unix_seconds(poll.finished_at))
            );
        }
    }
    let Some(snapshot) = &published.snapshot else {
        out.push_str("<p>No complete poll yet: no tasks to show.</p>\n</body></html>\n");
        return Html(out);
    };
    let _ = writeln!(
        out,
        "<p>{} tasks from the poll completed {}. A continuous task is stale after {}.</p>",
        snapshot.tasks.len(),
        timestamp(unix_seconds(snapshot.completed_at)),
        humantime::format_duration(staleness.after),
    );
    let mut tasks: Vec<&TaskRecord> = snapshot.tasks.iter().map(|t| &**t).collect();
    // Never-run tasks first, then the oldest last run.
    tasks.sort_by(|a, b| {
        let key = |t: &TaskRecord| t.last_run_at.unwrap_or(f64::NEG_INFINITY);
        key(a).total_cmp(&key(b))
    });
    let with_space = snapshot.by_space;
    out.push_str("<table>\n<tr><th>Task</th><th>ID</th><th>Type</th><th>Mode</th>");
    if with_space {
        out.push_str("<th>Space</th>");
    }
    out.push_str("<th>Last run</th><th>Since last run</th></tr>\n");
    for task in tasks.iter().take(MAX_ROWS) {
        let stale = task.is_stale(now_secs, staleness);
        let _ = write!(
            out,
            "<tr{}><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td>",
            if stale { " class=\"stale\"" } else { "" },
            escape(&task.name),
            escape(task.id.as_deref().unwrap_or("")),
            escape(&task.task_type),
            task.mode.as_str(),
        );
        if with_space {
            let _ = write!(
                out,
                "<td>{}</td>",
                escape(task.space.as_deref().unwrap_or(""))
            );
        }
        match task.last_run_at {
            Some(last) => {
                let age = Duration::from_secs((now_secs - last).max(0.0) as u64);
                let _ = writeln!(
                    out,
                    "<td>{}</td><td>{}</td></tr>",
                    timestamp(last),
                    humantime::format_duration(age)
                );
            }
            None if task.last_run_unreadable => {
                out.push_str("<td>unreadable</td><td>unknown</td></tr>\n")
            }
            None => out.push_str("<td>never</td><td>never ran</td></tr>\n"),
        }
    }
    out.push_str("</table>\n");
    if tasks.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "<p>… and {} more; see the metrics for all of them.</p>",
            tasks.len() - MAX_ROWS
        );
    }
    out.push_str("</body></html>\n");
    Html(out)
}

fn timestamp(unix: f64) -> String {
    OffsetDateTime::from_unix_timestamp(unix as i64)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "?".to_owned())
}

/// Escapes text for HTML element content and quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
