//! The API client at its edges, in process against the simulated Arize
//! API: what a request costs the rate budget.

mod support;

use std::time::Duration;

use arize_exporter::arize::FailureReason;
use arize_sim::SimTask;
use support::exporter::*;
use support::tools::TempDir;

/// A budget of one request per 1000 s: the first request is free (the
/// burst), any later one waits about 17 minutes. A poll that gets through
/// within this bound therefore took the burst's one token.
const SLOW_RATE: &str = "0.001";
const WELL_WITHIN: Duration = Duration::from_secs(60);

fn task() -> SimTask {
    SimTask::new("t1", "one", "TEMPLATE_EVALUATION", false, None)
}

#[tokio::test]
async fn a_request_refused_before_sending_costs_no_rate_token() {
    let dir = TempDir::new("refused-token");
    // A key no HTTP header can carry: every request of the poll is refused
    // before it is sent.
    let key = dir.write("key", "bad\u{1}key");
    let key_arg = key.to_string_lossy().into_owned();
    let mut h = Harness::new(
        vec![task()],
        &[
            "--api-key-file",
            &key_arg,
            "--max-requests-per-second",
            SLOW_RATE,
            "--task-runs",
            "false",
        ],
    )
    .await;
    for _ in 0..2 {
        let polled = tokio::time::timeout(WELL_WITHIN, h.poll()).await;
        let Ok(Err(error)) = polled else {
            panic!("the poll should fail at once, refused before sending: {polled:?}");
        };
        assert_eq!(error.reason, FailureReason::Unauthorized, "{error}");
    }
    assert_eq!(h.sim.request_count(), 0, "nothing was sent");

    // The key is mended: the next poll's one request finds the burst's
    // token still there.
    dir.write("key", TEST_KEY);
    let polled = tokio::time::timeout(WELL_WITHIN, h.poll()).await;
    assert!(
        matches!(polled, Ok(Ok(()))),
        "the first request sent had to wait for a token the refused ones took"
    );
    let requests = h.sim.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
}
