//! Request and response bodies of the Flow admin routes, as the document
//! shows them (timestamps are Unix seconds). The routes join the route table
//! together with their client and mock handlers.

use serde::{Deserialize, Serialize};

use super::graph::FlowGraph;

/// What a flow is for.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowType {
    /// Login flow.
    Login,
    /// User registration flow.
    Registration,
    /// Password reset flow.
    PasswordReset,
    /// MFA setup flow.
    MfaSetup,
    /// Account recovery flow.
    AccountRecovery,
}

/// A flow's lifecycle state.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowStatus {
    /// Created or edited, not active.
    Draft,
    /// Serving.
    Active,
    /// Deactivated.
    Inactive,
}

/// A flow as `list` returns it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowSummary {
    /// `flow_` + the name with `-` as `_`.
    pub id: String,
    /// Name: ASCII letters, digits and hyphens.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Type.
    #[serde(rename = "type")]
    pub flow_type: FlowType,
    /// Status.
    pub status: FlowStatus,
    /// Version (bumped by compile).
    pub version: u32,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Updated at (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
}

/// `GET /api/admin/flows` response.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowList {
    /// This page.
    pub items: Vec<FlowSummary>,
    /// Flows matching the filters, in all pages.
    pub total: u64,
    /// Opaque cursor of the next page; `null` on the last.
    pub cursor: Option<String>,
}

/// A flow with its graph (`GET /api/admin/flows/:id`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// Summary fields.
    #[serde(flatten)]
    pub summary: FlowSummary,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The graph.
    pub graph: FlowGraph,
    /// Whether the current graph is compiled.
    pub compiled: bool,
    /// When it was last compiled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiled_at: Option<i64>,
}

/// `POST /api/admin/flows` response: the summary fields and `compiled`,
/// exactly as the document shows (no graph).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCreated {
    /// Summary fields (`status` is `draft`, `version` 1).
    #[serde(flatten)]
    pub summary: FlowSummary,
    /// Always `false` for a new flow.
    pub compiled: bool,
}

/// `POST /api/admin/flows` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateFlowRequest {
    /// Name: ASCII letters, digits and hyphens.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Type.
    #[serde(rename = "type")]
    pub flow_type: FlowType,
    /// The graph.
    pub graph: FlowGraph,
}

/// `PUT /api/admin/flows/:id` body: a partial update.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateFlowRequest {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New graph (clears `compiled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<FlowGraph>,
}

/// `POST /api/admin/flows/:id/compile` response.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileResponse {
    /// Flow id.
    pub id: String,
    /// Always `true`.
    pub compiled: bool,
    /// When.
    pub compiled_at: i64,
    /// The bumped version.
    pub version: u32,
}

/// `POST /api/admin/flows/:id/activate` and `/deactivate` responses.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChangeResponse {
    /// Flow id.
    pub id: String,
    /// The new status.
    pub status: FlowStatus,
    /// Set by activate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<i64>,
    /// Set by deactivate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated_at: Option<i64>,
}

/// Whether `name` is a valid flow name (ASCII letters, digits and hyphens,
/// 1–64 characters, not starting or ending with a hyphen).
pub fn is_valid_flow_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The id a flow named `name` gets: `flow_` + the name with `-` as `_`.
///
/// ```
/// assert_eq!(authflow::api::flows::flow_id_for("social-login"), "flow_social_login");
/// ```
pub fn flow_id_for(name: &str) -> String {
    format!("flow_{}", name.replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_examples_decode_and_round_trip() {
        let list = json!({"items": [{"id": "flow_login_default", "name": "default-login", "display_name": "Default Login Flow", "type": "login", "status": "active", "version": 3, "created_at": 1705881600, "updated_at": 1706054400}], "total": 5, "cursor": null});
        let l: FlowList = serde_json::from_value(list.clone()).unwrap();
        assert_eq!(l.items[0].flow_type, FlowType::Login);
        assert_eq!(serde_json::to_value(&l).unwrap(), list);

        let create = json!({"name": "social-login", "display_name": "Social Login Flow", "description": "Login using social providers", "type": "login",
            "graph": {"nodes": [{"id": "start", "type": "start"}, {"id": "provider_select", "type": "social_provider_select", "config": {"providers": ["google", "github"]}}, {"id": "success", "type": "success"}],
                      "edges": [{"source": "start", "target": "provider_select"}, {"source": "provider_select", "target": "success"}]}});
        let c: CreateFlowRequest = serde_json::from_value(create.clone()).unwrap();
        assert!(c.graph.validate().valid);
        assert_eq!(serde_json::to_value(&c).unwrap(), create);
        assert_eq!(flow_id_for(&c.name), "flow_social_login");

        let act: StatusChangeResponse = serde_json::from_value(
            json!({"id": "flow_social_login", "status": "active", "activated_at": 1706313600}),
        )
        .unwrap();
        assert_eq!(act.status, FlowStatus::Active);
        let comp: CompileResponse = serde_json::from_value(json!({"id": "flow_social_login", "compiled": true, "compiled_at": 1706227200, "version": 2})).unwrap();
        assert_eq!(comp.version, 2);
        assert!(
            serde_json::from_value::<UpdateFlowRequest>(
                json!({"display_name": "x", "colour": "red"})
            )
            .is_err()
        );
    }

    #[test]
    fn names() {
        for ok in ["social-login", "a", "MFA-2"] {
            assert!(is_valid_flow_name(ok), "{ok}");
        }
        for bad in [
            "",
            "with space",
            "ünïcode",
            "-lead",
            "trail-",
            "under_score",
            &"x".repeat(65),
        ] {
            assert!(!is_valid_flow_name(bad), "{bad}");
        }
    }
}
