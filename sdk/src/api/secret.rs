//! Serde helpers for [`SecretString`] fields.
//!
//! `secrecy` deserializes secrets but deliberately does not serialize them; the
//! wire types opt in field by field with `#[serde(serialize_with = …)]`, so a
//! secret is exposed only where it is written to the wire.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serializer};

/// Serialize a secret as its plain string (for the wire only).
pub fn expose<S: Serializer>(secret: &SecretString, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(secret.expose_secret())
}

/// Serialize an optional secret as its plain string or `null`.
pub fn expose_opt<S: Serializer>(secret: &Option<SecretString>, ser: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(s) => ser.serialize_str(s.expose_secret()),
        None => ser.serialize_none(),
    }
}

/// Serialize a list of secrets as plain strings.
pub fn expose_vec<S: Serializer>(secrets: &[SecretString], ser: S) -> Result<S::Ok, S::Error> {
    ser.collect_seq(secrets.iter().map(|s| s.expose_secret()))
}

/// Deserialize a "boolean-like" value: a JSON boolean, or one of the strings
/// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off` (any case), as query
/// strings carry it.
pub fn bool_like<'de, D: Deserializer<'de>>(de: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    match Raw::deserialize(de)? {
        Raw::Bool(b) => Ok(b),
        Raw::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(serde::de::Error::custom("expected a boolean-like value")),
        },
    }
}
