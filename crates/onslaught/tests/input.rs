//! The real binary's pass/fail and input handling: statuses that are not accepted fail a run,
//! IPv6 targets are loaded, refusals name the flag and say what is wrong, and the API server
//! of `serve` cuts off clients that stall in their headers.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{TargetProcess, num, onslaught, run_json};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every request answering 404 fails the run (exit 1) and shows as errors by status; asking
/// for 404 makes the same run pass.
#[test]
fn not_found_answers_fail_the_run_unless_expected() {
    let _serial = support::serial();
    let target = TargetProcess::start(&[]);
    let reports = tempfile::tempdir().unwrap();
    let url = format!("{}/pnig", target.base);
    let (test, output) = run_json(&[&url, "-n", "100", "-w", "1", "-c", "2"], reports.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(num(&test, "/aggregate/status_codes/404"), 100.0);
    assert_eq!(num(&test, "/aggregate/success_ratio"), 0.0);
    assert_eq!(num(&test, "/aggregate/errors/http_404"), 100.0);
    assert!(
        stderr(&output).contains("--max-error-ratio"),
        "{}",
        stderr(&output)
    );

    let text = onslaught()
        .args(["run", &url, "-n", "100", "-w", "1", "-c", "2", "--quiet"])
        .arg("--report-dir")
        .arg(reports.path())
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(1));
    let summary = String::from_utf8_lossy(&text.stdout);
    let line = |key: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key} line in\n{summary}"))
            .to_owned()
    };
    assert!(line("Success").contains(" 0.00%"), "{summary}");
    assert!(line("Errors").contains("http_404: 100"), "{summary}");

    let (test, output) = run_json(
        &[&url, "-n", "100", "-w", "1", "--expect-status", "2xx,404"],
        reports.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(num(&test, "/aggregate/success_ratio"), 1.0);
    assert!(test["aggregate"]["errors"].get("http_404").is_none());
}

/// About half the answers are 503: the run fails by default and passes under a looser
/// --max-error-ratio.
#[test]
fn a_share_of_5xx_fails_the_run_past_the_max_error_ratio() {
    let _serial = support::serial();
    let target = TargetProcess::start(&["--error-ratio", "0.49", "--error-status", "503"]);
    let reports = tempfile::tempdir().unwrap();
    let url = format!("{}/ping", target.base);
    let (test, output) = run_json(&[&url, "-n", "200", "-w", "1"], reports.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let failed = num(&test, "/aggregate/status_codes/503");
    assert!(failed > 0.0 && failed < 200.0, "{failed}");
    assert_eq!(num(&test, "/aggregate/errors/http_5xx"), failed);
    let ratio = num(&test, "/aggregate/success_ratio");
    assert!((ratio - (200.0 - failed) / 200.0).abs() < 1e-9, "{ratio}");

    let (_, output) = run_json(
        &[&url, "-n", "200", "-w", "1", "--max-error-ratio", "0.9"],
        reports.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// A target listening on [::1] is loaded through an IPv6 literal URL.
#[test]
fn ipv6_literal_targets_are_loaded() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: this machine has no IPv6 loopback");
        return;
    }
    let _serial = support::serial();
    let target = support::TargetProcess::listen("[::1]:0", &[]);
    let base = &target.base;
    assert!(base.starts_with("http://[::1]:"), "{base}");
    let reports = tempfile::tempdir().unwrap();
    let (test, output) = run_json(
        &[&format!("{base}/ping"), "-n", "20", "-w", "1", "-c", "2"],
        reports.path(),
    );
    drop(target);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(num(&test, "/aggregate/status_codes/200"), 20.0);
}

/// Refusals exit 2, name the flag (not the API field) and say what is wrong.
#[test]
fn refusals_name_the_flag_and_the_problem() {
    let reports = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &[&str]); 6] = [
        (&["http://127.0.0.1:9/", "-z", "0s"], &["-z/--duration"]),
        (
            &["http://user:pw@127.0.0.1:9/", "-n", "1"],
            &["URL", "user info"],
        ),
        (&["http://127.0.0.1:9/#frag", "-n", "1"], &["fragment"]),
        (&["http://127.0.0.1:0/", "-n", "1"], &["port 0"]),
        (
            &["http://127.0.0.1:9/", "--type", "tsunami", "-n", "1"],
            &["--delay"],
        ),
        (
            &[
                "http://127.0.0.1:9/",
                "-n",
                "1",
                "--rate",
                "5",
                "--delay",
                "1s",
            ],
            &["--rate", "--delay"],
        ),
    ];
    for (args, needles) in cases {
        let output = onslaught()
            .arg("run")
            .args(args)
            .args(["--quiet", "--report-dir"])
            .arg(reports.path())
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{args:?}: no `{needle}` in {err}");
        }
        for field in ["duration_ms", "delay_ms", "requests_per_driver"] {
            assert!(!err.contains(field), "{args:?}: names the API field: {err}");
        }
    }
}

