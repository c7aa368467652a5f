//! Resuming tests from the `metrics` topic: where the orchestrator's consumer stands, where each
//! running test's messages begin, and a test carried on from its checkpoint after a restart.

use std::collections::HashMap;

use onslaught_plan::TestPlan;
use onslaught_protocol::{NodeState, now_ms};
use onslaught_transport::Position;

use super::State;
use super::nodes::Node;
use super::test::{LiveTest, Outcome, Phase, Test};
use crate::resume::{Offsets, RESUME_VERSION, ResumePoint};
use crate::totals::NodeTotals;
use crate::views::TestView;

/// The consumer's position on the `metrics` topic and each running test's starting point.
#[derive(Debug, Default)]
pub(super) struct Replay {
    /// The next offset to read per partition (empty while the transport gives no positions).
    next: Offsets,
    /// Per running test: where its metrics begin.
    from: HashMap<String, Offsets>,
}

impl State {
    /// The metrics subscription began at `starts`.
    pub fn metrics_started_at(&mut self, starts: &[Position]) {
        for p in starts {
            self.replay.next.entry(p.partition).or_insert(p.offset);
        }
    }

    /// A metrics message at `position` was taken off the topic (merged or skipped).
    pub fn metrics_read(&mut self, position: Position) {
        let next = self.replay.next.entry(position.partition).or_insert(0);
        *next = (*next).max(position.offset.saturating_add(1));
    }

    /// The start trigger of `id` is going out: none of its metrics is on the topic yet, so they
    /// are all at or after where the consumer stands now.
    pub fn note_metrics_start(&mut self, id: &str) {
        if !self.replay.next.is_empty() {
            self.replay
                .from
                .insert(id.to_owned(), self.replay.next.clone());
        }
    }

    /// The resume points of the tests `ids` (those with a known start), as merged now.
    pub fn resume_points<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Vec<ResumePoint> {
        ids.into_iter()
            .filter_map(|id| {
                let from = self.replay.from.get(id)?;
                Some(ResumePoint {
                    resume_version: RESUME_VERSION,
                    test_id: id.to_owned(),
                    metrics_from: from.clone(),
                    merged_to: self.replay.next.clone(),
                })
            })
            .collect()
    }

    /// Carries on a test that was running when an earlier orchestrator stopped, from its last
    /// checkpoint's view: running again on the same drivers and clock, with nothing merged yet
    /// (the replay from `point` merges everything again, so the result is exact). Its drivers
    /// are known from now on, busy with it, so liveness applies to them even before their next
    /// heartbeat. Returns whether the test was taken up: not if its id is already known, nor if
    /// its checkpoint has no start time or a plan this build refuses (it is then shown
    /// interrupted, as a past test).
    pub fn resume(&mut self, view: TestView, point: &ResumePoint) -> bool {
        if self.index.contains_key(&view.id) {
            return false;
        }
        let plan = TestPlan::try_from(view.config.clone());
        let (Some(started_at_ms), Ok(plan)) = (view.started_at_ms, plan) else {
            tracing::warn!(
                test_id = view.id,
                "cannot resume the test from its checkpoint"
            );
            self.push(Test::past(view));
            return false;
        };
        let mut test = LiveTest::new(&view.id, plan);
        test.created_at_ms = view.created_at_ms;
        test.load_changes = view.load_changes;
        test.takeovers = view.takeovers;
        test.nodes = view
            .drivers
            .iter()
            .map(|d| (d.clone(), NodeTotals::default()))
            .collect();
        test.drivers = view.drivers;
        test.phase = Phase::Running {
            started_at_ms,
            triggered_at_ms: now_ms(),
            stop_requested: false,
            checkpoint_due: true,
        };
        for driver in &test.drivers {
            let node = self
                .nodes
                .entry(driver.clone())
                .or_insert_with(|| Node::new(driver));
            node.state.state = NodeState::Running;
            node.state.test_id = Some(test.id.clone());
        }
        self.replay
            .from
            .insert(test.id.clone(), point.metrics_from.clone());
        tracing::info!(
            test_id = test.id,
            from = ?point.metrics_from,
            checkpointed_to = ?point.merged_to,
            "resuming a test that was running: replaying its metrics"
        );
        self.push(Test::Live(Box::new(test)));
        true
    }

    /// Where the metrics of every resumed test begin, for one replay covering them all.
    pub fn resumed_from(&self) -> Vec<&Offsets> {
        self.replay.from.values().collect()
    }

