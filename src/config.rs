//! Command line and environment configuration.
//!
//! [`Cli`] is what clap parses; [`Settings`] is the validated configuration
//! the rest of the program runs on, grouped by who reads it. This module
//! only translates: each group is a type of the module that owns it (the
//! client's [`ClientSettings`] and [`ApiKey`], the poller's
//! [`PollSettings`] with the [`TaskFilters`] of `arize::tasks`, the
//! snapshot's [`Staleness`] inside the metrics' [`ExpositionSettings`], the
//! web layer's [`ListenAddress`], logging's [`LogSettings`]); nothing
//! outside [`app`](crate::app) and the binary imports this module.
//! Every check that can be done before the first poll is done here, so that
//! a bad value stops the program at start with one line naming the flag.
//! The flag names follow the Prometheus exporters' conventions
//! (exporter-toolkit's `--web.*`, promslog's `--log.*`); the older names
//! stay as aliases.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, ValueEnum};
use reqwest::Url;
use secrecy::SecretString;

use crate::arize::client::{ApiKey, ClientSettings};
use crate::arize::tasks::{SpaceFilter, TaskFilters};
use crate::logging::{LogFormat, LogLevel, LogSettings};
use crate::metrics::filter::{CompiledList, FamilyFilter, ListKind};
use crate::metrics::ExpositionSettings;
use crate::poller::PollSettings;
use crate::snapshot::Staleness;
use crate::web::ListenAddress;

/// The default Arize API host.
pub const DEFAULT_API_URL: &str = "https://api.arize.com";

/// `--version`: the version, the source revision and the build date.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("ARIZE_EXPORTER_REVISION"),
    ", built ",
    env!("ARIZE_EXPORTER_BUILD_DATE"),
    ")"
);

