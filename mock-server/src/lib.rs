//! # authflow-mock
//!
//! A faithful implementation of the AuthFlow API that starts in-process in
//! milliseconds, for test suites — and as the `authflow-mock` binary.
//!
//! It behaves like the real service: RS512 JWTs (verifiable against
//! `/.well-known/jwks.json`), argon2id password hashing, real TOTP, single-use
//! codes and links, expiry on a clock tests control, and every email captured
//! with its codes and links extracted.
//!
//! ```no_run
//! use std::time::Duration;
//! use authflow::AuthFlowClient;
//! use authflow_mock::MockServer;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start().await?;
//! let client = AuthFlowClient::builder()
//!     .api_key(server.api_key())
//!     .base_url(server.base_url())
//!     .build()?;
//! let password = secrecy::SecretString::from("TestPass123!");
//! let session = client.sign_up("ada@example.com", &password, "Ada", "detective").await?;
//! let mail = server.emails().latest("ada@example.com").expect("verification email");
//! assert!(mail.links[0].contains("/auth/verify-email?token="));
//! server.clock().advance(Duration::from_secs(13 * 3600));
//! assert!(!client.validate(&session).await?); // sessions live 12 hours
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod aidenid;
pub mod authflow;
pub mod breaker;
pub mod clock;
pub mod control;
pub mod demo;
pub mod envelope;
pub mod error;
pub mod flows;
pub mod idempotency;
pub mod keys;
pub mod mail;
pub mod openapi;
pub mod params;
pub mod state;
pub mod store;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::routing::{get, post};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use clock::Clock;
pub use keys::SigningKey;
pub use mail::{Email, EmailKind, Outbox};
pub use state::{AppState, EmailVerification, PasswordHashing};
pub use store::{MemoryStore, Store};

use crate::state::{Inner, random_hex, sha256};
use crate::store::{Org, User, UserKey};

/// One organization the server starts with: its key and its owner.
#[derive(Clone)]
pub struct OrgSeed {
    /// Organization id.
    pub org_id: String,
    /// Organization API key (`af_` + 32 lowercase hex).
    pub api_key: SecretString,
    /// Owner email.
    pub owner_email: String,
    /// Owner password.
    pub owner_password: SecretString,
    /// Owner role.
    pub owner_role: String,
}

impl fmt::Debug for OrgSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgSeed")
            .field("org_id", &self.org_id)
            .field("owner_email", &self.owner_email)
            .field("owner_role", &self.owner_role)
            .finish_non_exhaustive()
    }
}

impl OrgSeed {
    /// A fresh organization with a random id and key, owner
    /// `owner@example.com` (role `owner`) and a random password that meets
    /// the password rule (generated once per process).
    pub fn generate() -> Self {
        OrgSeed {
            org_id: uuid::Uuid::new_v4().to_string(),
            api_key: SecretString::from(format!("af_{}", random_hex(16))),
            owner_email: "owner@example.com".into(),
            owner_password: generated_owner_password(),
            owner_role: "owner".into(),
        }
    }
}

/// The owner's password hash, memoised per process: seeding (at every start
/// and every `/__mock/reset`) then costs one argon2id hash per distinct
/// password and profile, not one per server. Only hashes are kept.
fn owner_hash(hashing: PasswordHashing, password: &SecretString) -> String {
    use std::collections::HashMap;
    use std::sync::Mutex;
    /// (hashing profile, SHA-256 of the password) → PHC hash.
    type Memo = HashMap<(String, [u8; 32]), String>;
    static MEMO: Mutex<Option<Memo>> = Mutex::new(None);
    let key = (format!("{hashing:?}"), sha256(password.expose_secret()));
    if let Ok(guard) = MEMO.lock()
        && let Some(h) = guard.as_ref().and_then(|m| m.get(&key))
    {
        return h.clone();
    }
    let hash = hashing.hash(password.expose_secret()).unwrap_or_default();
    if let Ok(mut guard) = MEMO.lock() {
        guard
            .get_or_insert_with(HashMap::new)
            .insert(key, hash.clone());
    }
    hash
}

