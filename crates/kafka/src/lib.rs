//! The Kafka implementation of [`onslaught_transport::Transport`]; the only crate that links librdkafka.
//!
//! [`KafkaTransport::connect`] waits for the cluster, creates the five topics when missing,
//! and makes one idempotent producer shared by every publisher. Each
//! [`subscribe`](onslaught_transport::Transport::subscribe) gets a consumer of its own, positioned at the
//! end of every partition before its future resolves (librdkafka's blocking lookups run on
//! Tokio's blocking threads, retried with Tokio timers, bounded by `connect_timeout`), so it sees exactly the messages published after
//! it (fan-out, like [`onslaught_transport::InProcess`]); a restarted driver never sees old triggers.
//! [`subscribe_from`](onslaught_transport::Transport::subscribe_from) starts at given offsets
//! instead (the orchestrator's replay of `metrics`); every delivered message carries its
//! partition and offset.
//!
//! Nothing here depends on a particular broker: any Kafka-compatible cluster will do, reached
//! with the librdkafka settings in [`KafkaConfig::extra`].
//!
//! # Layout
//! - [`KafkaTransport`]: connect, publish, subscribe.
//! - [`config`]: [`KafkaConfig`] and the librdkafka settings of each kind of client.
//! - [`topics`]: topic names, partition counts, creation at start-up.
//! - `subscription`: positioning a consumer and forwarding its messages.
//! - [`election`]: one active orchestrator among a cluster's, through a consumer group on the
//!   one-partition `{prefix}leader` topic; the epoch is the group's committed offset.
//! - `context`: librdkafka's logs and errors, sent to `tracing`.
//! - [`error`]: [`KafkaError`], why `connect` failed.

