//! One subscription: a consumer of its own, positioned at the end of every partition before
//! `subscribe` resolves, and a task that forwards its messages to the [`Subscription`].
//!
//! Why not `subscribe()` with `auto.offset.reset=latest`: the group join and the lookup of the
//! end offsets happen later, in the background, and whatever is published meanwhile is lost
//! (a driver could miss the trigger that follows its registration). Instead the end offset of
//! each partition (its high watermark) is read before `subscribe` resolves and the partitions are assigned
//! at exactly those offsets: a message acknowledged before is not seen, one published after
//! `subscribe` resolved is. The group is never joined, so every subscription sees every
//! message (fan-out).
//!
//! [`subscribe`] with `from` (a restarted orchestrator replaying the metrics of a test it was
//! running) assigns each listed partition at its given offset and any other at its first kept
//! message instead. Every forwarded message carries its partition and offset.

use std::time::{Duration, Instant};

use bytes::Bytes;
use onslaught_transport::{Delivery, Feed, Position, Subscription, TransportError};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::KafkaConfig;
use crate::context::{Context, is_fatal};

/// First pause when positioning a subscription fails; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Subscribes to the full topic name `topic`, at the end of every partition or, with `from`,
/// at those positions (a partition not listed from its first kept message): resolves once the
/// consumer is positioned (within about `config.connect_timeout`), then forwards from a task on `runtime` until the
/// subscription is dropped, `shutdown`'s sender is dropped, or the consumer fails fatally.
/// librdkafka's blocking calls run on `runtime`'s blocking threads; pauses between attempts are
/// Tokio timers, so no async worker is held.
pub(crate) async fn subscribe(
    config: &KafkaConfig,
    topic: &str,
    batched: bool,
    runtime: &Handle,
    shutdown: watch::Receiver<()>,
    from: Option<Vec<Position>>,
) -> Result<Subscription, TransportError> {
    let group_id = format!(
        "{}-{topic}-{}",
        config.group_id_prefix,
        uuid::Uuid::new_v4()
    );
    let mut settings = config.consumer(&group_id, batched);
    if from.is_some() {
        // A replayed offset the topic's retention has dropped since: start from the oldest
        // message kept, not from the end (which would skip everything in between).
        settings.set("auto.offset.reset", "earliest");
    }
    let consumer: StreamConsumer<Context> = settings
        .create_with_context(Context)
        .map_err(|error| broker_error(topic, "creating a consumer", &error))?;
    let (consumer, ends) = end_offsets(consumer, topic, config.connect_timeout, runtime).await?;
    let positions = match &from {
        None => ends,
        Some(from) => replay_offsets(topic, &ends, from)?,
    };
    let starts_at = starts_of(&positions);
    if let Err(error) = consumer.assign(&positions) {
        // Closing a consumer waits on librdkafka's threads: not on an async worker.
        runtime.spawn_blocking(move || drop(consumer));
        return Err(broker_error(topic, "assigning partitions", &error));
    }
    tracing::debug!(
        topic,
        group_id,
        partitions = positions.count(),
        replay = from.is_some(),
        "subscribed"
    );

    let (feed, subscription) = Subscription::channel();
    runtime.spawn(forward(consumer, feed, shutdown, topic.to_owned()));
    Ok(subscription.starting_at(starts_at))
}

/// The partitions of `ends` (every partition of `topic`), each at its offset in `from`, or at
/// its first kept message when `from` does not list it (a partition added since).
fn replay_offsets(
    topic: &str,
    ends: &TopicPartitionList,
    from: &[Position],
) -> Result<TopicPartitionList, TransportError> {
    let mut positions = TopicPartitionList::with_capacity(ends.count());
    for element in ends.elements() {
        let partition = element.partition();
        let offset = from
            .iter()
            .find(|p| p.partition == partition)
            .map_or(Offset::Beginning, |p| Offset::Offset(p.offset));
        positions
            .add_partition_offset(topic, partition, offset)
            .map_err(|error| broker_error(topic, "positioning a replay", &error))?;
    }
    Ok(positions)
}

/// Where a subscription assigned at `positions` begins, per partition (a partition read from
/// its first kept message begins at 0, the lowest an offset can be).
fn starts_of(positions: &TopicPartitionList) -> Vec<Position> {
    positions
        .elements()
        .iter()
        .map(|element| Position {
            partition: element.partition(),
            offset: match element.offset() {
                Offset::Offset(offset) => offset,
                _ => 0,
            },
        })
        .collect()
}

