//! One test the orchestrator runs or ran: what it holds, its lifecycle as an enum that carries
//! each stage's data ([`Phase`], [`Outcome`], [`Written`]), and its view, derived from them.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use onslaught_plan::TestPlan;
use onslaught_protocol::now_ms;

use super::State;
use crate::error::ControlError;
use crate::thresholds::{self, Recent, ThresholdResult};
use crate::totals::{Measured, NodeTotals, Series, shift_ms};
use crate::views::{LoadChange, NodeFacts, StatsView, Takeover, TestStatus, TestView};

/// A test the orchestrator knows: one it runs or ran, or one loaded from a report written by an
/// earlier run (shown as it was, never changed).
#[derive(Debug)]
pub(super) enum Test {
    /// Created by this orchestrator.
    Live(Box<LiveTest>),
    /// Loaded from a report; its status is final (a test that was running is `interrupted`).
    Past(Box<TestView>),
}

impl Test {
    /// A past test from its report's view; a test that was still running is interrupted.
    pub(super) fn past(mut view: TestView) -> Self {
        if !view.status.is_final() {
            view.status = TestStatus::Interrupted;
        }
        Self::Past(Box::new(view))
    }

    pub(super) fn id(&self) -> &str {
        match self {
            Self::Live(t) => &t.id,
            Self::Past(v) => &v.id,
        }
    }

    pub(super) fn status(&self) -> TestStatus {
        match self {
            Self::Live(t) => t.phase.status(),
            Self::Past(v) => v.status,
        }
    }

    pub(super) fn view(&self) -> TestView {
        match self {
            Self::Live(t) => t.view(),
            Self::Past(v) => (**v).clone(),
        }
    }

    /// The live test, if it is one.
    pub(super) fn live(&self) -> Option<&LiveTest> {
        match self {
            Self::Live(t) => Some(t),
            Self::Past(_) => None,
        }
    }

    /// The live test, if it is one.
    pub(super) fn live_mut(&mut self) -> Option<&mut LiveTest> {
        match self {
            Self::Live(t) => Some(t),
            Self::Past(_) => None,
        }
    }

    /// Whether the test is over with its reports written, or their writing failed (or it failed
    /// before it ran). A past test was loaded from its report: done.
    pub(super) fn is_done(&self) -> bool {
        match self {
            Self::Live(t) => match &t.phase {
                Phase::Ended {
                    outcome, written, ..
                } => {
                    matches!(outcome, Outcome::Failed { .. })
                        || !matches!(written, Written::Pending)
                }
                _ => false,
            },
            Self::Past(_) => true,
        }
    }

    /// Where the test's aggregate report is on disk.
    pub(super) fn report_path(&self) -> Option<PathBuf> {
        match self {
            Self::Live(t) => match &t.phase {
                Phase::Ended {
                    written: Written::At(path),
                    ..
                } => Some(path.clone()),
                _ => None,
            },
            Self::Past(v) => v.report_path.as_ref().map(PathBuf::from),
        }
    }
}

/// Where a live test is in its life, with what each stage knows.
#[derive(Debug)]
pub(super) enum Phase {
    /// Recorded, not started.
    Created,
    /// The config went out; waiting for every chosen driver's acknowledgement.
    Configuring {
        /// A stop arrived meanwhile: the start gives up.
        stop_requested: bool,
    },
    /// The start trigger went out; drivers are sending.
    Running {
        /// The synchronized start time (ms since the epoch): the test's clock.
        started_at_ms: u64,
        /// When the start trigger last went out (ms since the epoch).
        triggered_at_ms: u64,
        /// A user asked to stop: the test ends `aborted`.
        stop_requested: bool,
        /// Something changed since the last checkpoint of the test was taken.
        checkpoint_due: bool,
    },
    /// Over.
    Ended {
        /// The test's start time, when it got that far.
        started_at_ms: Option<u64>,
        /// When it ended (ms since the epoch).
        ended_at_ms: u64,
        /// How it ended, and why.
        outcome: Outcome,
        /// Whether its final report is written.
        written: Written,
    },
}

