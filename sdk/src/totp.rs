//! TOTP codes (RFC 6238: SHA-1, 6 digits, 30-second steps), for tests,
//! examples and command-line tools that drive the 2FA routes.
//!
//! ```
//! use authflow::totp;
//! use secrecy::SecretString;
//!
//! let secret = SecretString::from("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
//! let code = totp::code_at(&secret, 1_700_000_000).unwrap();
//! assert_eq!(code.len(), 6);
//! assert!(totp::verify_at(&secret, &code, 1_700_000_000).unwrap());
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use totp_rs::{Builder, Secret, Totp};

use crate::error::{Error, Result};

/// Seconds per TOTP step.
pub const STEP_SECONDS: u64 = 30;

fn totp(secret: &SecretString) -> Result<Totp> {
    let bytes = Secret::try_from_base32(secret.expose_secret().trim())
        .map_err(|_| Error::invalid_input("secret", "is not a base32 TOTP secret"))?;
    // Authenticator apps accept secrets shorter than the RFC's 128-bit
    // recommendation; so does this helper.
    Ok(Builder::new()
        .with_secret(bytes)
        .with_skew(1)
        .build_noncompliant())
}

/// The 6-digit code for `secret` at Unix time `unix_seconds`.
pub fn code_at(secret: &SecretString, unix_seconds: u64) -> Result<String> {
    Ok(totp(secret)?.generate(unix_seconds).to_string())
}

/// The 6-digit code for `secret` now.
pub fn current_code(secret: &SecretString) -> Result<String> {
    code_at(secret, now())
}

/// Whether `code` is valid for `secret` at `unix_seconds`, allowing one step
/// of clock skew either way.
pub fn verify_at(secret: &SecretString, code: &str, unix_seconds: u64) -> Result<bool> {
    Ok(totp(secret)?.check(code, unix_seconds).is_some())
}

/// The step counter `code` matches at `unix_seconds` (±1 step), if any. A
/// server uses it to refuse a code reused within its step.
pub fn matching_step(secret: &SecretString, code: &str, unix_seconds: u64) -> Result<Option<u64>> {
    Ok(totp(secret)?.check(code, unix_seconds))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", last 6 digits.
        let secret = SecretString::from("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(&secret, t).unwrap(), code, "t={t}");
        }
    }

    #[test]
    fn skew_and_bad_secret() {
        let secret = SecretString::from("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let code = code_at(&secret, 1_000_000_000).unwrap();
        assert!(verify_at(&secret, &code, 1_000_000_030).unwrap());
        assert!(!verify_at(&secret, &code, 1_000_000_090).unwrap());
        let err = code_at(&SecretString::from("not base32!"), 0).unwrap_err();
        assert!(err.is_invalid_input());
        assert!(!err.to_string().contains("not base32!"));
    }
}
