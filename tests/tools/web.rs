//! The web layer end to end over TLS: `arize_exporter::web::serve` with a
//! tiny router (`support::web`), certificates made by `openssl` at test
//! time, and clients that speak real TLS (reqwest with rustls, and curl);
//! a real Prometheus scraping it. Its plain HTTP tests are in the hermetic
//! suite (`tests/integration/web.rs`).

use crate::support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arize_exporter::web::WebConfigHandle;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use support::pki::{Pki, Usage};
use support::prometheus::{prometheus_value, Killed};
use support::tools::{self, TempDir};
use support::web::*;

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

/// A CA, two server certificates from it (IP and DNS SANs), a client
/// certificate from it, and an unrelated self-signed one; made once per
/// test binary.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let pki = Pki::new("web-pki", "arize-test-ca");
        let server_san = "DNS:localhost,IP:127.0.0.1,IP:::1";
        pki.issue("server", "localhost", server_san, Usage::Server);
        pki.issue("server2", "rotated", server_san, Usage::Server);
        let client_san = "DNS:scraper.example,URI:spiffe://test/scraper";
        pki.issue("client", "scraper", client_san, Usage::Client);
        pki.self_signed("other", "scraper", "DNS:scraper.example", Usage::Client);
        pki
    })
}

/// A certificate file of `pki()` as DER, as a TLS server sends it.
fn der(name: &str) -> Vec<u8> {
    CertificateDer::from_pem_file(pki().path(name))
        .unwrap()
        .as_ref()
        .to_vec()
}

// ---------------------------------------------------------------------------
// Server and clients
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Identity {
    None,
    FromCa,
    Unrelated,
}

fn client_with(
    identity: Identity,
    tweak: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
) -> reqwest::Client {
    let pki = pki();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        .no_gzip()
        .tls_built_in_root_certs(false)
        .tls_info(true)
        .timeout(Duration::from_secs(10))
        .add_root_certificate(
            reqwest::Certificate::from_pem(pki.read("ca.crt").as_bytes()).unwrap(),
        );
    let pem = match identity {
        Identity::None => None,
        Identity::FromCa => Some(pki.read("client.crt") + &pki.read("client.key")),
        Identity::Unrelated => Some(pki.read("other.crt") + &pki.read("other.key")),
    };
    if let Some(pem) = pem {
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    tweak(builder).build().unwrap()
}

fn client(identity: Identity) -> reqwest::Client {
    client_with(identity, |b| b)
}

fn tls_dir(label: &str, extra: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(label);
    pki().copy_to(&dir.0, &["server.crt", "server.key", "ca.crt"]);
    let config = dir.write(
        "web.yml",
        &format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra}"),
    );
    (dir, config)
}

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

