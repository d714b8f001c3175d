//! `ProxyServer` and `ProxyOptions`: the key-injecting proxy, in-process.

use std::sync::Arc;

use authflow_ffi as ffi;
use pyo3::prelude::*;
use pyo3_async_runtimes::tokio::future_into_py;

use crate::{none, py_err, secret_arg};

/// Settings of `ProxyServer.start_with`; every field has a default.
#[pyclass(frozen, get_all, eq, module = "authflow", from_py_object)]
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyOptions {
    cookie_origins: Vec<String>,
    cors_origins: Vec<String>,
    body_limit: Option<u64>,
}

#[pymethods]
impl ProxyOptions {
    #[new]
    #[pyo3(signature = (cookie_origins = Vec::new(), cors_origins = Vec::new(), body_limit = None))]
    fn py_new(
        cookie_origins: Vec<String>,
        cors_origins: Vec<String>,
        body_limit: Option<u64>,
    ) -> Self {
        ProxyOptions {
            cookie_origins,
            cors_origins,
            body_limit,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "ProxyOptions(cookie_origins={:?}, cors_origins={:?}, body_limit={})",
            self.cookie_origins,
            self.cors_origins,
            self.body_limit
                .map_or_else(|| "None".to_owned(), |b| b.to_string())
        )
    }
}

/// A running key-injecting proxy on `127.0.0.1` with a random port.
#[pyclass(frozen, module = "authflow")]
pub struct ProxyServer(Arc<ffi::ProxyServer>);

#[pymethods]
impl ProxyServer {
    /// Start a proxy for `upstream` injecting the organization key
    /// `api_key` (awaitable).
    #[staticmethod]
    fn start<'py>(
        py: Python<'py>,
        upstream: String,
        api_key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = secret_arg(api_key)?;
        future_into_py(py, async move {
            ffi::ProxyServer::start(upstream, key)
                .await
                .map(ProxyServer)
                .map_err(py_err)
        })
    }

    /// `start` with `options` (awaitable).
    #[staticmethod]
    fn start_with<'py>(
        py: Python<'py>,
        upstream: String,
        api_key: &Bound<'py, PyAny>,
        options: ProxyOptions,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = secret_arg(api_key)?;
        let options = ffi::ProxyOptions {
            cookie_origins: options.cookie_origins,
            cors_origins: options.cors_origins,
            body_limit: options.body_limit,
        };
        future_into_py(py, async move {
            ffi::ProxyServer::start_with(upstream, key, options)
                .await
                .map(ProxyServer)
                .map_err(py_err)
        })
    }

    /// `http://127.0.0.1:PORT`.
    #[getter]
    fn base_url(&self) -> String {
        self.0.base_url()
    }

    /// Stop the proxy, letting in-flight requests finish (awaitable).
    fn shutdown<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.0.clone();
        future_into_py(py, async move {
            p.shutdown().await;
            Ok(none(()))
        })
    }

    fn __repr__(&self) -> String {
        format!("ProxyServer(base_url={:?})", self.0.base_url())
    }
}

/// Add the proxy classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ProxyOptions>()?;
    m.add_class::<ProxyServer>()?;
    Ok(())
}
