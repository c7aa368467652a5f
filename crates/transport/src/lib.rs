//! How nodes talk: a small publish/subscribe [`Transport`] trait over the five topics.
//!
//! The orchestrator and the driver are written once against this trait. Two implementations
//! exist: [`InProcess`] here (for `onslaught run` and fast tests) and Kafka in the `kafka` crate.
//!
//! Semantics every implementation keeps:
//! - every subscription to a topic receives every message published to it after the
//!   subscription was made (fan-out, not work sharing);
//! - messages with the same key on one topic arrive in publish order;
//! - payloads are opaque bytes; `transport` never decodes them;
//! - neither `publish` nor `subscribe` blocks a thread: both return futures, and an
//!   implementation that must wait on a blocking client does so off the async workers.
//!
//! A subscription's queue is unbounded and measured: [`Subscription::backlog`] tells how many
//! payloads wait in it now and the most that ever did, so a consumer that falls behind shows.
//!
//! # Layout
//! - [`Transport`], [`Subscription`], [`Feed`], [`Backlog`], [`TransportError`]: the seam.
//! - [`in_process`]: [`InProcess`], fan-out over measured channels.

pub mod in_process;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use onslaught_protocol::Topic;
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

/// A publish/subscribe transport over the protocol's topics. Used as `Arc<dyn Transport>`, so
/// its methods return boxed futures.
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

    /// Subscribes to `topic`: once the future resolves, the subscription receives every message
    /// published from then on. Resolves within a bound the implementation states.
    fn subscribe(&self, topic: Topic) -> BoxFuture<'_, Result<Subscription, TransportError>>;
}

/// A stream of payloads from one topic.
#[derive(Debug)]
pub struct Subscription {
    /// Payloads in arrival order; the implementation holds the sending half.
    rx: mpsc::UnboundedReceiver<Bytes>,
    /// Payloads waiting in `rx`, shared with the [`Feed`].
    backlog: Backlog,
}

impl Subscription {
    /// A subscription and the feed that fills it (for transport implementations).
    pub fn channel() -> (Feed, Subscription) {
        let (tx, rx) = mpsc::unbounded_channel();
        let backlog = Backlog::default();
        let feed = Feed {
            tx,
            backlog: backlog.clone(),
        };
        (feed, Subscription { rx, backlog })
    }

    /// The next payload; `None` once the transport is gone.
    pub async fn recv(&mut self) -> Option<Bytes> {
        let payload = self.rx.recv().await?;
        self.backlog.taken();
        Some(payload)
    }

    /// A handle on this subscription's queue depth, which stays readable after it is dropped.
    pub fn backlog(&self) -> Backlog {
        self.backlog.clone()
    }
}

/// The sending half of a [`Subscription`], held by the transport.
#[derive(Clone, Debug)]
pub struct Feed {
    tx: mpsc::UnboundedSender<Bytes>,
    backlog: Backlog,
}

impl Feed {
    /// Queues `payload` for the subscription; gives it back if the subscription was dropped.
    pub fn send(&self, payload: Bytes) -> Result<(), Bytes> {
        self.backlog.queued();
        self.tx.send(payload).map_err(|e| {
            self.backlog.taken();
            e.0
        })
    }

    /// Resolves once the subscription is dropped.
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}

/// The depth of a subscription's queue: how many payloads wait now, and the most that ever did.
#[derive(Clone, Debug, Default)]
pub struct Backlog(Arc<Depth>);

#[derive(Debug, Default)]
struct Depth {
    waiting: AtomicU64,
    peak: AtomicU64,
}

impl Backlog {
    /// Payloads queued and not yet received.
    pub fn waiting(&self) -> u64 {
        self.0.waiting.load(Ordering::Relaxed)
    }

    /// The most payloads that ever waited at once.
    pub fn peak(&self) -> u64 {
        self.0.peak.load(Ordering::Relaxed)
    }

    fn queued(&self) {
        let now = self.0.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        self.0.peak.fetch_max(now, Ordering::Relaxed);
    }

    fn taken(&self) {
        // Never below zero, even if a receive were counted before its send.
        let _ = self
            .0
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
    }
}
