//! [`FlowsClient`]: the Flow admin API (`/api/admin/flows`), and the records
//! it exchanges. Graphs cross as JSON text in the seed's wire shape; enums
//! cross as their wire strings.

use std::sync::Arc;

use authflow::api::flows as wire;

use crate::convert::{invalid, parse_opt, parse_wire, sdk, wire_name};
use crate::{FfiResult, Secret};

const FLOW_TYPES: &str = "login, registration, password_reset, mfa_setup, account_recovery";
const FLOW_STATUSES: &str = "draft, active, inactive";

/// A flow as the list returns it (no graph).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FlowSummary {
    /// `flow_` + the name with `-` as `_`.
    pub id: String,
    /// Name: ASCII letters, digits and hyphens.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// `login`, `registration`, `password_reset`, `mfa_setup` or
    /// `account_recovery`.
    pub flow_type: String,
    /// `draft`, `active` or `inactive`.
    pub status: String,
    /// Version (bumped by compile).
    pub version: u32,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Updated at (Unix seconds).
    pub updated_at: Option<i64>,
}

impl FlowSummary {
    fn from_sdk(s: wire::FlowSummary) -> Self {
        FlowSummary {
            flow_type: wire_name(&s.flow_type),
            status: wire_name(&s.status),
            id: s.id,
            name: s.name,
            display_name: s.display_name,
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// One page of flows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FlowPage {
    /// This page.
    pub items: Vec<FlowSummary>,
    /// Flows matching the filters, in all pages.
    pub total: u64,
    /// The cursor of the next page; `None` on the last.
    pub cursor: Option<String>,
}

/// A flow with its graph.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Flow {
    /// `flow_` + the name with `-` as `_`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// The flow type's wire string.
    pub flow_type: String,
    /// `draft`, `active` or `inactive`.
    pub status: String,
    /// Version.
    pub version: u32,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Updated at (Unix seconds).
    pub updated_at: Option<i64>,
    /// Description.
    pub description: Option<String>,
    /// The graph as JSON text: `{"nodes": [...], "edges": [...]}`.
    pub graph_json: String,
    /// Whether the current graph is compiled.
    pub compiled: bool,
    /// When it was last compiled (Unix seconds).
    pub compiled_at: Option<i64>,
}

fn graph_text(g: &wire::FlowGraph) -> String {
    // A FlowGraph is plain data (strings, numbers, JSON values): it always
    // serialises.
    serde_json::to_string(g).unwrap_or_else(|_| "{}".to_owned())
}

fn parse_graph(json: &str) -> FfiResult<wire::FlowGraph> {
    serde_json::from_str(json).map_err(|e| {
        invalid(
            "graph_json",
            format!(
                "is not a flow graph (nodes and edges) at line {} column {}",
                e.line(),
                e.column()
            ),
        )
    })
}

impl Flow {
    fn from_sdk(f: wire::Flow) -> Self {
        let s = FlowSummary::from_sdk(f.summary);
        Flow {
            id: s.id,
            name: s.name,
            display_name: s.display_name,
            flow_type: s.flow_type,
            status: s.status,
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
            description: f.description,
            graph_json: graph_text(&f.graph),
            compiled: f.compiled,
            compiled_at: f.compiled_at,
        }
    }
}

/// One validation error or warning.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ValidationIssue {
    /// `missing_start_node`, `unreachable_success`, `dead_end`, …
    pub code: String,
    /// Human-readable message.
    pub detail: String,
    /// The node concerned, if one.
    pub node_id: Option<String>,
    /// Source of the edge concerned, if one.
    pub edge_source: Option<String>,
    /// Target of the edge concerned, if one.
    pub edge_target: Option<String>,
}

impl ValidationIssue {
    fn from_sdk(i: wire::Issue) -> Self {
        let (edge_source, edge_target) = match i.edge {
            Some(e) => (Some(e.source), Some(e.target)),
            None => (None, None),
        };
        ValidationIssue {
            code: i.code.as_str().to_owned(),
            detail: i.message,
            node_id: i.node_id,
            edge_source,
            edge_target,
        }
    }
}

/// The server's validation of a stored graph.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ValidationReport {
    /// No errors.
    pub valid: bool,
    /// Errors, in node and edge order.
    pub errors: Vec<ValidationIssue>,
    /// Warnings.
    pub warnings: Vec<ValidationIssue>,
}

/// The answer of a compile.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CompileResult {
    /// Flow id.
    pub id: String,
    /// Always `true`.
    pub compiled: bool,
    /// When (Unix seconds).
    pub compiled_at: i64,
    /// The bumped version.
    pub version: u32,
}

/// The answer of an activate or deactivate.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FlowStatus {
    /// Flow id.
    pub id: String,
    /// The new status: `active` or `inactive`.
    pub status: String,
    /// Set by activate (Unix seconds).
    pub activated_at: Option<i64>,
    /// Set by deactivate (Unix seconds).
    pub deactivated_at: Option<i64>,
}

impl FlowStatus {
    fn from_sdk(s: wire::StatusChangeResponse) -> Self {
        FlowStatus {
            status: wire_name(&s.status),
            id: s.id,
            activated_at: s.activated_at,
            deactivated_at: s.deactivated_at,
        }
    }
}

/// Client for the Flow admin API (`/api/admin/flows`), with an admin bearer
/// token. Cheap to share.
#[derive(Debug, uniffi::Object)]
pub struct FlowsClient {
    inner: authflow::FlowsClient,
}

