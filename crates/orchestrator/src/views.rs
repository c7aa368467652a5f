//! What the API, the dashboard, the CLI summary and the reports show: plain serializable views.

use std::collections::BTreeMap;

use onslaught_plan::{Accepted, TestRequest};
use onslaught_stats::{Counters, ErrorKind, Histogram, Iterations, Measurements, Summary};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::thresholds::ThresholdResult;
/// A latency summary of no samples is shown as `null`: no latency without responses.
mod empty_as_null {
    use super::{Deserialize, Deserializer, Serializer, Summary};

    pub(super) fn serialize<S: Serializer>(
        summary: &Summary,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        if summary.count == 0 {
            serializer.serialize_none()
        } else {
            serializer.serialize_some(summary)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Summary, D::Error> {
        Ok(Option::<Summary>::deserialize(deserializer)?.unwrap_or_default())
    }
}

/// Statistics of a node or of a whole test: the counters as measured (with errors judged, see
/// [`StatsView::judged`]), the rate and success ratio, and the summaries of the histograms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatsView {
    /// Requests, responses, errors (responses with a status the test does not accept included),
    /// status codes, bytes; `requests_attempted` is at least `requests_sent`.
    #[serde(flatten)]
    pub counters: Counters,
    /// Requests sent per second over the time measured.
    pub rps: f64,
    /// Responses with an accepted status (2xx and 3xx unless the test says otherwise) over
    /// requests attempted.
    pub success_ratio: f64,
    /// Latency from the intended send time; `null` without responses.
    #[serde(with = "empty_as_null")]
    #[schemars(with = "Option<Summary>")]
    pub latency: Summary,
    /// Service time from the actual send; `null` without responses.
    #[serde(with = "empty_as_null")]
    #[schemars(with = "Option<Summary>")]
    pub service_time: Summary,
    /// Gaps between consecutive sends (scheduled tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_gap: Option<Summary>,
    /// How late sends went out after their intended times (scheduled tests): the pacer's and
    /// engine's own jitter, seen by the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag: Option<Summary>,
    /// Per request name (a plan's steps), for a test whose requests have more than one name:
    /// each name's own statistics, merged exactly across drivers (their rate over the same
    /// time as the whole's). Absent for a test of one request (the whole is that request's),
    /// and from the per-node views of the API (the node reports have them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_name: BTreeMap<String, StatsView>,
    /// Per flow: its virtual users' iterations. Absent for a test without flows.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flows: BTreeMap<String, FlowView>,
}

/// The iterations of one flow, merged across drivers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowView {
    /// Iterations begun.
    pub started: u64,
    /// Iterations that ran every step.
    pub completed: u64,
    /// Iterations stopped before their last step (a failure the plan stops on, or the end of
    /// the test).
    pub interrupted: u64,
    /// Open load: iterations due on the schedule that could not start because every virtual
    /// user was busy (never counted as started).
    pub dropped: u64,
    /// Iterations completed per second over the time measured.
    pub rate: f64,
    /// Duration of completed iterations, from their intended start, think times included;
    /// `null` when none completed.
    #[serde(with = "empty_as_null")]
    #[schemars(with = "Option<Summary>")]
    pub duration: Summary,
}

impl FlowView {
    /// The view of `iterations` spanning `seconds`.
    pub fn of(iterations: &Iterations, seconds: f64) -> Self {
        Self {
            started: iterations.started,
            completed: iterations.completed,
            interrupted: iterations.interrupted,
            dropped: iterations.dropped,
            rate: per_second(iterations.completed, seconds),
            duration: iterations.duration.summary(),
        }
    }
}

