//! `AidenIdClient` and its records: the AIdenID agent API (identities,
//! inboxes, reliability runs). `Identity` and `IdentityPage` are shared with
//! the consumer API.

use std::sync::Arc;

use authflow_ffi as ffi;
use pyo3::prelude::*;
use pyo3_async_runtimes::tokio::future_into_py;

use crate::{Secret, py_err, secret_arg};

/// A temporary email identity with its inbox address.
#[pyclass(frozen, get_all, eq, module = "authflow")]
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    id: String,
    email: String,
    label: String,
    status: String,
    created_at: String,
    expires_at: String,
}

#[pymethods]
impl Identity {
    fn __repr__(&self) -> String {
        format!(
            "Identity(id={:?}, email={:?}, label={:?}, status={:?})",
            self.id, self.email, self.label, self.status
        )
    }
}

impl Identity {
    pub(crate) fn from_ffi(i: ffi::Identity) -> Self {
        Identity {
            id: i.id,
            email: i.email,
            label: i.label,
            status: i.status,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

/// One page of identities (limit/offset).
#[pyclass(frozen, get_all, module = "authflow")]
#[derive(Clone)]
pub struct IdentityPage {
    items: Vec<Identity>,
    total: u64,
    limit: u32,
    offset: u64,
}

#[pymethods]
impl IdentityPage {
    fn __repr__(&self) -> String {
        format!(
            "IdentityPage(total={}, items={}, limit={}, offset={})",
            self.total,
            self.items.len(),
            self.limit,
            self.offset
        )
    }
}

impl IdentityPage {
    pub(crate) fn from_ffi(p: ffi::IdentityPage) -> Self {
        IdentityPage {
            items: p.items.into_iter().map(Identity::from_ffi).collect(),
            total: p.total,
            limit: p.limit,
            offset: p.offset,
        }
    }
}

/// What was extracted from a message (redacted).
#[pyclass(frozen, get_all, module = "authflow")]
#[derive(Clone)]
pub struct Extraction {
    kind: String,
    redacted_value: String,
    confidence: f64,
}

#[pymethods]
impl Extraction {
    fn __repr__(&self) -> String {
        format!(
            "Extraction(kind={:?}, redacted_value={:?}, confidence={})",
            self.kind, self.redacted_value, self.confidence
        )
    }
}

/// One message of an identity's inbox.
#[pyclass(frozen, get_all, module = "authflow")]
#[derive(Clone)]
pub struct InboxMessage {
    id: String,
    identity_id: String,
    sender: String,
    subject: String,
    received_at: String,
    extraction: Option<Extraction>,
}

#[pymethods]
impl InboxMessage {
    fn __repr__(&self) -> String {
        format!(
            "InboxMessage(id={:?}, sender={:?}, subject={:?})",
            self.id, self.sender, self.subject
        )
    }
}

impl InboxMessage {
    fn from_ffi(m: ffi::InboxMessage) -> Self {
        InboxMessage {
            id: m.id,
            identity_id: m.identity_id,
            sender: m.sender,
            subject: m.subject,
            received_at: m.received_at,
            extraction: m.extraction.map(|x| Extraction {
                kind: x.kind,
                redacted_value: x.redacted_value,
                confidence: x.confidence,
            }),
        }
    }
}

/// The result of a completed run (the secret itself: `run_secret`).
#[pyclass(frozen, get_all, module = "authflow")]
#[derive(Clone)]
pub struct RunResult {
    kind: String,
    redacted_value: String,
    has_secret: bool,
    secret_retrieval_available: bool,
    confidence: f64,
    delivery_time_ms: u64,
    email_received_at: String,
}

#[pymethods]
impl RunResult {
    fn __repr__(&self) -> String {
        format!(
            "RunResult(kind={:?}, redacted_value={:?}, confidence={})",
            self.kind, self.redacted_value, self.confidence
        )
    }
}

/// Why a run failed or timed out.
#[pyclass(frozen, get_all, module = "authflow")]
#[derive(Clone)]
pub struct RunFailure {
    code: String,
    detail: String,
}

#[pymethods]
impl RunFailure {
    fn __repr__(&self) -> String {
        format!("RunFailure(code={:?}, detail={:?})", self.code, self.detail)
    }
}

/// A reliability run.
#[pyclass(frozen, get_all, module = "authflow")]
#[derive(Clone)]
pub struct Run {
    id: String,
    kind: String,
    status: String,
    identity_id: String,
    target_url: String,
    created_at: String,
    completed_at: Option<String>,
    result: Option<RunResult>,
    failure: Option<RunFailure>,
}

#[pymethods]
impl Run {
    fn __repr__(&self) -> String {
        format!(
            "Run(id={:?}, kind={:?}, status={:?}, identity_id={:?})",
            self.id, self.kind, self.status, self.identity_id
        )
    }
}

impl Run {
    fn from_ffi(r: ffi::Run) -> Self {
        Run {
            id: r.id,
            kind: r.kind,
            status: r.status,
            identity_id: r.identity_id,
            target_url: r.target_url,
            created_at: r.created_at,
            completed_at: r.completed_at,
            result: r.result.map(|x| RunResult {
                kind: x.kind,
                redacted_value: x.redacted_value,
                has_secret: x.has_secret,
                secret_retrieval_available: x.secret_retrieval_available,
                confidence: x.confidence,
                delivery_time_ms: x.delivery_time_ms,
                email_received_at: x.email_received_at,
            }),
            failure: r.failure.map(|f| RunFailure {
                code: f.code,
                detail: f.detail,
            }),
        }
    }
}

/// One page of runs (limit/offset).
#[pyclass(frozen, get_all, module = "authflow")]
#[derive(Clone)]
pub struct RunPage {
    items: Vec<Run>,
    total: u64,
    limit: u32,
    offset: u64,
}

#[pymethods]
impl RunPage {
    fn __repr__(&self) -> String {
        format!(
            "RunPage(total={}, items={}, limit={}, offset={})",
            self.total,
            self.items.len(),
            self.limit,
            self.offset
        )
    }
}

/// Client for the AIdenID agent API (an `aid_…` key scoped to one org and
/// project).
#[pyclass(frozen, module = "authflow")]
pub struct AidenIdClient(Arc<ffi::AidenIdClient>);

#[pymethods]
impl AidenIdClient {
    #[new]
    #[pyo3(signature = (agent_key, org_id, project_id, base_url = None))]
    fn py_new(
        agent_key: &Bound<'_, PyAny>,
        org_id: String,
        project_id: String,
        base_url: Option<String>,
    ) -> PyResult<Self> {
        ffi::AidenIdClient::new(secret_arg(agent_key)?, org_id, project_id, base_url)
            .map(AidenIdClient)
            .map_err(py_err)
    }

    /// The base URL.
    #[getter]
    fn base_url(&self) -> String {
        self.0.base_url()
    }

    /// `POST /v1/identities`: a new identity.
    #[pyo3(signature = (label, ttl_hours = None))]
    fn create_identity<'py>(
        &self,
        py: Python<'py>,
        label: String,
        ttl_hours: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(
            self,
            py,
            |c| c.create_identity(label, ttl_hours),
            Identity::from_ffi
        )
    }

    /// `GET /v1/identities/{id}`.
    fn identity<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.identity(id), Identity::from_ffi)
    }