impl Phase {
    /// The status the API shows.
    pub(super) fn status(&self) -> TestStatus {
        match self {
            Self::Created => TestStatus::Created,
            Self::Configuring { .. } => TestStatus::Configuring,
            Self::Running { .. } => TestStatus::Running,
            Self::Ended { outcome, .. } => outcome.status(),
        }
    }

    /// The test's start time, once triggered.
    pub(super) fn started_at_ms(&self) -> Option<u64> {
        match self {
            Self::Created | Self::Configuring { .. } => None,
            Self::Running { started_at_ms, .. } => Some(*started_at_ms),
            Self::Ended { started_at_ms, .. } => *started_at_ms,
        }
    }

    /// Ends the test now with `outcome` (its report still to write).
    pub(super) fn end(&mut self, outcome: Outcome) {
        *self = Self::Ended {
            started_at_ms: self.started_at_ms(),
            ended_at_ms: now_ms(),
            outcome,
            written: Written::Pending,
        };
    }
}

/// How a test ended. Every outcome but a clean completion says why.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Every driver finished.
    Completed,
    /// Finished, but a driver died, lost messages or ended its run early.
    Degraded { reason: String },
    /// Stopped by a user.
    Aborted { reason: String },
    /// Could not run.
    Failed { reason: String },
    /// The orchestrator stopped while it ran.
    Interrupted { reason: String },
}

impl Outcome {
    fn status(&self) -> TestStatus {
        match self {
            Self::Completed => TestStatus::Completed,
            Self::Degraded { .. } => TestStatus::Degraded,
            Self::Aborted { .. } => TestStatus::Aborted,
            Self::Failed { .. } => TestStatus::Failed,
            Self::Interrupted { .. } => TestStatus::Interrupted,
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Self::Completed => None,
            Self::Degraded { reason }
            | Self::Aborted { reason }
            | Self::Failed { reason }
            | Self::Interrupted { reason } => Some(reason),
        }
    }
}

/// Whether an ended test's final report is on disk.
#[derive(Debug)]
pub(super) enum Written {
    /// Not yet.
    Pending,
    /// Written at this path.
    At(PathBuf),
    /// Could not be written, for this reason: the test is over all the same.
    Failed(String),
}

/// A test this orchestrator created.
#[derive(Debug)]
pub(super) struct LiveTest {
    pub(super) id: String,
    /// What the test runs (shown and written back in its request form).
    pub(super) plan: TestPlan,
    pub(super) phase: Phase,
    pub(super) created_at_ms: u64,
    /// The drivers chosen when it started (none before).
    pub(super) drivers: Vec<String>,
    pub(super) nodes: BTreeMap<String, NodeTotals>,
    /// All nodes merged, summed from `nodes` when first needed after a change (a view, the
    /// reports): adding every message into it too would double the merging work.
    pub(super) aggregate: OnceCell<Measured>,
    /// The aggregate per second, on the test's clock.
    pub(super) series: Series,
    /// Each node's own per second (requests, responses, latencies), on the test's clock, for
    /// node reports.
    pub(super) node_series: BTreeMap<String, Series>,
    /// `report_id`s already merged (de-duplication).
    pub(super) seen: HashSet<String>,
    /// Send time of the newest metrics message merged.
    pub(super) last_metrics_sent_at_ms: Option<u64>,
    /// The next second to export, of the aggregate (key `None`) and of each node.
    pub(super) exported: BTreeMap<Option<String>, u64>,
    /// The exact data of the last seconds, for windowed thresholds (none without).
    pub(super) recent: Option<Recent>,
    /// The thresholds as last judged (each second while running, and at the end).
    pub(super) thresholds: Vec<ThresholdResult>,
    /// Why a failed threshold stopped the test (`abort_on_fail`), once it did.
    pub(super) threshold_abort: Option<String>,
    /// Each change of its rate while it ran, in order of their instants.
    pub(super) load_changes: Vec<LoadChange>,
    /// Each takeover of dead drivers' share by the others, in order of their instants.
    pub(super) takeovers: Vec<Takeover>,
    /// The `ADJUST` and `TAKEOVER` triggers sent (unstamped), in order of their instants: sent
    /// again to a driver whose heartbeat shows it missed them (`State::lost_changes`).
    pub(super) change_triggers: Vec<onslaught_protocol::Trigger>,
    /// When changes were last sent again (ms since the Unix epoch).
    pub(super) changes_resent_at_ms: u64,
}

