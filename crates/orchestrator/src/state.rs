//! The orchestrator's memory: drivers it has heard of, tests it knows, and how each incoming
//! message changes them. Everything here is synchronous and guarded by one lock in `lib.rs`.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use onslaught_protocol::{
    Heartbeat, HeartbeatState, Metrics, NodeState, Register, TestConfig, now_ms,
};

use crate::report::{NodeParts, NodeReport, ReportParts, TestReport};
use crate::totals::{IntervalData, Measured, NodeTotals, Series, shift_ms};
use crate::views::{Liveness, NodeFacts, NodeView, StatsView, TestStatus, TestView};
use crate::{ControlError, OrchestratorConfig, OrchestratorStats, TestRequest};

/// A driver as the orchestrator knows it.
#[derive(Debug)]
pub struct Node {
    node_id: String,
    address: String,
    registered_at_ms: u64,
    last_heartbeat_ms: u64,
    /// Local monotonic time of the last message from the node (liveness ignores clock skew).
    last_seen: Instant,
    state: HeartbeatState,
    requests_sent: u64,
    /// The driver's own counters from its heartbeat (refused messages and the like).
    counters: BTreeMap<String, u64>,
    /// Its liveness when last checked, so that only a change is news.
    liveness_seen: Liveness,
}

impl Node {
    fn new(node_id: &str) -> Self {
        Self {
            node_id: node_id.to_owned(),
            address: String::from("unknown"),
            registered_at_ms: now_ms(),
            last_heartbeat_ms: now_ms(),
            last_seen: Instant::now(),
            state: HeartbeatState::idle(),
            requests_sent: 0,
            counters: BTreeMap::new(),
            liveness_seen: Liveness::Alive,
        }
    }

    fn liveness(&self, config: &OrchestratorConfig) -> Liveness {
        let silent = self.last_seen.elapsed();
        if silent >= config.dead_after {
            Liveness::Dead
        } else if silent >= config.missing_after {
            Liveness::Missing
        } else {
            Liveness::Alive
        }
    }

    fn is_busy(&self) -> bool {
        matches!(self.state.state, NodeState::Configured | NodeState::Running)
    }
}

/// Why a test cannot have the drivers it asks for now (an answer of 409 in the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DriverShortage {
    /// No driver is alive.
    #[error("no live drivers are available to run the test")]
    NoneLive,
    /// Every live driver runs another test.
    #[error("no driver is free: all {busy} live driver(s) are busy with another test")]
    AllBusy {
        /// Live drivers busy with another test.
        busy: usize,
    },
    /// Fewer live idle drivers than the test asks for.
    #[error(
        "the test asks for {wanted} drivers but {idle} are live and idle ({busy} busy with another test)"
    )]
    TooFew {
        /// Drivers the test asks for.
        wanted: usize,
        /// Live drivers free to run it.
        idle: usize,
        /// Live drivers busy with another test.
        busy: usize,
    },
}

/// A test the orchestrator runs or ran.
#[derive(Debug)]
struct Test {
    id: String,
    request: TestRequest,
    status: TestStatus,
    created_at_ms: u64,
    started_at_ms: Option<u64>,
    ended_at_ms: Option<u64>,
    drivers: Vec<String>,
    nodes: BTreeMap<String, NodeTotals>,
    /// All nodes merged, summed from `nodes` when first needed after a change (a view, the
    /// reports): adding every message into it too would double the merging work.
    aggregate: OnceCell<Measured>,
    /// The aggregate per second, on the test's clock.
    series: Series,
    /// Each node's own per second (requests, responses, latencies), on the test's clock, for
    /// node reports.
    node_series: BTreeMap<String, Series>,
    message: Option<String>,
    report_path: Option<PathBuf>,
    /// Why the final report could not be written: the test is over all the same.
    report_error: Option<String>,
    /// `report_id`s already merged (de-duplication).
    seen: HashSet<String>,
    stop_requested: bool,
    /// Send time of the newest metrics message merged.
    last_metrics_sent_at_ms: Option<u64>,
    /// A test loaded from a report written by an earlier run: shown as it was.
    past: Option<Box<TestView>>,
    /// When the start trigger last went out (ms since the epoch).
    triggered_at_ms: u64,
    /// Something changed since the last checkpoint of the test was taken.
    checkpoint_due: bool,
}

