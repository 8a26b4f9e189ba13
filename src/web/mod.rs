//! The exporter's web layer: the exporter-toolkit web configuration file
//! (`--web.config.file`: TLS, client certificates, basic auth, security
//! headers, HTTP/2 switch, rate limit), its reload without restart, the
//! listeners (`--web.listen-address`) and the connection loop that serves
//! an axum [`Router`](axum::Router) through all of it.
//!
//! Use: [`WebConfigHandle::load`] (or [`WebConfigHandle::none`]) at start,
//! [`bind`] the listen addresses, then `serve`. See `docs/security.md`
//! for the file's format.

mod auth;
mod config;
mod listen;
mod serve;
mod tls;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::http::{HeaderName, HeaderValue};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

pub use config::WebConfigError;
pub use listen::{bind, raise_open_files_limit, BindError, ListenAddress};
pub use serve::{serve, serve_with, Timeouts};

use auth::{AuthCache, Users};

/// How often the file and the certificate files it names are checked for
/// changes.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// One valid configuration, as in force for new connections.
#[derive(Debug)]
pub(crate) struct WebConfig {
    /// `None`: plain HTTP.
    tls: Option<Arc<rustls::ServerConfig>>,
    /// `http_server_config.http2` (only with TLS, as in the toolkit).
    http2: bool,
    /// Added to every answer.
    headers: Vec<(HeaderName, HeaderValue)>,
    users: Option<Arc<Users>>,
    rate: Option<Rate>,
}

/// `rate_limit`: one token every `interval`, at most `burst` stored.
#[derive(Debug)]
struct Rate {
    interval: Duration,
    burst: i64,
    /// `None` when `burst` is 0 or less: then every request is refused, as
    /// Go's limiter does.
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
}

impl Rate {
    fn allow(&self) -> bool {
        self.limiter.as_ref().is_some_and(|l| l.check().is_ok())
    }
}

impl WebConfig {
    fn plain() -> Self {
        Self {
            tls: None,
            http2: false,
            headers: Vec::new(),
            users: None,
            rate: None,
        }
    }

    /// Validates the file's text; `previous` keeps the rate limiter's
    /// state across a reload that does not change it.
    fn build(
        path: &Path,
        text: &str,
        previous: Option<&WebConfig>,
    ) -> Result<Self, WebConfigError> {
        let raw = config::parse(text)?;
        let dir = config::config_dir(path);
        let http = raw.http_server_config.unwrap_or_default();
        let header_map = http.headers.unwrap_or_default();
        config::validate_headers(&header_map)?;
        let users = Users::new(&raw.basic_auth_users.0)?.map(Arc::new);
        let http2 = http.http2.unwrap_or(true);
        let tls = tls::build(&raw.tls_server_config.unwrap_or_default(), &dir, http2)?;
        let mut headers = Vec::with_capacity(header_map.len());
        for (name, value) in header_map {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                WebConfigError::new(format!("http_server_config: bad header name {name:?}"))
            })?;
            let value = HeaderValue::from_str(&value).map_err(|_| {
                WebConfigError::new(format!("http_server_config: bad value for header {name}"))
            })?;
            headers.push((name, value));
        }
        let rate = match raw.rate_limit {
            Some(r) => match r.interval.and_then(|d| d.0).filter(|d| !d.is_zero()) {
                None => None,
                Some(interval) => {
                    let burst = r.burst.unwrap_or(0);
                    let kept = previous
                        .and_then(|p| p.rate.as_ref())
                        .filter(|p| p.interval == interval && p.burst == burst)
                        .and_then(|p| p.limiter.clone());
                    let limiter = kept.or_else(|| {
                        let burst = NonZeroU32::new(u32::try_from(burst).ok()?)?;
                        let quota = Quota::with_period(interval)?.allow_burst(burst);
                        Some(Arc::new(RateLimiter::direct(quota)))
                    });
                    Some(Rate {
                        interval,
                        burst,
                        limiter,
                    })
                }
            },
            None => None,
        };
        Ok(Self {
            http2: tls.is_some() && http2,
            tls,
            headers,
            users,
            rate,
        })
    }
}

/// The web configuration in force, shared by every listener; cheap to
/// clone. Built from `--web.config.file` (or empty without one) and
/// replaced by `serve`'s reloader when the file or the certificates it
/// names change.
#[derive(Clone)]
pub struct WebConfigHandle {
    inner: Arc<Inner>,
}

