//! Removing client-supplied `api_key`s and injecting the configured one,
//! where the route table says the route takes it.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::ProxyError;

/// Whether a parameter name is (a spelling of) `api_key`. Matching ignores
/// ASCII case and surrounding whitespace, so `API_KEY` and ` api_key` are
/// stripped too.
pub fn is_key_param(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("api_key")
}

/// Rebuild a query string without any `api_key` pair, then append `key`
/// if given. Pairs are decoded and re-encoded (`application/x-www-form-urlencoded`).
/// Returns the query without its `?` (empty if nothing is left).
pub fn rewrite_query(raw: Option<&str>, key: Option<&str>) -> String {
    let raw = raw.unwrap_or("");
    if let Some(out) = rewrite_canonical(raw, key) {
        return out;
    }
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        if !is_key_param(&k) {
            out.append_pair(&k, &v);
        }
    }
    if let Some(key) = key {
        out.append_pair("api_key", key);
    }
    out.finish()
}

/// Whether the form serializer writes `b` as itself.
fn unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

/// [`unreserved`] as a table: ASCII letters and digits, `*-._`.
static UNRESERVED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'*' | b'-' | b'.' | b'_');
        b += 1;
    }
    t
};

fn hex_upper(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether decoding `s` and encoding it again gives `s` back: only
/// unreserved bytes, `+` (a space) and `%XX` escapes with upper-case hex of
/// an ASCII byte the serializer escapes (not unreserved, not a space).
fn canonical(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b if unreserved(b) || b == b'+' => i += 1,
            b'%' => {
                let (Some(hi), Some(lo)) = (
                    s.get(i + 1).copied().and_then(hex_upper),
                    s.get(i + 2).copied().and_then(hex_upper),
                ) else {
                    return false;
                };
                let b = hi * 16 + lo;
                if b >= 0x80 || b == b' ' || unreserved(b) {
                    return false;
                }
                i += 3;
            }
            _ => return false,
        }
    }
    true
}

/// Whether a canonical name decodes to a spelling of `api_key`.
fn canonical_is_key(name: &[u8]) -> bool {
    if !name.iter().any(|&b| b == b'%' || b == b'+') {
        return name.eq_ignore_ascii_case(b"api_key");
    }
    let mut decoded = String::with_capacity(name.len());
    let mut i = 0;
    while i < name.len() {
        match name[i] {
            b'+' => {
                decoded.push(' ');
                i += 1;
            }
            b'%' => {
                let hi = name.get(i + 1).copied().and_then(hex_upper).unwrap_or(0);
                let lo = name.get(i + 2).copied().and_then(hex_upper).unwrap_or(0);
                decoded.push(char::from(hi * 16 + lo));
                i += 3;
            }
            b => {
                decoded.push(char::from(b));
                i += 1;
            }
        }
    }
    is_key_param(&decoded)
}

/// [`rewrite_query`] without decoding and re-encoding, when that would give
/// every pair back unchanged (the common case: a query a browser or the SDK
/// built); `None` otherwise.
fn rewrite_canonical(raw: &str, key: Option<&str>) -> Option<String> {
    let extra = key.map_or(0, |k| k.len() * 3 + 9);
    let mut out = String::with_capacity(raw.len() + extra);
    let bytes = raw.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'&')
            .map_or(bytes.len(), |i| start + i);
        // The parser skips empty pairs; so does the serializer's output.
        if end > start {
            let pair = &bytes[start..end];
            let eq = pair.iter().position(|&b| b == b'=')?;
            let (name, value) = (&pair[..eq], &pair[eq + 1..]);
            if !canonical(name) || !canonical(value) {
                return None;
            }
            if !canonical_is_key(name) {
                if !out.is_empty() {
                    out.push('&');
                }
                out.push_str(&raw[start..end]);
            }
        }
        start = end + 1;
    }
    if let Some(key) = key {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str("api_key=");
        if key.bytes().all(unreserved) {
            out.push_str(key);
        } else {
            out.extend(url::form_urlencoded::byte_serialize(key.as_bytes()));
        }
    }
    Some(out)
}

