//! Comparing two tests' reports (`onslaught compare BASE NEW`): one [`Row`] per metric
//! (throughput, error rate, each latency percentile) with the change and a verdict against a
//! [`Tolerance`] per metric, and per request name ([`NameRows`]: p50, p95, p99, error rate). Pure: reading the folders and printing are the binary's.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::Serialize;

use crate::report::TestReport;
use crate::views::StatsView;
use onslaught_stats::Summary;

/// What is compared, in the order rows are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Requests sent per second over the time measured; lower is worse.
    Throughput,
    /// Share of requests attempted that failed (no accepted status); higher is worse.
    ErrorRate,
    /// Latency percentiles and statistics (ms); higher is worse.
    Latency(LatencyStat),
}

/// A latency statistic of a [`Summary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LatencyStat {
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Largest.
    Max,
    /// Mean.
    Mean,
}

impl LatencyStat {
    /// Every statistic, in display order.
    pub const ALL: [LatencyStat; 7] = [
        LatencyStat::P50,
        LatencyStat::P90,
        LatencyStat::P95,
        LatencyStat::P99,
        LatencyStat::P999,
        LatencyStat::Max,
        LatencyStat::Mean,
    ];

    fn of(self, s: &Summary) -> f64 {
        match self {
            LatencyStat::P50 => s.median,
            LatencyStat::P90 => s.p90,
            LatencyStat::P95 => s.p95,
            LatencyStat::P99 => s.p99,
            LatencyStat::P999 => s.p999,
            LatencyStat::Max => s.max,
            LatencyStat::Mean => s.mean,
        }
    }
}

impl Metric {
    /// Every metric, in display order.
    pub fn all() -> impl Iterator<Item = Metric> {
        [Metric::Throughput, Metric::ErrorRate]
            .into_iter()
            .chain(LatencyStat::ALL.into_iter().map(Metric::Latency))
    }

    /// The name used in tolerances and tables (`p99`, `error_rate`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::ErrorRate => "error_rate",
            Metric::Latency(LatencyStat::P50) => "p50",
            Metric::Latency(LatencyStat::P90) => "p90",
            Metric::Latency(LatencyStat::P95) => "p95",
            Metric::Latency(LatencyStat::P99) => "p99",
            Metric::Latency(LatencyStat::P999) => "p99.9",
            Metric::Latency(LatencyStat::Max) => "max",
            Metric::Latency(LatencyStat::Mean) => "mean",
        }
    }

    /// Whether a larger value is worse.
    fn higher_is_worse(self) -> bool {
        !matches!(self, Metric::Throughput)
    }

    /// The tolerance used when none is given: 10% for throughput and every latency statistic
    /// but the maximum (one sample: not judged), half a percentage point of error rate.
    pub fn default_tolerance(self) -> Option<Tolerance> {
        match self {
            Metric::ErrorRate => Some(Tolerance::Points(0.5)),
            Metric::Latency(LatencyStat::Max) => None,
            _ => Some(Tolerance::Percent(10.0)),
        }
    }

    /// The metrics compared per request name, in display order.
    pub const PER_NAME: [Metric; 4] = [
        Metric::Latency(LatencyStat::P50),
        Metric::Latency(LatencyStat::P95),
        Metric::Latency(LatencyStat::P99),
        Metric::ErrorRate,
    ];

    fn value(self, report: &TestReport) -> Option<f64> {
        self.value_of(&report.test.aggregate)
    }

    fn value_of(self, stats: &StatsView) -> Option<f64> {
        match self {
            Metric::Throughput => Some(stats.rps),
            Metric::ErrorRate => Some(stats.failed_ratio()),
            Metric::Latency(stat) => (stats.latency.count > 0).then(|| stat.of(&stats.latency)),
        }
    }
}

impl FromStr for Metric {
    type Err = CompareError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        let aliases = [("rps", "throughput"), ("p999", "p99.9"), ("median", "p50")];
        let name = aliases
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name.as_str(), |(_, canonical)| canonical);
        Metric::all()
            .find(|m| m.name() == name)
            .ok_or_else(|| CompareError::UnknownMetric(s.trim().to_owned()))
    }
}

