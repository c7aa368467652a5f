//! The driver's publisher: one task per driver does every publish, with its retries, so neither
//! the control loop nor a test run ever waits on the broker.
//!
//! What is queued, and what happens when it is full:
//! - `heartbeat` and `register`: one slot each, holding the latest message. A newer heartbeat
//!   replaces one not yet sent (counted in `heartbeats_coalesced`): only the latest state
//!   matters. Filling a slot never waits.
//! - `metrics`: a FIFO of [`METRICS_QUEUE`] messages. When it is full the test run waits for room
//!   (backpressure, counted in `metrics_queue_full`); the engine keeps recording meanwhile, so
//!   the next interval covers the longer span. Nothing is dropped or reordered while the driver
//!   runs. Messages still queued when the shutdown drain bound passes are counted in
//!   `metrics_abandoned` and logged as an error.
//!
//! Queued metrics go out before the slots, so a test's final metrics message precedes the
//! heartbeat that says it finished; the slots wait behind at most [`METRICS_QUEUE`] messages.
//! A failed publish is retried with exponential backoff (100 ms up to 5 s) until accepted or
//! abandoned at the drain bound.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use onslaught_protocol::{Heartbeat, Message, Metrics, Register, Topic, encode};
use onslaught_transport::Transport;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::DriverStats;

/// Metrics messages waiting to be published, at most: 16 s of a test at the default 500 ms.
pub const METRICS_QUEUE: usize = 32;

/// The first pause after a failed publish; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How the control loop and test runs hand messages to the publisher. Cheap to clone; the
/// publisher finishes once every clone is dropped and the queue is empty.
#[derive(Clone, Debug)]
pub struct Outbox {
    /// The metrics FIFO.
    metrics: mpsc::Sender<Bytes>,
    /// The latest heartbeat and register.
    latest: Arc<Latest>,
    /// Where coalesced heartbeats and waits for room are counted.
    stats: Arc<DriverStats>,
}

/// The publisher's slots: a message each, replaced by a newer one.
#[derive(Debug, Default)]
struct Latest {
    heartbeat: Mutex<Option<Bytes>>,
    register: Mutex<Option<Bytes>>,
    /// Wakes the publisher when a slot is filled.
    filled: Notify,
}

impl Outbox {
    /// Queues `heartbeat` in place of any heartbeat not yet sent. Never waits.
    pub fn heartbeat(&self, heartbeat: &Heartbeat) {
        let replaced = self.latest.heartbeat.lock().replace(payload(heartbeat));
        if replaced.is_some() {
            self.stats
                .heartbeats_coalesced
                .fetch_add(1, Ordering::Relaxed);
        }
        self.latest.filled.notify_one();
    }

    /// Queues `register` in place of any not yet sent. Never waits.
    pub fn register(&self, register: &Register) {
        *self.latest.register.lock() = Some(payload(register));
        self.latest.filled.notify_one();
    }

    /// Queues a metrics message, waiting for room when [`METRICS_QUEUE`] are already waiting.
    /// Returns `false` if the publisher is gone (the message is then counted as abandoned).
    pub async fn metrics(&self, metrics: &Metrics) -> bool {
        let payload = payload(metrics);
        let payload = match self.metrics.try_send(payload) {
            Ok(()) => return true,
            Err(mpsc::error::TrySendError::Full(payload)) => {
                self.stats
                    .metrics_queue_full
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    test_id = metrics.test_id,
                    seq = metrics.seq,
                    "metrics queue full: waiting for the broker"
                );
                payload
            }
            Err(mpsc::error::TrySendError::Closed(payload)) => payload,
        };
        if self.metrics.send(payload).await.is_ok() {
            return true;
        }
        tracing::error!(
            test_id = metrics.test_id,
            seq = metrics.seq,
            "metrics message abandoned: the publisher has stopped"
        );
        self.stats.metrics_abandoned.fetch_add(1, Ordering::Relaxed);
        false
    }
}

fn payload<M: Message>(message: &M) -> Bytes {
    Bytes::from(encode(message))
}

/// The running publisher task.
#[derive(Debug)]
pub struct Publisher {
    task: JoinHandle<()>,
    /// Makes the task give up retrying and stop.
    abandon: CancellationToken,
}

