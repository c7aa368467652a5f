//! A transport inside one process: every subscriber gets its own measured channel.
//!
//! Queue policy, the same on every topic: unbounded, measured, never dropping. A bound would
//! either make a publisher wait for its slowest subscriber (the orchestrator subscribes to the
//! heartbeat topic it publishes on: a full queue would stall its own loop) or drop messages the
//! Kafka transport keeps (metrics are measurements; configs and triggers are commands). Instead
//! each subscription's depth is measured ([`Subscription::backlog`]) and reported by its owner:
//! the driver in its heartbeats, the orchestrator in `/metrics`, so a consumer falling behind is
//! visible before memory is.

use std::collections::HashMap;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use onslaught_protocol::Topic;
use parking_lot::Mutex;

use crate::{Feed, Subscription, Transport, TransportError};

/// In-process fan-out: publishing clones the payload handle (not the bytes) to every live
/// subscriber of the topic. Nothing is dropped while a subscriber lives; a dropped subscription
/// is forgotten at the next publish.
#[derive(Debug, Default)]
pub struct InProcess {
    /// Live subscribers per topic.
    subscribers: Mutex<HashMap<Topic, Vec<Feed>>>,
}

impl InProcess {
    /// An empty transport.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Transport for InProcess {
    fn publish(
        &self,
        topic: Topic,
        _key: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        let mut subscribers = self.subscribers.lock();
        if let Some(list) = subscribers.get_mut(&topic) {
            list.retain(|feed| feed.send(payload.clone()).is_ok());
        }
        Box::pin(async { Ok(()) })
    }

    /// Resolves at once: the subscription is registered before the future is returned.
    fn subscribe(&self, topic: Topic) -> BoxFuture<'_, Result<Subscription, TransportError>> {
        let (feed, subscription) = Subscription::channel();
        self.subscribers.lock().entry(topic).or_default().push(feed);
        Box::pin(async { Ok(subscription) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_gets_every_later_message_in_order() {
        let transport = InProcess::new();
        transport
            .publish(Topic::Metrics, "k", Bytes::from_static(b"early"))
            .await
            .unwrap();
        let mut a = transport.subscribe(Topic::Metrics).await.unwrap();
        let mut b = transport.subscribe(Topic::Metrics).await.unwrap();
        let mut other = transport.subscribe(Topic::Heartbeat).await.unwrap();
        for i in 0..100u8 {
            transport
                .publish(Topic::Metrics, "k", Bytes::from(vec![i]))
                .await
                .unwrap();
        }
        for i in 0..100u8 {
            assert_eq!(a.recv().await.unwrap()[0], i);
            assert_eq!(b.recv().await.unwrap()[0], i);
        }
        assert!(other.rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn it_keeps_no_positions_and_cannot_replay() {
        let transport = InProcess::new();
        let mut subscription = transport.subscribe(Topic::Metrics).await.unwrap();
        assert!(subscription.starts_at().is_empty());
        transport
            .publish(Topic::Metrics, "k", Bytes::from_static(b"x"))
            .await
            .unwrap();
        let delivery = subscription.next().await.unwrap();
        assert_eq!(
            (&delivery.payload[..], delivery.position),
            (&b"x"[..], None)
        );
        let replay = transport.subscribe_from(Topic::Metrics, Vec::new()).await;
        assert!(matches!(replay, Err(TransportError::Unsupported(_))));
    }

    #[tokio::test]
    async fn dropped_subscribers_are_forgotten() {
        let transport = InProcess::new();
        let a = transport.subscribe(Topic::Trigger).await.unwrap();
        drop(a);
        transport
            .publish(Topic::Trigger, "k", Bytes::from_static(b"x"))
            .await
            .unwrap();
        assert!(transport.subscribers.lock()[&Topic::Trigger].is_empty());
    }

    #[tokio::test]
    async fn the_backlog_counts_what_waits_and_remembers_its_peak() {
        let transport = InProcess::new();
        let mut slow = transport.subscribe(Topic::Metrics).await.unwrap();
        let mut fast = transport.subscribe(Topic::Metrics).await.unwrap();
        let (slow_backlog, fast_backlog) = (slow.backlog(), fast.backlog());
        for i in 0..10u8 {
            transport
                .publish(Topic::Metrics, "k", Bytes::from(vec![i]))
                .await
                .unwrap();
            assert_eq!(fast.recv().await.unwrap()[0], i);
        }
        assert_eq!((slow_backlog.waiting(), slow_backlog.peak()), (10, 10));
        assert_eq!((fast_backlog.waiting(), fast_backlog.peak()), (0, 1));
        for i in 0..4u8 {
            assert_eq!(slow.recv().await.unwrap()[0], i);
        }
        assert_eq!((slow_backlog.waiting(), slow_backlog.peak()), (6, 10));
        // A publish to a dropped subscription is not counted as waiting.
        drop(fast);
        transport
            .publish(Topic::Metrics, "k", Bytes::from_static(b"x"))
            .await
            .unwrap();
        assert_eq!((fast_backlog.waiting(), fast_backlog.peak()), (0, 1));
        assert_eq!((slow_backlog.waiting(), slow_backlog.peak()), (7, 10));
    }

    /// A batch is what waits, in order, up to the limit, and leaves the backlog.
    #[tokio::test]
    async fn a_batch_takes_what_waits_up_to_the_limit() {
        let transport = InProcess::new();
        let mut subscription = transport.subscribe(Topic::Metrics).await.unwrap();
        let backlog = subscription.backlog();
        for i in 0..5u8 {
            transport
                .publish(Topic::Metrics, "k", Bytes::from(vec![i]))
                .await
                .unwrap();
        }
        let first: Vec<u8> = subscription
            .next_batch(3)
            .await
            .iter()
            .map(|d| d.payload[0])
            .collect();
        assert_eq!((first, backlog.waiting()), (vec![0, 1, 2], 2));
        let rest = subscription.next_batch(100).await;
        assert_eq!(
            (rest.len(), rest[1].payload[0], backlog.waiting()),
            (2, 4, 0)
        );
        drop(transport);
        assert!(subscription.next_batch(100).await.is_empty());
    }
}
