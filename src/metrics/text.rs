//! Writing the Prometheus text format (0.0.4) by hand, for the families
//! whose series come and go with every poll.

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
    let mut rest = value;
    while let Some(at) = rest.find(['\\', '"', '\n']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

/// Appends ` value\n`: integers without a fraction, and the text format's
/// spellings of the special values.
pub fn value(out: &mut String, value: f64) {
    out.push(' ');
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{value}");
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
