//! Two-factor routes: TOTP setup and disable, recovery codes, and the three
//! login exchanges (TOTP, backup email OTP, recovery code).

use axum::Json;
use axum::extract::State;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use totp_rs::{Builder, Secret};

use authflow::api::authflow::{
    MessageResponse, RecoveryCodesResponse, RecoveryTokenResponse, SuccessResponse, TokenResponse,
    TwoFactorBackupEmailRequest, TwoFactorDisableRequest, TwoFactorEnableRequest,
    TwoFactorEnableResponse, TwoFactorRecoveryCodesRequest, TwoFactorVerifyEmailOtpRequest,
    TwoFactorVerifyRecoveryRequest, TwoFactorVerifyRequest, TwoFactorVerifySetupRequest, UserRef,
};

use super::{EMAIL_OTP_TTL, MAX_CODE_ATTEMPTS, authenticate_as, issue_session};
use crate::error::{ApiError, ApiResult};
use crate::mail::{EmailKind, Outgoing};
use crate::params::Params;
use crate::state::{AppState, random_digits, random_from, sha256};
use crate::store::{EmailOtp, TokenKind, TokenRecord, User, UserKey};

/// Recovery codes issued at a time.
pub const RECOVERY_CODE_COUNT: usize = 10;
const RECOVERY_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "AuthFlow";

fn key_of(u: &UserRef) -> UserKey {
    UserKey::new(&u.org_id, &u.email, &u.role)
}

fn totp_for(secret_b32: &str, account: &str) -> ApiResult<totp_rs::Totp> {
    let secret = Secret::try_from_base32(secret_b32)
        .map_err(|_| ApiError::bad_request("Invalid TOTP secret"))?;
    // Account names may not contain ':' in otpauth URLs.
    let account = account.replace(':', "");
    Builder::new()
        .with_secret(secret)
        .with_skew(1)
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|_| ApiError::bad_request("Invalid TOTP secret"))
}

/// Check `code` against `secret` at the mock clock (±1 step) and refuse a
/// step at or before `last_step` (a code is single-use). The matched step.
fn check_totp(
    state: &AppState,
    secret: &str,
    account: &str,
    code: &str,
    last_step: Option<u64>,
) -> ApiResult<u64> {
    let totp = totp_for(secret, account)?;
    let now = u64::try_from(state.now()).unwrap_or(0);
    let step = totp
        .check(code.trim(), now)
        .ok_or_else(|| ApiError::unauthorized("Invalid TOTP code"))?;
    if last_step.is_some_and(|last| step <= last) {
        return Err(ApiError::unauthorized("TOTP code already used"));
    }
    Ok(step)
}

/// The user behind a session token, which must be the given user.
fn session_user(state: &AppState, token: &SecretString, user: &UserRef) -> ApiResult<User> {
    let (_, u) = authenticate_as(
        state,
        token.expose_secret(),
        &user.email,
        &user.org_id,
        &user.role,
    )?;
    Ok(u)
}

/// [`session_user`], then the user's current password must match.
fn session_user_with_password(
    state: &AppState,
    token: &SecretString,
    user: &UserRef,
    password: &SecretString,
) -> ApiResult<User> {
    let u = session_user(state, token, user)?;
    if !state
        .hashing()
        .verify(password.expose_secret(), &u.password_hash)
    {
        return Err(ApiError::unauthorized("Incorrect password"));
    }
    Ok(u)
}

fn new_recovery_codes() -> (Vec<SecretString>, Vec<[u8; 32]>) {
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let code = random_from(RECOVERY_ALPHABET, 8);
            let hash = sha256(&code);
            (SecretString::from(code), hash)
        })
        .unzip()
}

fn require_2fa(user: &User) -> ApiResult<&str> {
    user.totp_secret
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("Two-factor authentication is not enabled"))
}