/// Command line of `arize-exporter`; every flag can also come from the environment.
#[derive(Parser)]
#[command(name = "arize-exporter", version = VERSION, about, long_about = None)]
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

    /// A continuous task whose run interval is not known is stale once its last run is older than this (or if it never ran).
    #[arg(long, env = "ARIZE_STALE_AFTER", default_value = "1h", value_parser = parse_positive_duration)]
    stale_after: Duration,

    /// A continuous task whose run interval is known is stale once its last run is older than this many intervals (0: off, --stale-after for every task).
    #[arg(
        long,
        env = "ARIZE_STALE_AFTER_INTERVALS",
        default_value_t = 3,
        allow_negative_numbers = true
    )]
    stale_after_intervals: u32,

    /// The interval-based stale threshold is never below this.
    #[arg(long, env = "ARIZE_STALE_AFTER_MIN", default_value = "10m", value_parser = parse_positive_duration)]
    stale_after_min: Duration,

    /// Serve one set of series per task (true/false, 1/0, yes/no, on/off). `false` (very large
    /// accounts) keeps only the arize_tasks* counts: the per-task alerts stay quiet and the
    /// per-type roll-up alerts still page.
    #[arg(long, env = "ARIZE_PER_TASK_METRICS", default_value = "true", action = ArgAction::Set, value_parser = parse_bool, value_name = "BOOL")]
    per_task_metrics: bool,

    /// Serve only the families a regular expression of this comma-separated list matches (anchored: the whole
    /// name; as kube-state-metrics' flag). Filters arize_tasks* and arize_task_*; arize_up, arize_exporter_* and
    /// process_* are always served. Not with --metric-denylist.
    #[arg(long, env = "ARIZE_METRIC_ALLOWLIST", value_name = "REGEXES")]
    metric_allowlist: Option<String>,

    /// Serve every family but those a regular expression of this comma-separated list matches (anchored: the
    /// whole name). Filters arize_tasks* and arize_task_*; arize_up, arize_exporter_* and process_* are always
    /// served. Not with --metric-allowlist.
    #[arg(long, env = "ARIZE_METRIC_DENYLIST", value_name = "REGEXES")]
    metric_denylist: Option<String>,

    /// Read the newest runs of tasks that ran (true/false, 1/0, yes/no, on/off); `false`: no run requests at all.
    #[arg(long, env = "ARIZE_TASK_RUNS", default_value = "true", action = ArgAction::Set, value_parser = parse_bool, value_name = "BOOL")]
    task_runs: bool,

    /// Run requests one poll may make (every page and retry counts), within the request rate cap; at least 1 (--task-runs=false reads none).
    #[arg(long, env = "ARIZE_MAX_RUN_REQUESTS_PER_POLL", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    max_run_requests_per_poll: u32,

    /// How often the names of spaces, projects and datasets are read (GET /v2/spaces, /v2/projects,
    /// /v2/datasets); the first read follows the first complete poll. 0: names off (no request).
    #[arg(long, env = "ARIZE_NAMES_REFRESH_INTERVAL", default_value = "10m", value_parser = parse_duration_or_zero)]
    names_refresh_interval: Duration,

    /// Share of a finished run's items in error above which the run counts as erroring (served as
    /// arize_exporter_run_error_ratio_threshold for the rules, the dashboard and the landing page); 0 < x <= 1.
    #[arg(long, env = "ARIZE_RUN_ERROR_RATIO_THRESHOLD", default_value = "0.1", value_parser = parse_ratio, allow_negative_numbers = true)]
    run_error_ratio_threshold: f64,

    /// Free-text label values (task, space, project, dataset and evaluator names) longer than this many
    /// characters are cut, ending in `…` (ids never are); 0: no limit.
    #[arg(long, env = "ARIZE_MAX_LABEL_VALUE_LENGTH", default_value_t = 200)]
    max_label_value_length: usize,

    /// Address to listen on (host:port; `:port` means every interface, IPv4 and IPv6); repeatable or comma-separated.
    #[arg(
        id = "web.listen-address",
        long = "web.listen-address",
        visible_alias = "listen-address",
        env = "ARIZE_EXPORTER_LISTEN_ADDRESS",
        value_delimiter = ',',
        action = ArgAction::Append,
        default_value = ":10841",
        value_name = "ADDRESS",
        value_parser = parse_listen_address
    )]
    listen_addresses: Vec<ListenAddress>,

    /// Path under which the metrics are served.
    #[arg(
        id = "web.telemetry-path",
        long = "web.telemetry-path",
        visible_alias = "telemetry-path",
        env = "ARIZE_EXPORTER_TELEMETRY_PATH",
        default_value = "/metrics",
        value_name = "PATH",
        value_parser = parse_telemetry_path
    )]
    telemetry_path: String,

    /// Web configuration file (exporter-toolkit format): TLS, client certificates, basic auth, rate limit.
    #[arg(
        id = "web.config.file",
        long = "web.config.file",
        env = "ARIZE_EXPORTER_WEB_CONFIG_FILE",
        value_name = "PATH"
    )]
    web_config_file: Option<PathBuf>,

    /// Requests served at once; more get 503 at once (0: no limit).
    #[arg(
        id = "web.max-requests",
        long = "web.max-requests",
        env = "ARIZE_EXPORTER_WEB_MAX_REQUESTS",
        default_value_t = 40,
        value_name = "N",
        allow_negative_numbers = true
    )]
    max_requests: usize,

    /// Least severe level logged; RUST_LOG, when set, overrides it (per-module levels).
    #[arg(
        id = "log.level",
        long = "log.level",
        env = "ARIZE_EXPORTER_LOG_LEVEL",
        value_enum,
        ignore_case = true,
        default_value_t = LogLevelFlag::Info
    )]
    log_level: LogLevelFlag,

    /// Log format on stderr: logfmt (`text` is an alias) or json.
    #[arg(
        id = "log.format",
        long = "log.format",
        visible_alias = "log-format",
        env = "ARIZE_EXPORTER_LOG_FORMAT",
        value_enum,
        ignore_case = true,
        default_value_t = LogFormatFlag::Logfmt
    )]
    log_format: LogFormatFlag,

    /// Poll the built-in simulated Arize API instead of the real one (no key needed).
    #[arg(long)]
    demo: bool,

    /// Poll once, print the exposition to stdout and exit.
    #[arg(long)]
    once: bool,
}

/// `--log.format`'s values; becomes a [`LogFormat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormatFlag {
    /// One `key=value` line per event (`ts`, `level`, `msg`, then fields).
    #[value(alias = "text")]
    Logfmt,
    /// One JSON object per event.
    Json,
}

impl From<LogFormatFlag> for LogFormat {
    fn from(flag: LogFormatFlag) -> LogFormat {
        match flag {
            LogFormatFlag::Logfmt => LogFormat::Logfmt,
            LogFormatFlag::Json => LogFormat::Json,
        }
    }
}

