//! The mock's state, behind a trait so handlers never touch a map directly.
//!
//! [`MemoryStore`] is the implementation today (tests and the binary); a
//! file-backed store can implement the same trait. Every method is atomic with
//! respect to the others: single-use tokens are taken, never read-then-deleted.

mod memory;

pub use memory::MemoryStore;

/// An organization and its API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Organization id (a UUID).
    pub id: String,
    /// SHA-256 of the organization API key.
    pub api_key_hash: [u8; 32],
    /// The owner's email.
    pub owner_email: String,
}

/// Identifies a user: organization, email (lower-cased) and role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey {
    /// Organization id.
    pub org_id: String,
    /// Email, lower-cased.
    pub email: String,
    /// Role.
    pub role: String,
}

impl UserKey {
    /// A key with the email normalised to lower case.
    pub fn new(org_id: &str, email: &str, role: &str) -> Self {
        UserKey {
            org_id: org_id.to_owned(),
            email: email.trim().to_lowercase(),
            role: role.to_owned(),
        }
    }
}

/// A user of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Who.
    pub key: UserKey,
    /// Full name.
    pub fullname: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// The `disclaimed` value given at sign-up.
    pub disclaimed: String,
    /// TOTP secret issued by `2fa/enable`, awaiting `verify-setup`.
    pub totp_pending: Option<String>,
    /// Whether the email is verified.
    pub verified: bool,
    /// Whether this is the organization owner.
    pub owner: bool,
    /// Confirmed TOTP secret (base32) when 2FA is on.
    pub totp_secret: Option<String>,
    /// The last TOTP step accepted (a code is single-use within its step).
    pub totp_last_step: Option<u64>,
    /// SHA-256 of each unused recovery code.
    pub recovery_codes: Vec<[u8; 32]>,
    /// Created at (Unix seconds).
    pub created_at: i64,
}

/// What a single-use token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenKind {
    /// Login temp token for the 2FA exchange (5 minutes).
    TwoFactorTemp,
    /// Password-reset link token (1 hour).
    PasswordReset,
    /// Email verification link token.
    EmailVerification,
}

/// A stored single-use token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Whose token.
    pub user: UserKey,
    /// Expires at (Unix seconds).
    pub expires_at: i64,
    /// Failed uses so far (temp tokens allow 5 wrong codes).
    pub attempts: u32,
}

/// A pending 2FA email OTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailOtp {
    /// SHA-256 of the 6-digit code.
    pub code_hash: [u8; 32],
    /// Expires at (Unix seconds).
    pub expires_at: i64,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// An issued, not yet revoked session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Whose session.
    pub user: UserKey,
    /// Expires at (Unix seconds).
    pub expires_at: i64,
}

/// The operations the mock's handlers need.
pub trait Store: Send + Sync + 'static {
    /// Add (or replace) an organization.
    fn put_org(&self, org: Org);
    /// The organization whose key hashes to `api_key_hash`.
    fn org_by_key(&self, api_key_hash: &[u8; 32]) -> Option<Org>;
    /// The organization with this id.
    fn org(&self, org_id: &str) -> Option<Org>;

    /// Insert a new user; `false` if (org, email, role) exists.
    fn insert_user(&self, user: User) -> bool;
    /// A user.
    fn user(&self, key: &UserKey) -> Option<User>;
    /// Every role of an email in an organization.
    fn users_with_email(&self, org_id: &str, email: &str) -> Vec<User>;
    /// Replace a user's record; `false` if it does not exist.
    fn update_user(&self, user: &User) -> bool;
    /// Apply `f` to a user atomically; `None` if absent.
    fn modify_user(&self, key: &UserKey, f: &mut dyn FnMut(&mut User)) -> Option<User>;
    /// Delete a user and everything that belongs to it; `false` if absent.
    fn delete_user(&self, key: &UserKey) -> bool;

    /// Record an issued session.
    fn add_session(&self, jti: &str, record: SessionRecord);
    /// The session if it exists and is unrevoked.
    fn session(&self, jti: &str) -> Option<SessionRecord>;
    /// Revoke one session; `false` if it was not active.
    fn revoke_session(&self, jti: &str) -> bool;
    /// Revoke every session of a user; the number revoked.
    fn revoke_user_sessions(&self, user: &UserKey) -> usize;

    /// Store a single-use token by the SHA-256 of its value.
    fn put_token(&self, kind: TokenKind, hash: [u8; 32], record: TokenRecord);
    /// A token without consuming it.
    fn token(&self, kind: TokenKind, hash: &[u8; 32]) -> Option<TokenRecord>;
    /// Remove and return a token (single use), expired or not.
    fn take_token(&self, kind: TokenKind, hash: &[u8; 32]) -> Option<TokenRecord>;
    /// Remove every token of a kind for a user.
    fn drop_user_tokens(&self, kind: TokenKind, user: &UserKey);

    /// Set (replace) a user's pending email OTP.
    fn put_email_otp(&self, user: &UserKey, otp: EmailOtp);
    /// Apply `f` to the pending OTP atomically; `f` returns whether to keep it.
    fn with_email_otp(
        &self,
        user: &UserKey,
        f: &mut dyn FnMut(&mut EmailOtp) -> bool,
    ) -> Option<EmailOtp>;

    /// Record a failed login at `at`; returns the failures at or after `since`.
    fn record_login_failure(&self, user: &UserKey, at: i64, since: i64) -> usize;
    /// Failed logins at or after `since`, and the oldest of them.
    fn login_failures(&self, user: &UserKey, since: i64) -> (usize, Option<i64>);
    /// Forget a user's failed logins.
    fn clear_login_failures(&self, user: &UserKey);

    /// Drop all state.
    fn clear(&self);
}