/// Every partition of `topic` at its current high watermark. Retries until `timeout` (a topic
/// created a moment ago may not have a leader everywhere yet). Each attempt runs on a blocking
/// thread and is bounded by what is left of `timeout` (at least [`MIN_CALL`] per call); the
/// consumer goes there and comes back with the answer (it is dropped off the async workers when
/// positioning fails).
async fn end_offsets(
    consumer: StreamConsumer<Context>,
    topic: &str,
    timeout: Duration,
    runtime: &Handle,
) -> Result<(StreamConsumer<Context>, TopicPartitionList), TransportError> {
    let deadline = Instant::now() + timeout;
    let mut backoff = MIN_BACKOFF;
    let mut consumer = consumer;
    loop {
        let attempt = {
            let name = topic.to_owned();
            runtime.spawn_blocking(move || {
                let answer = try_end_offsets(&consumer, &name, deadline);
                (consumer, answer)
            })
        };
        let (returned, answer) = attempt.await.map_err(|error| {
            TransportError::Broker(format!(
                "subscribing to {topic}: positioning failed: {error}"
            ))
        })?;
        consumer = returned;
        let left = deadline.saturating_duration_since(Instant::now());
        match answer {
            Ok(positions) => return Ok((consumer, positions)),
            Err(reason) if left.is_zero() => {
                runtime.spawn_blocking(move || drop(consumer));
                return Err(TransportError::Broker(format!(
                    "subscribing to {topic}: {reason}"
                )));
            }
            Err(reason) => {
                tracing::debug!(topic, reason, "positioning a subscription, retrying");
                tokio::time::sleep(backoff.min(left)).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The shortest wait given to one librdkafka call, even past the deadline (the last attempt).
const MIN_CALL: Duration = Duration::from_millis(100);

/// One attempt of [`end_offsets`]; blocks, each call bounded by what is left until `deadline`.
fn try_end_offsets(
    consumer: &StreamConsumer<Context>,
    topic: &str,
    deadline: Instant,
) -> Result<TopicPartitionList, String> {
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(MIN_CALL)
    };
    let metadata = consumer
        .fetch_metadata(Some(topic), left())
        .map_err(|error| error.to_string())?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err("topic missing from the metadata".to_owned());
    };
    if let Some(error) = found.error() {
        return Err(format!("topic error {error:?}"));
    }
    if found.partitions().is_empty() {
        return Err("topic has no partitions".to_owned());
    }
    let mut positions = TopicPartitionList::with_capacity(found.partitions().len());
    for partition in found.partitions() {
        let (_low, high) = consumer
            .fetch_watermarks(topic, partition.id(), left())
            .map_err(|error| format!("partition {}: {error}", partition.id()))?;
        positions
            .add_partition_offset(topic, partition.id(), Offset::Offset(high))
            .map_err(|error| error.to_string())?;
    }
    Ok(positions)
}

/// Forwards payloads until the subscription or the transport is dropped. Transient errors are
/// logged (at most one line per [`ERROR_LOG_EVERY`]) and skipped without pausing: librdkafka
/// reconnects with its own backoff and queues one error event per failed attempt, in line with
/// the messages, so pausing per event would leave the subscription deaf long after the broker is
/// back (the fault suite saw 15-30 s). A fatal error ends the subscription.
async fn forward(
    consumer: StreamConsumer<Context>,
    tx: Feed,
    mut shutdown: watch::Receiver<()>,
    topic: String,
) {
    let mut last_logged: Option<Instant> = None;
    let mut suppressed = 0u64;
    loop {
        let received = tokio::select! {
            () = tx.closed() => break,
            _ = shutdown.changed() => break,
            received = consumer.recv() => received,
        };
        match received {
            Ok(message) => {
                let delivery = Delivery {
                    payload: Bytes::copy_from_slice(message.payload().unwrap_or_default()),
                    position: Some(Position {
                        partition: message.partition(),
                        offset: message.offset(),
                    }),
                };
                if tx.deliver(delivery).is_err() {
                    break;
                }
            }
            Err(error) if is_fatal(&error) => {
                tracing::error!(topic, %error, "Kafka consumer failed; subscription ends");
                break;
            }
            Err(error) => {
                if last_logged.is_none_or(|t| t.elapsed() >= ERROR_LOG_EVERY) {
                    tracing::warn!(topic, %error, suppressed, "Kafka consumer error (librdkafka reconnects by itself)");
                    last_logged = Some(Instant::now());
                    suppressed = 0;
                } else {
                    suppressed += 1;
                }
            }
        }
    }
    // Closing a consumer waits on librdkafka's threads: not on an async worker.
    tokio::task::spawn_blocking(move || drop(consumer));
}

/// At most one consumer-error log line this often per subscription.
const ERROR_LOG_EVERY: Duration = Duration::from_secs(5);

/// A [`TransportError`] for a failed step of subscribing to `topic`.
fn broker_error(topic: &str, doing: &str, error: &RdKafkaError) -> TransportError {
    TransportError::Broker(format!("subscribing to {topic}: {doing}: {error}"))
}
