//! Wire types of the 20 AuthFlow `/auth` routes, field names exactly as the API
//! document spells them.
//!
//! Request types hold every secret (passwords, tokens, codes) as
//! [`SecretString`]; their `Debug` shows `[REDACTED]` and the secret is exposed
//! only when the request is serialized for the wire. None of them carries the
//! organization `api_key`: the transport (or the proxy) injects it where the
//! [route table](super::routes) says.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::routes::{self, Route};
use super::secret::{expose, expose_vec};
use super::{Empty, Endpoint, HtmlPage, json_response};

macro_rules! endpoint {
    ($req:ty => $resp:ty, $route:expr) => {
        impl Endpoint for $req {
            type Response = $resp;
            fn route(&self) -> &'static Route {
                &$route
            }
        }
    };
}

// ---------------------------------------------------------------- session

/// `GET /auth/fooBar`: a 45-second anti-abuse token for one email.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FooBarRequest {
    /// The auth user's email.
    pub identity: String,
    /// RBAC role to encode (the API defaults to `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}
endpoint!(FooBarRequest => TokenResponse, routes::FOOBAR);

/// A response carrying one token: fooBar, signUp, login without 2FA,
/// verify-2fa and verify-email-otp.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    /// The token (an RS512 JWT).
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub token: SecretString,
}

/// `GET /auth/signUp`: create a user in the owner's organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignUpRequest {
    /// A fresh fooBar token for `email`.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub foobar: SecretString,
    /// User email.
    pub email: String,
    /// Password satisfying [`PASSWORD_PATTERN`](super::validation::PASSWORD_PATTERN).
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub password: SecretString,
    /// Full name.
    pub fullname: String,
    /// RBAC role.
    pub role: String,
    /// Boolean-like value stored with the user (the collection uses `true`).
    /// Accepts `true`/`false`, `"true"`/`"false"`, `"1"`/`"0"`, `"yes"`/`"no"`.
    #[serde(deserialize_with = "super::secret::bool_like")]
    pub disclaimed: bool,
}
endpoint!(SignUpRequest => TokenResponse, routes::SIGN_UP);

/// `GET /auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// A fresh fooBar token for `email`.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub foobar: SecretString,
    /// User email.
    pub email: String,
    /// User password.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub password: SecretString,
    /// RBAC role.
    pub role: String,
}
endpoint!(LoginRequest => LoginResponse, routes::LOGIN);

/// What `login` answers: a session token, or a 2FA challenge.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum LoginResponse {
    /// 2FA is enabled: exchange `tempToken` through a `/auth/2fa` route.
    TwoFactor(TwoFactorChallenge),
    /// Logged in.
    Token(TokenResponse),
}

/// The 2FA challenge `login` returns when the user has 2FA enabled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorChallenge {
    /// Always `true`.
    #[serde(rename = "requires2FA")]
    pub requires_2fa: bool,
    /// Single-use token for the 2FA exchange (5 minutes).
    #[serde(rename = "tempToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub temp_token: SecretString,
    /// User email.
    pub email: String,
    /// Organization id.
    pub org_id: String,
    /// RBAC role.
    pub role: String,
}

impl TwoFactorChallenge {
    /// The user the challenge is for.
    pub fn user(&self) -> UserRef {
        UserRef {
            email: self.email.clone(),
            org_id: self.org_id.clone(),
            role: self.role.clone(),
        }
    }
}

/// `GET /auth/validate`: 200 when the session is valid, 401 otherwise.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidateRequest {
    /// Session token.
    #[serde(rename = "sessionToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub session_token: SecretString,
    /// User email.
    pub email: String,
}
endpoint!(ValidateRequest => Empty, routes::VALIDATE);

/// `GET /auth/me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeRequest {
    /// Session token.
    #[serde(rename = "sessionToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub session_token: SecretString,
}
endpoint!(MeRequest => Profile, routes::ME);

/// The current user, as `me` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profile {
    /// Email.
    pub email: String,
    /// Full name.
    pub fullname: String,
    /// RBAC role.
    pub role: String,
    /// Organization id.
    pub org_id: String,
}