/// How much worse a metric may get before it is a regression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tolerance {
    /// Relative to the base value: `10%`.
    Percent(f64),
    /// Percentage points, for ratios: `0.5pp`.
    Points(f64),
    /// Milliseconds, for latencies: `5ms`.
    Millis(f64),
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tolerance::Percent(p) => write!(f, "{p}%"),
            Tolerance::Points(p) => write!(f, "{p}pp"),
            Tolerance::Millis(ms) => write!(f, "{ms}ms"),
        }
    }
}

impl FromStr for Tolerance {
    type Err = CompareError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || CompareError::BadTolerance(t.to_owned());
        let (number, make): (&str, fn(f64) -> Tolerance) = if let Some(n) = t.strip_suffix("pp") {
            (n, Tolerance::Points)
        } else if let Some(n) = t.strip_suffix('%') {
            (n, Tolerance::Percent)
        } else if let Some(n) = t.strip_suffix("ms") {
            (n, Tolerance::Millis)
        } else {
            return Err(bad());
        };
        let value: f64 = number.trim().parse().map_err(|_| bad())?;
        if !value.is_finite() || value < 0.0 {
            return Err(bad());
        }
        Ok(make(value))
    }
}

/// The tolerance of every metric: the defaults, overridden by `--max-regression`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tolerances(BTreeMap<Metric, Option<Tolerance>>);

impl Default for Tolerances {
    fn default() -> Self {
        Self(Metric::all().map(|m| (m, m.default_tolerance())).collect())
    }
}

impl Tolerances {
    /// The defaults with `spec` (`p99=10%,error_rate=0.5pp,max=50ms`) applied. A tolerance must
    /// fit its metric: `pp` only for the error rate, `ms` only for latencies.
    pub fn parse(spec: &str) -> Result<Self, CompareError> {
        let mut tolerances = Self::default();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| CompareError::BadTolerance(item.to_owned()))?;
            let metric: Metric = name.parse()?;
            let tolerance: Tolerance = value.parse()?;
            let fits = matches!(
                (metric, tolerance),
                (_, Tolerance::Percent(_))
                    | (Metric::ErrorRate, Tolerance::Points(_))
                    | (Metric::Latency(_), Tolerance::Millis(_))
            );
            if !fits {
                return Err(CompareError::BadTolerance(format!(
                    "{item}: {} takes {}",
                    metric.name(),
                    match metric {
                        Metric::ErrorRate => "percentage points (0.5pp) or a percentage",
                        Metric::Latency(_) => "a percentage (10%) or milliseconds (5ms)",
                        Metric::Throughput => "a percentage (10%)",
                    }
                )));
            }
            tolerances.0.insert(metric, Some(tolerance));
        }
        Ok(tolerances)
    }

    /// The tolerance of `metric`, if it is judged.
    pub fn of(&self, metric: Metric) -> Option<Tolerance> {
        self.0.get(&metric).copied().flatten()
    }
}

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CompareError {
    /// A metric name that is not compared.
    #[error(
        "unknown metric `{0}`: use throughput, error_rate, p50, p90, p95, p99, p99.9, max or mean"
    )]
    UnknownMetric(String),
    /// A tolerance that cannot be read.
    #[error("bad tolerance `{0}`: write metric=10%, error_rate=0.5pp or p99=5ms")]
    BadTolerance(String),
}

/// The verdict of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within its tolerance (or better).
    Ok,
    /// Worse than its tolerance allows.
    Regression,
    /// Not judged (no tolerance, or a value missing on one side).
    Info,
}

