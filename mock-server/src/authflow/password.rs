//! Password management: forgot-password, reset-password, changePassword.

use axum::Json;
use axum::extract::State;
use secrecy::ExposeSecret;

use authflow::api::authflow::{
    ChangePasswordRequest, ForgotPasswordRequest, MessageResponse, ResetPasswordRequest,
    SuccessResponse,
};

use super::session::DEFAULT_ROLE;
use super::{RESET_TTL, authenticate, check_password_rule, org_for_key};
use crate::error::{ApiError, ApiResult};
use crate::mail::{EmailKind, Outgoing};
use crate::params::Params;
use crate::state::{AppState, random_hex, sha256};
use crate::store::{TokenKind, TokenRecord, UserKey};

/// The one answer forgot-password gives, account or not.
pub const FORGOT_MESSAGE: &str = "If an account exists for this email, a reset link has been sent.";

pub(crate) async fn forgot_password(
    State(state): State<AppState>,
    p: Params<ForgotPasswordRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let org = org_for_key(&state, p.api_key.as_deref())?;
    // A malformed address says nothing about which accounts exist.
    super::check_email(&p.value.email)?;
    let role = p.value.role.unwrap_or_else(|| DEFAULT_ROLE.to_owned());
    let key = UserKey::new(&org.id, &p.value.email, &role);
    // Do the same work whether or not the account exists (token, hash,
    // message), so timing does not tell them apart; only delivery differs.
    let token = random_hex(32);
    let hash = sha256(&token);
    let link = format!("{}/reset-password?token={token}", state.public_url());
    let msg = Outgoing {
        to: key.email.clone(),
        subject: "Reset your AuthFlow password".into(),
        text: format!(
            "Someone asked to reset the password of this account.\n\nReset it here (valid for 1 hour, single use):\n{link}\n\nIf it was not you, ignore this email."
        ),
        html: format!(
            "<p>Someone asked to reset the password of this account.</p><p><a href=\"{link}\">Reset your password</a> (valid for 1 hour, single use).</p><p>If it was not you, ignore this email.</p>"
        ),
        kind: EmailKind::PasswordReset,
    };
    if state.store().user(&key).is_some() {
        state.store().put_token(
            TokenKind::PasswordReset,
            hash,
            TokenRecord {
                user: key,
                expires_at: state.now() + RESET_TTL,
                attempts: 0,
            },
        );
        state.send_mail(msg);
    }
    Ok(Json(MessageResponse {
        success: true,
        message: FORGOT_MESSAGE.into(),
    }))
}

pub(crate) async fn reset_password(
    State(state): State<AppState>,
    p: Params<ResetPasswordRequest>,
) -> ApiResult<Json<SuccessResponse>> {
    let req = p.value;
    // Check the new password first: a rejected password must not burn the link.
    check_password_rule(req.new_password.expose_secret())?;
    let hash = sha256(req.token.expose_secret().trim());
    let record = state
        .store()
        .take_token(TokenKind::PasswordReset, &hash)
        .filter(|r| r.expires_at > state.now())
        .ok_or_else(ApiError::invalid_token)?;
    let new_hash = state.hash_password(req.new_password.expose_secret())?;
    state
        .store()
        .modify_user(&record.user, &mut |u| u.password_hash = new_hash.clone())
        .ok_or_else(ApiError::invalid_token)?;
    state.store().revoke_user_sessions(&record.user);
    state
        .store()
        .drop_user_tokens(TokenKind::PasswordReset, &record.user);
    state
        .store()
        .drop_user_tokens(TokenKind::TwoFactorTemp, &record.user);
    state.store().clear_login_failures(&record.user);
    Ok(Json(SuccessResponse { success: true }))
}

pub(crate) async fn change_password(
    State(state): State<AppState>,
    p: Params<ChangePasswordRequest>,
) -> ApiResult<Json<SuccessResponse>> {
    let req = p.value;
    let (claims, user) = authenticate(&state, req.session_token.expose_secret())?;
    if claims.email != req.email.trim().to_lowercase() {
        return Err(ApiError::unauthorized("Invalid or expired session"));
    }
    if !state
        .hashing()
        .verify(req.old_password.expose_secret(), &user.password_hash)
    {
        return Err(ApiError::unauthorized("Incorrect password"));
    }
    check_password_rule(req.new_password.expose_secret())?;
    let new_hash = state.hash_password(req.new_password.expose_secret())?;
    state
        .store()
        .modify_user(&user.key, &mut |u| u.password_hash = new_hash.clone());
    Ok(Json(SuccessResponse { success: true }))
}