/// Starts the publisher of node `key` on `transport`, with room for `capacity` metrics messages
/// (see [`METRICS_QUEUE`]).
pub fn spawn(
    transport: Arc<dyn Transport>,
    key: String,
    stats: Arc<DriverStats>,
    capacity: usize,
) -> (Outbox, Publisher) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let latest = Arc::new(Latest::default());
    let abandon = CancellationToken::new();
    let task = Task {
        transport,
        key,
        stats: Arc::clone(&stats),
        latest: Arc::clone(&latest),
        abandon: abandon.clone(),
    };
    let outbox = Outbox {
        metrics: tx,
        latest,
        stats,
    };
    let task = tokio::spawn(task.run(rx));
    (outbox, Publisher { task, abandon })
}

impl Publisher {
    /// Lets the publisher send what is queued, then waits for it to stop, until `deadline`;
    /// what is still queued then is abandoned (counted and logged). Call once every [`Outbox`]
    /// is dropped, or the publisher waits for more until the deadline.
    pub async fn drain(mut self, deadline: Instant) {
        if tokio::time::timeout_at(deadline, &mut self.task)
            .await
            .is_ok()
        {
            return;
        }
        self.abandon.cancel();
        // It stops at its next await; a second at most, in case a publish will not be dropped.
        if tokio::time::timeout(Duration::from_secs(1), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// The publisher task's state.
struct Task {
    transport: Arc<dyn Transport>,
    /// The node id: the key of every message.
    key: String,
    stats: Arc<DriverStats>,
    latest: Arc<Latest>,
    abandon: CancellationToken,
}

impl Task {
    async fn run(self, mut metrics: mpsc::Receiver<Bytes>) {
        let mut abandoned = 0u64;
        loop {
            tokio::select! {
                biased;
                () = self.abandon.cancelled() => break,
                queued = metrics.recv() => match queued {
                    Some(payload) => {
                        if !self.send(Topic::Metrics, payload).await {
                            abandoned += 1;
                            break;
                        }
                    }
                    None => {
                        // Every outbox is gone and the queue is empty: last heartbeat, then stop.
                        self.send_latest().await;
                        return;
                    }
                },
                () = self.latest.filled.notified() => {
                    if !self.send_latest().await {
                        break;
                    }
                }
            }
        }
        metrics.close();
        while metrics.try_recv().is_ok() {
            abandoned += 1;
        }
        if abandoned > 0 {
            self.stats
                .metrics_abandoned
                .fetch_add(abandoned, Ordering::Relaxed);
            tracing::error!(
                abandoned,
                "metrics messages abandoned: the broker did not take them before shutdown"
            );
        }
    }

    /// Sends what the slots hold (register first). Returns `false` if abandoned.
    async fn send_latest(&self) -> bool {
        let register = self.latest.register.lock().take();
        if let Some(payload) = register
            && !self.send(Topic::Register, payload).await
        {
            return false;
        }
        let heartbeat = self.latest.heartbeat.lock().take();
        if let Some(payload) = heartbeat
            && !self.send(Topic::Heartbeat, payload).await
        {
            return false;
        }
        true
    }

    /// Publishes `payload`, retrying with backoff until accepted. Returns `false` if abandoned.
    async fn send(&self, topic: Topic, payload: Bytes) -> bool {
        let mut backoff = MIN_BACKOFF;
        loop {
            let attempt = tokio::select! {
                biased;
                () = self.abandon.cancelled() => return false,
                attempt = self.transport.publish(topic, &self.key, payload.clone()) => attempt,
            };
            let Err(e) = attempt else { return true };
            self.stats.publish_retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%topic, "publish failed, retrying in {backoff:?}: {e}");
            tokio::select! {
                biased;
                () = self.abandon.cancelled() => return false,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future::BoxFuture;
    use onslaught_transport::{InProcess, Subscription, TransportError};
    use tokio::sync::watch;

    /// In-process, with publishes held while `open` is false.
    struct Gated {
        inner: InProcess,
        open: watch::Sender<bool>,
    }

    impl Transport for Gated {
        fn publish(
            &self,
            topic: Topic,
            key: &str,
            payload: Bytes,
        ) -> BoxFuture<'_, Result<(), TransportError>> {
            let key = key.to_owned();
            let mut open = self.open.subscribe();
            Box::pin(async move {
                let _ = open.wait_for(|open| *open).await;
                self.inner.publish(topic, &key, payload).await
            })
        }

        fn subscribe(&self, topic: Topic) -> BoxFuture<'_, Result<Subscription, TransportError>> {
            self.inner.subscribe(topic)
        }
    }

    fn metrics(seq: u64) -> Metrics {
        let at = crate::convert::Position {
            node_id: "n",
            test_id: "t",
            seq,
            is_final: false,
            start_ms: 0,
            end_ms: 0,
            stopped: None,
            last_send: None,
            last_response: None,
            started_at_ms: None,
        };
        crate::convert::metrics(&onslaught_stats::Measurements::default(), at)
    }

    async fn setup(open: bool) -> (Arc<Gated>, Subscription, Arc<DriverStats>) {
        let gated = Arc::new(Gated {
            inner: InProcess::new(),
            open: watch::Sender::new(open),
        });
        let subscription = gated.inner.subscribe(Topic::Metrics).await.unwrap();
        (gated, subscription, Arc::new(DriverStats::default()))
    }

    #[tokio::test]
    async fn a_full_queue_holds_the_producer_back_and_loses_nothing() {
        let (gated, mut subscription, stats) = setup(false).await;
        let (outbox, publisher) = spawn(gated.clone(), "n".to_owned(), Arc::clone(&stats), 2);
        let producer = tokio::spawn(async move {
            for seq in 1..=10 {
                assert!(outbox.metrics(&metrics(seq)).await);
            }
        });
        // One in flight and two queued: the producer waits for room.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!producer.is_finished());
        assert!(stats.metrics_queue_full.load(Ordering::Relaxed) >= 1);
        gated.open.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), producer)
            .await
            .unwrap()
            .unwrap();
        for seq in 1..=10 {
            let got: Metrics =
                onslaught_protocol::decode(&subscription.recv().await.unwrap()).unwrap();
            assert_eq!(got.seq, seq);
        }
        publisher
            .drain(Instant::now() + Duration::from_secs(5))
            .await;
        assert_eq!(stats.metrics_abandoned.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn only_the_latest_unsent_heartbeat_is_kept() {
        let (gated, _, stats) = setup(false).await;
        let mut heartbeats = gated.inner.subscribe(Topic::Heartbeat).await.unwrap();
        let (outbox, publisher) = spawn(gated.clone(), "n".to_owned(), Arc::clone(&stats), 2);
        let beat = |id: &str| {
            Heartbeat::new(
                id,
                onslaught_protocol::Role::Driver,
                onslaught_protocol::HeartbeatState::idle(),
            )
        };
        outbox.heartbeat(&beat("first"));
        // The publisher takes the first and is held publishing it; the next two share the slot.
        tokio::time::sleep(Duration::from_millis(100)).await;
        outbox.heartbeat(&beat("second"));
        outbox.heartbeat(&beat("third"));
        gated.open.send_replace(true);
        drop(outbox);
        publisher
            .drain(Instant::now() + Duration::from_secs(5))
            .await;
        let mut got = Vec::new();
        while let Ok(Some(p)) =
            tokio::time::timeout(Duration::from_millis(100), heartbeats.recv()).await
        {
            got.push(onslaught_protocol::decode::<Heartbeat>(&p).unwrap().node_id);
        }
        assert_eq!(got, ["first", "third"]);
        assert_eq!(stats.heartbeats_coalesced.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn draining_a_stalled_transport_ends_at_the_deadline_and_counts_what_is_left() {
        let (gated, _subscription, stats) = setup(false).await;
        let (outbox, publisher) = spawn(gated.clone(), "n".to_owned(), Arc::clone(&stats), 8);
        for seq in 1..=3 {
            assert!(outbox.metrics(&metrics(seq)).await);
        }
        drop(outbox);
        let started = Instant::now();
        publisher.drain(started + Duration::from_millis(300)).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(stats.metrics_abandoned.load(Ordering::Relaxed), 3);
    }
}
