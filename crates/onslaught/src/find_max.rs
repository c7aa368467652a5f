//! `onslaught run --find-max`: the highest rate at which the test's thresholds still pass.
//!
//! Like Nighthawk's adaptive load controller, but over whole steps: each step is a complete
//! tsunami test at one rate (per driver, as `--rate`) for the test's duration, judged by its
//! thresholds on the merged numbers of every driver. The rate doubles from `--rate` until a
//! step fails (or the ceiling is reached), then bisects between the highest passing and the
//! lowest failing rate until they are within `--find-max-precision` of each other or
//! `--find-max-steps` steps have run. The result names the highest passing rate and keeps the
//! curve of latency against rate (`find-max.json` in the report folder, and the summary).

use std::path::Path;
use std::time::Duration;

use onslaught_orchestrator::{Orchestrator, TestStatus, TestView};
use onslaught_plan::{Load, TestPlan, TestRequest};
use serde::Serialize;

use crate::exit;

/// Pause between steps, so the target's queues from an overloaded step drain before the next.
const SETTLE: Duration = Duration::from_secs(1);

/// How the search is bounded.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    /// Stop bisecting once `(lowest failing - highest passing) / highest passing` is at most
    /// this.
    pub precision: f64,
    /// Most steps (tests) run.
    pub max_steps: u32,
}

/// One step of the search: a test at one rate, and what it measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// The step's test id (its reports are in the report folder under it).
    pub test_id: String,
    /// Requests per second per driver.
    pub rate: f64,
    /// Requests per second of all drivers together, as scheduled.
    pub rate_total: f64,
    /// Requests per second achieved (responses and errors of all drivers over the test).
    pub achieved_rps: f64,
    /// Latency median, ms (from the intended send time).
    pub p50_ms: f64,
    /// Latency p99, ms.
    pub p99_ms: f64,
    /// Share of requests that failed.
    pub error_ratio: f64,
    /// Whether every threshold held.
    pub passed: bool,
}

/// What the search found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// The thresholds every step was judged by.
    pub thresholds: Vec<String>,
    /// Highest rate per driver at which every threshold held, if any did.
    pub highest_passing_rate: Option<f64>,
    /// The same for all drivers together.
    pub highest_passing_rate_total: Option<f64>,
    /// Lowest rate per driver at which a threshold failed, if any did.
    pub lowest_failing_rate: Option<f64>,
    /// Every step in the order run (the curve of latency against rate).
    pub steps: Vec<Step>,
}

/// The next rate to try after `steps`, or `None` when the search is over.
pub fn next_rate(start: f64, ceiling: f64, search: Search, steps: &[Step]) -> Option<f64> {
    if steps.len() >= usize::try_from(search.max_steps).unwrap_or(usize::MAX) {
        return None;
    }
    let pass = steps
        .iter()
        .filter(|s| s.passed)
        .map(|s| s.rate)
        .fold(None, |best: Option<f64>, r| {
            Some(best.map_or(r, |b| b.max(r)))
        });
    let fail = steps
        .iter()
        .filter(|s| !s.passed)
        .map(|s| s.rate)
        .fold(None, |low: Option<f64>, r| {
            Some(low.map_or(r, |l| l.min(r)))
        });
    match (pass, fail) {
        (None, None) => Some(start),
        // Still climbing: double, up to the ceiling (tried once).
        (Some(pass), None) => (pass < ceiling).then(|| (pass * 2.0).min(ceiling)),
        // The first step already failed: halve until one passes (or the rate is too low to
        // matter: a hundredth of the start).
        (None, Some(fail)) => (fail / 2.0 >= start / 100.0).then_some(fail / 2.0),
        (Some(pass), Some(fail)) => {
            ((fail - pass) / pass > search.precision).then_some((pass + fail) / 2.0)
        }
    }
}