impl LiveTest {
    pub(super) fn new(id: &str, plan: TestPlan) -> Self {
        Self {
            id: id.to_owned(),
            phase: Phase::Created,
            created_at_ms: now_ms(),
            drivers: Vec::new(),
            nodes: BTreeMap::new(),
            aggregate: OnceCell::new(),
            series: Series::default(),
            node_series: BTreeMap::new(),
            seen: HashSet::new(),
            last_metrics_sent_at_ms: None,
            exported: BTreeMap::new(),
            recent: Recent::for_thresholds(&plan.thresholds),
            thresholds: Vec::new(),
            threshold_abort: None,
            load_changes: Vec::new(),
            takeovers: Vec::new(),
            change_triggers: Vec::new(),
            changes_resent_at_ms: 0,
            plan,
        }
    }

    /// Judges the test's thresholds on its merged data as it stands.
    pub(super) fn judge_thresholds(&mut self) {
        if self.plan.thresholds.is_empty() {
            return;
        }
        let accepted = self.plan.accepted();
        let aggregate = self.aggregate();
        let view = aggregate.stats().clone().judged(&accepted);
        self.thresholds = thresholds::evaluate(
            &self.plan.thresholds,
            aggregate.totals(),
            &view,
            self.recent.as_ref(),
            &accepted,
        );
    }

    /// With `abort_on_fail`, once its grace after the start is over: why the test must stop (a
    /// threshold failed on measured data), the first time only.
    pub(super) fn threshold_abort_due(&mut self, now_ms: u64) -> Option<String> {
        let grace = self.plan.abort_on_fail?;
        let Phase::Running { started_at_ms, .. } = self.phase else {
            return None;
        };
        let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        if self.threshold_abort.is_some() || now_ms < started_at_ms.saturating_add(grace_ms) {
            return None;
        }
        let failed = thresholds::any_failed_on_data(&self.thresholds)?;
        let reason = format!(
            "threshold `{}` failed (measured {}): stopped on every driver (abort_on_fail)",
            failed.expression,
            failed
                .value
                .map_or_else(|| "nothing".to_owned(), |v| format!("{v:.3}"))
        );
        self.threshold_abort = Some(reason.clone());
        Some(reason)
    }

    pub(super) fn view(&self) -> TestView {
        let accepted = self.plan.accepted();
        let mut view = self.view_without_stats();
        view.aggregate = self.aggregate().stats().clone().judged(&accepted);
        view.nodes = self
            .nodes
            .iter()
            .map(|(id, n)| {
                (
                    id.clone(),
                    n.measured.stats().judged_without_names(&accepted),
                )
            })
            .collect();
        view
    }

    /// All nodes merged.
    pub(super) fn aggregate(&self) -> &Measured {
        self.aggregate.get_or_init(|| {
            Measured::sum(self.nodes.values().map(|n| {
                let shift = shift_ms(n.start_offset_ms(self.phase.started_at_ms()));
                (&n.measured, shift)
            }))
        })
    }

    /// A warning for each node that started more than `max_start_skew_ms` after the test's
    /// start time.
    pub(super) fn warnings(&self) -> Vec<String> {
        let skew = u64::try_from(self.plan.max_start_skew.as_millis()).unwrap_or(u64::MAX);
        self.nodes
            .iter()
            .filter_map(|(id, n)| {
                let offset = n.start_offset_ms(self.phase.started_at_ms())?;
                (offset > i64::try_from(skew).unwrap_or(i64::MAX)).then(|| {
                    format!(
                        "driver {id} started {offset} ms after the test's start time \
                         (more than max_start_skew_ms {skew}); its seconds are shifted by as \
                         much in the series"
                    )
                })
            })
            .collect()
    }

