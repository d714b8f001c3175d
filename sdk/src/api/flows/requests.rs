//! The Flow admin routes as [`Endpoint`]s: one request type per route.
//!
//! Path parameters (`id`) are percent-encoded into the path and never sent
//! as query or body parameters.

use serde::Serialize;

use super::compile::CompiledPlan;
use super::validate::ValidationReport;
use super::wire::{
    CompileResponse, CreateFlowRequest, Flow, FlowCreated, FlowList, FlowStatus, FlowType,
    StatusChangeResponse, UpdateFlowRequest,
};
use crate::api::routes::{self, Route};
use crate::api::{Empty, Endpoint, json_response};

json_response!(
    FlowList,
    Flow,
    FlowCreated,
    CompileResponse,
    StatusChangeResponse,
    ValidationReport,
    CompiledPlan,
);

/// `/api/admin/flows/{id}` + `suffix`, the id percent-encoded as one path
/// segment (so an id can never reach another route).
pub fn flow_path(id: &str, suffix: &str) -> String {
    let mut id = crate::api::path_segment(id);
    // `.` and `..` are dot segments even when valid characters.
    if id == "." || id == ".." {
        id = id.replace('.', "%2E");
    }
    format!("/api/admin/flows/{id}{suffix}")
}

/// `GET /api/admin/flows`: one page of flows, optionally filtered.
///
/// ```
/// use authflow::api::flows::{FlowType, ListFlows};
/// let page = ListFlows::default().flow_type(FlowType::Login).limit(50);
/// assert_eq!(page.limit, Some(50));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[must_use]
pub struct ListFlows {
    /// Page size (server default 20, max 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Only flows of this type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub flow_type: Option<FlowType>,
    /// Only flows in this status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<FlowStatus>,
}

impl ListFlows {
    /// Set the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Continue after a previous page.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
    /// Filter by type.
    pub fn flow_type(mut self, t: FlowType) -> Self {
        self.flow_type = Some(t);
        self
    }
    /// Filter by status.
    pub fn status(mut self, s: FlowStatus) -> Self {
        self.status = Some(s);
        self
    }
}

impl Endpoint for ListFlows {
    type Response = FlowList;
    fn route(&self) -> &'static Route {
        &routes::FLOWS_LIST
    }
}

impl Endpoint for CreateFlowRequest {
    type Response = FlowCreated;
    fn route(&self) -> &'static Route {
        &routes::FLOWS_CREATE
    }
}

/// `PUT /api/admin/flows/{id}`: a partial update of one flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateFlow {
    /// Flow id.
    #[serde(skip)]
    pub id: String,
    /// The fields to change.
    #[serde(flatten)]
    pub changes: UpdateFlowRequest,
}

impl Endpoint for UpdateFlow {
    type Response = Flow;
    fn route(&self) -> &'static Route {
        &routes::FLOWS_UPDATE
    }
    fn path(&self) -> String {
        flow_path(&self.id, "")
    }
}

macro_rules! by_id {
    ($(#[$doc:meta])* $name:ident => $resp:ty, $route:expr, $suffix:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        pub struct $name {
            /// Flow id.
            #[serde(skip)]
            pub id: String,
        }

        impl $name {
            /// The request for flow `id`.
            pub fn new(id: impl Into<String>) -> Self {
                $name { id: id.into() }
            }
        }

        impl Endpoint for $name {
            type Response = $resp;
            fn route(&self) -> &'static Route {
                &$route
            }
            fn path(&self) -> String {
                flow_path(&self.id, $suffix)
            }
        }
    };
}

by_id!(
    /// `GET /api/admin/flows/{id}`: one flow with its graph.
    GetFlow => Flow, routes::FLOWS_GET, ""
);
by_id!(
    /// `DELETE /api/admin/flows/{id}` (refused while the flow is active).
    DeleteFlow => Empty, routes::FLOWS_DELETE, ""
);
by_id!(
    /// `POST /api/admin/flows/{id}/validate`: validate the stored graph.
    ValidateFlow => ValidationReport, routes::FLOWS_VALIDATE, "/validate"
);
by_id!(
    /// `POST /api/admin/flows/{id}/compile`: compile the stored graph.
    CompileFlow => CompileResponse, routes::FLOWS_COMPILE, "/compile"
);
by_id!(
    /// `POST /api/admin/flows/{id}/activate` (only a compiled flow).
    ActivateFlow => StatusChangeResponse, routes::FLOWS_ACTIVATE, "/activate"
);
by_id!(
    /// `POST /api/admin/flows/{id}/deactivate`.
    DeactivateFlow => StatusChangeResponse, routes::FLOWS_DEACTIVATE, "/deactivate"
);
by_id!(
    /// `GET /api/admin/flows/{id}/graph.mmd`: the graph as Mermaid text.
    FlowGraphMermaid => String, routes::FLOWS_GRAPH_MERMAID, "/graph.mmd"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_encoded_segment() {
        assert_eq!(
            flow_path("flow_a", "/compile"),
            "/api/admin/flows/flow_a/compile"
        );
        assert_eq!(flow_path("../x", ""), "/api/admin/flows/..%2Fx");
        assert_eq!(flow_path("..", ""), "/api/admin/flows/%2E%2E");
        assert_eq!(flow_path("a b?c#", ""), "/api/admin/flows/a%20b%3Fc%23");
        assert_eq!(
            routes::match_path(routes::Method::Get, &GetFlow::new("a/b").path()).map(|r| r.name),
            Some("getFlow")
        );
    }

    #[test]
    fn path_ids_are_not_parameters() {
        let v = serde_json::to_value(CompileFlow::new("flow_a")).unwrap();
        assert_eq!(v, serde_json::json!({}));
        let v = serde_json::to_value(UpdateFlow {
            id: "flow_a".into(),
            changes: UpdateFlowRequest {
                display_name: Some("X".into()),
                ..Default::default()
            },
        })
        .unwrap();
        assert_eq!(v, serde_json::json!({"display_name": "X"}));
        let q = serde_json::to_value(ListFlows::default().flow_type(FlowType::MfaSetup)).unwrap();
        assert_eq!(q, serde_json::json!({"type": "mfa_setup"}));
    }
}