/// Parse a JSON object body (empty = `{}`), drop every top-level `api_key`
/// spelling, insert `key` if given and re-serialize.
pub fn rewrite_body(bytes: &[u8], key: Option<&str>) -> Result<Bytes, ProxyError> {
    let mut map = parse_object(bytes)?;
    map.retain(|k, _| !is_key_param(k));
    if let Some(key) = key {
        map.insert("api_key".to_owned(), Value::String(key.to_owned()));
    }
    serde_json::to_vec(&Value::Object(map))
        .map(Bytes::from)
        .map_err(|_| ProxyError::bad_request("Malformed JSON body"))
}

/// The body as a JSON object (empty or whitespace = `{}`).
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ProxyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ProxyError::bad_request(
            "Request body must be a JSON object",
        )),
        Err(_) => Err(ProxyError::bad_request("Malformed JSON body")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "af_0123456789abcdef0123456789abcdef";

    #[test]
    fn query_key_is_replaced() {
        assert_eq!(
            rewrite_query(
                Some("email=a%40b.co&api_key=af_evil&API_KEY=x&%20api_key=y"),
                Some(KEY)
            ),
            format!("email=a%40b.co&api_key={KEY}")
        );
        assert_eq!(rewrite_query(Some("api_key=af_evil"), None), "");
        assert_eq!(rewrite_query(None, None), "");
        assert_eq!(rewrite_query(Some("api%5Fkey=z&a=1"), None), "a=1");
    }

    /// The decode/re-encode path, for comparison.
    fn slow(raw: Option<&str>, key: Option<&str>) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !is_key_param(&k) {
                out.append_pair(&k, &v);
            }
        }
        if let Some(key) = key {
            out.append_pair("api_key", key);
        }
        out.finish()
    }

    #[test]
    fn fast_path_gives_what_decoding_and_encoding_gives() {
        let queries = [
            "",
            "&",
            "a=1",
            "identity=bench%40example.com&role=detective",
            "a=1&&b=2&",
            "a=",
            "=v",
            "a",
            "a=b=c",
            "a=%20",
            "a=+b+",
            "a=%2B&b=%2b",
            "a=%41",
            "a=%7E&b=~",
            "a=%C3%A9&b=%FF",
            "a=1;api_key=evil",
            "api_key=x&a=1",
            "API_KEY=x&Api_Key=y",
            "+api_key+=x",
            "%20api_key=x",
            "%09api_key=x",
            "api%5Fkey=x",
            "api%5fkey=x",
            "%61pi_key=x",
            "api_key%3D=x",
            "a=%2",
            "a=%",
            "a=%ZZ",
            "a=%0A&b=%00",
            "x=1&api_keys=2&my_api_key=3",
            "a*-._=b*-._",
            "sessionToken=t&keepSignedIn=true",
        ];
        for q in queries {
            for key in [None, Some(KEY), Some("k y&=%é")] {
                assert_eq!(
                    rewrite_query(Some(q), key),
                    slow(Some(q), key),
                    "{q:?} {key:?}"
                );
            }
        }
        assert_eq!(rewrite_query(None, Some(KEY)), slow(None, Some(KEY)));
        // The common query takes the fast path; odd spellings do not.
        assert!(rewrite_canonical("identity=bench%40example.com&role=detective", None).is_some());
        assert!(rewrite_canonical("api%5Fkey=x", None).is_none());
        assert!(rewrite_canonical("a=1;b", None).is_none());
        assert!(rewrite_canonical("a=%20", None).is_none());
        assert_eq!(
            rewrite_canonical("+api_key+=x&%09API_KEY=y&a=1", None).as_deref(),
            Some("a=1")
        );
    }

    #[test]
    fn body_key_is_replaced() {
        let out = rewrite_body(
            br#"{"email":"a@b.co","api_key":"af_evil","Api_Key":1}"#,
            Some(KEY),
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, serde_json::json!({"email": "a@b.co", "api_key": KEY}));
        let out = rewrite_body(br#"{"api_key":"a","api_key":"b","x":1}"#, None).unwrap();
        assert_eq!(&out[..], br#"{"x":1}"#);
        assert_eq!(&rewrite_body(b"  ", None).unwrap()[..], b"{}");
        assert!(rewrite_body(b"[1]", None).is_err());
        assert!(rewrite_body(b"{nope", None).is_err());
    }
}
