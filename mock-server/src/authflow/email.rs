//! Email verification: verify-email, resend-verify-email.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use secrecy::ExposeSecret;

use authflow::api::authflow::{
    ResendVerifyEmailRequest, StatusMessageResponse, VerifyEmailRequest,
};

use super::session::{DEFAULT_ROLE, check_foobar};
use super::{VERIFY_TTL, org_for_key};
use crate::error::{ApiError, ApiResult};
use crate::mail::{EmailKind, Outgoing};
use crate::params::Params;
use crate::state::{AppState, random_hex, sha256};
use crate::store::{TokenKind, TokenRecord, User, UserKey};

/// Issue a verification token for `user` and email the link.
pub(crate) fn send_verification(state: &AppState, user: &User) {
    let token = random_hex(32);
    state
        .store()
        .drop_user_tokens(TokenKind::EmailVerification, &user.key);
    state.store().put_token(
        TokenKind::EmailVerification,
        sha256(&token),
        TokenRecord {
            user: user.key.clone(),
            expires_at: state.now() + VERIFY_TTL,
            attempts: 0,
        },
    );
    let link = format!("{}/auth/verify-email?token={token}", state.public_url());
    let name = html_escape(&user.fullname);
    state.send_mail(Outgoing {
            to: user.key.email.clone(),
            subject: "Verify your email address".into(),
            text: format!("Hello {},\n\nConfirm your email address by opening this link (valid for 24 hours):\n{link}\n", user.fullname),
            html: format!("<p>Hello {name},</p><p><a href=\"{link}\">Confirm your email address</a> (valid for 24 hours).</p>"),
            kind: EmailKind::Verification,
        },
    );
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p></body></html>"
    );
    (status, Html(html)).into_response()
}

pub(crate) async fn verify_email(
    State(state): State<AppState>,
    p: Params<VerifyEmailRequest>,
) -> Response {
    let hash = sha256(p.value.token.expose_secret().trim());
    let record = state
        .store()
        .take_token(TokenKind::EmailVerification, &hash)
        .filter(|r| r.expires_at > state.now());
    let verified = record.and_then(|r| {
        state
            .store()
            .modify_user(&r.user, &mut |u| u.verified = true)
    });
    match verified {
        Some(_) => page(
            StatusCode::OK,
            "Email verified",
            "Your email address is verified. You can close this page.",
        ),
        None => page(
            StatusCode::UNAUTHORIZED,
            "Link invalid or expired",
            "This verification link is invalid or has expired. Ask for a new one.",
        ),
    }
}

pub(crate) async fn resend_verify_email(
    State(state): State<AppState>,
    p: Params<ResendVerifyEmailRequest>,
) -> ApiResult<Json<StatusMessageResponse>> {
    let org = org_for_key(&state, p.api_key.as_deref())?;
    let req = p.value;
    check_foobar(&state, &req.foobar, &org, &req.email)?;
    let role = req.role.unwrap_or_else(|| DEFAULT_ROLE.to_owned());
    let user = state
        .store()
        .user(&UserKey::new(&org.id, &req.email, &role))
        .ok_or_else(|| ApiError::not_found("User not found"))?;
    if user.verified {
        return Err(ApiError::bad_request("Email already verified"));
    }
    send_verification(&state, &user);
    Ok(Json(StatusMessageResponse {
        status_code: 200,
        message: "Verification email sent.".into(),
    }))
}

/// Escape text for HTML.
pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