/// `--log.level`'s values; becomes a [`LogLevel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogLevelFlag {
    Debug,
    Info,
    Warn,
    Error,
}

impl From<LogLevelFlag> for LogLevel {
    fn from(flag: LogLevelFlag) -> LogLevel {
        match flag {
            LogLevelFlag::Debug => LogLevel::Debug,
            LogLevelFlag::Info => LogLevel::Info,
            LogLevelFlag::Warn => LogLevel::Warn,
            LogLevelFlag::Error => LogLevel::Error,
        }
    }
}

/// Which Arize API the exporter polls.
#[derive(Clone, Debug)]
pub enum Target {
    /// The built-in simulated API (`--demo`): started at run time on a
    /// loopback port, and sent no key.
    Demo,
    /// A real Arize API (`--api-url` or `--region`) and its key.
    Remote { base_url: Url, key: ApiKey },
}

/// Where and how the HTTP endpoints are served.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// `--web.listen-address`, in the order given.
    pub listen_addresses: Vec<ListenAddress>,
    /// `--web.telemetry-path`.
    pub telemetry_path: String,
    /// `--web.config.file`: TLS and basic auth; read and checked at start.
    pub config_file: Option<PathBuf>,
    /// `--web.max-requests`; 0: no limit.
    pub max_requests: usize,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub target: Target,
    pub client: ClientSettings,
    pub poll: PollSettings,
    pub exposition: ExpositionSettings,
    pub web: WebSettings,
    pub log: LogSettings,
    /// `--once`: one poll, the exposition on stdout, exit.
    pub once: bool,
    /// The metric list given, if any, with its expressions that match no
    /// family (logged at warn at start); its filter is in `exposition`.
    pub metric_list: Option<CompiledList>,
}

impl Settings {
    /// Parses and validates the command line and environment. The error is one
    /// line naming the offending flag; `--help` and `--version` come back as [`ConfigError::Info`].
    pub fn from_args<I, T>(args: I) -> Result<Settings, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        let matches = Cli::command()
            .try_get_matches_from(&args)
            .map_err(|e| ConfigError::from_clap(e, &args))?;
        let cli = Cli::from_arg_matches(&matches).map_err(|e| ConfigError::from_clap(e, &args))?;
        let order = SpaceOrder::of(&matches);
        let mut settings = Settings::try_from(cli)?;
        order.apply(&mut settings.poll.filters.spaces);
        Ok(settings)
    }
}

/// Where each space filter appeared, so that `--space-name a --space-id b`
/// polls (and labels with) `a` first: a task found by several filters is
/// labelled with the first of them *in the order given*. Values from the
/// environment come after the command line's, ids first.
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
        let target = if cli.demo {
            // The simulator accepts any key, so a real one is never sent to it.
            Target::Demo
        } else {
            let key = match (cli.api_key, cli.api_key_file) {
                (Some(key), _) if key.trim().is_empty() => {
                    return Err(ConfigError::invalid("--api-key", "the API key is empty"));
                }
                (Some(key), _) => ApiKey::Inline(SecretString::from(key.trim().to_owned())),
                (None, Some(path)) => {
                    // Readable at start (later failures keep the last key read).
                    crate::arize::key::read_key_file(&path).map_err(|problem| {
                        ConfigError::invalid(
                            "--api-key-file",
                            &format!("the file {} {problem}", path.display()),
                        )
                    })?;
                    ApiKey::File(path)
                }
                (None, None) => {
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
            Target::Remote { base_url, key }
        };
        let spaces = cli
            .space_ids
            .into_iter()
            .map(SpaceFilter::Id)
            .chain(cli.space_names.into_iter().map(SpaceFilter::Name))
            .collect();
        let metric_list = metric_list(cli.metric_allowlist, cli.metric_denylist)?;
        Ok(Settings {
            target,
            client: ClientSettings {
                request_timeout: cli.request_timeout,
                max_retries: cli.max_retries,
                max_requests_per_second: cli.max_requests_per_second,
                retry_after_cap: cli.poll_interval,
            },
            poll: PollSettings {
                interval: cli.poll_interval,
                page_size: cli.page_size,
                filters: TaskFilters {
                    spaces,
                    name: cli.task_name,
                    project_id: cli.project_id,
                    dataset_id: cli.dataset_id,
                    task_type: cli.task_type.map(|t| t.to_ascii_uppercase()),
                },
                task_runs: cli.task_runs,
                max_run_requests: cli.max_run_requests_per_poll,
                names_refresh: (!cli.names_refresh_interval.is_zero())
                    .then_some(cli.names_refresh_interval),
                evaluators: metric_list
                    .as_ref()
                    .is_none_or(|list| list.filter.serves("arize_task_evaluator_info")),
            },
            exposition: ExpositionSettings {
                staleness: Staleness {
                    after: cli.stale_after,
                    after_intervals: cli.stale_after_intervals,
                    min: cli.stale_after_min,
                },
                per_task_metrics: cli.per_task_metrics,
                families: metric_list
                    .as_ref()
                    .map_or_else(FamilyFilter::default, |list| list.filter),
                poll_interval: cli.poll_interval,
                run_error_ratio_threshold: cli.run_error_ratio_threshold,
                max_label_value_length: cli.max_label_value_length,
            },
            web: WebSettings {
                listen_addresses: cli.listen_addresses,
                telemetry_path: cli.telemetry_path,
                config_file: cli.web_config_file,
                max_requests: cli.max_requests,
            },
            log: LogSettings {
                level: cli.log_level.into(),
                format: cli.log_format.into(),
            },
            once: cli.once,
            metric_list,
        })
    }
}

