//! Unit tests of the orchestrator's memory.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use onslaught_plan::{TestPlan, TestRequest};
use onslaught_protocol::{Heartbeat, HeartbeatState, Metrics, NodeState, Role, now_ms};
use onslaught_stats::Measurements;

use super::test::Phase;
use super::*;
use crate::config::OrchestratorConfig;
use crate::error::{ControlError, DriverShortage};
use crate::stats::OrchestratorStats;
use crate::views::{TestStatus, TestView};

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
    state.create("t", TestPlan::try_from(request).unwrap());
    state.begin_configuring("t", &config).unwrap();
    state.set_running("t", now_ms());
    let Phase::Running {
        triggered_at_ms, ..
    } = &mut state.live_mut("t").unwrap().phase
    else {
        panic!("the test runs");
    };
    *triggered_at_ms = now_ms() - ago_ms;
    state
}

/// A running test with two drivers, thresholds `thresholds`, `abort_on_fail` with `grace_ms`.
fn running_with_thresholds(thresholds: &[&str], grace_ms: u64) -> State {
    let config = OrchestratorConfig::new(std::env::temp_dir());
    let mut state = State::default();
    for node in ["d1", "d2"] {
        beat(&mut state, node, NodeState::Idle, "", now_ms());
    }
    let mut request = TestRequest::new("avalanche", "http://127.0.0.1:1/");
    if thresholds.iter().any(|t| t.contains(':')) {
        // Thresholds on names need a test with those names: a `login` and `item` flow.
        request.flows = serde_json::from_value(serde_json::json!([{
            "name": "buy",
            "steps": [
                {"name": "login", "request": {"url": "/login"}, "check": {"status": 200}},
                {"name": "item", "request": {"url": "/items/1"}, "check": {"status": [200, 404]}}
            ]
        }]))
        .unwrap();
        request.iterations_per_driver = Some(10);
    } else {
        request.requests_per_driver = Some(10);
    }
    request.thresholds = thresholds.iter().map(|t| (*t).to_owned()).collect();
    request.abort_on_fail = true;
    request.abort_grace_ms = grace_ms;
    state.create("t", TestPlan::try_from(request).unwrap());
    state.begin_configuring("t", &config).unwrap();
    state.set_running("t", now_ms());
    state
}

