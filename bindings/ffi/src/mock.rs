//! [`MockServer`]: the in-process AuthFlow mock, for the test suites of
//! binding users.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use authflow_mock::{Clock, EmailKind};

use crate::{AuthflowError, FfiResult, Secret, codes};

/// An email the mock captured, with the codes and links found in it.
///
/// Codes and links are plain strings: they are test data of the mock.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Email {
    /// Message id (`msg_…`).
    pub id: String,
    /// Recipient.
    pub to: String,
    /// Sender.
    pub sender: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// When it was sent (mock clock, RFC 3339).
    pub received_at: String,
    /// What it is for: `verification`, `password_reset`, `two_factor_otp`,
    /// `magic_link` or `invite`.
    pub kind: String,
    /// Codes found in it.
    pub codes: Vec<String>,
    /// Links found in it.
    pub links: Vec<String>,
}

impl Email {
    fn from_mock(e: authflow_mock::Email) -> Self {
        let kind = match e.kind {
            EmailKind::Verification => "verification",
            EmailKind::PasswordReset => "password_reset",
            EmailKind::TwoFactorOtp => "two_factor_otp",
            EmailKind::MagicLink => "magic_link",
            EmailKind::Invite => "invite",
        };
        Email {
            id: e.id,
            to: e.to,
            sender: e.from,
            subject: e.subject,
            text: e.text,
            html: e.html,
            received_at: e.received_at,
            kind: kind.to_owned(),
            codes: e.codes,
            links: e.links,
        }
    }
}

/// An AIdenID agent key the mock accepts.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AgentKey {
    /// `aid_…` key.
    pub key: Arc<Secret>,
    /// The organization it is scoped to.
    pub org_id: String,
    /// The project it is scoped to.
    pub project_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// A running in-process mock of the AuthFlow API (and its siblings) on a
/// random loopback port. Stops on [`shutdown`](Self::shutdown) or when the
/// last reference goes.
#[derive(Debug, uniffi::Object)]
pub struct MockServer {
    server: Mutex<Option<authflow_mock::MockServer>>,
    base_url: String,
    clock: Clock,
    org: authflow_mock::OrgSeed,
    flows_admin_token: secrecy::SecretString,
    flows_read_token: secrecy::SecretString,
    agent_key: authflow_mock::aidenid::AgentKeySeed,
    agent_key_with_secrets: authflow_mock::aidenid::AgentKeySeed,
    agent_key_read_only: authflow_mock::aidenid::AgentKeySeed,
}

fn stopped() -> Arc<AuthflowError> {
    AuthflowError::new(codes::MOCK, "the mock server was shut down")
}

impl MockServer {
    fn lock(&self) -> MutexGuard<'_, Option<authflow_mock::MockServer>> {
        self.server.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with<T>(&self, f: impl FnOnce(&authflow_mock::MockServer) -> T) -> FfiResult<T> {
        self.lock().as_ref().map(f).ok_or_else(stopped)
    }
}

impl AgentKey {
    fn from_mock(k: authflow_mock::aidenid::AgentKeySeed) -> Self {
        AgentKey {
            key: Secret::from_sdk(k.key),
            org_id: k.org_id,
            project_id: k.project_id,
            scopes: k.scopes,
        }
    }
}

/// The value of the `token` query parameter of `link`, if any.
fn token_param(link: &str) -> Option<&str> {
    let query = link.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty())
}

