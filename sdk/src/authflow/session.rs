//! Session routes: fooBar, signUp, login, validate, me, logout, deleteUser.

use secrecy::SecretString;

use super::two_factor::Challenge;
use super::{AuthFlowClient, check_email, check_new_password, require, require_secret};
use crate::api::authflow::{
    DeleteUserRequest, FooBarRequest, LoginRequest, LoginResponse, LogoutRequest, MeRequest,
    MessageResponse, Profile, SignUpRequest, SuccessResponse, ValidateRequest,
};
use crate::error::{Error, Result};
use crate::transport::Response;

/// A signed-in user: the session token and the email it belongs to.
#[derive(Debug, Clone)]
pub struct Session {
    /// The RS512 session token.
    pub token: SecretString,
    /// The user's email (needed by `validate`, `logout`, `changePassword`).
    pub email: String,
}

impl Session {
    /// A session from a stored token and its email.
    pub fn new(token: SecretString, email: impl Into<String>) -> Self {
        Session {
            token,
            email: email.into(),
        }
    }
}

/// What [`AuthFlowClient::login`] produces.
#[derive(Debug)]
#[must_use]
pub enum LoginOutcome {
    /// Signed in.
    Session(Response<Session>),
    /// The user has 2FA on: complete one of the challenge's exchanges.
    TwoFactorRequired(Challenge),
}

impl AuthFlowClient {
    /// `GET /auth/fooBar`: a 45-second anti-abuse token for `email`.
    ///
    /// [`sign_up`](Self::sign_up), [`login`](Self::login) and
    /// [`resend_verification`](Self::resend_verification) fetch one themselves.
    pub async fn foobar(&self, email: &str, role: Option<&str>) -> Result<Response<SecretString>> {
        check_email("email", email)?;
        let req = FooBarRequest {
            identity: email.to_owned(),
            role: role.map(str::to_owned),
        };
        Ok(self.send(&req).await?.map(|r| r.token))
    }

    /// The fresh fooBar token fetched right before signUp, login and
    /// resend-verify-email. It never carries the caller's idempotency key,
    /// which belongs to the call it precedes.
    pub(super) async fn fresh_foobar(
        &self,
        email: &str,
        role: Option<&str>,
    ) -> Result<SecretString> {
        let mut options = (*self.options).clone();
        options.idempotency_key = None;
        let req = FooBarRequest {
            identity: email.to_owned(),
            role: role.map(str::to_owned),
        };
        Ok(self
            .transport
            .send(&req, &options)
            .await?
            .into_inner()
            .token)
    }

    /// `GET /auth/signUp`: create a user and return their session.
    ///
    /// Checks the inputs (required fields, email shape, the password rule)
    /// before fetching a fresh fooBar token and calling the route.
    pub async fn sign_up(
        &self,
        email: &str,
        password: &SecretString,
        fullname: &str,
        role: &str,
    ) -> Result<Response<Session>> {
        check_email("email", email)?;
        check_new_password("password", password)?;
        require("fullname", fullname)?;
        require("role", role)?;
        let foobar = self.fresh_foobar(email, Some(role)).await?;
        let req = SignUpRequest {
            foobar,
            email: email.to_owned(),
            password: password.clone(),
            fullname: fullname.to_owned(),
            role: role.to_owned(),
            disclaimed: true,
        };
        Ok(self.send(&req).await?.map(|r| Session::new(r.token, email)))
    }

    /// `GET /auth/login`: a session, or a 2FA challenge when the user has 2FA on.
    pub async fn login(
        &self,
        email: &str,
        password: &SecretString,
        role: &str,
    ) -> Result<LoginOutcome> {
        check_email("email", email)?;
        require_secret("password", password)?;
        require("role", role)?;
        let foobar = self.fresh_foobar(email, Some(role)).await?;
        let req = LoginRequest {
            foobar,
            email: email.to_owned(),
            password: password.clone(),
            role: role.to_owned(),
        };
        let resp = self.send(&req).await?;
        let request_id = resp.request_id().map(str::to_owned);
        let status = resp.status();
        Ok(match resp.into_inner() {
            LoginResponse::Token(t) => LoginOutcome::Session(Response::new(
                Session::new(t.token, email),
                status,
                request_id,
            )),
            LoginResponse::TwoFactor(c) => {
                let user = c.user();
                LoginOutcome::TwoFactorRequired(Challenge::new(
                    self.clone(),
                    c.temp_token,
                    user,
                    request_id,
                ))
            }
        })
    }

    /// `GET /auth/validate`: `Ok(true)` on 200, `Ok(false)` on 401, `Err` otherwise.
    pub async fn validate(&self, session: &Session) -> Result<bool> {
        require_secret("sessionToken", &session.token)?;
        require("email", &session.email)?;
        let req = ValidateRequest {
            session_token: session.token.clone(),
            email: session.email.clone(),
        };
        match self.send(&req).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_unauthorized() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `GET /auth/me`: the profile behind a session token.
    pub async fn me(&self, session_token: &SecretString) -> Result<Response<Profile>> {
        require_secret("sessionToken", session_token)?;
        self.send(&MeRequest {
            session_token: session_token.clone(),
        })
        .await
    }

    /// `GET /auth/logout`: revoke the session.
    pub async fn logout(&self, session: &Session) -> Result<Response<SuccessResponse>> {
        require_secret("sessionToken", &session.token)?;
        require("email", &session.email)?;
        self.send(&LogoutRequest {
            session_token: session.token.clone(),
            email: session.email.clone(),
        })
        .await
    }

    /// `POST /auth/deleteUser` (organization owner only): delete `user_email`.
    pub async fn delete_user(
        &self,
        owner: &Session,
        org_id: &str,
        user_email: &str,
    ) -> Result<Response<MessageResponse>> {
        require_secret("sessionToken", &owner.token)?;
        check_email("email_owner", &owner.email)?;
        require("org_id", org_id)?;
        check_email("user_email", user_email)?;
        if owner.email.eq_ignore_ascii_case(user_email) {
            return Err(Error::invalid_input(
                "user_email",
                "is the owner account, which cannot be deleted",
            ));
        }
        let req = DeleteUserRequest {
            session_token: Some(owner.token.clone()),
            email_owner: owner.email.clone(),
            org_id: org_id.to_owned(),
            user_email: user_email.to_owned(),
        };
        self.send(&req).await
    }
}
