//! The typed AuthFlow client: all 20 `/auth` routes.
//!
//! ```no_run
//! use authflow::{AuthFlowClient, LoginOutcome};
//! use secrecy::SecretString;
//!
//! # async fn run() -> authflow::Result<()> {
//! let client = AuthFlowClient::new(SecretString::from(std::env::var("AUTHFLOW_API_KEY").unwrap()))?;
//! let password = SecretString::from("TestPass123!");
//! match client.login("user@example.com", &password, "detective").await? {
//!     LoginOutcome::Session(session) => println!("signed in as {}", session.email),
//!     LoginOutcome::TwoFactorRequired(challenge) => {
//!         let code = SecretString::from("123456"); // from the user's authenticator
//!         let session = challenge.verify_totp(&code).await?;
//!         println!("signed in as {} after 2FA", session.email);
//!     }
//! }
//! # Ok(()) }
//! ```

mod email;
mod password;
mod session;
mod two_factor;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

pub use session::{LoginOutcome, Session};
pub use two_factor::{Challenge, RecoverySession, TotpSetup};

use crate::api::Endpoint;
use crate::api::validation::{is_email_shaped, is_org_api_key, password_meets_rule};
use crate::error::{Error, Result};
use crate::transport::{RequestOptions, Response, RetryPolicy, Sleep, Transport, TransportBuilder};

/// Client for the AuthFlow `/auth` API. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct AuthFlowClient {
    transport: Transport,
    options: Arc<RequestOptions>,
}

impl fmt::Debug for AuthFlowClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthFlowClient")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// Builder for an [`AuthFlowClient`].
///
/// ```
/// use std::time::Duration;
/// use authflow::{AuthFlowClient, transport::RetryPolicy};
/// use secrecy::SecretString;
///
/// let client = AuthFlowClient::builder()
///     .api_key(SecretString::from("af_0123456789abcdef0123456789abcdef"))
///     .base_url("http://127.0.0.1:4010")
///     .timeout(Duration::from_secs(10))
///     .retry(RetryPolicy::default().max_retries(3))
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url(), "http://127.0.0.1:4010");
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct AuthFlowClientBuilder {
    transport: TransportBuilder,
    api_key: Option<SecretString>,
    via_proxy: bool,
}

impl AuthFlowClientBuilder {
    /// The organization API key (`af_` + 32 lowercase hex).
    pub fn api_key(mut self, key: SecretString) -> Self {
        self.api_key = Some(key);
        self
    }
    /// Send no key at all: a key-injecting proxy at the base URL adds it.
    pub fn via_proxy(mut self) -> Self {
        self.via_proxy = true;
        self
    }
    /// Base URL (default `https://api.authflow.net`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.transport = self.transport.base_url(url);
        self
    }
    /// Total timeout of one attempt (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.transport = self.transport.timeout(t);
        self
    }
    /// Connect timeout (default 5 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.transport = self.transport.connect_timeout(t);
        self
    }
    /// Default retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.transport = self.transport.retry(policy);
        self
    }
    /// Use your own `reqwest::Client`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.transport = self.transport.http_client(client);
        self
    }
    /// `User-Agent` header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.transport = self.transport.user_agent(ua);
        self
    }
    /// The sleep between retries (tests inject one that does not wait).
    pub fn sleeper(mut self, sleep: Arc<dyn Sleep>) -> Self {
        self.transport = self.transport.sleeper(sleep);
        self
    }

    /// Build the client. Fails with [`Error::InvalidInput`] for a missing or
    /// malformed key (unless in proxy mode) and [`Error::Config`] for a bad URL.
    pub fn build(self) -> Result<AuthFlowClient> {
        let key = if self.via_proxy {
            None
        } else {
            let key = self
                .api_key
                .ok_or_else(|| Error::invalid_input("api_key", "is required (or use via_proxy)"))?;
            if !is_org_api_key(key.expose_secret()) {
                return Err(Error::invalid_input(
                    "api_key",
                    "must be `af_` followed by 32 lowercase hex characters",
                ));
            }
            Some(key)
        };
        Ok(AuthFlowClient {
            transport: self.transport.org_api_key(key).build()?,
            options: Arc::new(RequestOptions::default()),
        })
    }
}

impl AuthFlowClient {
    /// A client for the public API with this organization key.
    pub fn new(api_key: SecretString) -> Result<Self> {
        Self::builder().api_key(api_key).build()
    }

    /// A client that talks to a key-injecting proxy at `url` and holds no key.
    pub fn via_proxy(url: impl Into<String>) -> Result<Self> {
        Self::builder().via_proxy().base_url(url).build()
    }

    /// A builder.
    pub fn builder() -> AuthFlowClientBuilder {
        AuthFlowClientBuilder::default()
    }

    /// A handle whose calls use `options` over the client's defaults (timeout,
    /// retry policy, idempotency key, extra headers). Cheap.
    pub fn with_options(&self, options: RequestOptions) -> Self {
        AuthFlowClient {
            transport: self.transport.clone(),
            options: Arc::new(options.merged_over(&self.options)),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        self.transport.base_url()
    }

    /// The underlying transport, to send any [`Endpoint`] directly.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    async fn send<E: Endpoint>(&self, request: &E) -> Result<Response<E::Response>> {
        self.transport.send(request, &self.options).await
    }
}

// ----------------------------------------------------------- input checks

fn require(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(field, "is required"));
    }
    Ok(())
}

fn require_secret(field: &'static str, value: &SecretString) -> Result<()> {
    require(field, value.expose_secret())
}

fn check_email(field: &'static str, email: &str) -> Result<()> {
    require(field, email)?;
    if !is_email_shaped(email) {
        return Err(Error::invalid_input(field, "is not an email address"));
    }
    Ok(())
}

fn check_new_password(field: &'static str, password: &SecretString) -> Result<()> {
    require_secret(field, password)?;
    if !password_meets_rule(password.expose_secret()) {
        return Err(Error::invalid_input(
            field,
            "does not meet the password rule (8-32 characters with a letter, a digit and one of !@#$%^&*-)",
        ));
    }
    Ok(())
}

fn check_digits(field: &'static str, code: &SecretString, len: usize) -> Result<()> {
    let c = code.expose_secret().trim();
    if c.len() != len || !c.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_input(field, format!("must be {len} digits")));
    }
    Ok(())
}
