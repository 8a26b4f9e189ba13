//! Command line and environment configuration (SPEC section 2).
//!
//! [`Cli`] is what clap parses; [`Settings`] is the validated configuration
//! the rest of the program runs on. Every check that can be done before the
//! first poll is done here, so that a bad value stops the program at start
//! with one line naming the flag.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, ValueEnum};
use reqwest::Url;
use secrecy::SecretString;

/// The default Arize API host.
pub const DEFAULT_API_URL: &str = "https://api.arize.com";

/// Command line of `arize-exporter`; every flag can also come from the environment.
#[derive(Parser)]
#[command(name = "arize-exporter", version, about, long_about = None)]
pub struct Cli {
    /// Arize API key (prefer --api-key-file). Never printed or logged.
    #[arg(
        long,
        env = "ARIZE_API_KEY",
        hide_env_values = true,
        // A key that starts with '-' is still the key: never echoed back
        // in an "unexpected argument" error.
        allow_hyphen_values = true,
        conflicts_with = "api_key_file"
    )]
    api_key: Option<String>,

    /// File holding the API key, re-read before every poll (surrounding whitespace trimmed).
    #[arg(long, env = "ARIZE_API_KEY_FILE", value_name = "PATH")]
    api_key_file: Option<PathBuf>,

    /// Base URL of the Arize API (self-hosted installs, tests).
    #[arg(long, env = "ARIZE_API_URL", default_value = DEFAULT_API_URL, value_parser = parse_api_url)]
    api_url: Url,

    /// Arize region: shorthand for https://api.<REGION>.arize.com.
    #[arg(long, env = "ARIZE_REGION", conflicts_with = "api_url", value_parser = parse_region)]
    region: Option<String>,

    /// Space id to poll; repeatable or comma-separated, each polled on its own.
    #[arg(long = "space-id", env = "ARIZE_SPACE_ID", value_delimiter = ',', action = ArgAction::Append, value_parser = parse_filter_value)]
    space_ids: Vec<String>,

    /// Space name (substring) to poll; repeatable or comma-separated, like --space-id.
    #[arg(long = "space-name", env = "ARIZE_SPACE_NAME", value_delimiter = ',', action = ArgAction::Append, value_parser = parse_filter_value)]
    space_names: Vec<String>,

    /// Only tasks whose name contains this (case-insensitive; passed to the API as `name`).
    #[arg(long, env = "ARIZE_TASK_NAME", value_parser = parse_filter_value)]
    task_name: Option<String>,

    /// Only tasks of this project.
    #[arg(long, env = "ARIZE_PROJECT_ID", value_parser = parse_filter_value)]
    project_id: Option<String>,

    /// Only tasks of this dataset.
    #[arg(long, env = "ARIZE_DATASET_ID", value_parser = parse_filter_value)]
    dataset_id: Option<String>,

    /// Only tasks of this type (either case; e.g. template_evaluation).
    #[arg(long, env = "ARIZE_TASK_TYPE", value_parser = parse_filter_value)]
    task_type: Option<String>,

    /// Time between the starts of two polls (e.g. 30s, 5m).
    #[arg(long, env = "ARIZE_POLL_INTERVAL", default_value = "60s", value_parser = parse_positive_duration)]
    poll_interval: Duration,

    /// Timeout of one HTTP request to the API.
    #[arg(long, env = "ARIZE_REQUEST_TIMEOUT", default_value = "10s", value_parser = parse_positive_duration)]
    request_timeout: Duration,

    /// Retries of one request on 408, 429, 5xx, timeouts and connection errors (0: never).
    #[arg(
        long,
        env = "ARIZE_MAX_RETRIES",
        default_value_t = 3,
        allow_negative_numbers = true
    )]
    max_retries: u32,

    /// Page size (`limit`) sent to the API, 1 to 100.
    #[arg(long, env = "ARIZE_PAGE_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    page_size: u32,

    /// Client-side cap on API requests per second, retries included (fractions allowed).
    #[arg(long, env = "ARIZE_MAX_REQUESTS_PER_SECOND", default_value = "10", value_parser = parse_rate, allow_negative_numbers = true)]
    max_requests_per_second: f64,

    /// A continuous task whose last run is older than this (or that never ran) is stale.
    #[arg(long, env = "ARIZE_STALE_AFTER", default_value = "1h", value_parser = parse_positive_duration)]
    stale_after: Duration,

    /// Serve one set of series per task (`false` for very large accounts).
    #[arg(long, env = "ARIZE_PER_TASK_METRICS", default_value_t = true, action = ArgAction::Set)]
    per_task_metrics: bool,

    /// Address to serve the metrics on (`host:port`, or `:port` for all interfaces).
    #[arg(long, env = "ARIZE_EXPORTER_LISTEN_ADDRESS", default_value = "0.0.0.0:10841", value_parser = parse_listen_address)]
    listen_address: SocketAddr,

    /// Path under which the metrics are served.
    #[arg(long, env = "ARIZE_EXPORTER_TELEMETRY_PATH", default_value = "/metrics", value_parser = parse_telemetry_path)]
    telemetry_path: String,

    /// Log format; levels come from RUST_LOG (default `info`).
    #[arg(long, env = "ARIZE_EXPORTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Poll the built-in simulated Arize API instead of the real one (no key needed).
    #[arg(long)]
    demo: bool,

    /// Poll once, print the exposition to stdout and exit.
    #[arg(long)]
    once: bool,
}

