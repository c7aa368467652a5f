//! How `stats` values travel: summaries in ms, counters with string keys, histograms as base64.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use onslaught_stats::{Counters, ErrorKind, Histogram, Summary};
use serde::{Deserialize, Serialize};

use crate::codec::DecodeError;

/// The latency summary of a metrics message, in ms. The first four names are the assignment's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMetrics {
    /// Samples in the interval.
    pub count: u64,
    /// Mean latency.
    pub mean_latency: f64,
    /// Median latency.
    pub median_latency: f64,
    /// Smallest latency.
    pub min_latency: f64,
    /// Largest latency.
    pub max_latency: f64,
    /// Most frequent latency at the histogram's resolution.
    pub mode_latency: f64,
    /// 90th percentile.
    pub p90_latency: f64,
    /// 95th percentile.
    pub p95_latency: f64,
    /// 99th percentile.
    pub p99_latency: f64,
    /// 99.9th percentile.
    pub p999_latency: f64,
}

impl From<Summary> for LatencyMetrics {
    fn from(s: Summary) -> Self {
        Self {
            count: s.count,
            mean_latency: s.mean,
            median_latency: s.median,
            min_latency: s.min,
            max_latency: s.max,
            mode_latency: s.mode,
            p90_latency: s.p90,
            p95_latency: s.p95,
            p99_latency: s.p99,
            p999_latency: s.p999,
        }
    }
}

/// Counters on the wire: error kinds and status codes as string keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireCounters {
    /// Requests started, sent or not (a connection that could not be opened); absent from
    /// older drivers (then taken as `requests_sent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_attempted: Option<u64>,
    /// Requests written to a connection.
    pub requests_sent: u64,
    /// Requests that got a complete response.
    pub responses_received: u64,
    /// Failures by kind (`connect`, `timeout`, `reset`, `http_5xx`, `other`).
    #[serde(default)]
    pub errors: BTreeMap<String, u64>,
    /// Failures by kind and cause (`connect: connection refused (os error 111)`), at most
    /// [`onslaught_stats::counters::MAX_REASONS`] (plus one for the rest), each at most 256 bytes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_reasons: BTreeMap<String, u64>,
    /// Responses by status code.
    #[serde(default)]
    pub status_codes: BTreeMap<String, u64>,
    /// Request bytes written.
    #[serde(default)]
    pub bytes_sent: u64,
    /// Response bytes read.
    #[serde(default)]
    pub bytes_received: u64,
    /// Scheduled sends that went out late.
    #[serde(default)]
    pub late_sends: u64,
}

impl From<&Counters> for WireCounters {
    fn from(c: &Counters) -> Self {
        Self {
            requests_attempted: Some(c.requests_attempted),
            requests_sent: c.requests_sent,
            responses_received: c.responses_received,
            errors: c
                .errors
                .iter()
                .map(|(k, n)| (k.as_str().to_owned(), *n))
                .collect(),
            error_reasons: c.error_reasons.clone(),
            status_codes: c
                .status_codes
                .iter()
                .map(|(code, n)| (code.to_string(), *n))
                .collect(),
            bytes_sent: c.bytes_sent,
            bytes_received: c.bytes_received,
            late_sends: c.late_sends,
        }
    }
}

impl WireCounters {
    /// Checks that every key is a known error kind or a valid status code.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if let Some(bad) = self.errors.keys().find(|k| ErrorKind::parse(k).is_none()) {
            return Err(DecodeError::invalid(
                "counters.errors",
                format!("unknown kind `{bad}`"),
            ));
        }
        if self.error_reasons.len() > onslaught_stats::counters::MAX_REASONS + 1 {
            return Err(DecodeError::invalid(
                "counters.error_reasons",
                format!(
                    "more than {} distinct reasons",
                    onslaught_stats::counters::MAX_REASONS + 1
                ),
            ));
        }
        if self.error_reasons.keys().any(|k| k.len() > 256) {
            return Err(DecodeError::invalid(
                "counters.error_reasons",
                "a reason is longer than 256 bytes",
            ));
        }
        if let Some(bad) = self
            .status_codes
            .keys()
            .find(|k| !matches!(k.parse::<u16>(), Ok(100..=999)))
        {
            return Err(DecodeError::invalid(
                "counters.status_codes",
                format!("`{bad}` is not an HTTP status"),
            ));
        }
        Ok(())
    }

    /// Back to `stats` counters. Unknown keys (rejected by [`WireCounters::validate`]) are
    /// dropped.
    pub fn to_counters(&self) -> Counters {
        Counters {
            requests_attempted: self.requests_attempted.unwrap_or(self.requests_sent),
            requests_sent: self.requests_sent,
            responses_received: self.responses_received,
            errors: self
                .errors
                .iter()
                .filter_map(|(k, n)| ErrorKind::parse(k).map(|k| (k, *n)))
                .collect(),
            error_reasons: self.error_reasons.clone(),
            status_codes: self
                .status_codes
                .iter()
                .filter_map(|(k, n)| k.parse::<u16>().ok().map(|k| (k, *n)))
                .collect(),
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            late_sends: self.late_sends,
        }
    }
}

/// Encodes a histogram for the wire.
pub fn encode_histogram(histogram: &Histogram) -> String {
    STANDARD.encode(histogram.encode())
}

/// Encodes a histogram like [`encode_histogram`], compressed for speed rather than size (for
/// reports, where a checkpoint encodes every node's histograms).
pub fn encode_histogram_fast(histogram: &Histogram) -> String {
    STANDARD.encode(histogram.encode_fast())
}

/// Decodes a histogram from the wire, naming `field` on failure.
pub fn decode_histogram(field: &'static str, text: &str) -> Result<Histogram, DecodeError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|e| DecodeError::invalid(field, format!("not base64: {e}")))?;
    Histogram::decode(&bytes).map_err(|e| DecodeError::invalid(field, e.to_string()))
}
