//! Two-factor routes: TOTP enable/verify-setup/disable, recovery codes, and
//! the login challenge exchanges (TOTP, backup email OTP, recovery code).

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::{AuthFlowClient, Session, check_digits, check_email, require, require_secret};
use crate::api::authflow::{
    MessageResponse, SuccessResponse, TwoFactorBackupEmailRequest, TwoFactorDisableRequest,
    TwoFactorEnableRequest, TwoFactorRecoveryCodesRequest, TwoFactorVerifyEmailOtpRequest,
    TwoFactorVerifyRecoveryRequest, TwoFactorVerifyRequest, TwoFactorVerifySetupRequest, UserRef,
};
use crate::error::{Error, Result};
use crate::transport::Response;

/// A new TOTP secret from `2fa/enable`. Every field reveals the secret.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// Base32 secret (for [`crate::totp`] or manual entry).
    pub secret: SecretString,
    /// `data:image/png;base64,…` QR code of the provisioning URL.
    pub qr_code: SecretString,
    /// `otpauth://totp/…` provisioning URL.
    pub otpauth_url: SecretString,
}

/// A session obtained with a recovery code.
#[derive(Debug, Clone)]
pub struct RecoverySession {
    /// The new session.
    pub session: Session,
    /// Recovery codes left.
    pub remaining_codes: u32,
}

/// The 2FA challenge a login returned: complete it with one of its methods.
///
/// The temp token inside is single-use and lives 5 minutes.
#[derive(Clone)]
#[must_use]
pub struct Challenge {
    client: AuthFlowClient,
    temp_token: SecretString,
    user: UserRef,
    request_id: Option<String>,
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("temp_token", &"[REDACTED]")
            .field("user", &self.user)
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl Challenge {
    pub(crate) fn new(
        client: AuthFlowClient,
        temp_token: SecretString,
        user: UserRef,
        request_id: Option<String>,
    ) -> Self {
        Challenge {
            client,
            temp_token,
            user,
            request_id,
        }
    }

    /// The user (email, organization, role) being signed in.
    pub fn user(&self) -> &UserRef {
        &self.user
    }

    /// The temp token, for callers that complete the exchange elsewhere.
    pub fn temp_token(&self) -> &SecretString {
        &self.temp_token
    }

    /// The request id of the login call.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// `POST /auth/2fa/verify-2fa`: complete with an authenticator code.
    pub async fn verify_totp(&self, code: &SecretString) -> Result<Response<Session>> {
        self.client
            .verify_2fa(&self.temp_token, &self.user, code)
            .await
    }

    /// `POST /auth/2fa/backup/email`: email a 6-digit backup code to the user.
    pub async fn send_backup_email(&self) -> Result<Response<MessageResponse>> {
        self.client
            .send_backup_email(&self.temp_token, &self.user)
            .await
    }

    /// `POST /auth/2fa/verify-email-otp`: complete with the emailed code.
    pub async fn verify_email_otp(&self, otp: &SecretString) -> Result<Response<Session>> {
        self.client.verify_email_otp(&self.user, otp).await
    }

    /// `POST /auth/2fa/verify-recovery`: complete with a recovery code.
    pub async fn verify_recovery_code(
        &self,
        code: &SecretString,
    ) -> Result<Response<RecoverySession>> {
        self.client.verify_recovery_code(&self.user, code).await
    }
}

fn check_user(user: &UserRef) -> Result<()> {
    check_email("email", &user.email)?;
    require("org_id", &user.org_id)?;
    require("role", &user.role)
}

fn check_recovery_code(code: &SecretString) -> Result<()> {
    let c = code.expose_secret().trim();
    if c.len() != 8 || !c.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid_input(
            "recoveryCode",
            "must be 8 letters or digits",
        ));
    }
    Ok(())
}

impl AuthFlowClient {
    /// `POST /auth/2fa/enable`: start TOTP setup; returns the secret, its QR
    /// code and provisioning URL. Confirm with [`verify_totp_setup`](Self::verify_totp_setup).
    pub async fn enable_totp(
        &self,
        session_token: &SecretString,
        user: &UserRef,
    ) -> Result<Response<TotpSetup>> {
        require_secret("sessionToken", session_token)?;
        check_user(user)?;
        let req = TwoFactorEnableRequest {
            session_token: session_token.clone(),
            user: user.clone(),
        };
        Ok(self.send(&req).await?.map(|r| TotpSetup {
            secret: r.secret,
            qr_code: r.qr_code,
            otpauth_url: r.otpauth_url,
        }))
    }

