//! Finding the one secret an inbound email carries — a one-time code or a
//! verification / reset / magic / invite link — with a confidence in `[0, 1]`.
//!
//! Everything here is deterministic, linear in the input (hand scanning with
//! bounded look-behind and look-ahead; no regular expressions) and never
//! panics, whatever the bytes.
//!
//! # One-time codes
//!
//! A candidate is a run of 4–8 ASCII digits, two equal groups of 3 or 4
//! digits (`123 456`, `1234-5678`, reported without the separator), or an
//! upper-case alphanumeric code with at least one digit and one letter
//! (`K7P2QX`, `ABCD-1234`, reported as written; a one-letter brand prefix
//! as in `G-482913` is dropped).
//!
//! | where the keyword is | digits | alphanumeric / grouped |
//! | --- | --- | --- |
//! | same sentence | 0.95 | 0.93 |
//! | same line, the line before (`Your code:` ⏎ `482913`), or the subject | 0.90 | 0.90 |
//! | nowhere | 0.50–0.70 (0.60, +0.05 for six digits, +0.05 alone on its line, −0.10 when a word follows) | not a code |
//!
//! Keywords: *code* (and compounds such as *passcode*, *Bestätigungscode*),
//! *OTP*, *PIN*, *TAN*, *token*, *verification*/*verify*, *confirm*,
//! *one-time*, *2FA*/*MFA*/*two-factor*, *authentication*, *login*/*sign in*,
//! and their common French, German, Spanish, Italian, Portuguese, Dutch,
//! Nordic, Polish, Turkish, Russian, Chinese, Japanese and Korean forms. A
//! sentence that mentions *promo*, *discount*, *coupon*, *voucher*, *gift* or
//! *referral* has no code in it.
//!
//! Never a code: years 1900–2099 (unless the word right before is a keyword,
//! then 0.80), `YYYYMMDD` dates without a keyword, any digits glued to `/`,
//! `.`, `-`, `:`, `,` and another digit (dates `2026-04-06`, `04/06/2026`,
//! `6.4.2026`, times, decimals, thousands), phone-like runs (a `+`, a
//! neighbouring digit group as in `+1 555 123 4567` or `(555) 123-4567`, or a
//! *phone/tel/call/fax/mobile* label), prices and amounts (a currency sign or
//! code next to it, *total/amount/price* before it), quantities with a unit
//! after them (`%`, *minutes*, *UTC*, *km* …), numbers labelled *order*,
//! *invoice*, *reference*, *ticket*, *account*, *booking*,
//! *confirmation number* … (`Order #12345678`), anything after `#`, digits
//! inside URLs or email addresses, and a five-digit ZIP code after a US state
//! (`CA 94105`).
//!
//! # Links
//!
//! `http(s)` URLs from the text and from HTML `href`s (entities decoded).
//! Tracking redirects are unwrapped: a `url`/`u`/`redirect`/`redirect_uri`/
//! `target`/`dest`/`q`/`link`/`goto` query parameter holding an absolute URL,
//! or an encoded URL inside the path (`/L0/https:%2F%2F…`), is followed (up
//! to three times) unless the outer URL carries its own token.
//!
//! | keywords (*reset*, *verify*, *confirm*, *magic*, *invite*, *token*, *login*, *activate* …) | confidence |
//! | --- | --- |
//! | in the URL and in the anchor text (for text links: the words before it in its sentence, or the line before when it stands alone) | 0.95 |
//! | in the URL only | 0.90 |
//! | in the anchor text only | 0.90 (0.85 when it is an unresolvable tracking link such as `…/ls/click?upn=…`) |
//! | nowhere, or only in the anchor of a bare home page | not a secret |
//!
//! Unsubscribe, privacy, logo/image, pixel, social-network and "view in
//! browser" links are never secrets; help, support, terms, contact and
//! preferences links only when the URL itself has a keyword.
//!
//! # Ranking: code or link?
//!
//! [`extract_all`] ranks high-confidence findings (≥ 0.9) first. Among
//! them, when the subject or body **says "code"** (any code word: *code*,
//! *OTP*, *PIN*, *passcode*, *código* …, outside promo sentences) one-time
//! codes come before links; otherwise links come first (a "Confirm your
//! email" mail with a reference number and a button is about the link).
//! Then by confidence, then by position (subject, text, HTML). [`extract`]
//! is the first of that list.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use url::Url;

use crate::mail::mime::{decode_entities, html_to_text};

/// What kind of secret was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// A one-time code (digits or an alphanumeric code).
    Otp,
    /// A verification, reset, magic-login or invite link.
    Link,
}

/// One secret found in an email.
///
/// `Debug` shows the value redacted (see [`redact`]); never log `value`.
#[derive(Clone, PartialEq)]
pub struct Extraction {
    /// Code or link.
    pub kind: SecretKind,
    /// The code, or the (redirect-unwrapped) URL.
    pub value: String,
    /// How sure the extractor is, in `[0, 1]` (see the module docs).
    pub confidence: f64,
}

impl fmt::Debug for Extraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extraction")
            .field("kind", &self.kind)
            .field("value", &redact(&self.value))
            .field("confidence", &self.confidence)
            .finish()
    }
}

/// The redacted form of a secret: `***` followed by its last three
/// characters; a value of three characters or fewer is just `***`.
///
/// ```
/// use authflow_mock::mail::secret_extract::redact;
/// assert_eq!(redact("482921"), "***921");
/// assert_eq!(redact("921"), "***");
/// ```
pub fn redact(value: &str) -> String {
    let n = value.chars().count();
    if n <= 3 {
        return "***".to_owned();
    }
    let tail: String = value.chars().skip(n - 3).collect();
    format!("***{tail}")
}

/// The best secret in an email, if any: the first of [`extract_all`].
///
/// `text` is the plain-text body (may be empty), `html` the HTML body; for
/// HTML-only mail the text is rendered from the HTML.
///
/// ```
/// use authflow_mock::mail::secret_extract::{extract, SecretKind};
/// let e = extract("Your sign-in code", "Use 482913 to sign in.", None).unwrap();
/// assert_eq!((e.kind, e.value.as_str()), (SecretKind::Otp, "482913"));
/// assert!(e.confidence >= 0.9);
/// assert!(extract("Hello", "See you on 2026-04-06!", None).is_none());
/// ```
pub fn extract(subject: &str, text: &str, html: Option<&str>) -> Option<Extraction> {
    extract_all(subject, text, html).into_iter().next()
}

