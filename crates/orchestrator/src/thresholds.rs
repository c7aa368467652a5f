//! A test's thresholds judged on the merged data of all its drivers: the whole test from the
//! exact aggregate (histograms added, never averaged), a trailing window from the exact
//! per-second data of its last seconds ([`Recent`]). Judged on every view (the API, the
//! dashboard, checkpoints, the final report) and once a second for `abort_on_fail`.

use std::collections::BTreeMap;

use onslaught_plan::{ExpectStatus, LatencyStat, Metric, Threshold};
use onslaught_stats::{Histogram, Measurements};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::views::StatsView;

/// One threshold's verdict as the API, the reports and the summary show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThresholdResult {
    /// The expression as written (`p99 < 250ms`).
    pub expression: String,
    /// What was measured, in the metric's unit: ms for latency, a ratio (0 to 1) for
    /// `error_rate`, requests per second for `rps`; `null` while there is nothing to measure
    /// (no response yet for a latency, no request for a rate).
    pub value: Option<f64>,
    /// Whether it holds; a threshold with nothing measured does not.
    pub passed: bool,
}

/// The exact totals of a test's last seconds (on the test's clock), kept only for tests with
/// windowed thresholds and only as many seconds as the longest window asks.
#[derive(Debug)]
pub struct Recent {
    seconds: BTreeMap<u64, Measurements>,
    /// Seconds kept: the longest window.
    keep: u64,
}

impl Recent {
    /// Recent seconds for `thresholds`, if any has a window.
    pub fn for_thresholds(thresholds: &[Threshold]) -> Option<Self> {
        let keep = thresholds
            .iter()
            .filter_map(|t| t.window)
            .map(|w| w.as_secs())
            .max()?;
        Some(Self {
            seconds: BTreeMap::new(),
            keep,
        })
    }

    /// Adds an interval counted in `second`.
    pub fn add(&mut self, second: u64, data: &Measurements) {
        self.seconds.entry(second).or_default().add(data);
        let newest = self.seconds.keys().next_back().copied().unwrap_or(0);
        self.seconds
            .retain(|s, _| s.saturating_add(self.keep) > newest);
    }

    /// The last `window` seconds merged, and how many seconds they span (fewer early in a
    /// test).
    fn window(&self, window: u64) -> (Measurements, u64) {
        let newest = self.seconds.keys().next_back().copied().unwrap_or(0);
        let first = newest.saturating_sub(window.saturating_sub(1));
        let mut totals = Measurements::default();
        for t in self.seconds.range(first..).map(|(_, t)| t) {
            totals.add(t);
        }
        (totals, newest - first + 1)
    }
}

/// The verdict of each threshold: over the whole test from `whole` (its latency histogram and
/// its view, judged by `expect`), over a window from `recent`.
pub fn evaluate(
    thresholds: &[Threshold],
    whole_latency: &Histogram,
    whole: &StatsView,
    recent: Option<&Recent>,
    expect: &ExpectStatus,
) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let value = match (t.window, recent) {
                (Some(window), Some(recent)) => {
                    let (totals, seconds) = recent.window(window.as_secs());
                    let view = StatsView::of(&totals, seconds as f64).judged(expect);
                    measure(t.metric, &totals.latency, &view)
                }
                _ => measure(t.metric, whole_latency, whole),
            };
            ThresholdResult {
                expression: t.expression().to_owned(),
                value,
                passed: value.is_some_and(|v| t.passes(v)),
            }
        })
        .collect()
}

/// `metric` of the merged data, if there is something to measure.
fn measure(metric: Metric, latency: &Histogram, view: &StatsView) -> Option<f64> {
    let attempted = view
        .counters
        .requests_attempted
        .max(view.counters.requests_sent);
    match metric {
        Metric::Latency(_) if latency.is_empty() => None,
        Metric::Latency(stat) => {
            let micros = match stat {
                LatencyStat::Min => latency.min_micros() as f64,
                LatencyStat::Max => latency.max_micros() as f64,
                LatencyStat::Mean => latency.mean_micros(),
                LatencyStat::Percentile(p) => latency.quantile_micros(p / 100.0) as f64,
            };
            Some(micros / 1000.0)
        }
        Metric::ErrorRate => (attempted > 0).then(|| view.failed_ratio()),
        Metric::Rps => (attempted > 0).then_some(view.rps),
    }
}