/// Output format of the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the API key comes from.
#[derive(Clone, Debug)]
pub enum ApiKey {
    /// Demo mode: the simulator accepts any key, so the real one is never sent to it.
    Demo,
    /// Given on the command line or in the environment.
    Inline(SecretString),
    /// Read from this file before every poll, so that a rotated key is picked up.
    File(PathBuf),
}

/// One space filter; each one is polled on its own and labels what it finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpaceFilter {
    Id(String),
    Name(String),
}

impl SpaceFilter {
    /// The value of the `space` label on what this filter found: the id or
    /// the name given.
    pub fn label(&self) -> &str {
        match self {
            SpaceFilter::Id(value) | SpaceFilter::Name(value) => value,
        }
    }
}

/// Filters applied to `GET /v2/tasks`.
#[derive(Clone, Debug, Default)]
pub struct TaskFilters {
    pub spaces: Vec<SpaceFilter>,
    pub name: Option<String>,
    pub project_id: Option<String>,
    pub dataset_id: Option<String>,
    /// Upper-case, as the current SDKs send it.
    pub task_type: Option<String>,
}

/// How the API client talks to Arize.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    pub base_url: Url,
    pub key: ApiKey,
    pub request_timeout: Duration,
    pub max_retries: u32,
    pub page_size: u32,
    pub max_requests_per_second: f64,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub api: ApiSettings,
    pub filters: TaskFilters,
    pub poll_interval: Duration,
    pub stale_after: Duration,
    pub per_task_metrics: bool,
    pub listen_address: SocketAddr,
    pub telemetry_path: String,
    pub log_format: LogFormat,
    pub demo: bool,
    pub once: bool,
}

impl Settings {
    /// Parses and validates the command line and environment. The error is one
    /// line naming the offending flag; `--help` and `--version` come back as [`ConfigError::Info`].
    pub fn from_args<I, T>(args: I) -> Result<Settings, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Cli::command()
            .try_get_matches_from(args)
            .map_err(ConfigError::from_clap)?;
        let cli = Cli::from_arg_matches(&matches).map_err(ConfigError::from_clap)?;
        let order = SpaceOrder::of(&matches);
        let mut settings = Settings::try_from(cli)?;
        order.apply(&mut settings.filters.spaces);
        Ok(settings)
    }
}

/// Where each space filter appeared, so that `--space-name a --space-id b`
/// polls (and labels with) `a` first: a task found by several filters is
/// labelled with the first of them *in the order given* (SPEC section 5).
/// Values from the environment come after the command line's, ids first.
struct SpaceOrder {
    ids: Vec<usize>,
    names: Vec<usize>,
}

