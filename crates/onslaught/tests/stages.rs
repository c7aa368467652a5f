//! Issue 12, end to end with the real binary: rate curves (stages) and rates in total, split
//! between the drivers by striping one schedule.

#![allow(clippy::unwrap_used)]

mod support;

use support::{TargetProcess, num, onslaught, run_json};

/// Requests the curve 0 -> 2,000/s over 15 s -> 0 over 15 s sends in its first `t` seconds.
fn ramp_area(t: f64) -> f64 {
    let up = 2000.0 / 15.0 / 2.0;
    if t <= 15.0 {
        up * t * t
    } else {
        30_000.0 - up * (30.0 - t).powi(2)
    }
}

/// The acceptance of item 1 and 2: a ramp 0 -> 2,000 -> 0 req/s in total over 3 drivers in
/// 30 s. Every second of the merged series is within 1% of the curve (or 2 requests where 1% is
/// fewer), the total is the curve's area (+/- 1), and each driver sent a third of it (+/- 1).
///
/// The built-in target runs as its own process: in `onslaught run`'s process it would serve
/// its 2,000 requests a second on the runtime that also times the drivers' metrics intervals,
/// and a second's count is only as exact as those intervals' ends (at 2,000/s, 1% is 10 ms).
#[test]
fn a_ramp_in_total_follows_its_curve_every_second_and_splits_evenly() {
    let _serial = support::serial();
    let target = TargetProcess::start(&[]);
    let url = format!("{}/ping", target.base);
    let reports = tempfile::tempdir().unwrap();
    let (test, output) = run_json(
        &[
            &url,
            "--stages-total",
            "15s:2000,15s:0",
            "-w",
            "3",
            "-c",
            "20",
        ],
        reports.path(),
    );
    assert!(output.status.success(), "{test}");
    assert_eq!(test["status"], "completed", "{test}");
    let sent = num(&test, "/aggregate/requests_sent");
    assert!((sent - 30_000.0).abs() <= 1.0, "sent {sent}");
    assert_eq!(num(&test, "/aggregate/responses_received"), sent);

    let series = test["series"].as_array().unwrap();
    let mut off = Vec::new();
    for point in series {
        let second = num(point, "/second");
        let achieved = num(point, "/requests");
        let curve = ramp_area((second + 1.0).min(30.0)) - ramp_area(second.min(30.0));
        let tolerance = (curve * 0.01).max(2.0);
        if (achieved - curve).abs() > tolerance {
            off.push(format!(
                "second {second}: {achieved} sent, curve {curve:.1}"
            ));
        }
    }
    assert!(series.len() >= 30, "{} seconds", series.len());
    assert!(
        off.is_empty(),
        "off the curve: {off:#?}\nlate sends: {}",
        test["aggregate"]["late_sends"]
    );

    let nodes = test["nodes"].as_object().unwrap();
    assert_eq!(nodes.len(), 3);
    for (name, node) in nodes {
        let mine = num(node, "/requests_sent");
        assert!(
            (mine - 10_000.0).abs() <= 1.0,
            "{name} sent {mine}, not a third of 30,000"
        );
    }
}

/// A total rate is split exactly: 300/s in total for 2 s over 3 drivers is 600 requests, 200
/// from each; the summary says which rate is in force and shows both numbers.
#[test]
fn a_total_rate_is_split_between_the_drivers_and_the_summary_says_so() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let (test, _) = run_json(
        &["--rate-total", "300", "-z", "2s", "-w", "3", "-c", "5"],
        reports.path(),
    );
    assert_eq!(num(&test, "/aggregate/requests_sent"), 600.0, "{test}");
    for (name, node) in test["nodes"].as_object().unwrap() {
        assert_eq!(num(node, "/requests_sent"), 200.0, "{name}");
    }
    assert_eq!(test["config"]["rate_total"], 300.0);

    let output = onslaught()
        .args([
            "run",
            "--rate-total",
            "300",
            "-n",
            "10",
            "-w",
            "3",
            "-c",
            "2",
        ])
        .args(["--quiet", "--report-dir"])
        .arg(reports.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("300 req/s total (100 req/s per driver, split)"),
        "{text}"
    );
    // --rate and a total are one schedule too many.
    let output = onslaught()
        .args(["run", "--rate", "5", "--rate-total", "300", "-n", "1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--rate-total"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Stages of virtual users (an avalanche's stages): 0 -> 6 users in total over 1 s, 6 for 1 s,
/// -> 0 over 1 s, split over 3 drivers. The per-second series shows the users running (whole
/// users under the curve: 2.5, 6, 2.5 on average), each driver ran its stripe of them, the test
/// lasts the curve; a fractional user is refused naming the stage, exit 2.
#[test]
fn stages_of_users_ramp_an_avalanche_and_the_series_shows_them() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let (test, output) = run_json(
        &[
            "--type",
            "avalanche",
            "--stages-total",
            "1s:6,1s:6,1s:0",
            "-w",
            "3",
        ],
        reports.path(),
    );
    assert!(output.status.success(), "{test}");
    assert_eq!(test["status"], "completed", "{test}");
    assert_eq!(test["config"]["test_type"], "avalanche");
    assert!(num(&test, "/aggregate/requests_sent") > 100.0, "{test}");
    let series = test["series"].as_array().unwrap();
    let users: Vec<f64> = series
        .iter()
        .map(|p| p["users"].as_f64().unwrap_or(0.0))
        .collect();
    let total: f64 = users.iter().sum();
    assert!((total - 11.0).abs() <= 0.6, "user-seconds {users:?}");
    let held = users.get(1).copied().unwrap_or(0.0);
    assert!((held - 6.0).abs() <= 0.6, "second 1: {users:?}");
    // Driver k runs users k and k + 3: user i from (i + 1) / 6 s to 2 + (5 - i) / 6 s, so the
    // drivers ran 4.33, 3.67 and 3 user-seconds.
    let mut per_driver: Vec<f64> = test["nodes"]
        .as_object()
        .unwrap()
        .values()
        .map(|node| num(node, "/user_ms") / 1000.0)
        .collect();
    per_driver.sort_by(f64::total_cmp);
    for (got, want) in per_driver.iter().zip([3.0, 11.0 / 3.0, 13.0 / 3.0]) {
        assert!(
            (got - want).abs() <= 0.3,
            "user-seconds by driver {per_driver:?}"
        );
    }
    // Over with the curve: seconds 0 to 2, and at most the start of a fourth.
    assert!(series.len() <= 4, "{} seconds: {users:?}", series.len());

    let output = onslaught()
        .args(["run", "--type", "avalanche", "--stages", "1s:5,1s:2.5"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--stages[1].target"), "{stderr}");
}
