//! Helpers shared by the `proxy_*` tests: start the proxy in-process in front
//! of an upstream, send raw bytes, check that no byte of the key leaks.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use authflow_mock::MockServer;
use authflow_proxy::{ProxyConfig, ProxyConfigBuilder, ServeOptions, router, serve};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A proxy served on a random loopback port; stopped on drop.
pub struct RunningProxy {
    /// Its address.
    pub addr: SocketAddr,
    /// `http://ADDR`.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Start a proxy for `upstream` with `key`, the builder adjusted by `tweak`.
pub async fn start_proxy(
    upstream: &str,
    key: SecretString,
    tweak: impl FnOnce(ProxyConfigBuilder) -> ProxyConfigBuilder,
) -> RunningProxy {
    let config = tweak(ProxyConfig::builder(upstream, key))
        .build()
        .expect("valid proxy configuration");
    let options = ServeOptions {
        header_limit: config.header_limit(),
        ..ServeOptions::default()
    };
    let app = router(config).expect("proxy builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, app, options, async {
        let _ = stopped.await;
    }));
    RunningProxy {
        addr,
        url: format!("http://{addr}"),
        stop: Some(stop),
    }
}

/// A mock server and a default proxy in front of it.
pub async fn stack() -> (MockServer, RunningProxy) {
    stack_with(|b| b).await
}

/// A mock server and a proxy in front of it, configured by `tweak`.
pub async fn stack_with(
    tweak: impl FnOnce(ProxyConfigBuilder) -> ProxyConfigBuilder,
) -> (MockServer, RunningProxy) {
    let mock = MockServer::start().await.expect("mock starts");
    let proxy = start_proxy(&mock.base_url(), mock.api_key(), tweak).await;
    (mock, proxy)
}

/// A raw HTTP exchange: the status (0 if none) and everything read.
pub struct Raw {
    /// Status code of the first response line (0 when the connection closed without one).
    pub status: u16,
    /// All bytes read until the peer closed (or 5 s passed).
    pub bytes: Vec<u8>,
}

impl Raw {
    /// The bytes as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
    /// The body after the first blank line, parsed as JSON (Null if it is not).
    pub fn json(&self) -> serde_json::Value {
        let t = self.text();
        let body = t.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
    }
}

/// Send `request` as-is on a fresh connection and read until the server closes.
pub async fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut bytes)).await;
    let status = std::str::from_utf8(&bytes)
        .ok()
        .or_else(|| {
            bytes
                .iter()
                .position(|b| *b == b'\r')
                .and_then(|i| std::str::from_utf8(&bytes[..i]).ok())
        })
        .and_then(|t| t.split(' ').nth(1))
        .and_then(|c| c.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Raw { status, bytes }
}

/// A `GET target` request with `Connection: close`.
pub fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n").into_bytes()
}

/// Assert that `bytes` hold no trace of `key` (whole key, or its 32 hex digits in any case).
#[track_caller]
pub fn assert_no_key(bytes: &[u8], key: &SecretString) {
    let key = key.expose_secret().to_ascii_lowercase();
    let hex = key.trim_start_matches("af_");
    let lower = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    assert!(!lower.contains(hex), "the key leaked in: {lower}");
}

/// Assert the error envelope shape and code.
#[track_caller]
pub fn assert_envelope(v: &serde_json::Value, code: &str) {
    assert_eq!(v["error"]["code"], code, "{v}");
    let id = v["requestId"].as_str().expect("requestId");
    assert!(id.starts_with("req_"), "{v}");
    assert_eq!(v["error"]["details"]["requestId"], id, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    assert!(
        v["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{v}"
    );
    assert!(v["path"].is_string(), "{v}");
    assert!(v["retryable"].is_boolean(), "{v}");
}
