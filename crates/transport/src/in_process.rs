//! A transport inside one process: every subscriber gets its own unbounded channel.

use std::collections::HashMap;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use protocol::Topic;
use tokio::sync::mpsc;

use crate::{Subscription, Transport, TransportError};

/// In-process fan-out: publishing clones the payload handle (not the bytes) to every live
/// subscriber of the topic. Nothing is dropped while a subscriber lives; a dropped subscription
/// is forgotten at the next publish.
#[derive(Debug, Default)]
pub struct InProcess {
    /// Live subscribers per topic.
    subscribers: Mutex<HashMap<Topic, Vec<mpsc::UnboundedSender<Bytes>>>>,
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
            list.retain(|tx| tx.send(payload.clone()).is_ok());
        }
        Box::pin(async { Ok(()) })
    }

    fn subscribe(&self, topic: Topic) -> Result<Subscription, TransportError> {
        let (tx, subscription) = Subscription::channel();
        self.subscribers.lock().entry(topic).or_default().push(tx);
        Ok(subscription)
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
        let mut a = transport.subscribe(Topic::Metrics).unwrap();
        let mut b = transport.subscribe(Topic::Metrics).unwrap();
        let mut other = transport.subscribe(Topic::Heartbeat).unwrap();
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
    async fn dropped_subscribers_are_forgotten() {
        let transport = InProcess::new();
        let a = transport.subscribe(Topic::Trigger).unwrap();
        drop(a);
        transport
            .publish(Topic::Trigger, "k", Bytes::from_static(b"x"))
            .await
            .unwrap();
        assert!(transport.subscribers.lock()[&Topic::Trigger].is_empty());
    }
}
