//! The 20 AuthFlow routes, one file per route group (mirroring `sdk/src/authflow/`).

mod email;
mod password;
mod session;
mod two_factor;

use authflow::api::routes::{Method, Route};
use authflow::api::validation::{is_email_shaped, password_meets_rule};
use axum::routing::{MethodRouter, get, post};

use crate::error::{ApiError, ApiResult};
use crate::keys::SessionClaims;
use crate::state::{AppState, sha256};
use crate::store::{Org, SessionRecord, User, UserKey};

/// Session lifetime (the document's example tokens live 12 hours).
pub const SESSION_TTL: i64 = 12 * 3600;
/// fooBar lifetime.
pub const FOOBAR_TTL: i64 = 45;
/// 2FA temp token lifetime.
pub const TEMP_TOKEN_TTL: i64 = 5 * 60;
/// Password-reset link lifetime.
pub const RESET_TTL: i64 = 3600;
/// Email verification link lifetime.
pub const VERIFY_TTL: i64 = 24 * 3600;
/// Backup email OTP lifetime.
pub const EMAIL_OTP_TTL: i64 = 10 * 60;
/// Wrong codes allowed per temp token or email OTP.
pub const MAX_CODE_ATTEMPTS: u32 = 5;
/// Failed logins allowed per account in [`LOGIN_WINDOW`] before 429.
pub const MAX_LOGIN_FAILURES: usize = 5;
/// The failed-login window (15 minutes).
pub const LOGIN_WINDOW: i64 = 15 * 60;

/// The handler serving `route`, or `None` if the route is not AuthFlow's.
/// The router is built from the route table with this, and a test checks
/// every AuthFlow route has one.
pub fn handler(route: &Route) -> Option<MethodRouter<AppState>> {
    let h = match route.name {
        "fooBar" => get(session::foobar),
        "signUp" => get(session::sign_up),
        "login" => get(session::login),
        "validate" => get(session::validate),
        "me" => get(session::me),
        "logout" => get(session::logout),
        "deleteUser" => post(session::delete_user),
        "forgot-password" => post(password::forgot_password),
        "reset-password" => post(password::reset_password),
        "changePassword" => get(password::change_password),
        "verify-email" => get(email::verify_email),
        "resend-verify-email" => get(email::resend_verify_email),
        "2fa/enable" => post(two_factor::enable),
        "2fa/verify-setup" => post(two_factor::verify_setup),
        "2fa/disable" => post(two_factor::disable),
        "2fa/verify-2fa" => post(two_factor::verify_2fa),
        "2fa/backup/email" => post(two_factor::backup_email),
        "2fa/verify-email-otp" => post(two_factor::verify_email_otp),
        "2fa/recovery-codes" => post(two_factor::recovery_codes),
        "2fa/verify-recovery" => post(two_factor::verify_recovery),
        _ => return None,
    };
    debug_assert_eq!(
        route.method,
        if matches!(
            route.name,
            "deleteUser" | "forgot-password" | "reset-password"
        ) || route.name.starts_with("2fa/")
        {
            Method::Post
        } else {
            Method::Get
        }
    );
    Some(h)
}

/// The organization whose key was sent, or 401 `Invalid api_key`.
pub(crate) fn org_for_key(state: &AppState, api_key: Option<&str>) -> ApiResult<Org> {
    let key = api_key.ok_or_else(ApiError::missing_fields)?;
    state
        .store()
        .org_by_key(&sha256(key))
        .ok_or_else(ApiError::invalid_api_key)
}

pub(crate) fn check_email(email: &str) -> ApiResult<()> {
    if is_email_shaped(email) {
        Ok(())
    } else {
        Err(ApiError::bad_request("Invalid email address"))
    }
}

pub(crate) fn check_password_rule(password: &str) -> ApiResult<()> {
    if password_meets_rule(password) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "Password does not meet complexity requirements",
        ))
    }
}

/// Issue and record a session token for `user`.
pub(crate) fn issue_session(state: &AppState, user: &UserKey) -> ApiResult<String> {
    let now = state.now();
    let claims = SessionClaims {
        jti: uuid::Uuid::new_v4().to_string(),
        email: user.email.clone(),
        org_id: user.org_id.clone(),
        role: user.role.clone(),
        iat: now,
        exp: now + SESSION_TTL,
    };
    let token = state
        .key()
        .sign(&claims)
        .map_err(|_| ApiError::internal("Could not sign token"))?;
    state.store().add_session(
        &claims.jti,
        SessionRecord {
            user: user.clone(),
            expires_at: claims.exp,
        },
    );
    Ok(token)
}

/// Verify a session token: RS512 signature by this server, unexpired on the
/// mock clock, not revoked, user still present. 401 otherwise.
pub(crate) fn authenticate(state: &AppState, token: &str) -> ApiResult<(SessionClaims, User)> {
    let invalid = || ApiError::unauthorized("Invalid or expired session");
    let claims: SessionClaims = state.key().verify(token, state.now()).ok_or_else(invalid)?;
    let record = state.store().session(&claims.jti).ok_or_else(invalid)?;
    let key = UserKey::new(&claims.org_id, &claims.email, &claims.role);
    if record.user != key {
        return Err(invalid());
    }
    let user = state.store().user(&key).ok_or_else(invalid)?;
    Ok((claims, user))
}

/// [`authenticate`], then require the session to be the given user.
pub(crate) fn authenticate_as(
    state: &AppState,
    token: &str,
    email: &str,
    org_id: &str,
    role: &str,
) -> ApiResult<(SessionClaims, User)> {
    let (claims, user) = authenticate(state, token)?;
    if user.key != UserKey::new(org_id, email, role) {
        return Err(ApiError::forbidden("Session does not match the given user"));
    }
    Ok((claims, user))
}
