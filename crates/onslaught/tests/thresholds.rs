//! Thresholds end to end: the real binary against a target adding 200 ms to every response;
//! exit codes (99 failed, 0 passed, 2 invalid), the JUnit file, and `--abort-on-fail`.

#![allow(clippy::unwrap_used)]

mod support;

use support::{TargetProcess, num, onslaught, run_json};

/// 2 drivers, 20 req/s each for 2 s, against `target`, with `extra` flags.
fn run(target: &TargetProcess, extra: &[&str], duration: &str) -> (serde_json::Value, i32) {
    let reports = tempfile::tempdir().unwrap();
    let url = format!("{}/ping", target.base);
    let mut args = vec![
        url.as_str(),
        "--drivers",
        "2",
        "--rate",
        "20",
        "--concurrency",
        "10",
        "--duration",
        duration,
    ];
    args.extend_from_slice(extra);
    let (test, output) = run_json(&args, reports.path());
    (test, output.status.code().unwrap())
}

#[test]
fn a_failed_threshold_exits_99_with_a_failing_junit_case_and_a_met_one_exits_0() {
    let _serial = support::serial();
    let target = TargetProcess::start(&["--latency", "200ms"]);
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let (test, code) = run(
        &target,
        &[
            "--threshold",
            "p99<100ms",
            "--junit",
            junit.to_str().unwrap(),
        ],
        "2s",
    );
    assert_eq!(code, 99, "{test}");
    assert_eq!(test["status"], "completed");
    assert_eq!(test["thresholds"][0]["expression"], "p99<100ms");
    assert_eq!(test["thresholds"][0]["passed"], false);
    assert!(num(&test, "/thresholds/0/value") >= 200.0, "{test}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 1, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(xml.contains("name=\"p99&lt;100ms\""), "{xml}");

    let (test, code) = run(
        &target,
        &["--threshold", "p99<1s", "--junit", junit.to_str().unwrap()],
        "2s",
    );
    assert_eq!(code, 0, "{test}");
    assert_eq!(test["thresholds"][0]["passed"], true);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 1, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 0, "{xml}");
}

#[test]
fn abort_on_fail_stops_every_driver_within_the_grace_and_two_seconds() {
    let _serial = support::serial();
    let target = TargetProcess::start(&["--latency", "200ms"]);
    let (test, code) = run(
        &target,
        &[
            "--threshold",
            "p99<100ms",
            "--abort-on-fail",
            "--abort-grace",
            "1s",
        ],
        "20s",
    );
    assert_eq!(code, 99, "{test}");
    assert_eq!(test["status"], "aborted");
    assert_eq!(test["aborted_by_threshold"], true);
    let ran_ms = num(&test, "/ended_at_ms") - num(&test, "/started_at_ms");
    assert!(ran_ms <= 3_000.0, "ran {ran_ms} ms: {test}");
    let facts = test["node_facts"].as_object().unwrap();
    assert_eq!(facts.len(), 2);
    for (node, f) in facts {
        assert!(num(f, "/elapsed_ms") <= 3_000.0, "{node}: {f}");
        assert!(f["stopped"].is_string(), "{node}: {f}");
    }
}

#[test]
fn a_bad_threshold_is_refused_naming_its_index() {
    let output = onslaught()
        .args([
            "run",
            "--quiet",
            "--requests",
            "1",
            "--threshold",
            "p99<1s",
            "--threshold",
            "p99 fast",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--threshold[1]"), "{stderr}");
}

/// A warm-up through the binary: `after 1s` on a 3 s test is judged on seconds 1 and 2 only
/// (and passes); one longer than the test stays pending, fails the test (exit 99) and says why
/// in the JUnit file; a bad warm-up is refused naming the threshold (exit 2).
#[test]
fn a_warm_up_is_judged_after_it_and_a_test_that_ends_in_it_fails() {
    let _serial = support::serial();
    let target = TargetProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let (test, code) = run(
        &target,
        &[
            "--threshold",
            "rps > 20 after 1s",
            "--threshold",
            "p99 < 1s after 1h",
            "--junit",
            junit.to_str().unwrap(),
        ],
        "3s",
    );
    assert_eq!(code, 99, "{test}");
    let judged = &test["thresholds"][0];
    assert_eq!(judged["passed"], true, "{test}");
    assert!(judged.get("warming_up").is_none(), "{test}");
    // 2 drivers x 20/s over the seconds from 1 s on (40/s; a last second holding only the
    // run's tail would count too: 80 requests over 3 seconds).
    let rps = num(judged, "/value");
    assert!((26.0..=42.0).contains(&rps), "{test}");
    let pending = &test["thresholds"][1];
    assert_eq!(pending["warming_up"], true, "{test}");
    assert_eq!(pending["passed"], false);
    assert!(pending["value"].is_null());
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(xml.contains("warm-up"), "{xml}");

    let output = onslaught()
        .args([
            "run",
            "-n",
            "1",
            "--threshold",
            "p99<1s",
            "--threshold",
            "p99<1s after 0s",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--threshold[1]"), "{stderr}");
    assert!(stderr.contains("warm-up"), "{stderr}");
}
