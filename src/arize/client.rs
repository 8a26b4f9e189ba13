//! The HTTP client for the Arize REST API: authentication, the request
//! budget, retries with backoff, the body size cap and problem+json
//! errors; each request is reported to a [`ClientRecorder`]. It knows
//! nothing of tasks: endpoints and pages are described by the caller, so
//! that new endpoints are additions. A poll talks through one [`Session`],
//! which holds the key read for it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{Response, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::budget::RequestBudget;
use super::error::{ApiError, FailureReason};
use super::key::{self, KeyFileProblem};
use super::report::{ApiPath, ClientRecorder, RequestCode};

/// Where the API key comes from.
#[derive(Clone, Debug)]
pub enum ApiKey {
    /// Given on the command line or in the environment.
    Inline(SecretString),
    /// Read from this file before every poll, so that a rotated key is picked up.
    File(PathBuf),
}

/// How the HTTP client talks to the API, whatever the endpoint.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// One HTTP request, connection included (`--request-timeout`).
    pub request_timeout: Duration,
    /// Retries of one request, 0: never (`--max-retries`).
    pub max_retries: u32,
    /// The request budget in requests per second, retries included,
    /// positive and finite (`--max-requests-per-second`).
    pub max_requests_per_second: f64,
    /// The longest `Retry-After` honoured: the time to the next poll's
    /// start (`--poll-interval`). A longer one is cut to this, and logged.
    pub retry_after_cap: Duration,
}

/// Largest body accepted, counted after content decoding.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A `Retry-After` longer than this (or reaching the next poll's start) is
/// not waited for within a poll: the poll fails as `rate_limited`, and no
/// request goes out until it is over.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// An API request's path: the endpoint it labels metrics with and the
/// concrete path.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Which endpoint: its template labels the metrics.
    pub path: ApiPath,
    /// Path segments of the concrete request, e.g. `["v2", "tasks"]`; each
    /// is percent-encoded as one segment when the URL is built, so an id
    /// holding `/` stays one segment.
    pub segments: Vec<String>,
}

impl Endpoint {
    /// The endpoint `path`, requested at `segments`.
    pub fn new<S: Into<String>>(path: ApiPath, segments: impl IntoIterator<Item = S>) -> Endpoint {
        Endpoint {
            path,
            segments: segments.into_iter().map(Into::into).collect(),
        }
    }

    /// The path template, e.g. `/v2/tasks/{task_id}/runs`: never ids.
    pub fn template(&self) -> &'static str {
        self.path.as_str()
    }
}

/// How many more HTTP requests a caller may send, every attempt counted
/// (retries included): e.g. the run requests of one poll share one
/// allowance of `--max-run-requests-per-poll`.
#[derive(Debug)]
pub struct Allowance {
    left: AtomicU32,
}

impl Allowance {
    /// An allowance of `requests` HTTP requests.
    pub fn new(requests: u32) -> Allowance {
        Allowance {
            left: AtomicU32::new(requests),
        }
    }

    /// Requests still allowed.
    pub fn left(&self) -> u32 {
        self.left.load(Ordering::Relaxed)
    }

    /// Takes one request; `false` when none is left.
    fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// One poll's conversation with the API: the client and the key read
/// once at the poll's start (see [`ArizeClient::session`]), so that every
/// request of the poll sends the same key and nothing else carries it.
pub struct Session<'c> {
    client: &'c ArizeClient,
    /// `None`: send no `Authorization` header (the demo simulator).
    key: Option<SecretString>,
}

