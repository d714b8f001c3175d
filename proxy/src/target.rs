//! Request-target checks: only origin-form paths that are byte-for-byte a
//! route of the table are forwarded.
//!
//! Rejected with 400 before any lookup: absolute-form targets on HTTP/1
//! (`GET http://evil.example/auth/login`), `//host` paths, dot segments,
//! any percent-encoded byte in the path (`%2e`, `%2f`, `%5c`, `%00`, double
//! encoding…: no AuthFlow path has one), backslashes, NUL and other control
//! bytes. Paths that pass but are not in the table get 404; a table path with
//! the wrong method gets 405.

use authflow::api::routes::{self, Api, Method, Route};
use axum::http::{Method as HttpMethod, Uri, Version};

use crate::error::ProxyError;

/// Check the target and find its AuthFlow route.
pub fn resolve(
    method: &HttpMethod,
    uri: &Uri,
    version: Version,
) -> Result<&'static Route, ProxyError> {
    resolve_with(method, uri, version, false)
}

/// [`resolve`], and with `aidenid` also the AIdenID agent and consumer
/// routes (`/v1/…`, [`Api::AidenId`] and [`Api::Consumer`]): their `{id}`
/// segments match one non-empty segment of letters, digits, `_` and `-`.
pub fn resolve_with(
    method: &HttpMethod,
    uri: &Uri,
    version: Version,
    aidenid: bool,
) -> Result<&'static Route, ProxyError> {
    // HTTP/2 always carries :authority; HTTP/1 origin-form never does.
    if version < Version::HTTP_2 && (uri.authority().is_some() || uri.scheme().is_some()) {
        return Err(ProxyError::bad_request(
            "Absolute-form request targets are not accepted",
        ));
    }
    let path = uri.path();
    check_path(path)?;
    if aidenid && path.starts_with("/v1/") {
        let v1 = || {
            routes::routes_of(Api::AidenId)
                .chain(routes::routes_of(Api::Consumer))
                .filter(|r| template_matches(r.path, path))
        };
        if let Some(m) = to_route_method(method)
            && let Some(route) = v1().find(|r| r.method == m)
        {
            return Ok(route);
        }
        return match v1().next() {
            Some(r) => Err(ProxyError::method_not_allowed(r.method.as_str())),
            None => Err(ProxyError::not_found()),
        };
    }
    // AuthFlow paths are literal (no `{param}` segments; a unit test pins
    // it), so a route matches only the exact bytes of its path, and only
    // AuthFlow routes are ever considered, whatever else the table holds.
    if let Some(m) = to_route_method(method)
        && let Some(route) =
            routes::routes_of(Api::AuthFlow).find(|r| r.method == m && r.path == path)
    {
        return Ok(route);
    }
    match routes::routes_of(Api::AuthFlow).find(|r| r.path == path) {
        Some(r) => Err(ProxyError::method_not_allowed(r.method.as_str())),
        None => Err(ProxyError::not_found()),
    }
}

