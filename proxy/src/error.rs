//! The proxy's own errors, rendered as the error envelope:
//!
//! ```json
//! {"error": {"code": "not_found", "message": "…", "details": {"requestId": "req_…"}},
//!  "requestId": "req_…", "timestamp": "2026-01-01T00:00:00.000Z", "path": "/auth/x",
//!  "retryable": false}
//! ```
//!
//! Messages are fixed strings: no upstream URL, query string or key ever
//! appears in one.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

/// One proxy error: status, stable code and fixed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`not_found`, `dependency_failed`, …).
    pub code: &'static str,
    /// Human-readable message (never contains request data).
    pub message: &'static str,
    /// Whether the client may retry.
    pub retryable: bool,
    /// `Retry-After` seconds, if any.
    pub retry_after: Option<u64>,
    /// `Allow` header value for 405.
    pub allow: Option<&'static str>,
}

impl ProxyError {
    const fn new(status: StatusCode, code: &'static str, message: &'static str) -> Self {
        Self {
            status,
            code,
            message,
            retryable: false,
            retry_after: None,
            allow: None,
        }
    }
    /// 404: the path is not an AuthFlow route.
    pub const fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "No such route")
    }
    /// 405: the path is a route, with another method.
    pub const fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed on this route",
        );
        e.allow = Some(allow);
        e
    }
    /// 400 with a fixed message.
    pub const fn bad_request(message: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    /// 403 with a fixed message.
    pub const fn forbidden(message: &'static str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// 413: the body is over the limit.
    pub const fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Request body too large",
        )
    }
    /// 431: the headers are over the limit.
    pub const fn headers_too_large() -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_fields_too_large",
            "Request headers too large",
        )
    }
    /// 429 with `Retry-After`.
    pub const fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
        );
        e.retryable = true;
        e.retry_after = Some(retry_after);
        e
    }
    /// 502: the upstream failed (reset, malformed answer, refused redirect).
    pub const fn dependency_failed() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "dependency_failed",
            "The upstream service failed",
        )
    }
    /// 503: the upstream cannot be reached.
    pub const fn dependency_unavailable() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dependency_unavailable",
            "The upstream service is unavailable",
        );
        e.retryable = true;
        e
    }
    /// 504: the upstream did not answer in time.
    pub const fn dependency_timeout() -> Self {
        let mut e = Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "dependency_timeout",
            "The upstream service timed out",
        );
        e.retryable = true;
        e
    }

    /// 503 `dependency_timeout`: the upstream's circuit breaker is open, so
    /// the upstream was not called.
    pub const fn circuit_open() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dependency_timeout",
            "The upstream circuit is open. Retry shortly.",
        );
        e.retryable = true;
        e
    }
    /// 503 `dependency_unavailable`: the circuit breaker's store could not be
    /// read or written (the breaker fails closed).
    pub const fn breaker_unavailable() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dependency_unavailable",
            "The upstream circuit breaker is unavailable",
        );
        e.retryable = true;
        e
    }

    /// Render the envelope for a request. `path` is the request path, already
    /// scrubbed of secrets by the caller; it is cut at 256 bytes.
    pub fn render(&self, request_id: &str, path: &str) -> Response<Body> {
        let mut cut = path.len().min(256);
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": {"requestId": request_id},
            },
            "requestId": request_id,
            "timestamp": rfc3339_now(),
            "path": &path[..cut],
            "retryable": self.retryable,
        });
        let mut res = Response::new(Body::from(body.to_string()));
        *res.status_mut() = self.status;
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-request-id", v);
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(a) = self.allow {
            h.insert(header::ALLOW, HeaderValue::from_static(a));
        }
        res
    }
}

/// Now as RFC 3339 UTC with milliseconds.
pub(crate) fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_millis() as i64)
}

fn rfc3339(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_709_251_199_123), "2024-02-29T23:59:59.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[tokio::test]
    async fn envelope_shape() {
        let res = ProxyError::not_found().render("req_1", "/auth/nope");
        assert_eq!(res.status(), 404);
        let bytes = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["error"]["code"], "not_found");
        assert_eq!(v["error"]["details"]["requestId"], "req_1");
        assert_eq!(v["requestId"], "req_1");
        assert_eq!(v["path"], "/auth/nope");
        assert_eq!(v["retryable"], false);
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
