//! [`AuthFlowClient`] and [`Challenge`]: the AuthFlow `/auth` client, and the
//! records they exchange.

use std::sync::Arc;

use authflow::api::authflow as wire;

use crate::{AuthflowError, FfiResult, Secret};

/// A signed-in user: the session token and the email it belongs to.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Session {
    /// The session token.
    pub token: Arc<Secret>,
    /// The user's email.
    pub email: String,
}

impl Session {
    fn from_sdk(s: authflow::Session) -> Self {
        Session {
            token: Secret::from_sdk(s.token),
            email: s.email,
        }
    }

    fn to_sdk(&self) -> authflow::Session {
        authflow::Session::new(self.token.to_sdk(), self.email.clone())
    }
}

/// The user a 2FA route is about: email, organization and role.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UserRef {
    /// Email.
    pub email: String,
    /// Organization id.
    pub org_id: String,
    /// Role.
    pub role: String,
}

impl UserRef {
    fn from_sdk(u: &wire::UserRef) -> Self {
        UserRef {
            email: u.email.clone(),
            org_id: u.org_id.clone(),
            role: u.role.clone(),
        }
    }

    fn to_sdk(&self) -> wire::UserRef {
        wire::UserRef {
            email: self.email.clone(),
            org_id: self.org_id.clone(),
            role: self.role.clone(),
        }
    }
}

/// The profile behind a session (`GET /auth/me`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Profile {
    /// Email.
    pub email: String,
    /// Full name.
    pub fullname: String,
    /// Role.
    pub role: String,
    /// Organization id.
    pub org_id: String,
}

/// A new TOTP secret from `2fa/enable`: every field reveals it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct TotpSetup {
    /// Base32 secret.
    pub secret: Arc<Secret>,
    /// `data:image/png;base64,…` QR code of the provisioning URL.
    pub qr_code: Arc<Secret>,
    /// `otpauth://totp/…` provisioning URL.
    pub otpauth_url: Arc<Secret>,
}

/// A session obtained with a recovery code.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RecoverySession {
    /// The new session.
    pub session: Session,
    /// Recovery codes left.
    pub remaining_codes: u32,
}

/// What a login produces.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum LoginOutcome {
    /// Signed in.
    Session {
        /// The session.
        session: Session,
    },
    /// The user has 2FA on: complete one of the challenge's exchanges.
    TwoFactorRequired {
        /// The challenge (holds the single-use, 5-minute temp token).
        challenge: Arc<Challenge>,
    },
}

/// The 2FA challenge a login returned.
#[derive(Debug, uniffi::Object)]
pub struct Challenge {
    inner: authflow::Challenge,
}

#[uniffi::export(async_runtime = "tokio")]
impl Challenge {
    /// The user being signed in.
    pub fn user(&self) -> UserRef {
        UserRef::from_sdk(self.inner.user())
    }

    /// The temp token, to complete the exchange elsewhere
    /// ([`AuthFlowClient::verify_2fa`]).
    pub fn temp_token(&self) -> Arc<Secret> {
        Secret::from_sdk(self.inner.temp_token().clone())
    }

    /// The request id of the login call.
    pub fn request_id(&self) -> Option<String> {
        self.inner.request_id().map(str::to_owned)
    }

    /// `POST /auth/2fa/verify-2fa`: complete with an authenticator code.
    pub async fn verify_totp(&self, code: Arc<Secret>) -> FfiResult<Session> {
        let r = self.inner.verify_totp(code.inner()).await.map_err(sdk)?;
        Ok(Session::from_sdk(r.into_inner()))
    }

    /// `POST /auth/2fa/backup/email`: email a 6-digit backup code to the user.
    pub async fn send_backup_email(&self) -> FfiResult<()> {
        self.inner.send_backup_email().await.map_err(sdk)?;
        Ok(())
    }

    /// `POST /auth/2fa/verify-email-otp`: complete with the emailed code.
    pub async fn verify_email_otp(&self, otp: Arc<Secret>) -> FfiResult<Session> {
        let r = self
            .inner
            .verify_email_otp(otp.inner())
            .await
            .map_err(sdk)?;
        Ok(Session::from_sdk(r.into_inner()))
    }

    /// `POST /auth/2fa/verify-recovery`: complete with a recovery code.
    pub async fn verify_recovery_code(&self, code: Arc<Secret>) -> FfiResult<RecoverySession> {
        let r = self
            .inner
            .verify_recovery_code(code.inner())
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(RecoverySession {
            session: Session::from_sdk(r.session),
            remaining_codes: r.remaining_codes,
        })
    }
}

