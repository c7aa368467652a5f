//! What the API, the dashboard, the CLI summary and the reports show: plain serializable views.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stats::Summary;

use crate::TestRequest;
use crate::totals::Totals;

/// A latency summary in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryView {
    /// Samples.
    pub count: u64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
    /// 50th percentile.
    pub median: f64,
    /// Most frequent value at the histogram's resolution.
    pub mode: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
}

impl From<Summary> for SummaryView {
    fn from(s: Summary) -> Self {
        Self {
            count: s.count,
            min: s.min,
            max: s.max,
            mean: s.mean,
            stdev: s.stdev,
            median: s.median,
            mode: s.mode,
            p90: s.p90,
            p95: s.p95,
            p99: s.p99,
            p999: s.p999,
        }
    }
}

/// Statistics of a node or of a whole test.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsView {
    /// Requests sent.
    pub requests_sent: u64,
    /// Complete responses.
    pub responses_received: u64,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
    /// Responses by status code.
    pub status_codes: BTreeMap<String, u64>,
    /// Request bytes written.
    pub bytes_sent: u64,
    /// Response bytes read.
    pub bytes_received: u64,
    /// Scheduled sends that went out more than 1 ms late.
    pub late_sends: u64,
    /// Requests per second over the time measured.
    pub rps: f64,
    /// Successful responses (status < 500) over requests sent.
    pub success_ratio: f64,
    /// Latency from the intended send time.
    pub latency: SummaryView,
    /// Service time from the actual send.
    pub service_time: SummaryView,
    /// Gaps between consecutive sends (scheduled tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_gap: Option<SummaryView>,
    /// How late sends went out after their intended times (scheduled tests): the pacer's and
    /// engine's own jitter, seen by the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag: Option<SummaryView>,
}

impl StatsView {
    /// The view of `totals` spanning `seconds`.
    pub fn of(totals: &Totals, seconds: f64) -> Self {
        let c = &totals.counters;
        Self {
            requests_sent: c.requests_sent,
            responses_received: c.responses_received,
            errors: c
                .errors
                .iter()
                .map(|(k, n)| (k.as_str().to_owned(), *n))
                .collect(),
            status_codes: c
                .status_codes
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect(),
            bytes_sent: c.bytes_sent,
            bytes_received: c.bytes_received,
            late_sends: c.late_sends,
            rps: if seconds > 0.0 {
                c.requests_sent as f64 / seconds
            } else {
                0.0
            },
            success_ratio: if c.requests_sent > 0 {
                c.successes() as f64 / c.requests_sent as f64
            } else {
                0.0
            },
            latency: totals.latency.summary().into(),
            service_time: totals.service.summary().into(),
            send_gap: totals.send_gaps.as_ref().map(|h| h.summary().into()),
            send_lag: totals.send_lag.as_ref().map(|h| h.summary().into()),
        }
    }
}

/// One second of the aggregate time series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Seconds since the start.
    pub second: u64,
    /// Requests sent in that second.
    pub requests: u64,
    /// Responses received.
    pub responses: u64,
    /// Errors.
    pub errors: u64,
    /// Median latency (ms).
    pub p50: f64,
    /// 95th percentile (ms).
    pub p95: f64,
    /// 99th percentile (ms).
    pub p99: f64,
    /// Mean (ms).
    pub mean: f64,
    /// Requests sent per node in that second.
    pub nodes: BTreeMap<String, u64>,
}

/// Where a test is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    /// Created, not started.
    Created,
    /// Config sent, waiting for every driver's acknowledgement.
    Configuring,
    /// Triggered; drivers are sending.
    Running,
    /// Every driver finished.
    Completed,
    /// Finished, but a driver died or lost messages on the way.
    Degraded,
    /// Could not run (no acknowledgement, a driver refused it).
    Failed,
    /// Stopped by a user.
    Aborted,
    /// The orchestrator stopped while it ran.
    Interrupted,
}

impl TestStatus {
    /// Whether the test is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TestStatus::Completed
                | TestStatus::Degraded
                | TestStatus::Failed
                | TestStatus::Aborted
                | TestStatus::Interrupted
        )
    }
}

/// Per-node facts a report keeps beyond the statistics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeFacts {
    /// The final message arrived.
    pub finished: bool,
    /// The node was declared dead before finishing.
    pub lost: bool,
    /// Metrics messages received.
    pub messages: u64,
    /// Metrics messages missing from the sequence.
    pub missing_messages: u64,
    /// Time the node measured, ms.
    pub elapsed_ms: u64,
    /// When the node was declared dead (silent past the dead threshold), ms since the Unix
    /// epoch; its data up to its last metrics message is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_at_ms: Option<u64>,
    /// Why the node ended its run early (its own final message says so): stopped by request,
    /// no orchestrator heartbeat, shutting down, or a start failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// µs from the node's start to its last send (vegeta's attack), from its final message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_send_us: Option<u64>,
    /// µs from the node's start to the end (response or error) of its last request; minus
    /// `last_send_us`, vegeta's wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_response_us: Option<u64>,
}

/// A test as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestView {
    /// Test id.
    pub id: String,
    /// Status.
    pub status: TestStatus,
    /// What was asked for.
    pub config: TestRequest,
    /// Participating drivers.
    pub drivers: Vec<String>,
    /// Creation time, ms since the Unix epoch.
    pub created_at_ms: u64,
    /// Start time (the synchronized trigger time).
    pub started_at_ms: Option<u64>,
    /// End time.
    pub ended_at_ms: Option<u64>,
    /// Why it failed, what degraded it, or other news.
    pub message: Option<String>,
    /// All nodes merged.
    pub aggregate: StatsView,
    /// Per node.
    pub nodes: BTreeMap<String, StatsView>,
    /// Per node bookkeeping.
    pub node_facts: BTreeMap<String, NodeFacts>,
    /// Per-second aggregate time series.
    pub series: Vec<SeriesPoint>,
    /// Where the aggregate report was written.
    pub report_path: Option<String>,
    /// Why the final report could not be written (the test is over all the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_error: Option<String>,
    /// When the newest metrics message merged into this view was sent by its driver, ms since
    /// the Unix epoch (for measuring how fresh a live view is).
    #[serde(default)]
    pub last_metrics_sent_at_ms: Option<u64>,
}

/// Whether a node is heard from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Liveness {
    /// Heartbeat within the missing threshold (3 s by default).
    Alive,
    /// Silent past the missing threshold.
    Missing,
    /// Silent past the dead threshold (10 s by default).
    Dead,
}

/// A driver as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// Node id.
    pub node_id: String,
    /// Reachable address from its registration.
    pub address: String,
    /// Its state from the last heartbeat.
    pub state: protocol::NodeState,
    /// The test that state concerns.
    pub test_id: Option<String>,
    /// Alive, missing or dead.
    pub liveness: Liveness,
    /// Last heartbeat, ms since the Unix epoch.
    pub last_heartbeat_ms: u64,
    /// Registration time, ms since the Unix epoch.
    pub registered_at_ms: u64,
    /// Requests sent in its current test.
    pub requests_sent: u64,
    /// Why it rejected its last config, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The driver's own counters from its heartbeat: refused messages (malformed, unsigned,
    /// forged, replayed), refused targets, publish retries, tests stopped for lack of an
    /// orchestrator.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, u64>,
}
