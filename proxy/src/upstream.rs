//! The upstream HTTP client: hyper-util's pooled client, used directly.
//!
//! - HTTP/1.1 keep-alive pool (idle connections kept 60 s), `TCP_NODELAY`;
//! - `https` upstreams through rustls (aws-lc-rs, the platform's trust
//!   store) with ALPN `h2` + `http/1.1`, so HTTP/2 is used where the
//!   upstream offers it;
//! - connect timeout on opening a connection, request timeout on the whole
//!   exchange (request and response body) — the caller applies it;
//! - no redirects are followed (hyper's client never follows one) and no
//!   proxy from the environment is used;
//! - a failure is classified ([`UpstreamFailure`]) where it happens and the
//!   client's error dropped: its text could name the upstream URL, whose
//!   query carries the key.

use std::time::Duration;

use axum::http::{Request, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::breaker::UpstreamFailure;
use crate::config::ConfigError;

/// The pooled client of one worker.
pub(crate) type UpstreamClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);

/// The TLS settings shared by every worker's client: rustls with the
/// aws-lc-rs provider and the platform verifier (no ALPN yet: the connector
/// builder sets it).
pub(crate) fn tls_config() -> Result<rustls::ClientConfig, ConfigError> {
    use hyper_rustls::ConfigBuilderExt as _;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| ConfigError::Client)?
        .try_with_platform_verifier()
        .map_err(|_| ConfigError::Client)?
        .with_no_client_auth())
}

/// A pooled client (one per worker: its connections belong to the runtime
/// that opened them).
pub(crate) fn client(tls: &rustls::ClientConfig, connect_timeout: Duration) -> UpstreamClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_keepalive(Some(POOL_IDLE));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(https)
}

/// Send `req` and read the whole answer (at most `limit` body bytes): the
/// answer's head and body. A body that arrives in one piece is not copied.
pub(crate) async fn exchange(
    client: &UpstreamClient,
    req: Request<Full<Bytes>>,
    limit: usize,
) -> Result<(axum::http::response::Parts, Bytes), UpstreamFailure> {
    let res: Response<Incoming> = client.request(req).await.map_err(|e| {
        if e.is_connect() {
            UpstreamFailure::Connect
        } else {
            UpstreamFailure::Failed
        }
    })?;
    let (parts, body) = res.into_parts();
    let body = read_limited(body, limit).await?;
    Ok((parts, body))
}

/// The body, or [`UpstreamFailure::TooLarge`] once it is over `limit`
/// (at once when its declared length is).
async fn read_limited<B>(mut body: B, limit: usize) -> Result<Bytes, UpstreamFailure>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let limit64 = u64::try_from(limit).unwrap_or(u64::MAX);
    if body.size_hint().lower() > limit64 {
        return Err(UpstreamFailure::TooLarge);
    }
    let mut single: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| UpstreamFailure::Failed)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if data.is_empty() {
            continue;
        }
        len = len.saturating_add(data.len());
        if len > limit {
            return Err(UpstreamFailure::TooLarge);
        }
        match single.take() {
            None if joined.is_empty() => single = Some(data),
            first => {
                if let Some(first) = first {
                    joined.reserve(first.len() + data.len());
                    joined.extend_from_slice(&first);
                }
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(single.unwrap_or_else(|| Bytes::from(joined)))
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use hyper::body::{Frame, SizeHint};

    use super::*;

    /// A body of the given chunks, declaring `declared` as its exact length.
    struct Chunks {
        chunks: VecDeque<Bytes>,
        declared: Option<u64>,
    }

    impl hyper::body::Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.chunks.pop_front().map(|c| Ok(Frame::data(c))))
        }
        fn size_hint(&self) -> SizeHint {
            self.declared
                .map_or_else(SizeHint::new, SizeHint::with_exact)
        }
    }

    fn body(chunks: &[&'static [u8]], declared: Option<u64>) -> Chunks {
        Chunks {
            chunks: chunks.iter().map(|c| Bytes::from_static(c)).collect(),
            declared,
        }
    }

    #[tokio::test]
    async fn bodies_are_joined_within_the_limit() {
        let one = read_limited(body(&[b"{\"a\":1}"], None), 100).await;
        assert_eq!(one.ok().as_deref(), Some(&b"{\"a\":1}"[..]));
        let three = read_limited(body(&[b"ab", b"", b"cd", b"e"], None), 5).await;
        assert_eq!(three.ok().as_deref(), Some(&b"abcde"[..]));
        let none = read_limited(body(&[], None), 5).await;
        assert_eq!(none.ok().as_deref(), Some(&b""[..]));
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let streamed = read_limited(body(&[b"abc", b"def"], None), 5).await;
        assert_eq!(streamed.err(), Some(UpstreamFailure::TooLarge));
        // A declared length over the limit is refused before reading.
        let declared = read_limited(body(&[b"ab"], Some(6)), 5).await;
        assert_eq!(declared.err(), Some(UpstreamFailure::TooLarge));
    }
}
