//! HTTP basic auth against the file's `basic_auth_users` (bcrypt hashes).
//!
//! bcrypt is slow on purpose, so a verified (user, password, hash) is
//! remembered as a keyed 128-bit digest (never the password itself): a
//! scraper sending the same credentials every 15 s pays bcrypt once. An
//! unknown user costs one bcrypt check against a dummy hash of the same
//! cost, so timing does not tell which users exist. bcrypt runs on the
//! blocking pool, a few checks at a time (one per core, at least two), so
//! a flood of wrong passwords is bounded and one user's slow hash does not
//! make the others wait.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::http::HeaderValue;
use base64::Engine;

use super::config::{Secret, WebConfigError};

/// Digests remembered per user; a scraper uses one password, rotation two.
const MAX_VERIFIED_PER_USER: usize = 4;

/// The password of the dummy hash an unknown user is checked against: it
/// matches, so only the known-user condition keeps such a user out.
const DUMMY_PASSWORD: &[u8] = b"not a password anyone sends";

/// The configured users, validated.
#[derive(Debug)]
pub(crate) struct Users {
    hashes: HashMap<String, Secret>,
    /// A hash of a password nobody sends, at the highest configured cost.
    dummy: Arc<str>,
}

impl Users {
    /// Validates every hash: `$2a$`, `$2b$` or `$2y$`, cost 4 to 31, 60
    /// characters. The error names the user, never the hash. `None` when
    /// there are no users (no auth).
    pub(crate) fn new(raw: &BTreeMap<String, Secret>) -> Result<Option<Self>, WebConfigError> {
        if raw.is_empty() {
            return Ok(None);
        }
        let mut max_cost = 0;
        for (user, hash) in raw {
            let cost = bcrypt_cost(&hash.0).ok_or_else(|| {
                WebConfigError::new(format!(
                    "basic_auth_users: the password of user {user:?} is not a bcrypt hash ($2a$, $2b$ or $2y$, cost 4 to 31)"
                ))
            })?;
            max_cost = max_cost.max(cost);
        }
        Ok(Some(Self {
            hashes: raw.iter().map(|(u, h)| (u.clone(), h.clone())).collect(),
            dummy: dummy_hash(max_cost)?,
        }))
    }

    fn same_entry(&self, other: &Users, user: &str) -> bool {
        self.hashes.get(user) == other.hashes.get(user)
    }
}

/// The cost of a well-formed bcrypt hash, `None` otherwise.
fn bcrypt_cost(hash: &str) -> Option<u32> {
    let version_ok = ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p));
    let parts: bcrypt::HashParts = hash.parse().ok()?;
    let cost = parts.get_cost();
    (version_ok && hash.len() == 60 && (4..=31).contains(&cost)).then_some(cost)
}

/// A well-formed hash of the given cost that no password matches, made
/// without paying that cost: a real hash at the lowest cost (4), relabelled.
/// Checking a password against it runs bcrypt at `cost` like a real user's
/// hash would, and fails. Computing a real one at cost 18 took 19 s before
/// anything listened.
fn dummy_hash(cost: u32) -> Result<Arc<str>, WebConfigError> {
    static LOWEST: OnceLock<Option<String>> = OnceLock::new();
    let lowest = LOWEST
        .get_or_init(|| {
            bcrypt::hash_with_salt(DUMMY_PASSWORD, 4, [0x5a; 16])
                .ok()
                .map(|parts| parts.format_for_version(bcrypt::Version::TwoB))
        })
        .as_deref()
        .ok_or_else(|| WebConfigError::new("basic_auth_users: cannot prepare bcrypt"))?;
    // "$2b$04$" + 53 characters of salt and digest.
    let rest = lowest.get(7..).unwrap_or_default();
    Ok(format!("$2b${cost:02}${rest}").into())
}

/// bcrypt checks run at once: one per core, at least two, so that one
/// user's slow hash does not make every other user wait.
fn bcrypt_slots() -> usize {
    std::thread::available_parallelism()
        .map_or(2, std::num::NonZeroUsize::get)
        .clamp(2, 16)
}

/// Verified credentials, shared by every configuration generation so that
/// a reload keeps what still holds and forgets users whose entry changed.
#[derive(Debug)]
pub(crate) struct AuthCache {
    keys: (RandomState, RandomState),
    verified: Mutex<HashMap<String, Vec<u128>>>,
    bcrypt_gate: Arc<tokio::sync::Semaphore>,
}