    /// The view with empty statistics: everything that costs nothing to copy.
    pub(super) fn view_without_stats(&self) -> TestView {
        let (ended_at_ms, message, report_path, report_error) = match &self.phase {
            Phase::Ended {
                ended_at_ms,
                outcome,
                written,
                ..
            } => {
                let (path, error) = match written {
                    Written::Pending => (None, None),
                    Written::At(path) => (Some(path.display().to_string()), None),
                    Written::Failed(error) => (None, Some(error.clone())),
                };
                (
                    Some(*ended_at_ms),
                    outcome.reason().map(str::to_owned),
                    path,
                    error,
                )
            }
            _ => (None, None, None, None),
        };
        TestView {
            id: self.id.clone(),
            status: self.phase.status(),
            config: (&self.plan).into(),
            drivers: self.drivers.clone(),
            created_at_ms: self.created_at_ms,
            started_at_ms: self.phase.started_at_ms(),
            ended_at_ms,
            message,
            warnings: self.warnings(),
            aggregate: StatsView::default(),
            nodes: BTreeMap::new(),
            node_facts: self
                .nodes
                .iter()
                .map(|(id, n)| {
                    let facts = NodeFacts {
                        finished: n.finished,
                        lost: n.lost,
                        messages: n.received,
                        missing_messages: n.missing_messages(),
                        elapsed_ms: n.measured.elapsed_ms(),
                        started_at_ms: n.started_at_ms,
                        start_offset_ms: n.start_offset_ms(self.phase.started_at_ms()),
                        lost_at_ms: n.lost_at_ms,
                        stopped: n.stopped.clone(),
                        last_send_us: n.last_send_us,
                        last_response_us: n.last_response_us,
                    };
                    (id.clone(), facts)
                })
                .collect(),
            series: self.series.points(),
            thresholds: self.thresholds.clone(),
            aborted_by_threshold: self.threshold_abort.is_some(),
            load_changes: self.load_changes.clone(),
            takeovers: self.takeovers.clone(),
            report_path,
            report_error,
            last_metrics_sent_at_ms: self.last_metrics_sent_at_ms,
        }
    }

    /// Ends the test if it runs and every driver finished or was lost; returns whether it
    /// ended now.
    pub(super) fn complete_if_done(&mut self) -> bool {
        let Phase::Running { stop_requested, .. } = self.phase else {
            return false;
        };
        if !self.nodes.values().all(|n| n.finished || n.lost) {
            return false;
        }
        let lost: Vec<&str> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.lost)
            .map(|(id, _)| id.as_str())
            .collect();
        // Runs that ended early for another reason than this test's stop request.
        let cut_short: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|(id, n)| n.stopped.as_ref().map(|why| (id, why)))
            .filter(|_| !stop_requested)
            .map(|(id, why)| format!("{id} ({why})"))
            .collect();
        let missing: u64 = self.nodes.values().map(NodeTotals::missing_messages).sum();
        let mut news = Vec::new();
        if !lost.is_empty() {
            news.push(format!(
                "drivers lost before finishing (data up to their last message kept): {}",
                lost.join(", ")
            ));
        }
        for t in &self.takeovers {
            news.push(format!(
                "{} took over the share of {} from {:.1} s (about {} requests of it unmeasured \
                 since {:.1} s)",
                t.drivers.join(", "),
                t.lost.join(", "),
                t.offset_ms as f64 / 1000.0,
                t.unmeasured,
                t.gap_from_offset_ms as f64 / 1000.0
            ));
        }
        if missing > 0 {
            news.push(format!("{missing} metrics messages never arrived"));
        }
        if !cut_short.is_empty() {
            news.push(format!(
                "drivers ended their run early: {}",
                cut_short.join(", ")
            ));
        }
        if let Some(reason) = &self.threshold_abort {
            news.push(reason.clone());
        } else if stop_requested {
            news.push("stopped by request".to_owned());
        }
        let reason = news.join("; ");
        let outcome = if stop_requested {
            Outcome::Aborted { reason }
        } else if news.is_empty() {
            Outcome::Completed
        } else {
            Outcome::Degraded { reason }
        };
        self.phase.end(outcome);
        self.close_series();
        self.judge_thresholds();
        true
    }

    /// Closes every second of the aggregate and node series (the test is over).
    pub(super) fn close_series(&mut self) {
        self.series.close_all();
        for series in self.node_series.values_mut() {
            series.close_all();
        }
    }
}

