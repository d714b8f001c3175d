//! HTTP hygiene: hop-by-hop headers, `X-Forwarded-*`, framing checks.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Version, header};

use crate::error::ProxyError;

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy `Proxy-Connection`
/// and `Keep-Alive`): never forwarded in either direction.
pub const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// [`HOP_BY_HOP`] as header names, made once (no parsing per request).
static HOP_BY_HOP_NAMES: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Request headers the proxy sets itself or never forwards to AuthFlow.
static NOT_FORWARDED_NAMES: [HeaderName; 12] = [
    header::HOST,
    header::CONTENT_LENGTH,
    header::CONTENT_TYPE,
    header::COOKIE,
    header::ACCEPT_ENCODING,
    header::EXPECT,
    header::FORWARDED,
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-real-ip"),
    HeaderName::from_static("x-request-id"),
];

fn is_hop_by_hop(name: &HeaderName) -> bool {
    // Lengths of the hop-by-hop names: most headers are ruled out by theirs.
    matches!(name.as_str().len(), 2 | 7 | 10 | 16..=19)
        && HOP_BY_HOP_NAMES.iter().any(|n| n == name)
}

fn is_not_forwarded(name: &HeaderName) -> bool {
    matches!(name.as_str().len(), 4 | 6 | 9 | 12 | 14..=17)
        && NOT_FORWARDED_NAMES.iter().any(|n| n == name)
}

/// The header names listed in `Connection` (usually none: no allocation).
fn connection_named(h: &HeaderMap) -> Vec<HeaderName> {
    h.get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        // Hop-by-hop names (`keep-alive`, the usual token) are removed
        // anyway: not parsed.
        .filter(|n| !HOP_BY_HOP.iter().any(|h| n.eq_ignore_ascii_case(h)))
        .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
        .collect()
}

/// Remove hop-by-hop headers and every header named in `Connection`.
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named = connection_named(h);
    for n in named {
        h.remove(n);
    }
    // One pass over what is there rather than a hash lookup per name.
    let mut present = [false; HOP_BY_HOP_NAMES.len()];
    for name in h.keys() {
        if is_hop_by_hop(name)
            && let Some(i) = HOP_BY_HOP_NAMES.iter().position(|n| n == name)
        {
            present[i] = true;
        }
    }
    for (n, here) in HOP_BY_HOP_NAMES.iter().zip(present) {
        if here {
            h.remove(n);
        }
    }
}

/// Reject ambiguous framing (request smuggling) and oversized headers.
///
/// - any `Transfer-Encoding` on HTTP/1.x: AuthFlow bodies are small JSON
///   documents and every browser sends them with a `Content-Length`, so
///   chunked requests are refused outright. This is also what catches
///   `Transfer-Encoding` + `Content-Length` together: hyper drops the
///   `Content-Length` of such a request (RFC 9112 §6.3) before a service
///   sees it, but keeps the `Transfer-Encoding`;
/// - more than one `Content-Length` (hyper itself refuses differing values
///   and folds identical ones, which RFC 9110 §8.6 allows);
/// - headers whose total size is over `limit` (431).
pub fn check_request_headers(
    h: &HeaderMap,
    version: Version,
    limit: usize,
) -> Result<(), ProxyError> {
    if h.get_all(header::CONTENT_LENGTH).iter().count() > 1 {
        return Err(ProxyError::bad_request("Duplicate Content-Length"));
    }
    if h.contains_key(header::TRANSFER_ENCODING) && version < Version::HTTP_2 {
        return Err(ProxyError::bad_request(
            "Transfer-Encoding is not accepted: send the body with a Content-Length",
        ));
    }
    let size: usize = h.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum();
    if size > limit {
        return Err(ProxyError::headers_too_large());
    }
    Ok(())
}

/// The end-to-end request headers to send upstream: the client's minus
/// hop-by-hop ones and those the proxy owns.
pub fn upstream_request_headers(incoming: &HeaderMap) -> HeaderMap {
    let named = connection_named(incoming);
    let mut h = HeaderMap::with_capacity(incoming.len() + 6);
    for (name, value) in incoming {
        if is_hop_by_hop(name) || is_not_forwarded(name) || named.contains(name) {
            continue;
        }
        h.append(name.clone(), value.clone());
    }
    h.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    h
}

/// The client address: the peer, or — when the peer is a trusted proxy — the
/// last `X-Forwarded-For` entry it appended.
pub fn client_ip(incoming: &HeaderMap, peer: Option<IpAddr>, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    incoming
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .next_back()
        .or(Some(peer))
}

/// An IP address as a header value, formatted without a heap string.
///
/// The last address seen by this thread is kept with its value: behind a
/// load balancer, or on a keep-alive connection, the next request usually
/// comes from it again.
pub(crate) fn ip_header_value(ip: IpAddr) -> Option<HeaderValue> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(IpAddr, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.try_borrow_mut().ok()?;
        if let Some((seen, v)) = last.as_ref()
            && *seen == ip
        {
            return Some(v.clone());
        }
        let v = format_ip(ip)?;
        *last = Some((ip, v.clone()));
        Some(v)
    })
}

