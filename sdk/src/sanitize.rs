//! Redaction helpers for logs and messages.

use serde_json::Value;

use crate::api::routes::is_secret_name;

/// The placeholder that replaces redacted values.
pub const REDACTED: &str = "[REDACTED]";

/// Redact, recursively, every object value whose key looks secret by
/// [`is_secret_name`]: it contains `token`, `secret`, `password`, `otp`,
/// `code` or `key` (the seed's rule), or `foobar`, `authorization`, `cookie`.
///
/// ```
/// use authflow::sanitize_for_logs;
/// use serde_json::json;
///
/// let clean = sanitize_for_logs(json!({"email": "a@b.co", "sessionToken": "eyJ…", "nested": {"emailOTP": "123456"}}));
/// assert_eq!(clean, json!({"email": "a@b.co", "sessionToken": "[REDACTED]", "nested": {"emailOTP": "[REDACTED]"}}));
/// ```
pub fn sanitize_for_logs(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(&k) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        sanitize_for_logs(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(sanitize_for_logs).collect()),
        other => other,
    }
}

/// Replace every occurrence of each non-empty secret in `text` with
/// [`REDACTED`]. Secrets shorter than 4 characters are left alone (they would
/// match innocent text and are not worth hiding).
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if s.len() >= 4 && out.contains(s) {
            out = out.replace(s, REDACTED);
        }
    }
    out
}

/// Remove the contents of double-quoted and back-quoted runs from a serde
/// message (`invalid type: string "…"` and ``unknown variant `…` `` quote the
/// offending value). Backslash escapes inside a run do not end it.
pub fn strip_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match in_quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                in_quote = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '"' || c == '`' {
                    in_quote = Some(c);
                }
            }
        }
    }
    if in_quote.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_and_nesting() {
        let v = sanitize_for_logs(
            json!([{"recoveryCodes": ["A", "B"], "role": "x"}, {"api_key": "af_1"}]),
        );
        assert_eq!(
            v,
            json!([{"recoveryCodes": REDACTED, "role": "x"}, {"api_key": REDACTED}])
        );
    }

    #[test]
    fn scrub_and_strip() {
        assert_eq!(
            scrub("bad key af_123 here", &["af_123", "", "ab"]),
            "bad key [REDACTED] here"
        );
        assert_eq!(
            strip_quoted("invalid type: string \"hunter2\", expected u32 at line 1"),
            "invalid type: string \"…\", expected u32 at line 1"
        );
        assert_eq!(strip_quoted("unterminated \"secret"), "unterminated \"…");
        assert_eq!(
            strip_quoted(r#"invalid type: string "ab\"cd-SECRET", expected u32"#),
            r#"invalid type: string "…", expected u32"#
        );
        assert_eq!(
            strip_quoted("unknown variant `SECRETX`, expected one of"),
            "unknown variant `…`, expected one of"
        );
    }
}