/// `--metric-allowlist` or `--metric-denylist`, compiled; an empty value is
/// no list. Both at once is an error (kube-state-metrics' rule: which
/// would win is not obvious), as is an invalid expression.
fn metric_list(
    allow: Option<String>,
    deny: Option<String>,
) -> Result<Option<CompiledList>, ConfigError> {
    let compile = |kind: ListKind, value: &str| {
        FamilyFilter::compile(kind, value).map_err(|bad| {
            ConfigError::invalid(
                kind.flag(),
                &format!(
                    "'{}' is not a valid regular expression: {}",
                    bad.expression, bad.reason
                ),
            )
        })
    };
    let allow = allow
        .map(|v| compile(ListKind::Allow, &v))
        .transpose()?
        .flatten();
    let deny = deny
        .map(|v| compile(ListKind::Deny, &v))
        .transpose()?
        .flatten();
    match (allow, deny) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid(
            "'--metric-allowlist' and '--metric-denylist' cannot both be set (nor ARIZE_METRIC_ALLOWLIST and ARIZE_METRIC_DENYLIST): give one list".into(),
        )),
        (allow, deny) => Ok(allow.or(deny)),
    }
}

/// A configuration problem, or a request for help or version output.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--help` or `--version`: print this text and exit 0.
    #[error("{0}")]
    Info(String),
    /// A bad value: this one line (without the `error: ` prefix the
    /// binary adds), then exit 2.
    #[error("{0}")]
    Invalid(String),
}

/// Flags that have an older name too, as `(canonical, alias)`: an error
/// about one given by its alias names both, so the user finds what they typed.
const ALIASES: [(&str, &str); 3] = [
    ("--web.listen-address", "--listen-address"),
    ("--web.telemetry-path", "--telemetry-path"),
    ("--log.format", "--log-format"),
];

impl ConfigError {
    /// `invalid value for 'FLAG': REASON`.
    pub fn invalid(flag: &str, reason: &str) -> ConfigError {
        ConfigError::Invalid(format!("invalid value for '{flag}': {reason}"))
    }

