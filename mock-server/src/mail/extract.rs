//! Finding one-time codes and links in email text. Shared by the outbox and
//! (later) identity inboxes.

/// Runs of 4 to 8 ASCII digits standing alone (not part of a longer number,
/// a word, a date or a decimal), in order, without duplicates.
///
/// ```
/// use authflow_mock::mail::extract::codes;
/// assert_eq!(codes("Your code is 123456. It expires in 10 minutes."), vec!["123456"]);
/// assert!(codes("Call 555-123-4567 on 2026-04-06").is_empty());
/// ```
pub fn codes(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let len = i - start;
        let before = start.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i).copied();
        let after2 = bytes.get(i + 1).copied();
        let glued = |b: Option<u8>| {
            b.is_some_and(|b| {
                b.is_ascii_alphanumeric() || b == b'_' || b == b'/' || b == b'-' || b == b':'
            })
        };
        let decimal = |b: Option<u8>, next: Option<u8>| {
            b == Some(b'.') && next.is_some_and(|n| n.is_ascii_digit())
        };
        let prev_decimal =
            start >= 2 && bytes[start - 1] == b'.' && bytes[start - 2].is_ascii_digit();
        // 1900–2099 standing alone is a year far more often than a code.
        let year = len == 4 && matches!(&bytes[start..start + 2], b"19" | b"20");
        // A group of a space-separated number (phone numbers: "+44 20 7946 0958").
        let prev_group = before == Some(b' ')
            && start >= 2
            && (bytes[start - 2].is_ascii_digit() || bytes[start - 2] == b')');
        let next_group = after == Some(b' ') && after2.is_some_and(|b| b.is_ascii_digit());
        if (4..=8).contains(&len)
            && !glued(before)
            && !glued(after)
            && !decimal(after, after2)
            && !prev_decimal
            && !year
            && !prev_group
            && !next_group
        {
            let code = &text[start..i];
            if !out.iter().any(|c| c == code) {
                out.push(code.to_owned());
            }
        }
    }
    out
}

/// `http://` and `https://` URLs, in order, without duplicates, with trailing
/// punctuation and HTML entities for `&` decoded.
///
/// ```
/// use authflow_mock::mail::extract::links;
/// let html = r#"<a href="http://127.0.0.1:4010/auth/verify-email?token=abc&amp;x=1">Verify</a>"#;
/// assert_eq!(links(html), vec!["http://127.0.0.1:4010/auth/verify-email?token=abc&x=1"]);
/// ```
pub fn links(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(pos) = find_scheme(rest) {
        let tail = &rest[pos..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(tail.len());
        let raw = tail[..end].trim_end_matches(['.', ',', ';', ':', ')', ']', '!', '?']);
        let url = raw.replace("&amp;", "&");
        if url.len() > "https://".len() && !out.contains(&url) {
            out.push(url);
        }
        rest = &tail[end.max(1)..];
    }
    out
}

/// The visible text of an HTML fragment: tags dropped (a space in their
/// place), the common entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn find_scheme(s: &str) -> Option<usize> {
    match (s.find("http://"), s.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_table() {
        let cases: &[(&str, &[&str])] = &[
            ("Your AuthFlow code: 482913", &["482913"]),
            ("Code 1234 and again 1234", &["1234"]),
            ("order #12345678 shipped", &["12345678"]),
            ("too short 123, too long 123456789", &[]),
            ("dated 2026-04-06 or 06/04/2026", &[]),
            ("version 1.2345 and 12345.6", &[]),
            ("token=abc123456def", &[]),
            ("at 12:3456", &[]),
            ("© 2026 AuthFlow, April 6, 1999", &[]),
            ("call +44 20 7946 0958 or (555) 123 4567", &[]),
            ("your code 2026 is not a code but 482913 is", &["482913"]),
            ("", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(codes(text), want.to_vec(), "{text:?}");
        }
    }

    #[test]
    fn html_text() {
        assert_eq!(
            codes(&html_to_text("<p>Your code is <b>482913</b></p>")),
            vec!["482913"]
        );
        assert_eq!(
            html_to_text("a&amp;b<br/>c")
                .split_whitespace()
                .collect::<Vec<_>>(),
            vec!["a&b", "c"]
        );
    }

    #[test]
    fn link_table() {
        assert_eq!(
            links(
                "Reset: https://a.example/reset?token=x1. Or http://b.example/p, (http://c.example/q)"
            ),
            vec![
                "https://a.example/reset?token=x1",
                "http://b.example/p",
                "http://c.example/q"
            ]
        );
        assert!(links("no links; http:// alone").is_empty());
    }
}