impl Session<'_> {
    /// `text` from the API (a problem's detail, a run's failure reason)
    /// with the key of this session masked wherever it occurs.
    pub fn mask<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        key::mask(text, self.key.as_ref())
    }

    /// `GET` one JSON document, retrying what is worth retrying.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        self.client
            .fetch(self.key.as_ref(), endpoint, query, None)
            .await
    }

    /// [`get_json`](Self::get_json) without the decoding: the body, for
    /// a caller that reads a part of it before the rest (the pager finds
    /// the next cursor first); [`decode`](Self::decode) it after.
    pub async fn get_body(
        &self,
        endpoint: &Endpoint,
        query: &[(&str, &str)],
    ) -> Result<Body, ApiError> {
        self.client
            .fetch_body(self.key.as_ref(), endpoint, query, None)
            .await
    }

    /// Decodes a body of [`get_body`](Self::get_body) as
    /// [`get_json`](Self::get_json) would have, with the same errors.
    pub fn decode<T: DeserializeOwned>(&self, body: Body) -> Result<T, ApiError> {
        decode(body, self.key.as_ref())
    }

    /// [`get_json`](Self::get_json) within `allowance`: every HTTP request
    /// sent takes one from it, and no retry is sent once it is spent (the
    /// last answer's error is returned). Check [`Allowance::left`] first: a
    /// call with nothing left sends nothing and fails as `rate_limited`.
    pub async fn get_json_within<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        query: &[(&str, &str)],
        allowance: &Allowance,
    ) -> Result<T, ApiError> {
        self.client
            .fetch(self.key.as_ref(), endpoint, query, Some(allowance))
            .await
    }
}

