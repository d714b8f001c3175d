//! `FlowsClient` and its records: the Flow admin API.

use std::sync::Arc;

use authflow_ffi as ffi;
use pyo3::prelude::*;
use pyo3_async_runtimes::tokio::future_into_py;

use crate::{none, py_err, secret_arg};

/// A flow as the list returns it (no graph).
#[pyclass(frozen, get_all, eq, module = "authflow")]
#[derive(Clone, PartialEq, Eq)]
pub struct FlowSummary {
    id: String,
    name: String,
    display_name: String,
    flow_type: String,
    status: String,
    version: u32,
    created_at: i64,
    updated_at: Option<i64>,
}

#[pymethods]
impl FlowSummary {
    fn __repr__(&self) -> String {
        format!(
            "FlowSummary(id={:?}, flow_type={:?}, status={:?}, version={})",
            self.id, self.flow_type, self.status, self.version
        )
    }
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

/// One page of flows; `cursor` is None on the last page.
#[pyclass(frozen, get_all, module = "authflow")]
#[derive(Clone)]
pub struct FlowPage {
    items: Vec<FlowSummary>,
    total: u64,
    cursor: Option<String>,
}

#[pymethods]
impl FlowPage {
    fn __repr__(&self) -> String {
        format!(
            "FlowPage(total={}, items={}, cursor={:?})",
            self.total,
            self.items.len(),
            self.cursor
        )
    }
}

/// A flow with its graph (`graph_json`: JSON text).
#[pyclass(frozen, get_all, eq, module = "authflow")]
#[derive(Clone, PartialEq, Eq)]
pub struct Flow {
    id: String,
    name: String,
    display_name: String,
    flow_type: String,
    status: String,
    version: u32,
    created_at: i64,
    updated_at: Option<i64>,
    description: Option<String>,
    graph_json: String,
    compiled: bool,
    compiled_at: Option<i64>,
}

#[pymethods]
impl Flow {
    fn __repr__(&self) -> String {
        format!(
            "Flow(id={:?}, flow_type={:?}, status={:?}, version={}, compiled={})",
            self.id,
            self.flow_type,
            self.status,
            self.version,
            if self.compiled { "True" } else { "False" }
        )
    }
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
#[pyclass(frozen, get_all, eq, module = "authflow")]
#[derive(Clone, PartialEq, Eq)]
pub struct ValidationIssue {
    code: String,
    detail: String,
    node_id: Option<String>,
    edge_source: Option<String>,
    edge_target: Option<String>,
}

#[pymethods]
impl ValidationIssue {
    fn __repr__(&self) -> String {
        format!(
            "ValidationIssue(code={:?}, node_id={:?}, detail={:?})",
            self.code, self.node_id, self.detail
        )
    }
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
#[pyclass(frozen, get_all, module = "authflow")]
#[derive(Clone)]
pub struct ValidationReport {
    valid: bool,
    errors: Vec<ValidationIssue>,
    warnings: Vec<ValidationIssue>,
}

#[pymethods]
impl ValidationReport {
    fn __repr__(&self) -> String {
        let codes = |v: &[ValidationIssue]| v.iter().map(|i| i.code.clone()).collect::<Vec<_>>();
        format!(
            "ValidationReport(valid={}, errors={:?}, warnings={:?})",
            if self.valid { "True" } else { "False" },
            codes(&self.errors),
            codes(&self.warnings)
        )
    }
}

/// The answer of a compile.
#[pyclass(frozen, get_all, eq, module = "authflow")]
#[derive(Clone, PartialEq, Eq)]
pub struct CompileResult {
    id: String,
    compiled: bool,
    compiled_at: i64,
    version: u32,
}

#[pymethods]
impl CompileResult {
    fn __repr__(&self) -> String {
        format!(
            "CompileResult(id={:?}, version={}, compiled_at={})",
            self.id, self.version, self.compiled_at
        )
    }
}

/// The answer of an activate or deactivate.
#[pyclass(frozen, get_all, eq, module = "authflow")]
#[derive(Clone, PartialEq, Eq)]
pub struct FlowStatus {
    id: String,
    status: String,
    activated_at: Option<i64>,
    deactivated_at: Option<i64>,
}

#[pymethods]
impl FlowStatus {
    fn __repr__(&self) -> String {
        format!("FlowStatus(id={:?}, status={:?})", self.id, self.status)
    }
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
#[pyclass(frozen, module = "authflow")]
pub struct FlowsClient(Arc<ffi::FlowsClient>);

#[pymethods]
impl FlowsClient {
    #[new]
    #[pyo3(signature = (token, base_url = None))]
    fn py_new(token: &Bound<'_, PyAny>, base_url: Option<String>) -> PyResult<Self> {
        ffi::FlowsClient::new(secret_arg(token)?, base_url)
            .map(FlowsClient)
            .map_err(py_err)
    }

