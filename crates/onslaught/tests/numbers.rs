//! Issue 9, end to end with the real binary: what the counts, bytes, latencies, per-driver series
//! and start offsets in the summary and the reports mean.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::{num, onslaught, run_json};

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The one test folder under `reports`.
fn test_folder(reports: &Path) -> std::path::PathBuf {
    let mut folders: Vec<_> = std::fs::read_dir(reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    folders.remove(0)
}

/// A refused target used to report ~96,000 requests a second "sent", 11 MiB "out" and latencies
/// of 0.000 ms. A request whose connection cannot be opened is attempted, never sent; bytes out
/// are bytes written; no latency is shown without responses; the error says why; and the engine
/// backs off instead of spinning.
#[test]
fn a_refused_target_counts_attempts_not_sends_and_shows_no_latency() {
    let _serial = support::serial();
    let url = format!("http://127.0.0.1:{}/ping", closed_port());
    let reports = tempfile::tempdir().unwrap();
    let (test, _) = run_json(&[&url, "-z", "1s", "-w", "1"], reports.path());
    let a = &test["aggregate"];
    assert_eq!(num(a, "/requests_sent"), 0.0, "{a}");
    assert_eq!(num(a, "/bytes_sent"), 0.0, "{a}");
    assert_eq!(num(a, "/rps"), 0.0, "{a}");
    assert_eq!(num(a, "/success_ratio"), 0.0, "{a}");
    assert!(a["latency"].is_null(), "{a}");
    assert!(a["service_time"].is_null(), "{a}");
    let attempted = num(a, "/requests_attempted");
    assert!(attempted >= 50.0, "{a}");
    assert_eq!(num(a, "/errors/connect"), attempted, "{a}");
    // 50 connections backing off up to 100 ms: well under 2,000 attempts in a second.
    assert!(
        attempted < 2_000.0,
        "no back-off: {attempted} attempts in 1 s"
    );
    assert_eq!(
        a["error_reasons"]["connect: connection refused (os error 111)"].as_f64(),
        Some(attempted),
        "{a}"
    );
    assert!(
        test["series"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["p99"].is_null())
    );

    let output = onslaught()
        .args([
            "run",
            &url,
            "-z",
            "1s",
            "-w",
            "1",
            "--quiet",
            "--report-dir",
        ])
        .arg(reports.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let line = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line in:\n{text}"))
            .to_owned()
    };
    assert!(line("Requests").ends_with(" 0, 0.00/s, 0.00/s"), "{text}");
    assert!(line("Latencies").trim_end().ends_with(" -"), "{text}");
    assert!(line("Bytes").ends_with(" 0 B, 0 B"), "{text}");
    assert!(line("Attempted").contains(", "), "{text}");
    assert!(
        line("Error reason").contains("connect: connection refused (os error 111): "),
        "{text}"
    );
    // Every attempt is one that got no status: "0:N" alone, and the failure names the attempts.
    let codes = line("Status codes");
    let zero = codes.split_whitespace().last().unwrap();
    assert!(zero.starts_with("0:") && zero != "0:0", "{text}");
    let errors = String::from_utf8_lossy(&output.stderr);
    let failed = errors
        .lines()
        .find(|l| l.starts_with("failed: "))
        .unwrap_or_else(|| panic!("no failure line in:\n{errors}"));
    assert!(
        failed.starts_with(&format!("failed: 100.00% of {} requests", &zero[2..])),
        "{failed}"
    );
}

/// Per-driver report series used to carry requests only: `responses` 0 and p50/p95/p99/mean 0.0
/// every second although each driver got all its responses. Checked on the files written.
#[test]
fn node_reports_carry_each_seconds_responses_and_latencies() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let (test, output) = run_json(&["-w", "2", "-n", "3000", "-c", "4"], reports.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(test["status"], "completed");
    assert_eq!(test["warnings"], serde_json::json!([]));
    let folder = test_folder(reports.path());
    let mut nodes = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("node-") {
            continue;
        }
        nodes += 1;
        let node = read_json(&path);
        assert_eq!(num(&node, "/stats/responses_received"), 3_000.0, "{name}");
        let series = node["series"].as_array().unwrap();
        assert!(!series.is_empty(), "{name}");
        let responses: f64 = series.iter().map(|p| num(p, "/responses")).sum();
        let requests: f64 = series.iter().map(|p| num(p, "/requests")).sum();
        assert_eq!(
            (requests, responses),
            (3_000.0, 3_000.0),
            "{name}: {series:?}"
        );
        for point in series.iter().filter(|p| num(p, "/responses") > 0.0) {
            for key in ["p50", "p95", "p99", "mean"] {
                assert!(num(point, &format!("/{key}")) > 0.0, "{name}: {point}");
            }
        }
        let offset = num(&node, "/facts/start_offset_ms");
        assert!(offset >= 0.0, "{name}: start offset {offset}");
        assert!(node["facts"]["started_at_ms"].is_u64(), "{name}");
    }
    assert_eq!(nodes, 2);
    // The aggregate report shows every driver's start offset too.
    let report = read_json(&folder.join("test.json"));
    for facts in report["node_facts"].as_object().unwrap().values() {
        assert!(facts["start_offset_ms"].is_i64(), "{facts}");
    }
}

/// A driver that starts later than `--max-start-skew` after the test's start time is named in a
/// warning in the summary and the view. Every run starts a few ms after the trigger (opening
/// connections, the pacer's lead), so an allowance of 0 ms flags every driver; the default
/// (500 ms) none.
#[test]
fn a_driver_starting_later_than_the_allowed_skew_is_a_warning() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let output = onslaught()
        .args([
            "run",
            "-w",
            "2",
            "--type",
            "tsunami",
            "--rate",
            "50",
            "-n",
            "20",
            "--max-start-skew",
            "0ms",
            "--quiet",
            "--report-dir",
        ])
        .arg(reports.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("Warning")).collect();
    assert_eq!(warnings.len(), 2, "{text}");
    assert!(
        warnings
            .iter()
            .all(|w| w.contains("ms after the test's start time")),
        "{text}"
    );
    let report = read_json(&test_folder(reports.path()).join("test.json"));
    assert_eq!(report["warnings"].as_array().unwrap().len(), 2, "{report}");

    let reports = tempfile::tempdir().unwrap();
    let (test, _) = run_json(
        &["-w", "2", "--type", "tsunami", "--rate", "50", "-n", "20"],
        reports.path(),
    );
    assert_eq!(test["warnings"], serde_json::json!([]), "{test}");
    for facts in test["node_facts"].as_object().unwrap().values() {
        let offset = num(facts, "/start_offset_ms");
        assert!((0.0..500.0).contains(&offset), "{facts}");
    }
}

/// `--max-start-skew` must be a duration of at most 10 minutes.
#[test]
fn an_invalid_max_start_skew_is_refused_by_name() {
    let reports = tempfile::tempdir().unwrap();
    let output = onslaught()
        .args([
            "run",
            "http://127.0.0.1:1/",
            "-n",
            "1",
            "--max-start-skew",
            "11m",
            "--report-dir",
        ])
        .arg(reports.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_start_skew"), "{stderr}");
}