/// The HTTP client could not be built (its TLS backend failed to start).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client")]
pub struct ClientBuildError(#[source] reqwest::Error);

/// Talks to one Arize API host.
pub struct ArizeClient {
    http: reqwest::Client,
    base_url: Url,
    /// `None`: send no `Authorization` header (the demo simulator).
    key: Option<ApiKey>,
    budget: RequestBudget,
    max_retries: u32,
    retry_after_cap: Duration,
    recorder: Arc<dyn ClientRecorder>,
    /// The last key read from the key file, and the problem last warned
    /// about (warned once until the cause changes or the file is read).
    key_file: Mutex<KeyFileState>,
}

#[derive(Default)]
struct KeyFileState {
    last_key: Option<SecretString>,
    warned: Option<KeyFileProblem>,
}

impl ArizeClient {
    /// A client of the API at `base_url` (paths are appended to it),
    /// authenticating with `key` (none for the demo simulator), with the
    /// timeout, retries and request budget of `settings`; every request is
    /// reported to `recorder`.
    pub fn new(
        base_url: Url,
        key: Option<ApiKey>,
        settings: &ClientSettings,
        recorder: Arc<dyn ClientRecorder>,
    ) -> Result<ArizeClient, ClientBuildError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("arize-exporter/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout)
            // A redirect is never followed: one to another host would drop
            // the key and its 401 would read as a rejected key. A 3xx
            // fails the request as `client_error`, naming where it pointed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(ClientBuildError)?;
        Ok(ArizeClient {
            http,
            base_url,
            key,
            budget: RequestBudget::new(settings.max_requests_per_second),
            max_retries: settings.max_retries,
            retry_after_cap: settings.retry_after_cap,
            recorder,
            key_file: Mutex::new(KeyFileState::default()),
        })
    }

    /// Opens the session of one poll: reads the key. A key file is
    /// re-read every time, so a rotated key is picked up without a
    /// restart, and never blocks (see [`key::read_key_file`]); when it
    /// cannot be used, the poll goes on with the last key read, the
    /// problem is counted ([`ClientRecorder::key_file_error`]) and warned
    /// about once per cause.
    ///
    /// # Errors
    ///
    /// `unauthorized`: the key file cannot be used and no key was ever
    /// read from it.
    pub fn session(&self) -> Result<Session<'_>, ApiError> {
        let key = match &self.key {
            None => None,
            Some(ApiKey::Inline(key)) => Some(key.clone()),
            Some(ApiKey::File(path)) => Some(self.read_key_file(path)?),
        };
        Ok(Session { client: self, key })
    }

    fn read_key_file(&self, path: &std::path::Path) -> Result<SecretString, ApiError> {
        let read = key::read_key_file(path);
        let mut state = self.key_file.lock().unwrap_or_else(PoisonError::into_inner);
        let problem = match read {
            Ok(key) => {
                if state.warned.take().is_some() {
                    tracing::info!(file = %path.display(), "the API key file is readable again");
                }
                state.last_key = Some(key.clone());
                return Ok(key);
            }
            Err(problem) => problem,
        };
        self.recorder.key_file_error();
        let message = format!("the API key file {} {problem}", path.display());
        if let Some(last) = state.last_key.clone() {
            if state.warned.as_ref() != Some(&problem) {
                tracing::warn!(file = %path.display(), problem = %problem,
                    "the API key file cannot be used; polling goes on with the last key read from it");
                state.warned = Some(problem);
            }
            return Ok(last);
        }
        Err(ApiError::fatal(FailureReason::Unauthorized, message))
    }

    async fn fetch<T: DeserializeOwned>(
        &self,
        key: Option<&SecretString>,
        endpoint: &Endpoint,
        query: &[(&str, &str)],
        allowance: Option<&Allowance>,
    ) -> Result<T, ApiError> {
        let body = self.fetch_body(key, endpoint, query, allowance).await?;
        decode(body, key)
    }

    /// [`fetch`](Self::fetch) up to the decoding: the body of a 2xx
    /// answer, retries spent as they are worth, a byte order mark removed.
    async fn fetch_body(
        &self,
        key: Option<&SecretString>,
        endpoint: &Endpoint,
        query: &[(&str, &str)],
        allowance: Option<&Allowance>,
    ) -> Result<Body, ApiError> {
        let url = self.url(endpoint, query);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(30))
            .with_max_times(self.max_retries as usize)
            .with_jitter();
        let Answer {
            mut body,
            content_type,
        } = (|| self.attempt(key, endpoint.path, &url, allowance))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &ApiError| e.retryable && allowance.is_none_or(|a| a.left() > 0))
            .adjust(|e: &ApiError, next: Option<Duration>| {
                // `next` is None once the retries are spent: Retry-After sets
                // how long to wait before a retry, never whether to retry.
                let next = next?;
                match e.retry_after {
                    // Not waited for within the poll: too long, or (capped)
                    // lasting until the next poll's start anyway.
                    Some(wait) if wait > MAX_RETRY_AFTER || wait >= self.retry_after_cap => None,
                    Some(wait) => Some(wait),
                    None => Some(next),
                }
            })
            .notify(|e: &ApiError, wait: Duration| {
                tracing::warn!(endpoint = endpoint.template(), error = %e, retry_in = ?wait, "API request failed; retrying");
            })
            .await?;
        // A UTF-8 byte order mark may start a body (RFC 8259 lets a parser
        // ignore it); serde_json does not.
        if body.starts_with(b"\xEF\xBB\xBF") {
            body.drain(..3);
        }
        Ok(Body {
            bytes: body,
            content_type,
            template: endpoint.template(),
        })
    }

    /// Reads a 2xx body under the size cap, or turns any other status
    /// into an error.
    async fn read_answer(
        &self,
        mut response: Response,
        template: &str,
        key: Option<&SecretString>,
    ) -> Result<Answer, ApiError> {
        let status = response.status();
        if !status.is_success() {
            return Err(self.status_error(response, template, key).await);
        }
        let content_type = content_type(&response);
        let mut body = Vec::with_capacity(
            response
                .content_length()
                .map_or(0, |n| n.min(MAX_BODY_BYTES as u64) as usize),
        );
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(&e, template))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ApiError::fatal(
                    FailureReason::Decode,
                    format!(
                        "{template} answered a body larger than {} MiB",
                        MAX_BODY_BYTES >> 20
                    ),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { body, content_type })
    }

    fn url(&self, endpoint: &Endpoint, query: &[(&str, &str)]) -> Url {
        let mut url = self.base_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(&endpoint.segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// One HTTP exchange: waits for the budget, sends, records the metrics
    /// and returns the body of a 2xx answer.
    async fn attempt(
        &self,
        key: Option<&SecretString>,
        path: ApiPath,
        url: &Url,
        allowance: Option<&Allowance>,
    ) -> Result<Answer, ApiError> {
        let template = path.as_str();
        // A Retry-After from an earlier answer, perhaps of an earlier poll.
        if let Some(left) = self.budget.held_for() {
            if left > MAX_RETRY_AFTER {
                return Err(ApiError::fatal(
                    FailureReason::RateLimited,
                    format!(
                        "{template} not called: the API asked to wait another {} (Retry-After)",
                        humantime::format_duration(Duration::from_secs(left.as_secs()))
                    ),
                ));
            }
            tokio::time::sleep(left).await;
        }
        let mut request = self.http.get(url.clone());
        if let Some(key) = key {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                .map_err(|_| {
                    ApiError::fatal(
                        FailureReason::Unauthorized,
                        "the API key holds characters not allowed in an HTTP header",
                    )
                })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        if allowance.is_some_and(|a| !a.take()) {
            return Err(ApiError::fatal(
                FailureReason::RateLimited,
                format!("{template} not called: the requests allowed for it are spent"),
            ));
        }
        // Only a request that will be sent takes a token of the rate budget:
        // one refused above costs the budget nothing.
        self.budget.acquire().await;
        let started = Instant::now();
        let result = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let outcome = self.read_answer(response, template, key).await;
                // A 2xx whose body never arrived whole is counted by why.
                let code = match &outcome {
                    Err(e)
                        if status.is_success()
                            && matches!(
                                e.reason,
                                FailureReason::Timeout | FailureReason::Transport
                            ) =>
                    {
                        RequestCode::Failed(e.reason)
                    }
                    _ => RequestCode::Status(status),
                };
                self.recorder.request(path, code, started.elapsed());
                outcome
            }
            Err(e) => {
                let error = transport_error(&e, template);
                self.recorder
                    .request(path, RequestCode::Failed(error.reason), started.elapsed());
                Err(error)
            }
        };
        if let Err(e) = &result {
            tracing::debug!(endpoint = template, error = %e, "API request failed");
            if let Some(wait) = e.retry_after {
                self.budget.hold_for(wait);
            }
        }
        result
    }
}

