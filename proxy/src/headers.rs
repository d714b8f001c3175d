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

/// Request headers the proxy sets itself or never forwards to AuthFlow.
const NOT_FORWARDED: [&str; 12] = [
    "host",
    "content-length",
    "content-type",
    "cookie",
    "accept-encoding",
    "expect",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-real-ip",
    "x-request-id",
];

/// Remove hop-by-hop headers and every header named in `Connection`.
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        h.remove(n);
    }
    for n in HOP_BY_HOP {
        h.remove(n);
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
    let mut h = incoming.clone();
    strip_hop_by_hop(&mut h);
    for n in NOT_FORWARDED {
        h.remove(n);
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

/// Set `X-Forwarded-For`/`-Proto`/`-Host` on `out`: client-sent values are
/// kept (and the peer appended) only when the peer is trusted, else replaced.
pub fn set_forwarded(
    out: &mut HeaderMap,
    incoming: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: &[IpAddr],
    proto: &str,
) {
    let trusted_peer = peer.is_some_and(|p| trusted.contains(&p));
    let joined = |name: &str| -> Option<String> {
        let vals: Vec<&str> = incoming
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!vals.is_empty()).then(|| vals.join(", "))
    };
    let xff = match (trusted_peer, peer, joined("x-forwarded-for")) {
        (true, Some(p), Some(prev)) => Some(format!("{prev}, {p}")),
        (_, Some(p), _) => Some(p.to_string()),
        _ => None,
    };
    if let Some(v) = xff.and_then(|v| HeaderValue::from_str(&v).ok()) {
        out.insert("x-forwarded-for", v);
    }
    let proto = trusted_peer
        .then(|| joined("x-forwarded-proto"))
        .flatten()
        .unwrap_or_else(|| proto.to_owned());
    if let Ok(v) = HeaderValue::from_str(&proto) {
        out.insert("x-forwarded-proto", v);
    }
    let host = trusted_peer
        .then(|| joined("x-forwarded-host"))
        .flatten()
        .or_else(|| {
            incoming
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
    if let Some(v) = host.and_then(|v| HeaderValue::from_str(&v).ok()) {
        out.insert("x-forwarded-host", v);
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
