//! Issue 15 item 3 with the real binary: `-o csv` writes the per-second series of test.json;
//! the text summary has an ASCII latency histogram and, with `--latency-spectrum`, HdrHistogram's
//! percentile distribution, both of every response.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::onslaught;

/// The one test.json under `reports`.
fn report(reports: &Path) -> serde_json::Value {
    let folder = std::fs::read_dir(reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    serde_json::from_slice(&std::fs::read(folder.join("test.json")).unwrap()).unwrap()
}

fn run(args: &[&str], reports: &Path) -> String {
    let output = onslaught()
        .arg("run")
        .args(args)
        .args(["--quiet", "--report-dir"])
        .arg(reports)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn csv_is_the_per_second_series_of_the_report() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let csv = run(&["-n", "200", "-w", "2", "-o", "csv"], reports.path());
    let test = report(reports.path());
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "second,requests,responses,errors,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,mean_ms,\
         requests_driver-1,requests_driver-2"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let series = test["series"].as_array().unwrap();
    assert_eq!(rows.len(), series.len());
    for (row, point) in rows.iter().zip(series) {
        assert_eq!(row[0], point["second"].to_string());
        assert_eq!(row[1], point["requests"].to_string());
        assert_eq!(row[2], point["responses"].to_string());
        if let Some(p99) = point["p99"].as_f64() {
            assert_eq!(row[7].parse::<f64>().unwrap(), p99);
        } else {
            assert_eq!(row[7], "");
        }
        assert_eq!(
            row[10],
            point["nodes"]["driver-1"].as_u64().unwrap_or(0).to_string()
        );
    }
    let sent: u64 = rows.iter().map(|r| r[1].parse::<u64>().unwrap()).sum();
    assert_eq!(sent, 400);
}

#[test]
fn the_text_summary_has_a_histogram_and_on_request_the_spectrum() {
    let _serial = support::serial();
    let reports = tempfile::tempdir().unwrap();
    let text = run(
        &["-n", "100", "-w", "2", "--latency-spectrum"],
        reports.path(),
    );
    let responses = report(reports.path())["aggregate"]["responses_received"]
        .as_u64()
        .unwrap();
    let histogram = text.split("Latency histogram:\n").nth(1).unwrap();
    let counted: u64 = histogram
        .lines()
        .take_while(|l| l.contains(" ms ["))
        .map(|l| {
            let inside = l.split('[').nth(1).unwrap().split(']').next().unwrap();
            inside.trim().parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(counted, responses, "{histogram}");
    let spectrum = text.split("Latency spectrum (ms):\n").nth(1).unwrap();
    assert!(spectrum.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
    let last = spectrum
        .lines()
        .rfind(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap();
    let fields: Vec<&str> = last.split_whitespace().collect();
    assert_eq!(fields[1], "1.000000000000");
    assert_eq!(fields[2], responses.to_string());
    assert!(spectrum.contains(&format!("Total count    = {responses:>12}]")));

    // Without the flag: the histogram, no spectrum.
    let reports = tempfile::tempdir().unwrap();
    let text = run(&["-n", "20", "-w", "1"], reports.path());
    assert!(text.contains("Latency histogram:"));
    assert!(!text.contains("Latency spectrum"));
}