/// Every secret found, best first (see the module docs for the ranking),
/// each value once.
pub fn extract_all(subject: &str, text: &str, html: Option<&str>) -> Vec<Extraction> {
    let html_text = html.map(html_to_text);
    let text_is_empty = text.trim().is_empty();
    let body = if text_is_empty {
        html_text.as_deref().unwrap_or("")
    } else {
        text
    };

    let subject_doc = Doc::new(subject);
    let body_doc = Doc::new(body);
    // A stub text part ("view this mail in HTML") must not hide the HTML.
    let extra_doc = match (&html_text, text_is_empty) {
        (Some(h), false) => Some(Doc::new(h)),
        _ => None,
    };

    let subject_kw = subject_doc.any_kw;
    let says_code = subject_doc.any_code_word
        || body_doc.any_code_word
        || extra_doc.as_ref().is_some_and(|d| d.any_code_word);

    let mut found: Vec<Found> = Vec::new();
    let mut base = 0;
    codes_in(&subject_doc, false, base, &mut found);
    base += subject.len() + 1;
    codes_in(&body_doc, subject_kw, base, &mut found);
    links_in_text(&body_doc, base, &mut found);
    base += body.len() + 1;
    if let Some(doc) = &extra_doc {
        codes_in(doc, subject_kw, base, &mut found);
        base += doc.text.len() + 1;
    }
    if let Some(h) = html {
        links_in_html(h, base, &mut found);
    }

    // Each value once, with its best confidence and first position.
    let mut unique: Vec<Found> = Vec::new();
    let mut seen: HashMap<(bool, String), usize> = HashMap::new();
    for f in found {
        let key = (f.kind == SecretKind::Otp, f.value.clone());
        match seen.get(&key).and_then(|&i| unique.get_mut(i)) {
            Some(u) => {
                if f.confidence > u.confidence {
                    u.confidence = f.confidence;
                }
                u.pos = u.pos.min(f.pos);
            }
            None => {
                seen.insert(key, unique.len());
                unique.push(f);
            }
        }
    }

    let preferred = if says_code {
        SecretKind::Otp
    } else {
        SecretKind::Link
    };
    unique.sort_by(|a, b| {
        let high = |f: &Found| f.confidence >= HIGH;
        high(b)
            .cmp(&high(a))
            .then_with(|| {
                if high(a) && high(b) {
                    (b.kind == preferred).cmp(&(a.kind == preferred))
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then_with(|| b.confidence.total_cmp(&a.confidence))
            .then_with(|| (a.kind == SecretKind::Link).cmp(&(b.kind == SecretKind::Link)))
            .then_with(|| a.pos.cmp(&b.pos))
    });
    unique
        .into_iter()
        .map(|f| Extraction {
            kind: f.kind,
            value: f.value,
            confidence: f.confidence,
        })
        .collect()
}

/// The threshold of a "high confidence" finding.
const HIGH: f64 = 0.9;

struct Found {
    kind: SecretKind,
    value: String,
    confidence: f64,
    pos: usize,
}

// ---------------------------------------------------------------------------
// Text structure: lines and sentences with their keyword flags.

#[derive(Clone, Copy, Default)]
struct Flags {
    kw: bool,
    code_word: bool,
    negative: bool,
}

struct Sentence {
    start: usize,
    line: usize,
    flags: Flags,
}

struct Line {
    start: usize,
    end: usize,
    /// Some sentence of the line has a keyword (and is not a promo sentence).
    kw: bool,
    blank: bool,
    ends_with_colon: bool,
}

struct Doc<'a> {
    text: &'a str,
    lines: Vec<Line>,
    sentences: Vec<Sentence>,
    any_kw: bool,
    any_code_word: bool,
}

impl<'a> Doc<'a> {
    fn new(text: &'a str) -> Self {
        let mut lines = Vec::new();
        let mut sentences = Vec::new();
        let mut any_kw = false;
        let mut any_code_word = false;
        let mut line_start = 0;
        for line in text.split('\n') {
            let line_end = line_start + line.len();
            let idx = lines.len();
            let mut line_kw = false;
            // Sentences end at . ! ? (and CJK stops) followed by whitespace.
            let mut s_start = line_start;
            let mut chars = line.char_indices().peekable();
            while let Some((off, c)) = chars.next() {
                let end_here = matches!(c, '.' | '!' | '?')
                    && chars.peek().is_none_or(|&(_, n)| n.is_whitespace());
                let cjk_stop = matches!(c, '。' | '！' | '？');
                if end_here || cjk_stop {
                    let s_end = line_start + off + c.len_utf8();
                    let flags = sentence_flags(&text[s_start..s_end]);
                    line_kw |= flags.kw && !flags.negative;
                    any_kw |= flags.kw && !flags.negative;
                    any_code_word |= flags.code_word && !flags.negative;
                    sentences.push(Sentence {
                        start: s_start,
                        line: idx,
                        flags,
                    });
                    s_start = s_end;
                }
            }
            if s_start < line_end || s_start == line_start {
                let flags = sentence_flags(&text[s_start..line_end]);
                line_kw |= flags.kw && !flags.negative;
                any_kw |= flags.kw && !flags.negative;
                any_code_word |= flags.code_word && !flags.negative;
                sentences.push(Sentence {
                    start: s_start,
                    line: idx,
                    flags,
                });
            }
            let trimmed = line.trim();
            lines.push(Line {
                start: line_start,
                end: line_end,
                kw: line_kw,
                blank: trimmed.is_empty(),
                ends_with_colon: trimmed.ends_with(':') || trimmed.ends_with('：'),
            });
            line_start = line_end + 1;
        }
        Doc {
            text,
            lines,
            sentences,
            any_kw,
            any_code_word,
        }
    }

    fn sentence_at(&self, pos: usize) -> Option<&Sentence> {
        let i = self.sentences.partition_point(|s| s.start <= pos);
        self.sentences.get(i.checked_sub(1)?)
    }

    fn line_at(&self, pos: usize) -> Option<(usize, &Line)> {
        let i = self.lines.partition_point(|l| l.start <= pos);
        let i = i.checked_sub(1)?;
        self.lines.get(i).map(|l| (i, l))
    }

    /// The nearest non-blank line before line `idx` (at most two blank lines
    /// in between).
    fn prev_line(&self, idx: usize) -> Option<&Line> {
        (1..=3)
            .filter_map(|d| idx.checked_sub(d))
            .map(|i| &self.lines[i])
            .find(|l| !l.blank)
    }
}

/// Keyword flags of one sentence. Linear in its length.
fn sentence_flags(sentence: &str) -> Flags {
    let mut flags = Flags::default();
    let mut prev = String::new();
    for word in words(sentence) {
        let w = word.to_lowercase();
        if is_code_word(&w) {
            flags.code_word = true;
            flags.kw = true;
        } else if is_keyword(&w)
            || matches!(
                (prev.as_str(), w.as_str()),
                ("one", "time") | ("sign", "in") | ("log", "in") | ("two", "factor")
            )
        {
            flags.kw = true;
        }
        if is_negative(&w) {
            flags.negative = true;
        }
        prev = w;
    }
    flags
}

/// Words: runs of letters and digits (any script).
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

const CODE_WORD_EXCLUDED: &[&str] = &[
    "zipcode",
    "postcode",
    "postalcode",
    "barcode",
    "promocode",
    "qrcode",
    "unicode",
    "encode",
    "decode",
    "opcode",
    "geocode",
    "sourcecode",
    "dresscode",
    "discountcode",
    "gutscheincode",
    "rabattcode",
];

fn is_code_word(w: &str) -> bool {
    let latin_code = (w.ends_with("code") || w.ends_with("codes"))
        && !CODE_WORD_EXCLUDED.contains(&w.trim_end_matches('s'));
    latin_code
        || matches!(
            w,
            "otp"
                | "otps"
                | "pin"
                | "tan"
                | "código"
                | "codigo"
                | "códigos"
                | "codice"
                | "codici"
                | "kod"
                | "kodu"
                | "koden"
                | "kodem"
                | "kodunuz"
                | "kode"
                | "koodi"
                | "код"
                | "кода"
                | "коду"
        )
        || w.ends_with("koodi")
        || w.ends_with("kode")
        || w.contains("验证码")
        || w.contains("驗證碼")
        || w.contains("认证码")
        || w.contains("コード")
        || w.contains("認証番号")
        || w.contains("인증번호")
        || w.contains("코드")
}

fn is_keyword(w: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "verif",
        "vérif",
        "confirm",
        "bestätig",
        "bestaetig",
        "einmal",
        "authenticat",
        "authentifi",
        "passcode",
        "sicherheits",
        "onetime",
        "подтвержд",
    ];
    matches!(
        w,
        "token" | "2fa" | "mfa" | "login" | "signin" | "passcode" | "passcodes"
    ) || PREFIXES.iter().any(|p| w.starts_with(p))
}

fn is_negative(w: &str) -> bool {
    const NEG: &[&str] = &[
        "promo",
        "discount",
        "coupon",
        "voucher",
        "referral",
        "gift",
        "rabatt",
        "gutschein",
        "promocode",
        "discountcode",
    ];
    NEG.iter().any(|n| w.starts_with(n))
}

// ---------------------------------------------------------------------------
// One-time codes.

/// How close the nearest keyword is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Near {
    Nowhere,
    Around,
    Sentence,
}

fn nearness(doc: &Doc<'_>, start: usize, end: usize, subject_kw: bool) -> Option<Near> {
    let sentence = doc.sentence_at(start)?;
    if sentence.flags.negative {
        return None;
    }
    if sentence.flags.kw {
        return Some(Near::Sentence);
    }
    let line = doc.lines.get(sentence.line)?;
    if line.kw || subject_kw {
        return Some(Near::Around);
    }
    let alone = alone_on_line(doc, line, start, end);
    if let Some(prev) = doc.prev_line(sentence.line)
        && prev.kw
        && (alone || prev.ends_with_colon)
    {
        return Some(Near::Around);
    }
    Some(Near::Nowhere)
}

/// The token starting at `start` is the only thing on its line (bar
/// punctuation).
fn alone_on_line(doc: &Doc<'_>, line: &Line, start: usize, end: usize) -> bool {
    let Some(text) = doc.text.get(line.start..line.end) else {
        return false;
    };
    let (Some(rel), Some(rel_end)) = (start.checked_sub(line.start), end.checked_sub(line.start))
    else {
        return false;
    };
    let before = text
        .get(..rel)
        .unwrap_or("")
        .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation());
    if !before.is_empty() {
        return false;
    }
    text.get(rel_end..)
        .unwrap_or("")
        .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
        .is_empty()
}

