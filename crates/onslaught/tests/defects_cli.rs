//! Regression tests for the command's defects of issue 9: hangs on an unwritable report folder,
//! signals ignored once stderr is gone, runs that outlive their duration or their open-file
//! limit, the summary's attack/wait/throughput, the exact count of a timed schedule, and the
//! CLI's finish (colour only on terminals, help, `ONSLAUGHT_HEADERS`, thousands separators).

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use support::{num, onslaught, run_json};

/// Waits for `child` to exit, at most `bound`; kills it and fails the test past that.
fn exits_within(child: &mut Child, bound: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Everything left to read on a child's pipe (empty when it was not piped).
fn read_all(pipe: Option<impl Read>) -> String {
    let mut text = String::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_string(&mut text).unwrap();
    }
    text
}

/// Reads `child`'s stdout until a line containing `needle` (at most 20 s); returns the lines.
fn stdout_until(child: &mut Child, needle: &str) -> Vec<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let found = line.contains(needle);
        lines.push(line);
        if found {
            return lines;
        }
    }
    let _ = child.kill();
    panic!("no `{needle}` on stdout within 20 s: {lines:?}");
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// A file or an impossible folder as `--report-dir` is refused before anything starts, with
/// exit 2 and the flag named, by every command that writes reports (it used to run the test,
/// fail to write its report, and hang forever).
#[test]
fn an_unwritable_report_dir_is_refused_up_front() {
    let _serial = support::serial();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afile");
    std::fs::write(&file, b"").unwrap();
    let file = file.to_str().unwrap().to_owned();
    let commands: [Vec<&str>; 4] = [
        vec!["run", "-n", "3", "-w", "1", "--report-dir", &file],
        vec!["run", "-n", "3", "-w", "1", "--report-dir", "/proc/nope"],
        vec!["serve", "--listen", "127.0.0.1:0", "--report-dir", &file],
        vec![
            "orchestrator",
            "--brokers",
            "127.0.0.1:1",
            "--listen",
            "127.0.0.1:0",
            "--report-dir",
            &file,
        ],
    ];
    for args in commands {
        let mut child = onslaught()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = exits_within(&mut child, Duration::from_secs(15), &args.join(" "));
        let stderr = read_all(child.stderr.take());
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--report-dir"), "{args:?}: {stderr}");
    }
}

