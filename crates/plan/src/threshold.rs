//! [`Threshold`]: a pass/fail rule on a test's merged numbers, written in k6's expression style
//! (`p99 < 250ms`, `error_rate < 1%`, `rps > 900`, `p99[30s] < 300ms`, `checks > 99%`,
//! `login: p95 < 400ms`) and parsed once.
//!
//! Grammar: `[ NAME ':' ] METRIC [ '[' WINDOW ']' ] OP LIMIT [ 'after' WARMUP ]`, spaces anywhere
//! between the parts (at least one before `after`).
//! - NAME: a request name (a step's name; it may hold `:` but not `<` or `>`, at most
//!   [`MAX_NAME_BYTES`] bytes): the metric of that name's requests only, instead of all.
//! - METRIC: `min`, `max`, `mean`, `avg`, `median`, `p50`..`p99`, `p999` (99.9th), `p(N)` for
//!   any N from 0 to 100 (latency from the intended send time); `error_rate` (failed requests
//!   over requests attempted); `rps` (requests sent per second); `checks` (checks passed over
//!   checks run).
//! - WINDOW: a duration (`30s`, `1m`): the trailing window, instead of the whole test.
//! - OP: `<`, `<=`, `>`, `>=`.
//! - LIMIT: latency as a duration (`250ms`, `2s`, `500us`; a bare number is ms); `error_rate`
//!   and `checks` as a percentage (`1%`) or a ratio (`0.01`); `rps` as a number.
//! - WARMUP: a duration in whole seconds (`30s`, `2m`): the threshold ignores the test's first
//!   WARMUP, measuring only the data of its seconds from then on (`p99 < 250ms after 30s`);
//!   until then its verdict is pending.

use std::fmt;
use std::time::Duration;

/// One threshold: `metric` (of the requests named `name`, or of all; over `window`, or the
/// whole test) compared with `limit`.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// The request name whose requests only are measured (`login: p95 < 400ms`); all requests
    /// when `None`.
    pub name: Option<String>,
    /// What is measured.
    pub metric: Metric,
    /// The trailing window it is measured over; the whole test when `None`.
    pub window: Option<Duration>,
    /// A warm-up: only the data of the test's seconds from this on counts (whole seconds);
    /// the verdict is pending before. `None`: from the start.
    pub after: Option<Duration>,
    /// How the measure must compare with the limit to pass.
    pub op: Comparison,
    /// The limit, in the metric's unit (ms for latency, a ratio for `error_rate`, requests per
    /// second for `rps`).
    pub limit: f64,
    /// The expression as written (shown back, in views and reports).
    written: String,
}

/// A measure of a test's merged data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// Latency from the intended send time, ms.
    Latency(LatencyStat),
    /// Failed requests (no accepted status) over requests attempted, 0 to 1.
    ErrorRate,
    /// Requests sent per second.
    Rps,
    /// Checks passed over checks run, 0 to 1.
    Checks,
}

/// Which statistic of the latency histogram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LatencyStat {
    /// Smallest.
    Min,
    /// Largest.
    Max,
    /// Mean.
    Mean,
    /// A percentile, 0 to 100.
    Percentile(f64),
}

/// How a measure must compare with its limit to pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Comparison {
    /// Whether `value` passes against `limit`.
    pub fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Self::Less => value < limit,
            Self::LessOrEqual => value <= limit,
            Self::Greater => value > limit,
            Self::GreaterOrEqual => value >= limit,
        }
    }
}

