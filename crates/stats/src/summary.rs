//! The summary of a latency histogram, in milliseconds.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Histogram;

/// A summary in milliseconds (fractional, microsecond resolution) of a latency (or send gap, or
/// send lag) histogram. Computed from the merged histogram, never averaged; the one summary
/// shown by the API, the reports, the CLI and the wire (there under the assignment's names,
/// `mean_latency`...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Standard deviation.
    pub stdev: f64,
    /// 50th percentile.
    pub median: f64,
    /// Most frequent value at the histogram's resolution.
    pub mode: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

impl Summary {
    /// Summarises `histogram`.
    pub fn of(histogram: &Histogram) -> Self {
        let (mean, stdev, mode) = histogram.moments_and_mode();
        Self {
            count: histogram.len(),
            min: ms(histogram.min_micros()),
            max: ms(histogram.max_micros()),
            mean: mean / 1000.0,
            stdev: stdev / 1000.0,
            median: ms(histogram.quantile_micros(0.5)),
            mode: ms(mode),
            p90: ms(histogram.quantile_micros(0.9)),
            p95: ms(histogram.quantile_micros(0.95)),
            p99: ms(histogram.quantile_micros(0.99)),
            p999: ms(histogram.quantile_micros(0.999)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass summary agrees with the histogram's own mean, stdev and mode.
    #[test]
    fn one_pass_moments_match_the_definitions() {
        let mut h = Histogram::new();
        for (i, v) in [120_u64, 130, 130, 5_000, 77_777, 1_000_000, 130, 999]
            .into_iter()
            .cycle()
            .take(10_003)
            .enumerate()
        {
            h.record_micros(v + (i as u64 % 7));
        }
        let s = Summary::of(&h);
        assert!((s.mean * 1000.0 - h.mean_micros()).abs() < 1e-6 * h.mean_micros());
        assert!((s.stdev * 1000.0 - h.stdev_micros()).abs() < 1e-6 * h.stdev_micros());
        assert_eq!(s.mode, ms(h.mode_micros()));
        assert_eq!(Summary::of(&Histogram::new()), Summary::default());
    }
}
