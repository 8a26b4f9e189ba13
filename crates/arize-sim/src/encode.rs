//! The text the simulator writes the same way everywhere: Arize-style
//! opaque ids, the hash that makes them deterministic, base64 and the API's
//! timestamps. A leaf: tasks, runs and the server all use it.

use std::num::NonZeroU8;

use base64::Engine as _;
use time::format_description::well_known::iso8601::{Config, EncodedConfig, TimePrecision};
use time::format_description::well_known::Iso8601;
use time::OffsetDateTime;

/// `t` in UTC as RFC 3339 with millisecond precision and `Z`, the way the
/// API writes timestamps (`2026-03-01T14:30:00.000Z`).
pub fn rfc3339_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    // Formatting fails only for years outside 0..=9999, which the simulator
    // never serves; the epoch stands in rather than a panic.
    t.format(&Iso8601::<MILLIS_Z>)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// RFC 3339 profile of ISO 8601: `YYYY-MM-DDTHH:MM:SS.mmmZ`. (The well-known
/// `Rfc3339` format trims the fraction, `.000` included; the API always
/// writes three digits.)
const MILLIS_Z: EncodedConfig = Config::DEFAULT
    .set_time_precision(TimePrecision::Second {
        decimal_digits: NonZeroU8::new(3),
    })
    .encode();

/// A base64 id in the style of Arize's (`T25saW5lVGFzazo0NTpxUndY` is
/// `OnlineTask:45:qRwX`).
pub(crate) fn opaque_id(kind: &str, n: u64) -> String {
    let h = fnv1a(&n.to_le_bytes()).wrapping_add(fnv1a(kind.as_bytes()));
    let letters: String = (0..4)
        .map(|k| {
            let c = ((h >> (k * 6)) % 52) as u8;
            char::from(if c < 26 { b'a' + c } else { b'A' + c - 26 })
        })
        .collect();
    base64_encode(format!("{kind}:{n}:{letters}").as_bytes())
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Standard base64 with padding (the alphabet of Arize's ids).
pub(crate) fn base64_encode(input: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// Inverse of [`base64_encode`]; `None` for anything that is not canonical
/// padded base64.
pub(crate) fn base64_decode(input: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(input).ok()
}