#[uniffi::export(async_runtime = "tokio")]
impl FlowsClient {
    /// A client with the admin bearer `token` for `base_url` (the tenant's
    /// origin, a mock or a proxy). Fails with `invalid_input` for an empty
    /// token and `config` for a bad URL.
    #[uniffi::constructor]
    pub fn new(token: Arc<Secret>, base_url: Option<String>) -> FfiResult<Arc<Self>> {
        let mut b = authflow::FlowsClient::builder().token(token.to_sdk());
        if let Some(url) = base_url {
            b = b.base_url(url);
        }
        Ok(Arc::new(FlowsClient {
            inner: b.build().map_err(sdk)?,
        }))
    }

    /// The base URL.
    pub fn base_url(&self) -> String {
        self.inner.base_url().to_owned()
    }

    /// `GET /api/admin/flows`: one page of flows (`limit` 1–100), after
    /// `cursor`, optionally only of `flow_type` and in `status`.
    pub async fn list(
        &self,
        limit: Option<u32>,
        cursor: Option<String>,
        flow_type: Option<String>,
        status: Option<String>,
    ) -> FfiResult<FlowPage> {
        let page = wire::ListFlows {
            limit,
            cursor,
            flow_type: parse_opt("flow_type", flow_type, FLOW_TYPES)?,
            status: parse_opt("status", status, FLOW_STATUSES)?,
        };
        let l = self.inner.list(&page).await.map_err(sdk)?.into_inner();
        Ok(FlowPage {
            items: l.items.into_iter().map(FlowSummary::from_sdk).collect(),
            total: l.total,
            cursor: l.cursor,
        })
    }

    /// `GET /api/admin/flows/{id}`: one flow with its graph.
    pub async fn get(&self, id: String) -> FfiResult<Flow> {
        let f = self.inner.get(&id).await.map_err(sdk)?.into_inner();
        Ok(Flow::from_sdk(f))
    }

    /// `POST /api/admin/flows`: create a flow (status `draft`, version 1).
    /// `graph_json` is `{"nodes": [...], "edges": [...]}`; the returned
    /// flow carries the graph and description that were sent.
    pub async fn create(
        &self,
        name: String,
        display_name: String,
        flow_type: String,
        description: Option<String>,
        graph_json: String,
    ) -> FfiResult<Flow> {
        let request = wire::CreateFlowRequest {
            flow_type: parse_wire("flow_type", &flow_type, FLOW_TYPES)?,
            graph: parse_graph(&graph_json)?,
            name,
            display_name,
            description,
        };
        let c = self.inner.create(&request).await.map_err(sdk)?.into_inner();
        Ok(Flow::from_sdk(wire::Flow {
            summary: c.summary,
            description: request.description,
            graph: request.graph,
            compiled: c.compiled,
            compiled_at: None,
        }))
    }

    /// `PUT /api/admin/flows/{id}`: change the display name, description or
    /// graph (a new graph clears `compiled`). `None` leaves a field as is.
    pub async fn update(
        &self,
        id: String,
        display_name: Option<String>,
        description: Option<String>,
        graph_json: Option<String>,
    ) -> FfiResult<Flow> {
        let changes = wire::UpdateFlowRequest {
            display_name,
            description,
            graph: graph_json.as_deref().map(parse_graph).transpose()?,
        };
        let f = self
            .inner
            .update(&id, changes)
            .await
            .map_err(sdk)?
            .into_inner();
        Ok(Flow::from_sdk(f))
    }

    /// `DELETE /api/admin/flows/{id}` (refused while the flow is active).
    pub async fn delete(&self, id: String) -> FfiResult<()> {
        self.inner.delete(&id).await.map_err(sdk)
    }

    /// `POST /api/admin/flows/{id}/validate`: validate the stored graph.
    pub async fn validate(&self, id: String) -> FfiResult<ValidationReport> {
        let r = self.inner.validate(&id).await.map_err(sdk)?.into_inner();
        Ok(ValidationReport {
            valid: r.valid,
            errors: r
                .errors
                .into_iter()
                .map(ValidationIssue::from_sdk)
                .collect(),
            warnings: r
                .warnings
                .into_iter()
                .map(ValidationIssue::from_sdk)
                .collect(),
        })
    }

    /// `POST /api/admin/flows/{id}/compile`: compile the stored graph
    /// (refused with `flow_invalid` if it is invalid).
    pub async fn compile(&self, id: String) -> FfiResult<CompileResult> {
        let c = self.inner.compile(&id).await.map_err(sdk)?.into_inner();
        Ok(CompileResult {
            id: c.id,
            compiled: c.compiled,
            compiled_at: c.compiled_at,
            version: c.version,
        })
    }

    /// `POST /api/admin/flows/{id}/activate` (only a compiled flow).
    pub async fn activate(&self, id: String) -> FfiResult<FlowStatus> {
        let s = self.inner.activate(&id).await.map_err(sdk)?.into_inner();
        Ok(FlowStatus::from_sdk(s))
    }

    /// `POST /api/admin/flows/{id}/deactivate`.
    pub async fn deactivate(&self, id: String) -> FfiResult<FlowStatus> {
        let s = self.inner.deactivate(&id).await.map_err(sdk)?.into_inner();
        Ok(FlowStatus::from_sdk(s))
    }

    /// `GET /api/admin/flows/{id}/graph.mmd`: the stored graph as a Mermaid
    /// diagram.
    pub async fn mermaid(&self, id: String) -> FfiResult<String> {
        Ok(self.inner.mermaid(&id).await.map_err(sdk)?.into_inner())
    }
}
