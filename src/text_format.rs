//! The Prometheus text format (0.0.4), written by hand: escaping, value
//! spelling, whole samples, and [`SeriesParts`], where each part of the
//! per-series text rendered once per poll (and copied by every scrape) is.
//!
//! A leaf module: the exposition's store renders with it when a snapshot
//! is published, and the exposition at scrape time.

use std::fmt::Write;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Writes the `# HELP` and `# TYPE` lines of a family.
pub fn family_header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Appends `name="value"`, escaping the value as the text format requires
/// (backslash, double quote and line feed); `first` omits the leading comma.
pub fn label(out: &mut String, name: &str, value: &str, first: bool) {
    if !first {
        out.push(',');
    }
    out.push_str(name);
    out.push_str("=\"");
    escape(out, value);
    out.push('"');
}

/// What goes before each value when labels `names` are written back from
/// a text of [`label_value`]s: before value `k`, the quote that ends value
/// `k - 1` (none before the first), a comma (none before the first when
/// `first`), and the name of label `k` with `="`. A quote ends the last
/// value. Two copies per label instead of five: a scrape writes hundreds
/// of thousands of these labels back.
pub fn label_separators(names: &[&str], first: bool) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let quote = if k == 0 { "" } else { "\"" };
            let comma = if k == 0 && first { "" } else { "," };
            format!("{quote}{comma}{name}=\"")
        })
        .collect()
}

/// Bits of a value's length in each byte of its prefix (see
/// [`label_value`]); the next bit says another byte follows. Every prefix
/// byte is below 0x80, ASCII, so the text stays UTF-8.
const LENGTH_BITS: u32 = 6;
const LENGTH_MORE: u8 = 1 << LENGTH_BITS;

/// Appends `value` escaped, preceded by its escaped length in bytes: a
/// label value kept without its name, for label sets whose names are fixed
/// (written back with [`label_separators`]). Such text is about half as
/// long as the label set itself, and reading it back finds each value from
/// its length (one or two bytes for the usual names) instead of searching
/// for where it ends.
pub fn label_value(out: &mut String, value: &str) {
    // Escaping doubles each backslash, quote and line feed.
    let mut len = value.len() + memchr::memchr3_iter(b'\\', b'"', b'\n', value.as_bytes()).count();
    loop {
        // Six bits at a time, lowest first: below 0x40 before the flag.
        let bits = (len & usize::from(LENGTH_MORE - 1)) as u8;
        len >>= LENGTH_BITS;
        if len == 0 {
            out.push(char::from(bits));
            break;
        }
        out.push(char::from(bits | LENGTH_MORE));
    }
    escape(out, value);
}

/// The escaped values of a text of [`label_value`]s, in order; it ends
/// early at a prefix that does not fit the text.
pub fn label_values(text: &str) -> LabelValues<'_> {
    LabelValues { rest: text }
}

/// The iterator of [`label_values`].
#[derive(Clone, Debug)]
pub struct LabelValues<'a> {
    rest: &'a str,
}

impl<'a> Iterator for LabelValues<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.rest.as_bytes();
        let (mut len, mut at, mut shift) = (0usize, 0usize, 0u32);
        loop {
            let byte = *bytes.get(at)?;
            at += 1;
            len |= usize::from(byte & (LENGTH_MORE - 1)).checked_shl(shift)?;
            if byte & LENGTH_MORE == 0 {
                break;
            }
            shift += LENGTH_BITS;
        }
        // `get` checks the end is in the text and on a character boundary.
        let value = self.rest.get(at..at.checked_add(len)?)?;
        self.rest = self.rest.get(at + len..).unwrap_or_default();
        Some(value)
    }
}

