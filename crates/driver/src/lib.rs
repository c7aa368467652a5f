//! The driver node: registers, heartbeats, takes a test's configuration, acknowledges it, starts
//! on the trigger, and streams interval metrics until its final message.
//!
//! Written once against [`onslaught_transport::Transport`]; the same code runs in `onslaught run` over the
//! in-process transport and as `onslaught driver` over Kafka.
//!
//! # Layout
//! - [`node`]: [`run`], the driver's event loop (messages in, heartbeats out). It never awaits
//!   a publish: messages go to the publisher's queue.
//! - [`test_run`]: one test on this driver: wait for the start time, run the engine, publish.
//! - [`convert`]: protocol `TestConfig` → engine `LoadSpec`, measured `Measurements` → `Metrics`.
//! - [`publish`]: the publisher task and its bounded queue; retries, so a broker hiccup loses
//!   no message.
//! - [`allow`]: the target allowlist.

pub mod allow;
pub mod convert;
pub mod node;
pub mod publish;
pub mod test_run;

use std::sync::atomic::AtomicU64;
use std::time::Duration;

pub use node::run;

/// How a driver behaves.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// Unique id of this node.
    pub node_id: String,
    /// Where this node can be reached (`host:port`), sent in `register` as `node_IP`.
    pub address: String,
    /// Gap between heartbeats.
    pub heartbeat_every: Duration,
    /// Gap between metrics messages during a test (at most one second).
    pub metrics_every: Duration,
    /// A running test stops by itself when no orchestrator heartbeat arrived for this long: the
    /// grace that lets a test run on (publishing its metrics) while the orchestrator restarts.
    pub orchestrator_timeout: Duration,
    /// When set, only control messages signed with this secret are obeyed.
    pub secret: Option<onslaught_protocol::Signer>,
    /// When not empty, only targets matching one of these are load-tested.
    pub allow_targets: Vec<allow::TargetPattern>,
    /// Engine threads for a test (`None`: one per core this process may use).
    pub engine_threads: Option<usize>,
}

/// How long a running test goes on without orchestrator heartbeats by default: long enough for
/// an orchestrator to restart and resume it, short enough that load does not run away.
pub const DEFAULT_ORCHESTRATOR_TIMEOUT: Duration = Duration::from_secs(30);

impl DriverConfig {
    /// A driver with the default timings: a heartbeat every second, metrics every 500 ms.
    pub fn new(node_id: impl Into<String>, address: impl Into<String>) -> Self {
        Self {
            node_id: node_id.into(),
            address: address.into(),
            heartbeat_every: Duration::from_secs(1),
            metrics_every: Duration::from_millis(500),
            orchestrator_timeout: DEFAULT_ORCHESTRATOR_TIMEOUT,
            secret: None,
            allow_targets: Vec::new(),
            engine_threads: None,
        }
    }
}

/// Counters about the driver itself (not the load): what it refused and why, and how its
/// queues fare. Sent in every heartbeat (those above zero).
#[derive(Debug, Default)]
pub struct DriverStats {
    /// Messages that failed to decode, by topic, summed.
    pub malformed_messages: AtomicU64,
    /// Triggers ignored because they were for an unknown, old or other test.
    pub ignored_triggers: AtomicU64,
    /// Publishes that had to be retried.
    pub publish_retries: AtomicU64,
    /// Control messages ignored for lacking a signature.
    pub unsigned_messages: AtomicU64,
    /// Control messages ignored for a bad signature.
    pub forged_messages: AtomicU64,
    /// Configs ignored as replays (an old or already-run test).
    pub replayed_configs: AtomicU64,
    /// Configs refused because the target is not allowed.
    pub refused_targets: AtomicU64,
    /// Tests stopped because the orchestrator went silent.
    pub orphaned_tests: AtomicU64,
    /// Commands and heartbeats refused as a deposed orchestrator's (an epoch lower than the
    /// highest seen).
    pub stale_epoch: AtomicU64,
    /// Heartbeats replaced by a newer one before the publisher could send them.
    pub heartbeats_coalesced: AtomicU64,
    /// Metrics messages that had to wait for room in the publisher's queue.
    pub metrics_queue_full: AtomicU64,
    /// Metrics messages never published: still queued when the shutdown drain bound passed.
    pub metrics_abandoned: AtomicU64,
    /// Messages waiting in this driver's subscriptions now (summed), as of the last heartbeat.
    pub subscription_backlog: AtomicU64,
    /// The most messages that ever waited in one of this driver's subscriptions.
    pub subscription_backlog_peak: AtomicU64,
    /// Schedule changes (`ADJUST` and `TAKEOVER` triggers) applied to a running test.
    pub rate_changes: AtomicU64,
    /// Schedule changes applied after their instant had passed (the requests due since then went
    /// out at once, with their intended times).
    pub late_rate_changes: AtomicU64,
}

impl DriverStats {
    /// Every counter by name, for heartbeats and logs.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        vec![
            ("malformed_messages", self.malformed_messages.load(Relaxed)),
            ("ignored_triggers", self.ignored_triggers.load(Relaxed)),
            ("publish_retries", self.publish_retries.load(Relaxed)),
            ("unsigned_messages", self.unsigned_messages.load(Relaxed)),
            ("forged_messages", self.forged_messages.load(Relaxed)),
            ("replayed_configs", self.replayed_configs.load(Relaxed)),
            ("refused_targets", self.refused_targets.load(Relaxed)),
            ("orphaned_tests", self.orphaned_tests.load(Relaxed)),
            ("stale_epoch", self.stale_epoch.load(Relaxed)),
            (
                "heartbeats_coalesced",
                self.heartbeats_coalesced.load(Relaxed),
            ),
            ("metrics_queue_full", self.metrics_queue_full.load(Relaxed)),
            ("metrics_abandoned", self.metrics_abandoned.load(Relaxed)),
            (
                "subscription_backlog",
                self.subscription_backlog.load(Relaxed),
            ),
            (
                "subscription_backlog_peak",
                self.subscription_backlog_peak.load(Relaxed),
            ),
            ("rate_changes", self.rate_changes.load(Relaxed)),
            ("late_rate_changes", self.late_rate_changes.load(Relaxed)),
        ]
    }
}

/// Why the driver stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The transport refused a subscription.
    #[error("transport: {0}")]
    Transport(#[from] onslaught_transport::TransportError),
}
