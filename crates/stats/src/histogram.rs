//! A latency histogram in microseconds, backed by HdrHistogram.

use std::time::Duration;

use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

use crate::Summary;

/// Highest latency the histogram tracks exactly: one hour, in microseconds. Larger values are
/// clamped to it (and counted), so a pathological sample never loses the rest of the data.
pub const MAX_MICROS: u64 = 3_600_000_000;

/// Significant decimal digits kept for every recorded value (0.1% resolution).
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency histogram: values are microseconds, resolution is three significant digits.
///
/// Adding two histograms is exact, so merging the interval histograms of many drivers gives the
/// same percentiles as recording every sample into one histogram.
#[derive(Clone, Debug)]
pub struct Histogram {
    /// The underlying HdrHistogram; its memory is fixed by the range, not the sample count.
    inner: hdrhistogram::Histogram<u64>,
}

/// Why a histogram could not be decoded from bytes.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a valid HdrHistogram V2 (deflate) encoding.
    #[error("invalid histogram encoding: {0}")]
    Invalid(String),
    /// The encoded histogram covers a range this build does not accept.
    #[error("histogram range is out of bounds")]
    Range,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram covering 1 µs to one hour.
    pub fn new() -> Self {
        // The bounds are constants that HdrHistogram accepts; failure here is a programming error.
        #[allow(clippy::expect_used)]
        let inner = hdrhistogram::Histogram::new_with_bounds(1, MAX_MICROS, SIGNIFICANT_DIGITS)
            .expect("constant histogram bounds are valid");
        Self { inner }
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        self.record_micros(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Records one latency given in microseconds; zero counts as 1 µs, values past the range are
    /// clamped to [`MAX_MICROS`].
    pub fn record_micros(&mut self, micros: u64) {
        let value = micros.clamp(1, MAX_MICROS);
        // `value` is inside the histogram's range, so recording cannot fail.
        let _ = self.inner.record(value);
    }

    /// Adds every sample of `other` to this histogram (exact merge).
    pub fn add(&mut self, other: &Histogram) {
        // Both histograms share the same bounds, so addition cannot fail.
        let _ = self.inner.add(&other.inner);
    }

    /// Number of samples recorded.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// Whether no sample was recorded.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Removes every sample, keeping the allocation.
    pub fn clear(&mut self) {
        self.inner.reset();
    }

    /// Smallest recorded value in microseconds (0 when empty).
    pub fn min_micros(&self) -> u64 {
        if self.is_empty() { 0 } else { self.inner.min() }
    }

    /// Largest recorded value in microseconds, at the histogram's resolution (0 when empty).
    pub fn max_micros(&self) -> u64 {
        if self.is_empty() { 0 } else { self.inner.max() }
    }

    /// Mean of the recorded values in microseconds (0 when empty).
    pub fn mean_micros(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.inner.mean()
        }
    }

    /// Standard deviation of the recorded values in microseconds (0 when empty).
    pub fn stdev_micros(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.inner.stdev()
        }
    }

    /// Value at `quantile` (0.0..=1.0) in microseconds (0 when empty).
    pub fn quantile_micros(&self, quantile: f64) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.inner.value_at_quantile(quantile.clamp(0.0, 1.0))
        }
    }

    /// The mode: the most frequent value at the histogram's resolution.
    ///
    /// Values that fall in the same HdrHistogram bucket (equal to three significant digits) count
    /// as one value; the mode is the middle of the fullest bucket. Ties go to the lowest bucket.
    /// Returns 0 when empty.
    pub fn mode_micros(&self) -> u64 {
        let mut best: Option<(u64, u64)> = None;
        for bucket in self.inner.iter_recorded() {
            let count = bucket.count_at_value();
            if best.is_none_or(|(_, c)| count > c) {
                best = Some((bucket.value_iterated_to(), count));
            }
        }
        best.map_or(0, |(value, _)| self.inner.median_equivalent(value))
    }

    /// The numbers users read, in milliseconds.
    pub fn summary(&self) -> Summary {
        Summary::of(self)
    }

    /// Encodes the histogram in HdrHistogram's compressed V2 format (interoperable with other
    /// HdrHistogram implementations).
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail for a histogram with valid bounds.
        let _ = V2DeflateSerializer::new().serialize(&self.inner, &mut bytes);
        bytes
    }

    /// Decodes a histogram produced by [`Histogram::encode`] (or any V2/V2-deflate encoder), and
    /// folds it into this build's range so it can be merged.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut cursor = bytes;
        let decoded: hdrhistogram::Histogram<u64> = Deserializer::new()
            .deserialize(&mut cursor)
            .map_err(|e| DecodeError::Invalid(format!("{e:?}")))?;
        let mut histogram = Self::new();
        if decoded.high() > MAX_MICROS.saturating_mul(1000) {
            return Err(DecodeError::Range);
        }
        for bucket in decoded.iter_recorded() {
            let value = bucket.value_iterated_to().clamp(1, MAX_MICROS);
            let _ = histogram.inner.record_n(value, bucket.count_at_value());
        }
        Ok(histogram)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentiles_of_a_uniform_range() {
        let mut h = Histogram::new();
        for v in 1..=1000 {
            h.record_micros(v * 1000);
        }
        assert_eq!(h.len(), 1000);
        let s = h.summary();
        assert!((s.median - 500.0).abs() < 1.0, "median {}", s.median);
        assert!((s.p99 - 990.0).abs() < 1.0, "p99 {}", s.p99);
        assert!((s.min - 1.0).abs() < 0.01);
        assert!((s.max - 1000.0).abs() < 1.0);
    }

    #[test]
    fn mode_is_the_fullest_bucket() {
        let mut h = Histogram::new();
        for _ in 0..5 {
            h.record_micros(2_000);
        }
        for _ in 0..3 {
            h.record_micros(7_000);
        }
        h.record_micros(9_000);
        assert_eq!(h.mode_micros(), 2_000);
        assert_eq!(Histogram::new().mode_micros(), 0);
    }

    #[test]
    fn out_of_range_values_are_clamped_not_lost() {
        let mut h = Histogram::new();
        h.record_micros(0);
        h.record(Duration::from_secs(10_000));
        assert_eq!(h.len(), 2);
        assert_eq!(h.min_micros(), 1);
        assert!(h.max_micros() >= MAX_MICROS);
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(Histogram::decode(b"").is_err());
        assert!(Histogram::decode(b"not a histogram at all").is_err());
        let mut bytes = Histogram::new().encode();
        bytes.truncate(bytes.len() / 2);
        assert!(Histogram::decode(&bytes).is_err());
    }

    proptest! {
        /// Merging per-driver histograms equals recording every sample into one.
        #[test]
        fn merge_is_exact(parts in prop::collection::vec(prop::collection::vec(1u64..10_000_000, 0..200), 1..6)) {
            let mut merged = Histogram::new();
            let mut all = Histogram::new();
            for part in &parts {
                let mut h = Histogram::new();
                for &v in part { h.record_micros(v); all.record_micros(v); }
                merged.add(&h);
            }
            prop_assert_eq!(merged.len(), all.len());
            for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
                prop_assert_eq!(merged.quantile_micros(q), all.quantile_micros(q));
            }
            prop_assert_eq!(merged.mode_micros(), all.mode_micros());
        }

        /// Encoding then decoding keeps every sample.
        #[test]
        fn encode_round_trip(values in prop::collection::vec(1u64..MAX_MICROS, 0..300)) {
            let mut h = Histogram::new();
            for &v in &values { h.record_micros(v); }
            let back = Histogram::decode(&h.encode()).unwrap();
            prop_assert_eq!(back.len(), h.len());
            for q in [0.0, 0.5, 0.99, 1.0] {
                prop_assert_eq!(back.quantile_micros(q), h.quantile_micros(q));
            }
        }

        /// Random bytes never panic the decoder.
        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = Histogram::decode(&bytes);
        }
    }
}
