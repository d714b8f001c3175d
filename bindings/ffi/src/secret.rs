//! [`Secret`]: a secret value crossing the FFI boundary.

use std::fmt;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

/// A secret (password, token, code, key). Its `Debug` and `Display` are
/// `[REDACTED]`; the value is read only with [`Secret::expose`], and it never
/// appears in error text.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct Secret(SecretString);

#[uniffi::export]
impl Secret {
    /// Wrap a secret value.
    #[uniffi::constructor]
    pub fn new(value: String) -> Arc<Self> {
        Arc::new(Secret(SecretString::from(value)))
    }

    /// The secret value, in clear. Call it only where the value must leave
    /// the program (a form field, a password manager).
    pub fn expose(&self) -> String {
        self.0.expose_secret().to_owned()
    }
}

impl Secret {
    /// Wrap an SDK secret.
    pub fn from_sdk(value: SecretString) -> Arc<Self> {
        Arc::new(Secret(value))
    }

    /// Wrap a plain string produced by the SDK (e.g. a TOTP code).
    pub fn from_string(value: String) -> Arc<Self> {
        Self::new(value)
    }

    /// The SDK secret inside.
    pub fn inner(&self) -> &SecretString {
        &self.0
    }

    /// A copy of the SDK secret inside.
    pub fn to_sdk(&self) -> SecretString {
        self.0.clone()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_everywhere_but_expose() {
        let s = Secret::new("hunter2-Secret!".into());
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(s.to_string(), "[REDACTED]");
        assert_eq!(s.expose(), "hunter2-Secret!");
    }
}
