//! How `stats` values travel: the latency summary under the assignment's names, counters as
//! their serde form, histograms as base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use onslaught_stats::{Counters, Histogram};

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

/// Checks what deserializing [`Counters`] leaves open: the number and length of reasons.
pub fn check_counters(counters: &Counters) -> Result<(), DecodeError> {
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
