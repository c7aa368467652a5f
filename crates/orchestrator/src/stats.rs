//! Counters about the orchestrator itself: [`OrchestratorStats`].

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use onslaught_protocol::Topic;
use parking_lot::Mutex;

/// Counters about the orchestrator itself.
#[derive(Debug, Default)]
pub struct OrchestratorStats {
    /// Messages rejected by the decoder or as invalid, by reason.
    pub rejected: Mutex<BTreeMap<String, u64>>,
    /// Metrics messages dropped as duplicates (same `report_id`).
    pub duplicates: AtomicU64,
    /// Metrics messages accepted.
    pub metrics_messages: AtomicU64,
    /// Tests started.
    pub tests_started: AtomicU64,
    /// Start triggers sent again because a driver had not started a while after the first.
    pub triggers_resent: AtomicU64,
    /// The depth of the orchestrator's subscriptions, by topic (set by [`crate::Orchestrator::spawn`]).
    pub backlogs: Mutex<Vec<(Topic, onslaught_transport::Backlog)>>,
    /// The OTLP export's batches pushed and dropped.
    pub export: std::sync::Arc<crate::export::ExportStats>,
}

impl OrchestratorStats {
    pub(crate) fn reject(&self, topic: Topic, reason: &str) {
        *self
            .rejected
            .lock()
            .entry(format!("{topic}:{reason}"))
            .or_default() += 1;
    }
}
