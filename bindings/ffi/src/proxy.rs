//! [`ProxyServer`]: the key-injecting proxy (`authflow-proxy`) served
//! in-process on a random loopback port, for tests and local development.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use authflow_proxy::{BreakerBackend, CookieMode, ProxyConfig, ServeOptions};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{AuthflowError, FfiResult, Secret, codes};

/// Settings of [`ProxyServer::start_with`]; every field has a default.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ProxyOptions {
    /// Non-empty: the backend-for-frontend cookie mode, with these origins
    /// (`scheme://host[:port]`) allowed to make state-changing requests.
    #[uniffi(default)]
    pub cookie_origins: Vec<String>,
    /// The CORS allow-list (empty: no CORS headers).
    #[uniffi(default)]
    pub cors_origins: Vec<String>,
    /// The request body limit in bytes (default: the proxy's, 1 MiB).
    #[uniffi(default)]
    pub body_limit: Option<u64>,
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// A running key-injecting proxy in front of an AuthFlow upstream, on
/// `127.0.0.1` with a random port and an in-memory circuit breaker. Stops on
/// [`shutdown`](Self::shutdown) or when the last reference goes.
#[derive(uniffi::Object)]
pub struct ProxyServer {
    base_url: String,
    running: Mutex<Option<Running>>,
}

impl std::fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyServer")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ProxyServer {
    fn lock(&self) -> MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        if let Some(r) = self.lock().take() {
            // The serve task drains and ends by itself.
            let _ = r.stop.send(());
        }
    }
}

fn config_error(e: authflow_proxy::ConfigError) -> Arc<AuthflowError> {
    // ConfigError's text names the setting, never the key.
    AuthflowError::new(codes::CONFIG, format!("proxy configuration: {e}"))
}

#[uniffi::export(async_runtime = "tokio")]
impl ProxyServer {
    /// Start a proxy for `upstream` (an `http`/`https` origin) injecting the
    /// organization key `api_key` (`af_` + 32 hex), with default settings.
    /// Fails with code `config` for a malformed key or upstream.
    #[uniffi::constructor]
    pub async fn start(upstream: String, api_key: Arc<Secret>) -> FfiResult<Arc<Self>> {
        Self::start_with(upstream, api_key, ProxyOptions::default()).await
    }

    /// [`start`](Self::start) with `options`.
    #[uniffi::constructor]
    pub async fn start_with(
        upstream: String,
        api_key: Arc<Secret>,
        options: ProxyOptions,
    ) -> FfiResult<Arc<Self>> {
        let mut b = ProxyConfig::builder(upstream, api_key.to_sdk())
            // One store per proxy: tests do not share breaker state through
            // the default SQLite file.
            .breaker(BreakerBackend::Custom(Arc::new(
                authflow::breaker::MemoryStore::new(),
            )));
        if !options.cookie_origins.is_empty() {
            b = b.cookie_mode(CookieMode::new(options.cookie_origins));
        }
        if !options.cors_origins.is_empty() {
            b = b.cors_origins(options.cors_origins);
        }
        if let Some(limit) = options.body_limit {
            let limit = usize::try_from(limit).map_err(|_| {
                AuthflowError::new(
                    codes::CONFIG,
                    "proxy configuration: body_limit is too large",
                )
            })?;
            b = b.body_limit(limit);
        }
        let config = b.build().map_err(config_error)?;
        let serve_options = ServeOptions {
            header_limit: config.header_limit(),
            drain_timeout: Duration::from_secs(5),
            ..ServeOptions::default()
        };
        let app = authflow_proxy::router(config).map_err(config_error)?;
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
            AuthflowError::new(codes::TRANSPORT, format!("proxy could not bind: {e}"))
        })?;
        let addr = listener.local_addr().map_err(|e| {
            AuthflowError::new(codes::TRANSPORT, format!("proxy has no address: {e}"))
        })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(authflow_proxy::serve(listener, app, serve_options, async {
            let _ = stopped.await;
        }));
        Ok(Arc::new(ProxyServer {
            base_url: format!("http://{addr}"),
            running: Mutex::new(Some(Running { stop, task })),
        }))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Stop accepting connections, let in-flight requests finish (at most
    /// 5 s), and wait. Idempotent.
    pub async fn shutdown(&self) {
        let running = self.lock().take();
        if let Some(r) = running {
            let _ = r.stop.send(());
            let _ = r.task.await;
        }
    }
}
