//! The exposition passes the real `promtool check metrics` (the README's Metrics section):
//! the demo's, and one full of hostile task names, both as printed by the
//! real binary with `--once`. promtool comes from
//! `scripts/tools/prometheus.sh`; without it these tests fail, never skip.

mod support;

use arize_sim::{SimTask, Simulator};
use support::exporter::*;
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
        &["--space-name", "Prod\"uction\\", "--space-id", "space-1"],
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
