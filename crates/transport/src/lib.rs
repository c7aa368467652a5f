//! How nodes talk: a small publish/subscribe [`Transport`] trait over the five topics.
//!
//! The orchestrator and the driver are written once against this trait. Two implementations
//! exist: [`InProcess`] here (for `onslaught run` and fast tests) and Kafka in the `kafka` crate.
//!
//! Semantics every implementation keeps:
//! - every subscription to a topic receives every message published to it after the
//!   subscription was made (fan-out, not work sharing);
//! - messages with the same key on one topic arrive in publish order;
//! - payloads are opaque bytes; `transport` never decodes them.
//!
//! # Layout
//! - [`Transport`], [`Subscription`], [`TransportError`]: the seam.
//! - [`in_process`]: [`InProcess`], fan-out over unbounded channels.

pub mod in_process;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use protocol::Topic;
use tokio::sync::mpsc;

pub use in_process::InProcess;

/// Why a message could not be published or a subscription made.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The transport is shut down.
    #[error("transport closed")]
    Closed,
    /// The broker refused or failed the operation.
    #[error("broker error: {0}")]
    Broker(String),
}

/// A publish/subscribe transport over the protocol's topics.
pub trait Transport: Send + Sync + 'static {
    /// Publishes `payload` on `topic`, keyed by `key` (a node id or test id; same key, same
    /// order). Resolves once the transport has accepted it (for Kafka: acknowledged by the
    /// broker).
    fn publish(
        &self,
        topic: Topic,
        key: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<(), TransportError>>;

    /// Subscribes to `topic`: the subscription receives every message published from now on.
    fn subscribe(&self, topic: Topic) -> Result<Subscription, TransportError>;
}

/// A stream of payloads from one topic.
#[derive(Debug)]
pub struct Subscription {
    /// Payloads in arrival order; the implementation holds the sending half.
    rx: mpsc::UnboundedReceiver<Bytes>,
}

impl Subscription {
    /// A subscription and the sender that feeds it (for transport implementations).
    pub fn channel() -> (mpsc::UnboundedSender<Bytes>, Subscription) {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, Subscription { rx })
    }

    /// The next payload; `None` once the transport is gone.
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.rx.recv().await
    }
}