impl Threshold {
    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.written
    }

    /// Whether `value` (in the metric's unit) passes.
    pub fn passes(&self, value: f64) -> bool {
        self.op.holds(value, self.limit)
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// Longest request name a threshold may name, in bytes (the longest the wire carries).
pub const MAX_NAME_BYTES: usize = 256;

/// Longest trailing window accepted: the orchestrator keeps a histogram per second of it.
pub const MAX_WINDOW: Duration = Duration::from_secs(600);

/// Longest warm-up accepted (`after`): the longest test (a week).
pub const MAX_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// `right` (what follows the comparison) without its `after WARMUP` clause, and the warm-up.
fn warm_up(right: &str) -> Result<(&str, Option<Duration>), String> {
    let Some(at) = right.rfind("after") else {
        return Ok((right, None));
    };
    let (limit, clause) = right.split_at(at);
    if !limit.ends_with(char::is_whitespace) {
        return Ok((right, None));
    }
    let text = clause["after".len()..].trim();
    if text.is_empty() {
        return Err("a warm-up is a duration after `after`, as in `p99 < 250ms after 30s`".into());
    }
    let after =
        humantime::parse_duration(text).map_err(|e| format!("invalid warm-up `{text}`: {e}"))?;
    if after.is_zero() || after > MAX_AFTER || after.subsec_nanos() != 0 {
        return Err(format!(
            "warm-up `{text}` must be whole seconds, from 1 s to {} s",
            MAX_AFTER.as_secs()
        ));
    }
    Ok((limit, Some(after)))
}

impl std::str::FromStr for Threshold {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let written = text.trim();
        let op_at = written
            .find(['<', '>'])
            .ok_or("needs a comparison: <, <=, > or >= (as in `p99 < 250ms`)")?;
        let (left, rest) = written.split_at(op_at);
        let (op, right) = if let Some(r) = rest.strip_prefix("<=") {
            (Comparison::LessOrEqual, r)
        } else if let Some(r) = rest.strip_prefix(">=") {
            (Comparison::GreaterOrEqual, r)
        } else if let Some(r) = rest.strip_prefix('<') {
            (Comparison::Less, r)
        } else {
            (Comparison::Greater, &rest[1..])
        };
        let (name, left) = match left.rsplit_once(':') {
            None => (None, left.trim()),
            Some((name, metric)) => {
                let name = name.trim();
                if name.is_empty() || name.len() > MAX_NAME_BYTES {
                    return Err(format!(
                        "a request name before `:` has 1 to {MAX_NAME_BYTES} bytes, as in \
                         `login: p95 < 400ms`"
                    ));
                }
                (Some(name.to_owned()), metric.trim())
            }
        };
        let (metric_name, window) = match left.split_once('[') {
            None => (left, None),
            Some((name, w)) => {
                let w = w
                    .strip_suffix(']')
                    .ok_or("a window is written in brackets, as in `p99[30s]`")?;
                let window = humantime::parse_duration(w.trim())
                    .map_err(|e| format!("invalid window `{w}`: {e}"))?;
                if window.is_zero() || window > MAX_WINDOW || window.subsec_nanos() != 0 {
                    return Err(format!(
                        "window `{w}` must be whole seconds, from 1 s to {} s",
                        MAX_WINDOW.as_secs()
                    ));
                }
                (name.trim(), Some(window))
            }
        };
        let metric = metric(metric_name)?;
        let (right, after) = warm_up(right)?;
        let limit = limit(metric, right.trim())?;
        Ok(Self {
            name,
            metric,
            window,
            after,
            op,
            limit,
            written: written.to_owned(),
        })
    }
}

fn metric(name: &str) -> Result<Metric, String> {
    let stat = match name.to_ascii_lowercase().as_str() {
        "error_rate" => return Ok(Metric::ErrorRate),
        "rps" => return Ok(Metric::Rps),
        "checks" => return Ok(Metric::Checks),
        "min" => LatencyStat::Min,
        "max" => LatencyStat::Max,
        "mean" | "avg" => LatencyStat::Mean,
        "median" => LatencyStat::Percentile(50.0),
        "p999" => LatencyStat::Percentile(99.9),
        other => {
            let number = other
                .strip_prefix("p(")
                .and_then(|p| p.strip_suffix(')'))
                .or_else(|| other.strip_prefix('p'))
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
                .and_then(|n| n.parse::<f64>().ok())
                .filter(|p| (0.0..=100.0).contains(p));
            match number {
                Some(p) => LatencyStat::Percentile(p),
                None => {
                    return Err(format!(
                        "unknown metric `{name}`: use min, max, mean, median, p50 to p99, \
                         p999, p(N), error_rate, rps or checks"
                    ));
                }
            }
        }
    };
    Ok(Metric::Latency(stat))
}