struct Inner {
    path: Option<PathBuf>,
    current: ArcSwap<WebConfig>,
    cache: AuthCache,
    /// Fingerprint of the file and the files it names, as last seen
    /// (good or bad), so a bad edit is logged once.
    seen: Mutex<u64>,
}

impl std::fmt::Debug for WebConfigHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfigHandle")
            .field("path", &self.inner.path)
            .field("tls", &self.tls_enabled())
            .finish()
    }
}

impl WebConfigHandle {
    /// No configuration file: plain HTTP, no auth, no extra headers.
    pub fn none() -> Self {
        Self::with(None, WebConfig::plain(), 0)
    }

    /// Reads and validates the file at `path` (`--web.config.file`) and
    /// the certificate, key and CA files it names (relative to its
    /// folder). The error is one line, never holding a password, hash or
    /// key; the caller adds the flag's name.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, WebConfigError> {
        let path = path.into();
        let fingerprint = fingerprint(&path);
        let text = read_config(&path)?;
        let config = WebConfig::build(&path, &text, None)
            .map_err(|e| WebConfigError::new(format!("{}: {e}", path.display())))?;
        Ok(Self::with(Some(path), config, fingerprint))
    }

    fn with(path: Option<PathBuf>, config: WebConfig, seen: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                path,
                current: ArcSwap::from_pointee(config),
                cache: AuthCache::default(),
                seen: Mutex::new(seen),
            }),
        }
    }

    /// Whether the configuration in force serves TLS (e.g. for probes'
    /// scheme, or a log line).
    pub fn tls_enabled(&self) -> bool {
        self.inner.current.load().tls.is_some()
    }

    /// Whether the configuration in force asks for basic auth.
    pub fn auth_enabled(&self) -> bool {
        self.inner.current.load().users.is_some()
    }

    /// The configuration file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    pub(crate) fn current(&self) -> Arc<WebConfig> {
        self.inner.current.load_full()
    }

    pub(crate) fn cache(&self) -> &AuthCache {
        &self.inner.cache
    }

    /// Checks the file and the files it names once; installs a valid
    /// change, logs an invalid one once (until its content changes
    /// again). Returns whether a new configuration was installed.
    pub(crate) fn check_for_changes(&self) -> bool {
        let Some(path) = &self.inner.path else {
            return false;
        };
        let now = fingerprint(path);
        {
            let mut seen = self
                .inner
                .seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if *seen == now {
                return false;
            }
            *seen = now;
        }
        let previous = self.current();
        let built =
            read_config(path).and_then(|text| WebConfig::build(path, &text, Some(&previous)));
        match built {
            Ok(config) => {
                self.inner
                    .cache
                    .retain(previous.users.as_deref(), config.users.as_deref());
                tracing::info!(
                    file = %path.display(),
                    tls = config.tls.is_some(),
                    http2 = config.http2,
                    users = config.users.is_some(),
                    "web configuration reloaded"
                );
                self.inner.current.store(Arc::new(config));
                true
            }
            Err(error) => {
                tracing::error!(
                    file = %path.display(),
                    %error,
                    "web configuration not reloaded, the last good one stays in force"
                );
                false
            }
        }
    }

    /// Re-reads the file and the files it names now (SIGHUP), off the
    /// async threads; installs a valid change and logs an invalid one as
    /// the periodic check does. Returns whether a new configuration was
    /// installed (`false` also without a file).
    pub async fn reload_now(&self) -> bool {
        let checker = self.clone();
        tokio::task::spawn_blocking(move || checker.check_for_changes())
            .await
            .unwrap_or(false)
    }

    /// Polls for changes every [`RELOAD_INTERVAL`] until the task is
    /// dropped or aborted. Polling (content hash of the file and of every
    /// file it names) rather than inotify: Kubernetes updates a mounted
    /// Secret by swapping a symlink of the folder, which a watch on the
    /// file itself never sees, and the files are a few kilobytes.
    pub(crate) fn spawn_reloader(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.inner.path.as_ref()?;
        let handle = self.clone();
        Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(RELOAD_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let checker = handle.clone();
                // File reads and, on a change, bcrypt for the dummy hash:
                // off the request threads.
                if tokio::task::spawn_blocking(move || checker.check_for_changes())
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }))
    }
}