    fn from_clap(err: clap::Error, args: &[std::ffi::OsString]) -> ConfigError {
        use clap::error::{ContextKind, ContextValue, ErrorKind};
        if matches!(
            err.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        ) {
            return ConfigError::Info(err.to_string());
        }
        // clap renders a usage block and a hint under the message; the
        // first line alone names the flag and says what is wrong.
        let rendered = err.render().to_string();
        // The binary writes the `error: ` prefix; clap's is taken off.
        let first = rendered.lines().next().unwrap_or("invalid arguments");
        let mut line = first
            .strip_prefix("error:")
            .map_or(first, str::trim_start)
            .to_owned();
        // The allowed values are on a line of their own: keep them.
        if let Some(ContextValue::Strings(valid)) = err.get(ContextKind::ValidValue) {
            if !line.contains("possible values") {
                line.push_str(&format!(" (allowed: {})", valid.join(", ")));
            }
        }
        for (canonical, alias) in ALIASES {
            let given_as_alias = args.iter().any(|a| {
                let a = a.to_string_lossy();
                a == alias || a.starts_with(&format!("{alias}="))
            });
            if given_as_alias && line.contains(canonical) {
                line.push_str(&format!(" (given as {alias})"));
            }
        }
        ConfigError::Invalid(line)
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

/// A humantime duration, `0` turning the feature off.
fn parse_duration_or_zero(value: &str) -> Result<Duration, String> {
    if value.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    parse_positive_duration(value)
}

/// A share: a number above 0 and at most 1.
fn parse_ratio(value: &str) -> Result<f64, String> {
    let ratio: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("'{value}' is not a number"))?;
    if !(ratio > 0.0 && ratio <= 1.0) {
        return Err("must be a share above 0 and at most 1 (0.1: 10 %)".into());
    }
    Ok(ratio)
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

/// A boolean in any case: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`
/// (environment variables are often written with digits).
fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("allowed: true, false (also 1, 0, yes, no, on, off)".into()),
    }
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

fn parse_listen_address(value: &str) -> Result<ListenAddress, String> {
    value.parse()
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
    fn a_metric_list_becomes_the_exposition_s_family_filter() {
        let settings = parse(&["--demo"]).unwrap();
        assert_eq!(settings.exposition.families, FamilyFilter::default());
        assert!(settings.metric_list.is_none());
        let settings = parse(&["--demo", "--metric-allowlist", "arize_tasks.*"]).unwrap();
        let families = settings.exposition.families;
        assert!(families.serves("arize_tasks_stale") && !families.serves("arize_task_info"));
        assert!(
            !settings.poll.evaluators,
            "a family not served keeps nothing"
        );
        let settings = parse(&["--demo", "--metric-denylist", "arize_task_info,nothing"]).unwrap();
        assert!(settings.poll.evaluators);
        assert!(!settings.exposition.families.serves("arize_task_info"));
        assert!(settings.exposition.families.serves("arize_tasks"));
        assert_eq!(settings.metric_list.unwrap().unmatched, ["nothing"]);
        // An empty list is no list, and so never conflicts.
        let settings = parse(&["--demo", "--metric-allowlist=", "--metric-denylist", "x"]).unwrap();
        assert_eq!(settings.metric_list.unwrap().kind, ListKind::Deny);
        let line = invalid_line(&["--demo", "--metric-allowlist=a", "--metric-denylist=b"]);
        assert!(line.contains("--metric-allowlist") && line.contains("--metric-denylist"));
        let line = invalid_line(&["--demo", "--metric-denylist", "ok,(bad"]);
        assert!(
            line.starts_with("invalid value for '--metric-denylist': '(bad'"),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
    }

    #[test]
    fn demo_needs_no_key_and_uses_the_defaults() {
        let settings = parse(&["--demo"]).unwrap();
        assert!(matches!(settings.target, Target::Demo));
        assert_eq!(settings.poll.interval, Duration::from_secs(60));
        assert_eq!(settings.poll.page_size, 100);
        assert_eq!(
            settings.web.listen_addresses,
            [ListenAddress::AllInterfaces { port: 10841 }]
        );
        assert_eq!(settings.web.telemetry_path, "/metrics");
        assert_eq!(settings.web.max_requests, 40);
        assert!(settings.exposition.per_task_metrics);
        assert!(settings.poll.task_runs);
        assert_eq!(settings.poll.max_run_requests, 50);
        assert_eq!(
            settings.exposition.staleness,
            Staleness {
                after: Duration::from_secs(3600),
                after_intervals: 3,
                min: Duration::from_secs(600)
            }
        );
        assert_eq!(settings.log.format, LogFormat::Logfmt);
        assert_eq!(settings.log.level, LogLevel::Info);
    }

    #[test]
    fn region_builds_the_regional_host() {
        let settings = parse(&["--api-key", "k", "--region", "eu-west-1a"]).unwrap();
        let Target::Remote { base_url, .. } = settings.target else {
            panic!("not remote");
        };
        assert_eq!(base_url.as_str(), "https://api.eu-west-1a.arize.com/");
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
            settings.poll.filters.spaces,
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
            settings.poll.filters.spaces,
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
            settings.poll.filters.task_type.as_deref(),
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
        assert_eq!(settings.client.max_requests_per_second, 0.5);
        assert_eq!(settings.web.listen_addresses[0].to_string(), ":9999");
    }

    #[test]
    fn listen_addresses_repeat_and_take_hosts_ips_and_brackets() {
        let settings = parse(&[
            "--demo",
            "--web.listen-address",
            "localhost:1,[::1]:2",
            "--listen-address",
            "0.0.0.0:3",
        ])
        .unwrap();
        let shown: Vec<String> = settings
            .web
            .listen_addresses
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["localhost:1", "[::1]:2", "0.0.0.0:3"]);
    }

    #[test]
    fn new_and_old_flag_names_and_any_case_are_accepted() {
        let settings = parse(&[
            "--demo",
            "--log-format",
            "TEXT",
            "--log.level",
            "Debug",
            "--telemetry-path",
            "/m",
            "--per-task-metrics",
            "0",
            "--task-runs",
            "FALSE",
        ])
        .unwrap();
        assert_eq!(settings.log.format, LogFormat::Logfmt);
        assert_eq!(settings.log.level, LogLevel::Debug);
        assert_eq!(settings.web.telemetry_path, "/m");
        assert!(!settings.exposition.per_task_metrics);
        assert!(!settings.poll.task_runs);
        let json = parse(&["--demo", "--log.format", "JSON"]).unwrap();
        assert_eq!(json.log.format, LogFormat::Json);
    }

    #[test]
    fn each_bad_value_is_one_line_naming_its_flag() {
        let cases: &[(&[&str], &str)] = &[
            (&["--demo", "--poll-interval", "0s"], "--poll-interval"),
            (&["--demo", "--poll-interval", "soon"], "--poll-interval"),
            (&["--demo", "--request-timeout", "0"], "--request-timeout"),
            (&["--demo", "--stale-after", "x"], "--stale-after"),
            (&["--demo", "--stale-after-min", "0s"], "--stale-after-min"),
            (
                &["--demo", "--stale-after-intervals", "-1"],
                "--stale-after-intervals",
            ),
            (
                &["--demo", "--max-run-requests-per-poll", "0"],
                "--max-run-requests-per-poll",
            ),
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
                &["--demo", "--web.listen-address", "localhost"],
                "--web.listen-address",
            ),
            (
                &["--demo", "--telemetry-path", "metrics"],
                "--telemetry-path",
            ),
            (&["--demo", "--max-retries", "-1"], "--max-retries"),
            (&["--demo", "--log-format", "xml"], "--log-format"),
            (&["--demo", "--log.level", "loud"], "--log.level"),
            (
                &["--demo", "--web.max-requests", "-3"],
                "--web.max-requests",
            ),
            (
                &["--demo", "--per-task-metrics", "maybe"],
                "--per-task-metrics",
            ),
            (&["--demo", "--task-runs", "maybe"], "--task-runs"),
            (&["--demo", "--region", "EU WEST"], "--region"),
            (
                &[
                    "--api-key",
                    "k",
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
    fn enum_and_boolean_errors_list_the_allowed_values() {
        let line = invalid_line(&["--demo", "--log.format", "xml"]);
        assert!(line.contains("logfmt") && line.contains("json"), "{line}");
        let line = invalid_line(&["--demo", "--log.level", "loud"]);
        assert!(line.contains("debug") && line.contains("error"), "{line}");
        let line = invalid_line(&["--demo", "--per-task-metrics", "maybe"]);
        assert!(line.contains("true") && line.contains("false"), "{line}");
    }

    #[test]
    fn version_names_the_revision_and_build_date() {
        match parse(&["--version"]) {
            Err(ConfigError::Info(text)) => {
                assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
                assert!(
                    text.contains("revision") && text.contains("built"),
                    "{text}"
                );
            }
            other => panic!("expected version text, got {other:?}"),
        }
    }

    #[test]
    fn a_key_starting_with_a_hyphen_is_taken_as_the_key() {
        let settings = parse(&["--api-key", "-SEKRITabc"]).unwrap();
        assert!(matches!(
            settings.target,
            Target::Remote {
                key: ApiKey::Inline(_),
                ..
            }
        ));
    }

    #[test]
    fn the_key_is_not_in_errors_or_debug_output() {
        let line = invalid_line(&["--api-key", "sekrit-key-123", "--api-key-file", "/f"]);
        assert!(!line.contains("sekrit-key-123"));
        let settings = parse(&["--api-key", "sekrit-key-123"]).unwrap();
        assert!(!format!("{settings:?}").contains("sekrit-key-123"));
    }
}
