//! The exposition passes the real `promtool check metrics` (the README's Metrics section):
//! the demo's, and one full of hostile task names, both as printed by the
//! real binary with `--once`; and the expositions the hermetic suite builds
//! in process from hostile input (`support::scenarios`: lone surrogates,
//! hostile names, mistyped runs with a huge reason) and from generated
//! tasks. promtool comes from `scripts/tools/prometheus.sh`; without it
//! these tests fail, never skip.

use crate::support;

use arize_sim::{generated_tasks, Scripted, SimTask, Simulator};
use support::exporter::*;
use support::scenarios::{hostile_tasks, mistyped_runs, LONE_SURROGATES};
use support::tools::{tool, PROMETHEUS};

fn assert_promtool_clean(exposition: &str) {
    let (ok, output) = promtool_check_metrics(exposition);
    assert!(ok, "promtool check metrics failed:\n{output}");
    assert!(
        output.trim().is_empty(),
        "promtool check metrics has findings:\n{output}"
    );
}

#[test]
fn promtool_is_installed() {
    // A clear failure of its own when the tool is missing.
    let path = tool("promtool", PROMETHEUS);
    let out = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .expect("promtool runs");
    assert!(out.status.success(), "{} --version failed", path.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_exposition_passes_promtool() {
    let out = run_to_end(&["--demo", "--once"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let scrape = Scrape::parse(&out.stdout);
    assert!(scrape.find("arize_task_info", &[]).len() >= 10);
    assert_promtool_clean(&out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_exposition_passes_promtool() {
    let long = "\\\"\n🚀".repeat(2_600);
    let names = [
        "say \"hi\"",
        "C:\\path\\to\\",
        "first\nsecond\n",
        "a\r\nb\tc\u{0}d",
        "🚀 ✅ 👩‍👩‍👧 日本語 ünïcödé",
        "\\n is not a newline \\\\n",
        "<script>alert(1)</script>",
        "} 1\nfake_metric 2\n# HELP x y",
        "",
        long.as_str(),
    ];
    let tasks: Vec<SimTask> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            SimTask::new(
                &format!("hostile-{i}"),
                name,
                "TEMPLATE_EVALUATION",
                true,
                ago(60),
            )
            .with_field("project_id", serde_json::json!(format!("proj\"{i}\\\n")))
            .with_field("created_by_user_id", serde_json::json!("user \"x\""))
        })
        .chain([SimTask::new(
            "id \"with\" \\odd\\ \n chars",
            "odd id",
            "Brand New \"Type\"",
            false,
            None,
        )])
        .collect();
    let sim = Simulator::start(tasks).await.unwrap();
    let url = sim.base_url();
    let out = run_once_against(
        &url,
        // Whole names: this is about escaping, not the length limit.
        &[
            "--space-name",
            "Prod\"uction\\",
            "--space-id",
            "space-1",
            "--max-label-value-length",
            "0",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let scrape = Scrape::parse(&out.stdout);
    for (i, name) in names.iter().enumerate() {
        let info = scrape.of_task("arize_task_info", &format!("hostile-{i}"));
        assert_eq!(info.len(), 1, "hostile-{i}");
        assert_eq!(info[0].labels["task_name"], *name);
        assert_eq!(info[0].labels["project_id"], format!("proj\"{i}\\\n"));
        assert_eq!(info[0].labels["space"], "space-1");
    }
    assert!(
        scrape.get("fake_metric", &[]).is_none(),
        "no injected series"
    );
    let odd = scrape.of_task("arize_task_info", "id \"with\" \\odd\\ \n chars");
    assert_eq!(odd.len(), 1);
    assert_eq!(odd[0].labels["task_type"], "brand new \"type\"");
    assert_eq!(
        scrape.value(
            "arize_tasks",
            &[("task_type", "brand new \"type\""), ("mode", "one_off")]
        ),
        1.0
    );
    assert_promtool_clean(&out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_exposition_before_any_poll_passes_promtool() {
    // What /metrics serves while the first poll runs.
    let sim = Simulator::start(vec![]).await.unwrap();
    sim.push(arize_sim::Scripted::Delay(std::time::Duration::from_secs(
        5,
    )));
    let url = sim.base_url();
    let mut p = Process::spawn(
        &[
            "--api-url",
            &url,
            "--api-key",
            "k",
            "--request-timeout",
            "30s",
        ],
        &[],
    );
    p.wait_serving().await;
    let body = get_ok(&p.url("/metrics")).await;
    let scrape = Scrape::parse(&body);
    assert_eq!(scrape.value("arize_up", &[]), 0.0);
    assert_promtool_clean(&body);
}

// ---------------------------------------------------------------------------
// The in-process expositions of the hermetic suite's hostile inputs
// ---------------------------------------------------------------------------

/// `tests/integration/polling.rs`: names decoded from lone surrogates.
#[tokio::test]
async fn lone_surrogate_names_pass_promtool() {
    let mut h = Harness::new(vec![], &[]).await;
    h.sim.push(Scripted::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: LONE_SURROGATES.to_vec(),
    });
    h.poll_ok().await;
    assert_eq!(h.scrape().find("arize_task_info", &[]).len(), 4);
    assert_promtool_clean(&h.render());
}

/// `tests/integration/polling.rs`: every escape, control characters and a
/// 10 KB name.
#[tokio::test]
async fn hostile_task_names_pass_promtool() {
    let hostile = hostile_tasks();
    let tasks = hostile
        .iter()
        .map(|(id, name)| SimTask::new(id, name, "CODE_EVALUATION", true, ago(30)))
        .collect();
    let mut h = Harness::new(tasks, &["--space-id", "space-1"]).await;
    h.poll_ok().await;
    let text = h.render();
    assert_eq!(
        Scrape::parse(&text).find("arize_task_info", &[]).len(),
        hostile.len()
    );
    assert_promtool_clean(&text);
}

/// `tests/integration/polling.rs`: a realistic account, every family.
#[tokio::test]
async fn a_generated_accounts_exposition_passes_promtool() {
    let mut h = Harness::new(generated_tasks(20, time::OffsetDateTime::now_utc()), &[]).await;
    h.poll_ok().await;
    assert_promtool_clean(&h.render());
}

/// `tests/integration/runs.rs`: a newest run with mistyped fields and a
/// huge reason.
#[tokio::test]
async fn mistyped_runs_and_a_huge_reason_pass_promtool() {
    let newest = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let task = SimTask::new("odd", "odd", "TEMPLATE_EVALUATION", true, ago(60))
        .with_runs(mistyped_runs(newest));
    let mut h = Harness::new(vec![task], &[]).await;
    h.poll_ok().await;
    let text = h.render();
    let status = Scrape::parse(&text)
        .find("arize_task_last_run_status", &[("task_id", "odd")])
        .len();
    assert_eq!(status, 1, "the run is kept");
    assert_promtool_clean(&text);
}
