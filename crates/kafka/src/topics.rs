//! The five topics on the broker: their names, partition counts, and their creation at start-up
//! (after waiting for the broker to answer).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onslaught_protocol::Topic;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;

use crate::context::Context;
use crate::{KafkaConfig, KafkaError};

/// First pause between two attempts; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// One metadata request never waits longer than this, so retries (and their log lines) happen.
const MAX_ATTEMPT: Duration = Duration::from_secs(5);

/// Partitions of a topic. Metrics and heartbeats (keyed by node id) carry the load and spread
/// over several; registrations less so; test configs and triggers have one, so every driver
/// sees control messages in one order.
pub fn partitions(topic: Topic) -> i32 {
    match topic {
        Topic::Metrics | Topic::Heartbeat => 6,
        Topic::Register => 3,
        Topic::TestConfig | Topic::Trigger => 1,
    }
}

/// The full names of the five topics on the broker, `{prefix}{topic}`.
#[derive(Debug, Clone)]
pub(crate) struct TopicNames {
    /// In the order of [`Topic::ALL`].
    names: [String; 5],
}

impl TopicNames {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            names: Topic::ALL.map(|topic| format!("{prefix}{}", topic.name())),
        }
    }

    pub(crate) fn get(&self, topic: Topic) -> &str {
        let index = match topic {
            Topic::Register => 0,
            Topic::TestConfig => 1,
            Topic::Trigger => 2,
            Topic::Metrics => 3,
            Topic::Heartbeat => 4,
        };
        &self.names[index]
    }
}

/// What start-up needs to know from a metadata answer.
#[derive(Debug)]
struct Cluster {
    /// Brokers in the cluster.
    brokers: usize,
    /// Topics by name.
    topics: HashMap<String, TopicState>,
}

/// One topic as the metadata describes it.
#[derive(Debug)]
struct TopicState {
    /// Its partitions.
    partitions: usize,
    /// Why it is not usable yet (a topic error, or a partition without leader), if so.
    problem: Option<String>,
}

impl Cluster {
    fn from_metadata(metadata: &Metadata) -> Self {
        let topics = metadata
            .topics()
            .iter()
            .map(|topic| {
                let problem = match topic.error() {
                    Some(error) => Some(format!("{:?}", RDKafkaErrorCode::from(error))),
                    None => topic
                        .partitions()
                        .iter()
                        .find(|p| p.error().is_some() || p.leader() < 0)
                        .map(|p| format!("partition {} has no leader yet", p.id())),
                };
                let state = TopicState {
                    partitions: topic.partitions().len(),
                    problem,
                };
                (topic.name().to_owned(), state)
            })
            .collect();
        Self {
            brokers: metadata.brokers().len(),
            topics,
        }
    }
}

/// Makes sure the five topics exist and have a leader for every partition: waits for the
/// broker, creates the missing topics, waits until the metadata shows them.
pub(crate) async fn ensure(
    admin: &Arc<AdminClient<Context>>,
    config: &KafkaConfig,
    names: &TopicNames,
) -> Result<(), KafkaError> {
    let cluster = wait_for_broker(admin, config).await?;
    create_missing(admin, config, names, &cluster).await?;
    wait_until_ready(admin, config, names).await
}

