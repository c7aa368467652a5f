//! `onslaught compare BASE NEW [--max-regression SPEC]`: two tests' reports side by side, one
//! row per metric with its change and verdict (`onslaught_orchestrator::compare`); exit 1 when
//! a metric regressed past its tolerance, 2 when an input cannot be read.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use onslaught_orchestrator::compare::{self, Comparison, Metric, Row, Tolerances, Verdict};
use onslaught_orchestrator::html::{self, ReportFolder};
use onslaught_orchestrator::report::TestReport;

use crate::exit;
use crate::flags::CompareArgs;

/// Prints the comparison; the exit code says whether anything regressed.
pub fn run(args: &CompareArgs) -> anyhow::Result<u8> {
    let tolerances = match Tolerances::parse(args.max_regression.as_deref().unwrap_or("")) {
        Ok(t) => t,
        Err(e) => {
            errln!("error: --max-regression: {e}");
            return Ok(exit::BAD_CONFIG);
        }
    };
    let (base, new) = match (read(&args.base), read(&args.new)) {
        (Ok(base), Ok(new)) => (base, new),
        (Err(e), _) | (_, Err(e)) => {
            errln!("error: {e}");
            return Ok(exit::BAD_CONFIG);
        }
    };
    let comparison = compare::compare(&base, &new, &tolerances);
    outln!("{}", render(&base, &new, &comparison));
    if let Some(out) = &args.html {
        let folders = (folder_of(&args.base), folder_of(&args.new));
        let page = match (
            ReportFolder::read(&folders.0),
            ReportFolder::read(&folders.1),
        ) {
            (Ok(base), Ok(new)) => html::render_comparison(&base, &new, &comparison)?,
            (Err(e), _) | (_, Err(e)) => {
                errln!("error: --html: {e}");
                return Ok(exit::BAD_CONFIG);
            }
        };
        html::write_atomic(out, page.as_bytes())?;
        outln!("Comparison page: {}", out.display());
    }
    let regressions: Vec<String> = comparison
        .regressions()
        .map(|r| format!("{} ({})", r.metric.name(), change(r)))
        .collect();
    if regressions.is_empty() {
        outln!("No regression.");
        Ok(exit::OK)
    } else {
        outln!("Regression: {}", regressions.join(", "));
        Ok(exit::TEST_FAILED)
    }
}

/// The report folder of an argument: itself, or the folder of its test.json.
fn folder_of(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_owned()
    } else {
        path.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

/// A report folder's `test.json`, or the file itself.
fn read(path: &Path) -> Result<TestReport, String> {
    let file: PathBuf = if path.is_dir() {
        path.join("test.json")
    } else {
        path.to_owned()
    };
    let bytes = std::fs::read(&file).map_err(|e| {
        format!(
            "{}: {e} (give a report folder or its test.json)",
            file.display()
        )
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a report file: {e}", file.display()))
}

fn value(metric: Metric, v: Option<f64>) -> String {
    match (metric, v) {
        (_, None) => "-".to_owned(),
        (Metric::Throughput, Some(v)) => format!("{v:.1}/s"),
        (Metric::ErrorRate, Some(v)) => format!("{:.2}%", v * 100.0),
        (Metric::Latency(_), Some(v)) => format!("{v:.3}ms"),
    }
}

fn change(row: &Row) -> String {
    match (row.metric, row.base, row.new) {
        (Metric::ErrorRate, Some(b), Some(n)) => format!("{:+.2}pp", (n - b) * 100.0),
        _ => match row.relative_change() {
            Some(c) => format!("{:+.1}%", c * 100.0),
            None if row.base == row.new => "0".to_owned(),
            None => "-".to_owned(),
        },
    }
}

fn render(base: &TestReport, new: &TestReport, c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Base  {} ({}, {})",
        base.test.id,
        status(base),
        base.test.config.url
    );
    let _ = writeln!(
        out,
        "New   {} ({}, {})\n",
        new.test.id,
        status(new),
        new.test.config.url
    );
    let _ = writeln!(
        out,
        "{:<12} {:>14} {:>14} {:>11} {:>10}  verdict",
        "metric", "base", "new", "change", "tolerance"
    );
    for row in &c.rows {
        let _ = writeln!(
            out,
            "{:<12} {:>14} {:>14} {:>11} {:>10}  {}",
            row.metric.name(),
            value(row.metric, row.base),
            value(row.metric, row.new),
            change(row),
            row.tolerance.map_or("-".to_owned(), |t| t.to_string()),
            match row.verdict {
                Verdict::Ok => "ok",
                Verdict::Regression => "REGRESSION",
                Verdict::Info => "-",
            }
        );
    }
    out
}

fn status(report: &TestReport) -> String {
    serde_json::to_value(report.test.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