impl SpaceOrder {
    fn of(matches: &clap::ArgMatches) -> SpaceOrder {
        let indices = |id: &str| -> Vec<usize> {
            matches
                .indices_of(id)
                .map(Iterator::collect)
                .unwrap_or_default()
        };
        SpaceOrder {
            ids: indices("space_ids"),
            names: indices("space_names"),
        }
    }

    /// Sorts `spaces` (ids then names, as [`Settings::try_from`] builds them)
    /// by where each value appeared; the sort is stable, so values without
    /// an index keep their relative place, at the end.
    fn apply(&self, spaces: &mut Vec<SpaceFilter>) {
        let (mut ids, mut names) = (self.ids.iter(), self.names.iter());
        let mut keyed: Vec<(usize, SpaceFilter)> = std::mem::take(spaces)
            .into_iter()
            .map(|filter| {
                let index = match &filter {
                    SpaceFilter::Id(_) => ids.next(),
                    SpaceFilter::Name(_) => names.next(),
                };
                (index.copied().unwrap_or(usize::MAX), filter)
            })
            .collect();
        keyed.sort_by_key(|(index, _)| *index);
        *spaces = keyed.into_iter().map(|(_, filter)| filter).collect();
    }
}

impl TryFrom<Cli> for Settings {
    type Error = ConfigError;

    fn try_from(cli: Cli) -> Result<Self, ConfigError> {
        let key = match (cli.demo, cli.api_key, cli.api_key_file) {
            (true, _, _) => ApiKey::Demo,
            (false, Some(key), _) if key.trim().is_empty() => {
                return Err(ConfigError::invalid("--api-key", "the API key is empty"));
            }
            (false, Some(key), _) => ApiKey::Inline(SecretString::from(key.trim().to_owned())),
            (false, None, Some(path)) => ApiKey::File(path),
            (false, None, None) => {
                return Err(ConfigError::invalid(
                    "--api-key",
                    "an API key is required: set --api-key-file, ARIZE_API_KEY_FILE or ARIZE_API_KEY (or run with --demo)",
                ))
            }
        };
        let base_url = match cli.region {
            Some(region) => parse_api_url(&format!("https://api.{region}.arize.com"))
                .map_err(|reason| ConfigError::invalid("--region", &reason))?,
            None => cli.api_url,
        };
        let spaces = cli
            .space_ids
            .into_iter()
            .map(SpaceFilter::Id)
            .chain(cli.space_names.into_iter().map(SpaceFilter::Name))
            .collect();
        Ok(Settings {
            api: ApiSettings {
                base_url,
                key,
                request_timeout: cli.request_timeout,
                max_retries: cli.max_retries,
                page_size: cli.page_size,
                max_requests_per_second: cli.max_requests_per_second,
            },
            filters: TaskFilters {
                spaces,
                name: cli.task_name,
                project_id: cli.project_id,
                dataset_id: cli.dataset_id,
                task_type: cli.task_type.map(|t| t.to_ascii_uppercase()),
            },
            poll_interval: cli.poll_interval,
            stale_after: cli.stale_after,
            per_task_metrics: cli.per_task_metrics,
            listen_address: cli.listen_address,
            telemetry_path: cli.telemetry_path,
            log_format: cli.log_format,
            demo: cli.demo,
            once: cli.once,
        })
    }
}

/// A configuration problem, or a request for help or version output.
#[derive(Debug)]
pub enum ConfigError {
    /// `--help` or `--version`: print this text and exit 0.
    Info(String),
    /// A bad value: print this one line and exit non-zero.
    Invalid(String),
}

impl ConfigError {
    fn invalid(flag: &str, reason: &str) -> ConfigError {
        ConfigError::Invalid(format!("error: invalid value for '{flag}': {reason}"))
    }