#[uniffi::export(async_runtime = "tokio")]
impl MockServer {
    /// Start a mock with a generated organization, owner and keys.
    #[uniffi::constructor]
    pub async fn start() -> FfiResult<Arc<Self>> {
        let server = authflow_mock::MockServer::start()
            .await
            .map_err(AuthflowError::from_mock_start)?;
        Ok(Arc::new(MockServer {
            base_url: server.base_url(),
            clock: server.clock().clone(),
            org: server.default_org().clone(),
            flows_admin_token: server.flows_admin_token(),
            flows_read_token: server.flows_read_token(),
            agent_key: server.agent_key(),
            agent_key_with_secrets: server.agent_key_with_secrets(),
            agent_key_read_only: server.agent_key_read_only(),
            server: Mutex::new(Some(server)),
        }))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The organization API key.
    pub fn api_key(&self) -> Arc<Secret> {
        Secret::from_sdk(self.org.api_key.clone())
    }

    /// The organization id.
    pub fn org_id(&self) -> String {
        self.org.org_id.clone()
    }

    /// The organization owner's email.
    pub fn owner_email(&self) -> String {
        self.org.owner_email.clone()
    }

    /// The organization owner's password.
    pub fn owner_password(&self) -> Arc<Secret> {
        Secret::from_sdk(self.org.owner_password.clone())
    }

    /// The organization owner's role.
    pub fn owner_role(&self) -> String {
        self.org.owner_role.clone()
    }

    /// The Flow admin API's admin bearer token.
    pub fn flows_admin_token(&self) -> Arc<Secret> {
        Secret::from_sdk(self.flows_admin_token.clone())
    }

    /// The Flow admin API's read-only bearer token (writes get 403).
    pub fn flows_read_token(&self) -> Arc<Secret> {
        Secret::from_sdk(self.flows_read_token.clone())
    }

    /// The first AIdenID agent key (identities and runs, read and write).
    pub fn agent_key(&self) -> AgentKey {
        AgentKey::from_mock(self.agent_key.clone())
    }

    /// An AIdenID agent key that also holds `secrets:read` (for
    /// `AidenIdClient::run_secret`).
    pub fn agent_key_with_secrets(&self) -> AgentKey {
        AgentKey::from_mock(self.agent_key_with_secrets.clone())
    }

    /// An AIdenID agent key with read scopes only (writes get 403).
    pub fn agent_key_read_only(&self) -> AgentKey {
        AgentKey::from_mock(self.agent_key_read_only.clone())
    }

    /// The URL of one of the mock's demo targets for reliability runs:
    /// `password_reset` (`/__mock/demo/forgot-password`, mails a reset
    /// link) or `invite` (`/__mock/demo/invite`, mails a 6-digit code).
    /// Append `?drop=true` for a target that never sends the mail.
    pub fn demo_target_url(&self, kind: String) -> FfiResult<String> {
        let path = match kind.as_str() {
            "password_reset" => "forgot-password",
            "invite" => "invite",
            _ => {
                return Err(AuthflowError::new(
                    codes::INVALID_INPUT,
                    "invalid input `kind`: must be password_reset or invite",
                ));
            }
        };
        Ok(format!("{}/__mock/demo/{path}", self.base_url))
    }

    /// The `ml_…` token of the newest AIdenID consumer magic-link email to
    /// `address`, if there is one.
    pub fn magic_link_token(&self, address: String) -> FfiResult<Option<Arc<Secret>>> {
        self.with(|s| {
            s.emails()
                .to(&address)
                .into_iter()
                .rev()
                .filter(|e| e.kind == EmailKind::MagicLink)
                .find_map(|e| {
                    e.links
                        .iter()
                        .filter_map(|l| token_param(l))
                        .find(|t| t.starts_with("ml_"))
                        .map(|t| Secret::new(t.to_owned()))
                })
        })
    }

    /// Every email sent to `address` (case-insensitive), oldest first.
    pub fn emails_to(&self, address: String) -> FfiResult<Vec<Email>> {
        self.with(|s| {
            s.emails()
                .to(&address)
                .into_iter()
                .map(Email::from_mock)
                .collect()
        })
    }

    /// The newest email to `address`, if any.
    pub fn latest_email(&self, address: String) -> FfiResult<Option<Email>> {
        self.with(|s| s.emails().latest(&address).map(Email::from_mock))
    }

    /// Deliver a plain-text email from `sender` to `to` as if it arrived
    /// over SMTP: it lands in the inbox of the AIdenID identity with that
    /// address (codes and links are extracted, inbox stream events are
    /// sent). Returns the ids of the stored messages (empty when no active
    /// identity has the address).
    pub fn deliver_email(
        &self,
        to: String,
        sender: String,
        subject: String,
        text: String,
    ) -> FfiResult<Vec<String>> {
        self.with(|s| {
            authflow_mock::aidenid::inbox::deliver(
                s.state(),
                &authflow_mock::aidenid::inbox::Inbound {
                    from: sender,
                    to: vec![to],
                    subject,
                    text,
                    html: None,
                },
            )
        })
    }

    /// Move the mock's clock forward (expire tokens without sleeping).
    pub fn advance_clock(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    /// Stop the mock's clock: it then moves only by `advance_clock`.
    pub fn freeze_clock(&self) {
        self.clock.freeze();
    }

    /// Let the mock's clock run with real time again (the offset stays).
    pub fn unfreeze_clock(&self) {
        self.clock.unfreeze();
    }

    /// The mock's time, in seconds since the Unix epoch (for TOTP codes
    /// after `advance_clock`).
    pub fn now_secs(&self) -> i64 {
        self.clock.now_secs()
    }

    /// Forget every user, session, email and fault; back to real time.
    pub fn reset(&self) -> FfiResult<()> {
        self.with(|s| s.state().reset())
    }

    /// Stop accepting connections, finish in-flight requests, and wait.
    /// Later calls that need the server fail with code `mock`.
    pub async fn shutdown(&self) {
        let server = self.lock().take();
        if let Some(server) = server {
            server.shutdown().await;
        }
    }
}
