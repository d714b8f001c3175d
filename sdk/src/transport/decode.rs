//! Turning HTTP error responses into [`Error::Api`], and finding request ids.

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::Value;

use super::retry::{is_retryable_status, retry_after};
use crate::error::{Error, ErrorCode};
use crate::sanitize::scrub;

/// Longest server message kept in an error.
const MAX_MESSAGE: usize = 300;

/// The request id from `X-Request-Id`, or from a JSON body's `requestId` /
/// `error.details.requestId`.
pub(crate) fn request_id(headers: &HeaderMap, body: Option<&Value>) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            let body = body?;
            body.get("requestId")
                .or_else(|| body.pointer("/error/details/requestId"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
}

/// Build the error for a non-success response. `secrets` are scrubbed from
/// the server's message.
pub(crate) fn api_error(
    route: &'static str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[&str],
) -> Error {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let request_id = request_id(headers, json.as_ref());
    let mut retryable = is_retryable_status(status);
    let (code, message) = match json.as_ref() {
        // The AIdenID envelope: {"error": {"code", "message", …}, "retryable", …}.
        Some(v) if v.get("error").is_some_and(Value::is_object) => {
            if let Some(r) = v.get("retryable").and_then(Value::as_bool) {
                retryable = r;
            }
            let code = v
                .pointer("/error/code")
                .and_then(Value::as_str)
                .map(ErrorCode::from_wire)
                .unwrap_or_else(|| ErrorCode::from_status(status));
            let msg = v
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("");
            (code, msg.to_owned())
        }
        // AuthFlow: {"message": "…"}.
        Some(v) if v.get("message").is_some_and(Value::is_string) => (
            ErrorCode::from_status(status),
            v["message"].as_str().unwrap_or_default().to_owned(),
        ),
        _ => (
            ErrorCode::from_status(status),
            text_message(status, headers, body),
        ),
    };
    let mut message = scrub(&message, secrets);
    if message.len() > MAX_MESSAGE {
        let cut = (0..=MAX_MESSAGE)
            .rev()
            .find(|i| message.is_char_boundary(*i))
            .unwrap_or(0);
        message.truncate(cut);
        message.push('…');
    }
    if message.trim().is_empty() {
        message = reason(status).to_owned();
    }
    Error::Api {
        route,
        status,
        code,
        message,
        request_id,
        retryable,
        retry_after: retry_after(headers),
    }
}

fn text_message(status: u16, headers: &HeaderMap, body: &[u8]) -> String {
    let is_html = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("html"))
        || body.trim_ascii_start().starts_with(b"<");
    if is_html {
        return reason(status).to_owned();
    }
    String::from_utf8_lossy(body).trim().to_owned()
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn envelope_wins_over_status_defaults() {
        let body = br#"{"error":{"code":"dependency_failed","message":"boom","details":{"requestId":"req_9"}},"requestId":"req_9","retryable":false}"#;
        let e = api_error("r", 502, &HeaderMap::new(), body, &[]);
        match e {
            Error::Api {
                code,
                request_id,
                retryable,
                ..
            } => {
                assert_eq!(code.as_str(), "dependency_failed");
                assert_eq!(request_id.as_deref(), Some("req_9"));
                assert!(!retryable);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_text_html_and_header_id() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc"));
        let e = api_error("r", 409, &h, b"User already exists", &[]);
        assert_eq!(
            e.to_string(),
            "r: HTTP 409 conflict: User already exists (request id abc)"
        );
        let e = api_error(
            "r",
            401,
            &HeaderMap::new(),
            b"<html><body>nope</body></html>",
            &[],
        );
        assert_eq!(e.to_string(), "r: HTTP 401 unauthorized: Unauthorized");
    }

    #[test]
    fn secrets_scrubbed_from_message() {
        let e = api_error(
            "r",
            400,
            &HeaderMap::new(),
            br#"{"message":"bad password Hunter2!x"}"#,
            &["Hunter2!x"],
        );
        assert!(!e.to_string().contains("Hunter2!x"));
    }
}