    /// The base URL.
    #[getter]
    fn base_url(&self) -> String {
        self.0.base_url()
    }

    /// `GET /api/admin/flows`: one page of flows.
    #[pyo3(signature = (limit = None, cursor = None, flow_type = None, status = None))]
    fn list<'py>(
        &self,
        py: Python<'py>,
        limit: Option<u32>,
        cursor: Option<String>,
        flow_type: Option<String>,
        status: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(
            self,
            py,
            |c| c.list(limit, cursor, flow_type, status),
            |p| FlowPage {
                items: p.items.into_iter().map(FlowSummary::from_ffi).collect(),
                total: p.total,
                cursor: p.cursor,
            }
        )
    }

    /// `GET /api/admin/flows/{id}`: one flow with its graph.
    fn get<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.get(id), Flow::from_ffi)
    }

    /// `POST /api/admin/flows`: create a draft flow from `graph_json`.
    fn create<'py>(
        &self,
        py: Python<'py>,
        name: String,
        display_name: String,
        flow_type: String,
        description: Option<String>,
        graph_json: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(
            self,
            py,
            |c| c.create(name, display_name, flow_type, description, graph_json),
            Flow::from_ffi
        )
    }

    /// `PUT /api/admin/flows/{id}`: change the display name, description or
    /// graph (None leaves a field as is).
    #[pyo3(signature = (id, display_name = None, description = None, graph_json = None))]
    fn update<'py>(
        &self,
        py: Python<'py>,
        id: String,
        display_name: Option<String>,
        description: Option<String>,
        graph_json: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(
            self,
            py,
            |c| c.update(id, display_name, description, graph_json),
            Flow::from_ffi
        )
    }

    /// `DELETE /api/admin/flows/{id}`.
    fn delete<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.delete(id), none)
    }

    /// `POST /api/admin/flows/{id}/validate`.
    fn validate<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.validate(id), |r| ValidationReport {
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

    /// `POST /api/admin/flows/{id}/compile`.
    fn compile<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.compile(id), |r| CompileResult {
            id: r.id,
            compiled: r.compiled,
            compiled_at: r.compiled_at,
            version: r.version,
        })
    }

    /// `POST /api/admin/flows/{id}/activate`.
    fn activate<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.activate(id), FlowStatus::from_ffi)
    }

    /// `POST /api/admin/flows/{id}/deactivate`.
    fn deactivate<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.deactivate(id), FlowStatus::from_ffi)
    }

    /// `GET /api/admin/flows/{id}/graph.mmd`: the graph as Mermaid text.
    fn mermaid<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.mermaid(id), |v| v)
    }

    fn __repr__(&self) -> String {
        format!("FlowsClient(base_url={:?})", self.0.base_url())
    }
}

/// Add the Flow admin classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FlowSummary>()?;
    m.add_class::<FlowPage>()?;
    m.add_class::<Flow>()?;
    m.add_class::<ValidationIssue>()?;
    m.add_class::<ValidationReport>()?;
    m.add_class::<CompileResult>()?;
    m.add_class::<FlowStatus>()?;
    m.add_class::<FlowsClient>()?;
    Ok(())
}
