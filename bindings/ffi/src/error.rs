//! [`AuthflowError`]: the one error of the facade.

use std::sync::Arc;

/// The stable `code` strings the facade produces besides the API's own
/// codes (`bad_request`, `unauthorized`, `forbidden`, `not_found`,
/// `conflict`, `payload_too_large`, `rate_limited`, `server_error`, or any
/// other code an API sends, verbatim).
pub mod codes {
    /// An input was rejected before any request was made.
    pub const INVALID_INPUT: &str = "invalid_input";
    /// The request could not be sent or its response could not be read.
    pub const TRANSPORT: &str = "transport";
    /// An attempt did not finish in time.
    pub const TIMEOUT: &str = "timeout";
    /// A success response did not decode into the documented type.
    pub const DECODE: &str = "decode";
    /// A circuit breaker is open; no call was made.
    pub const CIRCUIT_OPEN: &str = "circuit_open";
    /// The client was configured wrongly.
    pub const CONFIG: &str = "config";
    /// The in-process mock server could not start, or was used after
    /// `shutdown`.
    pub const MOCK: &str = "mock";
    /// An SDK error this facade does not know yet.
    pub const OTHER: &str = "other";
}

/// Everything that can go wrong, flat: a stable [`code`](Self::code), the
/// HTTP [`status`](Self::status) and [`request_id`](Self::request_id) when
/// the server answered, and a human [`detail`](Self::detail) (which names
/// the route and never contains a secret or a URL query string).
///
/// The text field is `detail`, not `message`/`cause`, which clash with
/// `Throwable` in Kotlin and Swift.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Object)]
#[uniffi::export(Debug, Display)]
#[error("{code}: {detail}")]
pub struct AuthflowError {
    code: String,
    status: Option<u16>,
    request_id: Option<String>,
    detail: String,
    retryable: bool,
}

#[uniffi::export]
impl AuthflowError {
    /// The stable error code: the API's code (`unauthorized`, `conflict`, …)
    /// or one of [`codes`] (`invalid_input`, `transport`, `timeout`, …).
    pub fn code(&self) -> String {
        self.code.clone()
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The request id the server gave, if any.
    pub fn request_id(&self) -> Option<String> {
        self.request_id.clone()
    }

    /// What happened, for people: names the route, never a secret.
    pub fn detail(&self) -> String {
        self.detail.clone()
    }

    /// Whether repeating the call may succeed.
    pub fn retryable(&self) -> bool {
        self.retryable
    }
}

impl AuthflowError {
    /// An error with this code and detail (no status, no request id).
    pub fn new(code: &str, detail: impl Into<String>) -> Arc<Self> {
        Arc::new(AuthflowError {
            code: code.to_owned(),
            status: None,
            request_id: None,
            detail: detail.into(),
            retryable: false,
        })
    }

    /// Map an SDK error (already free of secrets and query strings).
    pub fn from_sdk(e: authflow::Error) -> Arc<Self> {
        use authflow::Error as E;
        let code = match &e {
            E::Api { code, .. } => code.as_str(),
            E::InvalidInput { .. } => codes::INVALID_INPUT,
            E::Transport { .. } => codes::TRANSPORT,
            E::Timeout { .. } => codes::TIMEOUT,
            E::Decode { .. } => codes::DECODE,
            E::CircuitOpen { .. } => codes::CIRCUIT_OPEN,
            E::Config(_) => codes::CONFIG,
            _ => codes::OTHER,
        };
        Arc::new(AuthflowError {
            code: code.to_owned(),
            status: e.status(),
            request_id: e.request_id().map(str::to_owned),
            detail: e.to_string(),
            retryable: e.is_retryable(),
        })
    }

    /// Map the mock server's start-up error.
    pub fn from_mock_start(e: authflow_mock::StartError) -> Arc<Self> {
        Self::new(codes::MOCK, format!("mock server did not start: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authflow::{Error, ErrorCode};

    #[test]
    fn api_errors_keep_code_status_and_request_id() {
        let e = AuthflowError::from_sdk(Error::Api {
            route: "login",
            status: 401,
            code: ErrorCode::Unauthorized,
            message: "Incorrect password".into(),
            request_id: Some("req_1".into()),
            retryable: false,
            retry_after: None,
        });
        assert_eq!(e.code(), "unauthorized");
        assert_eq!(e.status(), Some(401));
        assert_eq!(e.request_id().as_deref(), Some("req_1"));
        assert!(e.detail().contains("login"));
        assert!(!e.retryable());
    }

    #[test]
    fn local_errors_have_stable_codes() {
        let e = AuthflowError::from_sdk(Error::invalid_input("email", "is required"));
        assert_eq!((e.code().as_str(), e.status()), ("invalid_input", None));
        let e = AuthflowError::from_sdk(Error::Config("bad url".into()));
        assert_eq!(e.code(), "config");
        assert_eq!(e.to_string(), "config: configuration error: bad url");
    }
}
