//! The HTTP/1.1 server the API runs on, with the limits a server open to a network needs: a
//! deadline for each request's headers (hyper's `header_read_timeout`) and for its body (read by
//! the JSON extractor), and a cap on connections open at once (a semaphore around `accept`: past
//! the cap, new connections wait in the listen backlog until one closes).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::ServeShutdown;

/// How long [`serve`] lets requests in flight finish after shutdown before it returns.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long to wait before accepting again after `accept` failed (out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The server's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// A connection that has not sent a whole request head this long after it started waiting
    /// for one is closed (an idle keep-alive connection too).
    pub header_timeout: Duration,
    /// A request whose body has not fully arrived this long after its head is answered 408
    /// and its connection closed.
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ServeLimits {
    /// 10 s for headers, 30 s for a body, 1024 connections.
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// The body deadline, handed to the JSON extractor in each request's extensions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyTimeout(pub Duration);

/// Serves `router` on `listener` with the default [`ServeLimits`] until `shutdown` completes,
/// then lets requests in flight finish (event streams end at once) for at most a few seconds.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(listener, router, ServeLimits::default(), shutdown).await
}

/// [`serve`] with the given limits.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let stop = CancellationToken::new();
    let app = router
        .layer(axum::Extension(ServeShutdown(stop.clone())))
        .layer(axum::Extension(BodyTimeout(limits.body_timeout)));
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("API accept failed: {e}; retrying");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let stop = stop.clone();
        connections.spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => log_end(result),
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    log_end(connection.await);
                }
            }
        });
    }
    stop.cancel();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("API connections still open after {SHUTDOWN_GRACE:?}; closing them");
        connections.abort_all();
    }
    Ok(())
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        tracing::debug!("API connection ended: {e}");
    }
}