#[tokio::test]
async fn tls_is_served_and_plain_http_refused() {
    let (_dir, config) = tls_dir("tls-basic", "");
    let server = Server::tls(&config).await;
    assert_eq!(
        fetch(&client(Identity::None), &server.https("/metrics"), None).await,
        Ok((200, METRICS.into()))
    );
    let plain = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // Refused with Go's readable 400, not served.
    let answer = fetch(&plain, &server.http("/metrics"), None).await;
    assert_eq!(
        answer,
        Ok((
            400,
            "Client sent an HTTP request to an HTTPS server.\n".into()
        )),
        "plain HTTP to the TLS listener"
    );
    // HTTP/2 by ALPN by default.
    let response = client(Identity::None)
        .get(server.https("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
}

#[tokio::test]
async fn http2_can_be_switched_off() {
    let (_dir, config) = tls_dir("tls-h1", "http_server_config:\n  http2: false\n");
    let server = Server::tls(&config).await;
    let response = client(Identity::None)
        .get(server.https("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
}

#[tokio::test]
async fn inline_certificate_and_key() {
    let pki = pki();
    let indent = |text: String| {
        text.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    };
    let dir = TempDir::new("tls-inline");
    let config = dir.write(
        "web.yml",
        &format!(
            "tls_server_config:\n  cert: |\n{}  key: |\n{}",
            indent(pki.read("server.crt")),
            indent(pki.read("server.key"))
        ),
    );
    let server = Server::tls(&config).await;
    assert_eq!(
        fetch(&client(Identity::None), &server.https("/"), None).await,
        Ok((200, "home\n".into()))
    );
}

#[tokio::test]
async fn every_client_auth_type_is_honoured() {
    use Identity::*;
    // (client_auth_type, with CA, [no cert, cert from the CA, unrelated cert] served?)
    let cases = [
        ("NoClientCert", false, [true, true, true]),
        ("RequestClientCert", false, [true, true, true]),
        ("RequireAnyClientCert", false, [false, true, true]),
        ("VerifyClientCertIfGiven", true, [true, true, false]),
        ("RequireAndVerifyClientCert", true, [false, true, false]),
    ];
    for (auth_type, with_ca, expected) in cases {
        let ca = if with_ca {
            "  client_ca_file: ca.crt\n"
        } else {
            ""
        };
        let (_dir, config) = tls_dir(
            "tls-auth",
            &format!("  client_auth_type: {auth_type}\n{ca}"),
        );
        let server = Server::tls(&config).await;
        for (identity, served) in [None, FromCa, Unrelated].into_iter().zip(expected) {
            let answer = fetch(&client(identity), &server.https("/metrics"), Option::None).await;
            assert_eq!(answer.is_ok(), served, "{auth_type}: {answer:?}");
            if served {
                assert_eq!(answer, Ok((200, METRICS.into())), "{auth_type}");
            }
        }
    }
}

#[tokio::test]
async fn client_allowed_sans_are_checked() {
    for (sans, served) in [
        ("[scraper.example]", true),
        ("[\"spiffe://test/scraper\"]", true),
        ("[someone.else]", false),
    ] {
        let (_dir, config) = tls_dir(
            "tls-sans",
            &format!("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: {sans}\n"),
        );
        let server = Server::tls(&config).await;
        let answer = fetch(&client(Identity::FromCa), &server.https("/"), None).await;
        assert_eq!(answer.is_ok(), served, "{sans}: {answer:?}");
    }
}

#[tokio::test]
async fn a_tls12_client_is_refused_under_min_version_tls13() {
    let (_dir, config) = tls_dir("tls-min13", "  min_version: TLS13\n");
    let server = Server::tls(&config).await;
    let ca = pki().path("ca.crt");
    let curl = |extra: &[&str]| {
        let ca = ca.clone();
        let url = server.https("/metrics");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        async move {
            tokio::task::spawn_blocking(move || {
                Command::new("curl")
                    .args(["-sS", "--noproxy", "*", "--max-time", "10", "--cacert"])
                    .arg(&ca)
                    .args(&extra)
                    .arg(&url)
                    .output()
                    .expect("curl runs (scripts/tools/tls-clients.sh installs it)")
            })
            .await
            .unwrap()
        }
    };
    let old = curl(&["--tlsv1.2", "--tls-max", "1.2"]).await;
    assert!(!old.status.success(), "a TLS 1.2 client was served");
    let new = curl(&["--tlsv1.3"]).await;
    assert!(
        new.status.success(),
        "{}",
        String::from_utf8_lossy(&new.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&new.stdout), METRICS);
    // The same with rustls on the client side.
    let tls12 = client_with(Identity::None, |b| {
        b.max_tls_version(reqwest::tls::Version::TLS_1_2)
    });
    assert!(fetch(&tls12, &server.https("/"), None).await.is_err());
}

#[tokio::test]
async fn bad_files_are_refused_at_start() {
    let pki = pki();
    let dir = TempDir::new("tls-bad");
    pki.copy_to(
        &dir.0,
        &["server.crt", "server.key", "server2.key", "ca.crt"],
    );
    std::fs::write(dir.path("empty.crt"), "").unwrap();
    let secret_hash = "$2y$10$ZZZZZZZZZZZZZZZZZZZZZZ";
    let cases: &[(&str, String, &str)] = &[
        ("missing cert", "tls_server_config:\n  cert_file: absent.crt\n  key_file: server.key\n".into(), "absent.crt"),
        ("empty cert", "tls_server_config:\n  cert_file: empty.crt\n  key_file: server.key\n".into(), "no PEM certificate"),
        ("no key", "tls_server_config:\n  cert_file: server.crt\n".into(), "missing one of key or key_file"),
        ("mismatched key", "tls_server_config:\n  cert_file: server.crt\n  key_file: server2.key\n".into(), "cannot be used together"),
        ("unreadable CA", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: absent-ca.crt\n".into(), "absent-ca.crt"),
        ("CA without auth type", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n".into(), "without a client_auth_type"),
        ("SANs without a required cert", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n  client_allowed_sans: [a]\n".into(), "client_allowed_sans requires"),
        ("not bcrypt", format!("basic_auth_users:\n  alice: '{secret_hash}'\n"), "alice"),
        ("plain password", "basic_auth_users:\n  alice: hunter2\n".into(), "not a bcrypt hash"),
        ("unknown key", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth: x\n".into(), "unknown field"),
        ("bad header", "http_server_config:\n  headers:\n    X-Frame-Options: allow\n".into(), "X-Frame-Options"),
        ("CBC suite", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n".into(), "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    ];
    for (what, text, expected) in cases {
        let config = dir.write("web.yml", text);
        let error = WebConfigHandle::load(&config).expect_err(what).to_string();
        assert!(error.contains(expected), "{what}: {error}");
        assert!(!error.contains('\n'), "{what}: {error}");
        assert!(
            !error.contains("ZZZZ") && !error.contains("hunter2"),
            "{what}: {error}"
        );
    }
}

// ---------------------------------------------------------------------------
// Basic auth, headers, probes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn basic_auth_headers_and_open_probes() {
    let (_dir, config) = tls_dir(
        "auth",
        &format!(
            "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\nbasic_auth_users:\n  alice: '{}'\n  bob: '{}'\n",
            hash("wonderland"),
            // htpasswd writes $2y$: the same algorithm under another name.
            hash("builder").replacen("$2b$", "$2y$", 1),
        ),
    );
    let server = Server::tls(&config).await;
    let c = client(Identity::None);
    let get = |path: &str, auth: Option<(&'static str, &'static str)>| {
        let request = c.get(server.https(path));
        let request = match auth {
            Some((u, p)) => request.basic_auth(u, Some(p)),
            None => request,
        };
        async move { request.send().await.unwrap() }
    };
    for auth in [
        Some(("alice", "wonderland")),
        Some(("bob", "builder")),
        Some(("alice", "wonderland")),
    ] {
        let response = get("/metrics", auth).await;
        assert_eq!(response.status(), 200, "{auth:?}");
        assert_eq!(response.headers()["x-frame-options"], "deny");
        assert_eq!(response.text().await.unwrap(), METRICS);
    }
    for auth in [
        None,
        Some(("alice", "wrong")),
        Some(("carol", "wonderland")),
        Some(("bob", "wonderland")),
    ] {
        let response = get("/", auth).await;
        assert_eq!(response.status(), 401, "{auth:?}");
        assert_eq!(response.headers()["www-authenticate"], "Basic");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    for probe in ["/healthz", "/readyz"] {
        let response = get(probe, None).await;
        assert_eq!(response.status(), 200, "{probe}");
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000"
        );
    }
}

// ---------------------------------------------------------------------------
// Reload
// ---------------------------------------------------------------------------

/// Lays out a folder as Kubernetes mounts a Secret: the files are symlinks
/// through `..data`, itself a symlink to a timestamped folder that an
/// update replaces atomically.
fn k8s_secret(dir: &TempDir, version: &str, files: &[(&str, &str)]) {
    let pki = pki();
    let versioned = dir.path(version);
    std::fs::create_dir_all(&versioned).unwrap();
    for (name, source) in files {
        std::fs::copy(pki.path(source), versioned.join(name)).unwrap();
    }
    let tmp = dir.path("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(version, &tmp).unwrap();
    std::fs::rename(&tmp, dir.path("..data")).unwrap();
    for (name, _) in files {
        let link = dir.path(name);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(format!("..data/{name}"), &link).unwrap();
        }
    }
}

#[tokio::test]
async fn a_rotated_certificate_is_served_without_restart() {
    let dir = TempDir::new("reload-cert");
    k8s_secret(
        &dir,
        "..v1",
        &[("tls.crt", "server.crt"), ("tls.key", "server.key")],
    );
    let config = dir.write(
        "web.yml",
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n",
    );
    let server = Server::tls(&config).await;
    let served = || async {
        let c = client(Identity::None);
        let response = c.get(server.https("/")).send().await.unwrap();
        let info = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .cloned()
            .unwrap();
        info.peer_certificate().unwrap().to_vec()
    };
    assert_eq!(served().await, der("server.crt"));
    k8s_secret(
        &dir,
        "..v2",
        &[("tls.crt", "server2.crt"), ("tls.key", "server2.key")],
    );
    let rotated = der("server2.crt");
    eventually("the rotated certificate", || async {
        served().await == rotated
    })
    .await;
}

// ---------------------------------------------------------------------------
// A real Prometheus
// ---------------------------------------------------------------------------

#[tokio::test]
async fn prometheus_scrapes_over_tls_with_basic_auth() {
    let (dir, config) = tls_dir(
        "prometheus",
        &format!(
            "basic_auth_users:\n  prometheus: '{}'\n",
            hash("scrape-secret")
        ),
    );
    let server = Server::tls(&config).await;
    std::fs::write(dir.path("password"), "scrape-secret").unwrap();
    std::fs::write(dir.path("wrong-password"), "guess").unwrap();
    let job = |name: &str, password_file: &str| {
        format!(
            "  - job_name: {name}\n    scrape_interval: 1s\n    scheme: https\n    tls_config:\n      ca_file: {}\n    basic_auth:\n      username: prometheus\n      password_file: {}\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            dir.path("ca.crt").display(),
            dir.path(password_file).display(),
            server.port()
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
    let prometheus_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _prometheus = Killed(
        Command::new(tools::tool("prometheus", tools::PROMETHEUS))
            .arg(format!("--config.file={}", prometheus_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let good = prometheus_value(prometheus_port, "up{job=\"arize\"}").await;
        let wrong = prometheus_value(prometheus_port, "up{job=\"arize-wrong\"}").await;
        if let (Some(good), Some(wrong)) = (good, wrong) {
            assert_eq!(good, "1", "scraped with the right password");
            assert_eq!(wrong, "0", "scraped with a wrong password");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped both jobs"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
