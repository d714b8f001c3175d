//! Session routes: fooBar, signUp, login, validate, me, logout, deleteUser.

use axum::Json;
use axum::extract::State;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use authflow::api::authflow::{
    DeleteUserRequest, FooBarRequest, LoginRequest, LogoutRequest, MeRequest, MessageResponse,
    Profile, SignUpRequest, SuccessResponse, TokenResponse, ValidateRequest,
};

use super::{
    FOOBAR_TTL, LOGIN_WINDOW, MAX_LOGIN_FAILURES, TEMP_TOKEN_TTL, authenticate, check_email,
    check_password_rule, issue_session, org_for_key,
};
use crate::authflow::email::send_verification;
use crate::error::{ApiError, ApiResult};
use crate::keys::FooBarClaims;
use crate::params::Params;
use crate::state::{AppState, EmailVerification, random_hex, sha256};
use crate::store::{Org, TokenKind, TokenRecord, User, UserKey};

/// Role used when a route's optional `role` is absent.
pub const DEFAULT_ROLE: &str = "user";

pub(crate) async fn foobar(
    State(state): State<AppState>,
    p: Params<FooBarRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let org = org_for_key(&state, p.api_key.as_deref())?;
    check_email(&p.value.identity)?;
    let now = state.now();
    let claims = FooBarClaims {
        identity: p.value.identity.trim().to_lowercase(),
        org_id: org.id,
        role: p.value.role.unwrap_or_else(|| DEFAULT_ROLE.to_owned()),
        iat: now,
        exp: now + FOOBAR_TTL,
    };
    let token = state
        .key()
        .sign(&claims)
        .map_err(|_| ApiError::internal("Could not sign token"))?;
    Ok(Json(TokenResponse {
        token: SecretString::from(token),
    }))
}

/// Check a fooBar token: signed here, unexpired, for this organization and email.
pub(crate) fn check_foobar(
    state: &AppState,
    token: &SecretString,
    org: &Org,
    email: &str,
) -> ApiResult<()> {
    let claims: FooBarClaims = state
        .key()
        .verify(token.expose_secret(), state.now())
        .ok_or_else(ApiError::invalid_token)?;
    if claims.org_id != org.id || claims.identity != email.trim().to_lowercase() {
        return Err(ApiError::invalid_token());
    }
    Ok(())
}

pub(crate) async fn sign_up(
    State(state): State<AppState>,
    p: Params<SignUpRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let org = org_for_key(&state, p.api_key.as_deref())?;
    let req = p.value;
    check_foobar(&state, &req.foobar, &org, &req.email)?;
    check_email(&req.email)?;
    check_password_rule(req.password.expose_secret())?;
    let key = UserKey::new(&org.id, &req.email, &req.role);
    if state.store().user(&key).is_some() {
        return Err(ApiError::conflict("User already exists"));
    }
    let hash = state.hash_password(req.password.expose_secret())?;
    let user = User {
        key: key.clone(),
        fullname: req.fullname.trim().to_owned(),
        password_hash: hash,
        disclaimed: req.disclaimed.to_string(),
        totp_pending: None,
        verified: false,
        owner: false,
        totp_secret: None,
        totp_last_step: None,
        recovery_codes: Vec::new(),
        created_at: state.now(),
    };
    // Two concurrent sign-ups: the store decides, atomically.
    if !state.store().insert_user(user.clone()) {
        return Err(ApiError::conflict("User already exists"));
    }
    send_verification(&state, &user);
    let token = issue_session(&state, &key)?;
    Ok(Json(TokenResponse {
        token: SecretString::from(token),
    }))
}