/// A 2xx answer's body, not decoded yet ([`Session::get_body`]); its
/// `Content-Type` and endpoint for the error of a body that does not
/// decode.
pub struct Body {
    bytes: Vec<u8>,
    content_type: Option<String>,
    template: &'static str,
}

impl Body {
    /// The body as received (content-decoded, without a byte order mark).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Decodes `body` as `T`: lone UTF-16 surrogate escapes read as U+FFFD;
/// a body that is not JSON, or not of the expected shape, fails as
/// `decode` (its start quoted with `key` masked).
fn decode<T: DeserializeOwned>(body: Body, key: Option<&SecretString>) -> Result<T, ApiError> {
    let Body {
        bytes: mut body,
        content_type,
        template,
    } = body;
    let error = match serde_json::from_slice(&body) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    // A lone UTF-16 surrogate escape (`"\ud800"`) is valid JSON by the
    // grammar, and what Python's json.dumps writes for such a string, but
    // serde_json refuses it: one odd task name would blind the exporter.
    // Such escapes become U+FFFD, and only on this slow path.
    if replace_lone_surrogates(&mut body) {
        if let Ok(value) = serde_json::from_slice(&body) {
            tracing::warn!(
                endpoint = template,
                "the answer holds lone UTF-16 surrogate escapes; read them as U+FFFD"
            );
            return Ok(value);
        }
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        // Not JSON at all: a captive portal, a maintenance page, a proxy.
        return Err(ApiError::fatal(
            FailureReason::Decode,
            format!(
                "{} answered a body that is not JSON (Content-Type: {}): {}",
                template,
                content_type.as_deref().unwrap_or("none"),
                excerpt(&body, key)
            ),
        ));
    }
    Err(ApiError::fatal(
        FailureReason::Decode,
        format!(
            "{} answered a body that is not the expected JSON: {error}",
            template
        ),
    ))
}

/// The problem details (RFC 9457) worth logging.
#[derive(Deserialize)]
struct Problem {
    title: Option<String>,
    detail: Option<String>,
}

/// A 2xx answer's body and its `Content-Type`.
struct Answer {
    body: Vec<u8>,
    content_type: Option<String>,
}

/// The `Content-Type` of `response`, at most 128 characters, for a log line.
fn content_type(response: &Response) -> Option<String> {
    response.headers().get(CONTENT_TYPE).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .chars()
            .take(128)
            .collect()
    })
}

/// The characters of a body's start quoted in a log line.
const EXCERPT_CHARS: usize = 120;

/// The start of `body`, escaped and quoted, with the key masked: enough
/// to recognise a captive portal or a proxy's page, never a line break.
fn excerpt(body: &[u8], key: Option<&SecretString>) -> String {
    // The key is masked before the cut, so that no part of it is shown.
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    let masked = key::mask(&text, key);
    let start: String = masked.chars().take(EXCERPT_CHARS).collect();
    let more = if masked.chars().nth(EXCERPT_CHARS).is_some() {
        "..."
    } else {
        ""
    };
    format!("{start:?}{more}")
}

