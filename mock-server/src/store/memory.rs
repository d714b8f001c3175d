//! The in-memory [`Store`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{EmailOtp, Org, SessionRecord, Store, TokenKind, TokenRecord, User, UserKey};

/// All state in one mutex-guarded struct: simple, and every method is atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    orgs: HashMap<String, Org>,
    users: BTreeMap<UserKey, User>,
    sessions: HashMap<String, SessionRecord>,
    tokens: HashMap<(TokenKind, [u8; 32]), TokenRecord>,
    email_otps: HashMap<UserKey, EmailOtp>,
    login_failures: HashMap<UserKey, Vec<i64>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State half-updated in a
        // way that matters for a mock; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn put_org(&self, org: Org) {
        self.state().orgs.insert(org.id.clone(), org);
    }

    fn org_by_key(&self, api_key_hash: &[u8; 32]) -> Option<Org> {
        self.state()
            .orgs
            .values()
            .find(|o| subtle::ConstantTimeEq::ct_eq(&o.api_key_hash[..], &api_key_hash[..]).into())
            .cloned()
    }

    fn org(&self, org_id: &str) -> Option<Org> {
        self.state().orgs.get(org_id).cloned()
    }

    fn insert_user(&self, user: User) -> bool {
        let mut s = self.state();
        if s.users.contains_key(&user.key) {
            return false;
        }
        s.users.insert(user.key.clone(), user);
        true
    }

    fn user(&self, key: &UserKey) -> Option<User> {
        self.state().users.get(key).cloned()
    }

    fn users_with_email(&self, org_id: &str, email: &str) -> Vec<User> {
        let email = email.trim().to_lowercase();
        self.state()
            .users
            .values()
            .filter(|u| u.key.org_id == org_id && u.key.email == email)
            .cloned()
            .collect()
    }

    fn update_user(&self, user: &User) -> bool {
        let mut s = self.state();
        match s.users.get_mut(&user.key) {
            Some(u) => {
                *u = user.clone();
                true
            }
            None => false,
        }
    }

    fn modify_user(&self, key: &UserKey, f: &mut dyn FnMut(&mut User)) -> Option<User> {
        let mut s = self.state();
        let u = s.users.get_mut(key)?;
        f(u);
        Some(u.clone())
    }

    fn delete_user(&self, key: &UserKey) -> bool {
        let mut s = self.state();
        if s.users.remove(key).is_none() {
            return false;
        }
        s.sessions.retain(|_, r| &r.user != key);
        s.tokens.retain(|_, r| &r.user != key);
        s.email_otps.remove(key);
        s.login_failures.remove(key);
        true
    }

    fn add_session(&self, jti: &str, record: SessionRecord) {
        self.state().sessions.insert(jti.to_owned(), record);
    }

    fn session(&self, jti: &str) -> Option<SessionRecord> {
        self.state().sessions.get(jti).cloned()
    }

    fn revoke_session(&self, jti: &str) -> bool {
        self.state().sessions.remove(jti).is_some()
    }

    fn revoke_user_sessions(&self, user: &UserKey) -> usize {
        let mut s = self.state();
        let before = s.sessions.len();
        s.sessions.retain(|_, r| &r.user != user);
        before - s.sessions.len()
    }

    fn put_token(&self, kind: TokenKind, hash: [u8; 32], record: TokenRecord) {
        self.state().tokens.insert((kind, hash), record);
    }

    fn token(&self, kind: TokenKind, hash: &[u8; 32]) -> Option<TokenRecord> {
        self.state().tokens.get(&(kind, *hash)).cloned()
    }

    fn take_token(&self, kind: TokenKind, hash: &[u8; 32]) -> Option<TokenRecord> {
        self.state().tokens.remove(&(kind, *hash))
    }

    fn drop_user_tokens(&self, kind: TokenKind, user: &UserKey) {
        self.state()
            .tokens
            .retain(|(k, _), r| !(*k == kind && &r.user == user));
    }

    fn put_email_otp(&self, user: &UserKey, otp: EmailOtp) {
        self.state().email_otps.insert(user.clone(), otp);
    }

    fn with_email_otp(
        &self,
        user: &UserKey,
        f: &mut dyn FnMut(&mut EmailOtp) -> bool,
    ) -> Option<EmailOtp> {
        let mut s = self.state();
        let otp = s.email_otps.get_mut(user)?;
        let keep = f(otp);
        let out = otp.clone();
        if !keep {
            s.email_otps.remove(user);
        }
        Some(out)
    }

    fn record_login_failure(&self, user: &UserKey, at: i64, since: i64) -> usize {
        let mut s = self.state();
        let list = s.login_failures.entry(user.clone()).or_default();
        list.retain(|t| *t >= since);
        list.push(at);
        list.len()
    }

    fn login_failures(&self, user: &UserKey, since: i64) -> (usize, Option<i64>) {
        let s = self.state();
        let Some(list) = s.login_failures.get(user) else {
            return (0, None);
        };
        let recent: Vec<i64> = list.iter().copied().filter(|t| *t >= since).collect();
        (recent.len(), recent.iter().min().copied())
    }

    fn clear_login_failures(&self, user: &UserKey) {
        self.state().login_failures.remove(user);
    }

    fn clear(&self) {
        *self.state() = State::default();
    }
}
