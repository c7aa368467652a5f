//! [`KafkaConfig`], and the librdkafka settings of the three kinds of client built from it.
//!
//! Every client gets our defaults first, then the caller's `extra` pairs (which may override
//! them), then the few settings the transport's semantics depend on (a consumer's unique
//! `group.id`).

use std::fmt;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;

/// How to reach the cluster and name things on it.
#[derive(Clone)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port...]` (librdkafka's `bootstrap.servers`).
    pub brokers: String,
    /// Prepended to every topic name: `{topic_prefix}{topic}`, so several deployments can share
    /// a cluster. Empty by default.
    pub topic_prefix: String,
    /// librdkafka's `client.id`, shown in broker logs and metrics.
    pub client_id: String,
    /// Each subscription consumes as group `{group_id_prefix}-{topic}-{uuid}`; the prefix lets
    /// ACLs on managed clusters match them.
    pub group_id_prefix: String,
    /// How long [`connect`](crate::KafkaTransport::connect) waits for a broker to answer, and
    /// the bound on each start-up step after it (topic creation, positioning a subscription).
    pub connect_timeout: Duration,
    /// Passed straight to librdkafka for every client, after our defaults (so they override
    /// them): `security.protocol`, `sasl.*`, `ssl.*`, `message.timeout.ms`, ...
    pub extra: Vec<(String, String)>,
}

/// What a batched consumer's fetch waits for: this many bytes ready (about twenty metrics
/// messages)...
pub const BATCH_FETCH_BYTES: u32 = 64 * 1024;

/// ... or this long, whichever comes first: the most a metrics message or a heartbeat waits on
/// the broker for company (liveness counts in seconds, merging in intervals of 500 ms or more).
pub const BATCH_FETCH_WAIT_MS: u32 = 50;

impl KafkaConfig {
    /// Defaults for everything but the bootstrap servers.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic_prefix: String::new(),
            client_id: "onslaught".to_owned(),
            group_id_prefix: "onslaught".to_owned(),
            connect_timeout: Duration::from_secs(30),
            extra: Vec::new(),
        }
    }

    /// Settings common to every client.
    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            // Topics are created by `connect` with their partition counts; a broker's
            // auto-creation (with its own defaults) would hide a missing topic.
            .set("allow.auto.create.topics", "false")
            // librdkafka's default (10 s) also delays the expiry of messages queued for a
            // partition whose leader is down: the broker thread scans for timed-out messages
            // only between reconnect attempts. 1 s is the Java client's default.
            .set("reconnect.backoff.max.ms", "1000")
            // A restarting broker accepts TCP connections before it serves requests; with the
            // default 30 s setup timeout a client that connects in that window stays deaf for
            // 30 s after the broker is back (seen in the fault suite). 5 s bounds the gap.
            .set("socket.connection.setup.timeout.ms", "5000")
            .set_log_level(log_level());
        config
    }

    /// `extra` on top of `config`.
    fn with_extra(&self, mut config: ClientConfig) -> ClientConfig {
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }

    /// The admin client that waits for the broker and creates topics.
    pub(crate) fn admin(&self) -> ClientConfig {
        self.with_extra(self.base())
    }

    /// The one producer of a transport: idempotent, every in-sync replica acknowledges, a short
    /// linger so control messages are not held back.
    pub(crate) fn producer(&self) -> ClientConfig {
        let mut config = self.base();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            // librdkafka's default is 5 minutes; a control plane wants to hear sooner that a
            // publish failed, and callers retry.
            .set("message.timeout.ms", "30000");
        self.with_extra(config)
    }

    /// A consumer for one subscription: its own group (never joined, since partitions are
    /// assigned by hand), no offset commits, start at the end. A consumer of a stream of
    /// reports (`batched`: every driver's metrics or heartbeats) asks the broker to answer a
    /// fetch once [`BATCH_FETCH_BYTES`] are ready or [`BATCH_FETCH_WAIT_MS`] passed, so one
    /// fetch brings many messages instead of one round trip per message or two (what the
    /// default, answer as soon as one byte is there, gives with a thousand drivers reporting).
    /// Control topics keep the default: a trigger goes out as soon as it is there.
    pub(crate) fn consumer(&self, group_id: &str, batched: bool) -> ClientConfig {
        let mut config = self.base();
        config
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "latest")
            .set("enable.partition.eof", "false");
        if batched {
            config
                .set("fetch.min.bytes", BATCH_FETCH_BYTES.to_string())
                .set("fetch.wait.max.ms", BATCH_FETCH_WAIT_MS.to_string());
        }
        let mut config = self.with_extra(config);
        config.set("group.id", group_id);
        config
    }
}