fn per_second(n: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

impl StatsView {
    /// The view of `totals` spanning `seconds`.
    pub fn of(totals: &Measurements, seconds: f64) -> Self {
        let c = &totals.counters;
        Self {
            counters: Counters {
                // Older drivers did not count attempts.
                requests_attempted: c.requests_attempted.max(c.requests_sent),
                ..c.clone()
            },
            rps: per_second(c.requests_sent, seconds),
            success_ratio: 0.0,
            latency: totals.latency.summary(),
            service_time: totals.service.summary(),
            send_gap: totals.send_gaps.as_ref().map(Histogram::summary),
            send_lag: totals.send_lag.as_ref().map(Histogram::summary),
            by_name: totals
                .by_name
                .iter()
                .map(|(name, part)| (name.clone(), StatsView::of(part, seconds)))
                .collect(),
            flows: totals
                .flows
                .iter()
                .map(|(name, flow)| (name.clone(), FlowView::of(flow, seconds)))
                .collect(),
        }
        .judged(&Accepted::default())
    }

    /// This view without its per-name part (what the API shows per node, to keep live views
    /// small: names times nodes).
    pub fn without_names(&self) -> Self {
        Self {
            counters: self.counters.clone(),
            rps: self.rps,
            success_ratio: self.success_ratio,
            latency: self.latency,
            service_time: self.service_time,
            send_gap: self.send_gap,
            send_lag: self.send_lag,
            by_name: BTreeMap::new(),
            flows: self.flows.clone(),
        }
    }

    /// This view judged by `accepted`, without its per-name part: judged by name first when
    /// its names accept other statuses than the test's.
    pub fn judged_without_names(&self, accepted: &Accepted) -> Self {
        if accepted.varies_by_name() {
            let mut view = self.clone().judged(accepted);
            view.by_name.clear();
            view
        } else {
            self.without_names().judged(accepted)
        }
    }

    /// The share of checks that passed, if any check ran.
    pub fn checks_ratio(&self) -> Option<f64> {
        let c = &self.counters;
        let all = c.checks_passed + c.checks_failed;
        (all > 0).then(|| c.checks_passed as f64 / all as f64)
    }

    /// The one place success is decided: responses whose status `accepted` accepts are
    /// successes, and the success ratio is their share of requests attempted. Every response with
    /// another status is an error: a 5xx under the engine's `http_5xx`, any other status under
    /// `http_<code>` (`http_404`), so error totals include them. Judging again with another
    /// expectation replaces the earlier judgement.
    ///
    /// Each name's view is judged by the statuses its steps accept (a step's `check.status`),
    /// and the whole by the same rule per response: its statuses are judged by the name that
    /// counted them (what no name counted, by the test's expected statuses). A view without
    /// its names (see [`StatsView::without_names`]) can only be judged by the test's, so judge
    /// first.
    pub fn judged(mut self, accepted: &Accepted) -> Self {
        let mut unnamed = self.counters.status_codes.clone();
        let mut verdicts: Vec<(u16, u64, bool)> = Vec::with_capacity(unnamed.len());
        for (name, part) in &mut self.by_name {
            let judged: Vec<(u16, u64, bool)> = part
                .counters
                .status_codes
                .iter()
                .map(|(&status, &n)| (status, n, accepted.accepts(Some(name), status)))
                .collect();
            for &(status, n, ok) in &judged {
                if let Some(left) = unnamed.get_mut(&status) {
                    let counted = n.min(*left);
                    *left -= counted;
                    verdicts.push((status, counted, ok));
                }
            }
            part.judge(&judged);
        }
        verdicts.extend(
            unnamed
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(status, n)| (status, n, accepted.accepts(None, status))),
        );
        self.judge(&verdicts);
        self
    }

    /// Sets the status errors and the success ratio from `verdicts`: (status, responses,
    /// accepted), a status possibly more than once.
    fn judge(&mut self, verdicts: &[(u16, u64, bool)]) {
        let c = &mut self.counters;
        c.errors
            .retain(|kind, _| !matches!(kind, ErrorKind::Status5xx | ErrorKind::Status(_)));
        let mut successes = 0;
        for &(status, n, ok) in verdicts {
            if n == 0 {
                continue;
            }
            let kind = if ok {
                successes += n;
                continue;
            } else if (500..=599).contains(&status) {
                ErrorKind::Status5xx
            } else {
                ErrorKind::Status(status)
            };
            *c.errors.entry(kind).or_default() += n;
        }
        let attempted = c.requests_attempted.max(c.requests_sent);
        self.success_ratio = if attempted > 0 {
            successes as f64 / attempted as f64
        } else {
            0.0
        };
    }

    /// Requests that failed: attempted but not answered with an accepted status.
    pub fn failed_ratio(&self) -> f64 {
        if self
            .counters
            .requests_attempted
            .max(self.counters.requests_sent)
            == 0
        {
            1.0
        } else {
            1.0 - self.success_ratio
        }
    }
}

