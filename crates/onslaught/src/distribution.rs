//! The latency distribution as text: HdrHistogram's percentile distribution (wrk2's
//! `--latency` spectrum; hdrhistogram.org's plotter reads it) and an ASCII histogram like oha's.
//! Both from the exact aggregate histogram of the test's report; each flow's iteration
//! durations likewise.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use onslaught_orchestrator::TestView;
use onslaught_orchestrator::report::TestReport;
use onslaught_protocol::wire_stats::decode_histogram;
use onslaught_stats::Histogram;

/// The exact histograms of a finished test's report file.
#[derive(Debug, Default)]
pub struct Distributions {
    /// The aggregate latency (`None` without responses).
    pub latency: Option<Histogram>,
    /// Per flow, the durations of its completed iterations (flows that completed none are
    /// left out).
    pub flows: BTreeMap<String, Histogram>,
}

/// The exact histograms of a finished test, from its report file (`None` without a readable
/// report).
pub fn of_report(test: &TestView) -> Option<Distributions> {
    let path = test.report_path.as_ref()?;
    let report: TestReport = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let latency = decode_histogram("histograms.latency", &report.histograms.latency)
        .ok()
        .filter(|h| !h.is_empty());
    let flows = report
        .histograms
        .flows
        .iter()
        .filter_map(|(name, encoded)| {
            let h = decode_histogram("histograms.flows", encoded).ok()?;
            (!h.is_empty()).then(|| (name.clone(), h))
        })
        .collect();
    Some(Distributions { latency, flows })
}

/// Steps per halving of the distance to 100%, as HdrHistogram's tools print it.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// Bars of the ASCII histogram, and the longest bar in characters.
const BINS: usize = 11;
const BAR_WIDTH: u64 = 40;

/// HdrHistogram's `outputPercentileDistribution` text, values in milliseconds.
pub fn spectrum(h: &Histogram) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    for step in h.spectrum(TICKS_PER_HALF_DISTANCE) {
        let ms = step.micros as f64 / 1000.0;
        if step.quantile < 1.0 {
            let _ = writeln!(
                out,
                "{ms:12.3} {:2.12} {:10} {:14.2}",
                step.quantile,
                step.count,
                1.0 / (1.0 - step.quantile)
            );
        } else {
            let _ = writeln!(out, "{ms:12.3} {:2.12} {:10}", step.quantile, step.count);
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        h.mean_micros() / 1000.0,
        h.stdev_micros() / 1000.0
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.3}, Total count    = {:12}]",
        h.max_micros() as f64 / 1000.0,
        h.len()
    );
    out
}

/// Latency in equal ranges from the fastest to the slowest response, a bar per range:
/// `  1.234 ms [  120] |■■■■■`.
pub fn ascii_histogram(h: &Histogram) -> String {
    let bins = h.linear_bins(BINS);
    let most = bins.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let width = bins
        .iter()
        .map(|b| b.1.to_string().len())
        .max()
        .unwrap_or(1);
    let mut out = String::new();
    for (upper, count) in bins {
        let bar = "■".repeat(usize::try_from(count * BAR_WIDTH / most).unwrap_or(0));
        let _ = writeln!(
            out,
            "  {:>10.3} ms [{count:>width$}] |{bar}",
            upper as f64 / 1000.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram() -> Histogram {
        let mut h = Histogram::new();
        for v in 1..=1000 {
            h.record_micros(v * 100);
        }
        h
    }

    #[test]
    fn spectrum_is_in_hdrhistograms_format() {
        let text = spectrum(&histogram());
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("       Value     Percentile TotalCount 1/(1-Percentile)")
        );
        assert_eq!(lines.next(), Some(""));
        let first: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
        assert_eq!(first, ["0.100", "0.000000000000", "1", "1.00"]);
        let last_value = text.lines().rfind(|l| !l.starts_with('#')).unwrap_or("");
        let last: Vec<&str> = last_value.split_whitespace().collect();
        assert_eq!(last, ["100.031", "1.000000000000", "1000"]);
        assert!(
            text.contains("#[Max     =      100.031, Total count    =         1000]"),
            "{text}"
        );
    }

    #[test]
    fn histogram_bars_scale_to_the_fullest_range() {
        let text = ascii_histogram(&histogram());
        assert_eq!(text.lines().count(), BINS);
        assert!(text.lines().all(|l| l.contains(" ms [") && l.contains('|')));
        let longest = text.lines().map(|l| l.matches('■').count()).max();
        assert_eq!(longest, Some(40));
        assert!(ascii_histogram(&Histogram::new()).is_empty());
    }
}