impl Test {
    fn new(id: &str, request: TestRequest) -> Self {
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

    fn view(&self) -> TestView {
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
    fn aggregate(&self) -> &Measured {
        self.aggregate.get_or_init(|| {
            Measured::sum(self.nodes.values().map(|n| {
                let shift = shift_ms(n.start_offset_ms(self.started_at_ms));
                (&n.measured, shift)
            }))
        })
    }

    /// A warning for each node that started more than `max_start_skew_ms` after the test's
    /// start time.
    fn warnings(&self) -> Vec<String> {
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
    fn view_without_stats(&self) -> TestView {
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
    fn complete_if_done(&mut self) -> bool {
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
    fn close_series(&mut self) {
        self.series.close_all();
        for series in self.node_series.values_mut() {
            series.close_all();
        }
    }
}

/// What the acknowledgements of a test's config look like.
#[derive(Debug, PartialEq)]
pub enum Acks {
    /// Every chosen driver holds the config.
    All,
    /// A driver refused it.
    Rejected(String),
    /// These drivers have not answered yet.
    Waiting(Vec<String>),
}

/// Nodes and tests.
#[derive(Debug, Default)]
pub struct State {
    nodes: BTreeMap<String, Node>,
    tests: Vec<Test>,
    index: HashMap<String, usize>,
}

impl State {
    /// A state that shows `history` (reports of earlier runs) as past tests.
    pub fn with_history(history: Vec<TestReport>) -> Self {
        let mut state = Self::default();
        for report in history {
            let mut view = report.test;
            if !view.status.is_final() {
                view.status = TestStatus::Interrupted;
            }
            let mut test = Test::new(&view.id, view.config.clone());
            test.status = view.status;
            test.created_at_ms = view.created_at_ms;
            test.report_path = view.report_path.as_ref().map(PathBuf::from);
            test.past = Some(Box::new(view));
            state.push(test);
        }
        state
    }

    fn push(&mut self, test: Test) {
        self.index.insert(test.id.clone(), self.tests.len());
        self.tests.push(test);
    }

    fn test_mut(&mut self, id: &str) -> Option<&mut Test> {
        let i = *self.index.get(id)?;
        self.tests.get_mut(i)
    }

    fn test(&self, id: &str) -> Option<&Test> {
        self.tests.get(*self.index.get(id)?)
    }

    /// A driver registered. Returns true when another live node already uses this id from a
    /// different address (the registration is then ignored).
    pub fn register(&mut self, register: &Register, config: &OrchestratorConfig) -> bool {
        let node = self
            .nodes
            .entry(register.node_id.clone())
            .or_insert_with(|| {
                tracing::info!(
                    node_id = register.node_id,
                    address = register.node_ip,
                    "driver registered"
                );
                Node::new(&register.node_id)
            });
        let known = node.address != "unknown" && node.address != register.node_ip;
        if known && node.liveness(config) == Liveness::Alive {
            tracing::warn!(
                node_id = register.node_id,
                address = register.node_ip,
                existing = node.address,
                "duplicate node id: a live driver already uses it; ignoring this registration"
            );
            return true;
        }
        node.address.clone_from(&register.node_ip);
        node.last_seen = Instant::now();
        false
    }

    /// A driver's heartbeat.
    pub fn heartbeat(&mut self, heartbeat: &Heartbeat) {
        let node = self
            .nodes
            .entry(heartbeat.node_id.clone())
            .or_insert_with(|| Node::new(&heartbeat.node_id));
        node.last_seen = Instant::now();
        node.last_heartbeat_ms = heartbeat.timestamp.parse().unwrap_or_else(|_| now_ms());
        node.state = heartbeat.state.clone();
        node.requests_sent = heartbeat.info.get("requests_sent").copied().unwrap_or(0);
        node.counters = heartbeat
            .info
            .iter()
            .filter(|(k, _)| k.as_str() != "requests_sent")
            .map(|(k, v)| (k.clone(), *v))
            .collect();
    }

    /// Merges a metrics message. Returns the id of a test that just completed, or why the
    /// message was skipped.
    pub fn metrics(
        &mut self,
        m: &Metrics,
        data: &IntervalData,
        stats: &OrchestratorStats,
    ) -> Result<Option<String>, &'static str> {
        if let Some(node) = self.nodes.get_mut(&m.node_id) {
            node.last_seen = Instant::now();
        }
        let test = self.test_mut(&m.test_id).ok_or("unknown_test")?;
        if test.status != TestStatus::Running {
            return Err("test_not_running");
        }
        if !test.seen.insert(m.report_id.clone()) {
            stats
                .duplicates
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err("duplicate");
        }
        let Some(node) = test.nodes.get_mut(&m.node_id) else {
            return Err("unknown_node");
        };
        stats
            .metrics_messages
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        node.add(data, m.seq, m.interval_end_ms);
        if node.started_at_ms.is_none() {
            node.started_at_ms = m.started_at_ms;
        }
        // Every node's intervals go on the test's clock: a node that started late counts in
        // later seconds.
        let shift = shift_ms(node.start_offset_ms(test.started_at_ms));
        let (start_ms, end_ms) = (
            m.interval_start_ms.saturating_add(shift),
            m.interval_end_ms.saturating_add(shift),
        );
        if m.is_final {
            node.finished = true;
            node.stopped.clone_from(&m.stopped);
            node.last_send_us = m.last_send_us;
            node.last_response_us = m.last_response_us;
        }
        test.aggregate = OnceCell::new();
        test.checkpoint_due = true;
        if m.sent_at_ms > 0 {
            test.last_metrics_sent_at_ms = test.last_metrics_sent_at_ms.max(Some(m.sent_at_ms));
        }
        test.series.add(&m.node_id, start_ms, end_ms, data);
        test.node_series
            .entry(m.node_id.clone())
            .or_insert_with(Series::node)
            .add(&m.node_id, start_ms, end_ms, data);
        Ok(test.complete_if_done().then(|| test.id.clone()))
    }

    /// Marks drivers dead past the threshold as lost in their running tests. Returns the tests
    /// that completed because of it, and whether anything users see changed (a driver's
    /// liveness, a driver lost).
    pub fn check_liveness(&mut self, config: &OrchestratorConfig) -> (Vec<String>, bool) {
        let mut changed = false;
        for node in self.nodes.values_mut() {
            let liveness = node.liveness(config);
            if liveness != node.liveness_seen {
                node.liveness_seen = liveness;
                changed = true;
            }
        }
        let dead: HashSet<&str> = self
            .nodes
            .values()
            .filter(|n| n.liveness_seen == Liveness::Dead)
            .map(|n| n.node_id.as_str())
            .collect();
        let mut done = Vec::new();
        for test in self
            .tests
            .iter_mut()
            .filter(|t| t.status == TestStatus::Running)
        {
            for (id, node) in test.nodes.iter_mut() {
                if !node.finished && !node.lost && dead.contains(id.as_str()) {
                    tracing::warn!(
                        test_id = test.id,
                        node_id = id,
                        "driver declared dead during the test"
                    );
                    node.lost = true;
                    node.lost_at_ms = Some(now_ms());
                    test.checkpoint_due = true;
                    changed = true;
                }
            }
            if test.complete_if_done() {
                done.push(test.id.clone());
            }
        }
        (done, changed)
    }

    /// Records a new test.
    pub fn create(&mut self, id: &str, request: TestRequest) {
        self.push(Test::new(id, request));
    }

    /// Drivers that are alive and not busy with another test, in id order.
    pub fn available_drivers(&self, config: &OrchestratorConfig) -> Vec<String> {
        self.nodes
            .values()
            .filter(|n| n.liveness(config) == Liveness::Alive && !n.is_busy())
            .map(|n| n.node_id.clone())
            .collect()
    }

    /// Why a test asking for `wanted` drivers (all live ones when `None`) cannot start now, if
    /// it cannot: the one rule for "enough drivers", used when a test is created to start and
    /// when it starts.
    pub fn driver_shortage(
        &self,
        wanted: Option<u32>,
        config: &OrchestratorConfig,
    ) -> Option<DriverShortage> {
        let live: Vec<&Node> = self
            .nodes
            .values()
            .filter(|n| n.liveness(config) == Liveness::Alive)
            .collect();
        let busy = live.iter().filter(|n| n.is_busy()).count();
        let idle = live.len() - busy;
        let wanted = wanted.map_or(1, |n| n as usize);
        if live.is_empty() {
            Some(DriverShortage::NoneLive)
        } else if idle == 0 {
            Some(DriverShortage::AllBusy { busy })
        } else if wanted > idle {
            Some(DriverShortage::TooFew { wanted, idle, busy })
        } else {
            None
        }
    }

    /// Picks drivers for the test and returns the config to publish.
    pub fn begin_configuring(
        &mut self,
        id: &str,
        config: &OrchestratorConfig,
    ) -> Result<TestConfig, ControlError> {
        let available = self.available_drivers(config);
        let wanted = self.test(id).and_then(|t| t.request.drivers);
        let shortage = self.driver_shortage(wanted, config);
        let test = self
            .test_mut(id)
            .ok_or_else(|| ControlError::NotFound(id.to_owned()))?;
        if test.status != TestStatus::Created {
            return Err(ControlError::Conflict(
                format!("test {id} is already {:?}", test.status).to_lowercase(),
            ));
        }
        if let Some(shortage) = shortage {
            return Err(shortage.into());
        }
        let wanted = test.request.drivers.map_or(available.len(), |n| n as usize);
        let drivers: Vec<String> = available.into_iter().take(wanted).collect();
        let wire = test.request.to_config(id, drivers.clone())?;
        test.nodes = drivers
            .iter()
            .map(|d| (d.clone(), NodeTotals::default()))
            .collect();
        test.drivers = drivers;
        test.status = TestStatus::Configuring;
        Ok(wire)
    }

    /// Where the acknowledgements stand.
    pub fn acks(&self, id: &str) -> Acks {
        let Some(test) = self.test(id) else {
            return Acks::Rejected(format!("test {id} vanished"));
        };
        if test.stop_requested {
            return Acks::Rejected("stopped before it started".to_owned());
        }
        let mut waiting = Vec::new();
        for driver in &test.drivers {
            let state = self.nodes.get(driver).map(|n| &n.state);
            match state {
                Some(s) if s.test_id.as_deref() == Some(id) && s.state == NodeState::Rejected => {
                    let reason = s.reason.clone().unwrap_or_default();
                    return Acks::Rejected(format!("driver {driver} rejected the test: {reason}"));
                }
                Some(s) if s.test_id.as_deref() == Some(id) => {}
                _ => waiting.push(driver.clone()),
            }
        }
        if waiting.is_empty() {
            Acks::All
        } else {
            Acks::Waiting(waiting)
        }
    }

    /// The test could not run.
    pub fn fail(&mut self, id: &str, reason: String) {
        if let Some(test) = self.test_mut(id) {
            tracing::warn!(test_id = id, "test failed: {reason}");
            test.status = TestStatus::Failed;
            test.message = Some(reason);
            test.ended_at_ms = Some(now_ms());
        }
    }

    /// The trigger is going out.
    pub fn set_running(&mut self, id: &str, start_at_ms: u64) {
        if let Some(test) = self.test_mut(id) {
            test.status = TestStatus::Running;
            test.started_at_ms = Some(start_at_ms);
            test.triggered_at_ms = now_ms();
            test.checkpoint_due = true;
        }
    }

    /// Running tests whose start trigger some driver never got: the driver still reports the
    /// test as configured in a heartbeat sent more than `after_ms` after the trigger went out
    /// (a driver answers a trigger with a heartbeat at once). Returns each such test's id and
    /// start time, and counts the trigger as sent again now.
    pub fn lost_triggers(&mut self, after_ms: u64) -> Vec<(String, u64)> {
        let now = now_ms();
        let nodes = &self.nodes;
        let mut lost = Vec::new();
        for test in self.tests.iter_mut().filter(|t| {
            t.status == TestStatus::Running && !t.stop_requested && t.triggered_at_ms > 0
        }) {
            let Some(start_at_ms) = test.started_at_ms else {
                continue;
            };
            let due = test.triggered_at_ms.saturating_add(after_ms);
            let waiting = test.nodes.iter().any(|(id, totals)| {
                !totals.finished
                    && !totals.lost
                    && nodes.get(id).is_some_and(|n| {
                        n.state.state == NodeState::Configured
                            && n.state.test_id.as_deref() == Some(test.id.as_str())
                            && n.last_heartbeat_ms > due
                    })
            });
            if waiting && now > due {
                test.triggered_at_ms = now;
                lost.push((test.id.clone(), start_at_ms));
            }
        }
        lost
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

    /// The reports of a test.
    pub fn reports(&self, id: &str) -> Option<(TestReport, Vec<NodeReport>)> {
        self.report_parts(id).map(ReportParts::build)
    }

    /// What the reports of a test are made of, to build elsewhere (not for a past test).
    pub fn report_parts(&self, id: &str) -> Option<ReportParts> {
        let test = self.test(id)?;
        if test.past.is_some() {
            return None;
        }
        let mut view = test.view_without_stats();
        let nodes = test
            .nodes
            .iter()
            .map(|(node_id, n)| NodeParts {
                node_id: node_id.clone(),
                measured: n.measured.clone(),
                facts: view.node_facts.remove(node_id).unwrap_or_default(),
                series: test
                    .node_series
                    .get(node_id)
                    .map(Series::points)
                    .unwrap_or_default(),
            })
            .collect();
        Some(ReportParts {
            test: view,
            aggregate: test.aggregate.get().cloned(),
            nodes,
        })
    }

    /// The parts of the reports of every running test that changed since its last checkpoint
    /// (the first checkpoint of a test is due when it starts running).
    pub fn checkpoint_parts(&mut self) -> Vec<ReportParts> {
        let due: Vec<String> = self
            .tests
            .iter_mut()
            .filter(|t| t.status == TestStatus::Running && t.past.is_none() && t.checkpoint_due)
            .map(|t| {
                t.checkpoint_due = false;
                t.id.clone()
            })
            .collect();
        due.iter().filter_map(|id| self.report_parts(id)).collect()
    }

    /// The aggregate report is on disk at `path`.
    pub fn set_report_path(&mut self, id: &str, path: PathBuf) {
        if let Some(test) = self.test_mut(id) {
            test.report_path = Some(path);
        }
    }

    /// The final report could not be written: the test is done without one.
    pub fn set_report_error(&mut self, id: &str, error: String) {
        if let Some(test) = self.test_mut(id) {
            test.report_error = Some(error);
        }
    }

    /// Where a test's report is.
    pub fn report_path(&self, id: &str) -> Option<PathBuf> {
        self.test(id)?.report_path.clone()
    }

    /// Whether a test is over with its reports written, or their writing failed (or the test
    /// failed before it ran): what a waiter needs, without building the test's view. `None` for
    /// an unknown test.
    pub fn is_done(&self, id: &str) -> Option<bool> {
        self.test(id).map(|t| {
            let status = t.past.as_ref().map_or(t.status, |p| p.status);
            status.is_final()
                && (t.report_path.is_some()
                    || t.report_error.is_some()
                    || status == TestStatus::Failed)
        })
    }

    /// One test's view.
    pub fn view(&self, id: &str, _config: &OrchestratorConfig) -> Option<TestView> {
        self.test(id).map(Test::view)
    }

    /// Tests newest first, paged, and the total.
    pub fn views(
        &self,
        offset: usize,
        limit: usize,
        _config: &OrchestratorConfig,
    ) -> (Vec<TestView>, usize) {
        let views = self
            .tests
            .iter()
            .rev()
            .skip(offset)
            .take(limit)
            .map(Test::view)
            .collect();
        (views, self.tests.len())
    }

    /// Every known driver.
    pub fn node_views(&self, config: &OrchestratorConfig) -> Vec<NodeView> {
        self.nodes
            .values()
            .map(|n| NodeView {
                node_id: n.node_id.clone(),
                address: n.address.clone(),
                state: n.state.state,
                test_id: n.state.test_id.clone(),
                liveness: n.liveness(config),
                last_heartbeat_ms: n.last_heartbeat_ms,
                registered_at_ms: n.registered_at_ms,
                requests_sent: n.requests_sent,
                reason: n.state.reason.clone(),
                counters: n.counters.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use onslaught_protocol::Role;

    use super::*;

    fn beat(state: &mut State, node: &str, node_state: NodeState, test_id: &str, at_ms: u64) {
        let mut heartbeat = Heartbeat::new(node, Role::Driver, HeartbeatState::idle());
        if node_state != NodeState::Idle {
            heartbeat.state = HeartbeatState::for_test(node_state, test_id);
        }
        heartbeat.timestamp = at_ms.to_string();
        state.heartbeat(&heartbeat);
    }

    /// A running test with two drivers, triggered `ago_ms` ago.
    fn running(ago_ms: u64) -> State {
        let config = OrchestratorConfig::new(std::env::temp_dir());
        let mut state = State::default();
        for node in ["d1", "d2"] {
            beat(&mut state, node, NodeState::Idle, "", now_ms());
        }
        let mut request = TestRequest::new("avalanche", "http://127.0.0.1:1/");
        request.requests_per_driver = Some(10);
        state.create("t", request);
        state.begin_configuring("t", &config).unwrap();
        state.set_running("t", now_ms());
        state.test_mut("t").unwrap().triggered_at_ms = now_ms() - ago_ms;
        state
    }

    /// One rule for "enough drivers", typed: none live, all busy, or fewer idle than asked.
    #[test]
    fn a_driver_shortage_names_what_is_wanted_live_and_busy() {
        let config = OrchestratorConfig::new(std::env::temp_dir());
        let mut state = State::default();
        assert_eq!(
            state.driver_shortage(None, &config),
            Some(DriverShortage::NoneLive)
        );
        beat(&mut state, "d1", NodeState::Running, "t0", now_ms());
        assert_eq!(
            state.driver_shortage(None, &config),
            Some(DriverShortage::AllBusy { busy: 1 })
        );
        beat(&mut state, "d2", NodeState::Idle, "", now_ms());
        beat(&mut state, "d3", NodeState::Finished, "t0", now_ms());
        assert_eq!(state.driver_shortage(Some(2), &config), None);
        let shortage = state.driver_shortage(Some(3), &config);
        assert_eq!(
            shortage,
            Some(DriverShortage::TooFew {
                wanted: 3,
                idle: 2,
                busy: 1
            })
        );
        let mut request = TestRequest::new("avalanche", "http://127.0.0.1:1/");
        request.requests_per_driver = Some(10);
        request.drivers = Some(3);
        state.create("t", request);
        let error = state.begin_configuring("t", &config).unwrap_err();
        assert!(matches!(error, ControlError::Drivers(s) if Some(s) == shortage));
        assert_eq!(
            error.to_string(),
            "the test asks for 3 drivers but 2 are live and idle (1 busy with another test)"
        );
    }

    /// An interval of `requests` requests at 1 ms from `node`, message number `seq`.
    fn merge(state: &mut State, node: &str, seq: u64, requests: u64) -> Option<String> {
        let mut latency = onslaught_stats::Histogram::new();
        latency.record_micros(1_000);
        let mut counters = onslaught_stats::Counters::default();
        counters.requests_sent = requests;
        let data = IntervalData {
            service: latency.clone(),
            latency,
            send_gaps: None,
            send_lag: None,
            counters,
        };
        let m: Metrics = serde_json::from_value(serde_json::json!({
            "node_id": node, "test_id": "t", "report_id": format!("t:{node}:{seq}"), "seq": seq,
            "interval_start_ms": (seq - 1) * 1000, "interval_end_ms": seq * 1000,
            "metrics": onslaught_protocol::LatencyMetrics::default(), "histogram": "", "service_histogram": "", "counters": {
                "requests_sent": requests, "responses_received": 0 }
        }))
        .unwrap();
        state
            .metrics(&m, &data, &OrchestratorStats::default())
            .unwrap()
    }

    /// A test whose report could not be written is over all the same (waiters used to wait for
    /// a report path forever), and its view says why there is no report.
    #[test]
    fn a_test_is_done_when_its_report_cannot_be_written() {
        let mut state = running(0);
        assert_eq!(state.is_done("t"), Some(false));
        state.interrupt_running();
        assert_eq!(state.is_done("t"), Some(false));
        state.set_report_error("t", "cannot write the report into afile".to_owned());
        assert_eq!(state.is_done("t"), Some(true));
        let view = state.view("t", &OrchestratorConfig::new(".")).unwrap();
        assert_eq!(
            view.report_error.as_deref(),
            Some("cannot write the report into afile")
        );
        assert_eq!(view.report_path, None);
    }

    /// One 500 ms interval of `requests` requests, each answered in 1 ms, from `node`, whose run
    /// started at `started_at_ms`.
    fn merge_half_second(
        state: &mut State,
        node: &str,
        seq: u64,
        requests: u64,
        started_at_ms: u64,
        last: bool,
    ) {
        let mut latency = onslaught_stats::Histogram::new();
        for _ in 0..requests {
            latency.record_micros(1_000);
        }
        let mut counters = onslaught_stats::Counters::default();
        counters.requests_attempted = requests;
        counters.requests_sent = requests;
        counters.responses_received = requests;
        let data = IntervalData {
            service: latency.clone(),
            latency,
            send_gaps: None,
            send_lag: None,
            counters,
        };
        let m: Metrics = serde_json::from_value(serde_json::json!({
            "node_id": node, "test_id": "t", "report_id": format!("t:{node}:{seq}"), "seq": seq,
            "final": last, "started_at_ms": started_at_ms,
            "interval_start_ms": (seq - 1) * 500, "interval_end_ms": seq * 500,
            "metrics": onslaught_protocol::LatencyMetrics::default(), "histogram": "", "service_histogram": "", "counters": {
                "requests_sent": requests, "responses_received": requests }
        }))
        .unwrap();
        state
            .metrics(&m, &data, &OrchestratorStats::default())
            .unwrap();
    }

    /// Issue 9: each driver's series used to be aligned to its own start, so a driver that
    /// started a second late looked on time (the target saw 1,000/s then 500/s; the reports said
    /// 1,500/s twice). Every series is now on the test's clock, the offset is shown, a start later
    /// than `max_start_skew_ms` is a warning, and node series carry responses and latencies.
    #[test]
    fn a_late_driver_shows_late_in_the_series_the_facts_and_the_warnings() {
        let config = OrchestratorConfig::new(std::env::temp_dir());
        let mut state = running(0);
        let start = state.test("t").unwrap().started_at_ms.unwrap();
        for seq in 1..=4 {
            merge_half_second(&mut state, "d1", seq, 250, start + 4, seq == 4);
            merge_half_second(&mut state, "d2", seq, 250, start + 1_000, seq == 4);
        }
        let view = state.view("t", &config).unwrap();
        assert_eq!(view.status, TestStatus::Completed);
        let per_second: Vec<(u64, u64, Option<&u64>, Option<&u64>)> = view
            .series
            .iter()
            .map(|p| (p.second, p.requests, p.nodes.get("d1"), p.nodes.get("d2")))
            .collect();
        assert_eq!(
            per_second,
            vec![
                (0, 500, Some(&500), None),
                (1, 1_000, Some(&500), Some(&500)),
                (2, 500, None, Some(&500)),
            ]
        );
        assert_eq!(view.node_facts["d1"].start_offset_ms, Some(4));
        assert_eq!(view.node_facts["d2"].start_offset_ms, Some(1_000));
        assert_eq!(view.node_facts["d2"].started_at_ms, Some(start + 1_000));
        assert_eq!(view.warnings.len(), 1, "{:?}", view.warnings);
        assert!(
            view.warnings[0].contains("driver d2 started 1000 ms after"),
            "{:?}",
            view.warnings
        );
        // The aggregate's rate spans the test's clock: 2,000 requests over 3 s.
        assert!(
            (view.aggregate.rps - 2_000.0 / 3.0).abs() < 0.01,
            "{}",
            view.aggregate.rps
        );
        // Node series: the node's own responses and latencies, on the test's clock.
        let (_, nodes) = state.reports("t").unwrap();
        let d2 = nodes.iter().find(|n| n.node_id == "d2").unwrap();
        let seconds: Vec<(u64, u64, u64, Option<f64>)> = d2
            .series
            .iter()
            .map(|p| (p.second, p.requests, p.responses, p.p50))
            .collect();
        assert_eq!(
            seconds,
            vec![(1, 500, 500, Some(1.0)), (2, 500, 500, Some(1.0))]
        );
        // A wider allowance: no warning.
        state.test_mut("t").unwrap().request.max_start_skew_ms = 1_000;
        assert!(state.view("t", &config).unwrap().warnings.is_empty());
    }

    /// No latency without responses: the JSON view says `null`, not 0.
    #[test]
    fn latencies_without_responses_are_null_in_json() {
        let config = OrchestratorConfig::new(std::env::temp_dir());
        let mut state = running(0);
        merge(&mut state, "d1", 1, 0);
        let view = state.view("t", &config).unwrap();
        let json = serde_json::to_value(&view).unwrap();
        assert!(
            json["nodes"]["d2"]["latency"].is_null(),
            "{}",
            json["nodes"]["d2"]
        );
        assert!(json["nodes"]["d2"]["service_time"].is_null());
        let back: TestView = serde_json::from_value(json).unwrap();
        assert_eq!(back.nodes["d2"].latency.count, 0);
        let mut point = crate::views::SeriesPoint::default();
        point.requests = 3;
        assert!(serde_json::to_value(&point).unwrap()["p99"].is_null());
    }

    #[test]
    fn only_tests_that_changed_are_checkpointed() {
        let mut state = running(0);
        // Due once it runs, so a restart finds it even before any metrics.
        assert_eq!(state.checkpoint_parts().len(), 1);
        assert!(state.checkpoint_parts().is_empty());
        merge(&mut state, "d1", 1, 7);
        let parts = state.checkpoint_parts();
        assert_eq!(parts.len(), 1);
        let (report, nodes) = parts.into_iter().next().unwrap().build();
        assert_eq!(report.test.status, TestStatus::Running);
        assert_eq!(report.test.aggregate.requests_sent, 7);
        assert_eq!(report.test.nodes["d1"].requests_sent, 7);
        assert_eq!(report.test.node_facts["d1"].messages, 1);
        assert_eq!(nodes.len(), 2);
        assert!(state.checkpoint_parts().is_empty());
        // The view agrees with the report and sees the next change.
        merge(&mut state, "d2", 1, 5);
        let view = state.view("t", &OrchestratorConfig::new(".")).unwrap();
        assert_eq!(view.aggregate.requests_sent, 12);
        assert_eq!(view.aggregate.latency.count, 2);
        assert_eq!(view.aggregate.service_time.count, 2);
        assert_eq!(view.aggregate.rps, 12.0);
        assert_eq!(view.nodes["d1"], report.test.nodes["d1"]);
        assert_eq!(view.nodes["d2"].requests_sent, 5);
        assert_eq!(state.checkpoint_parts().len(), 1);
    }

    #[test]
    fn liveness_is_news_only_when_it_changes() {
        let config = OrchestratorConfig::new(std::env::temp_dir());
        let mut state = running(0);
        state.checkpoint_parts();
        assert_eq!(state.check_liveness(&config), (Vec::new(), false));
        let silent_for = |d: std::time::Duration| Instant::now().checked_sub(d).unwrap();
        // d2 goes missing: news once, and nothing to checkpoint.
        state.nodes.get_mut("d2").unwrap().last_seen = silent_for(config.missing_after);
        assert_eq!(state.check_liveness(&config), (Vec::new(), true));
        assert_eq!(state.check_liveness(&config), (Vec::new(), false));
        assert!(state.checkpoint_parts().is_empty());
        // d2 is dead: lost in the running test, which must be checkpointed.
        state.nodes.get_mut("d2").unwrap().last_seen = silent_for(config.dead_after);
        assert_eq!(state.check_liveness(&config), (Vec::new(), true));
        assert!(state.test("t").unwrap().nodes["d2"].lost);
        assert_eq!(state.checkpoint_parts().len(), 1);
        assert_eq!(state.check_liveness(&config), (Vec::new(), false));
    }

    #[test]
    fn a_driver_still_configured_after_the_trigger_gets_it_again_once_per_wait() {
        let mut state = running(5_000);
        beat(&mut state, "d1", NodeState::Running, "t", now_ms());
        beat(&mut state, "d2", NodeState::Configured, "t", now_ms());
        let lost = state.lost_triggers(2_000);
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].0, "t");
        // Sent again just now: not again until another wait has passed.
        assert!(state.lost_triggers(2_000).is_empty());
    }

    #[test]
    fn no_trigger_is_resent_while_drivers_could_still_be_starting_or_have_started() {
        // A heartbeat from before the wait says nothing: the trigger may still be on its way.
        let mut state = running(5_000);
        beat(
            &mut state,
            "d2",
            NodeState::Configured,
            "t",
            now_ms() - 4_000,
        );
        assert!(state.lost_triggers(2_000).is_empty());
        // Every driver started.
        let mut state = running(5_000);
        for node in ["d1", "d2"] {
            beat(&mut state, node, NodeState::Running, "t", now_ms());
        }
        assert!(state.lost_triggers(2_000).is_empty());
        // Too early.
        let mut state = running(500);
        beat(&mut state, "d2", NodeState::Configured, "t", now_ms());
        assert!(state.lost_triggers(2_000).is_empty());
    }
}