fn format_ip(ip: IpAddr) -> Option<HeaderValue> {
    use std::io::Write as _;
    let mut buf = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    write!(cursor, "{ip}").ok()?;
    let n = usize::try_from(cursor.position()).ok()?;
    HeaderValue::from_bytes(&buf[..n]).ok()
}

/// Set `X-Forwarded-For`/`-Proto`/`-Host` on `out`: client-sent values are
/// kept (and the peer appended) only when the peer is trusted, else replaced.
pub fn set_forwarded(
    out: &mut HeaderMap,
    incoming: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: &[IpAddr],
    proto: &str,
) {
    let proto = HeaderValue::from_str(proto).ok();
    set_forwarded_with(out, incoming, peer, trusted, proto.as_ref());
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// [`set_forwarded`] with the proto as a ready header value.
pub(crate) fn set_forwarded_with(
    out: &mut HeaderMap,
    incoming: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: &[IpAddr],
    proto: Option<&HeaderValue>,
) {
    let trusted_peer = peer.is_some_and(|p| trusted.contains(&p));
    if !trusted_peer {
        // The common case: the client's values are replaced, no joining.
        if let Some(v) = peer.and_then(ip_header_value) {
            out.insert(X_FORWARDED_FOR, v);
        }
        if let Some(proto) = proto {
            out.insert(X_FORWARDED_PROTO, proto.clone());
        }
        if let Some(host) = incoming.get(header::HOST)
            && host.to_str().is_ok()
        {
            out.insert(X_FORWARDED_HOST, host.clone());
        }
        return;
    }
    let joined = |name: &HeaderName| -> Option<String> {
        let vals: Vec<&str> = incoming
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!vals.is_empty()).then(|| vals.join(", "))
    };
    let xff = match (peer, joined(&X_FORWARDED_FOR)) {
        (Some(p), Some(prev)) => Some(format!("{prev}, {p}")),
        (Some(p), None) => Some(p.to_string()),
        _ => None,
    };
    if let Some(v) = xff.and_then(|v| HeaderValue::from_str(&v).ok()) {
        out.insert(X_FORWARDED_FOR, v);
    }
    let proto = match joined(&X_FORWARDED_PROTO) {
        Some(v) => HeaderValue::from_str(&v).ok(),
        None => proto.cloned(),
    };
    if let Some(v) = proto {
        out.insert(X_FORWARDED_PROTO, v);
    }
    let host = joined(&X_FORWARDED_HOST).or_else(|| {
        incoming
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    if let Some(v) = host.and_then(|v| HeaderValue::from_str(&v).ok()) {
        out.insert(X_FORWARDED_HOST, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn hop_by_hop_and_connection_named_are_stripped() {
        let h = upstream_request_headers(&map(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("cookie", "a=b"),
            ("authorization", "Bearer t"),
            ("user-agent", "ua"),
        ]));
        let names: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(h.contains_key("authorization") && h.contains_key("user-agent"));
        assert_eq!(h["accept-encoding"], "identity");
    }

    #[test]
    fn name_lists_match_their_length_filters() {
        for n in &HOP_BY_HOP_NAMES {
            assert!(is_hop_by_hop(n), "{n}");
        }
        for n in &NOT_FORWARDED_NAMES {
            assert!(is_not_forwarded(n), "{n}");
        }
        for n in ["user-agent", "authorization", "accept", "x-forwarded"] {
            let n = HeaderName::from_static(n);
            assert!(!is_hop_by_hop(&n) && !is_not_forwarded(&n), "{n}");
        }
    }

    #[test]
    fn forwarded_replaced_unless_trusted() {
        let inc = map(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil"),
            ("host", "proxy.local"),
        ]);
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let mut out = HeaderMap::new();
        set_forwarded(&mut out, &inc, Some(peer), &[], "http");
        assert_eq!(out["x-forwarded-for"], "10.0.0.1");
        assert_eq!(out["x-forwarded-proto"], "http");
        assert_eq!(out["x-forwarded-host"], "proxy.local");
        assert_eq!(client_ip(&inc, Some(peer), &[]), Some(peer));

        let mut out = HeaderMap::new();
        set_forwarded(&mut out, &inc, Some(peer), &[peer], "http");
        assert_eq!(out["x-forwarded-for"], "6.6.6.6, 10.0.0.1");
        assert_eq!(out["x-forwarded-proto"], "https");
        assert_eq!(out["x-forwarded-host"], "evil");
        assert_eq!(client_ip(&inc, Some(peer), &[peer]), "6.6.6.6".parse().ok());
    }

    #[test]
    fn framing_checks() {
        let v = Version::HTTP_11;
        let check = |pairs: &[(&str, &str)], limit| check_request_headers(&map(pairs), v, limit);
        assert!(
            check(
                &[("content-length", "1"), ("transfer-encoding", "chunked")],
                9999
            )
            .is_err()
        );
        assert!(check(&[("transfer-encoding", "chunked")], 9999).is_err());
        assert!(check(&[("content-length", "1"), ("content-length", "1")], 9999).is_err());
        assert!(check(&[("x", &"a".repeat(2000))], 1024).is_err());
        assert!(check(&[("content-length", "1")], 9999).is_ok());
        let h2 = check_request_headers(
            &map(&[("transfer-encoding", "trailers")]),
            Version::HTTP_2,
            9999,
        );
        assert!(h2.is_ok());
    }
}
