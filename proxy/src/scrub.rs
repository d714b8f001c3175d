//! Defence in depth: the configured key never leaves the proxy towards the
//! client, and access logs carry no secret.

use authflow::api::routes::is_secret_name;
use authflow::sanitize::REDACTED;
use axum::http::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

/// Finds and replaces the configured key (its 32 hex digits, any case, with
/// the `af_` prefix when present) in bytes — and, in AIdenID mode, the agent
/// key (what follows `aid_`, any case).
#[derive(Clone)]
pub struct KeyScrubber {
    needles: Vec<SecretString>,
}

impl std::fmt::Debug for KeyScrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyScrubber([REDACTED])")
    }
}

impl KeyScrubber {
    /// A scrubber for `key` (`af_` + 32 hex).
    pub fn new(key: &SecretString) -> Self {
        let k = key.expose_secret();
        let hex = k.strip_prefix("af_").unwrap_or(k);
        Self {
            needles: vec![SecretString::from(hex.to_ascii_lowercase())],
        }
    }

    /// Also find and replace the AIdenID agent key `agent_key` (`aid_…`).
    #[must_use]
    pub fn with_agent_key(mut self, agent_key: &SecretString) -> Self {
        let k = agent_key.expose_secret();
        let body = k.strip_prefix("aid_").unwrap_or(k);
        if !body.is_empty() {
            self.needles
                .push(SecretString::from(body.to_ascii_lowercase()));
        }
        self
    }

    /// The first occurrence of any needle at or after `from`: (start, length).
    fn find(&self, hay: &[u8], from: usize) -> Option<(usize, usize)> {
        self.needles
            .iter()
            .filter_map(|n| {
                let needle = n.expose_secret().as_bytes();
                if needle.is_empty() || hay.len() < needle.len() || from > hay.len() - needle.len()
                {
                    return None;
                }
                let first = needle[0];
                (from..=hay.len() - needle.len())
                    .find(|&i| {
                        hay[i].to_ascii_lowercase() == first
                            && hay[i..i + needle.len()].eq_ignore_ascii_case(needle)
                    })
                    .map(|i| (i, needle.len()))
            })
            .min()
    }

    /// Whether `hay` contains the key.
    pub fn contains(&self, hay: &[u8]) -> bool {
        self.find(hay, 0).is_some()
    }

    /// `hay` with every occurrence replaced by `[REDACTED]`, or `None` if it
    /// has none.
    pub fn replace(&self, hay: &[u8]) -> Option<Vec<u8>> {
        let (mut at, mut n) = self.find(hay, 0)?;
        let mut out = Vec::with_capacity(hay.len());
        let mut copied = 0;
        loop {
            let start = if at >= copied + 3 && hay[at - 3..at].eq_ignore_ascii_case(b"af_") {
                at - 3
            } else {
                at
            };
            out.extend_from_slice(&hay[copied..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            copied = at + n;
            match self.find(hay, copied) {
                Some(next) => (at, n) = next,
                None => break,
            }
        }
        out.extend_from_slice(&hay[copied..]);
        Some(out)
    }

    /// A string with the key replaced.
    pub fn scrub_str(&self, s: &str) -> String {
        match self.replace(s.as_bytes()) {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => s.to_owned(),
        }
    }

    /// Replace the key in every header value (dropping a value that would no
    /// longer be valid). Returns whether anything was replaced.
    pub fn scrub_headers(&self, h: &mut HeaderMap) -> bool {
        let dirty: Vec<_> = h
            .iter()
            .filter(|(_, v)| self.contains(v.as_bytes()))
            .map(|(n, _)| n.clone())
            .collect();
        for name in &dirty {
            let values: Vec<HeaderValue> = h
                .get_all(name)
                .iter()
                .filter_map(|v| match self.replace(v.as_bytes()) {
                    Some(clean) => HeaderValue::from_bytes(&clean).ok(),
                    None => Some(v.clone()),
                })
                .collect();
            h.remove(name);
            for v in values {
                h.append(name.clone(), v);
            }
        }
        !dirty.is_empty()
    }
}

/// A query string for logs: values of secret-looking names (`api_key`,
/// `password`, `sessionToken`, `tempToken`, `foobar`, …) replaced.
pub fn redact_query(raw: Option<&str>, scrubber: &KeyScrubber) -> String {
    let Some(raw) = raw else {
        return String::new();
    };
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if is_secret_name(&k) {
            out.append_pair(&k, REDACTED);
        } else {
            out.append_pair(&k, &v);
        }
    }
    scrubber.scrub_str(&out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "af_0123456789abcdef0123456789abcdef";

    #[test]
    fn replaces_every_spelling() {
        let s = KeyScrubber::new(&SecretString::from(KEY));
        let hay = format!(
            "a {KEY} b AF_0123456789ABCDEF0123456789ABCDEF c 0123456789abcdef0123456789abcdef"
        );
        let out = String::from_utf8(s.replace(hay.as_bytes()).unwrap()).unwrap();
        assert_eq!(out, "a [REDACTED] b [REDACTED] c [REDACTED]");
        assert!(s.replace(b"nothing").is_none());
        assert!(!s.contains(out.as_bytes()));
    }

    #[test]
    fn replaces_the_agent_key_too() {
        let agent = "aid_fedcba9876543210fedcba9876543210";
        let s =
            KeyScrubber::new(&SecretString::from(KEY)).with_agent_key(&SecretString::from(agent));
        let hay = format!("x {agent} y {KEY} z FEDCBA9876543210FEDCBA9876543210");
        let out = String::from_utf8(s.replace(hay.as_bytes()).unwrap()).unwrap();
        assert_eq!(out, "x aid_[REDACTED] y [REDACTED] z [REDACTED]");
    }

    #[test]
    fn headers_and_queries() {
        let s = KeyScrubber::new(&SecretString::from(KEY));
        let mut h = HeaderMap::new();
        h.insert(
            "x-echo",
            HeaderValue::from_str(&format!("k={KEY}")).unwrap(),
        );
        h.insert("x-ok", HeaderValue::from_static("fine"));
        assert!(s.scrub_headers(&mut h));
        assert_eq!(h["x-echo"], "k=[REDACTED]");
        assert_eq!(h["x-ok"], "fine");
        let q = redact_query(
            Some(&format!(
                "email=a%40b.co&password=p&api_key={KEY}&sessionToken=t&tempToken=u"
            )),
            &s,
        );
        assert_eq!(
            q,
            "email=a%40b.co&password=%5BREDACTED%5D&api_key=%5BREDACTED%5D&sessionToken=%5BREDACTED%5D&tempToken=%5BREDACTED%5D"
        );
    }
}
