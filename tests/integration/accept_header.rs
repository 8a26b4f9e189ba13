//! The scrape as Prometheus 3 asks for it (SPEC section 5): its default
//! `Accept` header prefers OpenMetrics and `text/plain;version=1.0.0` with
//! `escaping=allow-utf-8`, and lists `text/plain;version=0.0.4` last. The
//! exporter serves the text format 0.0.4 only, so the answer is exactly
//! that, labelled as such, with or without gzip. Hermetic: the real binary
//! against the simulated Arize API, checked in Rust only.

use crate::support;

use std::io::Read;

use arize_sim::{SimTask, Simulator};
use support::exporter::*;

/// Prometheus 3.0's `Accept` with its default scrape protocols and UTF-8
/// names allowed (its scrape manager's default since 3.0).
const PROMETHEUS_3_0: &str =
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
     application/openmetrics-text;version=0.0.1;q=0.4,\
     text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,\
     text/plain;version=0.0.4;q=0.2,*/*;q=0.1";

/// The form later 3.x releases send: the escaping on every entry and the
/// weights one step higher.
const PROMETHEUS_3_LATER: &str =
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
     application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,\
     text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
     text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2";

/// Prometheus 2's default, for comparison.
const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,\
     application/openmetrics-text;version=0.0.1;q=0.75,\
     text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The one content type the exporter serves, byte for byte.
const TEXT_0_0_4: &str = "text/plain; version=0.0.4; charset=utf-8";

fn tasks() -> Vec<SimTask> {
    vec![
        SimTask::new("t-ran", "Ran", "TEMPLATE_EVALUATION", true, ago(600)),
        SimTask::new("t-never", "Never \"ran\"", "CODE_EVALUATION", true, None),
        SimTask::new("t-once", "Once", "RUN_EXPERIMENT", false, ago(3 * 3600)),
    ]
}

/// One `GET /metrics` as Prometheus sends it: the `Content-Type`, the
/// `Content-Encoding` and the body, gzip-decoded when it came gzipped.
async fn scrape(p: &Process, accept: Option<&str>, gzip: bool) -> (String, Option<String>, String) {
    let mut request = http().get(p.url("/metrics"));
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    if gzip {
        request = request.header("Accept-Encoding", "gzip");
    }
    let response = request.send().await.expect("the scrape is answered");
    assert_eq!(response.status().as_u16(), 200, "{accept:?}, gzip {gzip}");
    let header = |name: &str| {
        let values: Vec<_> = response.headers().get_all(name).iter().collect();
        assert!(values.len() <= 1, "{name} sent {} times", values.len());
        values
            .first()
            .map(|v| v.to_str().expect("an ASCII header").to_owned())
    };
    let content_type = header("content-type").expect("a Content-Type");
    let encoding = header("content-encoding");
    let bytes = response.bytes().await.expect("the body");
    let body = if encoding.as_deref() == Some("gzip") {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .expect("a gzip body of UTF-8 text");
        text
    } else {
        String::from_utf8(bytes.to_vec()).expect("a UTF-8 body")
    };
    (content_type, encoding, body)
}

/// The body is the text format 0.0.4 and nothing of OpenMetrics: no
/// `# EOF`, no `unit`/`info`/`stateset` types, counters named with their
/// `_total`, every sample under a HELP and TYPE, the task series there.
fn assert_text_0_0_4(body: &str, what: &str) {
    assert!(
        body.ends_with('\n'),
        "{what}: the body ends with a line break"
    );
    assert!(!body.contains("# EOF"), "{what}: an OpenMetrics terminator");
    assert!(
        !body.contains("# UNIT "),
        "{what}: an OpenMetrics UNIT line"
    );
    let scrape = Scrape::parse(body);
    for (family, kind) in &scrape.types {
        assert!(
            ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind.as_str()),
            "{what}: {family} has the type {kind}, not one of the text format 0.0.4"
        );
        if kind == "counter" {
            assert!(
                family.ends_with("_total"),
                "{what}: counter {family} is declared without _total (OpenMetrics style)"
            );
        }
    }
    for sample in &scrape.samples {
        assert!(
            !sample.name.ends_with("_created"),
            "{what}: OpenMetrics _created series {}",
            sample.name
        );
    }
    assert_eq!(scrape.value("arize_up", &[]), 1.0, "{what}");
    assert_eq!(
        scrape.find("arize_task_info", &[]).len(),
        3,
        "{what}: every task"
    );
    assert!(
        scrape
            .get("arize_exporter_polls_total", &[("outcome", "success")])
            .is_some(),
        "{what}: a counter with its _total"
    );
}

/// The lines of a body that do not change between two scrapes (the ages
/// are computed at scrape time, the process collector reads the clock).
fn steady(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| !l.starts_with("process_") && !l.contains("_seconds_since_"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_3_gets_the_text_format_0_0_4_with_and_without_gzip() {
    let sim = Simulator::start(tasks())
        .await
        .expect("the simulator starts");
    let args = args_for(&sim.base_url(), &["--poll-interval", "1h"]).split_off(1);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = Process::spawn(&args, &[]);
    p.wait_ready().await;

    let (_, _, reference) = scrape(&p, None, false).await;
    assert_text_0_0_4(&reference, "no Accept");
    for (name, accept) in [
        ("Prometheus 3.0", PROMETHEUS_3_0),
        ("later Prometheus 3", PROMETHEUS_3_LATER),
        ("Prometheus 2", PROMETHEUS_2),
    ] {
        for gzip in [false, true] {
            let what = format!("{name}, gzip {gzip}");
            let (content_type, encoding, body) = scrape(&p, Some(accept), gzip).await;
            assert_eq!(content_type, TEXT_0_0_4, "{what}");
            assert_eq!(
                encoding.as_deref(),
                gzip.then_some("gzip"),
                "{what}: Content-Encoding"
            );
            assert_text_0_0_4(&body, &what);
            assert_eq!(
                steady(&body),
                steady(&reference),
                "{what}: the same exposition as without an Accept header"
            );
        }
    }
}