impl Default for AuthCache {
    fn default() -> Self {
        Self {
            keys: (RandomState::new(), RandomState::new()),
            verified: Mutex::new(HashMap::new()),
            bcrypt_gate: Arc::new(tokio::sync::Semaphore::new(bcrypt_slots())),
        }
    }
}

impl AuthCache {
    fn digest(&self, user: &str, password: &[u8], hash: &str) -> u128 {
        let value = (user, password, hash);
        (u128::from(self.keys.0.hash_one(value)) << 64) | u128::from(self.keys.1.hash_one(value))
    }

    /// Forgets every user whose entry differs between `old` and `new`
    /// (changed hash, removed user, or no users any more).
    pub(crate) fn retain(&self, old: Option<&Users>, new: Option<&Users>) {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        match (old, new) {
            (Some(old), Some(new)) => verified.retain(|user, _| old.same_entry(new, user)),
            _ => verified.clear(),
        }
    }

    #[cfg(test)]
    fn remembered(&self, user: &str) -> usize {
        let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified.get(user).map_or(0, Vec::len)
    }

    /// Whether the `Authorization` header holds a configured user and its
    /// password.
    pub(crate) async fn authorize(&self, users: &Users, header: Option<&HeaderValue>) -> bool {
        let mut buffer = [0u8; 768];
        let Some((user, password)) = header.and_then(|h| decode_basic(h.as_bytes(), &mut buffer))
        else {
            return false;
        };
        let known = users.hashes.get(user);
        let hash: &str = match known {
            Some(secret) => &secret.0,
            None => &users.dummy,
        };
        let digest = self.digest(user, password, hash);
        if known.is_some() {
            let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if verified.get(user).is_some_and(|d| d.contains(&digest)) {
                return true;
            }
        }
        let Ok(turn) = self.bcrypt_gate.clone().acquire_owned().await else {
            return false;
        };
        let (password_owned, hash_owned) = (password.to_vec(), hash.to_owned());
        // The slot goes with the check: a client that leaves does not free
        // it while bcrypt still runs.
        let matches = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            bcrypt::verify(password_owned, &hash_owned).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        if !(matches && known.is_some()) {
            return false;
        }
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        let digests = verified.entry(user.to_owned()).or_default();
        if !digests.contains(&digest) {
            if digests.len() >= MAX_VERIFIED_PER_USER {
                digests.remove(0);
            }
            digests.push(digest);
        }
        true
    }
}

