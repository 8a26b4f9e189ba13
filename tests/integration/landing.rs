//! The landing page `/`: the real app (built by `App::build` as the binary
//! builds it) polling the project's simulated Arize API, the page rendered
//! through the app's own router. Headless Chromium looking at the real
//! binary's page is in the tools suite (`tests/tools/landing.rs`).

use crate::support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use support::exporter::*;
use time::OffsetDateTime;
use tower::ServiceExt;

use arize_sim::{SimRun, SimTask, FAILED_REASON};

const TE: &str = "TEMPLATE_EVALUATION";

/// A failure reason that tries to break out of the cell and its tooltip,
/// longer than the 120 characters the cell shows.
const HOSTILE_REASON: &str = "<script>alert(\"reason\")</script> & 'the evaluator' said \
    \"no\": the integration's key was revoked, so every item of this run failed before it \
    was evaluated. THE-END";

/// A task name that tries the same.
const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)> \"Tom & Jerry's\" check";

/// `GET path` through the app's router, without a listener.
async fn get_page(h: &Harness, path: &str) -> String {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = h.app.router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

/// The text of the summary line.
fn summary(page: &str) -> &str {
    let start = page
        .find("id=\"summary\">")
        .unwrap_or_else(|| panic!("no summary line:\n{page}"))
        + "id=\"summary\">".len();
    let len = page[start..].find("</p>").unwrap();
    &page[start..start + len]
}

fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn ago(minutes: i64) -> Option<OffsetDateTime> {
    Some(OffsetDateTime::now_utc() - time::Duration::minutes(minutes))
}

/// 1,100 one-off tasks that never ran, and five continuous ones: stale,
/// never ran, failing (with a hostile reason), last run unreadable, and a
/// healthy one with a hostile name.
fn crowded_account() -> Vec<SimTask> {
    let mut tasks: Vec<SimTask> = (0..1100)
        .map(|i| {
            let id = format!("oneoff-{i:04}");
            SimTask::new(&id, &format!("One-off {i}"), TE, false, None)
        })
        .collect();
    tasks.extend([
        // Generated histories hold an occasional failed run: the newest
        // run of the healthy task is pinned to completed.
        SimTask::new("cont-healthy", HOSTILE_NAME, TE, true, ago(1))
            .running_every(Duration::from_secs(60))
            .with_newest_run("COMPLETED", None),
        SimTask::new("cont-unknown", "Unreadable Last Run", TE, true, ago(1))
            .with_field("last_run_at", json!("last tuesday")),
        SimTask::new("cont-failing", "Failing Monitor", TE, true, ago(5))
            .running_every(Duration::from_secs(300))
            .with_newest_run("FAILED", Some(HOSTILE_REASON)),
        SimTask::new("cont-never", "Never Ran Monitor", TE, true, None),
        // Every 15 minutes (completed runs), but not for three hours.
        SimTask::new("cont-stale", "Stale Monitor", TE, true, ago(180)).with_runs(
            (0..10)
                .map(|k| {
                    SimRun::completed(
                        ago(180 + 15 * k).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                        100,
                        0,
                        0,
                    )
                })
                .collect(),
        ),
    ]);
    tasks
}

#[tokio::test]
async fn trouble_leads_even_among_1100_one_off_tasks() {
    let mut h = Harness::new(crowded_account(), &[]).await;
    h.poll_ok().await;
    let page = get_page(&h, "/").await;

    assert_eq!(
        summary(&page),
        "1 stale, 1 never run, 1 failing, 1 last run unknown — of 1105 tasks (5 continuous)."
    );
    let rows = rows(&page);
    assert_eq!(rows.len(), 1000, "the row limit");
    let order: Vec<&str> = rows
        .iter()
        .take(6)
        .map(|r| {
            [
                "cont-stale",
                "cont-never",
                "cont-failing",
                "cont-unknown",
                "cont-healthy",
                "oneoff-0000",
            ]
            .into_iter()
            .find(|id| r.contains(&format!("<code>{id}</code>")))
            .unwrap_or("?")
        })
        .collect();
    assert_eq!(
        order,
        [
            "cont-stale",
            "cont-never",
            "cont-failing",
            "cont-unknown",
            "cont-healthy",
            "oneoff-0000"
        ]
    );
    assert!(
        rows[0].contains("<td class=\"bad\">stale</td>"),
        "{}",
        rows[0]
    );
    // Age beside the task's own threshold: 3 × its 15-minute interval.
    assert!(
        rows[0].contains(">3h</td><td class=\"num nowrap\">45m"),
        "{}",
        rows[0]
    );
    assert!(
        page.contains("<strong>Showing 1000 of 1105 tasks</strong>"),
        "{page}"
    );
    assert!(page.contains("105 left out"));
    assert!(!page.contains("Demo mode"), "no banner outside demo mode");
    assert!(page.contains("Last poll: <span class=\"ok\">succeeded</span>"));
}

#[tokio::test]
async fn failure_reasons_and_names_are_escaped_and_shortened_with_a_tooltip() {
    let mut h = Harness::new(crowded_account(), &[]).await;
    h.poll_ok().await;
    let page = get_page(&h, "/").await;

    assert!(!page.contains("<script>"), "raw markup from the API");
    assert!(!page.contains("<img"), "raw markup from the API");
    let failing = row_with(&page, "<code>cont-failing</code>");
    assert!(
        failing.contains("<td class=\"bad\">failing</td>"),
        "{failing}"
    );
    assert!(
        failing.contains("<span class=\"bad\">failed</span>"),
        "{failing}"
    );
    // The whole reason in the tooltip, escaped for the attribute.
    let title = format!("title=\"{}\"", escaped(HOSTILE_REASON));
    assert!(failing.contains(&title), "{failing}");
    // In the cell, its first 119 characters and an ellipsis.
    let shown: String = HOSTILE_REASON.chars().take(119).collect();
    assert!(
        failing.contains(&format!(">{}…</td>", escaped(&shown))),
        "{failing}"
    );
    assert!(!failing.contains("THE-END<"), "the cell is shortened");

    let named = row_with(&page, "<code>cont-healthy</code>");
    assert!(
        named.contains(&format!("<th scope=\"row\">{}</th>", escaped(HOSTILE_NAME))),
        "{named}"
    );
    assert!(named.contains("<td class=\"ok\">ok</td>"), "{named}");
}

#[tokio::test]
async fn demo_mode_has_a_banner_and_a_failing_task() {
    let mut h = Harness::new(Vec::new(), &["--demo"]).await;
    let before = get_page(&h, "/").await;
    assert!(
        before.contains("Last poll: <strong>none yet</strong>"),
        "{before}"
    );
    assert!(!before.contains("still serving"));
    h.poll_ok().await;
    let page = get_page(&h, "/").await;
    assert!(page.contains("<strong>Demo mode:</strong>"), "{page}");
    assert!(page.contains("built-in simulated Arize API"));
    assert_eq!(
        summary(&page),
        "1 stale, 1 never run, 1 failing, 1 stuck, 1 lagging, 1 erroring — of 15 tasks (9 continuous)."
    );
    let failing = row_with(&page, "Toxicity Guardrail Monitor");
    assert!(failing.contains(&format!("title=\"{}\"", escaped(FAILED_REASON))));
}

#[tokio::test]
async fn a_failed_first_poll_says_there_is_no_data() {
    // Nothing listens on port 9 of loopback (discard): the poll fails.
    let sim = arize_sim::Simulator::start(Vec::new()).await.unwrap();
    let mut h = Harness::with_url(sim, "http://127.0.0.1:9", &[]).await;
    let _ = h.poll_err().await;
    let page = get_page(&h, "/").await;
    assert!(page.contains("<span class=\"bad\">failed</span>"), "{page}");
    assert!(page.contains("no poll has completed yet"), "{page}");
    assert!(!page.contains("still serving"));
    assert!(!page.contains("<table"));
}