/// One metric of both runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// What is compared.
    pub metric: Metric,
    /// The base run's value (`None`: no responses, no latency).
    pub base: Option<f64>,
    /// The new run's value.
    pub new: Option<f64>,
    /// The tolerance it was judged against.
    pub tolerance: Option<Tolerance>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Row {
    /// The change from base to new, relative (1.0 = +100%), when base is not 0.
    pub fn relative_change(&self) -> Option<f64> {
        match (self.base, self.new) {
            (Some(b), Some(n)) if b != 0.0 => Some((n - b) / b),
            _ => None,
        }
    }
}

/// Which runs a request name has requests in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Both runs.
    Both,
    /// The base run only (the new run lost it, or renamed it).
    BaseOnly,
    /// The new run only.
    NewOnly,
}

/// One request name of both runs: its rows ([`Metric::PER_NAME`]), judged as the whole's are
/// when the name is in both runs, not judged when it is in one only.
#[derive(Clone, Debug, PartialEq)]
pub struct NameRows {
    /// The request name.
    pub name: String,
    /// Which runs have it.
    pub presence: Presence,
    /// Its rows.
    pub rows: Vec<Row>,
}

/// The comparison of two runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// One row per metric, in [`Metric::all`] order.
    pub rows: Vec<Row>,
    /// Per request name of either run (tests with flows), in name order.
    pub by_name: Vec<NameRows>,
}

impl Comparison {
    /// The metrics that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::Regression)
    }

    /// The per-name metrics that regressed, with their names.
    pub fn name_regressions(&self) -> impl Iterator<Item = (&str, &Row)> {
        self.by_name.iter().flat_map(|n| {
            n.rows
                .iter()
                .filter(|r| r.verdict == Verdict::Regression)
                .map(|r| (n.name.as_str(), r))
        })
    }

    /// Every regression as users read it: `p99`, `login: p99`.
    pub fn regression_names(&self) -> Vec<String> {
        self.regressions()
            .map(|r| r.metric.name().to_owned())
            .chain(
                self.name_regressions()
                    .map(|(name, r)| format!("{name}: {}", r.metric.name())),
            )
            .collect()
    }

    /// Whether anything regressed, the whole or a name.
    pub fn regressed(&self) -> bool {
        self.regressions().next().is_some() || self.name_regressions().next().is_some()
    }
}

/// One metric of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct ComparisonRow {
    /// `throughput`, `error_rate`, `p50` … `p99.9`, `max`, `mean`.
    pub metric: String,
    /// The base run's value (req/s, a ratio, or ms); `null` without one.
    pub base: Option<f64>,
    /// The new run's value.
    pub new: Option<f64>,
    /// The tolerance it was judged against (`10%`, `0.5pp`, `5ms`); `null`: not judged.
    pub tolerance: Option<String>,
    /// `ok`, `regression`, or `info` (not judged).
    pub verdict: String,
}

impl ComparisonRow {
    /// The row as users read it.
    pub fn of(row: &Row) -> Self {
        Self {
            metric: row.metric.name().to_owned(),
            base: row.base,
            new: row.new,
            tolerance: row.tolerance.map(|t| t.to_string()),
            verdict: match row.verdict {
                Verdict::Ok => "ok",
                Verdict::Regression => "regression",
                Verdict::Info => "info",
            }
            .to_owned(),
        }
    }
}

/// One request name of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct NameComparisonView {
    /// The request name.
    pub name: String,
    /// `both`, `base_only` (the new run has no request of this name) or `new_only`.
    pub presence: String,
    /// Its rows: `p50`, `p95`, `p99`, `error_rate`.
    pub rows: Vec<ComparisonRow>,
}

impl NameComparisonView {
    /// The view of `rows`.
    pub fn of(rows: &NameRows) -> Self {
        Self {
            name: rows.name.clone(),
            presence: match rows.presence {
                Presence::Both => "both",
                Presence::BaseOnly => "base_only",
                Presence::NewOnly => "new_only",
            }
            .to_owned(),
            rows: rows.rows.iter().map(ComparisonRow::of).collect(),
        }
    }
}