fn read_config(path: &Path) -> Result<String, WebConfigError> {
    std::fs::read_to_string(path).map_err(|error| {
        WebConfigError::new(format!("cannot read {}: {}", path.display(), error.kind()))
    })
}

/// A hash of the file's bytes and of the bytes of every file it names
/// (read errors included), to notice any change however it was made.
fn fingerprint(path: &Path) -> u64 {
    let mut hasher = DefaultHasher::new();
    let mut add = |file: &Path| match std::fs::read(file) {
        Ok(bytes) => {
            file.hash(&mut hasher);
            bytes.hash(&mut hasher);
            Some(bytes)
        }
        Err(error) => {
            file.hash(&mut hasher);
            error.kind().hash(&mut hasher);
            None
        }
    };
    let Some(bytes) = add(path) else {
        return hasher.finish();
    };
    let names = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| config::parse(text).ok())
        .and_then(|raw| raw.tls_server_config)
        .map(|raw_tls| tls::referenced_files(&raw_tls, &config::config_dir(path)))
        .unwrap_or_default();
    for name in names {
        add(&name);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("arize-web-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn no_file_and_empty_file_mean_plain_http() {
        assert!(!WebConfigHandle::none().tls_enabled());
        let dir = temp_dir("empty");
        let handle = WebConfigHandle::load(write(&dir, "web.yml", "")).unwrap();
        assert!(!handle.tls_enabled() && !handle.auth_enabled());
    }

    #[test]
    fn load_errors_name_the_file_and_never_the_hash() {
        let dir = temp_dir("errors");
        let missing = WebConfigHandle::load(dir.join("absent.yml"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("absent.yml"), "{missing}");
        let hash = "$2b$04$notavalidhashnotavalidhash";
        let file = write(
            &dir,
            "web.yml",
            &format!("basic_auth_users:\n  alice: '{hash}'\n"),
        );
        let error = WebConfigHandle::load(&file).unwrap_err().to_string();
        assert!(
            error.contains("web.yml") && error.contains("alice"),
            "{error}"
        );
        assert!(!error.contains("notavalid"), "{error}");
        let error = WebConfigHandle::load(write(
            &dir,
            "h.yml",
            "http_server_config:\n  headers:\n    Server: x\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(error.contains("Server"), "{error}");
    }

    #[test]
    fn rate_limit_as_the_toolkit_reads_it() {
        let build = |text: &str| WebConfig::build(Path::new("web.yml"), text, None).unwrap();
        assert!(build("rate_limit:\n  interval: 0s\n  burst: 3\n")
            .rate
            .is_none());
        assert!(build("rate_limit:\n  burst: 3\n").rate.is_none());
        let rate = build("rate_limit:\n  interval: 1m\n  burst: 2\n")
            .rate
            .unwrap();
        assert!(rate.allow() && rate.allow() && !rate.allow());
        // Burst 0 with an interval refuses everything, as Go's limiter.
        assert!(!build("rate_limit:\n  interval: 1s\n  burst: 0\n")
            .rate
            .unwrap()
            .allow());
        assert!(WebConfig::build(Path::new("w"), "rate_limit:\n  interval: 1x\n", None).is_err());
    }

    #[test]
    fn http2_only_with_tls_and_off_when_asked() {
        let build = |text: &str| WebConfig::build(Path::new("web.yml"), text, None).unwrap();
        assert!(!build("").http2, "no TLS, no HTTP/2, as in the toolkit");
        assert!(!build("http_server_config:\n  http2: false\n").http2);
    }

    #[test]
    fn a_bad_edit_keeps_the_last_good_configuration() {
        let dir = temp_dir("reload");
        let hash = bcrypt::hash("pw", 4).unwrap();
        let file = write(
            &dir,
            "web.yml",
            &format!("basic_auth_users:\n  alice: '{hash}'\n"),
        );
        let handle = WebConfigHandle::load(&file).unwrap();
        assert!(!handle.check_for_changes(), "nothing changed");
        write(&dir, "web.yml", "basic_auth_users:\n  alice: plain\n");
        assert!(!handle.check_for_changes());
        assert!(handle.auth_enabled(), "the last good configuration stays");
        write(&dir, "web.yml", "");
        assert!(handle.check_for_changes());
        assert!(!handle.auth_enabled());
    }
}
