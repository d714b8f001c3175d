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