/// A comparison as the API answers it (`GET /api/tests/{id}/compare?base=...`) and the
/// dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct ComparisonView {
    /// The base run's test id.
    pub base: String,
    /// The new run's test id.
    pub new: String,
    /// One row per metric, as `onslaught compare` prints them.
    pub rows: Vec<ComparisonRow>,
    /// Per request name of either run (tests with flows; empty otherwise), in name order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_name: Vec<NameComparisonView>,
    /// The metrics that regressed past their tolerance, a request name's as `NAME: p99`
    /// (empty: no regression).
    pub regressions: Vec<String>,
}

impl ComparisonView {
    /// The view of `comparison` of `new` against `base`.
    pub fn of(base: &TestReport, new: &TestReport, comparison: &Comparison) -> Self {
        Self {
            base: base.test.id.clone(),
            new: new.test.id.clone(),
            rows: comparison.rows.iter().map(ComparisonRow::of).collect(),
            by_name: comparison
                .by_name
                .iter()
                .map(NameComparisonView::of)
                .collect(),
            regressions: comparison.regression_names(),
        }
    }
}

/// Compares `new` against `base`, each metric against its tolerance, the whole and each
/// request name (a name in one run only is shown, not judged).
pub fn compare(base: &TestReport, new: &TestReport, tolerances: &Tolerances) -> Comparison {
    let rows = Metric::all()
        .map(|metric| row(metric, metric.value(base), metric.value(new), tolerances))
        .collect();
    let (base_names, new_names) = (&base.test.aggregate.by_name, &new.test.aggregate.by_name);
    let mut names: Vec<&String> = base_names.keys().chain(new_names.keys()).collect();
    names.sort();
    names.dedup();
    let by_name = names
        .into_iter()
        .map(|name| {
            let (b, n) = (base_names.get(name), new_names.get(name));
            let presence = match (b, n) {
                (Some(_), None) => Presence::BaseOnly,
                (None, Some(_)) => Presence::NewOnly,
                _ => Presence::Both,
            };
            let rows = Metric::PER_NAME
                .into_iter()
                .map(|metric| {
                    let (bv, nv) = (
                        b.and_then(|s| metric.value_of(s)),
                        n.and_then(|s| metric.value_of(s)),
                    );
                    match presence {
                        Presence::Both => row(metric, bv, nv, tolerances),
                        _ => Row {
                            metric,
                            base: bv,
                            new: nv,
                            tolerance: None,
                            verdict: Verdict::Info,
                        },
                    }
                })
                .collect();
            NameRows {
                name: name.clone(),
                presence,
                rows,
            }
        })
        .collect();
    Comparison { rows, by_name }
}

/// `metric`'s row of values `b` (base) and `n` (new), judged against its tolerance.
fn row(metric: Metric, b: Option<f64>, n: Option<f64>, tolerances: &Tolerances) -> Row {
    let tolerance = tolerances.of(metric);
    let verdict = match (b, n, tolerance) {
        (Some(b), Some(n), Some(t)) => judge(metric, b, n, t),
        // Responses in the base run and none in the new: every latency is lost.
        (Some(_), None, Some(_)) if matches!(metric, Metric::Latency(_)) => Verdict::Regression,
        _ => Verdict::Info,
    };
    Row {
        metric,
        base: b,
        new: n,
        tolerance,
        verdict,
    }
}