/// The owner password of generated organizations: random, made once per
/// process (each server still has its own organization, key and store).
fn generated_owner_password() -> SecretString {
    static PW: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SecretString::from(
        PW.get_or_init(|| format!("Own3r-{}", random_hex(6)))
            .clone(),
    )
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Binding the listener failed.
    #[error("could not bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The signing key could not be made or loaded.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// A seed was invalid.
    #[error("invalid seed: {0}")]
    Seed(String),
}

/// Builder for a [`MockServer`].
#[derive(Debug)]
#[must_use]
pub struct MockServerBuilder {
    orgs: Vec<OrgSeed>,
    hashing: PasswordHashing,
    key: Option<Arc<SigningKey>>,
    clock: Clock,
    verification: EmailVerification,
    listen: SocketAddr,
    store: Option<Arc<dyn Store>>,
    flow_tokens: Option<flows::FlowTokens>,
    agent_keys: Vec<aidenid::AgentKeySeed>,
    inbox_domain: String,
    sse_heartbeat: std::time::Duration,
    smtp: Option<SocketAddr>,
    breaker: Option<Arc<dyn ::authflow::breaker::BreakerStore>>,
}

impl fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Store")
    }
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        MockServerBuilder {
            orgs: Vec::new(),
            hashing: PasswordHashing::Fast,
            key: None,
            clock: Clock::new(),
            verification: EmailVerification::Optional,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            store: None,
            flow_tokens: None,
            agent_keys: Vec::new(),
            inbox_domain: "inbox.aidenid.test".into(),
            sse_heartbeat: aidenid::inbox::HEARTBEAT,
            smtp: None,
            breaker: None,
        }
    }
}

