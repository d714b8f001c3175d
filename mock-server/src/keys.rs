//! RS512 signing: the RSA key, JWT issue and verification, and the JWKS.
//!
//! Generating a 2048-bit RSA key takes a noticeable moment, so the key is made
//! once per process and shared by every server that was not given its own.

use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The key that signs every token a server issues.
pub struct SigningKey {
    pkcs1_der: Vec<u8>,
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    n: String,
    e: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("RSA key: {0}")]
pub struct KeyError(String);

impl SigningKey {
    /// The process-wide generated key (made on first use).
    pub fn process_default() -> Result<Arc<SigningKey>, KeyError> {
        static KEY: OnceLock<Result<Arc<SigningKey>, String>> = OnceLock::new();
        KEY.get_or_init(|| SigningKey::generate().map(Arc::new).map_err(|e| e.0))
            .clone()
            .map_err(KeyError)
    }

    /// A freshly generated 2048-bit key (takes a moment: prefer
    /// [`SigningKey::process_default`] unless a distinct key is the point).
    pub fn generate() -> Result<SigningKey, KeyError> {
        let mut rng = rsa::rand_core::OsRng;
        let key = RsaPrivateKey::new(&mut rng, 2048).map_err(|e| KeyError(e.to_string()))?;
        SigningKey::from_rsa(&key)
    }

    /// The private key as PKCS#1 DER: for tests that forge tokens with a key
    /// of their own. (This is a mock's throwaway key.)
    pub fn pkcs1_der(&self) -> &[u8] {
        &self.pkcs1_der
    }

    /// Load a PEM private key (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        let key = RsaPrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem))
            .map_err(|_| KeyError("not a PKCS#1 or PKCS#8 PEM RSA private key".into()))?;
        SigningKey::from_rsa(&key)
    }

    fn from_rsa(key: &RsaPrivateKey) -> Result<SigningKey, KeyError> {
        let der = key.to_pkcs1_der().map_err(|e| KeyError(e.to_string()))?;
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
        let decoding =
            DecodingKey::from_rsa_components(&n, &e).map_err(|e| KeyError(e.to_string()))?;
        // RFC 7638-style thumbprint as the key id.
        let thumb = Sha256::digest(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
        let kid = URL_SAFE_NO_PAD.encode(&thumb[..16]);
        Ok(SigningKey {
            pkcs1_der: der.as_bytes().to_vec(),
            kid,
            encoding,
            decoding,
            n,
            e,
        })
    }

    /// The key id carried in every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWKS document (`/.well-known/jwks.json`).
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "RSA", "use": "sig", "alg": "RS512",
                "kid": self.kid, "n": self.n, "e": self.e,
            }]
        })
    }

    /// Sign claims as an RS512 JWT with this key's `kid`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::RS512);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| KeyError(e.to_string()))
    }

    /// Verify an RS512 JWT signed by this key and decode its claims. Only
    /// RS512 is accepted (`none`, HS* and tampered tokens fail), the `kid`
    /// must match, and `exp` is checked against `now` (the mock clock), not
    /// the system clock.
    pub fn verify<C: DeserializeOwned + Expiring>(&self, token: &str, now: i64) -> Option<C> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::RS512 || header.kid.as_deref() != Some(self.kid.as_str()) {
            return None;
        }
        let mut validation = Validation::new(Algorithm::RS512);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<C>(token, &self.decoding, &validation)
            .ok()?
            .claims;
        (claims.exp() > now).then_some(claims)
    }
}

/// Claims with an expiry.
pub trait Expiring {
    /// `exp`, Unix seconds.
    fn exp(&self) -> i64;
}

/// The fooBar anti-abuse token: `{identity, org_id, role, iat, exp = iat + 45}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FooBarClaims {
    /// The email it was issued for.
    pub identity: String,
    /// The organization.
    pub org_id: String,
    /// The role.
    pub role: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
}

impl Expiring for FooBarClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// A session token: `{jti, email, org_id, role, iat, exp}` (plus `kid` in the header).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SessionClaims {
    /// Unique token id (revocation).
    pub jti: String,
    /// The user's email.
    pub email: String,
    /// The organization.
    pub org_id: String,
    /// The role.
    pub role: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
}

impl Expiring for SessionClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> SessionClaims {
        SessionClaims {
            jti: "j".into(),
            email: "a@b.co".into(),
            org_id: "o".into(),
            role: "r".into(),
            iat: now,
            exp: now + 60,
        }
    }

    #[test]
    fn sign_verify_expiry_and_tamper() {
        let key = SigningKey::process_default().unwrap();
        let t = key.sign(&claims(1000)).unwrap();
        assert_eq!(key.verify::<SessionClaims>(&t, 1000), Some(claims(1000)));
        assert_eq!(key.verify::<SessionClaims>(&t, 1060), None, "expired");
        // A fooBar-shaped claim set does not pass as a session and vice versa.
        assert_eq!(key.verify::<FooBarClaims>(&t, 1000), None);
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(
            br#"{"jti":"j","email":"evil@b.co","org_id":"o","role":"r","iat":1000,"exp":9999}"#,
        );
        assert_eq!(
            key.verify::<SessionClaims>(&parts.join("."), 1000),
            None,
            "tampered"
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert_eq!(key.verify::<SessionClaims>(&none, 1000), None, "alg none");
    }
}
