//! `onslaught run` end to end: the real binary, real drivers, a real target process.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use support::{TargetProcess, num, onslaught, run_json};

/// The acceptance run: 3 drivers, tsunami, 10 ms apart, 300 requests each.
///
/// Counts, reports and the run's length are checked on every attempt. The schedule (each driver's
/// send-gap p99 within 1.5 ms of 10 ms, p50 within 0.2 ms) must hold on one of at most five
/// attempts. The three drivers share one process and two cores and release their requests at
/// the same instants, so one of them now and then waits for a core: on this 2-core machine a
/// third of the attempts had one driver's p99 between 10.5 and 11.5 ms, and a CI run had 11.3 to
/// 12.3 ms on one driver in each of three attempts (the other drivers within 0.3 ms). A
/// regression of the schedule itself (drift, coordinated omission, a gap that waits for
/// responses) moves the p50 or every attempt's p99 by far more, and each attempt's numbers are
/// printed.
#[test]
fn tsunami_three_drivers_send_exactly_their_share_on_schedule() {
    let _serial = support::serial();
    let target = TargetProcess::start(&[]);
    let mut attempts = Vec::new();
    for attempt in 1..=5 {
        let timing = acceptance_run(&target, attempt);
        eprintln!("attempt {attempt}: send gap p99/p50 per driver (ms): {timing:?}");
        let on_schedule = timing
            .iter()
            .all(|(_, p99, p50)| (p99 - 10.0).abs() <= 1.5 && (p50 - 10.0).abs() <= 0.2);
        attempts.push(timing);
        if on_schedule {
            return;
        }
    }
    panic!(
        "the send-gap p99 was off by more than 1.5 ms (or p50 by 0.2 ms) on every attempt: {attempts:?}"
    );
}

