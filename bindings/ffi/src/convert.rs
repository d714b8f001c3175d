//! Small conversions shared by the client wrappers: SDK errors, wire enum
//! strings, local input errors.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{AuthflowError, FfiResult};

/// Map an SDK error.
pub(crate) fn sdk(e: authflow::Error) -> Arc<AuthflowError> {
    AuthflowError::from_sdk(e)
}

/// An `invalid_input` error about `field`, in the SDK's wording.
pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Arc<AuthflowError> {
    sdk(authflow::Error::invalid_input(field, reason))
}

/// The wire string of a unit enum (`"password_reset"`, `"draft"`, …).
pub(crate) fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        // Every enum passed here serialises as a string; keep the facade
        // total anyway.
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Parse a wire string into a unit enum; `invalid_input` naming `field`
/// and the accepted values otherwise.
pub(crate) fn parse_wire<T: DeserializeOwned>(
    field: &'static str,
    value: &str,
    accepted: &str,
) -> FfiResult<T> {
    serde_json::from_value(Value::String(value.to_owned()))
        .map_err(|_| invalid(field, format!("must be one of {accepted}")))
}

/// An optional wire string, parsed.
pub(crate) fn parse_opt<T: DeserializeOwned>(
    field: &'static str,
    value: Option<String>,
    accepted: &str,
) -> FfiResult<Option<T>> {
    value.map(|v| parse_wire(field, &v, accepted)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use authflow::api::reliability::RunStatus;

    #[test]
    fn wire_names_round_trip() {
        assert_eq!(wire_name(&RunStatus::EmailReceived), "email_received");
        let s: RunStatus = parse_wire("status", "timeout", "x").unwrap_or(RunStatus::Pending);
        assert_eq!(s, RunStatus::Timeout);
        let e = parse_wire::<RunStatus>("status", "nope", "pending, completed")
            .err()
            .map(|e| (e.code(), e.detail()));
        let (code, detail) = e.unwrap_or_default();
        assert_eq!(code, "invalid_input");
        assert!(detail.contains("status") && detail.contains("pending, completed"));
    }
}
