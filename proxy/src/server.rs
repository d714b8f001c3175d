//! Serving a router over HTTP/1.1 and HTTP/2 (cleartext) with header limits,
//! the peer address as [`ConnectInfo`] and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tower::ServiceExt;

/// Server settings.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Read buffer for a request head; larger heads get 431 (at least 8 KiB).
    pub header_limit: usize,
    /// Time allowed to receive a request head (slowloris).
    pub header_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_limit: crate::config::DEFAULT_HEADER_LIMIT,
            header_read_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

fn builder(options: &ServeOptions) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        // At most 100 headers: hyper's default. (Setting `max_headers`,
        // even to 100, makes hyper fill a heap vector per request.)
        .max_buf_size(options.header_limit.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(options.header_limit).unwrap_or(u32::MAX));
    builder
}

fn spawn_connection(
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    stream: TcpStream,
    peer: SocketAddr,
    app: &Router,
) {
    let _ = stream.set_nodelay(true);
    let app = app.clone();
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        app.clone().oneshot(req)
    });
    let conn = builder
        .serve_connection(TokioIo::new(stream), svc)
        .into_owned();
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    });
}

async fn drain(graceful: GracefulShutdown, options: &ServeOptions) {
    if tokio::time::timeout(options.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("drain timeout: closing remaining connections");
    }
}

/// Serve `app` on `listener` until `shutdown` completes, then stop accepting
/// and wait (up to `drain_timeout`) for in-flight requests to finish.
pub async fn serve<F>(listener: TcpListener, app: Router, options: ServeOptions, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    let builder = builder(&options);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => spawn_connection(&builder, &graceful, stream, peer, &app),
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    drain(graceful, &options).await;
}

/// Serve connections handed over by an acceptor on another thread (a
/// thread-per-core server deals accepted sockets round-robin, so every
/// worker gets its share) until `shutdown` completes or the acceptor hangs
/// up, then drain like [`serve`]. Sockets must be in non-blocking mode
/// (`tokio::net::TcpStream::into_std` leaves them so).
pub async fn serve_handoff<F>(
    mut incoming: mpsc::Receiver<(std::net::TcpStream, SocketAddr)>,
    app: Router,
    options: ServeOptions,
    shutdown: F,
) where
    F: Future<Output = ()> + Send,
{
    let builder = builder(&options);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            next = incoming.recv() => match next {
                Some((stream, peer)) => match TcpStream::from_std(stream) {
                    Ok(stream) => spawn_connection(&builder, &graceful, stream, peer, &app),
                    Err(e) => tracing::warn!(error = %e, "cannot adopt a connection"),
                },
                None => break,
            },
            () = &mut shutdown => break,
        }
    }
    drop(incoming);
    drain(graceful, &options).await;
}