fn codes_in(doc: &Doc<'_>, subject_kw: bool, base: usize, out: &mut Vec<Found>) {
    let text = doc.text;
    let bytes = text.as_bytes();
    let mut i = 0;
    // The end of a token already consumed as the second half of a group.
    let mut skip_until = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_alphanumeric()
                || (bytes[i] == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)))
        {
            i += 1;
        }
        let end = i;
        if start < skip_until {
            continue;
        }
        let token = &text[start..end];
        let has_alpha = token.bytes().any(|b| b.is_ascii_alphabetic());
        let has_hyphen = token.contains('-');
        let found = if !has_alpha && !has_hyphen {
            if let Some((value, group_end)) = spaced_group(text, start, end) {
                skip_until = group_end;
                grouped_code(doc, start, group_end, value, subject_kw)
            } else {
                numeric_code(doc, start, end, subject_kw)
            }
        } else if !has_alpha {
            hyphen_group(token).and_then(|value| grouped_code(doc, start, end, value, subject_kw))
        } else {
            alnum_code(doc, start, end, subject_kw)
        };
        if let Some((value, confidence)) = found {
            out.push(Found {
                kind: SecretKind::Otp,
                value,
                confidence,
                pos: base + start,
            });
        }
    }
}

/// `123-456` / `1234-5678` → the digits; anything else (dates, phones) →
/// `None`.
fn hyphen_group(token: &str) -> Option<String> {
    let mut parts = token.split('-');
    let (a, b) = (parts.next()?, parts.next()?);
    if parts.next().is_some() || a.len() != b.len() || !(3..=4).contains(&a.len()) {
        return None;
    }
    Some(format!("{a}{b}"))
}

/// `123 456` / `1234 5678`: two equal digit groups separated by one space,
/// with no further digit group on either side.
fn spaced_group(text: &str, start: usize, end: usize) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let len = end - start;
    if !(3..=4).contains(&len) || bytes.get(end) != Some(&b' ') {
        return None;
    }
    let s2 = end + 1;
    let mut e2 = s2;
    while e2 < bytes.len() && bytes[e2].is_ascii_digit() {
        e2 += 1;
    }
    if e2 - s2 != len {
        return None;
    }
    // No digit group before or after (phone numbers have three or more).
    let before = start.checked_sub(1).map(|j| bytes[j]);
    let before2 = start.checked_sub(2).map(|j| bytes[j]);
    if matches!(before, Some(b' ' | b'-' | b'.'))
        && before2.is_some_and(|b| b.is_ascii_digit() || b == b')')
    {
        return None;
    }
    if matches!(before, Some(b'+' | b'(' | b')')) {
        return None;
    }
    let after = bytes.get(e2).copied();
    let after2 = bytes.get(e2 + 1).copied();
    if after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/')
        || (matches!(after, Some(b' ' | b'.' | b',' | b':'))
            && after2.is_some_and(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some((format!("{}{}", &text[start..end], &text[s2..e2]), e2))
}

fn grouped_code(
    doc: &Doc<'_>,
    start: usize,
    end: usize,
    value: String,
    subject_kw: bool,
) -> Option<(String, f64)> {
    if rejected_context(doc.text, start, end) {
        return None;
    }
    match nearness(doc, start, end, subject_kw)? {
        Near::Sentence => Some((value, 0.93)),
        Near::Around => Some((value, 0.9)),
        Near::Nowhere => None,
    }
}

fn numeric_code(
    doc: &Doc<'_>,
    start: usize,
    end: usize,
    subject_kw: bool,
) -> Option<(String, f64)> {
    let text = doc.text;
    let token = &text[start..end];
    let len = token.len();
    if !(4..=8).contains(&len) {
        return None;
    }
    if rejected_context(text, start, end) {
        return None;
    }
    let bytes = text.as_bytes();
    // A neighbouring digit group: phone numbers, card numbers, `12 345678`.
    let before = start.checked_sub(1).map(|j| bytes[j]);
    let before2 = start.checked_sub(2).map(|j| bytes[j]);
    if before == Some(b' ') && before2.is_some_and(|b| b.is_ascii_digit() || b == b')') {
        return None;
    }
    let after = bytes.get(end).copied();
    let after2 = bytes.get(end + 1).copied();
    if after == Some(b' ') && after2.is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }

    let near = nearness(doc, start, end, subject_kw)?;
    let year_like = len == 4 && matches!(token.parse::<u32>(), Ok(1900..=2099));
    let date_like = len == 8 && looks_like_yyyymmdd(token);
    if year_like {
        return prev_word_is_keyword(text, start).then(|| (token.to_owned(), 0.8));
    }
    if date_like && near == Near::Nowhere {
        return None;
    }
    let confidence = match near {
        Near::Sentence => 0.95,
        Near::Around => 0.9,
        Near::Nowhere => {
            let line = doc.line_at(start).map(|(_, l)| l);
            let alone = line.is_some_and(|l| alone_on_line(doc, l, start, end));
            let mut c: f64 = 0.6;
            if len == 6 {
                c += 0.05;
            }
            if alone {
                c += 0.05;
            }
            if word_follows(text, end) {
                c -= 0.1;
            }
            c.clamp(0.5, 0.7)
        }
    };
    Some((token.to_owned(), confidence))
}

fn alnum_code(doc: &Doc<'_>, start: usize, end: usize, subject_kw: bool) -> Option<(String, f64)> {
    let text = doc.text;
    let token = &text[start..end];
    let groups = token.split('-').count();
    let chars = token.bytes().filter(|b| *b != b'-').count();
    let digits = token.bytes().filter(u8::is_ascii_digit).count();
    let upper = token.bytes().filter(u8::is_ascii_uppercase).count();
    let lower = token.bytes().filter(u8::is_ascii_lowercase).count();
    if !(4..=12).contains(&chars) || groups > 3 || digits == 0 || upper == 0 || lower > 0 {
        return None;
    }
    // `06-APR-2026`, `2FA-1234`: a month name or a year group is a date.
    if token.split('-').any(|g| {
        MONTHS.contains(&g.to_ascii_lowercase().as_str())
            || (groups > 1 && g.len() == 4 && matches!(g.parse::<u32>(), Ok(1900..=2099)))
    }) {
        return None;
    }
    // `G-482913`: a one-letter brand prefix before a digit code is not typed.
    let value = match token.split_once('-') {
        Some((p, digits))
            if p.len() == 1
                && (4..=8).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            digits
        }
        _ => token,
    };
    let upper_token = token.to_ascii_uppercase();
    if NOT_CODES.iter().any(|p| upper_token.starts_with(p)) {
        return None;
    }
    if rejected_context(text, start, end) {
        return None;
    }
    match nearness(doc, start, end, subject_kw)? {
        Near::Sentence => Some((value.to_owned(), 0.93)),
        Near::Around => Some((value.to_owned(), 0.9)),
        Near::Nowhere => None,
    }
}

/// Upper-case tokens with digits that are names, not codes (`UTF-8`,
/// `ISO-8859-1`, `SHA256`, `RFC5322` …).
const NOT_CODES: &[&str] = &[
    "UTF", "ISO", "SHA", "AES", "RFC", "COVID", "WIN", "IPV", "HTTP", "HTML", "CSS", "MP3", "MP4",
    "X509", "H264", "PCI", "SOC", "GDPR",
];

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
];

fn looks_like_yyyymmdd(t: &str) -> bool {
    let num = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<u32>().ok());
    matches!(
        (num(0..4), num(4..6), num(6..8)),
        (Some(1900..=2099), Some(1..=12), Some(1..=31))
    )
}