fn limit(metric: Metric, text: &str) -> Result<f64, String> {
    let number = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("invalid limit `{text}`"))
    };
    if text.is_empty() {
        return Err("needs a limit after the comparison".to_owned());
    }
    match metric {
        Metric::Latency(_) => {
            if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return number(text);
            }
            let d = humantime::parse_duration(text)
                .map_err(|e| format!("invalid latency limit `{text}`: {e}"))?;
            Ok(d.as_secs_f64() * 1000.0)
        }
        Metric::ErrorRate | Metric::Checks => {
            let ratio = match text.strip_suffix('%') {
                Some(percent) => number(percent)? / 100.0,
                None => number(text)?,
            };
            if ratio > 1.0 {
                let what = if metric == Metric::Checks {
                    "checks"
                } else {
                    "error_rate"
                };
                return Err(format!("{what} limit `{text}` is above 100%"));
            }
            Ok(ratio)
        }
        Metric::Rps => number(text),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(text: &str) -> Threshold {
        text.parse().unwrap()
    }

    #[test]
    fn expressions_parse_into_typed_thresholds() {
        let t = parse("p99 < 250ms");
        assert_eq!(t.metric, Metric::Latency(LatencyStat::Percentile(99.0)));
        assert_eq!((t.op, t.limit, t.window), (Comparison::Less, 250.0, None));
        assert_eq!(t.expression(), "p99 < 250ms");
        assert_eq!(parse("p95<400ms").limit, 400.0);
        assert_eq!(parse("max < 2s").limit, 2000.0);
        assert_eq!(parse("max<=2s").op, Comparison::LessOrEqual);
        assert_eq!(parse("mean < 500us").limit, 0.5);
        assert_eq!(parse("p(99.9) < 10").limit, 10.0);
        assert_eq!(
            parse("p999 < 1s").metric,
            Metric::Latency(LatencyStat::Percentile(99.9))
        );
        let e = parse("error_rate < 1%");
        assert_eq!(e.metric, Metric::ErrorRate);
        assert!((e.limit - 0.01).abs() < 1e-12);
        assert!((parse("error_rate<=0.05").limit - 0.05).abs() < 1e-12);
        let r = parse("rps > 900");
        assert_eq!(
            (r.metric, r.op, r.limit),
            (Metric::Rps, Comparison::Greater, 900.0)
        );
        let w = parse("p99[30s] < 300ms");
        assert_eq!(w.window, Some(Duration::from_secs(30)));
        assert_eq!(w.limit, 300.0);
        assert_eq!(w.name, None);
        let c = parse("checks > 99%");
        assert_eq!(
            (c.metric, c.op, c.name),
            (Metric::Checks, Comparison::Greater, None)
        );
        assert!((c.limit - 0.99).abs() < 1e-12);
        let n = parse("login: p95 < 400ms");
        assert_eq!(n.name.as_deref(), Some("login"));
        assert_eq!(n.metric, Metric::Latency(LatencyStat::Percentile(95.0)));
        assert_eq!((n.limit, n.window), (400.0, None));
        assert_eq!(n.expression(), "login: p95 < 400ms");
        // A name may hold `:` (the last one ends it), and a scoped threshold may have a window.
        let r = parse("GET /items/:id :p99[10s]<1s");
        assert_eq!(r.name.as_deref(), Some("GET /items/:id"));
        assert_eq!((r.window, r.limit), (Some(Duration::from_secs(10)), 1000.0));
        let c = parse("login:checks>=0.995");
        assert_eq!(
            (c.name.as_deref(), c.metric),
            (Some("login"), Metric::Checks)
        );
    }

    #[test]
    fn bad_expressions_say_why() {
        for (bad, why) in [
            ("p99 250ms", "comparison"),
            ("p101 < 1s", "unknown metric"),
            ("latency < 1s", "unknown metric"),
            ("p99 <", "limit"),
            ("p99 < fast", "invalid latency limit"),
            ("error_rate < 150%", "above 100%"),
            ("rps > -3", "invalid limit"),
            ("p99[0s] < 1s", "window"),
            ("p99[30s < 1s", "brackets"),
            ("p99[1.5s] < 1s", "whole seconds"),
            ("checks > 101%", "above 100%"),
            (": p95 < 1s", "request name"),
            ("  : p95 < 1s", "request name"),
            ("login: latency < 1s", "unknown metric"),
        ] {
            let e = bad.parse::<Threshold>().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn a_warm_up_follows_the_limit() {
        let t = parse("p99 < 250ms after 30s");
        assert_eq!((t.limit, t.window), (250.0, None));
        assert_eq!(t.after, Some(Duration::from_secs(30)));
        assert_eq!(t.expression(), "p99 < 250ms after 30s");
        let t = parse("login: p95[10s]<400ms  after 2m");
        assert_eq!(t.name.as_deref(), Some("login"));
        assert_eq!(
            (t.window, t.after),
            (
                Some(Duration::from_secs(10)),
                Some(Duration::from_secs(120))
            )
        );
        assert_eq!(parse("error_rate < 1% after 1s").limit, 0.01);
        assert_eq!(parse("rps > 5").after, None);
        // A name may say `after`; only the clause after the limit is a warm-up.
        assert_eq!(parse("after: p99 < 1s").after, None);
        for (bad, why) in [
            ("p99 < 250ms after", "a warm-up is a duration"),
            ("p99 < 250ms after soon", "invalid warm-up"),
            ("p99 < 250ms after 0s", "whole seconds"),
            ("p99 < 250ms after 1.5s", "whole seconds"),
            ("p99 < 250msafter 1s", "invalid latency limit"),
        ] {
            let e = bad.parse::<Threshold>().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn comparisons_hold_as_written() {
        assert!(parse("p99 < 100").passes(99.9));
        assert!(!parse("p99 < 100").passes(100.0));
        assert!(parse("p99 <= 100").passes(100.0));
        assert!(parse("rps > 10").passes(10.5));
        assert!(!parse("rps >= 10").passes(9.0));
    }
}