/// Runs the search on `orchestrator` with `plan` as the model of every step (its rate replaced
/// by the step's). Returns the outcome and the exit code: 0 when a rate passed, 99 when none
/// did, the run's codes when a step could not run.
pub async fn run(
    orchestrator: &Orchestrator,
    plan: &TestPlan,
    drivers: u32,
    search: Search,
) -> anyhow::Result<(Outcome, u8)> {
    // Steps are constant rates per driver; a total rate starts at its share per driver.
    let start = match &plan.load {
        Load::Tsunami(schedule) if schedule.stages().is_none() => {
            schedule.driver_rate(drivers as usize)
        }
        Load::Tsunami(_) => anyhow::bail!("--find-max steps a constant rate, not stages"),
        Load::Avalanche | Load::Ramping(_) => anyhow::bail!("--find-max needs a rate (tsunami)"),
    };
    let ceiling = onslaught_plan::request::MAX_RATE;
    let mut outcome = Outcome {
        thresholds: plan
            .thresholds
            .iter()
            .map(|t| t.expression().to_owned())
            .collect(),
        highest_passing_rate: None,
        highest_passing_rate_total: None,
        lowest_failing_rate: None,
        steps: Vec::new(),
    };
    let mut code = exit::OK;
    while let Some(rate) = next_rate(start, ceiling, search, &outcome.steps) {
        if !outcome.steps.is_empty() {
            tokio::time::sleep(SETTLE).await;
        }
        // The step's test: the model with its rate, through the one validation.
        let mut request = TestRequest::from(plan);
        request.delay_ms = None;
        request.rate_total = None;
        request.rate = Some(rate);
        let step_plan = TestPlan::try_from(request)
            .map_err(|e| anyhow::anyhow!("invalid {}: {}", e.field, e.message))?;
        let test = orchestrator.create_test(step_plan).await?;
        let finished = orchestrator.wait_test(&test.id).await?;
        let step = step_of(&finished, rate, drivers);
        errln!(
            "find-max step {}: {} req/s per driver ({} total): p99 {:.2} ms, errors {:.2}%, {}",
            outcome.steps.len() + 1,
            trim(rate),
            trim(step.rate_total),
            step.p99_ms,
            step.error_ratio * 100.0,
            if step.passed { "passed" } else { "failed" }
        );
        outcome.steps.push(step);
        if !matches!(
            finished.status,
            TestStatus::Completed | TestStatus::Degraded
        ) {
            code = exit::ABORTED;
            break;
        }
    }
    let best = |passed: bool| outcome.steps.iter().filter(move |s| s.passed == passed);
    outcome.highest_passing_rate = best(true).map(|s| s.rate).reduce(f64::max);
    outcome.highest_passing_rate_total =
        outcome.highest_passing_rate.map(|r| r * f64::from(drivers));
    outcome.lowest_failing_rate = best(false).map(|s| s.rate).reduce(f64::min);
    if code == exit::OK && outcome.highest_passing_rate.is_none() {
        code = exit::THRESHOLDS_FAILED;
    }
    Ok((outcome, code))
}

fn step_of(test: &TestView, rate: f64, drivers: u32) -> Step {
    let a = &test.aggregate;
    Step {
        test_id: test.id.clone(),
        rate,
        rate_total: rate * f64::from(drivers),
        achieved_rps: a.rps,
        p50_ms: a.latency.median,
        p99_ms: a.latency.p99,
        error_ratio: a.failed_ratio(),
        passed: test.status == TestStatus::Completed && test.thresholds_passed(),
    }
}

/// A rate as people write it: whole when it is, else two decimals.
fn trim(rate: f64) -> String {
    if rate.fract() == 0.0 {
        format!("{rate:.0}")
    } else {
        format!("{rate:.2}")
    }
}

