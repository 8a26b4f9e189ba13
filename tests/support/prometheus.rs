//! A real Prometheus server started by a test: killed when dropped, and
//! queried through its HTTP API.

use std::process::Child;

/// A child process killed (and reaped) when dropped, on every path out of
/// the test, panics included.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The value of the one series `query` returns on the Prometheus at
/// `port`, if there is one yet; more than one series fails the test.
pub async fn prometheus_value(port: u16, query: &str) -> Option<String> {
    let client = reqwest::Client::builder().no_proxy().build().ok()?;
    let text = client
        .get(format!("http://127.0.0.1:{port}/api/v1/query"))
        .query(&[("query", query)])
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let answer: serde_json::Value = serde_json::from_str(&text).ok()?;
    let result = answer["data"]["result"].as_array()?;
    assert!(result.len() <= 1, "{query}: {text}");
    result.first()?["value"][1].as_str().map(str::to_owned)
}