/// Client for the AuthFlow `/auth` API. Cheap to share.
#[derive(Debug, uniffi::Object)]
pub struct AuthFlowClient {
    inner: authflow::AuthFlowClient,
}

fn sdk(e: authflow::Error) -> Arc<AuthflowError> {
    AuthflowError::from_sdk(e)
}

fn secrets(v: Vec<secrecy::SecretString>) -> Vec<Arc<Secret>> {
    v.into_iter().map(Secret::from_sdk).collect()
}

#[uniffi::export(async_runtime = "tokio")]
impl AuthFlowClient {
    /// A client with the organization key (`af_` + 32 lowercase hex) for
    /// `base_url` (default: the public API).
    #[uniffi::constructor]
    pub fn new(api_key: Arc<Secret>, base_url: Option<String>) -> FfiResult<Arc<Self>> {
        let mut b = authflow::AuthFlowClient::builder().api_key(api_key.to_sdk());
        if let Some(url) = base_url {
            b = b.base_url(url);
        }
        Ok(Arc::new(AuthFlowClient {
            inner: b.build().map_err(sdk)?,
        }))
    }

    /// A client for a key-injecting proxy at `base_url`; it holds no key.
    #[uniffi::constructor]
    pub fn via_proxy(base_url: String) -> FfiResult<Arc<Self>> {
        Ok(Arc::new(AuthFlowClient {
            inner: authflow::AuthFlowClient::via_proxy(base_url).map_err(sdk)?,
        }))
    }

    /// The base URL.
    pub fn base_url(&self) -> String {
        self.inner.base_url().to_owned()
    }

    /// `GET /auth/signUp`: create a user and return their session.
    pub async fn sign_up(
        &self,
        email: String,
        password: Arc<Secret>,
        fullname: String,
        role: String,
    ) -> FfiResult<Session> {
        let r = self
            .inner
            .sign_up(&email, password.inner(), &fullname, &role)
            .await
            .map_err(sdk)?;
        Ok(Session::from_sdk(r.into_inner()))
    }

    /// `GET /auth/login`: a session, or a 2FA challenge.
    pub async fn login(
        &self,
        email: String,
        password: Arc<Secret>,
        role: String,
    ) -> FfiResult<LoginOutcome> {
        Ok(
            match self
                .inner
                .login(&email, password.inner(), &role)
                .await
                .map_err(sdk)?
            {
                authflow::LoginOutcome::Session(s) => LoginOutcome::Session {
                    session: Session::from_sdk(s.into_inner()),
                },
                authflow::LoginOutcome::TwoFactorRequired(c) => LoginOutcome::TwoFactorRequired {
                    challenge: Arc::new(Challenge { inner: c }),
                },
            },
        )
    }

    /// `GET /auth/validate`: `true` if the session is valid, `false` on 401.
    pub async fn validate(&self, session: Session) -> FfiResult<bool> {
        self.inner.validate(&session.to_sdk()).await.map_err(sdk)
    }

    /// `GET /auth/me`: the profile behind a session token.
    pub async fn me(&self, session_token: Arc<Secret>) -> FfiResult<Profile> {
        let p = self
            .inner
            .me(session_token.inner())
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(Profile {
            email: p.email,
            fullname: p.fullname,
            role: p.role,
            org_id: p.org_id,
        })
    }

    /// `GET /auth/logout`: revoke the session.
    pub async fn logout(&self, session: Session) -> FfiResult<()> {
        self.inner.logout(&session.to_sdk()).await.map_err(sdk)?;
        Ok(())
    }

