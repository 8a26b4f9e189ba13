//! The web layer end to end over plain HTTP: `arize_exporter::web::serve`
//! with a tiny router (`support::web`): basic auth and headers, reload of
//! users, listeners, limits and shutdown. Its TLS tests, with certificates
//! made by `openssl`, are in the tools suite (`tests/tools/web.rs`).

use crate::support;

use std::time::Duration;

use arize_exporter::web::WebConfigHandle;
use support::tools::TempDir;
use support::web::*;

// ---------------------------------------------------------------------------
// Basic auth, headers, probes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn auth_and_headers_without_tls() {
    let dir = TempDir::new("auth-plain");
    let config = dir.write(
        "web.yml",
        &format!("http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\nbasic_auth_users:\n  alice: '{}'\n", hash("pw")),
    );
    let server = Server::start(WebConfigHandle::load(&config).unwrap(), &["127.0.0.1:0"], 0).await;
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = c.get(server.http("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-frame-options"], "sameorigin");
    assert_eq!(
        fetch(&c, &server.http("/metrics"), Some(("alice", "pw"))).await,
        Ok((200, METRICS.into()))
    );
}

// ---------------------------------------------------------------------------
// Reload
// ---------------------------------------------------------------------------

#[tokio::test]
async fn users_reload_and_an_invalid_edit_is_kept_out() {
    let dir = TempDir::new("reload-users");
    let config = dir.write(
        "web.yml",
        &format!("basic_auth_users:\n  alice: '{}'\n", hash("one")),
    );
    let server = Server::start(WebConfigHandle::load(&config).unwrap(), &["127.0.0.1:0"], 0).await;
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = server.http("/metrics");
    assert_eq!(
        fetch(&c, &url, Some(("alice", "one"))).await.unwrap().0,
        200
    );

    dir.write(
        "web.yml",
        &format!("basic_auth_users:\n  bob: '{}'\n", hash("two")),
    );
    eventually("bob to be admitted", || async {
        fetch(&c, &url, Some(("bob", "two"))).await.unwrap().0 == 200
    })
    .await;
    assert_eq!(
        fetch(&c, &url, Some(("alice", "one"))).await.unwrap().0,
        401,
        "alice's cached password was forgotten"
    );

    // An edit that would drop auth if it were taken, but is invalid.
    dir.write("web.yml", "basic_auth_users: {}\nnot_a_key: true\n");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        fetch(&c, &url, None).await.unwrap().0,
        401,
        "the invalid edit was taken"
    );
    assert_eq!(fetch(&c, &url, Some(("bob", "two"))).await.unwrap().0, 200);

    // Fixed: taken.
    dir.write("web.yml", "basic_auth_users: {}\n");
    eventually("auth to be dropped", || async {
        fetch(&c, &url, None).await.unwrap().0 == 200
    })
    .await;
}

// ---------------------------------------------------------------------------
// Listeners, limits, shutdown
// ---------------------------------------------------------------------------

fn has_ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

#[tokio::test]
async fn one_port_answers_on_ipv4_and_ipv6() {
    let server = Server::start(WebConfigHandle::none(), &[":0"], 0).await;
    assert_eq!(server.addrs.len(), 1);
    let port = server.port();
    assert_ne!(port, 0);
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    assert_eq!(
        fetch(&c, &format!("http://127.0.0.1:{port}/healthz"), None).await,
        Ok((200, "ok\n".into()))
    );
    if has_ipv6_loopback() {
        assert!(server.addrs[0].is_ipv6(), "{:?}", server.addrs);
        assert_eq!(
            fetch(&c, &format!("http://[::1]:{port}/healthz"), None).await,
            Ok((200, "ok\n".into()))
        );
    } else {
        assert_eq!(
            server.addrs[0].ip(),
            std::net::Ipv4Addr::UNSPECIFIED,
            "the IPv4 fallback"
        );
    }
}

#[tokio::test]
async fn explicit_families_and_names() {
    let v4 = Server::start(WebConfigHandle::none(), &["0.0.0.0:0"], 0).await;
    assert!(v4.addrs[0].is_ipv4());
    let named = Server::start(WebConfigHandle::none(), &["localhost:0"], 0).await;
    assert!(
        named.addrs.iter().all(|a| a.ip().is_loopback()),
        "{:?}",
        named.addrs
    );
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{}/", named.addrs[0]);
    assert_eq!(fetch(&c, &url, None).await, Ok((200, "home\n".into())));
    if has_ipv6_loopback() {
        let v6 = Server::start(WebConfigHandle::none(), &["[::]:0"], 0).await;
        assert!(v6.addrs[0].is_ipv6());
        // IPv6 only: the same port is still free on IPv4.
        let port = v6.port();
        assert!(std::net::TcpListener::bind(("0.0.0.0", port)).is_ok());
    }
}

#[tokio::test]
async fn beyond_max_requests_the_answer_is_503_until_the_body_is_written() {
    let server = Server::start(WebConfigHandle::none(), &["127.0.0.1:0"], 1).await;
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut slow = c.get(server.http("/stream")).send().await.unwrap();
    assert_eq!(slow.status(), 200);
    assert_eq!(slow.chunk().await.unwrap().unwrap(), "first\n");
    // Headers and part of the body are out; the request still counts.
    assert_eq!(
        fetch(&c, &server.http("/metrics"), None).await.unwrap().0,
        503
    );
    server.gate.add_permits(1);
    let mut rest = Vec::new();
    while let Some(chunk) = slow.chunk().await.unwrap() {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"last\n");
    eventually("the slot to be free", || async {
        fetch(&c, &server.http("/metrics"), None).await.unwrap().0 == 200
    })
    .await;
}

#[tokio::test]
async fn beyond_the_rate_limit_the_answer_is_429() {
    let dir = TempDir::new("rate");
    let config = dir.write("web.yml", "rate_limit:\n  interval: 1h\n  burst: 2\n");
    let server = Server::start(WebConfigHandle::load(&config).unwrap(), &["127.0.0.1:0"], 0).await;
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let statuses = [
        fetch(&c, &server.http("/metrics"), None).await.unwrap().0,
        fetch(&c, &server.http("/metrics"), None).await.unwrap().0,
        fetch(&c, &server.http("/metrics"), None).await.unwrap().0,
    ];
    assert_eq!(statuses, [200, 200, 429]);
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish() {
    let mut server = Server::start(WebConfigHandle::none(), &["127.0.0.1:0"], 0).await;
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut slow = c.get(server.http("/stream")).send().await.unwrap();
    assert_eq!(slow.chunk().await.unwrap().unwrap(), "first\n");
    let _ = server.stop.take().unwrap().send(());
    server.gate.add_permits(1);
    assert_eq!(slow.chunk().await.unwrap().unwrap(), "last\n");
    let task = &mut server.task;
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("serve returns")
        .unwrap()
        .unwrap();
}
