//! # authflow
//!
//! A typed async client for the AuthFlow auth API and the Flow admin API
//! (and, as it lands, AIdenID), built on one description of the wire: the
//! [`api`] module's request/response types and route table, shared with the
//! mock server and the key-injecting proxy.
//!
//! - secrets are [`secrecy::SecretString`] end to end and never appear in
//!   `Debug`, `Display`, error text or `tracing` output;
//! - bounded retries with backoff and jitter, `Retry-After`, idempotency keys;
//! - one typed [`Error`] with predicates.
//!
//! ```no_run
//! use authflow::{AuthFlowClient, LoginOutcome};
//! use secrecy::SecretString;
//!
//! # async fn run() -> authflow::Result<()> {
//! let client = AuthFlowClient::builder()
//!     .api_key(SecretString::from("af_0123456789abcdef0123456789abcdef"))
//!     .base_url("http://127.0.0.1:4010")
//!     .build()?;
//! let password = SecretString::from("TestPass123!");
//! let session = client.sign_up("ada@example.com", &password, "Ada Lovelace", "detective").await?;
//! assert!(client.validate(&session).await?);
//! # Ok(()) }
//! ```
//!
//! Without the default `client` feature the crate has no I/O: the wire model,
//! route table, validation rules, [`totp`] and [`sanitize_for_logs`] only.

#![forbid(unsafe_code)]

pub mod api;
pub mod error;
pub mod sanitize;
pub mod totp;

#[cfg(feature = "client")]
pub mod aidenid;
#[cfg(feature = "client")]
pub mod authflow;
#[cfg(feature = "breaker")]
pub mod breaker;
#[cfg(feature = "client")]
pub mod flows;
#[cfg(feature = "client")]
pub mod sse;
#[cfg(feature = "client")]
pub mod transport;

pub use error::{Error, ErrorCode, Result, TransportKind};
pub use sanitize::sanitize_for_logs;

#[cfg(feature = "client")]
pub use aidenid::{
    AidenIdClient, AidenIdClientBuilder, ConsumerClient, ConsumerClientBuilder, ConsumerSession,
};
#[cfg(feature = "client")]
pub use authflow::{
    AuthFlowClient, AuthFlowClientBuilder, Challenge, LoginOutcome, RecoverySession, Session,
    TotpSetup,
};
#[cfg(feature = "client")]
pub use flows::{FlowsClient, FlowsClientBuilder};
#[cfg(feature = "client")]
pub use transport::{RequestOptions, Response, RetryPolicy};

pub use secrecy;
