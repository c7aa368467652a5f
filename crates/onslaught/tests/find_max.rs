//! `onslaught run --find-max` end to end: the real binary against a target whose latency grows
//! with load finds the highest passing rate the target's configuration implies.

#![allow(clippy::unwrap_used)]

mod support;

use support::{TargetProcess, num, run_json};

/// The target waits `L + K x n` for the `n` requests in flight, so under `R` req/s its latency
/// settles at `L / (1 - K R)` and the highest rate whose p99 stays under `T` is
/// `(1 - L / T) / K` (see `onslaught target --latency-per-in-flight`). With L = 5 ms,
/// K = 2 ms and T = 50 ms: 450 req/s in total, 150 per driver over 3 drivers.
#[test]
fn find_max_reports_the_highest_passing_rate_within_ten_percent_of_the_targets_capacity() {
    let _serial = support::serial();
    let target = TargetProcess::start(&["--latency", "5ms", "--latency-per-in-flight", "2ms"]);
    let reports = tempfile::tempdir().unwrap();
    let url = format!("{}/ping", target.base);
    let (outcome, output) = run_json(
        &[
            url.as_str(),
            "--drivers",
            "3",
            "--rate",
            "20",
            "--concurrency",
            "100",
            "--duration",
            "3s",
            "--timeout",
            "2s",
            "--threshold",
            "p99<50ms",
            "--find-max",
        ],
        reports.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{outcome}");
    let expected_total = (1.0 - 5.0 / 50.0) / 0.002;
    let found = num(&outcome, "/highest_passing_rate_total");
    assert!(
        (found - expected_total).abs() <= expected_total * 0.10,
        "found {found} req/s in total, expected {expected_total} +/- 10%: {outcome}"
    );
    assert_eq!(
        num(&outcome, "/highest_passing_rate") * 3.0,
        found,
        "{outcome}"
    );
    // The curve: every step's rate and p99, passing below the edge and failing above it.
    let steps = outcome["steps"].as_array().unwrap();
    assert!(steps.len() >= 5, "{outcome}");
    for step in steps {
        let passed = step["passed"].as_bool().unwrap();
        let p99 = step["p99_ms"].as_f64().unwrap();
        assert_eq!(passed, p99 < 50.0, "{step}");
    }
    let lowest_failing = num(&outcome, "/lowest_failing_rate");
    assert!(lowest_failing > num(&outcome, "/highest_passing_rate"));
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.path().join("find-max.json")).unwrap())
            .unwrap();
    assert_eq!(written, outcome);
}

#[test]
fn find_max_needs_a_threshold_and_a_rate() {
    let reports = tempfile::tempdir().unwrap();
    for args in [
        vec!["http://127.0.0.1:9/", "--find-max", "--rate", "10"],
        vec!["http://127.0.0.1:9/", "--find-max", "--threshold", "p99<1s"],
    ] {
        let output = support::onslaught()
            .arg("run")
            .args(&args)
            .arg("--report-dir")
            .arg(reports.path())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--find-max") || stderr.contains("required"),
            "{stderr}"
        );
    }
}