fn judge(metric: Metric, base: f64, new: f64, tolerance: Tolerance) -> Verdict {
    // How much worse, in the metric's own unit (positive: worse).
    let worse = if metric.higher_is_worse() {
        new - base
    } else {
        base - new
    };
    let allowed = match tolerance {
        Tolerance::Percent(p) => base.abs() * p / 100.0,
        Tolerance::Points(pp) => pp / 100.0,
        Tolerance::Millis(ms) => ms,
    };
    // A change within rounding of the stored numbers is no change.
    if worse > allowed + 1e-9 {
        Verdict::Regression
    } else {
        Verdict::Ok
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use super::*;
    use crate::report::Histograms;
    use crate::views::{StatsView, TestStatus, TestView};

    fn report(rps: f64, success: f64, p99: f64) -> TestReport {
        let latency = Summary {
            count: 100,
            min: 1.0,
            max: p99 * 2.0,
            mean: 2.0,
            stdev: 1.0,
            median: 2.0,
            mode: 2.0,
            p90: 3.0,
            p95: 4.0,
            p99,
            p999: p99,
        };
        let mut counters = onslaught_stats::Counters::default();
        counters.requests_attempted = 1000;
        counters.requests_sent = 1000;
        let aggregate = StatsView {
            counters,
            rps,
            success_ratio: success,
            latency,
            ..StatsView::default()
        };
        TestReport {
            report_version: 1,
            test: TestView {
                aggregate,
                ..TestView::fixture("t", TestStatus::Completed)
            },
            histograms: Histograms::default(),
            node_reports: BTreeMap::new(),
        }
    }

    fn regressed(c: &Comparison) -> Vec<&'static str> {
        c.regressions().map(|r| r.metric.name()).collect()
    }

    #[test]
    fn a_run_against_itself_has_no_regression() {
        let r = report(1000.0, 1.0, 5.0);
        let c = compare(&r, &r, &Tolerances::default());
        assert!(regressed(&c).is_empty());
        assert_eq!(c.rows.len(), 9);
        assert_eq!(c.rows[0].metric, Metric::Throughput);
        let max = c.rows.iter().find(|r| r.metric.name() == "max").unwrap();
        assert_eq!(max.verdict, Verdict::Info, "max is not judged by default");
    }

    #[test]
    fn each_metric_is_judged_in_its_direction() {
        let base = report(1000.0, 1.0, 5.0);
        // 200 ms added: every latency percentile regresses.
        let slow = report(1000.0, 1.0, 205.0);
        assert_eq!(
            regressed(&compare(&base, &slow, &Tolerances::default())),
            ["p99", "p99.9"]
        );
        // Throughput down 11% regresses; up does not; latency down does not.
        assert_eq!(
            regressed(&compare(
                &base,
                &report(890.0, 1.0, 5.0),
                &Tolerances::default()
            )),
            ["throughput"]
        );
        assert!(
            regressed(&compare(
                &base,
                &report(2000.0, 1.0, 1.0),
                &Tolerances::default()
            ))
            .is_empty()
        );
        // Error rate: 0.4pp more is within 0.5pp, 0.6pp is not.
        assert!(
            regressed(&compare(
                &base,
                &report(1000.0, 0.996, 5.0),
                &Tolerances::default()
            ))
            .is_empty()
        );
        assert_eq!(
            regressed(&compare(
                &base,
                &report(1000.0, 0.994, 5.0),
                &Tolerances::default()
            )),
            ["error_rate"]
        );
    }

    #[test]
    fn tolerances_are_parsed_and_must_fit_their_metric() {
        let t = Tolerances::parse("p99=50%, error_rate=2pp,max=10ms,rps=1%").unwrap();
        assert_eq!(
            t.of(Metric::Latency(LatencyStat::P99)),
            Some(Tolerance::Percent(50.0))
        );
        assert_eq!(t.of(Metric::ErrorRate), Some(Tolerance::Points(2.0)));
        assert_eq!(
            t.of(Metric::Latency(LatencyStat::Max)),
            Some(Tolerance::Millis(10.0))
        );
        assert_eq!(t.of(Metric::Throughput), Some(Tolerance::Percent(1.0)));
        assert_eq!(
            t.of(Metric::Latency(LatencyStat::P50)),
            Some(Tolerance::Percent(10.0))
        );
        for bad in [
            "p98=1%",
            "p99",
            "p99=fast",
            "p99=-1%",
            "throughput=5ms",
            "p99=1pp",
            "p99=10",
        ] {
            assert!(Tolerances::parse(bad).is_err(), "{bad}");
        }
        let base = report(1000.0, 1.0, 5.0);
        let t = Tolerances::parse("p99=5000%,p99.9=5000%").unwrap();
        assert!(regressed(&compare(&base, &report(1000.0, 1.0, 205.0), &t)).is_empty());
        // 1.5 ms more: past p99's 1 ms; p99.9 (the same number here) keeps its default 10%.
        let t = Tolerances::parse("p99=1ms").unwrap();
        assert_eq!(
            regressed(&compare(&base, &report(1000.0, 1.0, 6.5), &t)),
            ["p99", "p99.9"]
        );
        let t = Tolerances::parse("p99=2ms,p99.9=2ms").unwrap();
        assert!(regressed(&compare(&base, &report(1000.0, 1.0, 6.5), &t)).is_empty());
    }

    #[test]
    fn latency_lost_entirely_is_a_regression() {
        let base = report(1000.0, 1.0, 5.0);
        let mut none = report(1000.0, 0.0, 5.0);
        none.test.aggregate.latency = Summary::default();
        let c = compare(&base, &none, &Tolerances::default());
        assert!(regressed(&c).contains(&"p50"), "{:?}", regressed(&c));
        assert!(regressed(&c).contains(&"error_rate"));
    }

    /// A report whose whole is `report(1000, 1, 5)` with request names, each `(name,
    /// success ratio, p99)`.
    fn with_names(names: &[(&str, f64, f64)]) -> TestReport {
        let mut r = report(1000.0, 1.0, 5.0);
        for &(name, success, p99) in names {
            let part = report(100.0, success, p99).test.aggregate;
            r.test.aggregate.by_name.insert(name.to_owned(), part);
        }
        r
    }

    #[test]
    fn each_request_name_is_compared_and_names_in_one_run_are_shown_as_such() {
        let base = with_names(&[("login", 1.0, 5.0), ("item", 1.0, 5.0), ("gone", 1.0, 5.0)]);
        let same = compare(&base, &base, &Tolerances::default());
        assert!(!same.regressed(), "{:?}", same.regression_names());
        assert_eq!(
            same.by_name
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>(),
            ["gone", "item", "login"]
        );
        assert!(same.by_name.iter().all(|n| n.presence == Presence::Both));
        assert_eq!(
            same.by_name[0]
                .rows
                .iter()
                .map(|r| r.metric.name())
                .collect::<Vec<_>>(),
            ["p50", "p95", "p99", "error_rate"]
        );
        // item: 200 ms added at p99, 1pp more errors; the whole is unchanged.
        let new = with_names(&[
            ("login", 1.0, 5.0),
            ("item", 0.99, 205.0),
            ("added", 1.0, 5.0),
        ]);
        let c = compare(&base, &new, &Tolerances::default());
        assert!(regressed(&c).is_empty());
        assert!(c.regressed());
        assert_eq!(c.regression_names(), ["item: p99", "item: error_rate"]);
        let presence: Vec<(&str, Presence)> = c
            .by_name
            .iter()
            .map(|n| (n.name.as_str(), n.presence))
            .collect();
        assert_eq!(
            presence,
            [
                ("added", Presence::NewOnly),
                ("gone", Presence::BaseOnly),
                ("item", Presence::Both),
                ("login", Presence::Both)
            ]
        );
        // A name in one run only: its values on its side, not judged.
        let gone = &c.by_name[1];
        assert!(
            gone.rows
                .iter()
                .all(|r| r.verdict == Verdict::Info && r.new.is_none())
        );
        assert_eq!(gone.rows[2].base, Some(5.0));
        let view = ComparisonView::of(&base, &new, &c);
        assert_eq!(view.by_name[0].presence, "new_only");
        assert_eq!(view.by_name[2].rows[2].verdict, "regression");
        assert_eq!(view.regressions, ["item: p99", "item: error_rate"]);
        // Tests without names have no per-name rows.
        let plain = report(1000.0, 1.0, 5.0);
        assert!(
            compare(&plain, &plain, &Tolerances::default())
                .by_name
                .is_empty()
        );
    }
}
