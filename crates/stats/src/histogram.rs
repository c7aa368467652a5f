//! A latency histogram in microseconds, backed by HdrHistogram.

use std::time::Duration;

use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer, V2Serializer};

use crate::Summary;

/// Highest latency the histogram tracks exactly: one hour, in microseconds. Larger values are
/// clamped to it (and counted), so a pathological sample never loses the rest of the data.
pub const MAX_MICROS: u64 = 3_600_000_000;

/// The range a new histogram allocates for; it resizes itself up to [`MAX_MICROS`].
const INITIAL_HIGH_MICROS: u64 = 2_048;

/// Significant decimal digits kept for every recorded value (0.1% resolution).
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency histogram: values are microseconds, resolution is three significant digits.
///
/// Adding two histograms is exact, so merging the interval histograms of many drivers gives the
/// same percentiles as recording every sample into one histogram.
#[derive(Clone, Debug, PartialEq)]
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

/// One line of a percentile spectrum ([`Histogram::spectrum`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpectrumPoint {
    /// The value at this step, µs (the highest value equivalent to it at the histogram's
    /// resolution, as HdrHistogram prints it).
    pub micros: u64,
    /// The quantile reached (0.0..=1.0).
    pub quantile: f64,
    /// Samples at or below this value.
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram for 1 µs to one hour. It starts small (its counts cover up to about
    /// 2 ms) and grows by powers of two only as larger values are recorded, so a histogram of
    /// loopback latencies takes tens of kilobytes, and none takes more than about 190 KB.
    pub fn new() -> Self {
        // The bounds are constants that HdrHistogram accepts; failure here is a programming error.
        #[allow(clippy::expect_used)]
        let mut inner =
            hdrhistogram::Histogram::new_with_bounds(1, INITIAL_HIGH_MICROS, SIGNIFICANT_DIGITS)
                .expect("constant histogram bounds are valid");
        inner.auto(true);
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

    /// Records `count` samples of one latency in microseconds (clamped as
    /// [`Histogram::record_micros`]).
    pub fn record_micros_n(&mut self, micros: u64, count: u64) {
        let value = micros.clamp(1, MAX_MICROS);
        let _ = self.inner.record_n(value, count);
    }

    /// The recorded values, each bucket once as (its highest equivalent value in µs, its
    /// count), in increasing order: recording them again
    /// ([`Histogram::record_micros_n`]) gives back the same histogram, so a sparse copy
    /// (a few entries where the dense counts take tens of kilobytes) loses nothing.
    pub fn recorded(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.inner
            .iter_recorded()
            .map(|bucket| (bucket.value_iterated_to(), bucket.count_at_value()))
    }

    /// Number of samples recorded.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// Whether no sample was recorded.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Removes every sample. A histogram that widened past its initial range (a high latency
    /// was recorded) starts small again, so a buffer cleared and refilled every interval holds
    /// only what its current interval needs, not the widest range any interval ever saw.
    pub fn clear(&mut self) {
        if self.inner.high() > INITIAL_HIGH_MICROS {
            *self = Self::new();
        } else {
            self.inner.reset();
        }
    }

    /// Bytes the histogram's counts take (they grow with the highest value recorded).
    pub fn footprint(&self) -> usize {
        self.inner.distinct_values() * std::mem::size_of::<u64>()
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

    /// Mean, standard deviation and mode in microseconds, in one pass over the recorded
    /// buckets (each alone walks them all; a summary needs all three). Same definitions as
    /// [`Histogram::mean_micros`], [`Histogram::stdev_micros`] and [`Histogram::mode_micros`].
    pub(crate) fn moments_and_mode(&self) -> (f64, f64, u64) {
        if self.is_empty() {
            return (0.0, 0.0, 0);
        }
        // Weighted Welford: stable in one pass.
        let (mut weight, mut mean, mut m2) = (0.0_f64, 0.0_f64, 0.0_f64);
        let mut best: Option<(u64, u64)> = None;
        for bucket in self.inner.iter_recorded() {
            let count = bucket.count_at_value();
            let value = self.inner.median_equivalent(bucket.value_iterated_to()) as f64;
            let w = count as f64;
            weight += w;
            let delta = value - mean;
            mean += delta * w / weight;
            m2 += w * delta * (value - mean);
            if best.is_none_or(|(_, c)| count > c) {
                best = Some((bucket.value_iterated_to(), count));
            }
        }
        let stdev = (m2 / weight).max(0.0).sqrt();
        let mode = best.map_or(0, |(value, _)| self.inner.median_equivalent(value));
        (mean, stdev, mode)
    }

    /// The values at `quantiles` (each in 0.0..=1.0, ascending) in microseconds and the mean
    /// in microseconds, in one pass over the recorded buckets: each value exactly what
    /// [`Histogram::quantile_micros`] gives, the mean exactly [`Summary`]'s (before its
    /// conversion to ms). What a per-second point shows, for a fraction of a whole summary's
    /// cost (a summary walks the buckets once and the counts five times more). Zeros when
    /// empty.
    pub fn quantiles_and_mean<const N: usize>(&self, quantiles: [f64; N]) -> ([u64; N], f64) {
        let mut values = [0; N];
        if self.is_empty() {
            return (values, 0.0);
        }
        let total = self.len();
        // The count each quantile is reached at, as `value_at_quantile` computes it.
        let targets = quantiles.map(|q| ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1));
        let mut next = 0;
        let (mut cumulative, mut weight, mut mean) = (0_u64, 0.0_f64, 0.0_f64);
        for bucket in self.inner.iter_recorded() {
            let count = bucket.count_at_value();
            cumulative += count;
            while next < N && cumulative >= targets[next] {
                let value = bucket.value_iterated_to();
                values[next] = if quantiles[next] <= 0.0 {
                    self.inner.lowest_equivalent(value)
                } else {
                    value
                };
                next += 1;
            }
            // The same weighted Welford steps as `moments_and_mode`, so the same mean.
            let value = self.inner.median_equivalent(bucket.value_iterated_to()) as f64;
            let w = count as f64;
            weight += w;
            mean += (value - mean) * w / weight;
        }
        (values, mean)
    }

    /// The percentile spectrum, as HdrHistogram's `outputPercentileDistribution` prints it and
    /// hdrhistogram.org's plotter reads it: steps that halve the distance to 100%, each split in
    /// `ticks_per_half_distance` (5 in HdrHistogram's tools), up to the largest value. Empty
    /// when nothing was recorded.
    pub fn spectrum(&self, ticks_per_half_distance: u32) -> Vec<SpectrumPoint> {
        if self.is_empty() {
            return Vec::new();
        }
        self.inner
            .iter_quantiles(ticks_per_half_distance.max(1))
            .map(|step| SpectrumPoint {
                micros: self.inner.highest_equivalent(step.value_iterated_to()),
                quantile: step.quantile_iterated_to(),
                count: step.count_since_last_iteration(),
            })
            .scan(0_u64, |total, mut point| {
                *total += point.count;
                point.count = *total;
                Some(point)
            })
            .collect()
    }

    /// The samples in `bins` equal-width ranges from the smallest to the largest value (oha's
    /// histogram): each bin's upper bound (µs) and count. Empty when nothing was recorded; one
    /// bin when every value is the same.
    pub fn linear_bins(&self, bins: usize) -> Vec<(u64, u64)> {
        if self.is_empty() || bins == 0 {
            return Vec::new();
        }
        let (min, max) = (self.min_micros(), self.max_micros());
        if min >= max {
            return vec![(max, self.len())];
        }
        let width = (max - min) as f64 / bins as f64;
        let mut out: Vec<(u64, u64)> = (1..=bins)
            .map(|i| (min + (width * i as f64).round() as u64, 0))
            .collect();
        for bucket in self.inner.iter_recorded() {
            let value = self.inner.median_equivalent(bucket.value_iterated_to());
            let index = (((value.saturating_sub(min)) as f64 / width) as usize).min(bins - 1);
            out[index].1 += bucket.count_at_value();
        }
        out
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

    /// The same encoding as [`Histogram::encode`] (and read by the same decoders), compressed
    /// for speed: deflate level 1 instead of 6, about four times faster for a few percent more
    /// bytes. For reports, where every checkpoint encodes every node's histograms.
    pub fn encode_fast(&self) -> Vec<u8> {
        use std::io::Write;
        let mut raw = Vec::new();
        // Writing into a Vec cannot fail for a histogram with valid bounds.
        let _ = V2Serializer::new().serialize(&self.inner, &mut raw);
        let mut header = Vec::with_capacity(raw.len() / 2 + 8);
        header.extend_from_slice(&(V2_DEFLATE_COOKIE | 0x10).to_be_bytes());
        header.extend_from_slice(&[0; 4]); // the compressed length, filled in below
        let mut zlib = flate2::write::ZlibEncoder::new(header, flate2::Compression::fast());
        let compressed = zlib.write_all(&raw).and_then(|()| zlib.finish());
        let Ok(mut bytes) = compressed else {
            return self.encode();
        };
        let len = u32::try_from(bytes.len() - 8).unwrap_or(u32::MAX);
        bytes[4..8].copy_from_slice(&len.to_be_bytes());
        bytes
    }

    /// Decodes a histogram produced by [`Histogram::encode`] (or any HdrHistogram V2 or V2
    /// deflate encoder), and folds it into this build's range so it can be merged.
    ///
    /// Hostile input is bounded before anything is allocated: the compressed payload inflates to
    /// at most [`MAX_DECODED_BYTES`], and the header must describe at most three significant
    /// digits and a range within one hour.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw = inflate(bytes)?;
        check_header(&raw)?;
        let mut cursor: &[u8] = &raw;
        let decoded: hdrhistogram::Histogram<u64> = Deserializer::new()
            .deserialize(&mut cursor)
            .map_err(|e| DecodeError::Invalid(format!("{e:?}")))?;
        if decoded.low() == 1 && decoded.sigfig() == SIGNIFICANT_DIGITS {
            let mut inner = decoded;
            inner.auto(true);
            return Ok(Self { inner });
        }
        let mut histogram = Self::new();
        for bucket in decoded.iter_recorded() {
            let value = bucket.value_iterated_to().clamp(1, MAX_MICROS);
            let _ = histogram.inner.record_n(value, bucket.count_at_value());
        }
        Ok(histogram)
    }
}

/// Largest uncompressed histogram accepted (ours is at most about 215 KB).
pub const MAX_DECODED_BYTES: u64 = 1 << 20;

const V2_COOKIE: u32 = 0x1c84_9303;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9304;
const V2_HEADER_BYTES: usize = 40;

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// The uncompressed V2 bytes of an encoding, inflated with a size cap.
fn inflate(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, DecodeError> {
    let cookie = be_u32(bytes, 0).ok_or_else(|| DecodeError::Invalid("truncated".into()))?;
    match cookie & 0xffff_ff0f {
        V2_COOKIE => Ok(std::borrow::Cow::Borrowed(bytes)),
        V2_DEFLATE_COOKIE => {
            let len =
                be_u32(bytes, 4).ok_or_else(|| DecodeError::Invalid("truncated".into()))? as usize;
            let compressed = bytes
                .get(8..8usize.saturating_add(len))
                .ok_or_else(|| DecodeError::Invalid("truncated compressed payload".into()))?;
            inflate_capped(compressed).map(std::borrow::Cow::Owned)
        }
        _ => Err(DecodeError::Invalid(format!("unknown cookie {cookie:#x}"))),
    }
}

/// Inflates a zlib stream into at most [`MAX_DECODED_BYTES`]. One decompressor per thread is
/// reset and reused: a fresh one allocates and clears tens of kilobytes, more than inflating a
/// histogram costs (an orchestrator decodes two per metrics message).
fn inflate_capped(compressed: &[u8]) -> Result<Vec<u8>, DecodeError> {
    use flate2::{Decompress, FlushDecompress, Status};
    thread_local! {
        static INFLATER: std::cell::RefCell<Decompress> =
            std::cell::RefCell::new(Decompress::new(true));
    }
    INFLATER.with(|cell| {
        let mut inflater = cell.borrow_mut();
        inflater.reset(true);
        let mut raw: Vec<u8> = Vec::with_capacity(compressed.len().saturating_mul(4).max(4096));
        loop {
            if raw.len() == raw.capacity() {
                if raw.len() as u64 > MAX_DECODED_BYTES {
                    return Err(DecodeError::Range);
                }
                raw.reserve(raw.len());
            }
            let (read, written) = (inflater.total_in(), inflater.total_out());
            let rest = usize::try_from(read)
                .ok()
                .and_then(|at| compressed.get(at..))
                .unwrap_or_default();
            let status = inflater
                .decompress_vec(rest, &mut raw, FlushDecompress::None)
                .map_err(|e| DecodeError::Invalid(format!("bad compression: {e}")))?;
            if status == Status::StreamEnd {
                if raw.len() as u64 > MAX_DECODED_BYTES {
                    return Err(DecodeError::Range);
                }
                return Ok(raw);
            }
            let stuck = inflater.total_in() == read && inflater.total_out() == written;
            if stuck && raw.len() < raw.capacity() {
                return Err(DecodeError::Invalid("truncated compressed payload".into()));
            }
        }
    })
}

/// Refuses headers whose histogram would be larger than ours.
fn check_header(raw: &[u8]) -> Result<(), DecodeError> {
    if raw.len() < V2_HEADER_BYTES || be_u32(raw, 0).map(|c| c & 0xffff_ff0f) != Some(V2_COOKIE) {
        return Err(DecodeError::Invalid("missing V2 header".into()));
    }
    let digits = be_u32(raw, 12).unwrap_or(u32::MAX);
    let lowest = be_u64(raw, 16).unwrap_or(0);
    let highest = be_u64(raw, 24).unwrap_or(u64::MAX);
    if digits > u32::from(SIGNIFICANT_DIGITS)
        || lowest < 1
        || highest > MAX_MICROS.saturating_mul(2)
        || lowest > highest
    {
        return Err(DecodeError::Range);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Clearing gives back what a widened histogram grew by: a buffer refilled every interval
    /// does not keep the widest range it ever saw.
    #[test]
    fn clear_shrinks_a_widened_histogram() {
        let small = Histogram::new().footprint();
        let mut h = Histogram::new();
        h.record_micros(500);
        h.clear();
        assert_eq!(h.footprint(), small);
        h.record_micros(2_000_000);
        assert!(h.footprint() > small);
        h.clear();
        assert_eq!(h.footprint(), small);
        assert!(h.is_empty());
        h.record_micros(700);
        assert_eq!(
            (h.len(), h.max_micros()),
            (1, h.inner.highest_equivalent(700))
        );
    }

    #[test]
    fn spectrum_rises_to_the_maximum_and_counts_every_sample() {
        let mut h = Histogram::new();
        for v in 1..=1000 {
            h.record_micros(v * 1000);
        }
        let spectrum = h.spectrum(5);
        assert!(spectrum.len() > 20, "{} steps", spectrum.len());
        for pair in spectrum.windows(2) {
            assert!(pair[0].quantile <= pair[1].quantile, "{pair:?}");
            assert!(pair[0].micros <= pair[1].micros, "{pair:?}");
            assert!(pair[0].count <= pair[1].count, "{pair:?}");
        }
        let last = spectrum[spectrum.len() - 1];
        assert_eq!(last.quantile, 1.0);
        assert_eq!(last.count, 1000);
        assert_eq!(last.micros, h.max_micros());
        // The median step reads what the summary's median reads.
        let median = spectrum.iter().find(|p| p.quantile >= 0.5).unwrap();
        assert!((median.micros as f64 / 1000.0 - h.summary().median).abs() <= 1.0);
        assert!(Histogram::new().spectrum(5).is_empty());
    }

    #[test]
    fn linear_bins_hold_every_sample_in_equal_ranges() {
        let mut h = Histogram::new();
        for v in 1..=100 {
            h.record_micros(v * 1000);
        }
        let bins = h.linear_bins(10);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins.iter().map(|b| b.1).sum::<u64>(), 100);
        assert_eq!(bins[9].0, h.max_micros());
        for b in &bins {
            assert!((9..=12).contains(&b.1), "{bins:?}");
        }
        let mut one = Histogram::new();
        one.record_micros(5);
        one.record_micros(5);
        assert_eq!(one.linear_bins(10), vec![(5, 2)]);
        assert!(Histogram::new().linear_bins(10).is_empty());
    }

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
    fn oversized_headers_are_refused_before_allocating() {
        let mut raw = vec![0u8; 40];
        raw[0..4].copy_from_slice(&V2_COOKIE.to_be_bytes());
        raw[12..16].copy_from_slice(&5u32.to_be_bytes()); // five significant digits
        raw[16..24].copy_from_slice(&1u64.to_be_bytes());
        raw[24..32].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(Histogram::decode(&raw), Err(DecodeError::Range)));
        // A deflate bomb: 8 MB of zeros compressed to a few KB is refused at 1 MB.
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 8 << 20]).unwrap();
        let compressed = z.finish().unwrap();
        let mut bomb = V2_DEFLATE_COOKIE.to_be_bytes().to_vec();
        bomb.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
        bomb.extend_from_slice(&compressed);
        assert!(matches!(Histogram::decode(&bomb), Err(DecodeError::Range)));
    }

    #[test]
    fn a_cut_stream_is_refused_and_the_thread_decodes_the_next_one() {
        let mut h = Histogram::new();
        for v in 1..5_000 {
            h.record_micros(v * 7);
        }
        let good = h.encode();
        let len = be_u32(&good, 4).unwrap() as usize;
        for keep in [0, 1, len / 2, len - 1] {
            // The length field agrees with the bytes present, but the zlib stream has no end.
            let mut cut = good[..4].to_vec();
            cut.extend_from_slice(&(keep as u32).to_be_bytes());
            cut.extend_from_slice(&good[8..8 + keep]);
            assert!(Histogram::decode(&cut).is_err(), "kept {keep} of {len}");
            // The per-thread decompressor starts afresh for the next histogram.
            let back = Histogram::decode(&good).unwrap();
            assert_eq!(back.len(), h.len());
            assert_eq!(back.quantile_micros(0.99), h.quantile_micros(0.99));
        }
    }

    #[test]
    fn the_fast_encoding_is_the_same_histogram_in_the_same_format() {
        let mut h = Histogram::new();
        for v in 1..20_000 {
            h.record_micros(v * 3 + v % 17);
        }
        h.record_micros(MAX_MICROS);
        let fast = h.encode_fast();
        assert_eq!(&fast[..4], &h.encode()[..4]);
        assert_eq!(be_u32(&fast, 4).unwrap() as usize, fast.len() - 8);
        let back = Histogram::decode(&fast).unwrap();
        assert_eq!(back.len(), h.len());
        for q in [0.0, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(back.quantile_micros(q), h.quantile_micros(q));
        }
        assert_eq!(back.encode(), h.encode());
        // HdrHistogram's own reader takes it too.
        let mut cursor: &[u8] = &fast;
        let theirs: hdrhistogram::Histogram<u64> =
            Deserializer::new().deserialize(&mut cursor).unwrap();
        assert_eq!(theirs.len(), h.len());
        assert_eq!(
            Histogram::decode(&Histogram::new().encode_fast())
                .unwrap()
                .len(),
            0
        );
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

    proptest! {
        /// One pass gives exactly the quantiles and the mean a summary gives.
        #[test]
        fn quantiles_and_mean_match_the_summary(values in prop::collection::vec((1u64..MAX_MICROS, 1u64..50), 0..300)) {
            let mut h = Histogram::new();
            for (v, n) in values {
                h.record_micros_n(v, n);
            }
            let s = h.summary();
            let ([p0, p50, p90, p95, p99, p999, p100], mean) =
                h.quantiles_and_mean([0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0]);
            let ms = |micros: u64| micros as f64 / 1000.0;
            prop_assert_eq!(p0, h.quantile_micros(0.0));
            prop_assert_eq!(ms(p50), s.median);
            prop_assert_eq!(ms(p90), s.p90);
            prop_assert_eq!(ms(p95), s.p95);
            prop_assert_eq!(ms(p99), s.p99);
            prop_assert_eq!(ms(p999), s.p999);
            prop_assert_eq!(p100, h.quantile_micros(1.0));
            prop_assert_eq!(mean / 1000.0, s.mean);
        }
    }

    #[test]
    fn a_sparse_copy_records_back_the_same_histogram() {
        let mut h = Histogram::new();
        for v in [1, 7, 7, 999, 1_234, 56_789, 3_000_000] {
            h.record_micros(v);
        }
        let mut back = Histogram::new();
        for (value, count) in h.recorded() {
            back.record_micros_n(value, count);
        }
        assert_eq!(back.len(), h.len());
        assert_eq!(back.summary(), h.summary());
        assert_eq!(back.encode(), h.encode());
    }
}