impl ArizeClient {
    /// The error for a final answer that is not 2xx: its status, the
    /// problem's title and detail (the key masked), or the start of a body
    /// that is not JSON; its `Retry-After`, at most the poll interval.
    async fn status_error(
        &self,
        response: Response,
        template: &str,
        key: Option<&SecretString>,
    ) -> ApiError {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| self.retry_after(v, template));
        // Where a redirect pointed (never followed), for the log line.
        let location = response.headers().get(LOCATION).map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(512)
                .collect::<String>()
        });
        let content_type = content_type(&response);
        // Only a small error body is read: enough for the problem's title and detail.
        let body = read_prefix(response, 64 * 1024).await;
        let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok();
        let problem: Option<Problem> = serde_json::from_slice(&body).ok();
        let mut message = format!("{template} answered HTTP {}", status.as_u16());
        if let Some(reason) = status.canonical_reason() {
            message = format!("{message} {reason}");
        }
        if status.is_redirection() {
            match location {
                Some(location) => message.push_str(&format!(
                    ", redirecting to {location:?}; redirects are never followed (set --api-url to the final address)"
                )),
                None => message.push_str("; redirects are never followed"),
            }
        }
        if let Some(Problem { title, detail }) = problem {
            for part in [title, detail].into_iter().flatten() {
                message.push_str(": ");
                message.push_str(&key::mask(&part, key));
            }
        } else if !is_json && !body.is_empty() {
            message.push_str(&format!(
                ", a body that is not JSON (Content-Type: {}): {}",
                content_type.as_deref().unwrap_or("none"),
                excerpt(&body, key)
            ));
        }
        let mut reason = FailureReason::from_status(status.as_u16());
        // A 401 or 403 page that is not JSON comes from a proxy or a
        // firewall, not from the API: the key is not what was refused.
        if reason == FailureReason::Unauthorized && !is_json && !body.is_empty() {
            reason = FailureReason::ClientError;
        }
        let retryable = status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error();
        let mut error = if retryable {
            ApiError::transient(reason, message)
        } else {
            ApiError::fatal(reason, message)
        };
        error.retry_after = retry_after;
        error.status = Some(status.as_u16());
        error
    }

    /// A `Retry-After` header as a wait, at most the poll interval (a
    /// longer one is cut to it, and logged): any value, however absurd,
    /// neither crashes the exporter nor stops it for longer than that.
    /// An unreadable or negative value is ignored.
    fn retry_after(&self, value: &HeaderValue, template: &str) -> Option<Duration> {
        let shown = || {
            String::from_utf8_lossy(value.as_bytes())
                .chars()
                .take(64)
                .collect::<String>()
        };
        let Some(wait) = value.to_str().ok().and_then(parse_retry_after) else {
            tracing::debug!(endpoint = template, retry_after = ?shown(), "ignoring a Retry-After that is not a number of seconds or an HTTP date");
            return None;
        };
        if wait > self.retry_after_cap {
            tracing::warn!(
                endpoint = template,
                retry_after = ?shown(),
                capped_to = %humantime::format_duration(self.retry_after_cap),
                "the API asked to wait beyond the next poll (Retry-After); capped to the poll interval"
            );
            return Some(self.retry_after_cap);
        }
        Some(wait)
    }
}

async fn read_prefix(mut response: Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())])
            }
            _ => break,
        }
    }
    body
}

/// Rewrites, in place, every `\uXXXX` escape of an unpaired UTF-16
/// surrogate inside a JSON string as `\uFFFD` (the same length). Returns
/// whether anything changed.
fn replace_lone_surrogates(body: &mut [u8]) -> bool {
    fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
        let digits = bytes.get(at..at + 4)?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    }
    let is_lead = |n: u16| (0xD800..=0xDBFF).contains(&n);
    let is_trail = |n: u16| (0xDC00..=0xDFFF).contains(&n);
    let mut changed = false;
    let mut in_string = false;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => {
                in_string = !in_string;
                i += 1;
            }
            b'\\' if in_string => {
                let Some(n) = (body.get(i + 1) == Some(&b'u'))
                    .then(|| hex4(body, i + 2))
                    .flatten()
                else {
                    // Any other escape is two bytes (`\"`, `\\`, `\n`, ...).
                    i += 2;
                    continue;
                };
                let paired = is_lead(n)
                    && body.get(i + 6) == Some(&b'\\')
                    && body.get(i + 7) == Some(&b'u')
                    && hex4(body, i + 8).is_some_and(is_trail);
                if paired {
                    i += 12;
                    continue;
                }
                if is_lead(n) || is_trail(n) {
                    body[i + 2..i + 6].copy_from_slice(b"FFFD");
                    changed = true;
                }
                i += 6;
            }
            _ => i += 1,
        }
    }
    changed
}

