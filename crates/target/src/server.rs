//! [`Target`]: its shared state, the accept loop, and one task per connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, warn};

use crate::config::TargetConfig;
use crate::faults::Faults;
use crate::handler::{InFlight, Reset};
use crate::metrics::{Counters, MetricsSnapshot};
use crate::sessions::Sessions;

/// How long the accept loop pauses after an accept error such as `EMFILE`.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// How long in-flight requests may finish after shutdown before their connections are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The listen backlog when the system's limit cannot be read.
const DEFAULT_BACKLOG: u32 = 4096;

/// The system's cap on a listen backlog (`/proc/sys/net/core/somaxconn`), or 4096.
pub fn max_backlog() -> u32 {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_BACKLOG)
}

/// Listens on `addr` with the largest backlog the system allows ([`max_backlog`]), so that
/// many drivers opening their connections at once are all queued: with a small backlog the
/// kernel drops the SYNs beyond it and clients retry only after a second, so a driver started
/// a second late. Needs a tokio runtime.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(max_backlog())
}

/// A built-in HTTP/1.1 server to load-test against, misbehaving as configured.
#[derive(Debug)]
pub struct Target {
    /// What every request and connection adds to.
    pub(crate) counters: Counters,
    /// The server-wide misbehaviour that query parameters override.
    pub(crate) faults: Faults,
    /// When the target was created: the stall clock's zero and the uptime's origin.
    pub(crate) started: Instant,
    /// Who may log in, the token key, and counts of logins and authenticated requests.
    pub(crate) sessions: Sessions,
    /// The highest item id `/items/{id}` finds.
    pub(crate) items: u64,
    /// Requests being answered, counted only when latency grows with them.
    pub(crate) in_flight: InFlight,
}

impl Target {
    /// A target misbehaving as `config` says; its stall clock starts now.
    pub fn new(config: TargetConfig) -> Arc<Target> {
        Arc::new(Target {
            counters: Counters::default(),
            faults: Faults::from_config(&config),
            started: Instant::now(),
            items: config.items,
            sessions: Sessions::new(config.accounts),
            in_flight: InFlight::default(),
        })
    }

    /// The counters now.
    pub fn metrics(&self) -> MetricsSnapshot {
        let uptime_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.counters.snapshot(uptime_ms, self.sessions.snapshot())
    }

    /// Serves connections from `listener` until `shutdown` resolves.
    ///
    /// Accept errors (such as running out of file descriptors) are logged and retried after a
    /// short pause. Once `shutdown` resolves no connection is accepted; idle connections are
    /// closed and in-flight requests get a short grace period before their connections are
    /// dropped.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        let mut shutdown = std::pin::pin!(shutdown);
        // Dropping the sender tells every connection to shut down.
        let (stop_tx, stop_rx) = watch::channel(());
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        self.counters.connection_accepted();
                        let target = Arc::clone(&self);
                        connections.spawn(target.serve_connection(stream, stop_rx.clone()));
                    }
                    Err(err) if is_per_connection(&err) => {
                        debug!(%err, "connection failed before it was accepted");
                    }
                    Err(err) => {
                        warn!(%err, "accept failed; backing off");
                        tokio::select! {
                            () = &mut shutdown => break,
                            () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                        }
                    }
                },
                Some(finished) = connections.join_next(), if !connections.is_empty() => {
                    log_panic(finished);
                }
            }
        }
        drop(listener);
        drop(stop_tx);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while let Some(finished) = connections.join_next().await {
                log_panic(finished);
            }
        })
        .await;
        if drained.is_err() {
            debug!(
                remaining = connections.len(),
                "dropping connections still busy after the shutdown grace period"
            );
        }
        Ok(())
    }

    /// Serves one connection with keep-alive until the peer closes it, a response closes it,
    /// a request resets it, or `stop` says the server is shutting down.
    async fn serve_connection(self: Arc<Self>, stream: TcpStream, mut stop: watch::Receiver<()>) {
        if let Err(err) = stream.set_nodelay(true) {
            debug!(%err, "could not set TCP_NODELAY");
        }
        let service = service_fn(move |request| {
            let target = Arc::clone(&self);
            async move { target.handle(request).await }
        });
        let mut connection = http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let mut stopping = false;
        let result = loop {
            tokio::select! {
                result = &mut connection => break result,
                _ = stop.changed(), if !stopping => {
                    stopping = true;
                    std::pin::Pin::new(&mut connection).graceful_shutdown();
                }
            }
        };
        match result {
            Ok(()) => {}
            Err(err) if is_reset(&err) => {
                // hyper leaves the socket open after a service error: abort it with an RST.
                let stream = connection.into_parts().io.into_inner();
                if let Err(err) = stream.set_zero_linger() {
                    debug!(%err, "could not set SO_LINGER to reset the connection");
                }
            }
            Err(err) => debug!(%err, "connection ended with an error"),
        }
    }
}

/// Whether `err` concerns only the connection being accepted, not the listener.
fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// Whether a connection error comes from a request asking for a reset.
fn is_reset(err: &hyper::Error) -> bool {
    std::error::Error::source(err).is_some_and(|source| source.is::<Reset>())
}

fn log_panic(finished: Result<(), tokio::task::JoinError>) {
    if let Err(err) = finished
        && err.is_panic()
    {
        error!(%err, "connection task panicked");
    }
}