/// Splits `Basic base64(user:password)` into its parts, decoded into
/// `buffer` (no allocation). `None` for any other scheme, bad base64, a
/// user name that is not UTF-8 or credentials too long for the buffer.
fn decode_basic<'a>(header: &[u8], buffer: &'a mut [u8]) -> Option<(&'a str, &'a [u8])> {
    if header.len() < 6 || !header[..6].eq_ignore_ascii_case(b"Basic ") {
        return None;
    }
    let encoded = &header[6..];
    if encoded.len() / 4 * 3 > buffer.len() {
        return None;
    }
    let length = base64::engine::general_purpose::STANDARD
        .decode_slice(encoded, buffer)
        .ok()?;
    let decoded = &buffer[..length];
    let colon = decoded.iter().position(|b| *b == b':')?;
    let user = std::str::from_utf8(&decoded[..colon]).ok()?;
    Some((user, &decoded[colon + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(pairs: &[(&str, &str)]) -> Result<Option<Users>, WebConfigError> {
        Users::new(
            &pairs
                .iter()
                .map(|(u, h)| (u.to_string(), Secret(h.to_string())))
                .collect(),
        )
    }

    fn basic(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    #[test]
    fn hashes_must_be_bcrypt_and_errors_never_show_them() {
        let good = bcrypt::hash("secret", 4).unwrap();
        let as_2a = good.replacen("$2b$", "$2a$", 1);
        let as_2y = good.replacen("$2b$", "$2y$", 1);
        for hash in [&good, &as_2a, &as_2y] {
            assert!(users(&[("alice", hash)]).unwrap().is_some(), "{hash}");
        }
        let as_2x = good.replacen("$2b$", "$2x$", 1);
        let too_short = &good[..59];
        for bad in [
            "secret",
            "",
            as_2x.as_str(),
            too_short,
            "$2b$03$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
        ] {
            let error = users(&[("alice", bad)]).unwrap_err().to_string();
            assert!(error.contains("\"alice\""), "{error}");
            if !bad.is_empty() {
                assert!(!error.contains(bad), "{error}");
            }
            assert!(!error.contains('\n'));
        }
        assert!(users(&[]).unwrap().is_none());
    }

    #[test]
    fn decoding_the_header() {
        let mut buffer = [0u8; 768];
        let header = basic("alice", "pa:ss");
        let (user, password) = decode_basic(header.as_bytes(), &mut buffer).unwrap();
        assert_eq!((user, password), ("alice", &b"pa:ss"[..]));
        let mut buffer = [0u8; 768];
        assert!(decode_basic(b"basic YWxpY2U6eA==", &mut buffer).is_some());
        for bad in [
            &b"Bearer YWxpY2U6eA=="[..],
            b"Basic !!!",
            b"Basic YWxpY2U=",
            b"",
        ] {
            let mut buffer = [0u8; 768];
            assert!(decode_basic(bad, &mut buffer).is_none(), "{bad:?}");
        }
        let long = format!("Basic {}", "QUFB".repeat(400));
        let mut buffer = [0u8; 768];
        assert!(decode_basic(long.as_bytes(), &mut buffer).is_none());
    }

    #[tokio::test]
    async fn verified_passwords_are_cached_and_forgotten_on_change() {
        let first = users(&[("alice", &bcrypt::hash("one", 4).unwrap())])
            .unwrap()
            .unwrap();
        let cache = AuthCache::default();
        assert!(!cache.authorize(&first, None).await);
        assert!(!cache.authorize(&first, Some(&basic("alice", "two"))).await);
        assert_eq!(
            cache.remembered("alice"),
            0,
            "a wrong password is not remembered"
        );
        assert!(!cache.authorize(&first, Some(&basic("bob", "one"))).await);
        assert!(cache.authorize(&first, Some(&basic("alice", "one"))).await);
        assert_eq!(cache.remembered("alice"), 1);
        assert!(cache.authorize(&first, Some(&basic("alice", "one"))).await);
        assert_eq!(cache.remembered("alice"), 1);

        // Same entry: kept. Changed entry: forgotten, and the old password fails.
        let same = users(&[("alice", &first.hashes["alice"].0)])
            .unwrap()
            .unwrap();
        cache.retain(Some(&first), Some(&same));
        assert_eq!(cache.remembered("alice"), 1);
        let changed = users(&[("alice", &bcrypt::hash("two", 4).unwrap())])
            .unwrap()
            .unwrap();
        cache.retain(Some(&same), Some(&changed));
        assert_eq!(cache.remembered("alice"), 0);
        assert!(
            !cache
                .authorize(&changed, Some(&basic("alice", "one")))
                .await
        );
        assert!(
            cache
                .authorize(&changed, Some(&basic("alice", "two")))
                .await
        );
        cache.retain(Some(&changed), None);
        assert_eq!(cache.remembered("alice"), 0);
    }

    #[test]
    fn the_dummy_hash_has_the_highest_configured_cost() {
        let u = users(&[
            ("a", &bcrypt::hash("x", 4).unwrap()),
            ("b", &bcrypt::hash("x", 5).unwrap()),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(bcrypt_cost(&u.dummy), Some(5));
    }

    #[tokio::test]
    async fn the_dummy_password_lets_no_unknown_user_in() {
        let users = users(&[("alice", &bcrypt::hash("one", 4).unwrap())])
            .unwrap()
            .unwrap();
        let dummy = std::str::from_utf8(DUMMY_PASSWORD).unwrap();
        assert!(
            bcrypt::verify(DUMMY_PASSWORD, &users.dummy).unwrap(),
            "the dummy hash is of DUMMY_PASSWORD, so the check below is not vacuous"
        );
        let cache = AuthCache::default();
        for attempt in ["first", "second"] {
            assert!(
                !cache
                    .authorize(&users, Some(&basic("mallory", dummy)))
                    .await,
                "{attempt} attempt"
            );
            assert!(!cache.authorize(&users, Some(&basic("alice", dummy))).await);
        }
        assert_eq!(cache.remembered("mallory"), 0);
        assert!(cache.authorize(&users, Some(&basic("alice", "one"))).await);
    }

    #[test]
    fn a_dummy_hash_of_a_high_cost_is_made_without_paying_it() {
        // Cost 31 would take days to compute: made at once, well-formed.
        let dummy = dummy_hash(31).unwrap();
        assert_eq!(bcrypt_cost(&dummy), Some(31));
        let low = dummy_hash(5).unwrap();
        assert_eq!(low.len(), 60);
        assert!(!bcrypt::verify(DUMMY_PASSWORD, &low).unwrap());
    }
}
