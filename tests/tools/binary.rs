//! The real binary's gzip-encoded `/metrics` decoded by other
//! implementations than flate2: Python's gzip module and curl
//! `--compressed`. What flate2 makes of it, scrape after scrape, is in the
//! hermetic suite (`tests/integration/binary.rs`).

use crate::support;

use arize_sim::{SimTask, Simulator};
use support::exporter::*;
use support::tools::TempDir;

#[tokio::test(flavor = "multi_thread")]
async fn python_and_curl_decode_the_gzipped_metrics_to_the_plain_body() {
    let tasks = vec![
        SimTask::new("t-fresh", "Fresh", "TEMPLATE_EVALUATION", true, ago(600)),
        SimTask::new("t-old", "Old", "CODE_EVALUATION", true, ago(2 * 86400)),
        SimTask::new("t-never", "<never>", "TEMPLATE_EVALUATION", true, None),
    ];
    let sim = Simulator::start(tasks).await.unwrap();
    let args = args_for(
        &sim.base_url(),
        &["--poll-interval", "1h", "--max-retries", "0"],
    )
    .split_off(1);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = Process::spawn(&args, &[]);
    p.wait_ready().await;
    let (_, _, plain) = metrics_with(&p, "identity").await;
    let plain = String::from_utf8(plain).unwrap();
    assert_eq!(Scrape::parse(&plain).find("arize_task_info", &[]).len(), 3);

    // The first gzip scrape compresses everything, the second copies the
    // fixed families: both through Python's gzip module.
    for scrape in ["first", "second"] {
        let (encoding, _, compressed) = metrics_with(&p, "gzip").await;
        assert_eq!(encoding.as_deref(), Some("gzip"), "{scrape}");
        let text = gunzip(&compressed);
        let dir = TempDir::new("gzip");
        let file = dir.path("body.gz");
        std::fs::write(&file, &compressed).unwrap();
        let python = std::process::Command::new("python3")
            .args([
                "-c",
                "import gzip,sys; sys.stdout.buffer.write(gzip.decompress(open(sys.argv[1],'rb').read()))",
            ])
            .arg(&file)
            .output()
            .expect("python3 runs");
        assert!(
            python.status.success(),
            "{}",
            String::from_utf8_lossy(&python.stderr)
        );
        assert!(
            String::from_utf8(python.stdout).unwrap() == text,
            "python: {scrape}"
        );
        assert!(
            without_clock(&text) == without_clock(&plain),
            "{scrape} gzip scrape differs from the plain body"
        );
    }

    // curl asks for gzip itself and decodes the stream.
    let curl = std::process::Command::new("curl")
        .args(["-sS", "--fail", "--compressed", "-D", "-"])
        .arg(p.url("/metrics"))
        .output()
        .expect("curl runs");
    assert!(
        curl.status.success(),
        "{}",
        String::from_utf8_lossy(&curl.stderr)
    );
    let out = String::from_utf8(curl.stdout).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase().contains("content-encoding: gzip"),
        "{head}"
    );
    assert!(
        without_clock(body) == without_clock(&plain),
        "curl --compressed"
    );
}
