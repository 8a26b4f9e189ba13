//! Drift of the upstream API: TLS certificate errors (SPEC section 3),
//! against `openssl s_server` with certificates made by `openssl`: an
//! untrusted CA, the CA given by `SSL_CERT_FILE` or `SSL_CERT_DIR`, an
//! expired certificate and one for another host. Each test asserts the
//! exact metrics and the reason counted. The other kinds of drift are in the
//! hermetic suite (`tests/integration/drift.rs`).

use crate::support;

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arize_exporter::arize::FailureReason;
use arize_sim::Simulator;
use serde_json::json;
use support::exporter::*;
use support::pki::{Pki, Usage};
use support::tools::{self, TempDir};

// ---------------------------------------------------------------------------
// TLS certificate errors
// ---------------------------------------------------------------------------

/// A private CA and server certificates it signed: `good` for this host,
/// `wrong-host` for another one, and `expired`.
fn drift_pki() -> Pki {
    let pki = Pki::new("drift-pki", "drift test CA");
    let cn = "drift test server";
    pki.issue("good", cn, "IP:127.0.0.1,DNS:localhost", Usage::Server);
    pki.issue("wrong-host", cn, "DNS:api.elsewhere.test", Usage::Server);
    pki.issue_expired("expired", cn, "IP:127.0.0.1", Usage::Server);
    pki
}

/// `openssl s_server -WWW` with the certificate `name` of `pki`, serving
/// the files of `root` (the page `--once` asks for is
/// `v2/tasks?limit=100`); killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start(pki: &Pki, name: &str, root: &Path) -> TlsServer {
        let port = free_port();
        let child = Command::new(tools::tool("openssl", tools::OPENSSL))
            .args(["s_server", "-quiet", "-WWW", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(pki.path(&format!("{name}.crt")))
            .arg("-key")
            .arg(pki.path(&format!("{name}.key")))
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s_server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsServer { child, port }
    }

    fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder holding the one page of tasks `--once` fetches.
fn web_root() -> TempDir {
    let root = TempDir::new("drift-www");
    std::fs::create_dir_all(root.path("v2")).expect("mkdir");
    let page = json!({
        "tasks": [{"id": "tls", "name": "behind a private CA", "type": "CODE_EVALUATION",
                   "is_continuous": false, "sampling_rate": 0.5}],
        "pagination": {"has_more": false}
    });
    std::fs::write(root.path("v2/tasks?limit=100"), page.to_string()).expect("write page");
    root
}

#[tokio::test]
async fn an_untrusted_certificate_fails_at_once_as_transport() {
    let pki = drift_pki();
    let root = web_root();
    let server = TlsServer::start(&pki, "good", &root.0);
    let sim = Simulator::start(vec![]).await.expect("simulator");
    let mut h = Harness::with_url(sim, &server.url("127.0.0.1"), &["--max-retries", "3"]).await;
    let err = h.poll_fails_with(FailureReason::Transport).await;
    assert!(
        err.message
            .contains("the server's TLS certificate is not trusted")
            && err.message.contains("SSL_CERT_FILE"),
        "{err}"
    );
    assert!(!err.message.contains('\n'), "one line: {err}");
    let s = h.scrape();
    assert_eq!(requests_with(&s, "transport"), 1.0, "not retried");
    assert_eq!(all_requests(&s), 1.0);
    assert_eq!(poll_errors(&s), only_errors("transport", 1.0));
    assert_eq!(s.value("arize_up", &[]), 0.0);
    // A second poll tries again, once.
    h.poll_fails_with(FailureReason::Transport).await;
    assert_eq!(requests_with(&h.scrape(), "transport"), 2.0);
}

#[tokio::test]
async fn ssl_cert_file_or_dir_pointing_at_the_private_ca_makes_the_server_trusted() {
    let pki = drift_pki();
    let root = web_root();
    let server = TlsServer::start(&pki, "good", &root.0);
    let url = server.url("127.0.0.1");
    let ca_dir = TempDir::new("drift-ca-dir");
    std::fs::copy(pki.path("ca.crt"), ca_dir.path("private-ca.pem")).expect("copy");
    let ca_dir_path = ca_dir.0.display().to_string();
    for env in [
        [("SSL_CERT_FILE", pki.path("ca.crt").display().to_string())],
        [("SSL_CERT_DIR", ca_dir_path.clone())],
    ] {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let run = run_once_against(&url, &["--max-retries", "0"], &env).await;
        assert!(run.status.success(), "{env:?}: {}", run.stderr);
        let s = Scrape::parse(&run.stdout);
        assert_eq!(s.value("arize_up", &[]), 1.0);
        assert_eq!(info_ids(&s), BTreeSet::from(["tls".to_owned()]));
        assert_eq!(s.task_value("arize_task_sampling_rate", "tls"), 0.5);
    }
    // Without it, the same server is refused.
    let run = run_once_against(&url, &["--max-retries", "3"], &[]).await;
    assert!(!run.status.success());
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("transport") && last.contains("certificate is not trusted"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("retrying"),
        "not retried: {}",
        run.stderr
    );
}

#[tokio::test]
async fn expired_and_wrong_host_certificates_fail_at_once_with_their_own_reason() {
    let pki = drift_pki();
    let root = web_root();
    let ca = pki.path("ca.crt").display().to_string();
    for (name, says) in [
        ("expired", "certificate has expired"),
        ("wrong-host", "certificate is not valid for this host name"),
    ] {
        let server = TlsServer::start(&pki, name, &root.0);
        let run = run_once_against(
            &server.url("127.0.0.1"),
            &["--max-retries", "3"],
            &[("SSL_CERT_FILE", &ca)],
        )
        .await;
        assert!(!run.status.success(), "{name}");
        let last = run.stderr.lines().last().unwrap_or_default();
        assert!(
            last.contains("transport") && last.contains(says) && last.contains("SSL_CERT_FILE"),
            "{name}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("retrying"),
            "{name}: not retried: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{name}: {}", run.stdout);
    }
}
