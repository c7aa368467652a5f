//! How `stats` values travel: the latency summary under the assignment's names, counters as
//! their serde form, histograms as base64, and the per-name and per-flow parts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use onslaught_stats::{Counters, Histogram, Iterations, Measurements};
use serde::{Deserialize, Serialize};

use crate::codec::DecodeError;

/// The `metrics` of a metrics message: the interval's latency [`Summary`] under the assignment's
/// names, each field `x` as `x_latency` (`mean_latency`, `median_latency`, `min_latency`,
/// `max_latency`, `p99_latency`...) but `count`. Derived from [`Summary`] field by field, so a
/// field added there follows.
pub mod assignment_names {
    use onslaught_stats::Summary;
    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::{Map, Value};

    const SUFFIX: &str = "_latency";

    /// Writes `summary` with the assignment's names.
    pub fn serialize<S: Serializer>(summary: &Summary, s: S) -> Result<S::Ok, S::Error> {
        let Value::Object(fields) = serde_json::to_value(summary).map_err(S::Error::custom)? else {
            return Err(S::Error::custom("a summary is a JSON object"));
        };
        let renamed: Map<String, Value> = fields
            .into_iter()
            .map(|(name, v)| match name.as_str() {
                "count" => (name, v),
                _ => (format!("{name}{SUFFIX}"), v),
            })
            .collect();
        renamed.serialize(s)
    }

    /// Reads a summary written with the assignment's names (missing fields are 0).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Summary, D::Error> {
        let fields = Map::<String, Value>::deserialize(d)?;
        let mut plain: Map<String, Value> = serde_json::to_value(Summary::default())
            .ok()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        for (name, v) in fields {
            let name = name
                .strip_suffix(SUFFIX)
                .map_or(name.clone(), str::to_owned);
            if plain.contains_key(&name) {
                plain.insert(name, v);
            }
        }
        serde_json::from_value(Value::Object(plain)).map_err(D::Error::custom)
    }
}

/// The most request names (and the most flows) one metrics message may carry. Drivers fold
/// names past the plan's limit (100 by default) into `other`, so this only stops a malformed or
/// hostile message from making the orchestrator keep unbounded state.
pub const MAX_NAMES: usize = 1000;

/// The longest request or flow name on the wire, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// One request name's part of a metrics message: its histograms (same encoding as the
/// message's own) and counters. Send gaps and lags are the node's, not a name's: not carried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamedMetrics {
    /// Latency histogram of this name's requests (µs, from the intended send time).
    pub histogram: String,
    /// Service-time histogram of this name's requests (µs, from the actual send).
    pub service_histogram: String,
    /// This name's counters (checks included).
    pub counters: Counters,
}

impl NamedMetrics {
    /// The wire form of one name's measurements.
    pub fn of(measured: &Measurements) -> Self {
        Self {
            histogram: encode_histogram(&measured.latency),
            service_histogram: encode_histogram(&measured.service),
            counters: measured.counters.clone(),
        }
    }

    /// The measurements of name `name` (for error messages), decoded.
    pub fn measurements(&self, name: &str) -> Result<Measurements, DecodeError> {
        let decode =
            |field, text: &str| decode_histogram(field, text).map_err(|e| in_name(e, name));
        Ok(Measurements {
            latency: decode("by_name.histogram", &self.histogram)?,
            service: decode("by_name.service_histogram", &self.service_histogram)?,
            counters: self.counters.clone(),
            ..Measurements::default()
        })
    }
}

/// One flow's part of a metrics message: its iterations in the interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlowMetrics {
    /// Iterations begun.
    pub started: u64,
    /// Iterations that ran every step.
    pub completed: u64,
    /// Iterations stopped before their last step.
    pub interrupted: u64,
    /// Iterations due that could not start (open load, every virtual user busy).
    pub dropped: u64,
    /// Durations of completed iterations (µs), same encoding as the message's histograms.
    pub duration_histogram: String,
}

impl FlowMetrics {
    /// The wire form of one flow's iterations.
    pub fn of(iterations: &Iterations) -> Self {
        Self {
            started: iterations.started,
            completed: iterations.completed,
            interrupted: iterations.interrupted,
            dropped: iterations.dropped,
            duration_histogram: encode_histogram(&iterations.duration),
        }
    }

    /// The iterations of flow `name` (for error messages), decoded.
    pub fn iterations(&self, name: &str) -> Result<Iterations, DecodeError> {
        Ok(Iterations {
            started: self.started,
            completed: self.completed,
            interrupted: self.interrupted,
            dropped: self.dropped,
            duration: decode_histogram("flows.duration_histogram", &self.duration_histogram)
                .map_err(|e| in_name(e, name))?,
        })
    }
}

/// `error` with the name it concerns in its reason.
fn in_name(error: DecodeError, name: &str) -> DecodeError {
    match error {
        DecodeError::Invalid { field, reason } => DecodeError::Invalid {
            field,
            reason: format!("{name:?}: {reason}"),
        },
        other => other,
    }
}

/// Checks the names of a per-name map (`field`): at most [`MAX_NAMES`], each at most
/// [`MAX_NAME_BYTES`] long.
pub fn check_names<'a>(
    field: &'static str,
    mut names: impl ExactSizeIterator<Item = &'a String>,
) -> Result<(), DecodeError> {
    if names.len() > MAX_NAMES {
        return Err(DecodeError::invalid(
            field,
            format!("more than {MAX_NAMES} names"),
        ));
    }
    if names.any(|n| n.len() > MAX_NAME_BYTES) {
        return Err(DecodeError::invalid(
            field,
            format!("a name is longer than {MAX_NAME_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Checks what deserializing [`Counters`] leaves open: the number and length of reasons and of
/// failed checks.
pub fn check_counters(counters: &Counters) -> Result<(), DecodeError> {
    let most = onslaught_stats::counters::MAX_REASONS + 1;
    if counters.failed_checks.len() > most {
        return Err(DecodeError::invalid(
            "counters.failed_checks",
            format!("more than {most} distinct checks"),
        ));
    }
    if counters.failed_checks.keys().any(|k| k.len() > 256) {
        return Err(DecodeError::invalid(
            "counters.failed_checks",
            "a check is longer than 256 bytes",
        ));
    }
    let most = onslaught_stats::counters::MAX_REASONS + 1;
    if counters.error_reasons.len() > most {
        return Err(DecodeError::invalid(
            "counters.error_reasons",
            format!("more than {most} distinct reasons"),
        ));
    }
    if counters.error_reasons.keys().any(|k| k.len() > 256) {
        return Err(DecodeError::invalid(
            "counters.error_reasons",
            "a reason is longer than 256 bytes",
        ));
    }
    Ok(())
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
