//! `ConsumerClient`, `ConsumerSession` and `InboxEvents`: the AIdenID
//! consumer API. `InboxEvents` is an async iterator (`async for`).

use std::sync::Arc;

use authflow_ffi as ffi;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;
use pyo3_async_runtimes::tokio::future_into_py;

use crate::aidenid::{Identity, IdentityPage};
use crate::{Secret, none, py_err, secret_arg};

/// A consumer notification (never holds an extracted value).
#[pyclass(frozen, get_all, eq, module = "authflow")]
#[derive(Clone, PartialEq, Eq)]
pub struct Notification {
    id: String,
    kind: String,
    title: String,
    body: String,
    read: bool,
    created_at: String,
}

#[pymethods]
impl Notification {
    fn __repr__(&self) -> String {
        format!(
            "Notification(id={:?}, kind={:?}, title={:?})",
            self.id, self.kind, self.title
        )
    }
}

/// One page of notifications, newest first.
#[pyclass(frozen, get_all, module = "authflow")]
#[derive(Clone)]
pub struct NotificationPage {
    items: Vec<Notification>,
    total: u64,
    limit: u32,
    offset: u64,
}

#[pymethods]
impl NotificationPage {
    fn __repr__(&self) -> String {
        format!(
            "NotificationPage(total={}, items={})",
            self.total,
            self.items.len()
        )
    }
}

/// The start of an upgrade to `human_paid`.
#[pyclass(frozen, get_all, eq, module = "authflow")]
#[derive(Clone, PartialEq, Eq)]
pub struct Upgrade {
    checkout_url: String,
}

#[pymethods]
impl Upgrade {
    fn __repr__(&self) -> String {
        format!("Upgrade(checkout_url={:?})", self.checkout_url)
    }
}

/// One event of the consumer inbox stream (`data_json`: JSON text).
#[pyclass(frozen, get_all, eq, module = "authflow")]
#[derive(Clone, PartialEq, Eq)]
pub struct InboxEvent {
    id: String,
    event_type: String,
    identity_id: String,
    message_id: String,
    data_json: String,
}

#[pymethods]
impl InboxEvent {
    fn __repr__(&self) -> String {
        format!(
            "InboxEvent(id={:?}, event_type={:?}, identity_id={:?}, message_id={:?})",
            self.id, self.event_type, self.identity_id, self.message_id
        )
    }
}

impl InboxEvent {
    fn from_ffi(e: ffi::InboxEvent) -> Self {
        InboxEvent {
            id: e.id,
            event_type: e.event_type,
            identity_id: e.identity_id,
            message_id: e.message_id,
            data_json: e.data_json,
        }
    }
}

/// Client for the AIdenID consumer API, before sign-in.
#[pyclass(frozen, module = "authflow")]
pub struct ConsumerClient(Arc<ffi::ConsumerClient>);

#[pymethods]
impl ConsumerClient {
    #[new]
    #[pyo3(signature = (base_url = None))]
    fn py_new(base_url: Option<String>) -> PyResult<Self> {
        ffi::ConsumerClient::new(base_url)
            .map(ConsumerClient)
            .map_err(py_err)
    }

    /// The base URL.
    #[getter]
    fn base_url(&self) -> String {
        self.0.base_url()
    }

    /// `POST /v1/consumer/signup`: create an account; a magic link is mailed.
    fn signup<'py>(&self, py: Python<'py>, email: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.signup(email), none)
    }

    /// `POST /v1/consumer/login`: mail a new magic link.
    fn login<'py>(&self, py: Python<'py>, email: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.login(email), none)
    }

    /// `POST /v1/consumer/verify`: exchange a magic-link token for a session.
    fn verify<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let token = secret_arg(token)?;
        call!(self, py, |c| c.verify(token), ConsumerSession)
    }

    fn __repr__(&self) -> String {
        format!("ConsumerClient(base_url={:?})", self.0.base_url())
    }
}

/// A signed-in consumer.
#[pyclass(frozen, module = "authflow")]
pub struct ConsumerSession(Arc<ffi::ConsumerSession>);

#[pymethods]
impl ConsumerSession {
    /// `csr_…`
    #[getter]
    fn consumer_id(&self) -> String {
        self.0.consumer_id()
    }

