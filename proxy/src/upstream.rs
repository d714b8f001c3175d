//! The upstream HTTP client.
//!
//! - `http` upstreams: a small per-worker pool of HTTP/1.1 connections
//!   ([`Http1Pool`]) over hyper's connection API — a stack of idle
//!   connections (at most [`POOL_MAX_IDLE`], each kept [`POOL_IDLE`]),
//!   opened by hyper-util's TCP connector (happy eyeballs, `TCP_NODELAY`,
//!   TCP keep-alive, the connect timeout); a connection goes
//!   back to the stack only once its answer was read to the end and the
//!   answer allows keep-alive;
//! - `https` upstreams: hyper-util's pooled client (HTTP/1.1 keep-alive pool,
//!   idle connections kept 60 s, `TCP_NODELAY`) through rustls (aws-lc-rs,
//!   the platform's trust store) with ALPN `h2` + `http/1.1`, so HTTP/2 is
//!   used where the upstream offers it;
//! - connect timeout on opening a connection, request timeout on the whole
//!   exchange (request and response body) — the caller applies it;
//! - no redirects are followed (hyper's client never follows one) and no
//!   proxy from the environment is used;
//! - a failure is classified ([`UpstreamFailure`]) where it happens and the
//!   client's error dropped: its text could name the upstream URL, whose
//!   query carries the key.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, Request, Response, Version, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::breaker::UpstreamFailure;
use crate::config::ConfigError;

/// hyper-util's pooled client, for `https` upstreams.
type LegacyClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The upstream client of one worker.
pub(crate) enum UpstreamClient {
    /// `http` upstream: the worker's own HTTP/1.1 pool; requests are sent
    /// in origin form with the caller's `Host`.
    Plain(Http1Pool),
    /// `https` upstream: hyper-util's client (HTTP/2 where offered);
    /// requests are sent with an absolute URI.
    Tls(Box<LegacyClient>),
}

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);

/// At most this many idle connections are kept per worker.
const POOL_MAX_IDLE: usize = 256;

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

/// The client of one worker (its connections belong to the runtime that
/// opened them): for `plain_addr` (`host:port` of an `http` upstream) a
/// [`Http1Pool`], else hyper-util's pooled client.
pub(crate) fn client(
    tls: &rustls::ClientConfig,
    connect_timeout: Duration,
    plain_addr: Option<String>,
) -> UpstreamClient {
    if let Some(pool) = plain_addr
        .as_deref()
        .and_then(|addr| Http1Pool::new(addr, connect_timeout))
    {
        return UpstreamClient::Plain(pool);
    }
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
    UpstreamClient::Tls(Box::new(
        Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(https),
    ))
}

impl UpstreamClient {
    /// Whether requests must carry an origin-form URI (path and query) and
    /// their own `Host` header: an `http` upstream's.
    pub(crate) fn origin_form(&self) -> bool {
        matches!(self, Self::Plain(_))
    }

