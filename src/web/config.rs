//! The web configuration file, in the format of the Prometheus
//! exporter-toolkit (`--web.config.file`): parsing and the toolkit's
//! validation rules. Building the TLS side lives in [`super::tls`], the
//! users in [`super::auth`].
//!
//! Errors are one line and never contain a password, a hash or a key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// Why a web configuration cannot be used. One line, no secret in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfigError(String);

impl WebConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WebConfigError {}

/// A string that must never be shown: a private key or a password hash.
/// Its `Debug` hides it, and a value of the wrong type is refused without
/// echoing it.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;
        impl Visitor<'_> for SecretVisitor {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_owned()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Secret, E> {
                Ok(Secret::default())
            }
            // Numbers and booleans are not secrets worth hiding, but keep
            // the message uniform.
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
                Err(E::custom("a secret must be a string"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
                Err(E::custom("a secret must be a string"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
                Err(E::custom("a secret must be a string"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
                Err(E::custom("a secret must be a string"))
            }
        }
        deserializer.deserialize_any(SecretVisitor)
    }
}

/// `basic_auth_users`: user name to bcrypt hash. A scalar in its place is
/// refused without echoing it (it may be a hash pasted at the wrong level).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawUsers(pub(crate) BTreeMap<String, Secret>);

impl<'de> Deserialize<'de> for RawUsers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UsersVisitor;
        const WRONG: &str = "basic_auth_users must map user names to bcrypt hashes";
        impl<'de> Visitor<'de> for UsersVisitor {
            type Value = RawUsers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of user name to bcrypt hash")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawUsers, A::Error> {
                let mut users = BTreeMap::new();
                while let Some((user, hash)) = map.next_entry::<String, Secret>()? {
                    if users.insert(user, hash).is_some() {
                        return Err(de::Error::custom("basic_auth_users names a user twice"));
                    }
                }
                Ok(RawUsers(users))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawUsers, E> {
                Ok(RawUsers::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<RawUsers, E> {
                Err(E::custom(WRONG))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawUsers, E> {
                Err(E::custom(WRONG))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawUsers, E> {
                Err(E::custom(WRONG))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawUsers, E> {
                Err(E::custom(WRONG))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawUsers, E> {
                Err(E::custom(WRONG))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<RawUsers, A::Error> {
                Err(de::Error::custom(WRONG))
            }
        }
        deserializer.deserialize_any(UsersVisitor)
    }
}

/// The whole file, as written. Field names are the toolkit's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub tls_server_config: Option<RawTls>,
    #[serde(default)]
    pub http_server_config: Option<RawHttp>,
    #[serde(default)]
    pub rate_limit: Option<RawRateLimit>,
    #[serde(default)]
    pub basic_auth_users: RawUsers,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    #[serde(default)]
    pub cert: Option<String>,
    #[serde(default)]
    pub key: Option<Secret>,
    #[serde(default)]
    pub client_ca: Option<String>,
    #[serde(default)]
    pub cert_file: Option<String>,
    #[serde(default)]
    pub key_file: Option<String>,
    #[serde(default)]
    pub client_auth_type: Option<String>,
    #[serde(default)]
    pub client_ca_file: Option<String>,
    #[serde(default)]
    pub cipher_suites: Option<Vec<String>>,
    #[serde(default)]
    pub curve_preferences: Option<Vec<String>>,
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    pub client_allowed_sans: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    #[serde(default)]
    pub http2: Option<bool>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    #[serde(default)]
    pub burst: Option<i64>,
    #[serde(default)]
    pub interval: Option<GoDuration>,
}

/// A duration as Go's `time.Duration` reads it from YAML: a string such as
/// `1s`, `1m30s`, `500ms`, `1.5h`, or an integer count of nanoseconds.
/// Negative values are kept as "none" (the toolkit then has no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GoDuration(pub Option<Duration>);

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = GoDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Go duration such as 1s, 500ms or 1m30s")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GoDuration, E> {
                parse_go_duration(v).map(GoDuration).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<GoDuration, E> {
                Ok(GoDuration(u64::try_from(v).ok().map(Duration::from_nanos)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<GoDuration, E> {
                Ok(GoDuration(Some(Duration::from_nanos(v))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<GoDuration, E> {
                Ok(GoDuration(Some(Duration::ZERO)))
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// Parses Go's duration syntax (`time.ParseDuration`): an optional sign,
/// then one or more decimal numbers each with a unit among `ns`, `us`,
/// `µs`, `ms`, `s`, `m`, `h`; `0` alone is allowed. `Ok(None)` for a
/// negative duration.
pub(crate) fn parse_go_duration(text: &str) -> Result<Option<Duration>, String> {
    let invalid = || format!("invalid duration {text:?}");
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Some(Duration::ZERO));
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {text:?}"))?;
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            unit => return Err(format!("unknown unit {unit:?} in duration {text:?}")),
        };
        rest = &rest[unit_len..];
        total += value * nanos_per_unit;
    }
    if total > u64::MAX as f64 {
        return Err(invalid());
    }
    Ok((!negative || total == 0.0).then(|| Duration::from_nanos(total.round() as u64)))
}

/// The response headers the toolkit lets the file set, with the values it
/// allows (`None`: any value). Names are matched exactly, as there.
pub(crate) const ALLOWED_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

/// Checks `http_server_config.headers` against [`ALLOWED_HEADERS`].
pub(crate) fn validate_headers(headers: &BTreeMap<String, String>) -> Result<(), WebConfigError> {
    for (name, value) in headers {
        let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(known, _)| known == name) else {
            return Err(WebConfigError::new(format!(
                "http_server_config: HTTP header {name:?} can not be configured (allowed: {})",
                ALLOWED_HEADERS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if let Some(values) = allowed {
            if !values.contains(&value.as_str()) {
                return Err(WebConfigError::new(format!(
                    "http_server_config: invalid value for {name}: expected one of {values:?}, got {value:?}"
                )));
            }
        }
    }
    Ok(())
}

/// Parses the file's text. An empty file (or one with only comments) is a
/// valid configuration with nothing in it, as in the toolkit.
pub(crate) fn parse(text: &str) -> Result<RawConfig, WebConfigError> {
    let parsed: Option<RawConfig> = serde_yaml_ng::from_str(text)
        .map_err(|error| WebConfigError::new(one_line(&error.to_string())))?;
    Ok(parsed.unwrap_or_default())
}

/// Joins a file name from the configuration with the folder of the
/// configuration file, unless it is absolute (the toolkit's `JoinDir`).
pub(crate) fn resolve(config_dir: &Path, name: &str) -> PathBuf {
    let path = Path::new(name);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        config_dir.join(path)
    }
}

/// The folder names in the file are relative to.
pub(crate) fn config_dir(config_path: &Path) -> PathBuf {
    match config_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A string option that is set and not empty (the toolkit treats `""` as
/// unset everywhere).
pub(crate) fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let d = |s| parse_go_duration(s).unwrap();
        assert_eq!(d("1s"), Some(Duration::from_secs(1)));
        assert_eq!(d("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(d("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(d("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(d("10us"), Some(Duration::from_micros(10)));
        assert_eq!(d("0"), Some(Duration::ZERO));
        assert_eq!(d("-1s"), None);
        for bad in ["", "1", "s", "1x", "1 s", "1.2.3s", "."] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn empty_file_is_an_empty_configuration() {
        let raw = parse("# nothing\n").unwrap();
        assert!(raw.tls_server_config.is_none());
        assert!(raw.basic_auth_users.0.is_empty());
        assert!(parse("").is_ok());
    }

    #[test]
    fn unknown_keys_are_refused_at_every_level() {
        for text in [
            "tls_config: {}\n",
            "tls_server_config:\n  certfile: a\n",
            "http_server_config:\n  http3: true\n",
            "rate_limit:\n  every: 1s\n",
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains("unknown field"), "{text:?}: {error}");
            assert!(!error.contains('\n'));
        }
    }

    #[test]
    fn a_misplaced_hash_is_never_echoed() {
        let hash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
        for text in [
            format!("basic_auth_users: \"{hash}\"\n"),
            format!("basic_auth_users:\n  - \"{hash}\"\n"),
            format!("basic_auth_users:\n  alice:\n    - \"{hash}\"\n"),
            format!("tls_server_config:\n  key: [\"{hash}\"]\n"),
        ] {
            let error = parse(&text).unwrap_err().to_string();
            assert!(!error.contains("QOauh"), "{error}");
        }
    }

    #[test]
    fn headers_follow_the_toolkit_allow_list() {
        let ok = |pairs: &[(&str, &str)]| {
            validate_headers(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert!(ok(&[("X-Frame-Options", "deny")]).is_ok());
        assert!(ok(&[("X-Frame-Options", "sameorigin")]).is_ok());
        assert!(ok(&[("X-Content-Type-Options", "nosniff")]).is_ok());
        assert!(ok(&[("Strict-Transport-Security", "max-age=31536000")]).is_ok());
        assert!(ok(&[("Content-Security-Policy", "default-src 'self'")]).is_ok());
        assert!(ok(&[("X-XSS-Protection", "1; mode=block")]).is_ok());
        assert!(ok(&[("X-Frame-Options", "allow")]).is_err());
        assert!(ok(&[("X-Content-Type-Options", "sniff")]).is_err());
        assert!(ok(&[("Server", "x")]).is_err());
        // Exact names, as in the toolkit.
        assert!(ok(&[("x-frame-options", "deny")]).is_err());
    }

    #[test]
    fn relative_names_follow_the_config_folder() {
        let dir = config_dir(Path::new("/etc/web/config.yml"));
        assert_eq!(resolve(&dir, "tls.crt"), Path::new("/etc/web/tls.crt"));
        assert_eq!(resolve(&dir, "/abs/tls.crt"), Path::new("/abs/tls.crt"));
        assert_eq!(config_dir(Path::new("config.yml")), Path::new("."));
    }
}