impl MockServerBuilder {
    /// Add an organization (the first one is the default: [`MockServer::api_key`]).
    /// Without any, one is generated.
    pub fn org(mut self, org: OrgSeed) -> Self {
        self.orgs.push(org);
        self
    }
    /// Password hashing cost (default [`PasswordHashing::Fast`] in-process).
    pub fn password_hashing(mut self, hashing: PasswordHashing) -> Self {
        self.hashing = hashing;
        self
    }
    /// Sign with this key instead of the process-wide generated one.
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.key = Some(Arc::new(key));
        self
    }
    /// Use this clock (share one between servers or with the test).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
    /// Email verification policy (default: login allowed before verification).
    pub fn email_verification(mut self, policy: EmailVerification) -> Self {
        self.verification = policy;
        self
    }
    /// Address to listen on (default `127.0.0.1:0`, a random port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    /// Use this store instead of a fresh [`MemoryStore`].
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The Flow admin API's bearer tokens (default: random ones, see
    /// [`MockServer::flows_admin_token`]).
    pub fn flow_tokens(mut self, tokens: flows::FlowTokens) -> Self {
        self.flow_tokens = Some(tokens);
        self
    }

    /// Add an AIdenID agent key. Without any, three are generated for one
    /// org and project: full access without `secrets:read`
    /// ([`MockServer::agent_key`]), full access with it
    /// ([`MockServer::agent_key_with_secrets`]) and read-only
    /// ([`MockServer::agent_key_read_only`]).
    pub fn agent_key(mut self, key: aidenid::AgentKeySeed) -> Self {
        self.agent_keys.push(key);
        self
    }
    /// Domain of identity inbox addresses (default `inbox.aidenid.test`).
    pub fn inbox_domain(mut self, domain: impl Into<String>) -> Self {
        self.inbox_domain = domain.into().trim().to_lowercase();
        self
    }
    /// Heartbeat interval of the inbox stream (default 15 s).
    pub fn sse_heartbeat(mut self, every: std::time::Duration) -> Self {
        self.sse_heartbeat = every;
        self
    }

    /// Also accept mail over SMTP on a random loopback port
    /// ([`MockServer::smtp_addr`]): applications under test deliver to
    /// identity addresses, and the mail lands in their inboxes.
    pub fn smtp(mut self, on: bool) -> Self {
        self.smtp = on.then(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        self
    }
    /// Accept mail over SMTP on this address.
    pub fn smtp_listen(mut self, addr: SocketAddr) -> Self {
        self.smtp = Some(addr);
        self
    }

    /// The run engine's circuit-breaker store (default: SQLite in a
    /// temporary file, on the mock clock, threshold 5 failures, open 30 s).
    /// Give a Redis store to share breakers between mock processes, or a
    /// failing one to test fail-closed behaviour.
    pub fn breaker_store(mut self, store: Arc<dyn ::authflow::breaker::BreakerStore>) -> Self {
        self.breaker = Some(store);
        self
    }

    /// Build the state without listening (for `oneshot` tests and embedding).
    pub fn build_state(self) -> Result<AppState, StartError> {
        let orgs = if self.orgs.is_empty() {
            vec![OrgSeed::generate()]
        } else {
            self.orgs
        };
        for o in &orgs {
            if !::authflow::api::validation::is_org_api_key(o.api_key.expose_secret()) {
                return Err(StartError::Seed(format!(
                    "org {}: api key must be af_ + 32 lowercase hex",
                    o.org_id
                )));
            }
        }
        let key = match self.key {
            Some(k) => k,
            None => SigningKey::process_default()?,
        };
        let (breaker, breaker_file) = match self.breaker {
            Some(b) => (b, None),
            None => {
                let file = breaker::TempFile::new("authflow-mock-breaker");
                let store = ::authflow::breaker::SqliteStore::open(&file.0)
                    .map_err(|e| StartError::Seed(format!("breaker store: {e}")))?
                    .with_clock(breaker::clock_of(&self.clock));
                (
                    Arc::new(store) as Arc<dyn ::authflow::breaker::BreakerStore>,
                    Some(file),
                )
            }
        };
        let target_client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| StartError::Seed(format!("HTTP client: {}", e.without_url())))?;
        let state = AppState {
            inner: Arc::new(Inner {
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                clock: self.clock,
                key,
                outbox: Arc::new(Outbox::default()),
                hashing: self.hashing,
                verification: self.verification,
                public_url: RwLock::new(String::new()),
                journal: Default::default(),
                faults: Default::default(),
                seed: orgs,
                dummy_hash: std::sync::OnceLock::new(),
                flows: Default::default(),
                flow_tokens: self.flow_tokens.unwrap_or_else(flows::FlowTokens::generate),
                aidenid: aidenid::AidenIdState::new(
                    if self.agent_keys.is_empty() {
                        default_agent_keys()
                    } else {
                        self.agent_keys
                    },
                    self.inbox_domain,
                ),
                idempotency: Default::default(),
                sse_heartbeat: self.sse_heartbeat,
                target_client,
                closing: tokio::sync::watch::channel(false).0,
                breaker,
                _breaker_file: breaker_file,
            }),
        };
        state.seed_orgs();
        Ok(state)
    }

    /// Bind, start serving, and return once the server accepts connections.
    pub async fn start(self) -> Result<MockServer, StartError> {
        let addr = self.listen;
        let smtp_addr = self.smtp;
        let state = self.build_state()?;
        let smtp = match smtp_addr {
            Some(a) => {
                let l = TcpListener::bind(a)
                    .await
                    .map_err(|source| StartError::Bind { addr: a, source })?;
                let st = state.clone();
                let deliver: mail::smtp::Deliver = Arc::new(move |env: mail::smtp::Envelope| {
                    if let Some(parsed) = mail::mime::parse(&env.data) {
                        aidenid::inbox::deliver(
                            &st,
                            &aidenid::inbox::Inbound {
                                from: parsed.from,
                                to: env.rcpt_to.clone(),
                                subject: parsed.subject,
                                text: parsed.text,
                                html: parsed.html,
                            },
                        );
                    }
                });
                Some(
                    mail::smtp::start(l, deliver)
                        .await
                        .map_err(|source| StartError::Bind { addr: a, source })?,
                )
            }
            None => None,
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        if let Ok(mut u) = state.inner.public_url.write() {
            *u = format!("http://{local}");
        }
        let (tx, rx) = oneshot::channel::<()>();
        let router = app(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(MockServer {
            addr: local,
            state,
            shutdown: Some(tx),
            task: Some(task),
            smtp,
        })
    }
}

impl AppState {
    fn seed_orgs(&self) {
        for o in &self.inner.seed {
            let owner_email = o.owner_email.trim().to_lowercase();
            self.store().put_org(Org {
                id: o.org_id.clone(),
                api_key_hash: sha256(o.api_key.expose_secret()),
                owner_email: owner_email.clone(),
            });
            let hash = owner_hash(self.hashing(), &o.owner_password);
            self.store().insert_user(User {
                key: UserKey::new(&o.org_id, &owner_email, &o.owner_role),
                fullname: "Organization Owner".into(),
                password_hash: hash,
                disclaimed: "true".into(),
                totp_pending: None,
                verified: true,
                owner: true,
                totp_secret: None,
                totp_last_step: None,
                recovery_codes: Vec::new(),
                created_at: self.now(),
            });
        }
    }

    /// Forget everything: users, sessions, tokens, emails, journal, faults;
    /// the clock returns to real time and the seeded organizations come back.
    pub fn reset(&self) {
        self.store().clear();
        self.outbox().clear();
        self.inner.journal.clear();
        self.inner.faults.clear();
        self.inner.flows.clear();
        self.inner.aidenid.clear();
        self.inner.idempotency.clear();
        self.clock().reset();
        self.seed_orgs();
    }
}

/// The router: every route of the route table (AuthFlow and Flow admin),
/// the JWKS, the OpenAPI document and the test-control API. Usable without a
/// socket (`tower::ServiceExt::oneshot`).
pub fn app(state: AppState) -> Router {
    use ::authflow::api::Api;
    let mut router = Router::new();
    for route in ::authflow::api::routes::ROUTES {
        let handler = match route.api {
            Api::AuthFlow => authflow::handler(route),
            Api::Flows => flows::handler(route),
            Api::AidenId | Api::Consumer => aidenid::handler(route),
            _ => None,
        };
        if let Some(mut h) = handler {
            if route.idempotency_key {
                h = h.layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    idempotency::layer,
                ));
            }
            router = router.route(route.path, h);
        }
    }
    router
        .route("/.well-known/jwks.json", get(jwks))
        .route("/openapi.json", get(openapi_json))
        .route("/__mock/emails", get(control::emails))
        .route("/__mock/clock/advance", post(control::advance_clock))
        .route("/__mock/clock/freeze", post(control::freeze_clock))
        .route("/__mock/clock/unfreeze", post(control::unfreeze_clock))
        .route("/__mock/reset", post(control::reset))
        .route("/__mock/requests", get(control::requests))
        .route(
            "/__mock/faults",
            post(control::set_fault).delete(control::clear_faults),
        )
        .route("/__mock/flows/{id}/plan", get(flows::plan))
        .route(
            "/__mock/checkout/{id}",
            get(aidenid::consumer::checkout_page),
        )
        .route(
            "/__mock/checkout/{id}/complete",
            post(aidenid::consumer::complete_checkout),
        )
        .route("/__mock/inbound", post(control::inbound))
        .route("/__mock/demo/forgot-password", post(demo::forgot_password))
        .route("/__mock/demo/invite", post(demo::invite))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            control::journal_and_faults,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            envelope::finish,
        ))
        .with_state(state)
}