/// Context that rules a token out whatever the keywords: glued punctuation,
/// URLs and email addresses, labels, currencies, units, ZIP codes.
fn rejected_context(text: &str, start: usize, end: usize) -> bool {
    let prev = text[..start].chars().next_back();
    let prev2 = text[..start].chars().rev().nth(1);
    let next = text[end..].chars().next();
    let next2 = text[end..].chars().nth(1);

    let letter = |c: Option<char>| {
        c.is_some_and(|c| c.is_ascii_alphanumeric() || (c.is_alphanumeric() && (c as u32) < 0x2E80))
    };
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());

    if letter(prev) || letter(next) {
        return true;
    }
    match prev {
        Some(
            '/' | '\\' | '_' | '@' | '=' | '?' | '&' | '%' | '#' | '+' | '$' | '€' | '£' | '¥'
            | '₹' | '~' | '^' | '|',
        ) => return true,
        Some('-' | '.') if alnum(prev2) => return true,
        Some(':' | ',') if digit(prev2) => return true,
        _ => {}
    }
    match next {
        Some('/' | '\\' | '_' | '@' | '=' | '%' | '€' | '$' | '£' | '¥' | '°' | '+' | '^') => {
            return true;
        }
        Some('-' | '.' | ':' | ',') if alnum(next2) => return true,
        _ => {}
    }

    // The whitespace-delimited word: inside a URL or an email address?
    let win = back(text, start, 256);
    let word_start = match win.char_indices().rev().find(|(_, c)| c.is_whitespace()) {
        Some((p, c)) => Some(start - win.len() + p + c.len_utf8()),
        None => (win.len() == start).then_some(0),
    };
    let win = fwd(text, end, 256);
    let word_end = match win.find(char::is_whitespace) {
        Some(p) => Some(end + p),
        None => (end + win.len() == text.len()).then_some(text.len()),
    };
    let (Some(ws), Some(we)) = (word_start, word_end) else {
        // A 256-byte blob without whitespace around: not prose.
        return true;
    };
    let word = &text[ws..we];
    if word.contains("://") || word.contains('@') || word.to_ascii_lowercase().contains("www.") {
        return true;
    }

    // Labels and units.
    let before = words_before(text, start, 4);
    let after = words_after(text, end, 1);
    let first_before = before.first().map(String::as_str);
    if let Some(w) = after.first()
        && UNITS.contains(&w.as_str())
    {
        return true;
    }
    if next == Some(' ') && matches!(next2, Some('%' | '€' | '$' | '£' | '¥')) {
        return true;
    }
    if prev == Some(' ') && matches!(prev2, Some('$' | '€' | '£' | '¥' | '₹' | '#' | '+')) {
        return true;
    }
    if let Some(w) = first_before
        && CURRENCY_BEFORE.contains(&w)
    {
        return true;
    }
    // ZIP code after a state: "San Francisco, CA 94105".
    if end - start == 5 {
        let raw_prev = back(text, start, 8).trim_end();
        let state = raw_prev
            .rsplit(|c: char| !c.is_ascii_alphabetic())
            .next()
            .unwrap_or("");
        if raw_prev.len() < back(text, start, 8).len() && US_STATES.contains(&state) {
            return true;
        }
    }
    // Phone labels anywhere in the four words before.
    if before.iter().any(|w| PHONE_LABELS.contains(&w.as_str())) {
        return true;
    }
    // Order/invoice/reference labels: the word before, skipping "number",
    // "no", "#", "id" …; "confirmation number" but not "confirmation code".
    let mut skipped_glue = false;
    for w in &before {
        if GLUE.contains(&w.as_str()) {
            skipped_glue = true;
            continue;
        }
        if LABELS.contains(&w.as_str())
            || (skipped_glue && GLUE_LABELS.contains(&w.as_str()))
            || ((w.ends_with("nummer") || w.ends_with("number")) && !is_code_word(w))
        {
            return true;
        }
        break;
    }
    false
}

const GLUE: &[&str] = &[
    "number", "no", "nr", "num", "id", "ids", "nummer", "n", "nº", "n°", "is", "was", "lautet",
    "ist", "est", "es",
];
const LABELS: &[&str] = &[
    "order",
    "orders",
    "invoice",
    "inv",
    "reference",
    "ref",
    "receipt",
    "ticket",
    "case",
    "account",
    "acct",
    "booking",
    "tracking",
    "transaction",
    "txn",
    "customer",
    "member",
    "membership",
    "policy",
    "serial",
    "model",
    "item",
    "sku",
    "part",
    "flight",
    "room",
    "suite",
    "apt",
    "apartment",
    "unit",
    "box",
    "po",
    "claim",
    "shipment",
    "parcel",
    "package",
    "reservation",
    "user",
    "employee",
    "student",
    "patient",
    "loyalty",
    "card",
    "visa",
    "mastercard",
    "amex",
    "ending",
    "bestellung",
    "rechnung",
    "auftrag",
    "kunde",
    "version",
    "build",
    "release",
    "issue",
    "pr",
    "total",
    "amount",
    "price",
    "subtotal",
    "balance",
    "cost",
    "paid",
    "charged",
    "summe",
    "betrag",
    "preis",
    "gesamt",
    "page",
    "step",
    "year",
    "since",
    "est",
    "copyright",
];
const GLUE_LABELS: &[&str] = &["confirmation", "bestätigungs", "reference", "tracking"];
const PHONE_LABELS: &[&str] = &[
    "phone",
    "tel",
    "telephone",
    "call",
    "fax",
    "mobile",
    "cell",
    "whatsapp",
    "hotline",
    "telefon",
    "handy",
    "sms",
];
const CURRENCY_BEFORE: &[&str] = &[
    "usd", "eur", "gbp", "chf", "cad", "aud", "jpy", "inr", "rs", "sek", "nok", "dkk", "pln",
];
const UNITS: &[&str] = &[
    "usd",
    "eur",
    "gbp",
    "chf",
    "cad",
    "aud",
    "jpy",
    "inr",
    "sek",
    "nok",
    "dkk",
    "pln",
    "dollars",
    "dollar",
    "euro",
    "euros",
    "pounds",
    "kr",
    "points",
    "pts",
    "miles",
    "mi",
    "km",
    "m",
    "kg",
    "lbs",
    "lb",
    "g",
    "mb",
    "gb",
    "kb",
    "tb",
    "px",
    "pt",
    "ms",
    "s",
    "sec",
    "secs",
    "seconds",
    "min",
    "mins",
    "minutes",
    "minuten",
    "h",
    "hr",
    "hrs",
    "hours",
    "stunden",
    "days",
    "tage",
    "utc",
    "gmt",
    "cet",
    "cest",
    "est",
    "edt",
    "pst",
    "pdt",
    "am",
    "pm",
    "uhr",
    "users",
    "members",
    "people",
    "steps",
    "words",
    "views",
    "downloads",
    "stars",
];
const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC",
];

/// Up to `max` bytes before `pos` (on a char boundary).
fn back(text: &str, pos: usize, max: usize) -> &str {
    let mut s = pos.saturating_sub(max);
    while !text.is_char_boundary(s) {
        s += 1;
    }
    &text[s..pos]
}

/// Up to `max` bytes from `pos` (on a char boundary).
fn fwd(text: &str, pos: usize, max: usize) -> &str {
    let mut e = (pos + max).min(text.len());
    while !text.is_char_boundary(e) {
        e -= 1;
    }
    &text[pos..e]
}

/// The `n` words before `pos` on the same line, nearest first, lower-cased,
/// punctuation-only words (`#`, `:`) skipped, `#` kept as a glue word.
fn words_before(text: &str, pos: usize, n: usize) -> Vec<String> {
    let window = back(text, pos, 80);
    let window = window.rsplit('\n').next().unwrap_or("");
    window
        .split_whitespace()
        .rev()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .map(|w| if w.is_empty() { "no".to_owned() } else { w })
        .take(n)
        .collect()
}

fn words_after(text: &str, pos: usize, n: usize) -> Vec<String> {
    let window = fwd(text, pos, 40);
    let window = window.split('\n').next().unwrap_or("");
    window
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .take(n)
        .collect()
}

/// The previous word (`code:`, `PIN`) is a keyword.
fn prev_word_is_keyword(text: &str, pos: usize) -> bool {
    words_before(text, pos, 1)
        .first()
        .is_some_and(|w| is_code_word(w) || is_keyword(w))
}

/// A plain word follows on the same sentence (`12000 teams`).
fn word_follows(text: &str, end: usize) -> bool {
    let rest = fwd(text, end, 40);
    let rest = rest.strip_prefix(' ').unwrap_or("");
    rest.chars().next().is_some_and(char::is_alphabetic)
}

// ---------------------------------------------------------------------------
// Links.

fn links_in_text(doc: &Doc<'_>, base: usize, out: &mut Vec<Found>) {
    let text = doc.text;
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(rel) = lower[from..].find("http") {
        let start = from + rel;
        let rest = &lower[start..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            from = start + 4;
            continue;
        }
        let len = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(text.len() - start);
        let end = start + len;
        from = end.max(start + 4);
        let raw = trim_url(&text[start..end]);
        // The words before the link on its line; for a link alone on its
        // line, the line before too.
        let mut context = current_sentence(back(text, start, 200)).to_owned();
        if context
            .trim_matches(|c: char| !c.is_alphanumeric())
            .is_empty()
            && let Some((idx, _)) = doc.line_at(start)
            && let Some(prev) = doc.prev_line(idx)
        {
            context = back(text, prev.end, 200).to_owned();
        }
        if let Some((value, confidence)) = classify_link(raw, &context, false) {
            out.push(Found {
                kind: SecretKind::Link,
                value,
                confidence,
                pos: base + start,
            });
        }
    }
}

/// The tail of `before` that belongs to the same line and sentence.
fn current_sentence(before: &str) -> &str {
    let line = before.rsplit('\n').next().unwrap_or("");
    let mut cut = 0;
    for (i, c) in line.char_indices() {
        if matches!(c, '.' | '!' | '?' | '。')
            && line[i + c.len_utf8()..]
                .chars()
                .next()
                .is_some_and(char::is_whitespace)
        {
            cut = i + c.len_utf8();
        }
    }
    &line[cut..]
}

