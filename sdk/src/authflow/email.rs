//! Email verification: verify-email, resend-verify-email.

use secrecy::SecretString;

use super::{AuthFlowClient, check_email, require_secret};
use crate::api::HtmlPage;
use crate::api::authflow::{ResendVerifyEmailRequest, StatusMessageResponse, VerifyEmailRequest};
use crate::error::Result;
use crate::transport::Response;

impl AuthFlowClient {
    /// `GET /auth/verify-email`: verify with the emailed token; returns the
    /// HTML page the API renders (401 for an invalid or expired token).
    pub async fn verify_email(&self, token: &SecretString) -> Result<Response<HtmlPage>> {
        require_secret("token", token)?;
        self.send(&VerifyEmailRequest {
            token: token.clone(),
        })
        .await
    }

    /// `GET /auth/resend-verify-email`: send the verification email again
    /// (fetches a fresh fooBar token first).
    pub async fn resend_verification(
        &self,
        email: &str,
        role: Option<&str>,
    ) -> Result<Response<StatusMessageResponse>> {
        check_email("email", email)?;
        let foobar = self.fresh_foobar(email, role).await?;
        self.send(&ResendVerifyEmailRequest {
            foobar,
            email: email.to_owned(),
            role: role.map(str::to_owned),
        })
        .await
    }
}
