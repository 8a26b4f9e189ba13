//! What TLS and basic auth cost per scrape, beside plain HTTP: one GET of
//! a small fixed body through `arize_exporter::web::serve` on loopback,
//! over a kept-alive connection (how Prometheus scrapes) and over a new
//! TLS connection each time (a scraper without keep-alive).
//!
//! `cargo bench --bench web`; `cargo test --all-targets` runs each once.
//! Needs `openssl` (scripts/tools/tls-clients.sh).

#[allow(dead_code)]
#[path = "../tests/support/pki.rs"]
mod pki;
#[allow(dead_code)]
#[path = "../tests/support/tools.rs"]
mod tools;

use std::time::Duration;

use arize_exporter::web::{bind, serve, WebConfigHandle};
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use pki::{Pki, Usage};

const BODY: &str = "# TYPE bench_value gauge\nbench_value 1\n";

struct Case {
    name: &'static str,
    url: String,
    client: reqwest::Client,
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pki = Pki::new("web-bench", "bench-ca");
    pki.issue("tls", "localhost", "IP:127.0.0.1", Usage::Server);
    let dir = pki.dir();
    let hash = bcrypt::hash("bench-password", 4).unwrap();
    std::fs::write(
        dir.join("tls.yml"),
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("auth.yml"),
        format!("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prometheus: '{hash}'\n"),
    )
    .unwrap();
    let ca = std::fs::read(dir.join("ca.crt")).unwrap();

    let start = |web: WebConfigHandle| {
        runtime.block_on(async {
            let listeners = bind(&["127.0.0.1:0".parse().expect("a listen address")])
                .await
                .unwrap();
            let port = listeners[0].local_addr().unwrap().port();
            let router = Router::new().route("/metrics", get(|| async { BODY }));
            tokio::spawn(serve(listeners, router, web, 40, std::future::pending()));
            port
        })
    };
    // `keep_alive: false`: no idle connection is kept, so every request
    // makes a new one (TCP and TLS handshakes).
    let tls_client = |keep_alive: bool| {
        reqwest::Client::builder()
            .pool_max_idle_per_host(if keep_alive { usize::MAX } else { 0 })
            .use_rustls_tls()
            .no_proxy()
            .http1_only()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .build()
            .unwrap()
    };
    let plain = start(WebConfigHandle::none());
    let tls = start(WebConfigHandle::load(dir.join("tls.yml")).unwrap());
    let auth = start(WebConfigHandle::load(dir.join("auth.yml")).unwrap());
    let plain_client = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .build()
        .unwrap();
    let cases = [
        Case {
            name: "plain HTTP, kept-alive",
            url: format!("http://127.0.0.1:{plain}/metrics"),
            client: plain_client,
        },
        Case {
            name: "TLS, kept-alive",
            url: format!("https://127.0.0.1:{tls}/metrics"),
            client: tls_client(true),
        },
        Case {
            name: "TLS + basic auth, kept-alive",
            url: format!("https://127.0.0.1:{auth}/metrics"),
            client: tls_client(true),
        },
        Case {
            name: "TLS, new connection each time",
            url: format!("https://127.0.0.1:{tls}/metrics"),
            client: tls_client(false),
        },
    ];

    let mut group = c.benchmark_group("web");
    group.measurement_time(Duration::from_secs(5));
    for case in &cases {
        group.bench_function(case.name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let response = case
                        .client
                        .get(&case.url)
                        .basic_auth("prometheus", Some("bench-password"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    response.bytes().await.unwrap()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
