//! Parsing inbound RFC 5322 / MIME messages (as received over SMTP) into the
//! few fields the inbox needs, with the maintained [`mail_parser`] crate.
//!
//! Multipart (`alternative`, `mixed`, `related`), quoted-printable, base64,
//! charsets and RFC 2047 encoded words are decoded by `mail-parser`; an
//! HTML-only message gets a plain-text rendering of its HTML (see
//! `html_to_text`) so codes can be found in `text`.

use mail_parser::{Address, MessageParser};

/// The parts of an inbound message that the inbox keeps.
///
/// `Debug` leaves the subject and bodies out (they may hold a one-time code)
/// and shows their lengths.
#[derive(Clone, PartialEq, Eq)]
pub struct ParsedMail {
    /// The first `From:` address (just the address, `ann@example.com`), or
    /// the display name when there is no address, or `""`.
    pub from: String,
    /// Every `To:` address (groups flattened), in order.
    pub to: Vec<String>,
    /// The decoded subject (encoded words decoded), or `""`.
    pub subject: String,
    /// The plain-text body: every inline `text/plain` part joined with a
    /// blank line; for HTML-only mail, the HTML converted to text.
    pub text: String,
    /// The HTML body (inline `text/html` parts joined), if there is one.
    pub html: Option<String>,
    /// The `Message-ID` without angle brackets, if present.
    pub message_id: Option<String>,
}

impl std::fmt::Debug for ParsedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedMail")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("subject_len", &self.subject.len())
            .field("text_len", &self.text.len())
            .field("html_len", &self.html.as_ref().map(String::len))
            .field("message_id", &self.message_id)
            .finish()
    }
}

/// Parse a raw message. `None` when the bytes are not an email at all (empty,
/// or no header field could be read); never panics.
///
/// ```
/// use authflow_mock::mail::mime::parse;
/// let raw = b"From: Ann <ann@example.com>\r\nTo: bob@example.com\r\n\
///             Subject: =?UTF-8?Q?Caf=C3=A9?=\r\n\r\nYour code is 482913.\r\n";
/// let mail = parse(raw).unwrap();
/// assert_eq!(mail.from, "ann@example.com");
/// assert_eq!(mail.subject, "Café");
/// assert_eq!(mail.text.trim(), "Your code is 482913.");
/// ```
pub fn parse(raw: &[u8]) -> Option<ParsedMail> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let msg = MessageParser::default().parse(raw)?;
    if msg.headers().is_empty() {
        return None;
    }

    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address().or(a.name()))
        .unwrap_or_default()
        .to_owned();
    let to = msg.to().map(addresses).unwrap_or_default();
    let subject = msg.subject().unwrap_or_default().trim().to_owned();
    let message_id = msg
        .message_id()
        .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>'))
        .filter(|id| !id.is_empty())
        .map(str::to_owned);

    let mut texts: Vec<&str> = Vec::new();
    for part in msg.text_bodies() {
        if part.is_text()
            && !part.is_text_html()
            && let Some(t) = part.text_contents()
        {
            texts.push(t);
        }
    }
    let mut htmls: Vec<&str> = Vec::new();
    for part in msg.html_bodies() {
        if part.is_text_html()
            && let Some(h) = part.text_contents()
        {
            htmls.push(h);
        }
    }
    let html = (!htmls.is_empty()).then(|| htmls.join("\n"));
    let text = if texts.iter().any(|t| !t.trim().is_empty()) {
        normalize_newlines(&texts.join("\n\n"))
    } else {
        html.as_deref().map(html_to_text).unwrap_or_default()
    };

    Some(ParsedMail {
        from,
        to,
        subject,
        text,
        html,
        message_id,
    })
}

