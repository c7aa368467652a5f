//! What `onslaught orchestrator` and `onslaught driver` share: the transport choice, Kafka flags,
//! shutdown on Ctrl-C/SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onslaught_kafka::{KafkaConfig, KafkaTransport};
use onslaught_transport::{InProcess, Transport};
use tokio_util::sync::CancellationToken;

use crate::flags::KafkaArgs;

/// The transports a node can run over: a closed set, picked by the command.
pub enum TransportChoice {
    /// Everything in one process (`onslaught run`).
    InProcess,
    /// A Kafka cluster.
    Kafka(KafkaConfig),
}

impl TransportChoice {
    /// Kafka from flags; `client_id` names this node in the broker's logs.
    pub fn kafka(args: &KafkaArgs, client_id: &str) -> Self {
        let mut config = KafkaConfig::new(args.brokers.clone());
        config.topic_prefix.clone_from(&args.topic_prefix);
        config.client_id = client_id.to_owned();
        config.group_id_prefix = format!("onslaught-{client_id}");
        config.extra.clone_from(&args.kafka_config);
        TransportChoice::Kafka(config)
    }

    /// Connects (for Kafka: waits for the broker and creates missing topics).
    pub async fn connect(self) -> anyhow::Result<Arc<dyn Transport>> {
        Ok(match self {
            TransportChoice::InProcess => Arc::new(InProcess::new()),
            TransportChoice::Kafka(config) => {
                let brokers = config.brokers.clone();
                let transport = KafkaTransport::connect(config)
                    .await
                    .with_context(|| format!("cannot use the Kafka cluster at {brokers}"))?;
                Arc::new(transport)
            }
        })
    }
}

/// A token cancelled on Ctrl-C or SIGTERM.
///
/// The token is cancelled before anything is logged: a log line written to a closed stderr (the
/// reader of `2>&1 | tee` dies with the same Ctrl-C) must never keep the process from stopping.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    // Installed here, before the caller announces it is ready: a signal sent right after the
    // announcement must stop it cleanly, not kill it with the default action.
    let signals = Signals::install();
    tokio::spawn(async move {
        signals.recv().await;
        trigger.cancel();
        tracing::info!("shutting down");
    });
    token
}

/// Resolves on the first Ctrl-C (SIGINT) or SIGTERM after the call.
pub async fn interrupted() {
    Signals::install().recv().await;
}

/// Ctrl-C (SIGINT) and SIGTERM handlers, installed when made (so a signal that arrives before
/// anyone awaits [`Signals::recv`] is still taken, not left to the default action).
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers now (within a tokio runtime).
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves on the first signal received since [`Signals::install`].
    async fn recv(self) {
        #[cfg(unix)]
        {
            let Self {
                interrupt,
                terminate,
            } = self;
            let one = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            if interrupt.is_none() && terminate.is_none() {
                // No handler could be installed: Ctrl-C the portable way.
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
            tokio::select! {
                () = one(interrupt) => {}
                () = one(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Checks before anything starts that reports can be written into `dir` (creating it if
/// needed), so a test never runs only to find its report cannot be kept.
pub fn check_report_dir(dir: &Path) -> Result<(), String> {
    let fail = |e: std::io::Error| {
        format!(
            "invalid --report-dir {}: reports cannot be written there ({e})",
            dir.display()
        )
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(format!(".onslaught-write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)
}

/// This machine's name, for generated node ids.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "driver".to_owned())
}

/// The local address this machine uses to reach `brokers` (no packet is sent).
pub fn reachable_ip(brokers: &str) -> Option<std::net::IpAddr> {
    use std::net::ToSocketAddrs;
    let first = brokers.split(',').next()?.trim();
    let remote = first.to_socket_addrs().ok()?.next()?;
    let bind = if remote.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = std::net::UdpSocket::bind(bind).ok()?;
    socket.connect(remote).ok()?;
    Some(socket.local_addr().ok()?.ip())
}

/// How long a node waits for its tasks after shutdown before giving up on them.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);