/// --rate alone means tsunami, a lowercase method is sent as GET, and a binary --body-file is
/// carried as base64.
#[test]
fn rate_implies_tsunami_methods_normalize_and_binary_bodies_are_sent() {
    let _serial = support::serial();
    let target = TargetProcess::start(&[]);
    let reports = tempfile::tempdir().unwrap();
    let body = reports.path().join("body.bin");
    std::fs::write(&body, [0xff, 0x00, 0x80, 0x7f]).unwrap();
    let (test, output) = run_json(
        &[
            &format!("{}/ping", target.base),
            "-n",
            "5",
            "-w",
            "1",
            "--rate",
            "100",
            "-m",
            "get",
            "--body-file",
            body.to_str().unwrap(),
        ],
        reports.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(test["config"]["test_type"], "tsunami");
    assert_eq!(test["config"]["method"], "GET");
    assert_eq!(test["config"]["body_base64"], "/wCAfw==");
    assert!(test["config"]["body"].is_null());
    assert_eq!(num(&test, "/aggregate/status_codes/200"), 5.0);
}

/// `serve --header-timeout` closes a connection that stalls in its request head.
#[test]
fn serve_closes_connections_stalled_in_their_headers() {
    let reports = tempfile::tempdir().unwrap();
    let mut child = onslaught()
        .args(["serve", "--listen", "127.0.0.1:0", "--drivers", "1"])
        .args(["--header-timeout", "500ms", "--report-dir"])
        .arg(reports.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no address in {line}"))
        .trim_end_matches('/')
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET /api/nodes HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    let took = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert!(read.is_ok(), "still open after 10 s: {read:?}");
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
}

/// `onslaught target --accounts` takes the example accounts and counts each one's logins; a
/// single-request run logging in as one of them is counted per account and per route at the
/// target exactly as in the report. A malformed file is refused with exit 2 naming the flag.
#[test]
fn the_target_takes_an_accounts_file_and_counts_logins() {
    let _serial = support::serial();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let accounts = examples.join("accounts.csv");
    let target = TargetProcess::start(&["--accounts", accounts.to_str().unwrap()]);
    let before = target.metrics();
    let listed = before["sessions"]["accounts"].as_object().unwrap();
    assert_eq!(listed.len(), 300);
    assert!(listed.values().all(|account| account["logins"] == 0));

    let first = std::fs::read_to_string(&accounts).unwrap();
    let (user, password) = first.lines().nth(1).unwrap().split_once(',').unwrap();
    let body = format!(r#"{{"user":"{user}","password":"{password}"}}"#);
    let url = format!("{}/login", target.base);
    let reports = tempfile::tempdir().unwrap();
    let (test, output) = run_json(
        &[
            &url,
            "-m",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            &body,
            "-n",
            "50",
            "-w",
            "1",
            "-c",
            "2",
        ],
        reports.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(num(&test, "/aggregate/status_codes/200"), 50.0);
    let after = target.metrics();
    assert_eq!(after["routes"]["/login"]["statuses"]["200"], 50);
    assert_eq!(after["sessions"]["accounts"][user]["logins"], 50);
    assert_eq!(after["sessions"]["logins"], 50);

    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "user,password\nalice\n").unwrap();
    let output = onslaught()
        .args(["target", "--listen", "127.0.0.1:0", "--accounts"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("--accounts") && message.contains("line 2"),
        "{message}"
    );
}