    /// `GET /v1/identities`: one page.
    #[pyo3(signature = (limit = None, offset = None))]
    fn list_identities<'py>(
        &self,
        py: Python<'py>,
        limit: Option<u32>,
        offset: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(
            self,
            py,
            |c| c.list_identities(limit, offset),
            IdentityPage::from_ffi
        )
    }

    /// `POST /v1/identities/{id}/squash`: end an identity.
    fn squash_identity<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.squash_identity(id), Identity::from_ffi)
    }

    /// `GET /v1/identities/{id}/messages`: the first 100 messages.
    fn messages<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.messages(id), |v| v
            .into_iter()
            .map(InboxMessage::from_ffi)
            .collect::<Vec<_>>())
    }

    /// `POST /v1/reliability/password-reset`: start a password-reset run.
    #[pyo3(signature = (identity_id, target_url, timeout_seconds = None))]
    fn create_password_reset_run<'py>(
        &self,
        py: Python<'py>,
        identity_id: String,
        target_url: String,
        timeout_seconds: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(
            self,
            py,
            |c| c.create_password_reset_run(identity_id, target_url, timeout_seconds),
            Run::from_ffi
        )
    }

    /// `POST /v1/reliability/invite`: start an invite run.
    #[pyo3(signature = (identity_id, target_url, timeout_seconds = None))]
    fn create_invite_run<'py>(
        &self,
        py: Python<'py>,
        identity_id: String,
        target_url: String,
        timeout_seconds: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(
            self,
            py,
            |c| c.create_invite_run(identity_id, target_url, timeout_seconds),
            Run::from_ffi
        )
    }

    /// `GET /v1/reliability/{id}`.
    fn run<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.run(id), Run::from_ffi)
    }

    /// `GET /v1/reliability`: one page of runs, optionally only in `status`.
    #[pyo3(signature = (status = None, limit = None, offset = None))]
    fn list_runs<'py>(
        &self,
        py: Python<'py>,
        status: Option<String>,
        limit: Option<u32>,
        offset: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.list_runs(status, limit, offset), |p| {
            RunPage {
                items: p.items.into_iter().map(Run::from_ffi).collect(),
                total: p.total,
                limit: p.limit,
                offset: p.offset,
            }
        })
    }

    /// `GET /v1/reliability/{id}/secret`: the raw OTP or link (needs
    /// `secrets:read`).
    fn run_secret<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.run_secret(id), Secret)
    }

    /// Poll a run until it is terminal, for at most `max_wait_ms`.
    #[pyo3(signature = (id, max_wait_ms = None))]
    fn wait_for_run<'py>(
        &self,
        py: Python<'py>,
        id: String,
        max_wait_ms: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.wait_for_run(id, max_wait_ms), Run::from_ffi)
    }

    fn __repr__(&self) -> String {
        format!("AidenIdClient(base_url={:?})", self.0.base_url())
    }
}

/// Add the AIdenID agent classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Identity>()?;
    m.add_class::<IdentityPage>()?;
    m.add_class::<Extraction>()?;
    m.add_class::<InboxMessage>()?;
    m.add_class::<RunResult>()?;
    m.add_class::<RunFailure>()?;
    m.add_class::<Run>()?;
    m.add_class::<RunPage>()?;
    m.add_class::<AidenIdClient>()?;
    Ok(())
}
