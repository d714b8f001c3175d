//! Wire types of the AIdenID reliability API: password-reset and invite
//! runs against a target URL, their status and result, and the privileged
//! secret retrieval.
//!
//! The default run payload never carries the extracted OTP or link: only a
//! redacted form (`***921`). [`RunSecret::value`] is a [`SecretString`].

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::aidenid::Page;
use super::routes::{self, Route};
use super::secret::expose;
use super::{Endpoint, json_response};

/// Which flow a run tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RunFlowType {
    /// `POST /v1/reliability/password-reset`
    PasswordReset,
    /// `POST /v1/reliability/invite`
    Invite,
}

/// A run's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RunStatus {
    /// Created, waiting for the email.
    Pending,
    /// The email arrived; extraction in progress.
    EmailReceived,
    /// Done: the code or link was extracted.
    Completed,
    /// No email within `timeout_seconds`.
    Timeout,
    /// The target or the extraction failed.
    Failed,
}

impl RunStatus {
    /// Whether the run is over (`completed`, `timeout`, `failed`).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Timeout | RunStatus::Failed
        )
    }
}

/// How the run triggers the target (default: `POST` of the identity's
/// address as a form field `email=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// `POST` (default) or `PUT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `form` (default, `application/x-www-form-urlencoded`) or `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Name of the field that carries the address (default `email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `POST /v1/reliability/password-reset` and `/invite` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRunRequest {
    /// The page that sends the email (http or https, no credentials in it).
    pub target_url: String,
    /// The identity whose inbox receives it (must be active).
    pub identity_id: String,
    /// How long to wait for the email (1–3600, default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
    /// How to call the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// Which flow (chooses the route; not sent).
    #[serde(skip)]
    pub flow_type: Option<RunFlowType>,
}

impl Endpoint for CreateRunRequest {
    type Response = Run;
    fn route(&self) -> &'static Route {
        match self.flow_type {
            Some(RunFlowType::Invite) => &routes::RUN_INVITE,
            _ => &routes::RUN_PASSWORD_RESET,
        }
    }
}

/// The result of a completed run (the secret itself is not in it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunResult {
    /// When the email arrived (RFC 3339).
    pub email_received_at: String,
    /// `otp` or `link`.
    pub extraction_type: String,
    /// Whether a secret was extracted.
    pub has_secret: bool,
    /// The secret with all but its last 3 characters hidden.
    pub redacted_value: String,
    /// Whether `GET /v1/reliability/{id}/secret` can return it.
    pub secret_retrieval_available: bool,
    /// From run creation to the email's arrival.
    pub delivery_time_ms: u64,
    /// Extraction confidence in [0, 1].
    pub confidence: f64,
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunFailure {
    /// `target_unreachable`, `target_error`, `nothing_extractable`,
    /// `dependency_timeout`, `dependency_unavailable`.
    pub code: String,
    /// Human-readable detail (never the target's response body).
    pub message: String,
}

/// A reliability run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    /// `run_…`
    pub id: String,
    /// Which flow.
    pub flow_type: RunFlowType,
    /// State.
    pub status: RunStatus,
    /// The identity.
    pub identity_id: String,
    /// The target.
    pub target_url: String,
    /// Created (RFC 3339).
    pub created_at: String,
    /// When it reached a terminal state (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// The result (`completed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RunResult>,
    /// Why it failed (`failed`, `timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<RunFailure>,
}

/// `GET /v1/reliability` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunList {
    /// This page, oldest first.
    pub items: Vec<Run>,
    /// Runs matching the filter, in all pages.
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
}

/// `GET /v1/reliability/{id}/secret` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunSecret {
    /// The run.
    pub id: String,
    /// `otp` or `link`.
    pub extraction_type: String,
    /// The raw OTP or link.
    #[serde(serialize_with = "expose")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub value: SecretString,
}

/// `GET /v1/reliability/{id}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GetRun {
    /// Run id.
    #[serde(skip)]
    pub id: String,
}

impl Endpoint for GetRun {
    type Response = Run;
    fn route(&self) -> &'static Route {
        &routes::RUN_GET
    }
    fn path(&self) -> String {
        format!("/v1/reliability/{}", super::path_segment(&self.id))
    }
}

/// `GET /v1/reliability/{id}/secret`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GetRunSecret {
    /// Run id.
    #[serde(skip)]
    pub id: String,
}

impl Endpoint for GetRunSecret {
    type Response = RunSecret;
    fn route(&self) -> &'static Route {
        &routes::RUN_SECRET
    }
    fn path(&self) -> String {
        format!("/v1/reliability/{}/secret", super::path_segment(&self.id))
    }
}

/// `GET /v1/reliability`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ListRuns {
    /// Only runs in this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RunStatus>,
    /// Page.
    #[serde(flatten)]
    pub page: Page,
}

impl Endpoint for ListRuns {
    type Response = RunList;
    fn route(&self) -> &'static Route {
        &routes::RUN_LIST
    }
}

json_response!(Run, RunList, RunSecret);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_examples_decode() {
        let run: Run = serde_json::from_value(json!({
            "id": "run_t1u2v3w4", "flow_type": "password_reset", "status": "completed",
            "identity_id": "ident_a1b2c3d4e5", "target_url": "https://example.com/forgot-password",
            "created_at": "2026-04-04T10:10:00Z", "completed_at": "2026-04-04T10:10:45Z",
            "result": { "email_received_at": "2026-04-04T10:10:38Z", "extraction_type": "otp", "has_secret": true,
                        "redacted_value": "***921", "secret_retrieval_available": true, "delivery_time_ms": 38200, "confidence": 0.98 }
        }))
        .unwrap();
        assert_eq!(run.status, RunStatus::Completed);
        assert!(run.status.is_terminal());
        assert_eq!(run.result.unwrap().delivery_time_ms, 38200);
        let s: RunSecret = serde_json::from_value(
            json!({"id": "run_1", "extraction_type": "otp", "value": "123921"}),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("123921"));
        let req = CreateRunRequest {
            target_url: "https://example.com/forgot-password".into(),
            identity_id: "ident_1".into(),
            timeout_seconds: Some(120),
            trigger: None,
            flow_type: Some(RunFlowType::Invite),
        };
        assert_eq!(req.route().name, "createInviteRun");
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"target_url": "https://example.com/forgot-password", "identity_id": "ident_1", "timeout_seconds": 120})
        );
    }
}