/// Appends `value` with backslash, double quote and line feed escaped.
fn escape(out: &mut String, value: &str) {
    let mut rest = value;
    while let Some(at) = memchr::memchr3(b'\\', b'"', b'\n', rest.as_bytes()) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// `value` cut to at most `max` characters (at a character boundary), the
/// last of them `…`, when it is longer; `max` 0: never cut. Free-text
/// label values (names) go through this, so that a scraper with a label
/// length limit (Prometheus' `label_value_length_limit`) never drops the
/// whole target for one long name.
pub fn cut(value: &str, max: usize) -> std::borrow::Cow<'_, str> {
    // At most `max` bytes is at most `max` characters: the common case
    // is decided without counting.
    if max == 0 || value.len() <= max {
        return value.into();
    }
    match value.char_indices().nth(max) {
        None => value.into(),
        Some(_) => {
            let keep = value
                .char_indices()
                .nth(max - 1)
                .map_or(value.len(), |(at, _)| at);
            let mut text = String::with_capacity(keep + '…'.len_utf8());
            text.push_str(&value[..keep]);
            text.push('…');
            text.into()
        }
    }
}

/// Integers up to this magnitude are exact in an `f64` and in an `i64`.
const EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Appends ` value\n`: integers without a fraction, and the text format's
/// spellings of the special values.
///
/// A scrape writes one value per series, and `write!` through `fmt` was
/// most of the cost of rendering a large account, so integers go through
/// `itoa` and other values through `ryu`. Both write the shortest digits
/// that read back as the same `f64`, so every sample parses to exactly the
/// value `Display` would give; the text is `Display`'s too, except that on
/// an exact tie between two shortest candidates (only possible with 16 or
/// more significant digits) ryu rounds half to even where `Display` rounds
/// half up. Values ryu would write with an exponent (below 1e-5 or from
/// 1e16 on) still go through `Display`, which never uses one.
pub fn value(out: &mut String, value: f64) {
    out.push(' ');
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value == 0.0 {
        out.push_str(if value.is_sign_negative() { "-0" } else { "0" });
    } else if value.fract() == 0.0 && value.abs() < EXACT_INTEGER {
        out.push_str(itoa::Buffer::new().format(value as i64));
    } else {
        let mut buffer = ryu::Buffer::new();
        let digits = buffer.format_finite(value);
        if digits.contains('e') {
            let _ = write!(out, "{value}");
        } else {
            // Integers from 2^53 on: ryu writes `.0`, Display does not.
            out.push_str(digits.strip_suffix(".0").unwrap_or(digits));
        }
    }
    out.push('\n');
}

/// Appends a whole sample: `name{labels} value\n` (`labels` already escaped).
pub fn sample(out: &mut String, name: &str, labels: &str, v: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        out.push_str(labels);
        out.push('}');
    }
    value(out, v);
}

/// Where the parts of one entity's series text are: its label set
/// (`a="…",b="…"`), relative to where the labels start, and the ` value\n`
/// text of `V` values (empty when a value is absent), relative to where
/// the values start; all escaped. The text itself lives in buffers shared
/// by many entities (see [`SeriesParts::write`]): every scrape copies these
/// parts for every task, and reading them front to back from buffers shared
/// by many tasks, rather than from one allocation per task, is what keeps a
/// scrape of 100k tasks from waiting on memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesParts<const V: usize> {
    /// End of the label set.
    labels_end: u32,
    /// End of each value's text; value `k` starts where `k - 1` ends
    /// (value 0 where the values start).
    value_ends: [u32; V],
}

impl<const V: usize> Default for SeriesParts<V> {
    /// No text: an entity without series.
    fn default() -> Self {
        SeriesParts {
            labels_end: 0,
            value_ends: [0; V],
        }
    }
}

impl<const V: usize> SeriesParts<V> {
    /// Appends to `out` the text of `labels` (the first without a leading
    /// comma), then each present value: the values start where the labels
    /// end (see [`values_of`](Self::values_of)). The labels are relative to
    /// `out.len()` before the call, the values to where the labels end.
    pub fn write(out: &mut String, labels: &[(&str, &str)], values: [Option<f64>; V]) -> Self {
        let start = out.len();
        // One entity's text is bounded by the API's response size cap, far
        // below 4 GiB.
        for (k, (name, value)) in labels.iter().enumerate() {
            label(out, name, value, k == 0);
        }
        let labels_end = (out.len() - start) as u32;
        SeriesParts {
            labels_end,
            value_ends: Self::write_values(out, values),
        }
    }