impl State {
    /// The test could not run (it has not ended otherwise meanwhile).
    pub fn fail(&mut self, id: &str, reason: String) {
        if let Some(test) = self.live_mut(id)
            && !matches!(test.phase, Phase::Ended { .. })
        {
            tracing::warn!(test_id = id, "test failed: {reason}");
            test.phase.end(Outcome::Failed { reason });
        }
    }

    /// A stop was requested; returns whether drivers must be told (the test is configuring or
    /// running).
    pub fn request_stop(&mut self, id: &str) -> Result<bool, ControlError> {
        let test = self
            .test_mut(id)
            .ok_or_else(|| ControlError::NotFound(id.to_owned()))?;
        let status = test.status();
        match test.live_mut().map(|t| &mut t.phase) {
            Some(phase @ Phase::Created) => {
                phase.end(Outcome::Aborted {
                    reason: "stopped before it started".to_owned(),
                });
                Ok(false)
            }
            Some(Phase::Configuring { stop_requested } | Phase::Running { stop_requested, .. }) => {
                *stop_requested = true;
                Ok(true)
            }
            _ => Err(ControlError::Conflict(
                format!("test {id} is already {status:?}").to_lowercase(),
            )),
        }
    }

    /// Judges the thresholds of every running test; returns whether any was judged, and the
    /// tests a failed threshold must stop now (`abort_on_fail`, grace over).
    pub fn judge_thresholds(&mut self) -> (bool, Vec<String>) {
        let now = now_ms();
        let mut judged = false;
        let mut aborts = Vec::new();
        for test in self.tests.iter_mut().filter_map(Test::live_mut) {
            if !matches!(test.phase, Phase::Running { .. }) || test.plan.thresholds.is_empty() {
                continue;
            }
            test.judge_thresholds();
            judged = true;
            if test.threshold_abort_due(now).is_some() {
                aborts.push(test.id.clone());
            }
        }
        (judged, aborts)
    }

    /// Marks running tests interrupted (the orchestrator is stopping). Returns their ids.
    pub fn interrupt_running(&mut self) -> Vec<String> {
        let mut ids = Vec::new();
        for test in self.tests.iter_mut().filter_map(Test::live_mut) {
            if matches!(
                test.phase,
                Phase::Running { .. } | Phase::Configuring { .. }
            ) {
                test.phase.end(Outcome::Interrupted {
                    reason: "the orchestrator stopped while the test ran; what was measured is \
                             kept"
                        .to_owned(),
                });
                test.close_series();
                test.judge_thresholds();
                ids.push(test.id.clone());
            }
        }
        ids
    }

    /// The aggregate report is on disk at `path`.
    pub fn set_report_path(&mut self, id: &str, path: PathBuf) {
        self.set_written(id, Written::At(path));
    }

    /// The final report could not be written: the test is done without one.
    pub fn set_report_error(&mut self, id: &str, error: String) {
        self.set_written(id, Written::Failed(error));
    }

    fn set_written(&mut self, id: &str, report: Written) {
        if let Some(LiveTest {
            phase: Phase::Ended { written, .. },
            ..
        }) = self.live_mut(id)
        {
            *written = report;
        }
    }
}
