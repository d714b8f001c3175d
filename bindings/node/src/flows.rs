//! `FlowsClient` and its records: the Flow admin API.

use std::sync::Arc;

use authflow_ffi as ffi;
use napi::bindgen_prelude::Result;
use napi_derive::napi;

use crate::{SecretArg, from_u64, js_err};

/// A flow as the list returns it (no graph).
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct FlowSummary {
    /// `flow_` + the name with `-` as `_`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// `login`, `registration`, `password_reset`, `mfa_setup` or
    /// `account_recovery`.
    pub flow_type: String,
    /// `draft`, `active` or `inactive`.
    pub status: String,
    /// Version.
    pub version: u32,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Updated at (Unix seconds).
    pub updated_at: Option<i64>,
}

impl FlowSummary {
    fn from_ffi(s: ffi::FlowSummary) -> Self {
        FlowSummary {
            id: s.id,
            name: s.name,
            display_name: s.display_name,
            flow_type: s.flow_type,
            status: s.status,
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// One page of flows; `cursor` is `null` on the last page.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct FlowPage {
    /// This page.
    pub items: Vec<FlowSummary>,
    /// Flows matching the filters, in all pages.
    pub total: i64,
    /// The cursor of the next page.
    pub cursor: Option<String>,
}

/// A flow with its graph (`graphJson`: JSON text).
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct Flow {
    /// Flow id.
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

impl Flow {
    fn from_ffi(f: ffi::Flow) -> Self {
        Flow {
            id: f.id,
            name: f.name,
            display_name: f.display_name,
            flow_type: f.flow_type,
            status: f.status,
            version: f.version,
            created_at: f.created_at,
            updated_at: f.updated_at,
            description: f.description,
            graph_json: f.graph_json,
            compiled: f.compiled,
            compiled_at: f.compiled_at,
        }
    }
}

/// One validation error or warning.
#[napi(object, object_from_js = false, use_nullable = true)]
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
    fn from_ffi(i: ffi::ValidationIssue) -> Self {
        ValidationIssue {
            code: i.code,
            detail: i.detail,
            node_id: i.node_id,
            edge_source: i.edge_source,
            edge_target: i.edge_target,
        }
    }
}

/// The server's validation of a stored graph.
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct ValidationReport {
    /// No errors.
    pub valid: bool,
    /// Errors.
    pub errors: Vec<ValidationIssue>,
    /// Warnings.
    pub warnings: Vec<ValidationIssue>,
}

/// The answer of a compile.
#[napi(object, object_from_js = false, use_nullable = true)]
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
#[napi(object, object_from_js = false, use_nullable = true)]
pub struct FlowStatus {
    /// Flow id.
    pub id: String,
    /// `active` or `inactive`.
    pub status: String,
    /// Set by activate (Unix seconds).
    pub activated_at: Option<i64>,
    /// Set by deactivate (Unix seconds).
    pub deactivated_at: Option<i64>,
}

impl FlowStatus {
    fn from_ffi(s: ffi::FlowStatus) -> Self {
        FlowStatus {
            id: s.id,
            status: s.status,
            activated_at: s.activated_at,
            deactivated_at: s.deactivated_at,
        }
    }
}

/// Client for the Flow admin API (`/api/admin/flows`).
#[napi]
pub struct FlowsClient(Arc<ffi::FlowsClient>);

#[napi]
impl FlowsClient {
    /// A client with the admin bearer `token` for `baseUrl`.
    #[napi(constructor)]
    pub fn new(
        #[napi(ts_arg_type = "Secret | string")] token: SecretArg,
        base_url: Option<String>,
    ) -> Result<Self> {
        ffi::FlowsClient::new(token.0, base_url)
            .map(FlowsClient)
            .map_err(js_err)
    }

    /// The base URL.
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    /// `GET /api/admin/flows`: one page of flows (`limit` 1–100), after
    /// `cursor`, optionally only of `flowType` and in `status`.
    #[napi]
    pub async fn list(
        &self,
        limit: Option<u32>,
        cursor: Option<String>,
        flow_type: Option<String>,
        status: Option<String>,
    ) -> Result<FlowPage> {
        let c = self.0.clone();
        let p = c
            .list(limit, cursor, flow_type, status)
            .await
            .map_err(js_err)?;
        Ok(FlowPage {
            items: p.items.into_iter().map(FlowSummary::from_ffi).collect(),
            total: from_u64(p.total),
            cursor: p.cursor,
        })
    }

    /// `GET /api/admin/flows/{id}`: one flow with its graph.
    #[napi]
    pub async fn get(&self, id: String) -> Result<Flow> {
        let c = self.0.clone();
        c.get(id).await.map(Flow::from_ffi).map_err(js_err)
    }

    /// `POST /api/admin/flows`: create a draft flow from `graphJson`.
    #[napi]
    pub async fn create(
        &self,
        name: String,
        display_name: String,
        flow_type: String,
        description: Option<String>,
        graph_json: String,
    ) -> Result<Flow> {
        let c = self.0.clone();
        c.create(name, display_name, flow_type, description, graph_json)
            .await
            .map(Flow::from_ffi)
            .map_err(js_err)
    }

    /// `PUT /api/admin/flows/{id}`: change the display name, description or
    /// graph (`null`/`undefined` leaves a field as is).
    #[napi]
    pub async fn update(
        &self,
        id: String,
        display_name: Option<String>,
        description: Option<String>,
        graph_json: Option<String>,
    ) -> Result<Flow> {
        let c = self.0.clone();
        c.update(id, display_name, description, graph_json)
            .await
            .map(Flow::from_ffi)
            .map_err(js_err)
    }

    /// `DELETE /api/admin/flows/{id}` (refused while the flow is active).
    #[napi]
    pub async fn delete(&self, id: String) -> Result<()> {
        let c = self.0.clone();
        c.delete(id).await.map_err(js_err)
    }

    /// `POST /api/admin/flows/{id}/validate`: validate the stored graph.
    #[napi]
    pub async fn validate(&self, id: String) -> Result<ValidationReport> {
        let c = self.0.clone();
        let r = c.validate(id).await.map_err(js_err)?;
        Ok(ValidationReport {
            valid: r.valid,
            errors: r
                .errors
                .into_iter()
                .map(ValidationIssue::from_ffi)
                .collect(),
            warnings: r
                .warnings
                .into_iter()
                .map(ValidationIssue::from_ffi)
                .collect(),
        })
    }

    /// `POST /api/admin/flows/{id}/compile` (`flow_invalid` if invalid).
    #[napi]
    pub async fn compile(&self, id: String) -> Result<CompileResult> {
        let c = self.0.clone();
        let r = c.compile(id).await.map_err(js_err)?;
        Ok(CompileResult {
            id: r.id,
            compiled: r.compiled,
            compiled_at: r.compiled_at,
            version: r.version,
        })
    }

    /// `POST /api/admin/flows/{id}/activate` (only a compiled flow).
    #[napi]
    pub async fn activate(&self, id: String) -> Result<FlowStatus> {
        let c = self.0.clone();
        c.activate(id)
            .await
            .map(FlowStatus::from_ffi)
            .map_err(js_err)
    }

    /// `POST /api/admin/flows/{id}/deactivate`.
    #[napi]
    pub async fn deactivate(&self, id: String) -> Result<FlowStatus> {
        let c = self.0.clone();
        c.deactivate(id)
            .await
            .map(FlowStatus::from_ffi)
            .map_err(js_err)
    }

    /// `GET /api/admin/flows/{id}/graph.mmd`: the graph as Mermaid text.
    #[napi]
    pub async fn mermaid(&self, id: String) -> Result<String> {
        let c = self.0.clone();
        c.mermaid(id).await.map_err(js_err)
    }
}
