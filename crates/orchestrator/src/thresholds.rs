//! A test's thresholds judged on the merged data of all its drivers: the whole test from the
//! exact aggregate (histograms added, never averaged), a trailing window from the exact
//! per-second data of its last seconds ([`Recent`]). Judged on every view (the API, the
//! dashboard, checkpoints, the final report) and once a second for `abort_on_fail`.

use std::collections::{BTreeMap, BTreeSet};

use onslaught_plan::{Accepted, LatencyStat, Metric, Threshold};
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
    /// The threshold's warm-up (`after`) is not over: no data of a second from it on has
    /// come in, so its verdict is pending (neither pass nor fail yet; `passed` false, `value`
    /// null). A test that ends before its warm-up does fails it: nothing was measured.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warming_up: bool,
}

/// The exact data thresholds judge beyond the whole test's aggregate, on the test's clock:
/// the totals of its last seconds (kept only for windowed thresholds and only as many seconds
/// as the longest window asks), and the totals from each warm-up's end on (`after`).
#[derive(Debug)]
pub struct Recent {
    seconds: BTreeMap<u64, Measurements>,
    /// Seconds kept: the longest window (0: none).
    keep: u64,
    /// The request names a windowed or warmed-up threshold judges: the only names kept (a
    /// hundred names for ten minutes would otherwise take gigabytes).
    names: BTreeSet<String>,
    /// Totals of the seconds from each warm-up's end on, by the warm-up in seconds.
    since: BTreeMap<u64, Measurements>,
    /// The newest second with data, if any came in.
    newest: Option<u64>,
}

impl Recent {
    /// What `thresholds` need, if any has a window or a warm-up.
    pub fn for_thresholds(thresholds: &[Threshold]) -> Option<Self> {
        let keep = thresholds
            .iter()
            .filter_map(|t| t.window)
            .map(|w| w.as_secs())
            .max()
            .unwrap_or(0);
        let since: BTreeMap<u64, Measurements> = thresholds
            .iter()
            .filter_map(|t| t.after)
            .map(|a| (a.as_secs(), Measurements::default()))
            .collect();
        if keep == 0 && since.is_empty() {
            return None;
        }
        let names = thresholds
            .iter()
            .filter(|t| t.window.is_some() || t.after.is_some())
            .filter_map(|t| t.name.clone())
            .collect();
        Some(Self {
            seconds: BTreeMap::new(),
            keep,
            names,
            since,
            newest: None,
        })
    }

    /// Adds an interval counted in `second` (of its names, only those a window or warm-up
    /// judges).
    pub fn add(&mut self, second: u64, data: &Measurements) {
        let newest = self.newest.map_or(second, |n| n.max(second));
        self.newest = Some(newest);
        let names = &self.names;
        let add = |kept: &mut Measurements| {
            kept.add_whole(data);
            for name in names {
                if let Some(part) = data.by_name.get(name) {
                    kept.by_name.entry(name.clone()).or_default().add(part);
                }
            }
        };
        for (_, kept) in self.since.range_mut(..=second) {
            add(kept);
        }
        if self.keep > 0 {
            add(self.seconds.entry(second).or_default());
            self.seconds
                .retain(|s, _| s.saturating_add(self.keep) > newest);
        }
    }

    /// Whether data of a second at or past `after` seconds has come in (the warm-up is over).
    fn past(&self, after: u64) -> bool {
        self.newest.is_some_and(|n| n >= after)
    }

    /// The last `window` seconds from second `from` on merged, and how many seconds they span
    /// (fewer early in a test or its warm-up's end).
    fn window(&self, window: u64, from: u64) -> (Measurements, u64) {
        let newest = self.newest.unwrap_or(0);
        let first = newest.saturating_sub(window.saturating_sub(1)).max(from);
        let mut totals = Measurements::default();
        for t in self.seconds.range(first..).map(|(_, t)| t) {
            totals.add(t);
        }
        (totals, (newest + 1).saturating_sub(first).max(1))
    }

    /// The totals from second `after` on, and how many seconds they span.
    fn since(&self, after: u64) -> Option<(&Measurements, u64)> {
        let totals = self.since.get(&after)?;
        let newest = self.newest?;
        Some((totals, (newest + 1).saturating_sub(after).max(1)))
    }
}

/// The verdict of each threshold: over the whole test from `whole` (its merged measurements
/// and their view, judged by `accepted`), over a window or from a warm-up's end from `recent`;
/// a threshold on a request name from that name's part of them. A threshold whose warm-up is
/// not over is pending.
pub fn evaluate(
    thresholds: &[Threshold],
    whole: &Measurements,
    view: &StatsView,
    recent: Option<&Recent>,
    accepted: &Accepted,
) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let after = t.after.map(|a| a.as_secs());
            if let Some(after) = after
                && !recent.is_some_and(|r| r.past(after))
            {
                return ThresholdResult {
                    expression: t.expression().to_owned(),
                    value: None,
                    passed: false,
                    warming_up: true,
                };
            }
            let value = match (t.window, after, recent) {
                (Some(window), after, Some(recent)) => {
                    let (totals, seconds) = recent.window(window.as_secs(), after.unwrap_or(0));
                    let view = StatsView::of(&totals, seconds as f64).judged(accepted);
                    measure_scoped(t, &totals, &view)
                }
                (None, Some(after), Some(recent)) => {
                    recent.since(after).and_then(|(totals, seconds)| {
                        let view = StatsView::of(totals, seconds as f64).judged(accepted);
                        measure_scoped(t, totals, &view)
                    })
                }
                _ => measure_scoped(t, whole, view),
            };
            ThresholdResult {
                expression: t.expression().to_owned(),
                value,
                passed: value.is_some_and(|v| t.passes(v)),
                warming_up: false,
            }
        })
        .collect()
}