/// Thresholds are judged on the merged data of both drivers; a failed one stops the test
/// once (after the grace), and the view says so; nothing measured neither passes nor aborts.
#[test]
fn a_failed_threshold_aborts_once_after_its_grace() {
    let config = OrchestratorConfig::new(".");
    let mut state = running_with_thresholds(&["p99 < 0.5ms", "rps >= 0"], 0);
    assert_eq!(
        state.judge_thresholds(),
        (true, Vec::new()),
        "nothing measured"
    );
    let view = state.view("t", &config).unwrap();
    assert!(
        view.thresholds
            .iter()
            .all(|t| t.value.is_none() && !t.passed)
    );
    merge(&mut state, "d1", 1, 5);
    merge(&mut state, "d2", 1, 5);
    assert_eq!(state.judge_thresholds(), (true, vec!["t".to_owned()]));
    assert_eq!(state.judge_thresholds(), (true, Vec::new()), "once");
    let view = state.view("t", &config).unwrap();
    assert!(view.aborted_by_threshold);
    assert!(!view.thresholds[0].passed);
    assert!(
        (view.thresholds[0].value.unwrap() - 1.0).abs() < 0.01,
        "{view:?}"
    );
    assert!(view.thresholds[1].passed);
    assert!(!view.passed());

    let mut waiting = running_with_thresholds(&["p99 < 0.5ms"], 60_000);
    merge(&mut waiting, "d1", 1, 5);
    assert_eq!(
        waiting.judge_thresholds(),
        (true, Vec::new()),
        "in its grace"
    );
    assert!(!waiting.view("t", &config).unwrap().thresholds[0].passed);
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
    state.create("t", TestPlan::try_from(request).unwrap());
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
        "interval_start_ms": (seq - 1) * 1000, "interval_end_ms": seq * 1000,
        "metrics": {}, "histogram": "", "service_histogram": "", "counters": {
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
        "final": last, "started_at_ms": started_at_ms,
        "interval_start_ms": (seq - 1) * 500, "interval_end_ms": seq * 500,
        "metrics": {}, "histogram": "", "service_histogram": "", "counters": {
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
    let start = state.live("t").unwrap().phase.started_at_ms().unwrap();
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
    state.live_mut("t").unwrap().plan.max_start_skew = Duration::from_secs(1);
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
    assert_eq!(report.test.aggregate.counters.requests_sent, 7);
    assert_eq!(report.test.nodes["d1"].counters.requests_sent, 7);
    assert_eq!(report.test.node_facts["d1"].messages, 1);
    assert_eq!(nodes.len(), 2);
    assert!(state.checkpoint_parts().is_empty());
    // The view agrees with the report and sees the next change.
    merge(&mut state, "d2", 1, 5);
    let view = state.view("t", &OrchestratorConfig::new(".")).unwrap();
    assert_eq!(view.aggregate.counters.requests_sent, 12);
    assert_eq!(view.aggregate.latency.count, 2);
    assert_eq!(view.aggregate.service_time.count, 2);
    assert_eq!(view.aggregate.rps, 12.0);
    assert_eq!(view.nodes["d1"], report.test.nodes["d1"]);
    assert_eq!(view.nodes["d2"].counters.requests_sent, 5);
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
    assert!(state.live("t").unwrap().nodes["d2"].lost);
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

/// The view is derived from the lifecycle: times, message and report appear with the stage that
/// knows them, and a stop during configuring makes the start give up.
#[test]
fn the_view_follows_the_lifecycle() {
    let config = OrchestratorConfig::new(std::env::temp_dir());
    let mut state = State::default();
    beat(&mut state, "d1", NodeState::Idle, "", now_ms());
    let mut request = TestRequest::new("avalanche", "http://127.0.0.1:1/");
    request.requests_per_driver = Some(10);
    state.create("t", TestPlan::try_from(request).unwrap());
    let view = state.view("t", &config).unwrap();
    assert_eq!(view.status, TestStatus::Created);
    assert_eq!((view.started_at_ms, view.ended_at_ms), (None, None));
    state.begin_configuring("t", &config).unwrap();
    assert_eq!(state.acks("t"), Acks::Waiting(vec!["d1".to_owned()]));
    assert!(state.request_stop("t").unwrap(), "drivers must be told");
    assert_eq!(
        state.acks("t"),
        Acks::Rejected("stopped before it started".to_owned())
    );
    state.fail("t", "stopped before it started".to_owned());
    let view = state.view("t", &config).unwrap();
    assert_eq!(view.status, TestStatus::Failed);
    assert_eq!(view.started_at_ms, None);
    assert!(view.ended_at_ms.is_some());
    assert_eq!(view.message.as_deref(), Some("stopped before it started"));
    // A failed test is done even before its report is written; a second failure changes
    // nothing.
    assert_eq!(state.is_done("t"), Some(true));
    state.fail("t", "again".to_owned());
    assert_eq!(
        state.view("t", &config).unwrap().message.as_deref(),
        Some("stopped before it started")
    );
    assert!(state.request_stop("t").is_err());

    // A running test interrupted: started, ended, why; done once its report is written.
    let mut state = running(0);
    let started = state.view("t", &config).unwrap().started_at_ms;
    assert!(started.is_some());
    assert_eq!(state.interrupt_running(), vec!["t".to_owned()]);
    let view = state.view("t", &config).unwrap();
    assert_eq!(view.status, TestStatus::Interrupted);
    assert_eq!(view.started_at_ms, started);
    assert!(view.message.unwrap().contains("orchestrator stopped"));
    assert_eq!(state.is_done("t"), Some(false));
    state.set_report_path("t", "x/test.json".into());
    assert_eq!(state.is_done("t"), Some(true));
    assert_eq!(state.report_path("t"), Some("x/test.json".into()));
    assert_eq!(
        state.view("t", &config).unwrap().report_path.as_deref(),
        Some("x/test.json")
    );

    // A test still running in a report from an earlier run is past and interrupted.
    let (mut report, _) = state.reports("t").unwrap();
    report.test.status = TestStatus::Running;
    let past = State::with_history(vec![report]);
    assert_eq!(past.is_done("t"), Some(true));
    assert_eq!(
        past.view("t", &config).unwrap().status,
        TestStatus::Interrupted
    );
    assert!(past.report_parts("t").is_none());
}

/// A driver is free for the next test once its final metrics are in, even when a heartbeat sent
/// before them (saying it runs the test) arrives after them.
#[test]
fn a_driver_is_free_once_its_final_metrics_are_in() {
    let config = OrchestratorConfig::new(std::env::temp_dir());
    let mut state = running(0);
    let start = state.live("t").unwrap().phase.started_at_ms().unwrap();
    for node in ["d1", "d2"] {
        beat(&mut state, node, NodeState::Running, "t", now_ms());
    }
    assert_eq!(
        state.driver_shortage(None, &config),
        Some(DriverShortage::AllBusy { busy: 2 })
    );
    merge_half_second(&mut state, "d1", 1, 10, start, true);
    assert_eq!(state.available_drivers(&config), vec!["d1".to_owned()]);
    // A stale heartbeat of d1 still running the test: it is finished with it all the same.
    beat(&mut state, "d1", NodeState::Running, "t", now_ms());
    assert_eq!(state.available_drivers(&config), vec!["d1".to_owned()]);
    merge_half_second(&mut state, "d2", 1, 10, start, true);
    assert_eq!(
        state.view("t", &config).unwrap().status,
        TestStatus::Completed
    );
    assert_eq!(state.driver_shortage(Some(2), &config), None);
    // A driver busy with another test stays busy.
    beat(&mut state, "d2", NodeState::Running, "t2", now_ms());
    assert_eq!(state.available_drivers(&config), vec!["d1".to_owned()]);
}

/// One driver's interval of a flow test on the wire: per name, responses with the given
/// statuses (1 ms each).
fn statuses_message(node: &str, statuses: &[(&str, &[(u16, u64)])]) -> (Metrics, Measurements) {
    let mut measured = Measurements::default();
    for (name, codes) in statuses {
        let part = measured.by_name.entry((*name).to_owned()).or_default();
        for &(status, n) in *codes {
            for _ in 0..n {
                part.latency.record_micros(1_000);
                part.service.record_micros(1_000);
                part.counters.requests_attempted += 1;
                part.counters.requests_sent += 1;
                part.counters.responses_received += 1;
                part.counters.status(status);
            }
        }
        let part = part.clone();
        measured.latency.add(&part.latency);
        measured.service.add(&part.service);
        measured.counters.add(&part.counters);
    }
    wire(node, measured)
}

/// A step's `check.status` decides what its requests' errors are, in the name's view, the
/// whole's error rate, the per-node views, the thresholds and the report: `item` accepts 404,
/// `login` does not.
#[test]
fn each_step_s_accepted_statuses_judge_its_requests() {
    let mut state =
        running_with_thresholds(&["item: error_rate < 1%", "error_rate < 10%"], 3_600_000);
    let d1 = statuses_message(
        "d1",
        &[
            ("login", &[(200, 8), (404, 1)]),
            ("item", &[(200, 4), (404, 3)]),
        ],
    );
    let d2 = statuses_message(
        "d2",
        &[("login", &[(200, 1)]), ("item", &[(404, 2), (500, 1)])],
    );
    for (m, data) in [&d1, &d2] {
        state
            .metrics(m, data, &OrchestratorStats::default())
            .unwrap();
    }
    state.judge_thresholds();
    let view = state.view("t", &OrchestratorConfig::new(".")).unwrap();
    let a = &view.aggregate;
    let errors = |v: &crate::views::StatsView| v.counters.errors.clone();
    use onslaught_stats::ErrorKind;
    assert_eq!(
        errors(&a.by_name["login"]),
        [(ErrorKind::Status(404), 1)].into()
    );
    assert_eq!(a.by_name["login"].success_ratio, 0.9);
    assert_eq!(
        errors(&a.by_name["item"]),
        [(ErrorKind::Status5xx, 1)].into()
    );
    assert_eq!(a.by_name["item"].success_ratio, 0.9);
    // The whole: login's 404 is an error, item's five are not.
    assert_eq!(
        errors(a),
        [(ErrorKind::Status(404), 1), (ErrorKind::Status5xx, 1)].into()
    );
    assert_eq!(a.counters.status_codes[&404], 6);
    assert!(
        (a.failed_ratio() - 2.0 / 20.0).abs() < 1e-12,
        "{}",
        a.failed_ratio()
    );
    // Per node, judged by name too (the names are dropped after).
    let d1_view = &view.nodes["d1"];
    assert!(d1_view.by_name.is_empty());
    assert_eq!(errors(d1_view), [(ErrorKind::Status(404), 1)].into());
    assert_eq!(
        errors(&view.nodes["d2"]),
        [(ErrorKind::Status5xx, 1)].into()
    );
    // Thresholds: item's error rate is its 500 only; the whole's 2 in 20.
    let item_rate = view.thresholds[0].value.unwrap();
    assert!((item_rate - 0.1).abs() < 1e-12, "{item_rate}");
    assert!(!view.thresholds[0].passed);
    assert!(view.thresholds[1].passed, "{:?}", view.thresholds);
    // The report says the same.
    let (report, nodes) = state.checkpoint_parts().into_iter().next().unwrap().build();
    assert_eq!(report.test.aggregate, view.aggregate);
    let d1_report = nodes.iter().find(|n| n.node_id == "d1").unwrap();
    assert_eq!(errors(&d1_report.stats.by_name["item"]), Default::default());
    assert_eq!(report.test.nodes["d1"], view.nodes["d1"]);
}

/// One driver's interval of a flow test on the wire: `login` and `item` requests at the given
/// latencies (µs), a check per request (failed above 50 ms), one `buy` iteration per login.
fn named_message(node: &str, login_us: &[u64], item_us: &[u64]) -> (Metrics, Measurements) {
    let mut measured = Measurements::default();
    for (name, samples) in [("login", login_us), ("item", item_us)] {
        let part = measured.by_name.entry(name.to_owned()).or_default();
        for &us in samples {
            part.latency.record_micros(us);
            part.service.record_micros(us);
            part.counters.requests_attempted += 1;
            part.counters.requests_sent += 1;
            part.counters.responses_received += 1;
            part.counters.status(200);
            if us > 50_000 {
                part.counters.check_failed("max_latency");
            } else {
                part.counters.check_passed();
            }
        }
        let part = part.clone();
        measured.latency.add(&part.latency);
        measured.service.add(&part.service);
        measured.counters.add(&part.counters);
    }
    let buy = measured.flows.entry("buy".to_owned()).or_default();
    buy.started = login_us.len() as u64;
    buy.completed = login_us.len() as u64;
    for &us in login_us {
        buy.duration.record_micros(us * 3);
    }
    wire(node, measured)
}

/// `measured` as node `node`'s first metrics message of test `t`, through the wire.
fn wire(node: &str, measured: Measurements) -> (Metrics, Measurements) {
    let mut m: Metrics = serde_json::from_value(serde_json::json!({
        "node_id": node, "test_id": "t", "report_id": format!("t:{node}:1"), "seq": 1,
        "interval_start_ms": 0, "interval_end_ms": 1000,
        "metrics": {}, "histogram": "", "service_histogram": "", "counters": {
            "requests_sent": 0, "responses_received": 0 }
    }))
    .unwrap();
    m.set_measurements(&measured);
    // Through the wire, as the orchestrator receives it.
    onslaught_protocol::decode_metrics(&onslaught_protocol::encode(&m)).unwrap()
}

/// Per-name statistics from several drivers merge exactly into the test's view, its
/// thresholds and its reports: a name's percentiles are those of one histogram holding every
/// sample of that name, whatever driver measured it.
#[test]
fn per_name_statistics_merge_exactly_across_drivers() {
    let mut state = running_with_thresholds(
        &["login: p99 < 40ms", "item: p50 < 40ms", "checks > 90%"],
        3_600_000,
    );
    let d1 = named_message("d1", &[1_000, 2_000, 3_000], &[10_000; 4]);
    let d2 = named_message("d2", &[30_000, 60_000], &[20_000, 90_000]);
    for (m, data) in [&d1, &d2] {
        state
            .metrics(m, data, &OrchestratorStats::default())
            .unwrap();
    }
    // Failing, but within the grace: no abort.
    assert_eq!(state.judge_thresholds(), (true, Vec::new()));
    let view = state.view("t", &OrchestratorConfig::new(".")).unwrap();
    let mut login = onslaught_stats::Histogram::new();
    for us in [1_000, 2_000, 3_000, 30_000, 60_000] {
        login.record_micros(us);
    }
    let by_name = &view.aggregate.by_name;
    assert_eq!(by_name.keys().collect::<Vec<_>>(), ["item", "login"]);
    assert_eq!(by_name["login"].latency, login.summary());
    assert_eq!(by_name["login"].service_time, login.summary());
    assert_eq!(by_name["login"].counters.requests_sent, 5);
    assert_eq!(by_name["login"].counters.status_codes[&200], 5);
    assert_eq!(by_name["login"].rps, 5.0);
    assert_eq!(by_name["login"].success_ratio, 1.0);
    assert_eq!(
        (
            by_name["item"].counters.checks_passed,
            by_name["item"].counters.checks_failed
        ),
        (5, 1)
    );
    assert_eq!(view.aggregate.counters.failed_checks["max_latency"], 2);
    assert_eq!(view.aggregate.checks_ratio(), Some(9.0 / 11.0));
    let buy = &view.aggregate.flows["buy"];
    assert_eq!((buy.started, buy.completed, buy.dropped), (5, 5, 0));
    assert_eq!(buy.duration.count, 5);
    assert_eq!(buy.rate, 5.0);
    // Per node: flows, no names (the API's views stay small); the node reports have them.
    assert!(view.nodes["d1"].by_name.is_empty());
    assert_eq!(view.nodes["d2"].flows["buy"].completed, 2);
    // Thresholds on names and checks, judged on the merge.
    let results = &view.thresholds;
    assert_eq!(
        results[0].value,
        Some(login.quantile_micros(0.99) as f64 / 1000.0)
    );
    assert!(!results[0].passed);
    assert!(results[1].passed, "{results:?}");
    assert_eq!(results[2].value, Some(9.0 / 11.0));
    assert!(!results[2].passed);
    // The report: rows per name in the aggregate and per node, exact histograms per name.
    let (report, nodes) = state.checkpoint_parts().into_iter().next().unwrap().build();
    assert_eq!(report.test.aggregate.by_name, view.aggregate.by_name);
    let encoded = &report.histograms.by_name["login"].latency;
    let decoded = onslaught_protocol::wire_stats::decode_histogram("h", encoded).unwrap();
    assert_eq!(decoded.summary(), login.summary());
    assert!(report.test.nodes["d1"].by_name.is_empty());
    let d2_report = nodes.iter().find(|n| n.node_id == "d2").unwrap();
    assert_eq!(d2_report.stats.by_name["login"].counters.requests_sent, 2);
    assert_eq!(d2_report.histograms.by_name.len(), 2);
    // The JSON report reads back as written.
    let json = serde_json::to_string(&report).unwrap();
    let back: crate::report::TestReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

/// Node `node`'s metrics message `seq` (the half second `seq - 1`), `requests` answered each in
/// `latency_us`, merged as the orchestrator receives it (through the wire).
fn merge_latency(state: &mut State, node: &str, seq: u64, requests: u64, latency_us: u64) {
    let mut measured = Measurements::default();
    for _ in 0..requests {
        measured.latency.record_micros(latency_us);
        measured.service.record_micros(latency_us);
        measured.counters.requests_attempted += 1;
        measured.counters.requests_sent += 1;
        measured.counters.responses_received += 1;
        measured.counters.status(200);
    }
    let mut m: Metrics = serde_json::from_value(serde_json::json!({
        "node_id": node, "test_id": "t", "report_id": format!("t:{node}:{seq}"), "seq": seq,
        "interval_start_ms": (seq - 1) * 500, "interval_end_ms": seq * 500,
        "metrics": {}, "histogram": "", "service_histogram": "", "counters": {
            "requests_sent": 0, "responses_received": 0 }
    }))
    .unwrap();
    m.set_measurements(&measured);
    let (m, data) = onslaught_protocol::decode_metrics(&onslaught_protocol::encode(&m)).unwrap();
    state
        .metrics(&m, &data, &OrchestratorStats::default())
        .unwrap();
}

/// A threshold's warm-up (`after`): a slow first second on both drivers fails `p99 < 100ms`
/// over the whole test, but not `p99 < 100ms after 1s`, which measures only the seconds from
/// 1 s on (on the merged data of both drivers) and is pending until data of second 1 is in.
#[test]
fn a_warm_up_leaves_a_slow_first_second_out() {
    let config = OrchestratorConfig::new(".");
    let mut state = running_with_thresholds(
        &[
            "p99 < 100ms after 1s",
            "p99 < 100ms",
            "p99[1s] < 100ms after 1s",
            "rps >= 20 after 1s",
        ],
        3_600_000,
    );
    // Second 0: 400 ms a response on both drivers.
    for node in ["d1", "d2"] {
        merge_latency(&mut state, node, 1, 5, 400_000);
        merge_latency(&mut state, node, 2, 5, 400_000);
    }
    state.judge_thresholds();
    let view = state.view("t", &config).unwrap();
    let pending = &view.thresholds[0];
    assert!(pending.warming_up && !pending.passed && pending.value.is_none());
    assert!(!view.thresholds[1].warming_up);
    assert!(!view.thresholds[1].passed, "{:?}", view.thresholds);
    assert!(view.thresholds[2].warming_up && view.thresholds[3].warming_up);
    // The JSON says so; a threshold past its warm-up has no such field.
    let json = serde_json::to_value(&view.thresholds).unwrap();
    assert_eq!(json[0]["warming_up"], true);
    assert!(json[1].get("warming_up").is_none());
    // Second 1: 2 ms a response.
    for node in ["d1", "d2"] {
        merge_latency(&mut state, node, 3, 10, 2_000);
        merge_latency(&mut state, node, 4, 10, 2_000);
    }
    assert_eq!(state.judge_thresholds(), (true, Vec::new()), "in its grace");
    let results = state.view("t", &config).unwrap().thresholds;
    assert!(results.iter().all(|r| !r.warming_up), "{results:?}");
    let p99 = results[0].value.unwrap();
    assert!((p99 - 2.0).abs() < 0.01, "{results:?}");
    assert!(results[0].passed);
    assert!(!results[1].passed && results[1].value.unwrap() > 399.0);
    assert!(results[2].passed, "{results:?}");
    // 40 requests in the one second from 1 s on.
    assert_eq!(results[3].value, Some(40.0));
    assert!(results[3].passed);
}

/// A running test of 300 req/s in total over d1, d2, d3, started `ago_ms` ago.
fn running_in_total(ago_ms: u64) -> State {
    let config = OrchestratorConfig::new(std::env::temp_dir());
    let mut state = State::default();
    for node in ["d1", "d2", "d3"] {
        beat(&mut state, node, NodeState::Idle, "", now_ms());
    }
    let mut request = TestRequest::new("tsunami", "http://127.0.0.1:1/");
    request.rate_total = Some(300.0);
    request.duration_ms = Some(60_000);
    state.create("t", TestPlan::try_from(request).unwrap());
    state.begin_configuring("t", &config).unwrap();
    state.set_running("t", now_ms() - ago_ms);
    state
}

/// A driver of a test in total declared dead: the others take its share over once, from an
/// instant ahead of now, named in stripe order; the gap runs from its last measurement and
/// its share of the schedule there (100/s) is what went unmeasured. A takeover that could not
/// be sent is tried again; a driver lost later is taken over again by whoever is left.
#[test]
fn the_drivers_left_take_over_a_dead_drivers_share_of_a_total() {
    let config = OrchestratorConfig::new(std::env::temp_dir());
    let mut state = running_in_total(10_000);
    let started = state.live("t").unwrap().phase.started_at_ms().unwrap();
    for seq in 1..=4 {
        merge(&mut state, "d2", seq, 100);
    }
    assert!(state.takeovers_due(now_ms()).is_empty(), "nobody is lost");
    let silent_for = |d: Duration| Instant::now().checked_sub(d).unwrap();
    state.nodes.get_mut("d2").unwrap().last_seen = silent_for(config.dead_after);
    state.check_liveness(&config);
    let now = now_ms();
    let triggers = state.takeovers_due(now);
    assert_eq!(triggers.len(), 1);
    let trigger = &triggers[0];
    assert_eq!(trigger.trigger, onslaught_protocol::TriggerAction::Takeover);
    assert_eq!(trigger.drivers, ["d1", "d3"]);
    assert_eq!(trigger.start_at_ms, started);
    let at_ms = trigger.effective_at_ms.unwrap();
    assert_eq!(at_ms, now + LOAD_CHANGE_LEAD_MS);
    assert!(state.takeovers_due(now_ms()).is_empty(), "once");

    let view = state.view("t", &config).unwrap();
    let takeover = &view.takeovers[0];
    assert_eq!(takeover.lost, ["d2"]);
    assert_eq!(takeover.drivers, ["d1", "d3"]);
    assert_eq!(takeover.offset_ms, at_ms - started);
    // d2 measured 4 s; its third of 300/s from there to the takeover went unmeasured.
    assert_eq!(takeover.gap_from_offset_ms, 4_000);
    let expected = (takeover.offset_ms - 4_000) as f64 / 10.0;
    assert!(
        (takeover.unmeasured as f64 - expected).abs() <= 1.0,
        "{takeover:?}"
    );

    // Not sent: forgotten, and due again on the next check.
    state.forget_takeover("t", at_ms);
    assert!(state.view("t", &config).unwrap().takeovers.is_empty());
    assert_eq!(state.takeovers_due(now_ms()).len(), 1);

    // d3 dies too: d1 alone takes the rest, after the first takeover's instant.
    state.nodes.get_mut("d3").unwrap().last_seen = silent_for(config.dead_after);
    state.check_liveness(&config);
    let again = state.takeovers_due(now_ms());
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].drivers, ["d1"]);
    assert!(again[0].effective_at_ms.unwrap() > at_ms);
    let view = state.view("t", &config).unwrap();
    assert_eq!(view.takeovers.len(), 2);
    assert_eq!(view.takeovers[1].lost, ["d3"]);

    // Users in total are taken over alike (no requests are estimated for them).
    let config_users = OrchestratorConfig::new(std::env::temp_dir());
    let mut users = State::default();
    for node in ["d1", "d2", "d3"] {
        beat(&mut users, node, NodeState::Idle, "", now_ms());
    }
    let mut request = TestRequest::new("avalanche", "http://127.0.0.1:1/");
    request.stages_total = vec![onslaught_plan::Stage {
        duration_ms: 60_000,
        target: 30.0,
    }];
    users.create("t", TestPlan::try_from(request).unwrap());
    users.begin_configuring("t", &config_users).unwrap();
    users.set_running("t", now_ms() - 10_000);
    users.nodes.get_mut("d3").unwrap().last_seen = silent_for(config_users.dead_after);
    users.check_liveness(&config_users);
    let taken = users.takeovers_due(now_ms());
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].drivers, ["d1", "d2"]);
    let view = users.view("t", &config_users).unwrap();
    assert_eq!(view.takeovers[0].unmeasured, 0);

    // An avalanche of constant users has no share to take over (nor has a rate per driver).
    let mut state = running(0);
    state.nodes.get_mut("d2").unwrap().last_seen = silent_for(config.dead_after);
    state.check_liveness(&config);
    assert!(state.takeovers_due(now_ms()).is_empty());
}

