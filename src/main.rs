//! The `arize-exporter` binary: parse the configuration, set up logging, run.

use std::process::ExitCode;

use arize_exporter::config::{ConfigError, Settings};
use arize_exporter::{app, logging};

fn main() -> ExitCode {
    let settings = match Settings::from_args(std::env::args_os()) {
        Ok(settings) => settings,
        Err(ConfigError::Info(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(ConfigError::Invalid(line)) => {
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    logging::init(settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(line) => {
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
    }
}
