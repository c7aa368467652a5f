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
//! A transport that keeps what was published (Kafka) tells where each delivered message sits
//! ([`Delivery::position`]) and where a subscription began ([`Subscription::starts_at`]), and
//! can subscribe from given positions ([`Transport::subscribe_from`]): how a restarted
//! orchestrator replays the metrics of a test it was running. [`InProcess`] keeps nothing and
//! refuses that ([`TransportError::Unsupported`]).
//!
//! A transport may also elect one active orchestrator among several ([`Transport::elect`],
//! Kafka only): [`election`].
//!
//! # Layout
//! - [`Transport`], [`Subscription`], [`Delivery`], [`Position`], [`Feed`], [`Backlog`],
//!   [`TransportError`]: the seam.
//! - [`election`]: [`Candidate`], [`Election`], [`Standing`], [`Lease`]: leader election.
//! - [`in_process`]: [`InProcess`], fan-out over measured channels.

pub mod election;
pub mod in_process;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use onslaught_protocol::Topic;
use tokio::sync::mpsc;

pub use election::{Candidate, Election, Lease, Standing};
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
    /// This transport cannot do that (replaying from positions needs one that keeps messages).
    #[error("not supported by this transport: {0}")]
    Unsupported(&'static str),
}

/// Where a message sits in its topic: a partition and the message's offset in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The partition.
    pub partition: i32,
    /// The message's offset in the partition (for a starting point: the next one to read).
    pub offset: i64,
}

/// One delivered message.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The payload, opaque bytes.
    pub payload: Bytes,
    /// Where it sits in its topic, when the transport keeps messages (`None` in-process).
    pub position: Option<Position>,
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

    /// Subscribes to `topic` from `from`: each listed partition from that offset (the next one
    /// to read), any other partition from its first kept message, so messages published before
    /// the call are delivered again. Only a transport that keeps messages can; the default
    /// refuses with [`TransportError::Unsupported`].
    fn subscribe_from(
        &self,
        topic: Topic,
        from: Vec<Position>,
    ) -> BoxFuture<'_, Result<Subscription, TransportError>> {
        let _ = (topic, from);
        Box::pin(async {
            Err(TransportError::Unsupported(
                "replaying a topic from positions",
            ))
        })
    }

    /// Stands `candidate` for election among the candidates of its cluster: resolves once it
    /// has joined (its [`Standing`] then changes as leaders come and go). Only a transport shared
    /// by several processes can; the default refuses with [`TransportError::Unsupported`].
    fn elect(&self, candidate: Candidate) -> BoxFuture<'_, Result<Election, TransportError>> {
        let _ = candidate;
        Box::pin(async {
            Err(TransportError::Unsupported(
                "electing an orchestrator among several",
            ))
        })
    }
}

/// A stream of payloads from one topic.
#[derive(Debug)]
pub struct Subscription {
    /// Messages in arrival order; the implementation holds the sending half.
    rx: mpsc::UnboundedReceiver<Delivery>,
    /// Payloads waiting in `rx`, shared with the [`Feed`].
    backlog: Backlog,
    /// Where the subscription began in each partition (empty when the transport keeps no
    /// positions).
    starts_at: Vec<Position>,
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
        (
            feed,
            Subscription {
                rx,
                backlog,
                starts_at: Vec::new(),
            },
        )
    }

    /// The same subscription, saying it began at `starts_at` (the next offset to read in each
    /// partition).
    #[must_use]
    pub fn starting_at(mut self, starts_at: Vec<Position>) -> Self {
        self.starts_at = starts_at;
        self
    }

    /// Where the subscription began in each partition: the next offset it was to read. Empty
    /// for a transport that keeps no positions.
    pub fn starts_at(&self) -> &[Position] {
        &self.starts_at
    }

    /// The next payload; `None` once the transport is gone.
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.next().await.map(|delivery| delivery.payload)
    }

    /// The next message with its position; `None` once the transport is gone.
    pub async fn next(&mut self) -> Option<Delivery> {
        let delivery = self.rx.recv().await?;
        self.backlog.taken();
        Some(delivery)
    }

    /// The next message and every other already waiting, up to `limit` in all (at least one),
    /// in arrival order: a consumer that handles a batch at once takes its locks once per batch.
    /// Empty once the transport is gone.
    pub async fn next_batch(&mut self, limit: usize) -> Vec<Delivery> {
        let mut batch = Vec::new();
        let taken = self.rx.recv_many(&mut batch, limit.max(1)).await;
        self.backlog.taken_n(taken);
        batch
    }

    /// A handle on this subscription's queue depth, which stays readable after it is dropped.
    pub fn backlog(&self) -> Backlog {
        self.backlog.clone()
    }
}

/// The sending half of a [`Subscription`], held by the transport.
#[derive(Clone, Debug)]
pub struct Feed {
    tx: mpsc::UnboundedSender<Delivery>,
    backlog: Backlog,
}

impl Feed {
    /// Queues `payload` for the subscription; gives it back if the subscription was dropped.
    pub fn send(&self, payload: Bytes) -> Result<(), Bytes> {
        self.deliver(Delivery {
            payload,
            position: None,
        })
        .map_err(|delivery| delivery.payload)
    }

    /// Queues a message with its position; gives it back if the subscription was dropped.
    pub fn deliver(&self, delivery: Delivery) -> Result<(), Delivery> {
        self.backlog.queued();
        self.tx.send(delivery).map_err(|e| {
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
        self.taken_n(1);
    }

    fn taken_n(&self, taken: usize) {
        let taken = u64::try_from(taken).unwrap_or(u64::MAX);
        // Never below zero, even if a receive were counted before its send.
        let _ = self
            .0
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(taken))
            });
    }
}