    /// Send `req` and read the whole answer (at most `limit` body bytes):
    /// the answer's head and body. A body that arrives in one piece is not
    /// copied.
    pub(crate) async fn exchange(
        &self,
        req: Request<Full<Bytes>>,
        limit: usize,
    ) -> Result<(axum::http::response::Parts, Bytes), UpstreamFailure> {
        match self {
            Self::Plain(pool) => pool.exchange(req, limit).await,
            Self::Tls(client) => {
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
        }
    }
}

/// An idle connection and when it became idle.
struct Idle {
    sender: SendRequest<Full<Bytes>>,
    since: Instant,
}

/// The HTTP/1.1 connections of one worker to an `http` upstream: a stack
/// of idle connections (the most recently used on top, so the oldest expire
/// at the bottom). A connection is taken off the stack for one exchange and
/// pushed back once the answer's body was read to the end.
///
/// A request that fails on a reused connection before it was written (the
/// connection was found closed) is sent again on a new connection, whatever
/// its method — hyper-util's pool did the same. One that fails after it was
/// written, with the connection closed or reset before an answer (the
/// keep-alive race: the upstream closed the idle connection just as the
/// request went out), is sent again once on a new connection when it is a
/// `GET` or `HEAD`.
pub(crate) struct Http1Pool {
    /// `http://host:port` of the upstream, what the connector resolves.
    origin: axum::http::Uri,
    /// hyper-util's TCP connector: every resolved address tried (IPv6 and
    /// IPv4 raced, "happy eyeballs"), `TCP_NODELAY`, TCP keep-alive, the
    /// connect timeout shared among the addresses.
    connector: HttpConnector,
    connect_timeout: Duration,
    idle: Mutex<Vec<Idle>>,
}

impl Http1Pool {
    /// A pool for the `http` upstream at `addr` (`host:port`); `None` if
    /// that is not a valid authority.
    fn new(addr: &str, connect_timeout: Duration) -> Option<Self> {
        let origin = axum::http::Uri::builder()
            .scheme("http")
            .authority(addr)
            .path_and_query("/")
            .build()
            .ok()?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_keepalive(Some(POOL_IDLE));
        Some(Self {
            origin,
            connector,
            connect_timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle connection ready for a request, if one is left; closed and
    /// expired ones are dropped.
    async fn checkout(&self) -> Option<SendRequest<Full<Bytes>>> {
        loop {
            let idle = {
                let mut stack = self.idle();
                let top = stack.pop()?;
                if top.since.elapsed() >= POOL_IDLE {
                    // Everything under it is older still.
                    stack.clear();
                    return None;
                }
                top
            };
            let mut sender = idle.sender;
            if sender.is_closed() {
                continue;
            }
            // Usually ready at once; else the connection's task has not
            // yet taken in the end of the previous answer.
            if sender.ready().await.is_ok() {
                return Some(sender);
            }
        }
    }

    /// Put a connection whose exchange is over back on the stack.
    fn checkin(&self, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut stack = self.idle();
        if stack
            .first()
            .is_some_and(|oldest| now.duration_since(oldest.since) >= POOL_IDLE)
        {
            stack.retain(|i| now.duration_since(i.since) < POOL_IDLE);
        }
        if stack.len() < POOL_MAX_IDLE {
            stack.push(Idle { sender, since: now });
        }
    }

    /// Open a new connection (under the connect timeout) and spawn its task
    /// on the current runtime.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, UpstreamFailure> {
        use tower::ServiceExt as _;
        // The connector bounds each attempt; this bounds resolution too.
        let io = tokio::time::timeout(
            self.connect_timeout,
            self.connector.clone().oneshot(self.origin.clone()),
        )
        .await
        .map_err(|_| UpstreamFailure::Connect)?
        .map_err(|_| UpstreamFailure::Connect)?;
        let (sender, conn) = http1::handshake(io)
            .await
            .map_err(|_| UpstreamFailure::Connect)?;
        tokio::spawn(async move {
            if conn.await.is_err() {
                tracing::debug!(target: "authflow_proxy::upstream", "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    async fn exchange(
        &self,
        mut req: Request<Full<Bytes>>,
        limit: usize,
    ) -> Result<(axum::http::response::Parts, Bytes), UpstreamFailure> {
        if let Some(mut sender) = self.checkout().await {
            let idempotent = matches!(*req.method(), Method::GET | Method::HEAD);
            let copy = idempotent.then(|| copy_request(&req));
            match sender.try_send_request(req).await {
                Ok(res) => return self.finish(sender, res, limit).await,
                Err(mut e) => {
                    req = match (e.take_message(), copy) {
                        // Not written: the connection was found closed.
                        (Some(unsent), _) => unsent,
                        (None, Some(copy)) if is_stale(e.error()) => copy,
                        _ => return Err(UpstreamFailure::Failed),
                    };
                }
            }
        }
        let mut sender = self.connect().await?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|_| UpstreamFailure::Failed)?;
        self.finish(sender, res, limit).await
    }

    /// Read the answer's body, then give the connection back when the
    /// answer allows keep-alive.
    async fn finish(
        &self,
        sender: SendRequest<Full<Bytes>>,
        res: Response<Incoming>,
        limit: usize,
    ) -> Result<(axum::http::response::Parts, Bytes), UpstreamFailure> {
        let (parts, body) = res.into_parts();
        // On a failure the connection is dropped with the unread body.
        let body = read_limited(body, limit).await?;
        if keep_alive(parts.version, &parts.headers) {
            self.checkin(sender);
        }
        Ok((parts, body))
    }
}

/// A copy of a request, for sending it again.
fn copy_request(req: &Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    let mut copy = Request::new(req.body().clone());
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.version_mut() = req.version();
    *copy.headers_mut() = req.headers().clone();
    copy
}

/// Whether a failure after the request was written means the connection
/// was already gone: closed before a complete answer, or reset.
fn is_stale(e: &hyper::Error) -> bool {
    if e.is_incomplete_message() || e.is_canceled() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            );
        }
        source = s.source();
    }
    false
}

/// Whether the connection may carry another request after this answer:
/// HTTP/1.1 without `Connection: close`, HTTP/1.0 with
/// `Connection: keep-alive`.
fn keep_alive(version: Version, headers: &HeaderMap) -> bool {
    let has = |token: &str| {
        headers.get_all(header::CONNECTION).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    match version {
        Version::HTTP_11 => !has("close"),
        Version::HTTP_10 => has("keep-alive"),
        _ => false,
    }
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

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::HeaderValue;
    use hyper::body::{Frame, SizeHint};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

    /// What a test upstream does on each connection.
    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        /// Answer every request, keep-alive.
        KeepAlive,
        /// Answer every request with `Connection: close`, then close.
        CloseHeader,
        /// Answer one request, then close the idle connection.
        OneThenClose,
        /// Answer one request; read the next one and close without an
        /// answer (the keep-alive race, made certain).
        OneThenDropNext,
    }

    /// A test upstream: its `host:port`, the count of accepted connections
    /// and the request heads it read.
    struct TestUpstream {
        addr: String,
        accepted: Arc<AtomicUsize>,
        heads: Arc<std::sync::Mutex<Vec<String>>>,
    }

    async fn read_request(s: &mut tokio::net::TcpStream) -> Option<String> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < end + length {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        Some(head)
    }

    async fn upstream(mode: Mode) -> TestUpstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (count, seen) = (accepted.clone(), heads.clone());
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut served = 0;
                    while let Some(head) = read_request(&mut s).await {
                        seen.lock().expect("heads").push(head);
                        if mode == Mode::OneThenDropNext && served == 1 {
                            return;
                        }
                        let close = if mode == Mode::CloseHeader {
                            "Connection: close\r\n"
                        } else {
                            ""
                        };
                        let reply =
                            format!("HTTP/1.1 200 OK\r\n{close}Content-Length: 2\r\n\r\nok");
                        if s.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                        served += 1;
                        if mode == Mode::CloseHeader || mode == Mode::OneThenClose {
                            let _ = s.shutdown().await;
                            return;
                        }
                    }
                });
            }
        });
        TestUpstream {
            addr,
            accepted,
            heads,
        }
    }

    fn request(method: Method) -> Request<Full<Bytes>> {
        let body = if method == Method::POST {
            Bytes::from_static(b"{}")
        } else {
            Bytes::new()
        };
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = axum::http::Uri::from_static("/auth/fooBar?x=1");
        req.headers_mut()
            .insert(header::HOST, HeaderValue::from_static("upstream.test"));
        req
    }

    async fn send(pool: &Http1Pool, method: Method) -> Result<Bytes, UpstreamFailure> {
        pool.exchange(request(method), 1024)
            .await
            .map(|(_, body)| body)
    }

    fn pool(up: &TestUpstream) -> Http1Pool {
        Http1Pool::new(&up.addr, Duration::from_secs(5)).expect("pool")
    }

    #[tokio::test]
    async fn a_host_name_is_resolved_by_the_connector() {
        let up = upstream(Mode::KeepAlive).await;
        let port = up.addr.rsplit(':').next().expect("port");
        let pool =
            Http1Pool::new(&format!("localhost:{port}"), Duration::from_secs(5)).expect("pool");
        assert_eq!(
            send(&pool, Method::GET).await.ok().as_deref(),
            Some(&b"ok"[..])
        );
        assert_eq!(up.accepted.load(Ordering::SeqCst), 1);
        assert!(Http1Pool::new("bad host:80", Duration::from_secs(5)).is_none());
    }

    #[tokio::test]
    async fn sequential_requests_reuse_one_connection() {
        let up = upstream(Mode::KeepAlive).await;
        let pool = pool(&up);
        for _ in 0..3 {
            assert_eq!(
                send(&pool, Method::GET).await.ok().as_deref(),
                Some(&b"ok"[..])
            );
        }
        assert_eq!(up.accepted.load(Ordering::SeqCst), 1);
        let heads = up.heads.lock().expect("heads").clone();
        assert_eq!(heads.len(), 3);
        // Origin form, and the caller's Host (the connection API sets none).
        assert!(
            heads[0].starts_with("GET /auth/fooBar?x=1 HTTP/1.1\r\n"),
            "{}",
            heads[0]
        );
        assert!(
            heads[0]
                .to_ascii_lowercase()
                .contains("\r\nhost: upstream.test\r\n"),
            "{}",
            heads[0]
        );
    }

    #[tokio::test]
    async fn an_answer_with_connection_close_is_not_pooled() {
        let up = upstream(Mode::CloseHeader).await;
        let pool = pool(&up);
        for _ in 0..2 {
            assert_eq!(
                send(&pool, Method::GET).await.ok().as_deref(),
                Some(&b"ok"[..])
            );
        }
        assert_eq!(up.accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_closed_idle_connection_is_dropped_and_replaced() {
        let up = upstream(Mode::OneThenClose).await;
        let pool = pool(&up);
        assert!(send(&pool, Method::GET).await.is_ok());
        // The upstream closes its end; the connection's task notices.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(send(&pool, Method::POST).await.is_ok());
        assert_eq!(up.accepted.load(Ordering::SeqCst), 2);
        assert_eq!(up.heads.lock().expect("heads").len(), 2);
    }

    #[tokio::test]
    async fn a_get_on_a_stale_connection_is_sent_again() {
        let up = upstream(Mode::OneThenDropNext).await;
        let pool = pool(&up);
        assert!(send(&pool, Method::GET).await.is_ok());
        assert_eq!(
            send(&pool, Method::GET).await.ok().as_deref(),
            Some(&b"ok"[..])
        );
        assert_eq!(up.accepted.load(Ordering::SeqCst), 2);
        // The dropped one and its copy on the new connection.
        assert_eq!(up.heads.lock().expect("heads").len(), 3);
    }

    #[tokio::test]
    async fn a_post_on_a_stale_connection_is_not_sent_again() {
        let up = upstream(Mode::OneThenDropNext).await;
        let pool = pool(&up);
        assert!(send(&pool, Method::POST).await.is_ok());
        assert_eq!(
            send(&pool, Method::POST).await.err(),
            Some(UpstreamFailure::Failed)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(up.accepted.load(Ordering::SeqCst), 1);
        assert_eq!(up.heads.lock().expect("heads").len(), 2);
    }

    #[tokio::test]
    async fn no_upstream_is_a_connect_failure() {
        let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind")
            .local_addr()
            .expect("addr")
            .to_string();
        let pool = Http1Pool::new(&addr, Duration::from_secs(5)).expect("pool");
        assert_eq!(
            send(&pool, Method::GET).await.err(),
            Some(UpstreamFailure::Connect)
        );
    }

    #[test]
    fn keep_alive_follows_version_and_connection() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONNECTION, HeaderValue::from_static(v));
            h
        };
        assert!(keep_alive(Version::HTTP_11, &HeaderMap::new()));
        assert!(!keep_alive(Version::HTTP_11, &with("Close")));
        assert!(!keep_alive(Version::HTTP_11, &with("x-hop, close")));
        assert!(!keep_alive(Version::HTTP_10, &HeaderMap::new()));
        assert!(keep_alive(Version::HTTP_10, &with("keep-alive")));
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
