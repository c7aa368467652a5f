//! How the orchestrator behaves: [`OrchestratorConfig`].

use std::path::PathBuf;
use std::time::Duration;

/// How the orchestrator behaves.
#[derive(Clone, Debug)]
pub struct OrchestratorConfig {
    /// This orchestrator's id on the heartbeat topic.
    pub node_id: String,
    /// Where reports are written.
    pub report_dir: PathBuf,
    /// How long drivers have to acknowledge a test's configuration.
    pub ack_timeout: Duration,
    /// A driver silent this long is `missing`.
    pub missing_after: Duration,
    /// A driver silent this long is `dead` (and a running test stops waiting for it).
    pub dead_after: Duration,
    /// Time between the trigger and the synchronized start.
    pub start_delay: Duration,
    /// Gap between the orchestrator's own heartbeats.
    pub heartbeat_every: Duration,
    /// When set, `test_config` and `trigger` messages are signed with this shared secret.
    pub secret: Option<onslaught_protocol::Signer>,
    /// How often a running test's report is checkpointed to disk (so an orchestrator that dies
    /// mid-test leaves what was measured; over Kafka its restart resumes the test from there,
    /// in-process it shows the test as interrupted).
    pub checkpoint_every: Duration,
    /// Where to push every test's per-second series as OpenTelemetry metrics (OTLP/HTTP), if
    /// anywhere.
    pub otlp_endpoint: Option<crate::export::Endpoint>,
    /// The leadership epoch of this orchestrator when it was elected among a cluster's (stamped
    /// on every control message and heartbeat, so drivers refuse a deposed one's); `None` for
    /// one that was not elected (in-process, or a lone orchestrator without a cluster).
    pub epoch: Option<u64>,
}

impl OrchestratorConfig {
    /// Defaults: reports in `report_dir`, missing after 3 s, dead after 10 s.
    pub fn new(report_dir: impl Into<PathBuf>) -> Self {
        Self {
            node_id: format!(
                "orchestrator-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            report_dir: report_dir.into(),
            ack_timeout: Duration::from_secs(5),
            missing_after: Duration::from_secs(3),
            dead_after: Duration::from_secs(10),
            start_delay: Duration::from_millis(250),
            heartbeat_every: Duration::from_secs(1),
            secret: None,
            checkpoint_every: Duration::from_secs(2),
            otlp_endpoint: None,
            epoch: None,
        }
    }
}