/// Trailing sentence punctuation and unbalanced closing brackets are not
/// part of a URL written in prose.
fn trim_url(url: &str) -> &str {
    let mut u = url;
    loop {
        let before = u.len();
        u = u.trim_end_matches(['.', ',', ';', ':', '!', '?', '*']);
        for (open, close) in [('(', ')'), ('[', ']'), ('{', '}')] {
            if u.ends_with(close) && u.matches(open).count() < u.matches(close).count() {
                u = &u[..u.len() - 1];
            }
        }
        if u.len() == before {
            return u;
        }
    }
}

struct Anchor {
    href: String,
    text: String,
    has_img: bool,
    pos: usize,
}

/// `<a href>` links with their anchor text (image `alt`s included). One
/// pass over the tags; linear.
fn links_in_html(html: &str, base: usize, out: &mut Vec<Found>) {
    const MAX_ANCHOR_TEXT: usize = 400;
    let lower = html.to_ascii_lowercase();
    let bytes = html.as_bytes();
    let mut open: Option<Anchor> = None;
    let mut anchors: Vec<Anchor> = Vec::new();
    let mut i = 0;
    let mut text_start = 0;
    let mut next_gt: Option<usize> = None;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let gt = match next_gt {
            Some(g) if g > i => Some(g),
            _ => lower[i..].find('>').map(|g| i + g),
        };
        next_gt = gt;
        let Some(gt) = gt else { break };
        if let Some(a) = open.as_mut()
            && a.text.len() < MAX_ANCHOR_TEXT
        {
            a.text
                .push_str(fwd(html, text_start, MAX_ANCHOR_TEXT.min(i - text_start)));
            a.text.push(' ');
        }
        if lower[i..].starts_with("<!--") {
            let end = lower[i..].find("-->").map_or(bytes.len(), |e| i + e + 3);
            i = end;
            text_start = end;
            continue;
        }
        let tag = &html[i + 1..gt];
        let tag_lower = &lower[i + 1..gt];
        let closing = tag_lower.starts_with('/');
        let name_src = tag_lower.trim_start_matches('/');
        let name_len = name_src
            .bytes()
            .position(|b| !b.is_ascii_alphanumeric())
            .unwrap_or(name_src.len());
        let name = &name_src[..name_len];
        let mut next = gt + 1;
        match (name, closing) {
            ("a", false) => {
                if let Some(a) = open.take() {
                    anchors.push(a);
                }
                if let Some(href) = attribute(tag, "href") {
                    open = Some(Anchor {
                        href,
                        text: String::new(),
                        has_img: false,
                        pos: i,
                    });
                }
            }
            ("a", true) => {
                if let Some(a) = open.take() {
                    anchors.push(a);
                }
            }
            ("img", false) => {
                if let Some(a) = open.as_mut() {
                    a.has_img = true;
                    if let Some(alt) = attribute(tag, "alt") {
                        a.text.push_str(fwd(&alt, 0, MAX_ANCHOR_TEXT));
                        a.text.push(' ');
                    }
                }
            }
            ("script" | "style" | "head" | "title", false) => {
                let close = format!("</{name}");
                next = lower[next..]
                    .find(&close)
                    .and_then(|c| lower[next + c..].find('>').map(|g| next + c + g + 1))
                    .unwrap_or(bytes.len());
            }
            _ => {}
        }
        i = next;
        text_start = next;
    }
    if let Some(a) = open.take() {
        anchors.push(a);
    }
    for a in anchors {
        let href = decode_entities(a.href.trim());
        let lower_href = href.to_ascii_lowercase();
        if !(lower_href.starts_with("http://") || lower_href.starts_with("https://")) {
            continue;
        }
        let text = decode_entities(&a.text);
        if let Some((value, confidence)) = classify_link(&href, &text, a.has_img) {
            out.push(Found {
                kind: SecretKind::Link,
                value,
                confidence,
                pos: base + a.pos,
            });
        }
    }
}

/// The value of attribute `name` in a tag's source (`a href="…" class=x`).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let b = tag.as_bytes();
    // Skip the tag name.
    let mut i = b
        .iter()
        .position(|c| c.is_ascii_whitespace())
        .unwrap_or(b.len());
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let n_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let attr = &tag[n_start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let v_start = i + 1;
                    let v_end = tag[v_start..]
                        .find(q as char)
                        .map_or(tag.len(), |p| v_start + p);
                    i = (v_end + 1).min(b.len());
                    Some(&tag[v_start..v_end])
                }
                _ => {
                    let v_start = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    Some(&tag[v_start..i])
                }
            }
        } else {
            None
        };
        if attr.eq_ignore_ascii_case(name) {
            return value.map(str::to_owned);
        }
        if i == n_start {
            i += 1;
        }
    }
    None
}

const URL_POSITIVE: &[&str] = &[
    "reset",
    "verif",
    "confirm",
    "magic",
    "invit",
    "token",
    "login",
    "log-in",
    "signin",
    "sign-in",
    "sign_in",
    "activat",
    "passwordless",
    "auth",
    "accept",
    "validat",
    "password",
    "otp",
    "onboard",
];
const TEXT_POSITIVE: &[&str] = &[
    "reset",
    "verify",
    "verif",
    "confirm",
    "magic",
    "invite",
    "invitation",
    "accept",
    "sign in",
    "sign-in",
    "log in",
    "login",
    "signin",
    "activate",
    "set password",
    "set your password",
    "choose a password",
    "bestätig",
    "zurücksetzen",
    "anmelden",
    "einladung",
    "verifizier",
    "aktivier",
    "passwort",
    "réinitialiser",
    "vérifier",
    "confirmer",
    "connexion",
    "restablecer",
    "verificar",
    "confirmar",
];
const URL_HARD_NEGATIVE: &[&str] = &[
    "unsubscribe",
    "optout",
    "opt-out",
    "opt_out",
    "privacy",
    "logo",
    "/images/",
    "/image/",
    "/img/",
    "pixel",
    "beacon",
    "/open.",
    "/o.gif",
    "webversion",
    "view-in-browser",
    "viewinbrowser",
    "list-unsubscribe",
    "abmelden",
    "abbestellen",
    "datenschutz",
];
const IMAGE_EXTENSIONS: &[&str] = &[
    ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ico", ".bmp", ".css", ".js", ".woff",
    ".woff2",
];
const SOCIAL_HOSTS: &[&str] = &[
    "facebook.com",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "instagram.com",
    "youtube.com",
    "tiktok.com",
    "pinterest.com",
];
const URL_SOFT_NEGATIVE: &[&str] = &[
    "help",
    "support",
    "faq",
    "terms",
    "legal",
    "contact",
    "about",
    "blog",
    "careers",
    "preferences",
    "settings/notifications",
    "impressum",
    "status",
];
const TEXT_HARD_NEGATIVE: &[&str] = &[
    "unsubscribe",
    "opt out",
    "opt-out",
    "privacy",
    "view in browser",
    "view in your browser",
    "view online",
    "view this email",
    "im browser",
    "abbestellen",
    "abmelden",
    "datenschutz",
    "logo",
    "désinscri",
];
const TEXT_SOFT_NEGATIVE: &[&str] = &[
    "help",
    "support",
    "faq",
    "terms",
    "contact",
    "preferences",
    "impressum",
    "hilfe",
    "aide",
    "ayuda",
];
const REDIRECT_PARAMS: &[&str] = &[
    "url",
    "u",
    "redirect",
    "redirect_url",
    "redirect_uri",
    "redirect_to",
    "redirecturl",
    "target",
    "dest",
    "destination",
    "link",
    "goto",
    "q",
    "r",
];
const TOKEN_PARAMS: &[&str] = &[
    "token",
    "code",
    "key",
    "otp",
    "sig",
    "signature",
    "ticket",
    "oobcode",
    "magic",
    "invite",
    "confirmation_token",
    "reset_token",
];