    fn from_clap(err: clap::Error) -> ConfigError {
        use clap::error::ErrorKind;
        match err.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                ConfigError::Info(err.to_string())
            }
            _ => {
                // clap renders a usage block and a hint under the message; the
                // first line alone names the flag and says what is wrong.
                let rendered = err.render().to_string();
                let line = rendered
                    .lines()
                    .next()
                    .unwrap_or("error: invalid arguments");
                ConfigError::Invalid(line.to_owned())
            }
        }
    }
}

/// The longest duration any flag accepts.
const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(value).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("must be greater than zero".into());
    }
    // Far beyond any useful value, and small enough to add to a clock.
    if duration > MAX_DURATION {
        return Err("must be at most 10 years".into());
    }
    Ok(duration)
}

fn parse_rate(value: &str) -> Result<f64, String> {
    let rate: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("'{value}' is not a number"))?;
    if !rate.is_finite() || rate <= 0.0 {
        return Err("must be a positive number of requests per second".into());
    }
    Ok(rate)
}

fn parse_api_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not an absolute URL with a scheme ({e})"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err("the URL has no host".into()),
        other => Err(format!("scheme '{other}' is not http or https")),
    }
}

fn parse_region(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(value.to_owned())
    } else {
        Err("expected a region such as us-east-1b or eu-west-1a".into())
    }
}

fn parse_filter_value(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > 255 {
        return Err("must be at most 255 characters".into());
    }
    Ok(value.to_owned())
}

fn parse_listen_address(value: &str) -> Result<SocketAddr, String> {
    // Like the Prometheus exporters, ":10841" means every interface.
    let full = match value.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => value.to_owned(),
    };
    full.parse()
        .map_err(|_| format!("'{value}' is not host:port (e.g. 0.0.0.0:10841 or :10841)"))
}