pub(crate) async fn enable(
    State(state): State<AppState>,
    p: Params<TwoFactorEnableRequest>,
) -> ApiResult<Json<TwoFactorEnableResponse>> {
    let r = p.value;
    let user = session_user(&state, &r.session_token, &r.user)?;
    if user.totp_secret.is_some() {
        return Err(ApiError::conflict(
            "Two-factor authentication is already enabled",
        ));
    }
    let mut raw = [0u8; 20];
    rand::rng().fill_bytes(&mut raw);
    let secret = Secret::from(raw.to_vec()).to_base32();
    let totp = totp_for(&secret, &user.key.email)?;
    let url = totp
        .to_url()
        .map_err(|_| ApiError::internal("Could not build the otpauth URL"))?;
    let qr = totp
        .to_qr_base64()
        .map_err(|_| ApiError::internal("Could not render the QR code"))?;
    let pending = secret.clone();
    state
        .store()
        .modify_user(&user.key, &mut |u| u.totp_pending = Some(pending.clone()));
    Ok(Json(TwoFactorEnableResponse {
        secret: SecretString::from(secret),
        qr_code: SecretString::from(format!("data:image/png;base64,{qr}")),
        otpauth_url: SecretString::from(url),
    }))
}

pub(crate) async fn verify_setup(
    State(state): State<AppState>,
    p: Params<TwoFactorVerifySetupRequest>,
) -> ApiResult<Json<RecoveryCodesResponse>> {
    let r = p.value;
    let user = session_user(&state, &r.session_token, &r.user)?;
    let pending = user
        .totp_pending
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("Call /auth/2fa/enable first"))?;
    let given = r.secret.expose_secret().trim().to_uppercase();
    if !bool::from(given.as_bytes().ct_eq(pending.as_bytes())) {
        return Err(ApiError::bad_request(
            "Secret does not match the one issued by /auth/2fa/enable",
        ));
    }
    let step = check_totp(
        &state,
        pending,
        &user.key.email,
        r.totp_code.expose_secret(),
        None,
    )?;
    let (codes, hashes) = new_recovery_codes();
    let secret = pending.to_owned();
    state.store().modify_user(&user.key, &mut |u| {
        u.totp_secret = Some(secret.clone());
        u.totp_pending = None;
        u.totp_last_step = Some(step);
        u.recovery_codes = hashes.clone();
    });
    Ok(Json(RecoveryCodesResponse {
        success: Some(true),
        recovery_codes: codes,
    }))
}

pub(crate) async fn disable(
    State(state): State<AppState>,
    p: Params<TwoFactorDisableRequest>,
) -> ApiResult<Json<SuccessResponse>> {
    let r = p.value;
    let user = session_user_with_password(&state, &r.session_token, &r.user, &r.password)?;
    require_2fa(&user)?;
    state.store().modify_user(&user.key, &mut |u| {
        u.totp_secret = None;
        u.totp_pending = None;
        u.totp_last_step = None;
        u.recovery_codes.clear();
    });
    state
        .store()
        .drop_user_tokens(TokenKind::TwoFactorTemp, &user.key);
    Ok(Json(SuccessResponse { success: true }))
}

pub(crate) async fn recovery_codes(
    State(state): State<AppState>,
    p: Params<TwoFactorRecoveryCodesRequest>,
) -> ApiResult<Json<RecoveryCodesResponse>> {
    let r = p.value;
    let user = session_user_with_password(&state, &r.session_token, &r.user, &r.password)?;
    require_2fa(&user)?;
    let (codes, hashes) = new_recovery_codes();
    state
        .store()
        .modify_user(&user.key, &mut |u| u.recovery_codes = hashes.clone());
    Ok(Json(RecoveryCodesResponse {
        success: None,
        recovery_codes: codes,
    }))
}

/// The temp token's record if it is live and belongs to `user`; 401 otherwise.
fn live_temp_token(
    state: &AppState,
    temp: &SecretString,
    user: &UserKey,
) -> ApiResult<([u8; 32], TokenRecord)> {
    let hash = sha256(temp.expose_secret().trim());
    let record = state
        .store()
        .token(TokenKind::TwoFactorTemp, &hash)
        .filter(|r| r.expires_at > state.now() && &r.user == user)
        .ok_or_else(ApiError::invalid_token)?;
    Ok((hash, record))
}

/// Finish a 2FA login: the user's temp tokens are spent, a session issued.
fn complete_login(state: &AppState, user: &UserKey) -> ApiResult<String> {
    state
        .store()
        .drop_user_tokens(TokenKind::TwoFactorTemp, user);
    issue_session(state, user)
}