fn addresses(a: &Address<'_>) -> Vec<String> {
    a.iter()
        .filter_map(|a| a.address())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Tags that start a new line in the rendered text.
const BLOCK_TAGS: &[&str] = &[
    "br",
    "p",
    "div",
    "tr",
    "li",
    "ul",
    "ol",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "center",
    "body",
    "html",
    "dl",
    "dt",
    "dd",
    "address",
    "main",
    "nav",
    "form",
];

/// Tags rendered as nothing at all (they sit inside words: `<b>48</b>2913`).
const INLINE_TAGS: &[&str] = &[
    "a", "b", "i", "u", "em", "strong", "span", "font", "small", "big", "sup", "sub", "mark",
    "code", "tt", "abbr", "s", "strike", "ins", "del", "wbr",
];

/// Elements whose content is never visible.
const HIDDEN_ELEMENTS: &[&str] = &["script", "style", "head", "title", "template", "noscript"];

/// The visible text of an HTML document: `script`/`style`/`head` and comments
/// dropped, block elements (`p`, `div`, `br`, `tr`, `li`, headings …) on
/// their own lines, table cells separated by a space, inline elements (`b`,
/// `span`, `a` …) dropped without a space, entities decoded, runs of spaces
/// collapsed, every line trimmed. Linear in the input; never panics.
pub(crate) fn html_to_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    let mut text_start = 0;
    let mut i = 0;
    // Once a search for `>` fails, no later one can succeed.
    let mut no_more_gt = false;
    let mut next_gt: Option<usize> = None;
    while i < bytes.len() {
        if bytes[i] != b'<' || no_more_gt {
            i += 1;
            continue;
        }
        let rest = &lower[i..];
        // Comments and `<!DOCTYPE …>`.
        if rest.starts_with("<!--") {
            push_text(&mut out, &html[text_start..i]);
            let end = rest.find("-->").map_or(bytes.len(), |e| i + e + 3);
            i = end;
            text_start = end;
            continue;
        }
        // The next `>` is the same for every `<` before it: remember it so
        // `a < b < c … >` stays linear.
        let gt_abs = match next_gt {
            Some(g) if g > i => Some(g),
            _ => rest.find('>').map(|g| i + g),
        };
        next_gt = gt_abs;
        let Some(gt) = gt_abs.map(|g| g - i) else {
            no_more_gt = true;
            i += 1;
            continue;
        };
        let tag = &rest[1..gt];
        let (closing, tag) = match tag.strip_prefix('/') {
            Some(t) => (true, t),
            None => (false, tag),
        };
        let name_len = tag
            .bytes()
            .position(|b| !b.is_ascii_alphanumeric())
            .unwrap_or(tag.len());
        let name = &tag[..name_len];
        if name.is_empty() && !tag.starts_with('!') && !tag.starts_with('?') {
            // `a < b` — not a tag.
            i += 1;
            continue;
        }
        push_text(&mut out, &html[text_start..i]);
        let mut next = i + gt + 1;
        if !closing && HIDDEN_ELEMENTS.contains(&name) && !tag.ends_with('/') {
            let close = format!("</{name}");
            next = lower[next..]
                .find(&close)
                .and_then(|c| {
                    let at = next + c;
                    lower[at..].find('>').map(|g| at + g + 1)
                })
                .unwrap_or(bytes.len());
        } else if BLOCK_TAGS.contains(&name) {
            out.push('\n');
        } else if !INLINE_TAGS.contains(&name) {
            out.push(' ');
        }
        i = next;
        text_start = next;
    }
    if text_start < bytes.len() {
        push_text(&mut out, &html[text_start..]);
    }
    tidy(&out)
}