impl KafkaConfig {
    /// The consumer of an election: a member of the candidates' group `group_id`, which
    /// commits only by hand (the epoch) and never reads; incremental (`cooperative-sticky`)
    /// rebalances, so a candidate joining leaves the leader its partition.
    pub(crate) fn election(
        &self,
        group_id: &str,
        session_timeout: Duration,
        heartbeat_every: Duration,
    ) -> ClientConfig {
        let mut config = self.base();
        config
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "latest")
            .set("enable.partition.eof", "false")
            .set(
                "session.timeout.ms",
                session_timeout.as_millis().to_string(),
            )
            .set(
                "heartbeat.interval.ms",
                heartbeat_every.as_millis().to_string(),
            )
            .set("partition.assignment.strategy", "cooperative-sticky");
        let mut config = self.with_extra(config);
        config.set("group.id", group_id);
        config
    }
}

/// Only the keys of `extra` are shown: its values may be passwords.
impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extra_keys: Vec<&str> = self.extra.iter().map(|(key, _)| key.as_str()).collect();
        f.debug_struct("KafkaConfig")
            .field("brokers", &self.brokers)
            .field("topic_prefix", &self.topic_prefix)
            .field("client_id", &self.client_id)
            .field("group_id_prefix", &self.group_id_prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("extra_keys", &extra_keys)
            .finish()
    }
}

/// The most detailed librdkafka level that `tracing` would record for target `librdkafka`
/// (librdkafka formats only those lines).
fn log_level() -> RDKafkaLogLevel {
    use tracing::{Level, enabled};
    if enabled!(target: "librdkafka", Level::DEBUG) {
        RDKafkaLogLevel::Debug
    } else if enabled!(target: "librdkafka", Level::INFO) {
        RDKafkaLogLevel::Info
    } else {
        RDKafkaLogLevel::Warning
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_overrides_defaults_but_not_the_group_id() {
        let mut config = KafkaConfig::new("b:9092");
        config.extra = vec![
            ("message.timeout.ms".into(), "1000".into()),
            ("group.id".into(), "shared".into()),
        ];
        assert_eq!(config.producer().get("message.timeout.ms"), Some("1000"));
        assert_eq!(config.producer().get("enable.idempotence"), Some("true"));
        assert_eq!(config.consumer("mine", false).get("group.id"), Some("mine"));
        assert_eq!(config.admin().get("bootstrap.servers"), Some("b:9092"));
    }

    /// Report streams fetch in batches; control topics answer at the first byte; `extra`
    /// still has the last word.
    #[test]
    fn report_consumers_fetch_in_batches() {
        let mut config = KafkaConfig::new("b:9092");
        let batched = config.consumer("m", true);
        assert_eq!(batched.get("fetch.min.bytes"), Some("65536"));
        assert_eq!(batched.get("fetch.wait.max.ms"), Some("50"));
        assert_eq!(config.consumer("t", false).get("fetch.min.bytes"), None);
        config.extra = vec![("fetch.wait.max.ms".into(), "10".into())];
        assert_eq!(
            config.consumer("m", true).get("fetch.wait.max.ms"),
            Some("10")
        );
    }

    #[test]
    fn debug_hides_extra_values() {
        let mut config = KafkaConfig::new("b:9092");
        config.extra = vec![("sasl.password".into(), "hunter2".into())];
        let shown = format!("{config:?}");
        assert!(shown.contains("sasl.password"));
        assert!(!shown.contains("hunter2"));
    }
}
