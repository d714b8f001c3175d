//! The one error type of the SDK.
//!
//! Every variant is classified where it is created, names the route, and
//! carries no secret and no URL query string in its `Display` or `Debug`.

use std::fmt;
use std::time::Duration;

/// Result alias for the SDK.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when calling an API.
///
/// ```
/// use authflow::{Error, ErrorCode};
///
/// fn describe(e: &Error) -> &'static str {
///     if e.is_unauthorized() {
///         "sign in again"
///     } else if e.is_conflict() {
///         "already exists"
///     } else {
///         "try later"
///     }
/// }
/// let e = Error::invalid_input("email", "is not an email address");
/// assert_eq!(describe(&e), "try later");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with a documented error.
    #[error(
        "{route}: HTTP {status} {code}: {message}{}",
        fmt_request_id(request_id)
    )]
    Api {
        /// The route that failed.
        route: &'static str,
        /// HTTP status.
        status: u16,
        /// The error code: the envelope's `error.code`, or derived from the status
        /// for APIs that answer `{message}` only.
        code: ErrorCode,
        /// The server's message, secrets scrubbed.
        message: String,
        /// The request id (`X-Request-Id` header or envelope `requestId`).
        request_id: Option<String>,
        /// Whether repeating the call may succeed.
        retryable: bool,
        /// `Retry-After` as the server sent it, if it did.
        retry_after: Option<Duration>,
    },
    /// An input was rejected before any request was made.
    #[error("invalid input `{field}`: {reason}")]
    InvalidInput {
        /// The parameter at fault.
        field: &'static str,
        /// Why (never the value itself).
        reason: String,
    },
    /// The request could not be sent or its response could not be read.
    #[error("{route}: transport error ({kind}): {message}")]
    Transport {
        /// The route that failed.
        route: &'static str,
        /// What kind of failure.
        kind: TransportKind,
        /// Description with the URL removed.
        message: String,
    },
    /// The attempt did not finish in time.
    #[error("{route}: timed out after {after:?}")]
    Timeout {
        /// The route that failed.
        route: &'static str,
        /// The per-attempt timeout that elapsed.
        after: Duration,
    },
    /// A success response did not decode into the documented type.
    #[error(
        "{route}: could not decode the HTTP {status} response: {message}{}",
        fmt_request_id(request_id)
    )]
    Decode {
        /// The route.
        route: &'static str,
        /// HTTP status of the response.
        status: u16,
        /// serde's message, quoted values removed.
        message: String,
        /// The request id, if the response carried one.
        request_id: Option<String>,
    },
    /// A circuit breaker is open for the dependency; no call was made.
    #[error("{route}: circuit open, call not attempted")]
    CircuitOpen {
        /// The route or dependency key.
        route: &'static str,
    },
    /// The client was configured wrongly.
    #[error("configuration error: {0}")]
    Config(String),
}

fn fmt_request_id(id: &Option<String>) -> String {
    id.as_ref()
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default()
}

/// What kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be made: the request was never sent.
    Connect,
    /// The request may have been sent, but no complete response arrived.
    Request,
    /// The response body could not be read.
    Body,
    /// Anything else (e.g. a redirect loop).
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connect",
            TransportKind::Request => "request",
            TransportKind::Body => "body",
            TransportKind::Other => "other",
        })
    }
}

/// A documented error code. Non-exhaustive: codes added by the API later are
/// kept as [`ErrorCode::Other`] with the raw string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400 (AuthFlow: missing fields, password rule).
    BadRequest,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 413.
    PayloadTooLarge,
    /// 429.
    RateLimited,
    /// 500 and other 5xx without a code.
    ServerError,
    /// Any other code, verbatim.
    Other(String),
}

impl ErrorCode {
    /// Derive a code from an HTTP status, for APIs that answer `{message}` only.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 => ErrorCode::BadRequest,
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            429 => ErrorCode::RateLimited,
            500..=599 => ErrorCode::ServerError,
            other => ErrorCode::Other(format!("http_{other}")),
        }
    }

    /// Parse a wire code (`unauthorized`, `forbidden`, …).
    pub fn from_wire(code: &str) -> Self {
        match code {
            "bad_request" => ErrorCode::BadRequest,
            "unauthorized" => ErrorCode::Unauthorized,
            "forbidden" => ErrorCode::Forbidden,
            "not_found" => ErrorCode::NotFound,
            "conflict" => ErrorCode::Conflict,
            "payload_too_large" => ErrorCode::PayloadTooLarge,
            "rate_limited" => ErrorCode::RateLimited,
            "server_error" => ErrorCode::ServerError,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// The raw wire string of this code.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ServerError => "server_error",
            ErrorCode::Other(s) => s,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// An [`Error::InvalidInput`] for `field`.
    pub fn invalid_input(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    /// The HTTP status, for API and decode errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error code, for API errors.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The request id the server gave, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } | Error::Decode { request_id, .. } => {
                request_id.as_deref()
            }
            _ => None,
        }
    }

    /// Whether repeating the call may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { retryable, .. } => *retryable,
            Error::Transport { kind, .. } => *kind == TransportKind::Connect,
            Error::Timeout { .. } | Error::CircuitOpen { .. } => true,
            _ => false,
        }
    }

    fn has_status(&self, s: u16) -> bool {
        matches!(self, Error::Api { status, .. } if *status == s)
    }

    /// HTTP 400 from the API.
    pub fn is_bad_request(&self) -> bool {
        self.has_status(400)
    }
    /// HTTP 401 from the API.
    pub fn is_unauthorized(&self) -> bool {
        self.has_status(401)
    }
    /// HTTP 403 from the API.
    pub fn is_forbidden(&self) -> bool {
        self.has_status(403)
    }
    /// HTTP 404 from the API.
    pub fn is_not_found(&self) -> bool {
        self.has_status(404)
    }
    /// HTTP 409 from the API.
    pub fn is_conflict(&self) -> bool {
        self.has_status(409)
    }
    /// HTTP 429 from the API.
    pub fn is_rate_limited(&self) -> bool {
        self.has_status(429)
    }
    /// A 5xx from the API.
    pub fn is_server_error(&self) -> bool {
        matches!(self, Error::Api { status, .. } if *status >= 500)
    }
    /// Rejected before sending.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Error::InvalidInput { .. })
    }
    /// A transport failure.
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. })
    }
    /// A timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
    /// A decode failure.
    pub fn is_decode(&self) -> bool {
        matches!(self, Error::Decode { .. })
    }
    /// A circuit breaker refused the call.
    pub fn is_circuit_open(&self) -> bool {
        matches!(self, Error::CircuitOpen { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in [400, 401, 403, 404, 409, 413, 429, 500] {
            let c = ErrorCode::from_status(s);
            assert_eq!(ErrorCode::from_wire(c.as_str()), c);
        }
        assert_eq!(
            ErrorCode::from_wire("scope_mismatch").as_str(),
            "scope_mismatch"
        );
    }

    #[test]
    fn display_names_route_and_request_id() {
        let e = Error::Api {
            route: "login",
            status: 401,
            code: ErrorCode::Unauthorized,
            message: "Incorrect password".into(),
            request_id: Some("req_1".into()),
            retryable: false,
            retry_after: None,
        };
        assert_eq!(
            e.to_string(),
            "login: HTTP 401 unauthorized: Incorrect password (request id req_1)"
        );
        assert!(e.is_unauthorized() && !e.is_conflict() && !e.is_retryable());
    }
}