    /// As [`write`](Self::write), with the labels appended to `labels_out`
    /// and the values to `values_out`, each part relative to its buffer's
    /// length before the call: a label set that stays the same while the
    /// values change is then kept apart from them.
    pub fn write_apart(
        labels_out: &mut String,
        values_out: &mut String,
        labels: &[(&str, &str)],
        values: [Option<f64>; V],
    ) -> Self {
        let start = labels_out.len();
        for (k, (name, value)) in labels.iter().enumerate() {
            label(labels_out, name, value, k == 0);
        }
        SeriesParts {
            labels_end: (labels_out.len() - start) as u32,
            value_ends: Self::write_values(values_out, values),
        }
    }

    fn write_values(out: &mut String, values: [Option<f64>; V]) -> [u32; V] {
        let start = out.len();
        let mut value_ends = [0; V];
        for (value_end, v) in value_ends.iter_mut().zip(values) {
            if let Some(v) = v {
                value(out, v);
            }
            *value_end = (out.len() - start) as u32;
        }
        value_ends
    }

    /// Bytes of the label set.
    pub fn labels_len(&self) -> usize {
        self.labels_end as usize
    }

    /// Bytes of the values' text, all values together.
    pub fn values_len(&self) -> usize {
        self.value_ends.last().copied().unwrap_or(0) as usize
    }

    /// Whether there is no text at all (an entity without series).
    pub fn is_empty(&self) -> bool {
        self.labels_len() == 0 && self.values_len() == 0
    }

    /// Whether the label set is not empty.
    pub fn has_labels(&self) -> bool {
        self.labels_end > 0
    }

    /// Whether value `k` is present.
    pub fn has_value(&self, k: usize) -> bool {
        let start = match k {
            0 => 0,
            _ => self.value_ends[k - 1],
        };
        self.value_ends[k] > start
    }