/// One acceptance run against `target` (whose counters go up by 900 each time); checks what must
/// hold every time and returns each driver's send-gap p99 and p50 in ms.
fn acceptance_run(target: &TargetProcess, attempt: u64) -> Vec<(String, f64, f64)> {
    let reports = tempfile::tempdir().unwrap();
    let url = format!("{}/ping", target.base);
    let started = Instant::now();
    let (test, output) = run_json(
        &[
            &url,
            "--drivers",
            "3",
            "--type",
            "tsunami",
            "--delay",
            "10ms",
            "--requests",
            "300",
        ],
        reports.path(),
    );
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // 300 sends 10 ms apart take 2.99 s; allow for start-up and the synchronized start.
    assert!(
        took >= Duration::from_millis(2_990) && took < Duration::from_millis(4_500),
        "took {took:?}"
    );

    assert_eq!(test["status"], "completed");
    assert_eq!(num(&test, "/aggregate/requests_sent"), 900.0);
    assert_eq!(num(&test, "/aggregate/responses_received"), 900.0);
    assert_eq!(
        target.metrics()["routes"]["/ping"]["requests_received"],
        900 * attempt
    );

    let nodes = test["nodes"].as_object().unwrap();
    assert_eq!(nodes.len(), 3);
    let mut timing = Vec::new();
    for (id, node) in nodes {
        assert_eq!(num(node, "/requests_sent"), 300.0, "{id}");
        // How late sends went out after their intended times, as the driver saw it.
        let lag_p50 = num(node, "/send_lag/median");
        assert!(lag_p50 <= 0.2, "{id}: send lag p50 {lag_p50} ms");
        timing.push((
            id.clone(),
            num(node, "/send_gap/p99"),
            num(node, "/send_gap/median"),
        ));
    }

    // One aggregate report and one per node, whose counts add up.
    let folder = reports.path().join(test["id"].as_str().unwrap());
    let aggregate: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("test.json")).unwrap()).unwrap();
    assert_eq!(num(&aggregate, "/aggregate/requests_sent"), 900.0);
    assert!(aggregate["histograms"]["latency"].as_str().unwrap().len() > 10);
    let mut sum = 0.0;
    for node in ["driver-1", "driver-2", "driver-3"] {
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(folder.join(format!("node-{node}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(report["node_id"], node);
        assert_eq!(report["config"]["delay_ms"], 10.0);
        sum += num(&report, "/stats/requests_sent");
        let per_second: f64 = report["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| num(p, "/requests"))
            .sum();
        assert_eq!(per_second, 300.0, "{node}: the per-second series adds up");
    }
    assert_eq!(sum, 900.0);
    // test.json, three node reports and the HTML report page.
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 5);
    assert!(folder.join("report.html").is_file());
    timing
}

/// wrk2's stall test: the target holds every request arriving in a 200 ms window once a second.
/// At 500 requests/s for 10 s the schedule says 20% of requests wait a uniform 0-200 ms; the
/// reported p99 must match the p99 computed from the schedule within 10%.
#[test]
fn stalls_are_measured_from_the_intended_send_time() {
    let _serial = support::serial();
    let target = TargetProcess::start(&["--stall-every", "1s", "--stall-for", "200ms"]);
    let reports = tempfile::tempdir().unwrap();
    let url = format!("{}/ping", target.base);
    let (test, output) = run_json(
        &[
            &url,
            "--drivers",
            "1",
            "--type",
            "tsunami",
            "--rate",
            "500",
            "--duration",
            "10s",
        ],
        reports.path(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Ground truth from the schedule: a send at t (ms) inside [k s, k s + 200 ms) waits until
    // the window ends. Uniform arrivals over whole cycles make the phase irrelevant.
    let mut truth: Vec<f64> = (0..5_000)
        .map(|i| {
            let t = (i as f64 * 2.0) % 1000.0;
            if t < 200.0 { 200.0 - t } else { 0.0 }
        })
        .collect();
    truth.sort_by(f64::total_cmp);
    let truth_p99 = truth[(truth.len() as f64 * 0.99) as usize - 1];
    assert!((truth_p99 - 190.0).abs() < 1.0);

    let p99 = num(&test, "/aggregate/latency/p99");
    assert!(
        (p99 - truth_p99).abs() <= truth_p99 * 0.10,
        "reported p99 {p99} ms, truth {truth_p99} ms"
    );
    let p90 = num(&test, "/aggregate/latency/p90");
    assert!(
        (p90 - 100.0).abs() <= 10.0,
        "reported p90 {p90} ms, truth 100 ms"
    );
    // The service-time view (from the actual send) is there too, and the late sends counted.
    assert!(num(&test, "/aggregate/service_time/count") >= 4_990.0);
    assert!(test["aggregate"]["late_sends"].as_u64().is_some());
    assert!((num(&test, "/aggregate/requests_sent") - 5_000.0).abs() <= 1.0);
}

/// The text summary shows what vegeta/oha users look for, and the per-driver totals.
#[test]
fn text_summary_has_the_familiar_lines() {
    let _serial = support::serial();
    let target = TargetProcess::start(&[]);
    let reports = tempfile::tempdir().unwrap();
    let output = onslaught()
        .args([
            "run",
            &format!("{}/ping", target.base),
            "--drivers",
            "2",
            "--type",
            "tsunami",
        ])
        .args([
            "--rate",
            "200",
            "--requests",
            "20",
            "--quiet",
            "--report-dir",
        ])
        .arg(reports.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "20 per driver x 2 drivers = 40 requests",
        "200 req/s per driver (400 req/s total)",
        "Requests      [total, rate, throughput]",
        "Latencies     [min, mean, 50, 90, 95, 99, 99.9, max]",
        "Service time",
        "Send lag",
        "Late sends",
        "Status codes  [code:count]",
        "200:40",
        "Success       [ratio]",
        "driver-1",
        "driver-2",
        "test.json",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

#[test]
fn exit_codes_tell_bad_config_from_failed_tests() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    // A tsunami without a delay or rate is a configuration error (exit 2), naming the flag.
    let bad = onslaught()
        .args([
            "run",
            "http://127.0.0.1:9/",
            "--type",
            "tsunami",
            "--requests",
            "5",
            "--report-dir",
        ])
        .arg(reports.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--delay"));

    // Nothing listens: the test runs, every request fails to connect, exit 1, errors counted.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (test, output) = run_json(
        &[
            &format!("http://127.0.0.1:{port}/"),
            "--drivers",
            "2",
            "--requests",
            "10",
            "-c",
            "2",
        ],
        reports.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(num(&test, "/aggregate/errors/connect"), 20.0);
}

/// The README's first command: no URL, the built-in target, several drivers.
#[test]
fn runs_against_the_built_in_target_by_default() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let (test, output) = run_json(&["--drivers", "3", "--requests", "500"], reports.path());
    assert!(output.status.success());
    assert_eq!(num(&test, "/aggregate/status_codes/200"), 1500.0);
    assert!(std::path::Path::new(test["report_path"].as_str().unwrap()).exists());
}