/// The default agent keys: one org and project; full access without
/// `secrets:read`, full access with it, and read-only.
fn default_agent_keys() -> Vec<aidenid::AgentKeySeed> {
    let full = aidenid::AgentKeySeed::generate(&[
        "identities:read",
        "identities:write",
        "runs:read",
        "runs:write",
    ]);
    let with_secrets = aidenid::AgentKeySeed {
        key: SecretString::from(format!("aid_{}", random_hex(16))),
        scopes: aidenid::store::ALL_SCOPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        ..full.clone()
    };
    let read_only = aidenid::AgentKeySeed {
        key: SecretString::from(format!("aid_{}", random_hex(16))),
        scopes: vec!["identities:read".into(), "runs:read".into()],
        ..full.clone()
    };
    vec![full, with_secrets, read_only]
}

/// Whether a path belongs to an API that answers with the error envelope.
pub(crate) fn uses_envelope(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path.starts_with("/v1/")
}

async fn jwks(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    axum::Json(state.key().jwks())
}

async fn openapi_json(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    axum::Json(openapi::document(&state.public_url()))
}

async fn method_not_allowed(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    if uses_envelope(uri.path()) {
        envelope::EnvelopeError::new(status, "method_not_allowed", "Method not allowed")
            .into_response()
    } else {
        error::ApiError::new(status, "Method not allowed").into_response()
    }
}