    /// `a="…",b="…"` from `text`, which starts where this entity's labels
    /// do; empty for an entity without series.
    pub fn labels<'t>(&self, text: &'t str) -> &'t str {
        text.get(..self.labels_end as usize).unwrap_or_default()
    }

    /// Where the values start in `text` (which starts where this entity's
    /// labels do) when they were written with [`write`](Self::write).
    pub fn values_of<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.labels_end as usize..).unwrap_or_default()
    }

    /// ` value\n` of value `k` from `text`, which starts where this
    /// entity's values do; empty when it is absent.
    pub fn value<'t>(&self, text: &'t str, k: usize) -> &'t str {
        let start = match k {
            0 => 0,
            _ => self.value_ends[k - 1],
        };
        text.get(start as usize..self.value_ends[k] as usize)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_at_a_character_boundary_ending_in_an_ellipsis() {
        assert_eq!(cut("short", 200), "short");
        assert_eq!(cut("abcdef", 0), "abcdef");
        assert_eq!(cut("abcdef", 6), "abcdef");
        assert_eq!(cut("abcdefg", 6), "abcde…");
        // Six characters of more than one byte each are not cut at 6...
        assert_eq!(cut("éééééé", 6), "éééééé");
        // ...and seven are cut to six, never inside a character.
        assert_eq!(cut("ééééééé", 6), "ééééé…");
        assert_eq!(cut("ab", 1), "…");
    }

    #[test]
    fn series_parts_keep_labels_and_each_value_apart() {
        let mut buffer = String::from("before");
        let parts = SeriesParts::<3>::write(
            &mut buffer,
            &[("task_id", "a\"b"), ("mode", "one_off")],
            [Some(1.5), None, Some(2.0)],
        );
        let text = &buffer["before".len()..];
        assert_eq!(parts.labels_len() + parts.values_len(), text.len());
        assert_eq!(parts.labels(text), r#"task_id="a\"b",mode="one_off""#);
        let values = parts.values_of(text);
        assert_eq!(
            [
                parts.value(values, 0),
                parts.value(values, 1),
                parts.value(values, 2)
            ],
            [" 1.5\n", "", " 2\n"]
        );
        // Apart: the same parts, each relative to its own buffer.
        let (mut labels, mut values) = (String::from("l"), String::from("vv"));
        let apart = SeriesParts::<3>::write_apart(
            &mut labels,
            &mut values,
            &[("task_id", "a\"b"), ("mode", "one_off")],
            [Some(1.5), None, Some(2.0)],
        );
        assert_eq!(apart, parts);
        assert_eq!(&labels[1..], parts.labels(text));
        assert_eq!(&values[2..], " 1.5\n 2\n");
        assert_eq!(apart.value(&values[2..], 2), " 2\n");
        assert_eq!(
            [parts.has_value(0), parts.has_value(1), parts.has_value(2)],
            [true, false, true]
        );
        assert!(parts.has_labels());
        let empty = SeriesParts::<2>::default();
        assert!(empty.is_empty() && !empty.has_labels() && !empty.has_value(1));
        assert_eq!((empty.labels(text), empty.value(text, 1)), ("", ""));
    }

    #[test]
    fn label_values_kept_without_names_read_back_as_the_same_labels() {
        let long = "é\"".repeat(3000);
        let values = ["a \"q\"", "line\nnext", "", "back\\slash", &long];
        let mut kept = String::new();
        for value in values {
            label_value(&mut kept, value);
        }
        let names = ["a", "b", "c", "d", "e"];
        let escaped: Vec<&str> = label_values(&kept).collect();
        assert_eq!(escaped.len(), values.len());
        for first in [true, false] {
            let mut direct = String::new();
            for (k, (name, value)) in names.iter().zip(values).enumerate() {
                label(&mut direct, name, value, first && k == 0);
            }
            let mut read_back = String::new();
            for (separator, value) in label_separators(&names, first).iter().zip(&escaped) {
                read_back.push_str(separator);
                read_back.push_str(value);
            }
            read_back.push('"');
            assert_eq!(read_back, direct);
        }
        // A text cut short ends the values instead of reading past it.
        let cut_short = &kept[..kept.len() - 1];
        assert_eq!(label_values(cut_short).count(), values.len() - 1);
        assert_eq!(label_values("").count(), 0);
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        label(
            &mut out,
            "task_name",
            "a \"quoted\" \\path\\\nnext line 🚀",
            true,
        );
        assert_eq!(out, r#"task_name="a \"quoted\" \\path\\\nnext line 🚀""#);
    }

    #[test]
    fn values_use_the_text_format_spellings() {
        let mut out = String::new();
        for v in [1.0, 0.25, 1_772_375_400.5, f64::NAN, f64::INFINITY, -0.0] {
            value(&mut out, v);
        }
        assert_eq!(out, " 1\n 0.25\n 1772375400.5\n NaN\n +Inf\n -0\n");
    }

    #[test]
    fn values_read_back_exactly_and_are_written_as_display_writes_them() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut cases = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e-5,
            9.99e-6,
            1e15,
            1e16,
            1e17,
            1.5e300,
            f64::MIN_POSITIVE,
            f64::MAX,
            EXACT_INTEGER,
            EXACT_INTEGER - 1.0,
            -EXACT_INTEGER,
            1_772_375_400.123,
            3_599.987_654_321,
        ];
        for _ in 0..200_000 {
            let bits = next();
            // Timestamps with nanoseconds, ages, rates, and any bit pattern.
            cases.push(1.7e9 + (bits % 1_000_000_000_000_000) as f64 / 1e9);
            cases.push((bits % 100_000_000_000) as f64 / 1e9);
            cases.push((bits % 1000) as f64 / 1000.0);
            let any = f64::from_bits(bits);
            if any.is_finite() {
                cases.push(any);
            }
        }
        let mut out = String::new();
        for v in cases {
            out.clear();
            value(&mut out, v);
            let written = out.trim();
            let read_back: f64 = written.parse().expect("a number");
            assert_eq!(read_back.to_bits(), v.to_bits(), "{written} for {v}");
            let significant = written
                .bytes()
                .filter(u8::is_ascii_digit)
                .skip_while(|&d| d == b'0')
                .count();
            if significant < 16 {
                assert_eq!(written, v.to_string(), "bits {:#x}", v.to_bits());
            }
        }
    }
}
