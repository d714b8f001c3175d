//! Demo targets for reliability runs, served by the mock so the whole loop
//! runs with no outside service:
//!
//! - `POST /__mock/demo/forgot-password` sends a password-reset email with a
//!   link to the posted address;
//! - `POST /__mock/demo/invite` sends an invite email with a 6-digit code.
//!
//! The address comes from a form (`email=`) or JSON body (`{"email": …}`;
//! the first string field if there is no `email`). `?delay_ms=N` sends the
//! mail N ms later (real time, at most 60 s); `?drop=true` accepts the
//! request and never sends it.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::mail::{EmailKind, Outgoing};
use crate::state::{AppState, random_digits, random_hex};

fn address(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"));
    if is_json {
        let v: Value = serde_json::from_slice(body).ok()?;
        let obj = v.as_object()?;
        obj.get("email")
            .or_else(|| obj.values().find(|v| v.is_string()))
            .and_then(Value::as_str)
            .map(str::to_owned)
    } else {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs
            .iter()
            .find(|(k, _)| k == "email")
            .or_else(|| pairs.first())
            .map(|(_, v)| v.clone())
    }
    .map(|a| a.trim().to_owned())
    .filter(|a| authflow::api::validation::is_email_shaped(a))
}

/// Send `msg` now, later or never, as the query says; `Err` is the 400 for
/// a bad `delay_ms`.
fn schedule(
    state: AppState,
    q: &HashMap<String, String>,
    msg: Outgoing,
) -> Result<(), Box<Response>> {
    if q.get("drop").is_some_and(|v| v == "true" || v == "1") {
        return Ok(());
    }
    let delay = match q.get("delay_ms") {
        None => 0,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|d| *d <= 60_000)
            .ok_or_else(|| {
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({ "message": "delay_ms must be an integer from 0 to 60000" })),
                )
                    .into_response()
            })?,
    };
    if delay == 0 {
        state.send_mail(msg);
    } else {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            state.send_mail(msg);
        });
    }
    Ok(())
}

fn no_address() -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "message": "An email address is required" })),
    )
        .into_response()
}

/// `POST /__mock/demo/forgot-password`
pub(crate) async fn forgot_password(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(to) = address(&headers, &body) else {
        return no_address();
    };
    let link = format!(
        "{}/__mock/demo/reset?token={}",
        state.public_url(),
        random_hex(16)
    );
    let msg = Outgoing {
        to,
        subject: "Reset your password".into(),
        text: format!(
            "We received a request to reset your password.\n\nReset it here: {link}\n\nIf you did not ask for this, ignore this email.\n"
        ),
        html: format!(
            "<p>We received a request to reset your password.</p><p><a href=\"{link}\">Reset your password</a></p><p>If you did not ask for this, ignore this email.</p>"
        ),
        kind: EmailKind::PasswordReset,
    };
    match schedule(state, &q, msg) {
        Ok(()) => Json(json!({ "message": "If the account exists, a reset email is on its way" }))
            .into_response(),
        Err(r) => *r,
    }
}

/// `POST /__mock/demo/invite`
pub(crate) async fn invite(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(to) = address(&headers, &body) else {
        return no_address();
    };
    let code = random_digits(6);
    let msg = Outgoing {
        to,
        subject: "You're invited to Demo Workspace".into(),
        text: format!(
            "You have been invited to join Demo Workspace.\n\nYour invite code is {code}. It expires in 24 hours.\n"
        ),
        html: format!(
            "<p>You have been invited to join Demo Workspace.</p><p>Your invite code is <b>{code}</b>. It expires in 24 hours.</p>"
        ),
        kind: EmailKind::Invite,
    };
    match schedule(state, &q, msg) {
        Ok(()) => Json(json!({ "message": "Invitation sent" })).into_response(),
        Err(r) => *r,
    }
}
