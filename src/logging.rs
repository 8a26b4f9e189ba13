//! Logging through tracing, on stderr, in the format Prometheus exporters
//! write (`--log.format`): logfmt as promslog writes it (`ts=… level=…
//! msg=… key=value…`, one line per event) or one JSON object per event.
//! `--log.level` sets the level; `RUST_LOG`, when set, overrides it with
//! per-module levels.

use std::fmt::{self, Write as _};
use std::io::IsTerminal;

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Output format of the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One `key=value` line per event (`ts`, `level`, `msg`, then fields).
    Logfmt,
    /// One JSON object per event.
    Json,
}

/// Least severe level logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The level as a tracing filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// How logs are written (`--log.level`, `--log.format`).
#[derive(Clone, Copy, Debug)]
pub struct LogSettings {
    /// Overridden by `RUST_LOG` when that is set.
    pub level: LogLevel,
    pub format: LogFormat,
}

/// Installs the global subscriber.
pub fn init(settings: LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(settings.level.as_str()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never in collected logs.
        .with_ansi(std::io::stderr().is_terminal())
        // On a failed write (stderr a pipe nobody reads any more) the
        // subscriber would report it with `eprint!`, which panics on that
        // same broken stderr: drop the line instead.
        .log_internal_errors(false);
    let result = match settings.format {
        LogFormat::Logfmt => builder.event_format(Logfmt).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Err(e) = result {
        // stderr may be closed: never panic over a log line.
        let _ = std::io::Write::write_fmt(
            &mut std::io::stderr(),
            format_args!("warning: logging is already set up: {e}\n"),
        );
    }
}

/// `ts`: RFC 3339 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.060Z`.
const TIMESTAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// One logfmt line per event: `ts` (RFC 3339, UTC, milliseconds), `level`,
/// `msg`, then the event's fields in the order written.
struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Always three digits of milliseconds, as promslog writes them
        // (RFC 3339 formatting drops trailing zeros: `.79Z` for `.790Z`).
        let ts = OffsetDateTime::now_utc()
            .format(TIMESTAMP)
            .unwrap_or_default();
        let mut line = String::with_capacity(160);
        line.push_str("ts=");
        line.push_str(&ts);
        line.push_str(" level=");
        line.push_str(&event.metadata().level().as_str().to_ascii_lowercase());
        let mut fields = Fields {
            message: None,
            rest: String::new(),
        };
        event.record(&mut fields);
        line.push_str(" msg=");
        push_value(&mut line, fields.message.as_deref().unwrap_or(""));
        line.push_str(&fields.rest);
        writeln!(writer, "{line}")
    }
}

/// Collects an event's fields: the message apart, the rest as ` key=value`.
struct Fields {
    message: Option<String>,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.rest.push(' ');
            self.rest.push_str(field.name());
            self.rest.push('=');
            push_value(&mut self.rest, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// Appends a logfmt value: bare when it is a plain word, else quoted with
/// `"` and `\` escaped and control characters written as escapes, so that
/// a value (an upstream error, a task name) can never break the line.
fn push_value(out: &mut String, value: &str) {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c > ' ' && c != '"' && c != '=' && c != '\\' && !c.is_control());
    if bare {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bare_or_quoted_and_escaped() {
        let mut out = String::new();
        for value in ["plain", "two words", "", "a=b", "say \"hi\"\nback\\slash"] {
            push_value(&mut out, value);
            out.push('|');
        }
        assert_eq!(
            out,
            r#"plain|"two words"|""|"a=b"|"say \"hi\"\nback\\slash"|"#
        );
    }

    #[test]
    fn timestamps_keep_three_digits_of_milliseconds() {
        let at = time::macros::datetime!(2026-01-02 03:04:05.790 UTC);
        assert_eq!(at.format(TIMESTAMP).unwrap(), "2026-01-02T03:04:05.790Z");
        let whole = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        assert_eq!(whole.format(TIMESTAMP).unwrap(), "2026-01-02T03:04:05.000Z");
    }
}