    /// The orchestrator is stopping and another can resume its running tests: each running test
    /// with a known start on the topic gets a last checkpoint (returns their number); the others
    /// (still configuring, or started before positions were known) are interrupted, as every
    /// running test is when nothing can resume them. Returns the ids of the interrupted ones.
    pub fn hand_over(&mut self) -> (usize, Vec<String>) {
        let mut handed = 0;
        let mut interrupted = Vec::new();
        let from = &self.replay.from;
        for test in self.tests.iter_mut().filter_map(Test::live_mut) {
            match &mut test.phase {
                Phase::Running { checkpoint_due, .. } if from.contains_key(&test.id) => {
                    *checkpoint_due = true;
                    handed += 1;
                }
                phase @ (Phase::Running { .. } | Phase::Configuring { .. }) => {
                    phase.end(Outcome::Interrupted {
                        reason: "the orchestrator stopped while the test ran; what was measured \
                                 is kept"
                            .to_owned(),
                    });
                    test.close_series();
                    interrupted.push(test.id.clone());
                }
                _ => {}
            }
        }
        (handed, interrupted)
    }

    /// The test is over: it needs no resume point any more.
    pub fn forget_start(&mut self, id: &str) {
        self.replay.from.remove(id);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use onslaught_protocol::{Heartbeat, HeartbeatState, Metrics, Role};

    use super::*;
    use crate::config::OrchestratorConfig;
    use crate::report::ReportParts;
    use crate::stats::OrchestratorStats;
    use crate::views::TestStatus;
    use onslaught_plan::TestRequest;
    use onslaught_stats::Measurements;

    /// Message `seq` of `node` in test `t`: `requests` requests at `latency_us`, at `offset` on
    /// partition 0.
    fn message(node: &str, seq: u64, requests: u64, is_final: bool) -> (Metrics, Measurements) {
        let mut latency = onslaught_stats::Histogram::new();
        latency.record_micros(1_000 * seq);
        let mut counters = onslaught_stats::Counters::default();
        counters.requests_sent = requests;
        let data = Measurements {
            service: latency.clone(),
            latency,
            send_gaps: None,
            send_lag: None,
            counters,
            ..Measurements::default()
        };
        let m: Metrics = serde_json::from_value(serde_json::json!({
            "node_id": node, "test_id": "t", "report_id": format!("t:{node}:{seq}"), "seq": seq,
            "final": is_final,
            "interval_start_ms": (seq - 1) * 1000, "interval_end_ms": seq * 1000,
            "metrics": {}, "histogram": "",
            "service_histogram": "", "counters": { "requests_sent": requests, "responses_received": 0 }
        }))
        .unwrap();
        (m, data)
    }

    /// Reads the message at `offset` of partition 0 into `state`; returns a test that completed.
    fn read(state: &mut State, offset: i64, m: &(Metrics, Measurements)) -> Option<String> {
        state.metrics_read(Position {
            partition: 0,
            offset,
        });
        state
            .metrics(&m.0, &m.1, &OrchestratorStats::default())
            .ok()
            .flatten()
    }

    /// The orchestrator dies after a checkpoint; a new one resumes the test from the checkpoint's
    /// view and resume point and replays the topic from there (a message published twice
    /// included): the test completes with exactly what the uninterrupted orchestrator merged.
    #[test]
    fn a_resumed_test_replayed_from_the_topic_equals_the_uninterrupted_one() {
        let config = OrchestratorConfig::new(std::env::temp_dir());
        let mut state = State::default();
        state.metrics_started_at(&[
            Position {
                partition: 0,
                offset: 40,
            },
            Position {
                partition: 1,
                offset: 3,
            },
        ]);
        for node in ["d1", "d2"] {
            state.heartbeat(&Heartbeat::new(node, Role::Driver, HeartbeatState::idle()));
        }
        // Another test's message, before this one starts: not part of its replay.
        read(&mut state, 40, &message("d9", 1, 1, false));
        let mut request = TestRequest::new("avalanche", "http://127.0.0.1:1/");
        request.requests_per_driver = Some(10);
        state.create("t", TestPlan::try_from(request).unwrap());
        state.begin_configuring("t", &config).unwrap();
        state.set_running("t", 1_000);
        state.note_metrics_start("t");

        let topic = [
            message("d1", 1, 3, false),
            message("d2", 1, 4, false),
            message("d1", 2, 5, false),
            message("d1", 2, 5, false), // published twice (a producer retry)
            message("d2", 2, 6, true),
            message("d1", 3, 2, true),
        ];
        let mut offsets = 41..;
        let mut completed = None;
        let mut checkpoint = None;
        for (i, m) in topic.iter().enumerate() {
            completed = completed.or(read(&mut state, offsets.next().unwrap(), m));
            if i == 2 {
                let parts = state.checkpoint_parts();
                let points = state.resume_points(parts.iter().map(ReportParts::id));
                checkpoint = Some((parts.into_iter().next().unwrap().build().0, points));
            }
        }
        assert_eq!(completed.as_deref(), Some("t"));
        let (report, points) = checkpoint.unwrap();
        assert_eq!(report.test.status, TestStatus::Running);
        let point = &points[0];
        assert_eq!(point.metrics_from, [(0, 41), (1, 3)].into_iter().collect());
        assert_eq!(point.merged_to, [(0, 44), (1, 3)].into_iter().collect());

        // A new orchestrator: the test runs again, its drivers busy with it.
        let mut resumed = State::default();
        assert!(resumed.resume(report.test.clone(), point));
        assert!(!resumed.resume(report.test, point), "taken up once");
        assert_eq!(
            resumed.view("t", &config).unwrap().status,
            TestStatus::Running
        );
        assert!(resumed.available_drivers(&config).is_empty());
        assert_eq!(resumed.resumed_from(), vec![&point.metrics_from]);
        let mut completed = None;
        for (offset, m) in (41..).zip(&topic) {
            completed = completed.or(read(&mut resumed, offset, m));
        }
        assert_eq!(completed.as_deref(), Some("t"));
        let (a, b) = (
            state.view("t", &config).unwrap(),
            resumed.view("t", &config).unwrap(),
        );
        assert_eq!(b.status, TestStatus::Completed);
        assert_eq!(a.aggregate.counters.requests_sent, 20);
        assert_eq!(
            (
                &a.aggregate,
                &a.nodes,
                &a.series,
                &a.node_facts,
                a.started_at_ms
            ),
            (
                &b.aggregate,
                &b.nodes,
                &b.series,
                &b.node_facts,
                b.started_at_ms
            )
        );
        resumed.forget_start("t");
        assert!(resumed.resumed_from().is_empty());

        // A checkpoint without a start time cannot be resumed: shown interrupted.
        let mut view = state.view("t", &config).unwrap();
        view.started_at_ms = None;
        view.status = TestStatus::Running;
        let mut other = State::default();
        assert!(!other.resume(view, point));
        assert_eq!(
            other.view("t", &config).unwrap().status,
            TestStatus::Interrupted
        );
        assert!(other.resumed_from().is_empty());
    }

    /// A stopping orchestrator leaves a test it knows the start of to the next one (a last
    /// checkpoint is due, it stays running) and interrupts the others.
    #[test]
    fn a_stopping_orchestrator_hands_over_what_can_be_resumed() {
        let config = OrchestratorConfig::new(std::env::temp_dir());
        let mut state = State::default();
        for node in ["d1", "d2"] {
            state.heartbeat(&Heartbeat::new(node, Role::Driver, HeartbeatState::idle()));
        }
        let mut request = TestRequest::new("avalanche", "http://127.0.0.1:1/");
        request.requests_per_driver = Some(10);
        request.drivers = Some(1);
        state.create("t", TestPlan::try_from(request.clone()).unwrap());
        state.create("u", TestPlan::try_from(request).unwrap());
        state.begin_configuring("t", &config).unwrap();
        state.begin_configuring("u", &config).unwrap();
        // No positions yet: "t" cannot be resumed and is interrupted like "u".
        state.set_running("t", 1_000);
        state.note_metrics_start("t");
        assert!(state.resume_points(["t"]).is_empty());
        assert_eq!(state.hand_over(), (0, vec!["t".to_owned(), "u".to_owned()]));

        let mut state = State::default();
        state.metrics_started_at(&[Position {
            partition: 0,
            offset: 5,
        }]);
        for node in ["d1", "d2"] {
            state.heartbeat(&Heartbeat::new(node, Role::Driver, HeartbeatState::idle()));
        }
        let mut request = TestRequest::new("avalanche", "http://127.0.0.1:1/");
        request.requests_per_driver = Some(10);
        request.drivers = Some(1);
        state.create("t", TestPlan::try_from(request.clone()).unwrap());
        state.create("u", TestPlan::try_from(request).unwrap());
        state.begin_configuring("t", &config).unwrap();
        state.begin_configuring("u", &config).unwrap();
        state.set_running("t", 1_000);
        state.note_metrics_start("t");
        let _ = state.checkpoint_parts();
        assert_eq!(state.hand_over(), (1, vec!["u".to_owned()]));
        assert_eq!(
            state.view("t", &config).unwrap().status,
            TestStatus::Running
        );
        assert_eq!(
            state.view("u", &config).unwrap().status,
            TestStatus::Interrupted
        );
        let due = state.checkpoint_parts();
        assert_eq!(due.iter().map(ReportParts::id).collect::<Vec<_>>(), ["t"]);
        assert_eq!(state.resume_points(["t"]).len(), 1);
    }
}