/// A driver whose heartbeat, sent a while after a change of the test's load, still reports an
/// earlier last change missed it: it gets every change after its last, in order, once per wait;
/// drivers up to date get nothing.
#[test]
fn a_driver_behind_on_load_changes_gets_them_again_in_order() {
    let mut state = running_in_total(10_000);
    let beat_with = |state: &mut State, node: &str, last_change_ms: u64, at_ms: u64| {
        let mut heartbeat = Heartbeat::new(node, Role::Driver, HeartbeatState::idle());
        heartbeat.state = HeartbeatState::for_test(NodeState::Running, "t");
        heartbeat.timestamp = at_ms.to_string();
        heartbeat.info.insert(
            onslaught_protocol::LAST_CHANGE_INFO.to_owned(),
            last_change_ms,
        );
        state.heartbeat(&heartbeat);
    };
    let rate = |r: f64| {
        onslaught_plan::NewLoad::try_from(onslaught_plan::LoadChangeRequest {
            rate_total: Some(r),
            ..Default::default()
        })
        .unwrap()
    };
    let now = now_ms();
    let first = state
        .change_load("t", rate(600.0), "api", now - 6_000)
        .unwrap();
    let second = state
        .change_load("t", rate(900.0), "api", now - 5_000)
        .unwrap();
    let (a, b) = (
        first.effective_at_ms.unwrap(),
        second.effective_at_ms.unwrap(),
    );
    // Every driver took both: nothing to send.
    for node in ["d1", "d2", "d3"] {
        beat_with(&mut state, node, b, now);
    }
    assert!(state.lost_changes(2_000, now).is_empty());
    // d2 took only the first, d3 neither: both changes go again, in order.
    beat_with(&mut state, "d2", a, now);
    beat_with(&mut state, "d3", 0, now);
    let again = state.lost_changes(2_000, now);
    assert_eq!(again, [first.clone(), second.clone()]);
    // Not again until another wait has passed.
    assert!(state.lost_changes(2_000, now + 1_000).is_empty());
    // d3 caught up, d2 still misses the second: only that one.
    beat_with(&mut state, "d3", b, now + 2_500);
    beat_with(&mut state, "d2", a, now + 2_500);
    assert_eq!(state.lost_changes(2_000, now + 2_500), [second]);
    // A heartbeat from before the change was issued (plus the wait) says nothing.
    let mut fresh = running_in_total(10_000);
    let change = fresh.change_load("t", rate(600.0), "api", now).unwrap();
    beat_with(&mut fresh, "d1", 0, now + 1_000);
    assert!(fresh.lost_changes(2_000, now + 2_500).is_empty());
    assert!(change.effective_at_ms.is_some());
}