/// The outcome as text: one line per step in rate order (the curve), then the result.
pub fn text(outcome: &Outcome) -> String {
    use std::fmt::Write as _;
    let mut text = format!(
        "Find max: the highest rate at which {} held\n\n",
        outcome.thresholds.join(", ")
    );
    let _ = writeln!(
        text,
        "  {:>12} {:>12} {:>12} {:>10} {:>10} {:>8}  result",
        "rate/driver", "rate total", "achieved", "p50 ms", "p99 ms", "errors"
    );
    let mut steps: Vec<&Step> = outcome.steps.iter().collect();
    steps.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    for s in steps {
        let _ = writeln!(
            text,
            "  {:>12} {:>12} {:>12.1} {:>10.2} {:>10.2} {:>7.2}%  {}",
            trim(s.rate),
            trim(s.rate_total),
            s.achieved_rps,
            s.p50_ms,
            s.p99_ms,
            s.error_ratio * 100.0,
            if s.passed { "pass" } else { "FAIL" }
        );
    }
    text.push('\n');
    match (
        outcome.highest_passing_rate,
        outcome.highest_passing_rate_total,
    ) {
        (Some(rate), Some(total)) => {
            let _ = write!(
                text,
                "Highest passing rate: {} req/s per driver ({} req/s total)",
                trim(rate),
                trim(total)
            );
            match outcome.lowest_failing_rate {
                Some(fail) => {
                    let _ = writeln!(text, "; {} req/s per driver failed", trim(fail));
                }
                None => text.push_str("; no rate tried failed\n"),
            }
        }
        _ => text.push_str("No rate passed\n"),
    }
    text
}

/// Writes the outcome as `find-max.json` in `dir`.
pub fn write(dir: &Path, outcome: &Outcome) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join("find-max.json");
    std::fs::create_dir_all(dir)?;
    std::fs::write(&path, serde_json::to_vec_pretty(outcome)?)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rate: f64, passed: bool) -> Step {
        Step {
            test_id: String::new(),
            rate,
            rate_total: rate,
            achieved_rps: rate,
            p50_ms: 1.0,
            p99_ms: 2.0,
            error_ratio: 0.0,
            passed,
        }
    }

    const SEARCH: Search = Search {
        precision: 0.05,
        max_steps: 20,
    };

    /// The search doubles, then bisects, and ends within the precision around the edge.
    #[test]
    fn doubles_then_bisects_to_the_edge() {
        let edge = 437.0;
        let mut steps = Vec::new();
        while let Some(rate) = next_rate(50.0, 1e7, SEARCH, &steps) {
            steps.push(step(rate, rate <= edge));
        }
        let rates: Vec<f64> = steps.iter().map(|s| s.rate).collect();
        assert_eq!(&rates[..5], &[50.0, 100.0, 200.0, 400.0, 800.0]);
        let pass = steps.iter().filter(|s| s.passed).map(|s| s.rate);
        let best = pass.reduce(f64::max).unwrap();
        assert!(best <= edge && best >= edge * 0.95, "{best} {rates:?}");
        assert!(steps.len() < 12, "{rates:?}");
    }

    #[test]
    fn a_first_failure_halves_and_the_ceiling_and_step_limit_hold() {
        let mut steps = vec![step(100.0, false)];
        assert_eq!(next_rate(100.0, 1e7, SEARCH, &steps), Some(50.0));
        steps.push(step(50.0, true));
        assert_eq!(next_rate(100.0, 1e7, SEARCH, &steps), Some(75.0));
        let up = vec![step(600.0, true)];
        assert_eq!(next_rate(600.0, 1000.0, SEARCH, &up), Some(1000.0));
        let top = vec![step(600.0, true), step(1000.0, true)];
        assert_eq!(next_rate(600.0, 1000.0, SEARCH, &top), None);
        let limited = Search {
            max_steps: 2,
            ..SEARCH
        };
        assert_eq!(next_rate(600.0, 1e7, limited, &top), None);
        // Nothing passes down to a hundredth of the start: give up.
        let low = vec![step(1.0, false)];
        assert_eq!(next_rate(100.0, 1e7, SEARCH, &low), None);
    }

    #[test]
    fn the_text_lists_steps_by_rate_and_names_the_result() {
        let outcome = Outcome {
            thresholds: vec!["p99<50ms".into()],
            highest_passing_rate: Some(400.0),
            highest_passing_rate_total: Some(1200.0),
            lowest_failing_rate: Some(450.0),
            steps: vec![step(800.0, false), step(400.0, true), step(450.0, false)],
        };
        let text = text(&outcome);
        let p400 = text.find("  400 ").unwrap();
        let p450 = text.find("  450 ").unwrap();
        let p800 = text.find("  800 ").unwrap();
        assert!(p400 < p450 && p450 < p800, "{text}");
        assert!(
            text.contains("Highest passing rate: 400 req/s per driver (1200 req/s total)"),
            "{text}"
        );
    }
}