fn push_text(out: &mut String, raw: &str) {
    if raw.is_empty() {
        return;
    }
    for c in decode_entities(raw).chars() {
        // HTML collapses every kind of source whitespace into one space.
        if c.is_whitespace() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
}

/// Trim every line, collapse runs of spaces, keep at most one empty line.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_run = 0;
    for line in s.split('\n') {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

/// Decode HTML character references: `&amp;`, `&#61;`, `&#x3D;`, `&nbsp;`
/// and a few dozen common named ones. Unknown or malformed references stay
/// as written. Linear; never panics.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // A reference is at most ~10 characters before its `;`.
        let semi = after
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';' || c == '&' || c.is_whitespace())
            .filter(|&(_, c)| c == ';')
            .map(|(p, _)| p);
        let decoded = semi.and_then(|p| entity(&after[..p]).map(|c| (c, p)));
        match decoded {
            Some((c, p)) => {
                if let Some(c) = c {
                    out.push(c);
                }
                rest = &after[p + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `Some(Some(c))` for a known reference, `Some(None)` for one that renders
/// as nothing (soft hyphen, zero-width characters), `None` when unknown.
fn entity(name: &str) -> Option<Option<char>> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return Some(match code {
            0xAD | 0x200B..=0x200D | 0xFEFF => None,
            0xA0 => Some(' '),
            _ => Some(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)),
        });
    }
    let c = match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" | "ensp" | "emsp" | "thinsp" => ' ',
        "shy" | "zwnj" | "zwj" => return Some(None),
        "ndash" | "mdash" | "minus" => '-',
        "hellip" => '…',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "sect" => '§',
        "middot" | "bull" => '·',
        "laquo" => '«',
        "raquo" => '»',
        "lsquo" | "rsquo" => '\'',
        "ldquo" | "rdquo" | "bdquo" => '"',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "eacute" => 'é',
        "egrave" => 'è',
        "ecirc" => 'ê',
        "Eacute" => 'É',
        "aacute" => 'á',
        "agrave" => 'à',
        "acirc" => 'â',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "ntilde" => 'ñ',
        "ccedil" => 'ç',
        "sol" => '/',
        "colon" => ':',
        "quest" => '?',
        "equals" => '=',
        "num" => '#',
        "percnt" => '%',
        "period" => '.',
        _ => return None,
    };
    Some(Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crlf(s: &str) -> Vec<u8> {
        s.replace('\n', "\r\n").into_bytes()
    }

    #[test]
    fn plain_message() {
        let raw = crlf(
            "From: \"AuthFlow\" <no-reply@authflow.example>\n\
             To: Ann <ann@example.com>, bob@example.com\n\
             Subject: Hello\n\
             Message-ID: <abc.123@authflow.example>\n\
             \n\
             Hi Ann,\nyour code is 482913.\n",
        );
        let m = parse(&raw).unwrap();
        assert_eq!(m.from, "no-reply@authflow.example");
        assert_eq!(m.to, vec!["ann@example.com", "bob@example.com"]);
        assert_eq!(m.subject, "Hello");
        assert_eq!(m.message_id.as_deref(), Some("abc.123@authflow.example"));
        assert_eq!(m.text, "Hi Ann,\nyour code is 482913.\n");
        assert_eq!(m.html, None);
        assert!(!format!("{m:?}").contains("482913"));
    }

    #[test]
    fn multipart_alternative_qp_and_base64() {
        // "<p>Code: <b>482913</b></p>" in base64.
        let raw = crlf(
            "From: a@example.com\n\
             To: b@example.com\n\
             Subject: =?ISO-8859-1?Q?Best=E4tigung?=\n\
             MIME-Version: 1.0\n\
             Content-Type: multipart/alternative; boundary=\"b1\"\n\
             \n\
             --b1\n\
             Content-Type: text/plain; charset=utf-8\n\
             Content-Transfer-Encoding: quoted-printable\n\
             \n\
             Ihr Best=C3=A4tigungscode lautet 48=\n\
             2913. Link: https://x.example/v?a=3D1\n\
             --b1\n\
             Content-Type: text/html; charset=utf-8\n\
             Content-Transfer-Encoding: base64\n\
             \n\
             PHA+Q29kZTogPGI+NDgyOTEzPC9iPjwvcD4=\n\
             --b1--\n",
        );
        let m = parse(&raw).unwrap();
        assert_eq!(m.subject, "Bestätigung");
        assert!(
            m.text
                .contains("Ihr Bestätigungscode lautet 482913. Link: https://x.example/v?a=1"),
            "{:?}",
            m.text
        );
        assert_eq!(m.html.as_deref(), Some("<p>Code: <b>482913</b></p>"));
    }

    #[test]
    fn html_only_gets_text() {
        let raw = crlf(
            "From: a@example.com\n\
             To: b@example.com\n\
             Subject: Verify\n\
             Content-Type: text/html; charset=\"windows-1252\"\n\
             Content-Transfer-Encoding: quoted-printable\n\
             \n\
             <html><head><style>p{color:red}</style></head><body>\n\
             <div>Your verification code</div><div style=3D\"font-size:20px\"><b>48</b>29=\n\
             13</div><p>Gr=FC=DFe &amp; thanks</p></body></html>\n",
        );
        let m = parse(&raw).unwrap();
        assert!(
            m.html
                .as_deref()
                .unwrap()
                .contains("<div>Your verification code</div>")
        );
        assert_eq!(m.text, "Your verification code\n\n482913\n\nGrüße & thanks");
    }

    #[test]
    fn multipart_mixed_with_attachment() {
        let raw = crlf(
            "From: a@example.com\n\
             To: b@example.com\n\
             Subject: Invoice\n\
             Content-Type: multipart/mixed; boundary=XX\n\
             \n\
             --XX\n\
             Content-Type: text/plain\n\
             \n\
             See attached.\n\
             --XX\n\
             Content-Type: application/pdf; name=a.pdf\n\
             Content-Disposition: attachment; filename=a.pdf\n\
             Content-Transfer-Encoding: base64\n\
             \n\
             JVBERi0xLjQK\n\
             --XX--\n",
        );
        let m = parse(&raw).unwrap();
        assert_eq!(m.text.trim(), "See attached.");
        assert_eq!(m.html, None);
    }

    #[test]
    fn not_an_email() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"   \r\n"), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let alphabet: &[u8] =
            b"<>=\r\n:;-_ &#x3Dabc0123456789\"'/?.@MIMEContent-Type: multipart/boundary=";
        for len in 0..400 {
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let b = if seed.is_multiple_of(3) {
                    (seed >> 8) as u8
                } else {
                    alphabet[(seed >> 16) as usize % alphabet.len()]
                };
                buf.push(b);
            }
            let _ = parse(&buf);
            let s = String::from_utf8_lossy(&buf);
            let _ = html_to_text(&s);
            let _ = decode_entities(&s);
        }
    }

    #[test]
    fn html_rendering() {
        assert_eq!(html_to_text("a &lt; b &amp;&amp; c<br>d"), "a < b && c\nd");
        assert_eq!(html_to_text("<!-- x <b> -->hi<!-- open"), "hi");
        assert_eq!(html_to_text("<td>Code:</td><td>123</td>"), "Code: 123");
        assert_eq!(html_to_text("x <unclosed"), "x <unclosed");
        assert_eq!(html_to_text("<script>var a='<p>1</p>'</script>ok"), "ok");
        assert_eq!(decode_entities("&#x3D;&#61;&bogus;&amp"), "==&bogus;&amp");
        assert_eq!(decode_entities("&#99999999;"), "\u{FFFD}");
    }

    #[test]
    fn html_to_text_is_linear_on_hostile_input() {
        let hostile = "< ".repeat(100_000)
            + ">"
            + &"<".repeat(200_000)
            + &"<style>".repeat(10_000)
            + &"&".repeat(100_000);
        let t = std::time::Instant::now();
        let _ = html_to_text(&hostile);
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }
}