/// `GET /auth/logout`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogoutRequest {
    /// Session token to revoke.
    #[serde(rename = "sessionToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub session_token: SecretString,
    /// User email.
    pub email: String,
}
endpoint!(LogoutRequest => SuccessResponse, routes::LOGOUT);

/// `{"success": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuccessResponse {
    /// Whether the call succeeded.
    pub success: bool,
}

/// `{"success": true, "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageResponse {
    /// Whether the call succeeded.
    pub success: bool,
    /// Human-readable message.
    pub message: String,
}

/// `POST /auth/deleteUser` (owner only), with `Authorization: Bearer <sessionToken>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeleteUserRequest {
    /// The owner's session token; sent as the bearer credential, not in the body.
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub session_token: Option<SecretString>,
    /// Owner email; must match the token identity.
    pub email_owner: String,
    /// Organization id; must match the token organization.
    pub org_id: String,
    /// Email of the user to delete.
    pub user_email: String,
}

impl Endpoint for DeleteUserRequest {
    type Response = MessageResponse;
    fn route(&self) -> &'static Route {
        &routes::DELETE_USER
    }
    fn bearer(&self) -> Option<&SecretString> {
        self.session_token.as_ref()
    }
}

// ------------------------------------------------------ password management

/// `POST /auth/forgot-password` (enumeration-safe).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForgotPasswordRequest {
    /// User email.
    pub email: String,
    /// Role (the API defaults to `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}
endpoint!(ForgotPasswordRequest => MessageResponse, routes::FORGOT_PASSWORD);

/// `POST /auth/reset-password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetPasswordRequest {
    /// Reset token from the email link.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub token: SecretString,
    /// New password satisfying the password rule.
    #[serde(rename = "newPassword", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub new_password: SecretString,
}
endpoint!(ResetPasswordRequest => SuccessResponse, routes::RESET_PASSWORD);

/// `GET /auth/changePassword`: answers a bare HTTP 200.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    /// Current session token.
    #[serde(rename = "sessionToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub session_token: SecretString,
    /// Email in the session token.
    pub email: String,
    /// Current password.
    #[serde(rename = "oldPassword", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub old_password: SecretString,
    /// Replacement password satisfying the password rule.
    #[serde(rename = "newPassword", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub new_password: SecretString,
}
endpoint!(ChangePasswordRequest => Empty, routes::CHANGE_PASSWORD);

// ------------------------------------------------------- email verification

/// `GET /auth/verify-email`: answers an HTML page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyEmailRequest {
    /// Verification token from the email link.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub token: SecretString,
}
endpoint!(VerifyEmailRequest => HtmlPage, routes::VERIFY_EMAIL);

/// `GET /auth/resend-verify-email`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResendVerifyEmailRequest {
    /// A fresh fooBar token for `email`.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub foobar: SecretString,
    /// User email.
    pub email: String,
    /// Role (the API defaults to `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}
endpoint!(ResendVerifyEmailRequest => StatusMessageResponse, routes::RESEND_VERIFY_EMAIL);

/// `{"statusCode": 200, "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusMessageResponse {
    /// HTTP-like status code echoed in the body.
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// Human-readable message.
    pub message: String,
}

// --------------------------------------------------------------- two-factor

/// The identity fields every `/auth/2fa` route carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRef {
    /// User email.
    pub email: String,
    /// Organization id.
    pub org_id: String,
    /// RBAC role.
    pub role: String,
}

/// `POST /auth/2fa/enable`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorEnableRequest {
    /// Current session token.
    #[serde(rename = "sessionToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub session_token: SecretString,
    /// The user.
    #[serde(flatten)]
    pub user: UserRef,
}
endpoint!(TwoFactorEnableRequest => TwoFactorEnableResponse, routes::TWO_FACTOR_ENABLE);

/// A new TOTP secret. All three fields reveal the secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorEnableResponse {
    /// Base32 TOTP secret.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub secret: SecretString,
    /// QR code of the `otpauth://` URL as a `data:image/png;base64,…` URL.
    #[serde(rename = "qrCode", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub qr_code: SecretString,
    /// `otpauth://totp/…` provisioning URL (contains the secret).
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub otpauth_url: SecretString,
}

