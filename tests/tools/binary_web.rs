//! The real `arize-exporter` binary behind its web layer: `--web.config.file`
//! (TLS, basic auth, open probes, reload of users, bad files at start), a
//! real Prometheus scraping it over TLS with basic auth and the Helm chart's
//! rendered web configuration. Certificates are made by `openssl` at test
//! time; the clients speak real TLS (reqwest with rustls). The listeners and
//! `--web.max-requests` over plain HTTP are in the hermetic suite
//! (`tests/integration/binary_web.rs`).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use support::exporter::*;
use support::pki::{Pki, Usage};
use support::prometheus::{prometheus_value, Killed};
use support::tools::{command, run_ok, tool, TempDir, HELM, PROMETHEUS};
use support::yaml::yaml_docs;

// ---------------------------------------------------------------------------
// Certificates and web configurations
// ---------------------------------------------------------------------------

/// A CA and a server certificate from it for `localhost`, `127.0.0.1` and
/// `::1` (EC P-256), made once per test binary.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let pki = Pki::new("bin-pki", "arize-bin-test-ca");
        let san = "DNS:localhost,IP:127.0.0.1,IP:::1";
        pki.issue("server", "localhost", san, Usage::Server);
        pki
    })
}

fn pem(name: &str) -> String {
    pki().read(name)
}

/// Copies the server certificate and key (as `to_crt`, `to_key`) and the CA
/// into `dir`.
fn copy_certs(dir: &Path, to_crt: &str, to_key: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(pki().path("server.crt"), dir.join(to_crt)).unwrap();
    std::fs::copy(pki().path("server.key"), dir.join(to_key)).unwrap();
    std::fs::copy(pki().path("ca.crt"), dir.join("ca.crt")).unwrap();
}

fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// A folder with the certificates and `web.yml`: TLS and the given users.
fn tls_config(label: &str, users: &[(&str, &str)]) -> (TempDir, PathBuf) {
    let dir = TempDir::new(label);
    copy_certs(&dir.0, "server.crt", "server.key");
    let config = dir.write("web.yml", &tls_yaml(users));
    (dir, config)
}

fn tls_yaml(users: &[(&str, &str)]) -> String {
    let mut text =
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n".to_owned();
    text.push_str("basic_auth_users:\n");
    for (user, password) in users {
        text.push_str(&format!("  {user}: '{}'\n", hash(password)));
    }
    text
}

/// A client that trusts only the test CA.
fn tls_client() -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .no_gzip()
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(10))
        .add_root_certificate(reqwest::Certificate::from_pem(pem("ca.crt").as_bytes()).unwrap())
        .build()
        .unwrap()
}