/// Judge one link: `None` when it is not a secret, else the value to report
/// (the unwrapped target when it was a tracking redirect) and a confidence.
fn classify_link(raw: &str, context: &str, has_img: bool) -> Option<(String, f64)> {
    let raw = raw.trim();
    let mut value = raw.to_owned();
    let mut url = Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    let mut unwrapped = false;
    for _ in 0..3 {
        match unwrap_redirect(&url) {
            Some((inner_raw, inner)) => {
                value = inner_raw;
                url = inner;
                unwrapped = true;
            }
            None => break,
        }
    }
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let path_lower = url.path().to_ascii_lowercase();
    let after_host = url_words(&url);
    let ctx = context.to_lowercase();

    let social = SOCIAL_HOSTS
        .iter()
        .any(|s| host == *s || host.ends_with(&format!(".{s}")));
    if social
        || URL_HARD_NEGATIVE.iter().any(|n| after_host.contains(n))
        || IMAGE_EXTENSIONS.iter().any(|e| path_lower.ends_with(e))
        || TEXT_HARD_NEGATIVE.iter().any(|n| ctx.contains(n))
    {
        return None;
    }
    let url_positive = URL_POSITIVE.iter().any(|p| after_host.contains(p));
    let ctx_positive = TEXT_POSITIVE.iter().any(|p| ctx.contains(p));
    let soft_negative = URL_SOFT_NEGATIVE.iter().any(|n| after_host.contains(n))
        || TEXT_SOFT_NEGATIVE.iter().any(|n| ctx.contains(n));
    if soft_negative && !url_positive {
        return None;
    }
    // An image-only anchor (a logo) is a secret only with a keyword in the URL.
    if has_img && !url_positive && ctx.trim().is_empty() {
        return None;
    }
    let bare_home = (url.path() == "/" || url.path().is_empty()) && url.query().is_none();
    let confidence = match (url_positive, ctx_positive) {
        (true, true) => 0.95,
        (true, false) => 0.9,
        (false, true) if bare_home => return None,
        (false, true) if !unwrapped && looks_like_tracker(&url) => 0.85,
        (false, true) => 0.9,
        (false, false) => return None,
    };
    Some((value, confidence))
}

/// The parts of a URL that speak: path segments, query names and short query
/// values (long opaque values — tokens, tracking blobs — are left out so a
/// random `…OTP…` inside them means nothing), lower-cased, `/`-separated.
fn url_words(url: &Url) -> String {
    const MAX_PART: usize = 32;
    let mut out = String::from("/");
    for seg in url
        .path()
        .split('/')
        .filter(|s| !s.is_empty() && s.len() <= MAX_PART)
    {
        out.push_str(&percent_decode(seg).to_lowercase());
        out.push('/');
    }
    out.push('?');
    for (k, v) in url.query_pairs() {
        out.push_str(&k.to_lowercase());
        out.push('=');
        if v.len() <= MAX_PART {
            out.push_str(&v.to_lowercase());
        }
        out.push('&');
    }
    out
}

/// Click-tracking URLs whose target is opaque (`/ls/click?upn=…`).
fn looks_like_tracker(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let path = url.path().to_ascii_lowercase();
    [
        "click.", "clicks.", "links.", "link.", "track.", "trk.", "email.", "em.", "t.",
    ]
    .iter()
    .any(|p| host.starts_with(p))
        || [
            "/ls/click",
            "/click",
            "/track",
            "/wf/click",
            "/c/",
            "/r/",
            "/l/",
        ]
        .iter()
        .any(|p| path.starts_with(p) || path.contains(p))
        || url.query_pairs().any(|(k, _)| k == "upn")
}

/// The target of a redirect/tracking URL, as written and parsed.
fn unwrap_redirect(url: &Url) -> Option<(String, Url)> {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    if pairs
        .iter()
        .any(|(k, _)| TOKEN_PARAMS.contains(&k.as_str()))
    {
        return None;
    }
    for (k, v) in &pairs {
        if !REDIRECT_PARAMS.contains(&k.as_str()) {
            continue;
        }
        let mut v = v.trim().to_owned();
        // Doubly encoded targets: `url=https%253A%252F%252F…`.
        if v.to_ascii_lowercase().starts_with("http%3a") {
            v = percent_decode(&v);
        }
        if let Some(u) = absolute(&v) {
            return Some((v, u));
        }
    }
    // A target embedded in the path: `/L0/https:%2F%2Fapp.example%2Freset/1/…`
    // or `/redirect/https://app.example/reset?token=…`.
    let s = url.as_str();
    let path_start = s.find("://").map_or(0, |p| p + 3);
    let rest = &s[path_start..];
    let lower = rest.to_ascii_lowercase();
    for marker in [
        "/https%3a%2f%2f",
        "/http%3a%2f%2f",
        "/https:%2f%2f",
        "/http:%2f%2f",
    ] {
        if let Some(p) = lower.find(marker) {
            let seg = &rest[p + 1..];
            let seg = seg.split('/').next().unwrap_or("");
            let decoded = percent_decode(seg);
            if let Some(u) = absolute(&decoded) {
                return Some((decoded, u));
            }
        }
    }
    for marker in ["/https://", "/http://"] {
        if let Some(p) = lower.find(marker) {
            let target = &rest[p + 1..];
            if let Some(u) = absolute(target) {
                return Some((target.to_owned(), u));
            }
        }
    }
    None
}

