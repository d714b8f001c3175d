//! Email the mock sends: captured in an outbox, with the codes and links
//! extracted, so tests read them instead of a real inbox.

pub mod extract;
pub mod mime;
pub mod secret_extract;
pub mod smtp;

use std::sync::Mutex;

use serde::Serialize;

use crate::clock::{Clock, rfc3339};

/// What an email is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// Email verification link.
    Verification,
    /// Password-reset link.
    PasswordReset,
    /// 2FA backup code.
    TwoFactorOtp,
    /// AIdenID consumer magic link.
    MagicLink,
    /// An invitation (demo target).
    Invite,
}

/// A captured email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email {
    /// Message id (`msg_…`).
    pub id: String,
    /// Recipient.
    pub to: String,
    /// Sender.
    pub from: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// When it was sent (mock clock, RFC 3339).
    pub received_at: String,
    /// What it is for.
    pub kind: EmailKind,
    /// Codes found in it (see [`extract::codes`]).
    pub codes: Vec<String>,
    /// Links found in it (see [`extract::links`]).
    pub links: Vec<String>,
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Kind.
    pub kind: EmailKind,
}

/// Every email the server sent, oldest first.
#[derive(Debug, Default)]
pub struct Outbox {
    emails: Mutex<Vec<Email>>,
}

/// The sender address of every mock email.
pub const FROM: &str = "AuthFlow <no-reply@authflow.mock>";

impl Outbox {
    /// Capture an outgoing message (codes and links extracted) and return it.
    pub fn send(&self, clock: &Clock, msg: Outgoing) -> Email {
        let mut codes = extract::codes(&msg.subject);
        let body_text = if msg.text.trim().is_empty() {
            extract::html_to_text(&msg.html)
        } else {
            msg.text.clone()
        };
        for c in extract::codes(&body_text) {
            if !codes.contains(&c) {
                codes.push(c);
            }
        }
        let mut links = extract::links(&msg.text);
        for l in extract::links(&msg.html) {
            if !links.contains(&l) {
                links.push(l);
            }
        }
        let email = Email {
            id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
            to: msg.to.trim().to_lowercase(),
            from: FROM.to_owned(),
            subject: msg.subject,
            text: msg.text,
            html: msg.html,
            received_at: rfc3339(clock.now_millis()),
            kind: msg.kind,
            codes,
            links,
        };
        self.lock().push(email.clone());
        email
    }

    /// Every email to `address` (case-insensitive), oldest first.
    pub fn to(&self, address: &str) -> Vec<Email> {
        let address = address.trim().to_lowercase();
        self.lock()
            .iter()
            .filter(|e| e.to == address)
            .cloned()
            .collect()
    }

    /// Every email, oldest first.
    pub fn all(&self) -> Vec<Email> {
        self.lock().clone()
    }

    /// The newest email to `address`, if any.
    pub fn latest(&self, address: &str) -> Option<Email> {
        self.to(address).pop()
    }

    /// Forget every email.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Email>> {
        self.emails.lock().unwrap_or_else(|p| p.into_inner())
    }
}