/// `Retry-After` as whole seconds or as an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn transport_error(error: &reqwest::Error, template: &str) -> ApiError {
    // reqwest's message names the URL, which holds no secret: the key only
    // ever travels in the Authorization header.
    let detail = error_chain(error);
    if let Some(problem) = certificate_error(error) {
        // Trying again will not make the certificate trusted.
        return ApiError::fatal(
            FailureReason::Transport,
            format!("{template}: {}", certificate_message(problem)),
        );
    }
    if error.is_timeout() {
        ApiError::transient(
            FailureReason::Timeout,
            format!("{template} timed out: {detail}"),
        )
    } else if error.is_decode() {
        ApiError::fatal(FailureReason::Decode, format!("{template}: {detail}"))
    } else {
        ApiError::transient(FailureReason::Transport, format!("{template}: {detail}"))
    }
}

/// The rustls certificate error somewhere in `error`'s chain, if any. An
/// I/O error hides the error it wraps from `source()` (and reqwest nests
/// them), so each I/O error is also opened.
fn certificate_error<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> Option<&'e rustls::CertificateError> {
    if let Some(rustls::Error::InvalidCertificate(problem)) = error.downcast_ref::<rustls::Error>()
    {
        return Some(problem);
    }
    let wrapped = error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
        .and_then(|inner| certificate_error(inner));
    wrapped.or_else(|| certificate_error(error.source()?))
}

/// One line saying why the server's certificate was refused and what to do.
fn certificate_message(problem: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    let what = match problem {
        E::UnknownIssuer => "is not trusted (issued by an authority not among the trusted roots)",
        E::Expired | E::ExpiredContext { .. } => "has expired",
        E::NotValidYet | E::NotValidYetContext { .. } => "is not valid yet (check the clock)",
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "is not valid for this host name (check --api-url)"
        }
        E::Revoked => "has been revoked",
        _ => "was refused",
    };
    format!(
        "the server's TLS certificate {what}: {problem}; for a self-hosted install with a private CA, \
         set SSL_CERT_FILE (a PEM bundle) or SSL_CERT_DIR to trust it"
    )
}

/// The error and its sources on one line ("error sending request: connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        let in_ten = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(10));
        let wait = parse_retry_after(&in_ten).unwrap();
        assert!(
            wait > Duration::from_secs(8) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let mut body = br#"["a\ud800b", "\udc00", "\ud83d\ude80", "\\ud800", "\ud800\n"]"#.to_vec();
        assert!(replace_lone_surrogates(&mut body));
        let strings: Vec<String> = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            strings,
            ["a\u{fffd}b", "\u{fffd}", "🚀", "\\ud800", "\u{fffd}\n"]
        );
        let mut clean = br#"{"a":"\ud83d\ude80 \\ud800"}"#.to_vec();
        assert!(!replace_lone_surrogates(&mut clean));
    }

    #[test]
    fn an_allowance_gives_what_it_holds_and_no_more() {
        let allowance = Allowance::new(2);
        assert!(allowance.take() && allowance.take());
        assert!(!allowance.take());
        assert_eq!(allowance.left(), 0);
    }

    #[test]
    fn statuses_map_to_their_reasons() {
        assert_eq!(FailureReason::from_status(401), FailureReason::Unauthorized);
        assert_eq!(FailureReason::from_status(403), FailureReason::Unauthorized);
        assert_eq!(FailureReason::from_status(404), FailureReason::ClientError);
        assert_eq!(FailureReason::from_status(429), FailureReason::RateLimited);
        assert_eq!(FailureReason::from_status(503), FailureReason::ServerError);
    }
}