pub(crate) async fn verify_2fa(
    State(state): State<AppState>,
    p: Params<TwoFactorVerifyRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let r = p.value;
    let key = key_of(&r.user);
    let (hash, record) = live_temp_token(&state, &r.temp_token, &key)?;
    let user = state
        .store()
        .user(&key)
        .ok_or_else(ApiError::invalid_token)?;
    let secret = require_2fa(&user)?.to_owned();
    match check_totp(
        &state,
        &secret,
        &key.email,
        r.totp_code.expose_secret(),
        user.totp_last_step,
    ) {
        Ok(step) => {
            state
                .store()
                .modify_user(&key, &mut |u| u.totp_last_step = Some(step));
            let token = complete_login(&state, &key)?;
            Ok(Json(TokenResponse {
                token: SecretString::from(token),
            }))
        }
        Err(e) => {
            // Count the miss against the temp token; five and it is gone.
            if let Some(mut rec) = state.store().take_token(TokenKind::TwoFactorTemp, &hash) {
                rec.attempts = record.attempts.max(rec.attempts) + 1;
                if rec.attempts < MAX_CODE_ATTEMPTS {
                    state.store().put_token(TokenKind::TwoFactorTemp, hash, rec);
                }
            }
            Err(e)
        }
    }
}

pub(crate) async fn backup_email(
    State(state): State<AppState>,
    p: Params<TwoFactorBackupEmailRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let r = p.value;
    let key = key_of(&r.user);
    live_temp_token(&state, &r.temp_token, &key)?;
    let user = state
        .store()
        .user(&key)
        .ok_or_else(ApiError::invalid_token)?;
    require_2fa(&user)?;
    let code = random_digits(6);
    state.store().put_email_otp(
        &key,
        EmailOtp {
            code_hash: sha256(&code),
            expires_at: state.now() + EMAIL_OTP_TTL,
            attempts: 0,
        },
    );
    state.send_mail(Outgoing {
            to: key.email.clone(),
            subject: "Your AuthFlow sign-in code".into(),
            text: format!("Your sign-in verification code is {code}. It expires in 10 minutes and works once."),
            html: format!("<p>Your sign-in verification code is <strong>{code}</strong>.</p><p>It expires in 10 minutes and works once.</p>"),
            kind: EmailKind::TwoFactorOtp,
        },
    );
    Ok(Json(MessageResponse {
        success: true,
        message: "OTP sent to your email".into(),
    }))
}

pub(crate) async fn verify_email_otp(
    State(state): State<AppState>,
    p: Params<TwoFactorVerifyEmailOtpRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let r = p.value;
    let key = key_of(&r.user);
    let given = sha256(r.email_otp.expose_secret().trim());
    let now = state.now();
    let mut matched = false;
    state.store().with_email_otp(&key, &mut |otp| {
        if otp.expires_at <= now || otp.attempts >= MAX_CODE_ATTEMPTS {
            return false;
        }
        if bool::from(otp.code_hash.ct_eq(&given)) {
            matched = true;
            return false; // single use
        }
        otp.attempts += 1;
        otp.attempts < MAX_CODE_ATTEMPTS
    });
    if !matched {
        return Err(ApiError::unauthorized("Invalid or expired code"));
    }
    let token = complete_login(&state, &key)?;
    Ok(Json(TokenResponse {
        token: SecretString::from(token),
    }))
}

pub(crate) async fn verify_recovery(
    State(state): State<AppState>,
    p: Params<TwoFactorVerifyRecoveryRequest>,
) -> ApiResult<Json<RecoveryTokenResponse>> {
    let r = p.value;
    let key = key_of(&r.user);
    let given = sha256(&r.recovery_code.expose_secret().trim().to_uppercase());
    let mut remaining = None;
    state.store().modify_user(&key, &mut |u| {
        if u.totp_secret.is_none() {
            return;
        }
        if let Some(i) = u
            .recovery_codes
            .iter()
            .position(|h| bool::from(h.ct_eq(&given)))
        {
            u.recovery_codes.remove(i);
            remaining = Some(u.recovery_codes.len());
        }
    });
    let remaining = remaining.ok_or_else(|| ApiError::unauthorized("Invalid recovery code"))?;
    let token = complete_login(&state, &key)?;
    Ok(Json(RecoveryTokenResponse {
        token: SecretString::from(token),
        remaining_codes: remaining as u32,
    }))
}
