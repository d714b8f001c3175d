//! The stable error envelope of the AIdenID and Flow admin APIs:
//!
//! ```json
//! {"error": {"code": "flow_not_found", "message": "…", "details": {"requestId": "req_…"}},
//!  "requestId": "req_…", "timestamp": "2026-04-06T21:33:45.225+00:00",
//!  "path": "/api/admin/flows/flow_x", "retryable": false}
//! ```
//!
//! Handlers return an [`EnvelopeError`]; the `finish` middleware (outermost
//! layer of the app) fills in the request id (also sent as `X-Request-Id`),
//! the request path and the mock clock's timestamp.

use authflow::sanitize::strip_quoted;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::clock::rfc3339;
use crate::state::{AppState, random_hex};

/// An error answered with the envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`flow_not_found`, …).
    pub code: &'static str,
    /// Human-readable message (never contains a secret).
    pub message: String,
    /// Extra `error.details` fields (`requestId` is added).
    pub details: Map<String, Value>,
    /// Whether the same request may succeed later.
    pub retryable: bool,
}

impl EnvelopeError {
    /// An error with a status, code and message; retryable for 5xx and 429.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        EnvelopeError {
            status,
            code,
            message: message.into(),
            details: Map::new(),
            retryable: status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS,
        }
    }
    /// The same error with another code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
    /// Add an `error.details` field.
    pub fn detail(mut self, name: &str, value: Value) -> Self {
        self.details.insert(name.to_owned(), value);
        self
    }
    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// 404 with `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    /// 413 `payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("Request body is larger than {} KiB", limit / 1024),
        )
    }
}

impl IntoResponse for EnvelopeError {
    fn into_response(self) -> Response {
        // The body is written by `finish`, which knows the path and request id.
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = self.status;
        resp.extensions_mut().insert(self);
        resp
    }
}

/// Result alias for envelope handlers.
pub type EnvelopeResult<T> = Result<T, EnvelopeError>;

/// Middleware: every response of an envelope API (`/api/…`, `/v1/…`) gets
/// an `X-Request-Id` (AuthFlow's `/auth` responses stay as documented); a
/// response carrying an [`EnvelopeError`] gets its JSON envelope body.
pub(crate) async fn finish(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let request_id = format!("req_{}", random_hex(12));
    let mut resp = next.run(req).await;
    if crate::uses_envelope(&path)
        && let Ok(v) = HeaderValue::from_str(&request_id)
    {
        resp.headers_mut().insert("x-request-id", v);
    }
    let Some(err) = resp.extensions_mut().remove::<EnvelopeError>() else {
        return resp;
    };
    let mut details = err.details;
    details.insert("requestId".into(), Value::String(request_id.clone()));
    let body = json!({
        "error": { "code": err.code, "message": err.message, "details": details },
        "requestId": request_id,
        "timestamp": rfc3339(state.clock().now_millis()),
        "path": path,
        "retryable": err.retryable,
    });
    let (mut parts, _) = resp.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// A serde error as a message that names the place (`graph.nodes[3].id`)
/// and never echoes a value the client sent.
fn describe(path: &str, message: &str) -> String {
    let message = if message.starts_with("missing field ") {
        message.to_owned()
    } else if let Some((head, tail)) = message.split_once(", expected") {
        // What is expected is ours (field names, variants); what was sent is not.
        format!("{}, expected{tail}", strip_quoted(head))
    } else {
        strip_quoted(message)
    };
    if path.is_empty() || path == "." {
        message
    } else {
        format!("{path}: {message}")
    }
}

/// `path` without its last segment (`graph.nodes[0]` for `graph.nodes[0].x`).
fn parent_path(path: &serde_path_to_error::Path) -> String {
    let keep = path.iter().len().saturating_sub(1);
    let mut out = String::new();
    for (i, segment) in path.iter().take(keep).enumerate() {
        if i > 0 && !matches!(segment, serde_path_to_error::Segment::Seq { .. }) {
            out.push('.');
        }
        out.push_str(&segment.to_string());
    }
    out
}

/// Read a JSON body of at most `limit` bytes into `T`: 413
/// `payload_too_large`, 400 `invalid_json` (malformed), 400
/// `invalid_request` (wrong shape; the message names the JSON path and
/// never echoes a sent value).
pub(crate) async fn read_json<T: DeserializeOwned>(body: Body, limit: usize) -> EnvelopeResult<T> {
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if err.is::<http_body_util::LengthLimitError>() {
                return EnvelopeError::payload_too_large(limit);
            }
            source = err.source();
        }
        EnvelopeError::bad_request("invalid_request", "Malformed request body")
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(EnvelopeError::bad_request(
            "invalid_request",
            "A JSON object body is required",
        ));
    }
    // Whether the body is JSON at all (valid UTF-8, nesting within serde's
    // limit): serde_json reports some type errors (a number where an enum
    // goes) as syntax errors.
    let well_formed = || serde_json::from_slice::<Value>(&bytes).is_ok();
    // Only an object: serde would fill a struct from an array positionally.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(if well_formed() {
            EnvelopeError::bad_request("invalid_request", "A JSON object body is required")
        } else {
            EnvelopeError::bad_request("invalid_json", "Malformed JSON body")
        });
    }
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let (path, inner) = (e.path().clone(), e.into_inner());
        let message = inner.to_string();
        // The name of an unknown field is the client's: not echoed.
        let path = if message.starts_with("unknown field") {
            parent_path(&path)
        } else {
            path.to_string()
        };
        if !(inner.is_syntax() || inner.is_eof()) {
            EnvelopeError::bad_request("invalid_request", describe(&path, &message))
        } else if well_formed() {
            EnvelopeError::bad_request("invalid_request", describe(&path, "invalid type"))
        } else {
            EnvelopeError::bad_request("invalid_json", "Malformed JSON body")
        }
    })?;
    de.end().map_err(|_| {
        EnvelopeError::bad_request("invalid_json", "Trailing data after the JSON body")
    })?;
    Ok(value)
}
