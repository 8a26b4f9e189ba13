//! The landing page `/` of the real binary in `--demo` mode looked at by
//! headless Chromium (a screenshot, and the parsed DOM). The page itself is
//! checked in the hermetic suite (`tests/integration/landing.rs`).

use crate::support;

use std::path::Path;
use std::process::Command;

use support::exporter::*;
use support::tools::{run, stderr, stdout, TempDir, CHROMIUM};

use arize_sim::FAILED_REASON;

// ---------------------------------------------------------------------------
// Headless Chromium against the real binary
// ---------------------------------------------------------------------------

/// Chromium, headless, with the flags that work in a container; a fresh
/// profile in `profile`.
fn chromium(profile: &Path) -> Command {
    let mut cmd = support::tools::command("chromium", CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--disable-extensions",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

#[tokio::test]
async fn headless_chromium_shows_the_demo_page() {
    let dir = TempDir::new("landing-chromium");
    let mut exporter = Process::spawn(&["--demo"], &[]);
    exporter.wait_ready().await;
    let url = exporter.url("/");

    let shot = dir.0.join("landing.png");
    let out = run(chromium(&dir.0.join("profile-shot"))
        .arg("--window-size=1600,1000")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url));
    assert!(out.status.success(), "chromium failed: {}", stderr(&out));
    let png =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot: {e}; {}", stderr(&out)));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(
        png.len() > 20_000,
        "a page with text, not a blank one: {} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("ARIZE_LANDING_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }

    let out = run(chromium(&dir.0.join("profile-dom"))
        .arg("--dump-dom")
        .arg(&url));
    assert!(out.status.success(), "chromium failed: {}", stderr(&out));
    let dom = stdout(&out);
    // Serialised by the browser from its DOM: text is unescaped where
    // HTML allows it (the apostrophes of the reason).
    assert!(
        dom.contains("<p class=\"summary\" id=\"summary\">1 stale, 1 never run, 1 failing — of 15 tasks (9 continuous).</p>"),
        "{dom}"
    );
    assert!(dom.contains("<strong>Demo mode:</strong>"), "{dom}");
    let failing = row_with(&dom, "Toxicity Guardrail Monitor");
    assert!(
        failing.contains("<td class=\"bad\">failing</td>"),
        "{failing}"
    );
    assert!(
        failing.contains("<span class=\"bad\">failed</span>"),
        "{failing}"
    );
    assert!(
        failing.contains(&format!("title=\"{FAILED_REASON}\"")),
        "{failing}"
    );
    let first = rows(&dom)[0];
    assert!(
        first.contains("RAG Retrieval Relevance"),
        "the stale task first: {first}"
    );
}