fn absolute(s: &str) -> Option<Url> {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    Url::parse(s)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// `%XX` decoding (invalid escapes kept as written, invalid UTF-8 replaced).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::mime;

    use SecretKind::{Link, Otp};

    /// A raw message: `\n` → CRLF, headers and body as given.
    fn raw(headers: &str, body: &str) -> Vec<u8> {
        format!(
            "From: Acme <no-reply@acme.example>\nTo: ident_1@inbox.mock\nDate: Mon, 6 Apr 2026 10:30:00 +0000\nMessage-ID: <m1@acme.example>\n{headers}\n\n{body}"
        )
        .replace('\n', "\r\n")
        .into_bytes()
    }

    fn plain(subject: &str, body: &str) -> Vec<u8> {
        raw(
            &format!("Subject: {subject}\nContent-Type: text/plain; charset=utf-8"),
            body,
        )
    }

    fn html_only(subject: &str, html: &str) -> Vec<u8> {
        raw(
            &format!("Subject: {subject}\nContent-Type: text/html; charset=utf-8"),
            html,
        )
    }

    fn alternative(subject: &str, text: &str, html: &str) -> Vec<u8> {
        raw(
            &format!(
                "Subject: {subject}\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"=_b\""
            ),
            &format!(
                "--=_b\nContent-Type: text/plain; charset=utf-8\n\n{text}\n--=_b\nContent-Type: text/html; charset=utf-8\n\n{html}\n--=_b--\n"
            ),
        )
    }

    fn b64(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    type Want = Option<(SecretKind, &'static str, f64, f64)>;

    fn table() -> Vec<(&'static str, Vec<u8>, Want)> {
        let newsletter_html = r#"<html><head><style>.x{color:#123456}</style></head><body>
<a href="https://acme.example/"><img src="https://cdn.acme.example/images/logo.png" alt="Acme"></a>
<p><a href="https://acme.example/newsletter/view?id=20260406">View in browser</a></p>
<h1>April news</h1><p>Join 12,000 readers. Our spring sale starts 2026-04-06 and ends 04/30/2026.</p>
<p><a href="https://acme.example/blog/spring-2026">Read our blog</a></p>
<p><a href="https://twitter.com/acme">Twitter</a> | <a href="https://acme.example/help">Help</a></p>
<p>Acme Inc., 100 Main St, San Francisco, CA 94105 · © 2026</p>
<p><a href="https://acme.example/unsubscribe?token=8f7e6d5c4b3a">Unsubscribe</a> · <a href="https://acme.example/privacy">Privacy</a></p>
</body></html>"#;
        vec![
            (
                "plain code with keyword",
                plain(
                    "Your AuthFlow code",
                    "Hi,\n\nYour AuthFlow verification code is 482913. It expires in 10 minutes.\n",
                ),
                Some((Otp, "482913", 0.9, 1.0)),
            ),
            (
                "code in the subject",
                plain(
                    "123456 is your verification code",
                    "Enter it in the app. This code was requested at 10:30 UTC on 2026-04-06.\n",
                ),
                Some((Otp, "123456", 0.9, 1.0)),
            ),
            (
                "HTML-only with table layout and footer",
                html_only(
                    "Verify your sign-in",
                    r#"<html><body><table><tr><td>Your verification code</td></tr>
<tr><td style="font-size:32px;letter-spacing:4px"><b>739201</b></td></tr>
<tr><td>© 2026 Acme Inc. · <a href="https://acme.example/unsubscribe?u=1">Unsubscribe</a></td></tr></table></body></html>"#,
                ),
                Some((Otp, "739201", 0.9, 1.0)),
            ),
            (
                "multipart/alternative login code",
                alternative(
                    "Your login code",
                    "Use this login code to sign in: 551234\n",
                    "<p>Use this login code to sign in:</p><p><strong>551234</strong></p>",
                ),
                Some((Otp, "551234", 0.9, 1.0)),
            ),
            (
                "quoted-printable reset link with soft breaks and =3D",
                raw(
                    "Subject: Reset your password\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable",
                    "<p>We received a request to reset your password.</p>\n<p><a href=3D\"https://app.example.com/reset-pass=\nword?token=3Dab12cd34ef&amp;uid=3D42\" style=3D\"color:#0a84ff\">Reset pa=\nssword</a></p>\n<p>This link expires in 60 minutes.</p>\n",
                ),
                Some((
                    Link,
                    "https://app.example.com/reset-password?token=ab12cd34ef&uid=42",
                    0.9,
                    1.0,
                )),
            ),
            (
                "base64 text body with a passcode",
                raw(
                    "Subject: Security notice\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64",
                    &b64("Your one-time passcode: 90817263\nDo not share it with anyone.\n"),
                ),
                Some((Otp, "90817263", 0.9, 1.0)),
            ),
            (
                "tracking redirect with url= parameter",
                html_only(
                    "Confirm your email",
                    r#"<p>Welcome!</p><a href="https://click.mailer.example.com/track?url=https%3A%2F%2Fapp.example.com%2Fverify-email%3Ftoken%3DZx81Qa&amp;id=77">Verify email</a>"#,
                ),
                Some((
                    Link,
                    "https://app.example.com/verify-email?token=Zx81Qa",
                    0.95,
                    1.0,
                )),
            ),
            (
                "opaque tracking redirect (upn)",
                html_only(
                    "Activate your account",
                    r#"<p>Thanks for signing up.</p><a href="https://u123.ct.sendgrid.net/ls/click?upn=AbCdEf123-2BxYzQwErTyUiOp-3D-3D">Confirm your account</a>"#,
                ),
                Some((
                    Link,
                    "https://u123.ct.sendgrid.net/ls/click?upn=AbCdEf123-2BxYzQwErTyUiOp-3D-3D",
                    0.8,
                    0.89,
                )),
            ),
            (
                "tracking target encoded in the path",
                html_only(
                    "Sign in to Acme",
                    r#"<a href="https://abc.r.us-east-1.awstrack.me/L0/https:%2F%2Fapp.example.com%2Fmagic%3Ftoken%3Dq9w8e7/1/0100abc/xyz=">Sign in</a>"#,
                ),
                Some((
                    Link,
                    "https://app.example.com/magic?token=q9w8e7",
                    0.95,
                    1.0,
                )),
            ),
            (
                "google q= redirect",
                html_only(
                    "Password reset",
                    r#"<a href="https://www.google.com/url?q=https://app.example.com/reset?token%3Dabc999&amp;sa=D">click here</a>"#,
                ),
                Some((Link, "https://app.example.com/reset?token=abc999", 0.9, 1.0)),
            ),
            (
                "plain-text password reset link",
                plain(
                    "Reset your password",
                    "Someone asked to reset your Acme password.\n\nReset it here:\nhttps://app.example.com/reset/7f3a9c?expires=3600.\n\nIf you didn't ask, ignore this email. Questions? https://acme.example/help\n",
                ),
                Some((
                    Link,
                    "https://app.example.com/reset/7f3a9c?expires=3600",
                    0.95,
                    1.0,
                )),
            ),
            (
                "magic link",
                plain(
                    "Your sign-in link",
                    "Click the link below to sign in to Acme:\n\nhttps://acme.example/auth/magic?token=k2j3h4g5\n\nThe link expires in 15 minutes.\n",
                ),
                Some((
                    Link,
                    "https://acme.example/auth/magic?token=k2j3h4g5",
                    0.95,
                    1.0,
                )),
            ),
            (
                "invite with a 6-digit code and a link",
                alternative(
                    "Ann invited you to Acme",
                    "Ann invited you to the Acme workspace.\nAccept the invitation: https://acme.example/invite/abc123\nOr enter invite code 583920 in the app.\n",
                    r#"<p>Ann invited you.</p><a href="https://acme.example/invite/abc123">Accept invitation</a><p>Or enter invite code <b>583920</b> in the app.</p>"#,
                ),
                Some((Otp, "583920", 0.9, 1.0)),
            ),
            (
                "German, ISO-8859-1 quoted-printable",
                raw(
                    "Subject: =?ISO-8859-1?Q?Ihr_Best=E4tigungscode?=\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable",
                    "Hallo,\n\nIhr Best=E4tigungscode lautet 482913.\n\nDer Code ist 10 Minuten g=FCltig.\n\nMit freundlichen Gr=FC=DFen\n",
                ),
                Some((Otp, "482913", 0.9, 1.0)),
            ),
            (
                "Spanish",
                plain("Verificación", "Tu código de verificación es 302915.\n"),
                Some((Otp, "302915", 0.9, 1.0)),
            ),
            (
                "Chinese",
                plain("验证码", "您的验证码是 284619，5分钟内有效。\n"),
                Some((Otp, "284619", 0.9, 1.0)),
            ),
            (
                "dates and years are not codes",
                plain(
                    "Your subscription",
                    "Your subscription renews on 2026-04-06 (04/06/2026).\nThanks for being with us since 2019.\nBilling period: 6.4.2026 to 5.5.2026, April 6, 2026.\n",
                ),
                None,
            ),
            (
                "phone numbers and ZIP codes are not codes",
                plain(
                    "We're here to help",
                    "Questions? Call us at +1 555 123 4567 or (555) 123-4567, or 555-123-4567.\nOur office: 100 Main St, San Francisco, CA 94105.\nFax: 5551234\n",
                ),
                None,
            ),
            (
                "order confirmation: order numbers and prices",
                plain(
                    "Thanks for your order!",
                    "Order #12345678\nOrder number: 55512345\nInvoice 20260406\nTotal: $1,299.00 (USD 1299)\nTracking number 94001234\nShipping to 742 Evergreen Terrace, Springfield, IL 62704\nEstimated delivery: 04/09/2026\n",
                ),
                None,
            ),
            (
                "newsletter: logo, unsubscribe, privacy, social, blog",
                html_only("Acme April news", newsletter_html),
                None,
            ),
            (
                "code among a date, an IP and a phone number",
                plain(
                    "Security alert",
                    "Your security code is 604218.\nRequested on 2026-04-06 at 10:31 from 192.168.1.20.\nNot you? Call +44 20 7946 0958.\n",
                ),
                Some((Otp, "604218", 0.9, 1.0)),
            ),
            (
                "lone 6-digit number, no keyword",
                plain("Welcome", "Hi,\n\n731904\n\nSee you soon.\n"),
                Some((Otp, "731904", 0.5, 0.7)),
            ),
            (
                "alphanumeric recovery code",
                plain(
                    "Account recovery",
                    "Your recovery code: ABCD-1234\nKeep it safe.\n",
                ),
                Some((Otp, "ABCD-1234", 0.9, 1.0)),
            ),
            (
                "alphanumeric code on the line after the keyword (HTML)",
                html_only(
                    "Sign-in attempt",
                    "<p>Enter this code to continue:</p><p style='font-size:24px'><strong>K7P2QX</strong></p><p>Sent from Acme, version UTF-8.</p>",
                ),
                Some((Otp, "K7P2QX", 0.9, 1.0)),
            ),
            (
                "verification number and link, no 'code': the link wins",
                alternative(
                    "Verify your email address",
                    "Verify your email address to finish signing up.\nVerification: 482913\nReference: 55123456\n",
                    r#"<p>Verify your email address to finish signing up.</p><a href="https://app.example.com/verify?token=T0k3n99">Verify email</a>"#,
                ),
                Some((
                    Link,
                    "https://app.example.com/verify?token=T0k3n99",
                    0.9,
                    1.0,
                )),
            ),
            (
                "code and magic link: the mail says code, the code wins",
                plain(
                    "Sign in to Acme",
                    "Your login code is 118822.\nOr click https://app.example.com/login/magic?token=xyz to sign in.\n",
                ),
                Some((Otp, "118822", 0.9, 1.0)),
            ),
            (
                "multipart/mixed with an attachment and a PIN",
                raw(
                    "Subject: Your card\nContent-Type: multipart/mixed; boundary=XX",
                    &format!(
                        "--XX\nContent-Type: text/plain\n\nYour PIN is 7391.\n--XX\nContent-Type: application/pdf; name=card.pdf\nContent-Disposition: attachment; filename=card.pdf\nContent-Transfer-Encoding: base64\n\n{}\n--XX--\n",
                        b64("%PDF-1.4 123456 999999")
                    ),
                ),
                Some((Otp, "7391", 0.9, 1.0)),
            ),
            (
                "base64 encoded-word subject holds the code",
                raw(
                    &format!(
                        "Subject: =?UTF-8?B?{}?=\nContent-Type: text/plain; charset=utf-8",
                        b64("Dein Code: 660271")
                    ),
                    "Gib ihn in der App ein.\n",
                ),
                Some((Otp, "660271", 0.9, 1.0)),
            ),
            (
                "Google-style prefixed code",
                plain(
                    "G-482913 is your Google verification code",
                    "G-482913 is your Google verification code.\n",
                ),
                Some((Otp, "482913", 0.9, 1.0)),
            ),
            (
                "receipt: card digits, amounts, receipt numbers",
                plain(
                    "Your receipt from Acme #2291-4410",
                    "Receipt #2291-4410\nAmount paid $20.00\nDate paid Apr 6, 2026\nPayment method Visa - 4242\n\nQuestions? Contact support@acme.example or call +1 555-555-5555.\n",
                ),
                None,
            ),
            (
                "device verification with an unrelated settings link",
                plain(
                    "[GitHub] Please verify your device",
                    "Hey octocat!\n\nA sign in attempt requires further verification because we did not recognize your device.\n\nDevice: Chrome on macOS\nVerification code: 381204\n\nIf you did not attempt to sign in, your password may be compromised. Visit https://github.com/settings/security to create a new password.\n",
                ),
                Some((Otp, "381204", 0.9, 1.0)),
            ),
            (
                "code split in two groups",
                plain("Verification", "Your verification code is 123 456.\n"),
                Some((Otp, "123456", 0.9, 1.0)),
            ),
            (
                "unsubscribe link with a token is not a secret",
                plain(
                    "Weekly digest",
                    "That's all for this week.\nDon't want these emails? Unsubscribe: https://news.example.com/unsubscribe?token=abc123\n",
                ),
                None,
            ),
            (
                "flight: times, prices, flight numbers",
                plain(
                    "Your trip",
                    "Flight AB1234 departs at 1430 UTC from gate 12.\nFare: €1299, taxes 250 EUR, 2050 EUR total.\nBooking reference 88812345.\n",
                ),
                None,
            ),
            (
                "promo code is not a one-time code",
                plain("20% off", "Use promo code 4832 at checkout for 20% off.\n"),
                None,
            ),
        ]
    }

    #[test]
    fn extraction_table() {
        let rows = table();
        assert!(rows.len() >= 25);
        let mut failures = Vec::new();
        for (name, raw, want) in rows {
            let mail = mime::parse(&raw).unwrap_or_else(|| panic!("{name}: unparsable"));
            let got = extract(&mail.subject, &mail.text, mail.html.as_deref());
            let ok = match (&got, want) {
                (None, None) => true,
                (Some(g), Some((kind, value, lo, hi))) => {
                    g.kind == kind && g.value == value && g.confidence >= lo && g.confidence <= hi
                }
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{name}: got {:?} value={:?}, want {want:?}\n  all: {:?}\n  text: {:?}",
                    got,
                    got.as_ref().map(|g| &g.value),
                    extract_all(&mail.subject, &mail.text, mail.html.as_deref())
                        .iter()
                        .map(|e| (e.kind, e.value.clone(), e.confidence))
                        .collect::<Vec<_>>(),
                    mail.text
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn extract_all_ranks_and_deduplicates() {
        let all = extract_all(
            "Verify your email address",
            "Verification: 482913\nhttps://app.example.com/verify?token=T0k3n99\n",
            Some(r#"<a href="https://app.example.com/verify?token=T0k3n99">Verify</a>"#),
        );
        let summary: Vec<_> = all.iter().map(|e| (e.kind, e.value.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                (Link, "https://app.example.com/verify?token=T0k3n99"),
                (Otp, "482913")
            ]
        );
        // Saying "code" flips the preference.
        let all = extract_all(
            "Your code",
            "Verification: 482913\nhttps://app.example.com/verify?token=T0k3n99\n",
            None,
        );
        assert_eq!(all[0].kind, Otp);
        assert_eq!(all[1].kind, Link);
    }

    #[test]
    fn html_argument_alone() {
        let e = extract(
            "",
            "",
            Some("<div>Your one-time password</div><div>4455 6677</div>"),
        )
        .unwrap();
        assert_eq!((e.kind, e.value.as_str()), (Otp, "44556677"));
        // A stub text part does not hide the HTML.
        let e = extract(
            "Hello",
            "This message is best viewed in HTML.",
            Some("<p>Your code: <b>246810</b></p>"),
        )
        .unwrap();
        assert_eq!(e.value, "246810");
    }

    #[test]
    fn rejections() {
        let none = [
            "Meeting at 1530 hrs, room 4711.",
            "Version 2.4.1234 released",
            "Download: https://dl.example.com/v/12345678/file.zip",
            "Write to support12345@example.com",
            "Revenue grew 4500% in 2024",
            "Price: EUR 4999 or $ 5999",
            "Card ending 4242 4242",
            "Customer ID: 88765432",
            "Your confirmation number is 48291034.",
            "Sehr geehrte Kunde, Ihre Bestellnummer 55512345.",
            "see #4821 for details",
            "Call 0800 1234 5678",
            "Updated 20260406",
            "Copyright 1999-2026",
        ];
        for text in none {
            assert_eq!(extract("", text, None), None, "{text:?}");
        }
        // Years count only right after a keyword, and then not as high.
        let e = extract("", "Your PIN: 1987", None).unwrap();
        assert_eq!(e.value, "1987");
        assert!((0.75..0.9).contains(&e.confidence));
    }

    #[test]
    fn redaction() {
        assert_eq!(redact("482921"), "***921");
        assert_eq!(redact("1234"), "***234");
        assert_eq!(redact("123"), "***");
        assert_eq!(redact(""), "***");
        assert_eq!(redact("Bestätigungß"), "***ngß");
        let e = Extraction {
            kind: Otp,
            value: "482921".into(),
            confidence: 0.95,
        };
        let dbg = format!("{e:?}");
        assert!(!dbg.contains("482921"), "{dbg}");
        assert!(dbg.contains("***921"), "{dbg}");
        assert_eq!(serde_json::to_string(&SecretKind::Otp).unwrap(), "\"otp\"");
    }

    /// A deterministic xorshift generator for the fuzz tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn fuzz_never_panics_and_is_deterministic() {
        let pieces = [
            "code",
            " ",
            "\n",
            ".",
            ":",
            "-",
            "/",
            "1234",
            "482913",
            "2026",
            "ABCD",
            "K7",
            "é",
            "验证码",
            "\u{a0}",
            "<a href=\"",
            "https://",
            "http://x.",
            "?url=",
            "%3A%2F%2F",
            "&amp;",
            "&#",
            ";",
            ">",
            "</a>",
            "<",
            "#",
            "+1 ",
            "(555) ",
            "@",
            "=",
            "OTP",
            "PIN",
            "reset",
            "unsubscribe",
            "\r",
            "!",
            "?",
            "。",
            "'",
            "\"",
            "<!--",
            "<style>",
            "token=",
            "%",
        ];
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..3000 {
            let n = (rng.next() % 40) as usize;
            let mut s = String::new();
            for _ in 0..n {
                if rng.next().is_multiple_of(7) {
                    // An arbitrary scalar value.
                    let c = char::from_u32((rng.next() % 0x11_0000) as u32).unwrap_or('x');
                    s.push(c);
                } else {
                    s.push_str(pieces[(rng.next() % pieces.len() as u64) as usize]);
                }
            }
            let split = (rng.next() as usize) % (s.len() + 1);
            let split = (0..=split)
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0);
            let (a, b) = s.split_at(split);
            let first = extract_all(a, b, Some(&s));
            let again = extract_all(a, b, Some(&s));
            assert!(first == again);
            for e in &first {
                assert!((0.0..=1.0).contains(&e.confidence));
            }
            let bytes: Vec<u8> = (0..n * 3).map(|_| rng.next() as u8).collect();
            let lossy = String::from_utf8_lossy(&bytes);
            let _ = extract_all(&lossy, &lossy, Some(&lossy));
            if let Some(m) = mime::parse(&bytes) {
                let _ = extract_all(&m.subject, &m.text, m.html.as_deref());
            }
        }
    }

    #[test]
    fn big_hostile_inputs_are_fast() {
        let inputs = [
            "1234 ".repeat(100_000),
            "code 123456. ".repeat(40_000),
            "http://".repeat(70_000),
            "https://x.example/reset?token=1 ".repeat(15_000),
            "<a href=\"https://x.example/verify\">".repeat(15_000),
            "<".repeat(300_000),
            "1".repeat(500_000),
            "ABCD-".repeat(100_000),
            "&#".repeat(200_000),
            "verification ".repeat(50_000) + "482913",
            // Many distinct findings: de-duplication must not be quadratic.
            (100_000..160_000).map(|n| format!("code {n}. ")).collect(),
            (0..20_000)
                .map(|n| format!("<a href=\"https://x.example/reset?token={n}\">Reset</a>"))
                .collect(),
        ];
        for input in &inputs {
            let t = std::time::Instant::now();
            let _ = extract_all(input, input, Some(input));
            assert!(
                t.elapsed() < std::time::Duration::from_secs(20),
                "{}… took {:?}",
                &input[..20],
                t.elapsed()
            );
        }
    }
}
