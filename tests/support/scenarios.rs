//! Hostile inputs that both suites feed the exporter: the hermetic suite
//! checks what the exporter makes of them, the tools suite that promtool
//! accepts the exposition they end up in.

use arize_sim::SimRun;
use serde_json::json;
use time::OffsetDateTime;

/// A page of tasks whose names hold lone surrogate escapes: valid JSON by
/// the grammar of RFC 8259, and what Python's json.dumps writes for a
/// string holding a lone surrogate.
pub const LONE_SURROGATES: &[u8] = br#"{"tasks":[
        {"id":"lead","name":"a\ud800b","type":"CODE_EVALUATION"},
        {"id":"trail","name":"\uDC00x\\ud800","type":"CODE_EVALUATION"},
        {"id":"pair","name":"\ud83d\ude80 ok","type":"CODE_EVALUATION"},
        {"id":"two","name":"\ud800\ud800\udc00","type":"CODE_EVALUATION"}
    ],"pagination":{"has_more":false}}"#;

/// Names that must survive the text format: every escape, raw control
/// characters, astral-plane emoji, markup and a 10 KB name.
pub fn hostile_tasks() -> Vec<(String, String)> {
    let long: String = "Ω\\\"\n".repeat(2_500) + &"x".repeat(10_240 - 2_500 * 4);
    vec![
        ("quote".into(), "say \"hi\"".into()),
        ("backslash".into(), "C:\\path\\to\\n\\".into()),
        ("newline".into(), "first line\nsecond line\n".into()),
        ("crlf-tab".into(), "a\r\nb\tc".into()),
        ("emoji".into(), "🚀 Launch ✅ 👩‍👩‍👧 ünïcödé 日本語".into()),
        ("mixed".into(), "\\\"\n\\n\\\\\"\"}{,=".into()),
        (
            "markup".into(),
            "<script>alert(1)</script> & {a=\"b\"}".into(),
        ),
        ("empty".into(), String::new()),
        ("long".into(), long),
    ]
}

/// The runs of a task whose newest run (created at `newest`) is `FAILED`
/// with a 1.4 MB reason and mistyped fields, then runs with a mistyped
/// status and with neither `created_at` nor `run_started_at`.
pub fn mistyped_runs(newest: OffsetDateTime) -> Vec<SimRun> {
    let huge = "reason ".repeat(200_000);
    vec![
        SimRun::failed(newest, &huge)
            .with_field("num_errors", json!("many"))
            .with_field("num_successes", json!(-3))
            .with_field("run_started_at", json!(12))
            .with_field("surprise", json!({"x": [1]})),
        SimRun::completed(newest - time::Duration::minutes(5), 1, 1, 1)
            .with_field("status", json!(["COMPLETED"])),
        SimRun::completed(newest - time::Duration::minutes(10), 1, 1, 1)
            .without_field("created_at")
            .without_field("run_started_at"),
    ]
}
