//! Backend-for-frontend session cookie mode (off by default).
//!
//! - The session token returned by signUp, login, 2fa/verify-2fa,
//!   2fa/verify-email-otp and 2fa/verify-recovery is moved out of the JSON
//!   into an `HttpOnly; Secure; SameSite=Strict` cookie.
//! - Later requests get `sessionToken` (query or body, where the route takes
//!   it and the browser did not send one) or `Authorization: Bearer`
//!   (deleteUser) from that cookie.
//! - logout clears the cookie.
//! - CSRF: every state-changing route (the table's `mutates`) needs an
//!   `Origin` from the allow-list; verify-email is exempt (it is the target of
//!   an emailed link, carries its own single-use token and needs no session).
//!   An `Origin` outside the list is refused on every route.

use authflow::api::routes::Route;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::config::CookieMode;
use crate::error::ProxyError;
use crate::inject::parse_object;

/// Routes whose successful response carries the session token.
const ISSUES_SESSION: [&str; 5] = [
    "signUp",
    "login",
    "2fa/verify-2fa",
    "2fa/verify-email-otp",
    "2fa/verify-recovery",
];

/// The session from the request's cookie.
pub(crate) type Session = SecretString;

/// CSRF check and cookie read, before forwarding.
pub(crate) fn before(
    mode: &CookieMode,
    route: &Route,
    headers: &HeaderMap,
) -> Result<Option<Session>, ProxyError> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match origin {
        Some(o) if !mode.allowed_origins.iter().any(|a| a == o) => {
            return Err(ProxyError::forbidden("Origin not allowed"));
        }
        None if route.mutates && route.name != "verify-email" => {
            return Err(ProxyError::forbidden(
                "A matching Origin header is required",
            ));
        }
        _ => {}
    }
    Ok(read_cookie(headers, &mode.name).map(SecretString::from))
}

fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn takes_session(route: &Route) -> bool {
    route.fields.iter().any(|f| f.name == "sessionToken")
}

/// Add `sessionToken` to a query the browser sent without one.
pub(crate) fn inject_query(route: &Route, query: &str, s: &Session) -> String {
    if !takes_session(route)
        || url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "sessionToken")
    {
        return query.to_owned();
    }
    let mut out = url::form_urlencoded::Serializer::new(query.to_owned());
    out.append_pair("sessionToken", s.expose_secret());
    out.finish()
}

/// Add `sessionToken` to a JSON body sent without one.
pub(crate) fn inject_body(route: &Route, body: &[u8], s: &Session) -> Result<Bytes, ProxyError> {
    if !takes_session(route) {
        return Ok(Bytes::copy_from_slice(body));
    }
    let mut map = parse_object(body)?;
    if !map.contains_key("sessionToken") {
        map.insert(
            "sessionToken".to_owned(),
            Value::String(s.expose_secret().to_owned()),
        );
    }
    serde_json::to_vec(&Value::Object(map))
        .map(Bytes::from)
        .map_err(|_| ProxyError::bad_request("Malformed JSON body"))
}

/// `Authorization: Bearer` from the cookie on deleteUser, if none was sent.
pub(crate) fn inject_headers(route: &Route, headers: &mut HeaderMap, s: &Session) {
    if route.name == "deleteUser"
        && !headers.contains_key(header::AUTHORIZATION)
        && let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", s.expose_secret()))
    {
        v.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, v);
    }
}

fn set_cookie(mode: &CookieMode, value: &str, max_age: u64) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}",
        mode.name
    ))
    .ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// Move a new session token into the cookie; clear it on logout.
pub(crate) fn after(
    mode: &CookieMode,
    route: &Route,
    status: StatusCode,
    headers: &mut HeaderMap,
    body: Bytes,
    _request_headers: &HeaderMap,
) -> Bytes {
    if !status.is_success() {
        return body;
    }
    if route.name == "logout" {
        if let Some(v) = set_cookie(mode, "", 0) {
            headers.append(header::SET_COOKIE, v);
        }
        return body;
    }
    if !ISSUES_SESSION.contains(&route.name) {
        return body;
    }
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let Some(Value::String(token)) = map.remove("token") else {
        return body;
    };
    match (
        set_cookie(mode, &token, mode.max_age_secs),
        serde_json::to_vec(&Value::Object(map)),
    ) {
        (Some(cookie), Ok(json)) => {
            headers.append(header::SET_COOKIE, cookie);
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Bytes::from(json)
        }
        _ => body,
    }
}

#[cfg(test)]
mod tests {
    use authflow::api::routes;

    use super::*;

    fn mode() -> CookieMode {
        CookieMode::new(vec!["https://app.example".into()])
    }

    #[test]
    fn csrf_rules() {
        let login = routes::find("login").unwrap();
        let me = routes::find("me").unwrap();
        let verify = routes::find("verify-email").unwrap();
        let mut h = HeaderMap::new();
        assert!(before(&mode(), login, &h).is_err());
        assert!(before(&mode(), me, &h).is_ok());
        assert!(before(&mode(), verify, &h).is_ok());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(before(&mode(), me, &h).is_err());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://app.example"),
        );
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; authflow_session=tok"),
        );
        let s = before(&mode(), login, &h).unwrap().unwrap();
        assert_eq!(s.expose_secret(), "tok");
    }

    #[test]
    fn token_moves_into_cookie() {
        let login = routes::find("login").unwrap();
        let mut h = HeaderMap::new();
        let out = after(
            &mode(),
            login,
            StatusCode::OK,
            &mut h,
            Bytes::from_static(br#"{"token":"jwt","x":1}"#),
            &HeaderMap::new(),
        );
        assert_eq!(&out[..], br#"{"x":1}"#);
        let c = h[header::SET_COOKIE].to_str().unwrap();
        assert!(
            c.starts_with("authflow_session=jwt;")
                && c.contains("HttpOnly; Secure; SameSite=Strict")
        );
        let me = routes::find("me").unwrap();
        assert_eq!(
            inject_query(me, "", &SecretString::from("jwt")),
            "sessionToken=jwt"
        );
        assert_eq!(
            inject_query(me, "sessionToken=a", &SecretString::from("jwt")),
            "sessionToken=a"
        );
    }
}