/// One second of a per-second time series (of the test, or of one node): second `n` is the
/// `n`-th wall-clock second after the trigger's start time (`started_at_ms`), for every node
/// alike, so a driver that started late shows as late.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeriesPoint {
    /// Seconds since the test's start time.
    pub second: u64,
    /// Requests sent in that second.
    pub requests: u64,
    /// Responses received.
    pub responses: u64,
    /// Errors.
    pub errors: u64,
    /// Median latency (ms); `null` without responses.
    pub p50: Option<f64>,
    /// 90th percentile (ms); `null` without responses (and in reports written before it).
    #[serde(default)]
    pub p90: Option<f64>,
    /// 95th percentile (ms); `null` without responses.
    pub p95: Option<f64>,
    /// 99th percentile (ms); `null` without responses.
    pub p99: Option<f64>,
    /// Largest latency (ms); `null` without responses (and in reports written before it).
    #[serde(default)]
    pub max: Option<f64>,
    /// Mean (ms); `null` without responses.
    pub mean: Option<f64>,
    /// Mean virtual users running in that second over all drivers (`user_ms / 1000`), for an
    /// avalanche (constant users, changed while running, or on stages); absent for a tsunami.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<f64>,
    /// Requests sent per node in that second.
    pub nodes: BTreeMap<String, u64>,
    /// Per request name, for a test whose requests have several names (the steps of its
    /// flows), in the test's series only (not a node's): that name's requests of the second.
    /// Absent for a test of one request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_name: BTreeMap<String, NamePoint>,
}

/// One request name's part of one second of a test's series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NamePoint {
    /// Requests of that name sent in the second.
    pub requests: u64,
    /// Their responses received.
    pub responses: u64,
    /// Their errors.
    pub errors: u64,
    /// Median latency (ms); `null` without responses.
    pub p50: Option<f64>,
    /// 90th percentile (ms); `null` without responses.
    pub p90: Option<f64>,
    /// 95th percentile (ms); `null` without responses.
    pub p95: Option<f64>,
    /// 99th percentile (ms); `null` without responses.
    pub p99: Option<f64>,
    /// Largest latency (ms); `null` without responses.
    pub max: Option<f64>,
}

/// Where a test is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

/// A change of a running test's load (`PATCH /api/tests/{id}`), in force on every driver from
/// one instant: a tsunami's rate (`rate` and `rate_total`) or an avalanche's users
/// (`users_total`, and `users` when given per driver).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LoadChange {
    /// When the new load took effect on every driver, ms since the Unix epoch.
    pub at_ms: u64,
    /// The same instant on the test's clock: ms after its start time (second
    /// `offset_ms / 1000` of the series is the first with the new load).
    pub offset_ms: u64,
    /// A tsunami's new rate of each driver, requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// A tsunami's new rate of its drivers together: `rate` times the drivers. The test keeps
    /// its split: a rate per driver stays one, a total stays one (its drivers' stripes of one
    /// schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_total: Option<f64>,
    /// An avalanche's new virtual users on each driver, when given per driver (`users`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u64>,
    /// An avalanche's new virtual users over all its drivers (`users` times the drivers, or
    /// the `users_total` given, split by stripe: driver k of n runs the users i with
    /// i mod n = k).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_total: Option<u64>,
    /// When it was asked for, ms since the Unix epoch.
    pub requested_at_ms: u64,
    /// Who asked for it: `api`, or what the request's `X-Requested-By` header said
    /// (`dashboard` from the dashboard).
    pub requested_by: String,
}