    /// `POST /auth/deleteUser` (organization owner only): delete `user_email`.
    pub async fn delete_user(
        &self,
        owner: Session,
        org_id: String,
        user_email: String,
    ) -> FfiResult<()> {
        self.inner
            .delete_user(&owner.to_sdk(), &org_id, &user_email)
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// `POST /auth/forgot-password`: email a reset link (same answer whether
    /// or not the account exists).
    pub async fn forgot_password(&self, email: String, role: Option<String>) -> FfiResult<()> {
        self.inner
            .forgot_password(&email, role.as_deref())
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// `POST /auth/reset-password`: set a new password with the emailed token.
    pub async fn reset_password(
        &self,
        token: Arc<Secret>,
        new_password: Arc<Secret>,
    ) -> FfiResult<()> {
        self.inner
            .reset_password(token.inner(), new_password.inner())
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// `GET /auth/changePassword`: change the password of a signed-in user.
    pub async fn change_password(
        &self,
        session: Session,
        old_password: Arc<Secret>,
        new_password: Arc<Secret>,
    ) -> FfiResult<()> {
        self.inner
            .change_password(
                &session.to_sdk(),
                old_password.inner(),
                new_password.inner(),
            )
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// `GET /auth/verify-email`: verify with the emailed token.
    pub async fn verify_email(&self, token: Arc<Secret>) -> FfiResult<()> {
        self.inner.verify_email(token.inner()).await.map_err(sdk)?;
        Ok(())
    }

    /// `GET /auth/resend-verify-email`: send the verification email again.
    pub async fn resend_verification(&self, email: String, role: Option<String>) -> FfiResult<()> {
        self.inner
            .resend_verification(&email, role.as_deref())
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// `POST /auth/2fa/enable`: start TOTP setup.
    pub async fn enable_totp(
        &self,
        session_token: Arc<Secret>,
        user: UserRef,
    ) -> FfiResult<TotpSetup> {
        let s = self
            .inner
            .enable_totp(session_token.inner(), &user.to_sdk())
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(TotpSetup {
            secret: Secret::from_sdk(s.secret),
            qr_code: Secret::from_sdk(s.qr_code),
            otpauth_url: Secret::from_sdk(s.otpauth_url),
        })
    }

    /// `POST /auth/2fa/verify-setup`: confirm the first code and turn 2FA on;
    /// returns the recovery codes.
    pub async fn verify_totp_setup(
        &self,
        session_token: Arc<Secret>,
        user: UserRef,
        code: Arc<Secret>,
        secret: Arc<Secret>,
    ) -> FfiResult<Vec<Arc<Secret>>> {
        let codes = self
            .inner
            .verify_totp_setup(
                session_token.inner(),
                &user.to_sdk(),
                code.inner(),
                secret.inner(),
            )
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(secrets(codes))
    }

    /// `POST /auth/2fa/disable`: turn 2FA off (needs the password).
    pub async fn disable_totp(
        &self,
        session_token: Arc<Secret>,
        user: UserRef,
        password: Arc<Secret>,
    ) -> FfiResult<()> {
        self.inner
            .disable_totp(session_token.inner(), &user.to_sdk(), password.inner())
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// `POST /auth/2fa/recovery-codes`: replace the recovery codes.
    pub async fn regenerate_recovery_codes(
        &self,
        session_token: Arc<Secret>,
        user: UserRef,
        password: Arc<Secret>,
    ) -> FfiResult<Vec<Arc<Secret>>> {
        let codes = self
            .inner
            .regenerate_recovery_codes(session_token.inner(), &user.to_sdk(), password.inner())
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(secrets(codes))
    }

    /// `POST /auth/2fa/verify-2fa`: temp token + authenticator code → session.
    pub async fn verify_2fa(
        &self,
        temp_token: Arc<Secret>,
        user: UserRef,
        code: Arc<Secret>,
    ) -> FfiResult<Session> {
        let r = self
            .inner
            .verify_2fa(temp_token.inner(), &user.to_sdk(), code.inner())
            .await
            .map_err(sdk)?;
        Ok(Session::from_sdk(r.into_inner()))
    }

    /// `POST /auth/2fa/backup/email`: email a 6-digit backup code.
    pub async fn send_backup_email(&self, temp_token: Arc<Secret>, user: UserRef) -> FfiResult<()> {
        self.inner
            .send_backup_email(temp_token.inner(), &user.to_sdk())
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// `POST /auth/2fa/verify-email-otp`: emailed code → session.
    pub async fn verify_email_otp(&self, user: UserRef, otp: Arc<Secret>) -> FfiResult<Session> {
        let r = self
            .inner
            .verify_email_otp(&user.to_sdk(), otp.inner())
            .await
            .map_err(sdk)?;
        Ok(Session::from_sdk(r.into_inner()))
    }

    /// `POST /auth/2fa/verify-recovery`: recovery code → session.
    pub async fn verify_recovery_code(
        &self,
        user: UserRef,
        code: Arc<Secret>,
    ) -> FfiResult<RecoverySession> {
        let r = self
            .inner
            .verify_recovery_code(&user.to_sdk(), code.inner())
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(RecoverySession {
            session: Session::from_sdk(r.session),
            remaining_codes: r.remaining_codes,
        })
    }
}