pub mod config;
mod context;
pub mod election;
pub mod error;
mod subscription;
pub mod topics;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use onslaught_protocol::Topic;
use onslaught_transport::{Candidate, Election, Position, Subscription, Transport, TransportError};
use rdkafka::admin::AdminClient;
use rdkafka::error::{KafkaError as RdKafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use tokio::runtime::Handle;
use tokio::sync::watch;

pub use config::KafkaConfig;
pub use error::KafkaError;

use context::Context;
use topics::TopicNames;

/// A [`Transport`] over a Kafka cluster.
///
/// Dropping it ends every subscription made from it (their channels close).
pub struct KafkaTransport {
    /// The one producer: librdkafka batches, retries and orders for every publisher.
    producer: FutureProducer<Context>,
    /// What each subscription's consumer is built from.
    config: KafkaConfig,
    /// Full topic names, prefix included.
    names: TopicNames,
    /// Where subscription tasks and librdkafka's blocking calls run, whichever executor polls
    /// `subscribe`'s future.
    runtime: Handle,
    /// Never sent on: subscription tasks end when it is dropped with the transport.
    shutdown: watch::Sender<()>,
}

impl KafkaTransport {
    /// Waits for the cluster (up to `config.connect_timeout`), creates the missing topics and
    /// the producer. Must be called inside a Tokio runtime, which then runs the subscriptions.
    pub async fn connect(config: KafkaConfig) -> Result<Self, KafkaError> {
        let runtime = Handle::try_current().map_err(|_| KafkaError::NoRuntime)?;
        if config.brokers.trim().is_empty() {
            return Err(KafkaError::NoBrokers);
        }
        let names = TopicNames::new(&config.topic_prefix);
        let admin: AdminClient<Context> = config
            .admin()
            .create_with_context(Context)
            .map_err(KafkaError::Config)?;
        topics::ensure(&Arc::new(admin), &config, &names).await?;
        let producer = config
            .producer()
            .create_with_context(Context)
            .map_err(KafkaError::Config)?;
        tracing::info!(brokers = %config.brokers, prefix = %config.topic_prefix, "connected to Kafka");
        Ok(Self {
            producer,
            config,
            names,
            runtime,
            shutdown: watch::Sender::new(()),
        })
    }

    /// The full name of `topic` on the broker.
    pub fn topic_name(&self, topic: Topic) -> &str {
        self.names.get(topic)
    }
}

impl Transport for KafkaTransport {
    /// The message is handed to librdkafka before this returns, so calls made one after another
    /// keep their order per key even when their futures are awaited together (or dropped: the
    /// message is still sent). The future resolves when every in-sync replica has it, or fails
    /// after `message.timeout.ms` (30 s unless overridden in `extra`).
    fn publish(
        &self,
        topic: Topic,
        key: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        let name = self.names.get(topic);
        let record = FutureRecord::to(name).key(key).payload(&payload[..]);
        match self.producer.send_result(record) {
            Ok(delivery) => Box::pin(delivered(name, delivery)),
            Err((RdKafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                // librdkafka's queue is full (100 000 messages by default): wait for room.
                // Order with later publishes is then no longer guaranteed.
                let key = key.to_owned();
                Box::pin(async move {
                    let record = FutureRecord::to(name).key(&key).payload(&payload[..]);
                    let timeout = Timeout::After(self.config.connect_timeout);
                    match self.producer.send(record, timeout).await {
                        Ok(_) => Ok(()),
                        Err((error, _)) => Err(publish_error(name, &error)),
                    }
                })
            }
            Err((error, _)) => {
                let error = publish_error(name, &error);
                Box::pin(async move { Err(error) })
            }
        }
    }

    /// Resolves once the new consumer is positioned at the end of every partition, within
    /// about `connect_timeout`; librdkafka's blocking calls run on blocking threads meanwhile.
    fn subscribe(&self, topic: Topic) -> BoxFuture<'_, Result<Subscription, TransportError>> {
        Box::pin(subscription::subscribe(
            &self.config,
            self.names.get(topic),
            batched(topic),
            &self.runtime,
            self.shutdown.subscribe(),
            None,
        ))
    }

    /// Like `subscribe`, but each partition from its offset in `from` (any other from its first
    /// kept message): messages published before are delivered again, as long as the topic's
    /// retention kept them.
    fn subscribe_from(
        &self,
        topic: Topic,
        from: Vec<Position>,
    ) -> BoxFuture<'_, Result<Subscription, TransportError>> {
        Box::pin(subscription::subscribe(
            &self.config,
            self.names.get(topic),
            batched(topic),
            &self.runtime,
            self.shutdown.subscribe(),
            Some(from),
        ))
    }

    /// Creates the election's topic `{prefix}leader` when missing (within `connect_timeout`),
    /// then joins the cluster's group on it; see [`election`].
    fn elect(&self, candidate: Candidate) -> BoxFuture<'_, Result<Election, TransportError>> {
        Box::pin(async move {
            let name = topics::leader_topic(&self.config.topic_prefix);
            let admin: AdminClient<Context> = self
                .config
                .admin()
                .create_with_context(Context)
                .map_err(|e| TransportError::Broker(format!("creating an admin client: {e}")))?;
            let admin = Arc::new(admin);
            let ensured = topics::ensure_leader_topic(&admin, &self.config, &name).await;
            // Closing a client waits on librdkafka's threads: not on an async worker.
            self.runtime.spawn_blocking(move || drop(admin));
            ensured.map_err(|e| TransportError::Broker(e.to_string()))?;
            election::elect(&self.config, &name, candidate)
        })
    }
}

impl fmt::Debug for KafkaTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaTransport")
            .field("config", &self.config)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// Waits for the broker's acknowledgement of a message to `topic`.
async fn delivered(topic: &str, delivery: DeliveryFuture) -> Result<(), TransportError> {
    match delivery.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((error, _))) => Err(publish_error(topic, &error)),
        // The producer went away with the message.
        Err(_canceled) => Err(TransportError::Closed),
    }
}

fn publish_error(topic: &str, error: &RdKafkaError) -> TransportError {
    TransportError::Broker(format!("publishing to {topic}: {error}"))
}

/// Whether `topic` is a stream of reports, consumed in batches (see [`KafkaConfig`]'s
/// consumer settings): every driver's metrics and heartbeats, not the control topics.
fn batched(topic: Topic) -> bool {
    matches!(topic, Topic::Metrics | Topic::Heartbeat)
}