/// Drivers of a test in total taking over the share of drivers declared dead: from `at_ms`
/// the schedule is split among `drivers` only (their stripes widen).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Takeover {
    /// The drivers whose share was taken over (declared dead during the test).
    pub lost: Vec<String>,
    /// When the last of them was declared dead, ms since the Unix epoch.
    pub detected_at_ms: u64,
    /// When the others' widened stripes took effect on every one of them, ms since the Unix
    /// epoch.
    pub at_ms: u64,
    /// The same instant on the test's clock: ms after its start time.
    pub offset_ms: u64,
    /// The drivers that split the schedule from then on, in stripe order.
    pub drivers: Vec<String>,
    /// Where the lost drivers' measurements end on the test's clock (the earliest of them):
    /// the gap runs from here to `offset_ms`.
    pub gap_from_offset_ms: u64,
    /// About how many requests of the lost drivers' share were scheduled in the gap: not
    /// measured (never sent, or sent without their measurements reaching the orchestrator).
    /// The area under the schedule's rate over the gap divided among the drivers that shared
    /// it, so within a request or so of the exact count. 0 for users in total (closed load has
    /// no schedule of requests to estimate from; the gap says when its users were not run).
    pub unmeasured: u64,
}

/// Per-node facts a report keeps beyond the statistics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// When the node's run actually started (its clock's zero, once its connections were
    /// open), ms since the Unix epoch, as the node reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<u64>,
    /// How long after the test's start time (`started_at_ms` of the test, the trigger's) the
    /// node's run started, ms (negative: before it, by clock skew).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_offset_ms: Option<i64>,
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// What makes the numbers less than they seem, such as a driver that started more than
    /// `max_start_skew_ms` after the test's start time.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// All nodes merged.
    pub aggregate: StatsView,
    /// Per node.
    pub nodes: BTreeMap<String, StatsView>,
    /// Per node bookkeeping.
    pub node_facts: BTreeMap<String, NodeFacts>,
    /// Per-second aggregate time series.
    pub series: Vec<SeriesPoint>,
    /// Each threshold of the test (in the order of `config.thresholds`) with what was measured
    /// and whether it holds, judged on the merged data of all drivers each second while the
    /// test runs and at its end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<ThresholdResult>,
    /// The test was stopped because a threshold failed (`abort_on_fail`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub aborted_by_threshold: bool,
    /// Each change of the test's rate while it ran, in order (`PATCH /api/tests/{id}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_changes: Vec<LoadChange>,
    /// Each takeover of dead drivers' share by the others while it ran, in order (a test in
    /// total only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub takeovers: Vec<Takeover>,
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

impl TestView {
    /// A test `id` in `status` with nothing measured, of a one-URL avalanche: the start of
    /// tests' fixtures (here and in the crates that show views).
    #[doc(hidden)]
    pub fn fixture(id: &str, status: TestStatus) -> Self {
        TestView {
            id: id.to_owned(),
            status,
            config: TestRequest::new("avalanche", "http://127.0.0.1:1/"),
            drivers: Vec::new(),
            created_at_ms: 1,
            started_at_ms: None,
            ended_at_ms: None,
            message: None,
            warnings: Vec::new(),
            aggregate: StatsView::default(),
            nodes: BTreeMap::new(),
            node_facts: BTreeMap::new(),
            series: Vec::new(),
            thresholds: Vec::new(),
            aborted_by_threshold: false,
            load_changes: Vec::new(),
            takeovers: Vec::new(),
            report_path: None,
            report_error: None,
            last_metrics_sent_at_ms: None,
        }
    }

    /// Whether every threshold of the test holds (true without thresholds).
    pub fn thresholds_passed(&self) -> bool {
        self.thresholds.iter().all(|t| t.passed)
    }

    /// Whether the test passed: it completed, sent requests, its share of failed requests is
    /// at most the test's `max_error_ratio` (0 by default: any failed request fails it), and
    /// every threshold holds.
    pub fn passed(&self) -> bool {
        // A ratio computed from counts may be off by a rounding step; a request is far more.
        const ROUNDING: f64 = 1e-12;
        self.status == TestStatus::Completed
            && self
                .aggregate
                .counters
                .requests_attempted
                .max(self.aggregate.counters.requests_sent)
                > 0
            && self.aggregate.failed_ratio() <= self.config.max_error_ratio + ROUNDING
            && self.thresholds_passed()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Whether a node is heard from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodeView {
    /// Node id.
    pub node_id: String,
    /// Reachable address from its registration.
    pub address: String,
    /// Its state from the last heartbeat.
    pub state: onslaught_protocol::NodeState,
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
