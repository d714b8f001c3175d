//! A key-injecting reverse proxy for the AuthFlow API, so browser code never
//! holds the organization API key.
//!
//! Driven by the shared route table (`authflow::api::routes`): exactly the
//! 20 AuthFlow routes are forwarded, to one fixed upstream origin; a
//! client-supplied `api_key` is removed (query and JSON body) and the
//! configured key injected where the table places it (query for fooBar,
//! signUp, login and resend-verify-email; body for forgot-password).
//! Everything else is answered by the proxy with the error envelope.
//!
//! - [`ProxyLayer`] / [`Proxy`]: the tower layer and service;
//! - [`router`]: a complete axum app (`/healthz`, `/metrics`, the proxy);
//! - [`serve`]: serving it with header limits and graceful shutdown;
//! - the `authflow-proxy` binary (`--listen`, `--upstream`, `--config`).
//!
//! ```no_run
//! use authflow_proxy::{ProxyConfig, ServeOptions, router, serve};
//! use secrecy::SecretString;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = SecretString::from(std::env::var("AUTHFLOW_API_KEY")?);
//! let config = ProxyConfig::builder("https://api.authflow.net", key).build()?;
//! let app = router(config)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, app, ServeOptions::default(), async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await;
//! # Ok(()) }
//! ```
//!
//! Hardening: see [`target`] (request targets), [`headers`] (hop-by-hop,
//! `X-Forwarded-*`, framing), [`scrub`] (the key never reaches the client,
//! logs are redacted) and [`error`] (the envelope).
#![forbid(unsafe_code)]

pub mod breaker;
pub mod config;
mod cookie;
mod cors;
pub mod error;
pub mod headers;
pub mod inject;
pub mod metrics;
pub mod ratelimit;
pub mod scrub;
pub mod server;
mod service;
pub mod target;
mod upstream;

pub use breaker::BreakerBackend;
pub use config::{
    AidenIdFile, AidenIdMode, ConfigError, CookieMode, FileConfig, ProxyConfig, ProxyConfigBuilder,
    RateLimit,
};
pub use error::ProxyError;
pub use ratelimit::RedisRateLimiter;
pub use server::{ServeOptions, serve, serve_handoff};
pub use service::{BoxError, NotFound, Proxy, ProxyLayer, ProxyService};

/// The complete app for `config`: `GET /healthz`, `GET /metrics` and the
/// proxy (see [`ProxyLayer::router`]).
pub fn router(config: ProxyConfig) -> Result<axum::Router, ConfigError> {
    Ok(ProxyLayer::new(config)?.router())
}