pub(crate) async fn login(
    State(state): State<AppState>,
    p: Params<LoginRequest>,
) -> ApiResult<Json<Value>> {
    let org = org_for_key(&state, p.api_key.as_deref())?;
    let req = p.value;
    check_foobar(&state, &req.foobar, &org, &req.email)?;
    let key = UserKey::new(&org.id, &req.email, &req.role);
    let now = state.now();
    // Failures strictly younger than the window count, so a client that waits
    // exactly Retry-After seconds gets through.
    let since = now - LOGIN_WINDOW + 1;
    let (failures, oldest) = state.store().login_failures(&key, since);
    if failures >= MAX_LOGIN_FAILURES {
        let retry = oldest
            .map(|t| t + LOGIN_WINDOW - now)
            .unwrap_or(LOGIN_WINDOW);
        return Err(ApiError::too_many(
            "Too many failed login attempts. Try again later.",
            retry.max(1) as u64,
        ));
    }
    let Some(user) = state.store().user(&key) else {
        // Same work as a wrong password, then the documented 404.
        let _ = state
            .hashing()
            .verify(req.password.expose_secret(), state.dummy_hash());
        return Err(ApiError::not_found("User not found"));
    };
    if !state
        .hashing()
        .verify(req.password.expose_secret(), &user.password_hash)
    {
        state.store().record_login_failure(&key, now, since);
        return Err(ApiError::unauthorized("Incorrect password"));
    }
    if state.inner.verification == EmailVerification::RequiredForLogin && !user.verified {
        return Err(ApiError::unauthorized(
            "Please complete email verification before logging in",
        ));
    }
    state.store().clear_login_failures(&key);
    if user.totp_secret.is_some() {
        let temp = random_hex(32);
        state.store().put_token(
            TokenKind::TwoFactorTemp,
            sha256(&temp),
            TokenRecord {
                user: key.clone(),
                expires_at: now + TEMP_TOKEN_TTL,
                attempts: 0,
            },
        );
        return Ok(Json(json!({
            "requires2FA": true,
            "tempToken": temp,
            "email": key.email,
            "org_id": key.org_id,
            "role": key.role,
        })));
    }
    let token = issue_session(&state, &key)?;
    Ok(Json(json!({ "token": token })))
}

pub(crate) async fn validate(
    State(state): State<AppState>,
    p: Params<ValidateRequest>,
) -> ApiResult<Json<Value>> {
    let (claims, _) = authenticate(&state, p.value.session_token.expose_secret())?;
    if claims.email != p.value.email.trim().to_lowercase() {
        return Err(ApiError::unauthorized("Invalid or expired session"));
    }
    Ok(Json(json!({ "valid": true })))
}

pub(crate) async fn me(
    State(state): State<AppState>,
    p: Params<MeRequest>,
) -> ApiResult<Json<Profile>> {
    let (_, user) = authenticate(&state, p.value.session_token.expose_secret())?;
    Ok(Json(Profile {
        email: user.key.email,
        fullname: user.fullname,
        role: user.key.role,
        org_id: user.key.org_id,
    }))
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    p: Params<LogoutRequest>,
) -> ApiResult<Json<SuccessResponse>> {
    let (claims, _) = authenticate(&state, p.value.session_token.expose_secret())?;
    if claims.email != p.value.email.trim().to_lowercase() {
        return Err(ApiError::unauthorized("Invalid or expired session"));
    }
    state.store().revoke_session(&claims.jti);
    Ok(Json(SuccessResponse { success: true }))
}

pub(crate) async fn delete_user(
    State(state): State<AppState>,
    p: Params<DeleteUserRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let token = p
        .bearer
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("Missing bearer token"))?;
    let (claims, caller) = authenticate(&state, token)?;
    let req = p.value;
    if claims.email != req.email_owner.trim().to_lowercase() || claims.org_id != req.org_id {
        return Err(ApiError::forbidden(
            "Token identity does not match the request",
        ));
    }
    let org = state
        .store()
        .org(&claims.org_id)
        .ok_or_else(|| ApiError::forbidden("Forbidden"))?;
    if !caller.owner || org.owner_email != caller.key.email {
        return Err(ApiError::forbidden(
            "Only the organization owner can delete users",
        ));
    }
    let target = req.user_email.trim().to_lowercase();
    if target == org.owner_email {
        return Err(ApiError::forbidden(
            "The organization owner cannot be deleted",
        ));
    }
    let users = state.store().users_with_email(&org.id, &target);
    if users.is_empty() {
        return Err(ApiError::not_found("User not found"));
    }
    for u in users {
        state.store().delete_user(&u.key);
    }
    Ok(Json(MessageResponse {
        success: true,
        message: "User deleted successfully".into(),
    }))
}