    /// `POST /auth/2fa/verify-setup`: confirm the first code and turn 2FA on;
    /// returns the recovery codes (show them to the user once).
    pub async fn verify_totp_setup(
        &self,
        session_token: &SecretString,
        user: &UserRef,
        code: &SecretString,
        secret: &SecretString,
    ) -> Result<Response<Vec<SecretString>>> {
        require_secret("sessionToken", session_token)?;
        check_user(user)?;
        check_digits("totpCode", code, 6)?;
        require_secret("secret", secret)?;
        let req = TwoFactorVerifySetupRequest {
            session_token: session_token.clone(),
            user: user.clone(),
            totp_code: code.clone(),
            secret: secret.clone(),
        };
        Ok(self.send(&req).await?.map(|r| r.recovery_codes))
    }

    /// `POST /auth/2fa/disable`: turn 2FA off (needs the password).
    pub async fn disable_totp(
        &self,
        session_token: &SecretString,
        user: &UserRef,
        password: &SecretString,
    ) -> Result<Response<SuccessResponse>> {
        require_secret("sessionToken", session_token)?;
        check_user(user)?;
        require_secret("password", password)?;
        let req = TwoFactorDisableRequest {
            session_token: session_token.clone(),
            user: user.clone(),
            password: password.clone(),
        };
        self.send(&req).await
    }

    /// `POST /auth/2fa/recovery-codes`: replace the recovery codes (needs the password).
    pub async fn regenerate_recovery_codes(
        &self,
        session_token: &SecretString,
        user: &UserRef,
        password: &SecretString,
    ) -> Result<Response<Vec<SecretString>>> {
        require_secret("sessionToken", session_token)?;
        check_user(user)?;
        require_secret("password", password)?;
        let req = TwoFactorRecoveryCodesRequest {
            session_token: session_token.clone(),
            user: user.clone(),
            password: password.clone(),
        };
        Ok(self.send(&req).await?.map(|r| r.recovery_codes))
    }

    /// `POST /auth/2fa/verify-2fa`: temp token + authenticator code → session.
    pub async fn verify_2fa(
        &self,
        temp_token: &SecretString,
        user: &UserRef,
        code: &SecretString,
    ) -> Result<Response<Session>> {
        require_secret("tempToken", temp_token)?;
        check_user(user)?;
        check_digits("totpCode", code, 6)?;
        let req = TwoFactorVerifyRequest {
            temp_token: temp_token.clone(),
            user: user.clone(),
            totp_code: code.clone(),
        };
        let email = user.email.clone();
        Ok(self.send(&req).await?.map(|r| Session::new(r.token, email)))
    }

    /// `POST /auth/2fa/backup/email`: email a 6-digit backup code.
    pub async fn send_backup_email(
        &self,
        temp_token: &SecretString,
        user: &UserRef,
    ) -> Result<Response<MessageResponse>> {
        require_secret("tempToken", temp_token)?;
        check_user(user)?;
        self.send(&TwoFactorBackupEmailRequest {
            temp_token: temp_token.clone(),
            user: user.clone(),
        })
        .await
    }

    /// `POST /auth/2fa/verify-email-otp`: emailed code → session.
    pub async fn verify_email_otp(
        &self,
        user: &UserRef,
        otp: &SecretString,
    ) -> Result<Response<Session>> {
        check_user(user)?;
        check_digits("emailOTP", otp, 6)?;
        let req = TwoFactorVerifyEmailOtpRequest {
            user: user.clone(),
            email_otp: otp.clone(),
        };
        let email = user.email.clone();
        Ok(self.send(&req).await?.map(|r| Session::new(r.token, email)))
    }

    /// `POST /auth/2fa/verify-recovery`: recovery code → session.
    pub async fn verify_recovery_code(
        &self,
        user: &UserRef,
        code: &SecretString,
    ) -> Result<Response<RecoverySession>> {
        check_user(user)?;
        check_recovery_code(code)?;
        let req = TwoFactorVerifyRecoveryRequest {
            user: user.clone(),
            recovery_code: code.clone(),
        };
        let email = user.email.clone();
        Ok(self.send(&req).await?.map(|r| RecoverySession {
            session: Session::new(r.token, email),
            remaining_codes: r.remaining_codes,
        }))
    }
}
