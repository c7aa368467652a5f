//! One test the orchestrator runs or ran: what it holds, how it ends, and its view.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use onslaught_protocol::now_ms;

use super::State;
use crate::error::ControlError;
use crate::request::TestRequest;
use crate::totals::{Measured, NodeTotals, Series, shift_ms};
use crate::views::{NodeFacts, StatsView, TestStatus, TestView};

/// A test the orchestrator runs or ran.
#[derive(Debug)]
pub(super) struct Test {
    pub(super) id: String,
    pub(super) request: TestRequest,
    pub(super) status: TestStatus,
    pub(super) created_at_ms: u64,
    pub(super) started_at_ms: Option<u64>,
    pub(super) ended_at_ms: Option<u64>,
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
    pub(super) message: Option<String>,
    pub(super) report_path: Option<PathBuf>,
    /// Why the final report could not be written: the test is over all the same.
    pub(super) report_error: Option<String>,
    /// `report_id`s already merged (de-duplication).
    pub(super) seen: HashSet<String>,
    pub(super) stop_requested: bool,
    /// Send time of the newest metrics message merged.
    pub(super) last_metrics_sent_at_ms: Option<u64>,
    /// A test loaded from a report written by an earlier run: shown as it was.
    pub(super) past: Option<Box<TestView>>,
    /// When the start trigger last went out (ms since the epoch).
    pub(super) triggered_at_ms: u64,
    /// Something changed since the last checkpoint of the test was taken.
    pub(super) checkpoint_due: bool,
}

impl Test {
    pub(super) fn new(id: &str, request: TestRequest) -> Self {
        Self {
            id: id.to_owned(),
            request,
            status: TestStatus::Created,
            created_at_ms: now_ms(),
            started_at_ms: None,
            ended_at_ms: None,
            drivers: Vec::new(),
            nodes: BTreeMap::new(),
            aggregate: OnceCell::new(),
            series: Series::default(),
            node_series: BTreeMap::new(),
            message: None,
            report_path: None,
            report_error: None,
            seen: HashSet::new(),
            stop_requested: false,
            last_metrics_sent_at_ms: None,
            past: None,
            triggered_at_ms: 0,
            checkpoint_due: false,
        }
    }

    pub(super) fn view(&self) -> TestView {
        if let Some(past) = &self.past {
            return (**past).clone();
        }
        let expect = self.request.expected_statuses();
        let mut view = self.view_without_stats();
        view.aggregate = self.aggregate().stats().clone().judged(&expect);
        view.nodes = self
            .nodes
            .iter()
            .map(|(id, n)| (id.clone(), n.measured.stats().clone().judged(&expect)))
            .collect();
        view
    }

    /// All nodes merged.
    pub(super) fn aggregate(&self) -> &Measured {
        self.aggregate.get_or_init(|| {
            Measured::sum(self.nodes.values().map(|n| {
                let shift = shift_ms(n.start_offset_ms(self.started_at_ms));
                (&n.measured, shift)
            }))
        })
    }

    /// A warning for each node that started more than `max_start_skew_ms` after the test's
    /// start time.
    pub(super) fn warnings(&self) -> Vec<String> {
        let skew = self.request.max_start_skew_ms;
        self.nodes
            .iter()
            .filter_map(|(id, n)| {
                let offset = n.start_offset_ms(self.started_at_ms)?;
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
        TestView {
            id: self.id.clone(),
            status: self.status,
            config: self.request.clone(),
            drivers: self.drivers.clone(),
            created_at_ms: self.created_at_ms,
            started_at_ms: self.started_at_ms,
            ended_at_ms: self.ended_at_ms,
            message: self.message.clone(),
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
                        start_offset_ms: n.start_offset_ms(self.started_at_ms),
                        lost_at_ms: n.lost_at_ms,
                        stopped: n.stopped.clone(),
                        last_send_us: n.last_send_us,
                        last_response_us: n.last_response_us,
                    };
                    (id.clone(), facts)
                })
                .collect(),
            series: self.series.points(),
            report_path: self.report_path.as_ref().map(|p| p.display().to_string()),
            report_error: self.report_error.clone(),
            last_metrics_sent_at_ms: self.last_metrics_sent_at_ms,
        }
    }

    /// Ends the test if every driver finished or was lost; returns whether it ended now.
    pub(super) fn complete_if_done(&mut self) -> bool {
        if self.status != TestStatus::Running {
            return false;
        }
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
            .filter(|_| !self.stop_requested)
            .map(|(id, why)| format!("{id} ({why})"))
            .collect();
        let missing: u64 = self.nodes.values().map(NodeTotals::missing_messages).sum();
        self.status = if self.stop_requested {
            TestStatus::Aborted
        } else if !lost.is_empty() || missing > 0 || !cut_short.is_empty() {
            TestStatus::Degraded
        } else {
            TestStatus::Completed
        };
        let mut news = Vec::new();
        if !lost.is_empty() {
            news.push(format!(
                "drivers lost before finishing (data up to their last message kept): {}",
                lost.join(", ")
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
        if self.stop_requested {
            news.push("stopped by request".to_owned());
        }
        if !news.is_empty() {
            self.message = Some(news.join("; "));
        }
        self.ended_at_ms = Some(now_ms());
        self.close_series();
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
    /// The test could not run.
    pub fn fail(&mut self, id: &str, reason: String) {
        if let Some(test) = self.test_mut(id) {
            tracing::warn!(test_id = id, "test failed: {reason}");
            test.status = TestStatus::Failed;
            test.message = Some(reason);
            test.ended_at_ms = Some(now_ms());
        }
    }

    /// A stop was requested; returns whether drivers must be told (the test is configuring or
    /// running).
    pub fn request_stop(&mut self, id: &str) -> Result<bool, ControlError> {
        let test = self
            .test_mut(id)
            .ok_or_else(|| ControlError::NotFound(id.to_owned()))?;
        match test.status {
            TestStatus::Created => {
                test.status = TestStatus::Aborted;
                test.ended_at_ms = Some(now_ms());
                test.message = Some("stopped before it started".to_owned());
                Ok(false)
            }
            TestStatus::Configuring | TestStatus::Running => {
                test.stop_requested = true;
                Ok(true)
            }
            other => Err(ControlError::Conflict(
                format!("test {id} is already {other:?}").to_lowercase(),
            )),
        }
    }

    /// Marks running tests interrupted (the orchestrator is stopping). Returns their ids.
    pub fn interrupt_running(&mut self) -> Vec<String> {
        let mut ids = Vec::new();
        for test in &mut self.tests {
            if matches!(test.status, TestStatus::Running | TestStatus::Configuring) {
                test.status = TestStatus::Interrupted;
                test.message = Some(
                    "the orchestrator stopped while the test ran; what was measured is kept"
                        .to_owned(),
                );
                test.ended_at_ms = Some(now_ms());
                test.close_series();
                ids.push(test.id.clone());
            }
        }
        ids
    }
}