fn parse_telemetry_path(value: &str) -> Result<String, String> {
    if !value.starts_with('/') || value.len() < 2 {
        return Err("must start with '/' and name a path other than '/'".into());
    }
    // Plain path characters only: the router reads `{`, `}`, `:` and `*`
    // as parameters, and a path is no place for them anyway.
    let plain = |c: char| c.is_ascii_alphanumeric() || "/-._~".contains(c);
    if !value.chars().all(plain) || value.contains("//") {
        return Err(format!(
            "'{value}' may hold only letters, digits and '/-._~', with no empty segment"
        ));
    }
    if ["/healthz", "/readyz"].contains(&value) {
        return Err(format!("'{value}' is already served by the exporter"));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings, ConfigError> {
        Settings::from_args(std::iter::once("arize-exporter").chain(args.iter().copied()))
    }

    fn invalid_line(args: &[&str]) -> String {
        match parse(args) {
            Err(ConfigError::Invalid(line)) => line,
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn demo_needs_no_key_and_uses_the_defaults() {
        let settings = parse(&["--demo"]).unwrap();
        assert!(matches!(settings.api.key, ApiKey::Demo));
        assert_eq!(settings.poll_interval, Duration::from_secs(60));
        assert_eq!(settings.api.page_size, 100);
        assert_eq!(settings.listen_address.port(), 10841);
        assert_eq!(settings.telemetry_path, "/metrics");
        assert!(settings.per_task_metrics);
    }

    #[test]
    fn region_builds_the_regional_host() {
        let settings = parse(&["--demo", "--region", "eu-west-1a"]).unwrap();
        assert_eq!(
            settings.api.base_url.as_str(),
            "https://api.eu-west-1a.arize.com/"
        );
    }

    #[test]
    fn space_filters_split_on_commas_and_keep_their_order() {
        let settings = parse(&[
            "--demo",
            "--space-id",
            "b,a",
            "--space-id",
            "c",
            "--space-name",
            "Prod",
        ])
        .unwrap();
        assert_eq!(
            settings.filters.spaces,
            vec![
                SpaceFilter::Id("b".into()),
                SpaceFilter::Id("a".into()),
                SpaceFilter::Id("c".into()),
                SpaceFilter::Name("Prod".into())
            ]
        );
    }

    #[test]
    fn space_filters_keep_the_order_given_across_both_flags() {
        let settings = parse(&[
            "--demo",
            "--space-name",
            "Prod",
            "--space-id",
            "b,a",
            "--space-name",
            "Staging",
        ])
        .unwrap();
        assert_eq!(
            settings.filters.spaces,
            vec![
                SpaceFilter::Name("Prod".into()),
                SpaceFilter::Id("b".into()),
                SpaceFilter::Id("a".into()),
                SpaceFilter::Name("Staging".into())
            ]
        );
    }

    #[test]
    fn task_type_is_sent_upper_case() {
        let settings = parse(&["--demo", "--task-type", "code_evaluation"]).unwrap();
        assert_eq!(
            settings.filters.task_type.as_deref(),
            Some("CODE_EVALUATION")
        );
    }

    #[test]
    fn fractional_rates_and_colon_port_are_accepted() {
        let settings = parse(&[
            "--demo",
            "--max-requests-per-second",
            "0.5",
            "--listen-address",
            ":9999",
        ])
        .unwrap();
        assert_eq!(settings.api.max_requests_per_second, 0.5);
        assert_eq!(settings.listen_address.to_string(), "0.0.0.0:9999");
    }

    #[test]
    fn each_bad_value_is_one_line_naming_its_flag() {
        let cases: &[(&[&str], &str)] = &[
            (&["--demo", "--poll-interval", "0s"], "--poll-interval"),
            (&["--demo", "--poll-interval", "soon"], "--poll-interval"),
            (&["--demo", "--request-timeout", "0"], "--request-timeout"),
            (&["--demo", "--stale-after", "x"], "--stale-after"),
            (&["--demo", "--page-size", "0"], "--page-size"),
            (&["--demo", "--page-size", "101"], "--page-size"),
            (
                &["--demo", "--max-requests-per-second", "0"],
                "--max-requests-per-second",
            ),
            (
                &["--demo", "--max-requests-per-second", "-1"],
                "--max-requests-per-second",
            ),
            (
                &["--demo", "--max-requests-per-second", "fast"],
                "--max-requests-per-second",
            ),
            (&["--demo", "--api-url", "api.arize.com"], "--api-url"),
            (&["--demo", "--api-url", "ftp://api.arize.com"], "--api-url"),
            (
                &["--demo", "--listen-address", "nowhere"],
                "--listen-address",
            ),
            (
                &["--demo", "--telemetry-path", "metrics"],
                "--telemetry-path",
            ),
            (&["--demo", "--max-retries", "-1"], "--max-retries"),
            (&["--demo", "--log-format", "xml"], "--log-format"),
            (
                &["--demo", "--per-task-metrics", "maybe"],
                "--per-task-metrics",
            ),
            (&["--demo", "--region", "EU WEST"], "--region"),
            (
                &[
                    "--demo",
                    "--region",
                    "eu-west-1a",
                    "--api-url",
                    "https://x.example",
                ],
                "--region",
            ),
            (&["--api-key", "k", "--api-key-file", "/f"], "--api-key"),
            (&[], "--api-key"),
        ];
        for (args, flag) in cases {
            let line = invalid_line(args);
            assert!(
                line.contains(flag),
                "{args:?}: {line:?} does not name {flag}"
            );
            assert!(!line.contains('\n'), "{args:?}: not one line: {line:?}");
        }
    }

    #[test]
    fn a_key_starting_with_a_hyphen_is_taken_as_the_key() {
        let settings = parse(&["--api-key", "-SEKRITabc"]).unwrap();
        assert!(matches!(settings.api.key, ApiKey::Inline(_)));
    }

    #[test]
    fn the_key_is_not_in_errors_or_debug_output() {
        let line = invalid_line(&["--api-key", "sekrit-key-123", "--api-key-file", "/f"]);
        assert!(!line.contains("sekrit-key-123"));
        let settings = parse(&["--api-key", "sekrit-key-123"]).unwrap();
        assert!(!format!("{settings:?}").contains("sekrit-key-123"));
    }
}
