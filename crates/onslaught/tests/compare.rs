//! `onslaught compare BASE NEW` with the real binary and real runs: a run against itself has no
//! regression (exit 0); a run against the same test with 200 ms added by the target regresses
//! and names p99 (exit 1); inputs that cannot be read exit 2 and say why.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use support::{TargetProcess, onslaught, run_json};

/// Runs 30 requests per driver against `url` and returns the report folder.
fn run(url: &str, reports: &Path) -> PathBuf {
    let (test, output) = run_json(&[url, "-n", "30", "-w", "3", "-c", "5"], reports);
    assert_eq!(output.status.code(), Some(0), "{test}");
    Path::new(test["report_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_owned()
}

fn compare(args: &[&Path], extra: &[&str]) -> (Output, String) {
    let output = onslaught()
        .arg("compare")
        .args(args)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

#[test]
fn a_run_against_itself_passes_and_200ms_more_names_p99() {
    let _serial = support::serial();
    let target = TargetProcess::start(&[]);
    let reports = tempfile::tempdir().unwrap();
    let base = run(&format!("{}/ping", target.base), reports.path());
    let slow = run(
        &format!("{}/ping?latency=200ms", target.base),
        reports.path(),
    );

    let (output, stdout) = compare(&[&base, &base], &[]);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("No regression."), "{stdout}");
    for metric in [
        "throughput",
        "error_rate",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(metric)),
            "{metric}: {stdout}"
        );
    }

    let (output, stdout) = compare(&[&base, &slow.join("test.json")], &[]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let p99 = stdout.lines().find(|l| l.starts_with("p99 ")).unwrap();
    assert!(p99.ends_with("REGRESSION"), "{p99}");
    let verdict = stdout.lines().last().unwrap();
    assert!(
        verdict.starts_with("Regression:") && verdict.contains("p99 ("),
        "{verdict}"
    );

    // The comparison page: the new run's report with the base run and the verdicts.
    let page_path = reports.path().join("compare.html");
    let (output, stdout) = compare(&[&base, &slow], &["--html", page_path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    if Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../dashboard/dist-report/report.html")
        .is_file()
    {
        assert!(stdout.contains("Comparison page: "), "{stdout}");
        let page = std::fs::read_to_string(&page_path).unwrap();
        let start = page.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let data: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        let base_json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(base.join("test.json")).unwrap()).unwrap();
        assert_eq!(data["base"]["report"]["id"], base_json["id"]);
        assert_eq!(data["base"]["report"]["aggregate"], base_json["aggregate"]);
        let p99 = data["base"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == "p99")
            .unwrap();
        assert_eq!(p99["verdict"], "regression", "{p99}");
        assert_eq!(p99["base"], base_json["aggregate"]["latency"]["p99"]);
        assert!(p99["new"].as_f64().unwrap() >= 200.0, "{p99}");
    }

    // A tolerance wide enough for 200 ms on every latency lets it pass.
    let wide =
        "p50=1000ms,p90=1000ms,p95=1000ms,p99=1000ms,p99.9=1000ms,mean=1000ms,throughput=100%";
    let (output, stdout) = compare(&[&base, &slow], &["--max-regression", wide]);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
}

#[test]
fn inputs_that_cannot_be_read_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _) = compare(&[dir.path(), dir.path()], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("test.json"), "{stderr}");

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../orchestrator/tests/fixtures/reports-14304d2/t-ab3c46c53c884ba18742b1ca4560ed18");
    let (output, stdout) = compare(&[&fixture, &fixture], &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "an old report compares: {stdout}"
    );
    let (output, _) = compare(&[&fixture, &fixture], &["--max-regression", "p98=1%"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown metric `p98`"));
}

/// Two tests run by a serving orchestrator, compared by id through its API: the JSON route,
/// the CLI's `--api`, the comparison page, and clear errors for what cannot be compared.
#[test]
fn tests_compare_by_id_through_the_api() {
    use onslaught_testkit::http;
    use onslaught_testkit::process::Child;

    let _serial = support::serial();
    let target = TargetProcess::start(&[]);
    let reports = tempfile::tempdir().unwrap();
    let mut command = onslaught();
    command
        .args(["serve", "--drivers", "2", "--listen", "127.0.0.1:0"])
        .arg("--report-dir")
        .arg(reports.path());
    let serve = Child::spawn(command, "dashboard: http://", Duration::from_secs(30), None);
    let api = serve.url();
    let run = |path: &str| -> String {
        let body = serde_json::json!({
            "test_type": "avalanche",
            "url": format!("{}{path}", target.base),
            "requests_per_driver": 30,
            "concurrency": 5,
            "start": true,
        });
        let created = http::post(&format!("{api}/api/tests"), &body);
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.json["id"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let view = http::get(&format!("{api}/api/tests/{id}"));
            if view.json["report_path"].is_string() {
                return id;
            }
            assert!(
                Instant::now() < deadline,
                "test {id} did not end: {}",
                view.body
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let base = run("/ping");
    let slow = run("/ping?latency=200ms");

    let same = http::get(&format!("{api}/api/tests/{base}/compare?base={base}"));
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(
        same.json["regressions"],
        serde_json::json!([]),
        "{}",
        same.body
    );
    assert_eq!(
        same.json["rows"].as_array().unwrap().len(),
        9,
        "{}",
        same.body
    );
    let worse = http::get(&format!("{api}/api/tests/{slow}/compare?base={base}"));
    assert_eq!(worse.status, 200, "{}", worse.body);
    assert!(
        worse.json["regressions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("p99")),
        "{}",
        worse.body
    );
    let p99 = worse.json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "p99")
        .unwrap();
    assert_eq!(p99["verdict"], "regression");
    assert!(p99["new"].as_f64().unwrap() >= 200.0, "{p99}");

    // The CLI by id: the same verdicts as from folders.
    let cli = |base: &str, new: &str, extra: &[&str]| {
        let output = onslaught()
            .args(["compare", base, new, "--api", &api])
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.code(), stdout, output.stderr)
    };
    let (code, stdout, _) = cli(&base, &base, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("No regression."), "{stdout}");
    let page = reports.path().join("by-id.html");
    let (code, stdout, stderr) = cli(&base, &slow, &["--html", page.to_str().unwrap()]);
    assert_eq!(
        code.filter(|c| *c != 4),
        Some(1),
        "{stdout} {}",
        String::from_utf8_lossy(&stderr)
    );
    let verdict = stdout.lines().last().unwrap();
    assert!(verdict.contains("p99 ("), "{verdict}");
    if Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../dashboard/dist-report/report.html")
        .is_file()
    {
        let page = std::fs::read_to_string(&page).unwrap();
        assert!(page.contains(&base) && page.contains(&slow));
    }

    // What cannot be compared says why.
    let no_base = http::get(&format!("{api}/api/tests/{slow}/compare"));
    assert_eq!(no_base.status, 400, "{}", no_base.body);
    assert_eq!(no_base.json["field"], "base");
    let bad = http::get(&format!(
        "{api}/api/tests/{slow}/compare?base={base}&max_regression=p99%3Dlots"
    ));
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json["field"], "max_regression");
    let unknown = http::get(&format!("{api}/api/tests/{slow}/compare?base=t-nope"));
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let (code, _, stderr) = cli("t-nope", &slow, &[]);
    assert_eq!(code, Some(2));
    assert!(String::from_utf8_lossy(&stderr).contains("404"));
}