    /// The consumer's personal organization.
    #[getter]
    fn org_id(&self) -> String {
        self.0.org_id()
    }

    /// The consumer's default project.
    #[getter]
    fn project_id(&self) -> String {
        self.0.project_id()
    }

    /// When the session ends (RFC 3339).
    #[getter]
    fn expires_at(&self) -> String {
        self.0.expires_at()
    }

    /// The `sess_…` session token.
    #[getter]
    fn session_token(&self) -> Secret {
        Secret(self.0.session_token())
    }

    /// `GET /v1/consumer/identities`: one page.
    #[pyo3(signature = (limit = None, offset = None))]
    fn identities<'py>(
        &self,
        py: Python<'py>,
        limit: Option<u32>,
        offset: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(
            self,
            py,
            |c| c.identities(limit, offset),
            IdentityPage::from_ffi
        )
    }

    /// `POST /v1/consumer/identities`: a new identity.
    fn create_identity<'py>(&self, py: Python<'py>, label: String) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.create_identity(label), Identity::from_ffi)
    }

    /// `GET /v1/consumer/notifications`: one page, newest first.
    #[pyo3(signature = (limit = None, offset = None))]
    fn notifications<'py>(
        &self,
        py: Python<'py>,
        limit: Option<u32>,
        offset: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.notifications(limit, offset), |p| {
            NotificationPage {
                items: p
                    .items
                    .into_iter()
                    .map(|n| Notification {
                        id: n.id,
                        kind: n.kind,
                        title: n.title,
                        body: n.body,
                        read: n.read,
                        created_at: n.created_at,
                    })
                    .collect(),
                total: p.total,
                limit: p.limit,
                offset: p.offset,
            }
        })
    }

    /// `POST /v1/consumer/upgrade`: the checkout URL of the upgrade.
    fn upgrade<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.upgrade(), |u| Upgrade {
            checkout_url: u.checkout_url,
        })
    }

    /// The live inbox stream (`async for event in session.inbox_events():`),
    /// resuming after `last_event_id` if given.
    #[pyo3(signature = (last_event_id = None))]
    fn inbox_events(&self, last_event_id: Option<String>) -> InboxEvents {
        InboxEvents(self.0.inbox_events(last_event_id))
    }

    fn __repr__(&self) -> String {
        format!(
            "ConsumerSession(consumer_id={:?}, expires_at={:?}, session_token=[REDACTED])",
            self.0.consumer_id(),
            self.0.expires_at()
        )
    }
}

/// The consumer's live inbox: an async iterator of `InboxEvent`s.
#[pyclass(frozen, module = "authflow")]
pub struct InboxEvents(Arc<ffi::InboxEvents>);

#[pymethods]
impl InboxEvents {
    /// The next event, or None after `close()` / when the stream ended.
    fn next<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        call!(self, py, |c| c.next(), |e| e.map(InboxEvent::from_ffi))
    }

    /// Close the stream (idempotent); a waiting `next()` returns None.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.0.clone();
        future_into_py(py, async move {
            c.close().await;
            Ok(none(()))
        })
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.0.clone();
        future_into_py(py, async move {
            match c.next().await {
                Ok(Some(e)) => Ok(InboxEvent::from_ffi(e)),
                Ok(None) => Err(PyStopAsyncIteration::new_err(())),
                Err(e) => Err(py_err(e)),
            }
        })
    }

    fn __aenter__(slf: Py<Self>, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        future_into_py(py, async move { Ok(slf) })
    }

    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc_type: Option<Bound<'py, PyAny>>,
        _exc: Option<Bound<'py, PyAny>>,
        _tb: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.close(py)
    }

    fn __repr__(&self) -> &'static str {
        "InboxEvents(...)"
    }
}

/// Add the AIdenID consumer classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Notification>()?;
    m.add_class::<NotificationPage>()?;
    m.add_class::<Upgrade>()?;
    m.add_class::<InboxEvent>()?;
    m.add_class::<ConsumerClient>()?;
    m.add_class::<ConsumerSession>()?;
    m.add_class::<InboxEvents>()?;
    Ok(())
}
