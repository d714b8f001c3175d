//! `ProxyServer` and `ProxyOptions`: the key-injecting proxy, in-process.

use std::sync::Arc;

use authflow_ffi as ffi;
use napi::bindgen_prelude::Result;
use napi_derive::napi;

use crate::{SecretArg, js_err, to_u64};

/// Settings of `ProxyServer.startWith`; every field may be left out.
#[napi(object)]
#[derive(Clone, Default)]
pub struct ProxyOptions {
    /// Non-empty: the backend-for-frontend cookie mode, with these origins
    /// allowed to make state-changing requests.
    pub cookie_origins: Option<Vec<String>>,
    /// The CORS allow-list.
    pub cors_origins: Option<Vec<String>>,
    /// The request body limit in bytes (default 1 MiB).
    pub body_limit: Option<i64>,
}

/// A running key-injecting proxy on `127.0.0.1` with a random port.
#[napi]
pub struct ProxyServer(Arc<ffi::ProxyServer>);

#[napi]
impl ProxyServer {
    /// Start a proxy for `upstream` injecting the organization key
    /// `apiKey`, with default settings.
    #[napi]
    pub async fn start(
        upstream: String,
        #[napi(ts_arg_type = "Secret | string")] api_key: SecretArg,
    ) -> Result<ProxyServer> {
        ffi::ProxyServer::start(upstream, api_key.0)
            .await
            .map(ProxyServer)
            .map_err(js_err)
    }

    /// `start` with `options`.
    #[napi]
    pub async fn start_with(
        upstream: String,
        #[napi(ts_arg_type = "Secret | string")] api_key: SecretArg,
        options: ProxyOptions,
    ) -> Result<ProxyServer> {
        let options = ffi::ProxyOptions {
            cookie_origins: options.cookie_origins.unwrap_or_default(),
            cors_origins: options.cors_origins.unwrap_or_default(),
            body_limit: options
                .body_limit
                .map(|b| to_u64(b, "a non-negative body limit"))
                .transpose()?,
        };
        ffi::ProxyServer::start_with(upstream, api_key.0, options)
            .await
            .map(ProxyServer)
            .map_err(js_err)
    }

    /// `http://127.0.0.1:PORT`.
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.0.base_url()
    }

    /// Stop the proxy, letting in-flight requests finish.
    #[napi]
    pub async fn shutdown(&self) -> Result<()> {
        let p = self.0.clone();
        p.shutdown().await;
        Ok(())
    }
}