/// A report that cannot be written when the test ends (its folder replaced by a file) no longer
/// hangs the run: the test is over all the same, the summary is printed with the error named,
/// and the exit code says something failed.
#[test]
fn a_report_that_cannot_be_written_ends_the_run_with_the_error_named() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let mut child = onslaught()
        .args([
            "run",
            "-w",
            "1",
            "-c",
            "2",
            "-z",
            "5s",
            "--quiet",
            "--report-dir",
        ])
        .arg(reports.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The running test's checkpoint creates its folder; replace it with a file.
    let deadline = Instant::now() + Duration::from_secs(5);
    let replaced = loop {
        assert!(Instant::now() < deadline, "no test folder appeared");
        let folder = std::fs::read_dir(reports.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.is_dir());
        if let Some(folder) = folder {
            let _ = std::fs::remove_dir_all(&folder);
            if std::fs::File::create_new(&folder).is_ok() {
                break folder;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = exits_within(&mut child, Duration::from_secs(25), "run");
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    assert_eq!(status.code(), Some(4), "{stdout}\n{stderr}");
    assert!(stdout.contains("Requests      [total"), "{stdout}");
    assert!(
        stdout.contains("Reports       not written: cannot write the report"),
        "{stdout}"
    );
    assert!(stderr.contains("cannot write the report"), "{stderr}");
    assert!(replaced.is_file());
}

/// `serve 2>&1 | tee log`, then Ctrl-C: tee dies with it and stderr is a broken pipe. The
/// process must still stop on SIGINT (it used to log before cancelling and the failed log write
/// killed the signal task). While stderr is a pipe, log lines carry no colour codes.
#[test]
fn serve_and_target_stop_on_signals_with_stderr_closed() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let serve = |stderr: Stdio| {
        onslaught()
            .args(["serve", "--drivers", "1", "--listen", "127.0.0.1:0"])
            .arg("--report-dir")
            .arg(reports.path())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap()
    };

    // stderr read to its end: plain text, no ANSI colour.
    let mut child = serve(Stdio::piped());
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    stdout_until(&mut child, "drivers ready");
    signal(&child, "INT");
    let status = exits_within(&mut child, Duration::from_secs(20), "serve");
    assert!(status.success(), "{status:?}");
    let log = reader.join().unwrap();
    assert!(log.contains("INFO"), "no log lines: {log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a piped log: {log:?}"
    );

    // stderr closed before the signal, for SIGINT and SIGTERM.
    for name in ["INT", "TERM"] {
        let mut child = serve(Stdio::piped());
        stdout_until(&mut child, "drivers ready");
        drop(child.stderr.take());
        signal(&child, name);
        let status = exits_within(&mut child, Duration::from_secs(20), "serve");
        assert!(status.success(), "SIG{name}: {status:?}");
    }

    let mut target = onslaught()
        .args(["target", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    stdout_until(&mut target, "target listening");
    drop(target.stderr.take());
    signal(&target, "TERM");
    let status = exits_within(&mut target, Duration::from_secs(10), "target");
    assert!(status.success(), "{status:?}");
}

/// `run` interrupted with its stderr closed still stops the test, prints its summary and exits
/// 3 (the "interrupted" notice to the closed stderr used to panic).
#[test]
fn run_stops_on_sigint_with_stderr_closed() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let mut child = onslaught()
        .args(["run", "-w", "1", "-c", "2", "-z", "60s", "--report-dir"])
        .arg(reports.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its first line of stderr says the built-in target is up; then close stderr.
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("built-in target"), "{first}");
    // Wait until the test runs (a report folder appears with its first checkpoint).
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_dir(reports.path()).unwrap().next().is_none() {
        assert!(Instant::now() < deadline, "the test did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, "INT");
    let status = exits_within(&mut child, Duration::from_secs(20), "run");
    let stdout = read_all(child.stdout.take());
    assert_eq!(status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("Status                "), "{stdout}");
    assert!(stdout.contains("aborted"), "{stdout}");
}

/// More connections than the open-file limit allows are refused up front (exit 2, naming the
/// flag and the limit) instead of running into "too many open files"; a soft limit below the
/// hard one is raised, so a run that fits under the hard limit works.
#[test]
fn concurrency_beyond_the_open_file_limit_is_refused_up_front() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let run = |limit: &str, args: &[&str]| {
        let mut child = Command::new("prlimit")
            .arg(format!("--nofile={limit}"))
            .arg(env!("CARGO_BIN_EXE_onslaught"))
            .arg("run")
            .args(args)
            .args(["--quiet", "-o", "json", "--report-dir"])
            .arg(reports.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status = exits_within(&mut child, Duration::from_secs(30), "run under prlimit");
        let stdout = read_all(child.stdout.take());
        let stderr = read_all(child.stderr.take());
        (status, stdout, stderr)
    };
    let args = ["-w", "1", "-c", "200", "-z", "1s"];
    let (status, _, stderr) = run("256:256", &args);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("-c/--concurrency 200"), "{stderr}");
    assert!(stderr.contains("256"), "{stderr}");
    // The soft limit of 256 is raised to the hard 4096: 400 connection ends fit.
    let (status, stdout, stderr) = run("256:4096", &args);
    assert_eq!(status.code(), Some(0), "{stderr}");
    let test: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(num(&test, "/aggregate/requests_sent") > 0.0);
    assert!(
        test["aggregate"]["errors"].as_object().unwrap().is_empty(),
        "{test}"
    );
}

/// A target that accepts connections and never answers: every request times out.
struct Silent {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Silent {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            let until = Instant::now() + Duration::from_secs(120);
            while !flag.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < until {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { addr, stop }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The duration bound holds whatever the target does: a schedule of 1,000/s on two connections
/// to a target that never answers queues hundreds of released requests; they used to be sent
/// one by one after the deadline, each waiting its timeout (minutes). The run must end by its
/// deadline plus the timeout, what was still under way counted as aborted.
#[test]
fn a_timed_run_ends_by_its_deadline_plus_the_timeout() {
    let _serial = support::serial();
    let silent = Silent::start();
    let reports = tempfile::tempdir().unwrap();
    let url = format!("http://{}/", silent.addr);
    let mut child = onslaught()
        .args(["run", &url, "-w", "1", "-c", "2", "--type", "tsunami"])
        .args(["--rate", "1000", "-z", "1s", "--timeout", "500ms"])
        .args(["--quiet", "-o", "json", "--report-dir"])
        .arg(reports.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Start-up, the 1 s run, the 0.5 s timeout, and the end of the test: well under 10 s.
    let status = exits_within(&mut child, Duration::from_secs(10), "run");
    let took = started.elapsed();
    let stdout = read_all(child.stdout.take());
    let test: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status.code(), Some(1), "no success: {test}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let facts = &test["node_facts"]["driver-1"];
    assert!(
        facts["elapsed_ms"].as_u64().unwrap() <= 1_500 + 300,
        "{facts}"
    );
    assert!(num(&test, "/aggregate/errors/timeout") >= 2.0, "{test}");
}

/// `--rate 300 -z 3s` sends exactly 900 per driver (the request intended at 3 s is not sent),
/// and the summary reads like vegeta's: attack to the last send, wait to the last response,
/// throughput = successes / (attack + wait) (it used to divide by the orchestrator's whole time:
/// 1,116/s for a 1,500/s run). Counts have thousands separators and the load line says "for 3s".
#[test]
fn a_timed_schedule_sends_exactly_and_the_summary_reads_like_vegeta() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let output = onslaught()
        .args(["run", "-w", "2", "--type", "tsunami", "--rate", "300"])
        .args(["-z", "3s", "--quiet", "--report-dir"])
        .arg(reports.path())
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{text}");
    let value = |label: &str| {
        let line = text
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no `{label}` in:\n{text}"));
        line.split_once(']')
            .map_or(line, |(_, v)| v)
            .trim()
            .to_owned()
    };
    assert!(
        value("Load").contains("for 3s on each of 2 drivers"),
        "{text}"
    );
    assert!(!text.contains("unbounded"), "{text}");
    let requests = value("Requests      [total");
    let parts: Vec<&str> = requests.split(", ").collect();
    assert_eq!(parts[0], "1,800", "{text}");
    let throughput: f64 = parts[2]
        .trim_end_matches("/s")
        .replace(',', "")
        .parse()
        .unwrap();
    let duration = value("Duration      [total");
    let seconds: Vec<f64> = duration
        .split(", ")
        .map(|s| s.trim_end_matches('s').parse().unwrap())
        .collect();
    let (attack, wait) = (seconds[1], seconds[2]);
    // The last send is intended at 2.9967 s; its response comes within milliseconds.
    assert!((2.99..3.05).contains(&attack), "attack {attack}: {text}");
    assert!(wait < 0.1, "wait {wait}: {text}");
    assert!(
        (throughput - 600.0).abs() <= 600.0 * 0.02,
        "throughput {throughput}/s for 600/s: {text}"
    );
    for driver in ["driver-1", "driver-2"] {
        let row = text
            .lines()
            .find(|l| l.trim_start().starts_with(driver))
            .unwrap();
        let sent = row.split_whitespace().nth(1).unwrap();
        assert_eq!(sent, "900", "{row}");
    }
}

/// `ONSLAUGHT_HEADERS` gives `-H` values, one per line; `--help` shows the whole `target` line.
#[test]
fn headers_come_from_the_environment_and_help_is_whole() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let output = onslaught()
        .env("ONSLAUGHT_HEADERS", "X-A: 1\nX-B: two")
        .args([
            "run", "-w", "1", "-c", "1", "-n", "2", "--quiet", "-o", "json",
        ])
        .arg("--report-dir")
        .arg(reports.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    let test: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let headers = test["config"]["headers"].as_array().unwrap();
    assert_eq!(headers.len(), 2, "{headers:?}");
    assert_eq!(headers[1]["name"], "X-B");
    assert_eq!(headers[1]["value"], "two");

    let help = onslaught().arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("Serve the built-in HTTP target (GET /ping, GET /metrics)"),
        "{help}"
    );
}

/// The number-format helpers the summary relies on are exercised in `summary.rs`; this keeps
/// `run_json` (shared support) in use here.
#[test]
fn json_runs_report_last_send_and_last_response() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let (test, output) = run_json(&["-w", "1", "-c", "1", "-n", "5"], reports.path());
    assert!(output.status.success());
    let facts = &test["node_facts"]["driver-1"];
    let last_send = facts["last_send_us"].as_u64().unwrap();
    let last_response = facts["last_response_us"].as_u64().unwrap();
    assert!(last_response >= last_send, "{facts}");
}