/// What a GET answered: status, `WWW-Authenticate` and body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    challenge: Option<String>,
    body: String,
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    auth: Option<(&str, &str)>,
) -> Result<Answer, String> {
    let mut request = client.get(url);
    if let Some((user, password)) = auth {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.map_err(|e| format!("{e:?}"))?;
    Ok(Answer {
        status,
        challenge,
        body,
    })
}

async fn status(client: &reqwest::Client, url: &str, auth: Option<(&str, &str)>) -> u16 {
    fetch(client, url, auth)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .status
}

/// Waits (at most 20 s) until `https://…{path}` answers 200 to `client`
/// without credentials, the process still running.
async fn wait_200(p: &mut Process, client: &reqwest::Client, path: &str) {
    let url = &https(p, path);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Answer { status: 200, .. }) = fetch(client, url, None).await {
            return;
        }
        if let Some(status) = p.wait_exit(Duration::ZERO).await {
            panic!("the exporter exited with {status}:\n{}", p.stderr());
        }
        assert!(
            Instant::now() < deadline,
            "{url} never answered 200:\n{}",
            p.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn https(p: &Process, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", p.port)
}

// ---------------------------------------------------------------------------
// --web.config.file
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn tls_and_basic_auth_on_the_real_binary() {
    let (dir, config) = tls_config("bin-tls", &[("alice", "wonderland")]);
    let config_arg = config.display().to_string();
    let mut p = Process::spawn(&["--demo", "--web.config.file", &config_arg], &[]);
    let c = tls_client();
    wait_200(&mut p, &c, "/readyz").await;

    // The probes are open.
    for probe in ["/healthz", "/readyz"] {
        let answer = fetch(&c, &https(&p, probe), None).await.unwrap();
        assert_eq!(answer.status, 200, "{probe}: {answer:?}");
        assert_eq!(answer.challenge, None, "{probe}");
    }
    // Everything else needs a user: 401 with the Basic challenge.
    for path in ["/metrics", "/"] {
        for auth in [
            None,
            Some(("alice", "wrong")),
            Some(("mallory", "wonderland")),
        ] {
            let answer = fetch(&c, &https(&p, path), auth).await.unwrap();
            assert_eq!(answer.status, 401, "{path} {auth:?}");
            assert_eq!(
                answer.challenge.as_deref(),
                Some("Basic"),
                "{path} {auth:?}"
            );
        }
    }
    let alice = Some(("alice", "wonderland"));
    let metrics = fetch(&c, &https(&p, "/metrics"), alice).await.unwrap();
    assert_eq!(metrics.status, 200);
    assert_eq!(Scrape::parse(&metrics.body).value("arize_up", &[]), 1.0);
    let landing = fetch(&c, &https(&p, "/"), alice).await.unwrap();
    assert_eq!(landing.status, 200);
    assert!(
        landing.body.contains("href=\"/metrics\""),
        "{}",
        landing.body
    );

    // TLS only: plain HTTP on the same port gets Go's readable 400, not
    // the endpoint.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let answer = fetch(&plain, &p.url("/healthz"), None).await;
    assert!(
        answer
            .as_ref()
            .is_ok_and(|a| a.status == 400
                && a.body == "Client sent an HTTP request to an HTTPS server.\n"),
        "plain HTTP answered: {answer:?}"
    );

    // A user added while running is admitted without a restart; alice stays.
    dir.write(
        "web.yml",
        &tls_yaml(&[("alice", "wonderland"), ("bob", "builder")]),
    );
    let bob_url = https(&p, "/metrics");
    let deadline = Instant::now() + Duration::from_secs(20);
    while status(&c, &bob_url, Some(("bob", "builder"))).await != 200 {
        assert!(
            Instant::now() < deadline,
            "bob was never admitted:\n{}",
            p.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status(&c, &bob_url, alice).await, 200);
    assert_eq!(status(&c, &bob_url, Some(("bob", "wrong"))).await, 401);
    assert_eq!(status(&c, &https(&p, "/healthz"), None).await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_web_config_file_stops_the_binary_with_one_line() {
    let dir = TempDir::new("bin-bad-web");
    copy_certs(&dir.0, "server.crt", "server.key");
    // A hash that is not bcrypt and a plain password: neither may be echoed.
    let not_bcrypt = "$2y$10$ZZZZsecretZZZZhashZZZZ";
    let plain = "hunter2-PLAIN-secret";
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing file", None),
        ("invalid YAML", Some("basic_auth_users: [unclosed\n".into())),
        (
            "unknown key",
            Some("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth: x\n".into()),
        ),
        ("hash that is not bcrypt", Some(format!("basic_auth_users:\n  alice: '{not_bcrypt}'\n"))),
        ("plain password", Some(format!("basic_auth_users:\n  alice: {plain}\n"))),
        (
            "missing certificate",
            Some("tls_server_config:\n  cert_file: absent.crt\n  key_file: server.key\n".into()),
        ),
    ];
    for (what, text) in cases {
        let path = match &text {
            Some(text) => dir.write("web.yml", text),
            None => dir.path("absent-web.yml"),
        };
        let path = path.display().to_string();
        let out = run_to_end(&["--demo", "--web.config.file", &path], &[]).await;
        assert_eq!(out.status.code(), Some(2), "{what}: {}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{what}: one line:\n{}", out.stderr);
        assert!(
            lines[0].contains("--web.config.file"),
            "{what}: {}",
            lines[0]
        );
        for secret in ["ZZZZ", "hunter2", "secret"] {
            assert!(
                !lines[0].contains(secret),
                "{what} leaks {secret}: {}",
                lines[0]
            );
        }
        assert_eq!(out.stdout, "", "{what}");
    }
}

// ---------------------------------------------------------------------------
// A real Prometheus
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_the_binary_over_tls_with_basic_auth() {
    let (dir, config) = tls_config("bin-prometheus", &[("prometheus", "scrape-secret")]);
    let config_arg = config.display().to_string();
    let mut p = Process::spawn(&["--demo", "--web.config.file", &config_arg], &[]);
    wait_200(&mut p, &tls_client(), "/readyz").await;
    std::fs::write(dir.path("password"), "scrape-secret").unwrap();
    std::fs::write(dir.path("wrong-password"), "guess").unwrap();
    let job = |name: &str, password_file: &str| {
        format!(
            "  - job_name: {name}\n    scrape_interval: 1s\n    scheme: https\n    tls_config:\n      ca_file: {}\n    basic_auth:\n      username: prometheus\n      password_file: {}\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            dir.path("ca.crt").display(),
            dir.path(password_file).display(),
            p.port
        )
    };
    let prometheus_config = dir.write(
        "prometheus.yml",
        &format!(
            "scrape_configs:\n{}{}",
            job("arize", "password"),
            job("arize-wrong", "wrong-password")
        ),
    );
    let prometheus_port = free_port();
    let _prometheus = Killed(
        Command::new(tool("prometheus", PROMETHEUS))
            .arg(format!("--config.file={}", prometheus_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let good = prometheus_value(prometheus_port, "up{job=\"arize\"}").await;
        let wrong = prometheus_value(prometheus_port, "up{job=\"arize-wrong\"}").await;
        let arize_up = prometheus_value(prometheus_port, "arize_up{job=\"arize\"}").await;
        if let (Some(good), Some(wrong), Some(arize_up)) = (good, wrong, arize_up) {
            assert_eq!(good, "1", "scraped with the right password");
            assert_eq!(wrong, "0", "scraped with a wrong password");
            assert_eq!(arize_up, "1", "the exporter's own series arrived");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped both jobs; exporter log:\n{}",
            p.stderr()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        prometheus_value(prometheus_port, "arize_up{job=\"arize-wrong\"}").await,
        None,
        "nothing came through with the wrong password"
    );
}

// ---------------------------------------------------------------------------
// The Helm chart's web configuration
// ---------------------------------------------------------------------------

/// Where the chart mounts the TLS Secret (`web.tls.secretName`).
const CHART_TLS_DIR: &str = "/etc/arize-exporter/tls/";

#[tokio::test(flavor = "multi_thread")]
async fn the_helm_charts_web_config_is_accepted_by_the_binary() {
    let values =
        support::tools::repo().join("helm/arize-exporter/ci/web-tls-basic-auth-values.yaml");
    let rendered = run_ok(
        command("helm", HELM)
            .args([
                "template",
                "arize",
                "helm/arize-exporter",
                "--namespace",
                "observability",
            ])
            .arg("--values")
            .arg(&values),
    );
    let dir = TempDir::new("bin-helm-web");
    let docs = yaml_docs(&dir.write("manifests.yaml", &rendered));

    // The container's --web.config.file names the file inside the Secret.
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment");
    let args: Vec<&str> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("container args")
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let web_flag = args
        .iter()
        .find_map(|a| a.strip_prefix("--web.config.file="))
        .unwrap_or_else(|| panic!("no --web.config.file in {args:?}"));
    let key = Path::new(web_flag).file_name().unwrap().to_str().unwrap();
    let secret = docs
        .iter()
        .find(|d| {
            d["kind"] == "Secret"
                && d["data"].get(key).is_some()
                && d["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .ends_with("-web-config")
        })
        .unwrap_or_else(|| panic!("no web-config Secret holding {key}"));
    let encoded = secret["data"][key].as_str().unwrap();
    let web_yml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64 Secret data"),
    )
    .unwrap();
    assert!(web_yml.contains(CHART_TLS_DIR), "{web_yml}");
    assert!(web_yml.contains("basic_auth_users"), "{web_yml}");

    // The TLS Secret's files where the file expects them (the folder moved
    // under the temporary one), then the binary with the chart's flags.
    let tls_dir = dir.path("tls");
    copy_certs(&tls_dir, "tls.crt", "tls.key");
    let moved = web_yml.replace(CHART_TLS_DIR, &format!("{}/", tls_dir.display()));
    let config = dir.write(key, &moved);
    let config_arg = config.display().to_string();
    let mut flags: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| !a.starts_with("--web.config.file=") && !a.starts_with("--web.listen-address"))
        .collect();
    assert!(
        flags.contains(&"--demo"),
        "the values file is a demo: {args:?}"
    );
    flags.extend(["--web.config.file", &config_arg]);
    let mut p = Process::spawn(&flags, &[]);
    let c = tls_client();
    wait_200(&mut p, &c, "/readyz").await;
    // The password the values file's comment gives for its hash.
    let auth = Some(("prometheus", "ci-scrape-password"));
    let metrics = fetch(&c, &https(&p, "/metrics"), auth).await.unwrap();
    assert_eq!(metrics.status, 200);
    assert_eq!(Scrape::parse(&metrics.body).value("arize_up", &[]), 1.0);
    let refused = fetch(&c, &https(&p, "/metrics"), None).await.unwrap();
    assert_eq!(
        (refused.status, refused.challenge.as_deref()),
        (401, Some("Basic"))
    );
    // The headers the values ask for.
    let response = c.get(https(&p, "/healthz")).send().await.unwrap();
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

/// The web configuration of the chart's `-web-config` Secret rendered with
/// `values`, if the chart renders one, and the folder it was written to.
fn chart_web_config(values: &Path) -> Option<(TempDir, PathBuf, String)> {
    let rendered = run_ok(
        command("helm", HELM)
            .args([
                "template",
                "arize",
                "helm/arize-exporter",
                "--namespace",
                "observability",
            ])
            .arg("--values")
            .arg(values),
    );
    let dir = TempDir::new("bin-helm-each");
    let docs = yaml_docs(&dir.write("manifests.yaml", &rendered));
    let secret = docs.iter().find(|d| {
        d["kind"] == "Secret"
            && d["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("-web-config"))
    })?;
    let encoded = secret["data"]["web-config.yml"]
        .as_str()
        .expect("the Secret holds web-config.yml");
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap();
    let tls_dir = dir.path("tls");
    copy_certs(&tls_dir, "tls.crt", "tls.key");
    let moved = text.replace(CHART_TLS_DIR, &format!("{}/", tls_dir.display()));
    let config = dir.write("web-config.yml", &moved);
    Some((dir, config, text))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_web_config_the_chart_renders_starts_the_binary() {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(support::tools::repo().join("helm/arize-exporter/ci"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    files.sort();
    let mut started = Vec::new();
    for values in &files {
        let Some((_dir, config, text)) = chart_web_config(values) else {
            continue;
        };
        let name = values.file_name().unwrap().to_string_lossy().into_owned();
        let config_arg = config.display().to_string();
        let p = Process::spawn(&["--demo", "--web.config.file", &config_arg], &[]);
        let expected = format!(
            "msg=serving tls={} basic_auth={} ",
            text.contains("tls_server_config:"),
            text.contains("basic_auth_users:")
        );
        eventually(
            Duration::from_secs(20),
            &format!("{name}: {expected}"),
            || p.stderr().contains(&expected),
        )
        .await;
        started.push(name);
    }
    // The three values files with a web configuration rendered by the chart.
    assert_eq!(
        started,
        [
            "web-basic-auth-values.yaml",
            "web-client-cert-values.yaml",
            "web-tls-basic-auth-values.yaml"
        ]
    );
}
