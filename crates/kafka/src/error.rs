//! [`KafkaError`]: why [`connect`](crate::KafkaTransport::connect) failed.
//!
//! Failures after start-up go through the transport seam as
//! [`TransportError::Broker`](onslaught_transport::TransportError::Broker).

use std::time::Duration;

use rdkafka::error::KafkaError as RdKafkaError;

/// Why a [`KafkaTransport`](crate::KafkaTransport) could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// `connect` was not called inside a Tokio runtime (which runs the subscriptions).
    #[error("KafkaTransport::connect must run inside a Tokio runtime")]
    NoRuntime,
    /// `brokers` is empty.
    #[error("no Kafka bootstrap servers given")]
    NoBrokers,
    /// librdkafka refused the configuration (an unknown key or a bad value in `extra`).
    #[error("invalid Kafka client configuration: {0}")]
    Config(#[source] RdKafkaError),
    /// No broker answered a metadata request in time.
    #[error("no Kafka broker reachable at {brokers} within {waited:?}: {last_error}")]
    Unreachable {
        /// The bootstrap servers tried.
        brokers: String,
        /// How long we tried.
        waited: Duration,
        /// The last failure, as librdkafka put it.
        last_error: String,
    },
    /// The broker refused to create a topic (other than because it exists).
    #[error("could not create Kafka topic {topic}: {reason}")]
    CreateTopic {
        /// The full topic name, prefix included.
        topic: String,
        /// The broker's or librdkafka's reason.
        reason: String,
    },
    /// Created topics did not show up with a leader for every partition in time.
    #[error("Kafka topic {topic} not ready within {waited:?}: {reason}")]
    TopicNotReady {
        /// The full topic name, prefix included.
        topic: String,
        /// How long we waited.
        waited: Duration,
        /// What was still missing.
        reason: String,
    },
}
