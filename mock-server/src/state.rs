//! Shared server state and the pieces handlers use.

use std::sync::{Arc, RwLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::control::{Faults, Journal};
use crate::keys::SigningKey;
use crate::mail::Outbox;
use crate::store::Store;

/// argon2id cost profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordHashing {
    /// OWASP's recommendation: m = 19 MiB, t = 2, p = 1.
    Standard,
    /// For test suites: m = 64 KiB, t = 1, p = 1 — still real argon2id.
    Fast,
    /// Explicit parameters (memory KiB, iterations, parallelism).
    Custom {
        /// Memory in KiB.
        m_kib: u32,
        /// Iterations.
        t: u32,
        /// Lanes.
        p: u32,
    },
}

impl PasswordHashing {
    fn params(self) -> (u32, u32, u32) {
        match self {
            PasswordHashing::Standard => (19 * 1024, 2, 1),
            PasswordHashing::Fast => (64, 1, 1),
            PasswordHashing::Custom { m_kib, t, p } => (m_kib, t, p),
        }
    }

    fn argon(self) -> Argon2<'static> {
        let (m, t, p) = self.params();
        let params = Params::new(m, t, p, None).unwrap_or_default();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Hash a password to a PHC string.
    pub fn hash(self, password: &str) -> Option<String> {
        self.argon()
            .hash_password(password.as_bytes())
            .ok()
            .map(|h| h.to_string())
    }

    /// Check a password against a PHC string (its own parameters apply).
    pub fn verify(self, password: &str, phc: &str) -> bool {
        self.argon()
            .verify_password(password.as_bytes(), phc)
            .is_ok()
    }

    /// Describe the parameters (for logs and benchmarks).
    pub fn describe(self) -> String {
        let (m, t, p) = self.params();
        format!("argon2id m={m}KiB t={t} p={p}")
    }
}

/// Whether login needs a verified email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EmailVerification {
    /// Login works before the email is verified (the verification email is still sent).
    #[default]
    Optional,
    /// Login answers 401 until the email is verified.
    RequiredForLogin,
}

/// Everything a handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub key: Arc<SigningKey>,
    pub outbox: Arc<Outbox>,
    pub hashing: PasswordHashing,
    pub verification: EmailVerification,
    pub public_url: RwLock<String>,
    pub journal: Journal,
    pub faults: Faults,
    pub seed: Vec<crate::OrgSeed>,
    /// A hash verified against when a user does not exist, so known and
    /// unknown emails take the same time (made on first need: start-up stays cheap).
    pub dummy_hash: std::sync::OnceLock<String>,
    /// The Flow admin API's flows.
    pub flows: crate::flows::FlowRegistry,
    /// The Flow admin API's bearer tokens.
    pub flow_tokens: crate::flows::FlowTokens,
    /// AIdenID agent and consumer data.
    pub aidenid: crate::aidenid::AidenIdState,
    /// Kept idempotency keys.
    pub idempotency: crate::idempotency::IdempotencyStore,
    /// Heartbeat interval of the inbox stream.
    pub sse_heartbeat: std::time::Duration,
    /// The HTTP client runs call targets with (no redirects followed).
    pub target_client: reqwest::Client,
    /// The run engine's circuit-breaker store.
    pub breaker: std::sync::Arc<dyn authflow::breaker::BreakerStore>,
    /// Set to `true` when the server shuts down: long-lived responses (the
    /// inbox stream) end, so a graceful shutdown does not wait on them.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// The default SQLite breaker file (removed with the state).
    pub _breaker_file: Option<crate::breaker::TempFile>,
}

impl AppState {
    pub(crate) fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }
    pub(crate) fn clock(&self) -> &Clock {
        &self.inner.clock
    }
    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now_secs()
    }
    pub(crate) fn key(&self) -> &SigningKey {
        &self.inner.key
    }
    pub(crate) fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }
    pub(crate) fn hashing(&self) -> PasswordHashing {
        self.inner.hashing
    }
    /// Hash a password with the server's profile (500 only if argon2 itself fails).
    pub(crate) fn hash_password(&self, password: &str) -> crate::error::ApiResult<String> {
        self.inner
            .hashing
            .hash(password)
            .ok_or_else(|| crate::error::ApiError::internal("Could not hash password"))
    }
    /// The dummy hash unknown-user logins verify against.
    pub(crate) fn dummy_hash(&self) -> &str {
        self.inner.dummy_hash.get_or_init(|| {
            self.inner
                .hashing
                .hash("dummy password for timing")
                .unwrap_or_default()
        })
    }
    /// Send an email: captured in the outbox, and delivered to the inbox of
    /// any active AIdenID identity it is addressed to.
    pub(crate) fn send_mail(&self, msg: crate::mail::Outgoing) -> crate::mail::Email {
        let email = self.inner.outbox.send(&self.inner.clock, msg);
        let html = (!email.html.trim().is_empty()).then(|| email.html.clone());
        crate::aidenid::inbox::deliver(
            self,
            &crate::aidenid::inbox::Inbound {
                from: email.from.clone(),
                to: vec![email.to.clone()],
                subject: email.subject.clone(),
                text: email.text.clone(),
                html,
            },
        );
        email
    }
    /// The server's own base URL, for links in emails.
    pub(crate) fn public_url(&self) -> String {
        self.inner
            .public_url
            .read()
            .map(|u| u.clone())
            .unwrap_or_default()
    }
}

/// SHA-256 of a secret (tokens and codes are stored hashed).
pub fn sha256(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random string of `len` characters from `alphabet`.
pub fn random_from(alphabet: &[u8], len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A random `digits`-digit numeric code.
pub fn random_digits(digits: usize) -> String {
    random_from(b"0123456789", digits)
}
