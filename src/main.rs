//! The `arize-exporter` binary: parse the configuration, set up logging, run.

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use arize_exporter::config::{ConfigError, Settings};
use arize_exporter::{app, logging};

fn main() -> ExitCode {
    let settings = match Settings::from_args(std::env::args_os()) {
        Ok(settings) => settings,
        Err(ConfigError::Info(text)) => {
            // `--help | head` closes stdout early: nothing to report then.
            let _ = std::io::stdout().write_all(text.as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(ConfigError::Invalid(line)) => return fail(&line, 2),
    };
    logging::init(settings.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}"), 1),
    };
    let result = runtime.block_on(app::run(settings));
    // Whatever still runs (a connection past the grace period, a blocking
    // read) must not hold the exit.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&chain(&e), e.exit_code()),
    }
}

/// The error and each of its sources, on one line: `a: b: c`.
fn chain(error: &dyn Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

/// Writes `error: LINE` to stderr (never panicking if stderr is closed)
/// and returns the exit code. The only place the prefix is written.
fn fail(line: &str, code: u8) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {line}");
    ExitCode::from(code)
}