/// Whether a threshold failed on something measured (what `abort_on_fail` acts on: a
/// threshold with nothing measured yet waits).
pub fn any_failed_on_data(results: &[ThresholdResult]) -> Option<&ThresholdResult> {
    results.iter().find(|r| r.value.is_some() && !r.passed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use onslaught_stats::Counters;

    use super::*;

    fn data(requests: u64, latency_ms: &[u64], status: u16) -> Measurements {
        let mut latency = Histogram::new();
        let mut counters = Counters::default();
        counters.requests_sent = requests;
        counters.requests_attempted = requests;
        for ms in latency_ms {
            latency.record(Duration::from_millis(*ms));
            counters.responses_received += 1;
            counters.status(status);
        }
        Measurements {
            latency,
            service: Histogram::new(),
            send_gaps: None,
            send_lag: None,
            counters,
            ..Measurements::default()
        }
    }

    fn thresholds(list: &[&str]) -> Vec<Threshold> {
        list.iter().map(|t| t.parse().unwrap()).collect()
    }

    #[test]
    fn percentiles_come_from_the_merged_histogram_not_an_average() {
        // Two drivers: one fast, one slow. Averaging their p99s would give ~500 ms; the merged
        // histogram's p99 is the slow driver's 1 s.
        let mut whole = Measurements::default();
        whole.add(&data(98, &[1; 98], 200));
        whole.add(&data(2, &[1000, 1000], 200));
        let view = StatsView::of(&whole, 10.0);
        let t = thresholds(&["p99 < 600ms", "p50 < 5ms", "rps >= 10", "error_rate < 1%"]);
        let r = evaluate(&t, &whole.latency, &view, None, &ExpectStatus::default());
        assert!(!r[0].passed);
        assert!((r[0].value.unwrap() - 1000.0).abs() < 1.0, "{r:?}");
        assert!(r[1].passed && r[2].passed && r[3].passed, "{r:?}");
        assert_eq!(r[2].value, Some(10.0));
        assert_eq!(r[3].value, Some(0.0));
        assert_eq!(r[0].expression, "p99 < 600ms");
    }

    #[test]
    fn errors_are_judged_by_the_tests_expected_statuses() {
        let mut whole = Measurements::default();
        whole.add(&data(10, &[1; 10], 404));
        let view = StatsView::of(&whole, 1.0);
        let t = thresholds(&["error_rate < 50%"]);
        let fails = evaluate(&t, &whole.latency, &view, None, &ExpectStatus::default());
        assert_eq!((fails[0].value, fails[0].passed), (Some(1.0), false));
        let expect = ExpectStatus::parse("404").unwrap();
        let view = view.judged(&expect);
        let passes = evaluate(&t, &whole.latency, &view, None, &expect);
        assert_eq!((passes[0].value, passes[0].passed), (Some(0.0), true));
    }

    #[test]
    fn nothing_measured_does_not_pass_and_does_not_abort() {
        let whole = Measurements::default();
        let view = StatsView::of(&whole, 0.0);
        let r = evaluate(
            &thresholds(&["p99 < 1s", "rps > 0"]),
            &whole.latency,
            &view,
            None,
            &ExpectStatus::default(),
        );
        assert!(r.iter().all(|r| r.value.is_none() && !r.passed));
        assert!(any_failed_on_data(&r).is_none());
    }

    #[test]
    fn a_window_sees_only_its_last_seconds() {
        let t = thresholds(&["p99[2s] < 100ms", "p99 < 100ms", "rps[2s] > 4"]);
        let mut recent = Recent::for_thresholds(&t).unwrap();
        let mut whole = Measurements::default();
        // A slow first second, then two fast ones.
        for (second, ms) in [(0, 500), (1, 10), (2, 10)] {
            let d = data(5, &[ms; 5], 200);
            recent.add(second, &d);
            whole.add(&d);
        }
        assert_eq!(recent.seconds.len(), 2);
        let view = StatsView::of(&whole, 3.0);
        let r = evaluate(
            &t,
            &whole.latency,
            &view,
            Some(&recent),
            &ExpectStatus::default(),
        );
        assert!(r[0].passed, "{r:?}");
        assert!(!r[1].passed, "{r:?}");
        assert_eq!(r[2].value, Some(5.0));
        assert!(Recent::for_thresholds(&thresholds(&["p99 < 1s"])).is_none());
    }
}