/// `POST /auth/2fa/verify-setup`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorVerifySetupRequest {
    /// Current session token.
    #[serde(rename = "sessionToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub session_token: SecretString,
    /// The user.
    #[serde(flatten)]
    pub user: UserRef,
    /// Six-digit code from the authenticator.
    #[serde(rename = "totpCode", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub totp_code: SecretString,
    /// The secret `enable` returned.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub secret: SecretString,
}
endpoint!(TwoFactorVerifySetupRequest => RecoveryCodesResponse, routes::TWO_FACTOR_VERIFY_SETUP);

/// Recovery codes (verify-setup adds `success`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodesResponse {
    /// `true` on verify-setup; absent on recovery-codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Single-use 8-character recovery codes.
    #[serde(rename = "recoveryCodes", serialize_with = "expose_vec")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub recovery_codes: Vec<SecretString>,
}

/// `POST /auth/2fa/disable`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorDisableRequest {
    /// Current session token.
    #[serde(rename = "sessionToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub session_token: SecretString,
    /// The user.
    #[serde(flatten)]
    pub user: UserRef,
    /// Current password.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub password: SecretString,
}
endpoint!(TwoFactorDisableRequest => SuccessResponse, routes::TWO_FACTOR_DISABLE);

/// `POST /auth/2fa/verify-2fa`: temp token + TOTP code → session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorVerifyRequest {
    /// The temp token `login` returned.
    #[serde(rename = "tempToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub temp_token: SecretString,
    /// The user.
    #[serde(flatten)]
    pub user: UserRef,
    /// Six-digit authenticator code.
    #[serde(rename = "totpCode", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub totp_code: SecretString,
}
endpoint!(TwoFactorVerifyRequest => TokenResponse, routes::TWO_FACTOR_VERIFY);

/// `POST /auth/2fa/backup/email`: email a 6-digit backup code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorBackupEmailRequest {
    /// The temp token `login` returned.
    #[serde(rename = "tempToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub temp_token: SecretString,
    /// The user.
    #[serde(flatten)]
    pub user: UserRef,
}
endpoint!(TwoFactorBackupEmailRequest => MessageResponse, routes::TWO_FACTOR_BACKUP_EMAIL);

/// `POST /auth/2fa/verify-email-otp`: emailed code → session.
///
/// The document lists no `tempToken` for this route; the code alone, bound to
/// the user, is the credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorVerifyEmailOtpRequest {
    /// The user.
    #[serde(flatten)]
    pub user: UserRef,
    /// Six-digit code from the email.
    #[serde(rename = "emailOTP", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub email_otp: SecretString,
}
endpoint!(TwoFactorVerifyEmailOtpRequest => TokenResponse, routes::TWO_FACTOR_VERIFY_EMAIL_OTP);

/// `POST /auth/2fa/recovery-codes`: regenerate recovery codes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorRecoveryCodesRequest {
    /// Current session token.
    #[serde(rename = "sessionToken", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub session_token: SecretString,
    /// The user.
    #[serde(flatten)]
    pub user: UserRef,
    /// Current password.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub password: SecretString,
}
endpoint!(TwoFactorRecoveryCodesRequest => RecoveryCodesResponse, routes::TWO_FACTOR_RECOVERY_CODES);

/// `POST /auth/2fa/verify-recovery`: recovery code → session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TwoFactorVerifyRecoveryRequest {
    /// The user.
    #[serde(flatten)]
    pub user: UserRef,
    /// One of the recovery codes.
    #[serde(rename = "recoveryCode", serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub recovery_code: SecretString,
}
endpoint!(TwoFactorVerifyRecoveryRequest => RecoveryTokenResponse, routes::TWO_FACTOR_VERIFY_RECOVERY);

/// `{"token": "…", "remainingCodes": 9}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryTokenResponse {
    /// Session token.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password))]
    pub token: SecretString,
    /// Recovery codes left.
    #[serde(rename = "remainingCodes")]
    pub remaining_codes: u32,
}

json_response!(
    TokenResponse,
    LoginResponse,
    Profile,
    SuccessResponse,
    MessageResponse,
    StatusMessageResponse,
    TwoFactorEnableResponse,
    RecoveryCodesResponse,
    RecoveryTokenResponse,
);