async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uses_envelope(uri.path()) {
        envelope::EnvelopeError::not_found("not_found", "No such route").into_response()
    } else {
        error::ApiError::not_found("Not found").into_response()
    }
}

/// A running mock server. Dropping it stops it.
pub struct MockServer {
    addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    smtp: Option<mail::smtp::SmtpServer>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Start a server with the defaults on a random loopback port.
    pub async fn start() -> Result<MockServer, StartError> {
        Self::builder().start().await
    }

    /// A builder.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The SMTP listener's address, if started with
    /// [`MockServerBuilder::smtp`].
    pub fn smtp_addr(&self) -> Option<SocketAddr> {
        self.smtp.as_ref().map(mail::smtp::SmtpServer::local_addr)
    }

    /// The default organization's API key.
    pub fn api_key(&self) -> SecretString {
        self.default_org().api_key.clone()
    }

    /// The default organization's id.
    pub fn org_id(&self) -> String {
        self.default_org().org_id.clone()
    }

    /// The default organization's seed (owner email, password, role).
    pub fn default_org(&self) -> &OrgSeed {
        // Invariant: build_state always seeds at least one organization.
        &self.state.inner.seed[0]
    }

    /// The clock (advance it to expire tokens).
    pub fn clock(&self) -> &Clock {
        self.state.clock()
    }

    /// Every email the server sent.
    pub fn emails(&self) -> &Outbox {
        self.state.outbox()
    }

    /// The Flow admin API's admin bearer token (every route).
    pub fn flows_admin_token(&self) -> SecretString {
        self.state.inner.flow_tokens.admin.clone()
    }

    /// The Flow admin API's read-only bearer token (list, get, validate,
    /// `graph.mmd`; mutations answer 403).
    pub fn flows_read_token(&self) -> SecretString {
        self.state.inner.flow_tokens.read_only.clone()
    }

    /// The first AIdenID agent key (by default: identities and runs, read
    /// and write, without `secrets:read`).
    pub fn agent_key(&self) -> aidenid::AgentKeySeed {
        self.agent_keys()[0].clone()
    }

    /// The default agent key that also holds `secrets:read` (the first key
    /// with it, else the first key).
    pub fn agent_key_with_secrets(&self) -> aidenid::AgentKeySeed {
        let keys = self.agent_keys();
        keys.iter()
            .find(|k| k.scopes.iter().any(|s| s == "secrets:read"))
            .unwrap_or(&keys[0])
            .clone()
    }

    /// The default read-only agent key (the first key without any
    /// `:write` scope, else the first key).
    pub fn agent_key_read_only(&self) -> aidenid::AgentKeySeed {
        let keys = self.agent_keys();
        keys.iter()
            .find(|k| !k.scopes.iter().any(|s| s.ends_with(":write")))
            .unwrap_or(&keys[0])
            .clone()
    }

    /// Every agent key.
    pub fn agent_keys(&self) -> &[aidenid::AgentKeySeed] {
        // Invariant: build_state always configures at least one agent key.
        &self.state.inner.aidenid.agent_keys
    }

    /// The request journal (secrets redacted).
    pub fn requests(&self) -> Vec<control::JournalEntry> {
        self.state.inner.journal.entries()
    }

    /// The server state (store, key, …).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The JWKS the server publishes.
    pub fn jwks(&self) -> serde_json::Value {
        self.state.key().jwks()
    }

    /// Stop accepting connections, finish in-flight requests, and wait.
    pub async fn shutdown(mut self) {
        self.state.inner.closing.send_replace(true);
        if let Some(smtp) = self.smtp.take() {
            smtp.shutdown().await;
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.state.inner.closing.send_replace(true);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