/// Asks for the cluster's metadata until a broker answers, with backoff, for at most
/// `config.connect_timeout`.
async fn wait_for_broker(
    admin: &Arc<AdminClient<Context>>,
    config: &KafkaConfig,
) -> Result<Cluster, KafkaError> {
    let start = Instant::now();
    let deadline = start + config.connect_timeout;
    let mut backoff = MIN_BACKOFF;
    loop {
        let attempt = deadline
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(100), MAX_ATTEMPT);
        let last_error = match fetch_cluster(admin, attempt).await {
            Ok(cluster) if cluster.brokers > 0 => return Ok(cluster),
            Ok(_) => "the metadata lists no broker".to_owned(),
            Err(error) => error,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(KafkaError::Unreachable {
                brokers: config.brokers.clone(),
                waited: start.elapsed(),
                last_error,
            });
        }
        tracing::warn!(brokers = %config.brokers, error = %last_error, "waiting for Kafka");
        tokio::time::sleep(backoff.min(left)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One metadata request for every topic (never auto-creates one), off the async workers.
async fn fetch_cluster(
    admin: &Arc<AdminClient<Context>>,
    timeout: Duration,
) -> Result<Cluster, String> {
    let admin = Arc::clone(admin);
    tokio::task::spawn_blocking(move || {
        admin
            .inner()
            .fetch_metadata(None, timeout)
            .map(|metadata| Cluster::from_metadata(&metadata))
            .map_err(|error| error.to_string())
    })
    .await
    .map_err(|error| format!("metadata task failed: {error}"))?
}

/// Creates the topics `cluster` lacks, replicated `min(3, brokers)` times. A topic that exists
/// meanwhile (another node started at the same time) is fine; one that exists with another
/// partition count is used as it is, with a warning.
async fn create_missing(
    admin: &AdminClient<Context>,
    config: &KafkaConfig,
    names: &TopicNames,
    cluster: &Cluster,
) -> Result<(), KafkaError> {
    let replication = i32::try_from(cluster.brokers.min(3)).unwrap_or(1);
    let mut missing = Vec::new();
    for topic in Topic::ALL {
        let name = names.get(topic);
        match cluster.topics.get(name) {
            Some(existing) if existing.partitions > 0 => {
                let wanted = partitions(topic);
                if i32::try_from(existing.partitions) != Ok(wanted) {
                    tracing::warn!(
                        topic = name,
                        partitions = existing.partitions,
                        wanted,
                        "existing topic has another partition count; using it as it is"
                    );
                }
            }
            _ => missing.push(NewTopic::new(
                name,
                partitions(topic),
                TopicReplication::Fixed(replication),
            )),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let options = AdminOptions::new()
        .operation_timeout(Some(config.connect_timeout))
        .request_timeout(Some(config.connect_timeout));
    let results = admin
        .create_topics(&missing, &options)
        .await
        .map_err(|error| KafkaError::CreateTopic {
            topic: missing.iter().map(|t| t.name).collect::<Vec<_>>().join(","),
            reason: error.to_string(),
        })?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!(topic, replication, "created Kafka topic"),
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(topic, "Kafka topic created meanwhile by another node");
            }
            Err((topic, code)) => {
                return Err(KafkaError::CreateTopic {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Waits until the metadata shows all five topics with a leader for every partition (a just
/// created topic takes a moment to reach every broker).
async fn wait_until_ready(
    admin: &Arc<AdminClient<Context>>,
    config: &KafkaConfig,
    names: &TopicNames,
) -> Result<(), KafkaError> {
    let start = Instant::now();
    let deadline = start + config.connect_timeout;
    let mut backoff = MIN_BACKOFF / 2;
    loop {
        let attempt = deadline
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(100), MAX_ATTEMPT);
        let not_ready = match fetch_cluster(admin, attempt).await {
            Ok(cluster) => Topic::ALL.into_iter().find_map(|topic| {
                let name = names.get(topic);
                match cluster.topics.get(name) {
                    None => Some((name, "not in the metadata yet".to_owned())),
                    Some(state) => state.problem.clone().map(|problem| (name, problem)),
                }
            }),
            Err(error) => Some((
                names.get(Topic::Register),
                format!("metadata request failed: {error}"),
            )),
        };
        let Some((topic, reason)) = not_ready else {
            return Ok(());
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(KafkaError::TopicNotReady {
                topic: topic.to_owned(),
                waited: start.elapsed(),
                reason,
            });
        }
        tracing::debug!(topic, reason, "waiting for Kafka topic");
        tokio::time::sleep(backoff.min(left)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The election's topic, `{prefix}leader`: one partition, whose owner in the candidates'
/// consumer group leads. It holds no message (the lease is the group's committed offset).
pub(crate) fn leader_topic(prefix: &str) -> String {
    format!("{prefix}leader")
}

/// Makes sure the election's topic `name` exists with one partition and a leader: created when
/// missing (another candidate creating it at the same time is fine), waited for until the
/// metadata shows it, all within `config.connect_timeout`.
pub(crate) async fn ensure_leader_topic(
    admin: &Arc<AdminClient<Context>>,
    config: &KafkaConfig,
    name: &str,
) -> Result<(), KafkaError> {
    let cluster = wait_for_broker(admin, config).await?;
    if !cluster.topics.contains_key(name) {
        let replication = i32::try_from(cluster.brokers.min(3)).unwrap_or(1);
        let options = AdminOptions::new()
            .operation_timeout(Some(config.connect_timeout))
            .request_timeout(Some(config.connect_timeout));
        let topic = NewTopic::new(name, 1, TopicReplication::Fixed(replication));
        let results = admin
            .create_topics(&[topic], &options)
            .await
            .map_err(|error| KafkaError::CreateTopic {
                topic: name.to_owned(),
                reason: error.to_string(),
            })?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(KafkaError::CreateTopic {
                        topic,
                        reason: code.to_string(),
                    });
                }
            }
        }
    }
    let start = Instant::now();
    let deadline = start + config.connect_timeout;
    let mut backoff = MIN_BACKOFF / 2;
    loop {
        let attempt = deadline
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(100), MAX_ATTEMPT);
        let reason = match fetch_cluster(admin, attempt).await {
            Ok(cluster) => match cluster.topics.get(name) {
                None => "not in the metadata yet".to_owned(),
                Some(state) => match &state.problem {
                    None => return Ok(()),
                    Some(problem) => problem.clone(),
                },
            },
            Err(error) => format!("metadata request failed: {error}"),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(KafkaError::TopicNotReady {
                topic: name.to_owned(),
                waited: start.elapsed(),
                reason,
            });
        }
        tokio::time::sleep(backoff.min(left)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_prefix() {
        let names = TopicNames::new("dev.");
        for topic in Topic::ALL {
            assert_eq!(names.get(topic), format!("dev.{}", topic.name()));
        }
        assert_eq!(TopicNames::new("").get(Topic::TestConfig), "test_config");
    }

    #[test]
    fn control_topics_have_one_partition() {
        assert_eq!(partitions(Topic::TestConfig), 1);
        assert_eq!(partitions(Topic::Trigger), 1);
        assert_eq!(partitions(Topic::Metrics), 6);
    }
}
