//! The log events of a test, captured in process as JSON lines. The
//! in-process harness polls on the test's own thread, so a thread-local
//! subscriber sees every event of the app, the poller and the client.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;

#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Captures every event at debug level and above until the guard drops.
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let sink = logs.0.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || LogWriter(sink.clone()))
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// Every event, parsed.
    pub fn events(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// The events whose message is `message`.
    pub fn with_message(&self, message: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["message"] == message)
            .collect()
    }

    /// The "field is unusable" warnings, as (id, field) pairs, in order;
    /// each must be at level WARN.
    pub fn field_warnings(&self) -> Vec<(String, String)> {
        self.with_message("a field the API sent is unusable")
            .iter()
            .map(|e| {
                assert_eq!(e["level"], "WARN", "{e}");
                (
                    e["id"].as_str().unwrap_or_default().to_owned(),
                    e["field"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// The task ids of the "field is unusable" warnings, in order.
    pub fn field_warning_ids(&self) -> Vec<String> {
        self.field_warnings()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }
}