/// AuthFlow's error body: `{"message": "…"}` (some errors are plain text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Human-readable message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Endpoint;

    fn s(v: &str) -> SecretString {
        SecretString::from(v)
    }

    fn user() -> UserRef {
        UserRef {
            email: "a@b.co".into(),
            org_id: "o".into(),
            role: "r".into(),
        }
    }

    fn keys<E: Endpoint>(e: &E) -> (Vec<String>, Vec<String>) {
        let v = serde_json::to_value(e).unwrap();
        let mut got: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        got.sort();
        let mut want: Vec<String> = e.route().fields.iter().map(|f| f.name.to_owned()).collect();
        want.sort();
        (got, want)
    }

    /// Every request type serializes exactly the documented parameters of its
    /// route (with every optional one set).
    #[test]
    fn request_types_match_the_route_table() {
        let checks = [
            keys(&FooBarRequest {
                identity: "a@b.co".into(),
                role: Some("r".into()),
            }),
            keys(&SignUpRequest {
                foobar: s("f"),
                email: "e".into(),
                password: s("p"),
                fullname: "n".into(),
                role: "r".into(),
                disclaimed: true,
            }),
            keys(&LoginRequest {
                foobar: s("f"),
                email: "e".into(),
                password: s("p"),
                role: "r".into(),
            }),
            keys(&ValidateRequest {
                session_token: s("t"),
                email: "e".into(),
            }),
            keys(&MeRequest {
                session_token: s("t"),
            }),
            keys(&LogoutRequest {
                session_token: s("t"),
                email: "e".into(),
            }),
            keys(&DeleteUserRequest {
                session_token: Some(s("t")),
                email_owner: "o".into(),
                org_id: "o".into(),
                user_email: "u".into(),
            }),
            keys(&ForgotPasswordRequest {
                email: "e".into(),
                role: Some("r".into()),
            }),
            keys(&ResetPasswordRequest {
                token: s("t"),
                new_password: s("p"),
            }),
            keys(&ChangePasswordRequest {
                session_token: s("t"),
                email: "e".into(),
                old_password: s("o"),
                new_password: s("n"),
            }),
            keys(&VerifyEmailRequest { token: s("t") }),
            keys(&ResendVerifyEmailRequest {
                foobar: s("f"),
                email: "e".into(),
                role: Some("r".into()),
            }),
            keys(&TwoFactorEnableRequest {
                session_token: s("t"),
                user: user(),
            }),
            keys(&TwoFactorVerifySetupRequest {
                session_token: s("t"),
                user: user(),
                totp_code: s("1"),
                secret: s("x"),
            }),
            keys(&TwoFactorDisableRequest {
                session_token: s("t"),
                user: user(),
                password: s("p"),
            }),
            keys(&TwoFactorVerifyRequest {
                temp_token: s("t"),
                user: user(),
                totp_code: s("1"),
            }),
            keys(&TwoFactorBackupEmailRequest {
                temp_token: s("t"),
                user: user(),
            }),
            keys(&TwoFactorVerifyEmailOtpRequest {
                user: user(),
                email_otp: s("1"),
            }),
            keys(&TwoFactorRecoveryCodesRequest {
                session_token: s("t"),
                user: user(),
                password: s("p"),
            }),
            keys(&TwoFactorVerifyRecoveryRequest {
                user: user(),
                recovery_code: s("c"),
            }),
        ];
        assert_eq!(checks.len(), 20);
        for (got, want) in checks {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn disclaimed_is_boolean_like() {
        for (v, want) in [
            ("true", true),
            ("\"true\"", true),
            ("\"1\"", true),
            ("\"yes\"", true),
            ("false", false),
            ("\"0\"", false),
        ] {
            let json = format!(
                r#"{{"foobar":"f","email":"e","password":"p","fullname":"n","role":"r","disclaimed":{v}}}"#
            );
            let req: SignUpRequest = serde_json::from_str(&json).unwrap();
            assert_eq!(req.disclaimed, want, "{v}");
        }
        let bad = r#"{"foobar":"f","email":"e","password":"p","fullname":"n","role":"r","disclaimed":"maybe"}"#;
        assert!(serde_json::from_str::<SignUpRequest>(bad).is_err());
    }
}
