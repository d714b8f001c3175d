//! Password management: forgot-password, reset-password, changePassword.

use secrecy::SecretString;

use super::{AuthFlowClient, check_email, check_new_password, require_secret};
use crate::api::Empty;
use crate::api::authflow::{
    ChangePasswordRequest, ForgotPasswordRequest, MessageResponse, ResetPasswordRequest,
    SuccessResponse,
};
use crate::error::Result;
use crate::transport::Response;

use super::Session;

impl AuthFlowClient {
    /// `POST /auth/forgot-password`: email a reset link. The answer is the
    /// same whether or not the account exists.
    pub async fn forgot_password(
        &self,
        email: &str,
        role: Option<&str>,
    ) -> Result<Response<MessageResponse>> {
        check_email("email", email)?;
        self.send(&ForgotPasswordRequest {
            email: email.to_owned(),
            role: role.map(str::to_owned),
        })
        .await
    }

    /// `POST /auth/reset-password`: set a new password with the emailed token.
    pub async fn reset_password(
        &self,
        token: &SecretString,
        new_password: &SecretString,
    ) -> Result<Response<SuccessResponse>> {
        require_secret("token", token)?;
        check_new_password("newPassword", new_password)?;
        self.send(&ResetPasswordRequest {
            token: token.clone(),
            new_password: new_password.clone(),
        })
        .await
    }

    /// `GET /auth/changePassword`: change the password of a signed-in user.
    pub async fn change_password(
        &self,
        session: &Session,
        old_password: &SecretString,
        new_password: &SecretString,
    ) -> Result<Response<()>> {
        require_secret("sessionToken", &session.token)?;
        check_email("email", &session.email)?;
        require_secret("oldPassword", old_password)?;
        check_new_password("newPassword", new_password)?;
        let req = ChangePasswordRequest {
            session_token: session.token.clone(),
            email: session.email.clone(),
            old_password: old_password.clone(),
            new_password: new_password.clone(),
        };
        Ok(self.send(&req).await?.map(|Empty| ()))
    }
}