/// Whether `path` is an instance of `template`: literal segments equal,
/// `{param}` segments one non-empty run of `[A-Za-z0-9_-]`.
fn template_matches(template: &str, path: &str) -> bool {
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(ps)) => {
                let ok = if ts.starts_with('{') && ts.ends_with('}') {
                    !ps.is_empty()
                        && ps
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                } else {
                    ts == ps
                };
                if !ok {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Whether a path is acceptable at all (before the table lookup).
pub fn check_path(path: &str) -> Result<(), ProxyError> {
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(ProxyError::bad_request("Malformed request path"));
    }
    if path
        .bytes()
        .any(|b| b == b'%' || b == b'\\' || b < 0x20 || b == 0x7f)
    {
        return Err(ProxyError::bad_request(
            "Encoded or control characters are not allowed in the path",
        ));
    }
    if path.split('/').any(|s| s == "." || s == "..") {
        return Err(ProxyError::bad_request(
            "Dot segments are not allowed in the path",
        ));
    }
    Ok(())
}

/// Route-table method of an HTTP method.
pub(crate) fn to_route_method(m: &HttpMethod) -> Option<Method> {
    Some(match *m {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        HttpMethod::PUT => Method::Put,
        HttpMethod::PATCH => Method::Patch,
        HttpMethod::DELETE => Method::Delete,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(method: HttpMethod, target: &str) -> Result<&'static str, u16> {
        let uri: Uri = target.parse().map_err(|_| 0u16)?;
        resolve(&method, &uri, Version::HTTP_11)
            .map(|r| r.name)
            .map_err(|e| e.status.as_u16())
    }

    #[test]
    fn every_authflow_route_resolves() {
        for route in routes::routes_of(Api::AuthFlow) {
            let m = match route.method {
                Method::Get => HttpMethod::GET,
                _ => HttpMethod::POST,
            };
            assert_eq!(r(m, route.path), Ok(route.name));
        }
        assert_eq!(r(HttpMethod::GET, "/auth/login?x=1"), Ok("login"));
    }

    #[test]
    fn rejects_tricks() {
        for t in [
            "/auth/..%2f__mock/emails",
            "/auth/%2e%2e/x",
            "/auth/%2E%2E/x",
            "/auth/../__mock/emails",
            "/auth/./login",
            "/auth/login%00",
            "/auth/%252e%252e/x",
            "/auth\\login",
            "//evil.example/auth/login",
            "http://evil.example/auth/login",
        ] {
            assert_eq!(r(HttpMethod::GET, t), Err(400), "{t}");
        }
        assert_eq!(r(HttpMethod::GET, "/__mock/emails"), Err(404));
        assert_eq!(r(HttpMethod::GET, "/auth/login/"), Err(404));
        assert_eq!(r(HttpMethod::GET, "/auth//login"), Err(404));
        assert_eq!(r(HttpMethod::GET, "/AUTH/login"), Err(404));
        assert_eq!(r(HttpMethod::POST, "/auth/login"), Err(405));
        assert_eq!(r(HttpMethod::DELETE, "/auth/2fa/enable"), Err(405));
    }

    #[test]
    fn authflow_paths_are_literal_and_agree_with_match_path() {
        for route in routes::routes_of(Api::AuthFlow) {
            assert!(!route.path.contains('{'), "{}", route.name);
            assert_eq!(routes::match_path(route.method, route.path), Some(route));
        }
        assert_eq!(routes::routes_of(Api::AuthFlow).count(), 20);
    }

    #[test]
    fn v1_routes_only_in_aidenid_mode() {
        let v = |m: HttpMethod, t: &str, on: bool| {
            let uri: Uri = t.parse().unwrap();
            resolve_with(&m, &uri, Version::HTTP_11, on)
                .map(|r| r.name)
                .map_err(|e| e.status.as_u16())
        };
        assert_eq!(v(HttpMethod::POST, "/v1/identities", false), Err(404));
        assert_eq!(
            v(HttpMethod::POST, "/v1/identities", true),
            Ok("createIdentity")
        );
        assert_eq!(
            v(HttpMethod::GET, "/v1/identities/ident_1", true),
            Ok("getIdentity")
        );
        assert_eq!(v(HttpMethod::GET, "/v1/identities/a.b", true), Err(404));
        assert_eq!(v(HttpMethod::GET, "/v1/identities/", true), Err(404));
        assert_eq!(v(HttpMethod::GET, "/v1/identities/%2e%2e", true), Err(400));
        assert_eq!(v(HttpMethod::PUT, "/v1/identities", true), Err(405));
        assert_eq!(
            v(HttpMethod::POST, "/v1/consumer/login", true),
            Ok("consumerLogin")
        );
        assert_eq!(v(HttpMethod::GET, "/v1/flows", true), Err(404));
        assert_eq!(v(HttpMethod::GET, "/auth/fooBar", true), Ok("fooBar"));
    }

    #[test]
    fn http2_authority_is_fine() {
        let uri: Uri = "http://proxy.example/auth/me".parse().unwrap();
        assert!(resolve(&HttpMethod::GET, &uri, Version::HTTP_2).is_ok());
    }
}