/// `t`'s metric of the merged data, or of its request name's part of it (nothing to measure
/// while that name has no data).
fn measure_scoped(t: &Threshold, totals: &Measurements, view: &StatsView) -> Option<f64> {
    match &t.name {
        None => measure(t.metric, &totals.latency, view),
        Some(name) => measure(
            t.metric,
            &totals.by_name.get(name)?.latency,
            view.by_name.get(name)?,
        ),
    }
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
        Metric::Checks => view.checks_ratio(),
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
        let r = evaluate(&t, &whole, &view, None, &Accepted::default());
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
        let fails = evaluate(&t, &whole, &view, None, &Accepted::default());
        assert_eq!((fails[0].value, fails[0].passed), (Some(1.0), false));
        let expect = Accepted::from(onslaught_plan::ExpectStatus::parse("404").unwrap());
        let view = view.judged(&expect);
        let passes = evaluate(&t, &whole, &view, None, &expect);
        assert_eq!((passes[0].value, passes[0].passed), (Some(0.0), true));
    }

    #[test]
    fn nothing_measured_does_not_pass_and_does_not_abort() {
        let whole = Measurements::default();
        let view = StatsView::of(&whole, 0.0);
        let r = evaluate(
            &thresholds(&["p99 < 1s", "rps > 0"]),
            &whole,
            &view,
            None,
            &Accepted::default(),
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
        let r = evaluate(&t, &whole, &view, Some(&recent), &Accepted::default());
        assert!(r[0].passed, "{r:?}");
        assert!(!r[1].passed, "{r:?}");
        assert_eq!(r[2].value, Some(5.0));
        assert!(Recent::for_thresholds(&thresholds(&["p99 < 1s"])).is_none());
    }

    /// One driver's interval of a flow test: `login` requests at `login_ms`, `item` requests
    /// at `item_ms`, with checks passed and failed.
    fn named(login_ms: &[u64], item_ms: &[u64], checks: (u64, u64)) -> Measurements {
        let mut whole = Measurements::default();
        for (name, ms) in [("login", login_ms), ("item", item_ms)] {
            let mut part = data(ms.len() as u64, ms, 200);
            part.counters.checks_passed = checks.0;
            part.counters.checks_failed = checks.1;
            whole.counters.add(&part.counters);
            whole.latency.add(&part.latency);
            whole.by_name.insert(name.to_owned(), part);
        }
        whole
    }

    #[test]
    fn a_name_is_judged_on_its_own_merged_histogram_and_checks_on_their_share() {
        // Two drivers: login is fast on one, slow on the other; item is slow everywhere.
        let a = named(&[10; 95], &[900; 10], (99, 0));
        let b = named(&[300; 5], &[900; 10], (100, 1));
        let mut whole = Measurements::default();
        whole.add(&a);
        whole.add(&b);
        let view = StatsView::of(&whole, 1.0);
        let t = thresholds(&[
            "login: p95 < 400ms",
            "login: p96 < 100ms",
            "p95 < 400ms",
            "checks > 99%",
            "item: checks >= 99.9%",
            "missing: p95 < 1s",
            "item: rps >= 20",
        ]);
        let r = evaluate(&t, &whole, &view, None, &Accepted::default());
        // p95 of login's 100 samples is the 95th, 10 ms; p96 is 300 ms: from one histogram of
        // every login sample, not from the drivers' own percentiles.
        let mut all_login = Histogram::new();
        for ms in [10; 95].into_iter().chain([300; 5]) {
            all_login.record(Duration::from_millis(ms));
        }
        let p = |q: f64| all_login.quantile_micros(q) as f64 / 1000.0;
        assert_eq!(r[0].value, Some(p(0.95)), "{r:?}");
        assert!(r[0].passed && (r[0].value.unwrap() - 10.0).abs() < 0.1);
        assert_eq!(r[1].value, Some(p(0.96)));
        assert!(!r[1].passed);
        // The whole test's p95 holds item's 900 ms.
        assert!(!r[2].passed && r[2].value.unwrap() > 800.0, "{r:?}");
        // Checks: 398 passed of 400 over both names and drivers.
        assert_eq!(r[3].value, Some(398.0 / 400.0));
        assert!(r[3].passed);
        assert_eq!(r[4].value, Some(199.0 / 200.0));
        assert!(!r[4].passed);
        // A name without data is not measured: it does not pass, nor abort.
        assert_eq!((r[5].value, r[5].passed), (None, false));
        assert_eq!((r[6].value, r[6].passed), (Some(20.0), true));
        // No check ran: nothing measured.
        let plain = data(3, &[1, 2, 3], 200);
        let r = evaluate(
            &thresholds(&["checks > 99%"]),
            &plain,
            &StatsView::of(&plain, 1.0),
            None,
            &Accepted::default(),
        );
        assert_eq!((r[0].value, r[0].passed), (None, false));
    }

    #[test]
    fn a_named_window_sees_only_its_names_last_seconds() {
        let t = thresholds(&["login: p99[1s] < 100ms", "login: p99 < 100ms"]);
        let mut recent = Recent::for_thresholds(&t).unwrap();
        let mut whole = Measurements::default();
        for (second, ms) in [(0, 500), (1, 10)] {
            let d = named(&[ms; 3], &[1; 3], (0, 0));
            recent.add(second, &d);
            whole.add(&d);
        }
        let view = StatsView::of(&whole, 2.0);
        let r = evaluate(&t, &whole, &view, Some(&recent), &Accepted::default());
        assert!(r[0].passed && !r[1].passed, "{r:?}");
        // Only the names a window judges are kept per second.
        assert!(
            recent
                .seconds
                .values()
                .all(|m| m.by_name.keys().eq(["login"]))
        );
    }
}
