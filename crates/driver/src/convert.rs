//! Conversions at the driver's edges: wire config → engine spec, engine interval → wire metrics.

use std::time::Duration;

use engine::{Interval, LoadSpec, Mode, RequestTemplate};
use protocol::wire_stats::encode_histogram;
use protocol::{Metrics, PROTOCOL_VERSION, TestConfig, TestType};

/// Turns a test configuration into what the engine runs, or says why it cannot.
pub fn load_spec(config: &TestConfig) -> Result<LoadSpec, String> {
    let mode = match config.test_type {
        TestType::Avalanche => Mode::Avalanche,
        TestType::Tsunami => {
            let gap = match config.target_rps {
                Some(rps) => 1.0 / rps,
                None => config.test_message_delay / 1000.0,
            };
            let interval =
                Duration::try_from_secs_f64(gap).map_err(|e| format!("invalid gap: {e}"))?;
            Mode::Scheduled { interval }
        }
    };
    let headers: Vec<(String, String)> = config
        .request
        .headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    let request = RequestTemplate::new(
        &config.request.method,
        &config.request.url,
        &headers,
        config.request.body.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    let spec = LoadSpec {
        mode,
        requests: config.message_count_per_driver,
        duration: config.duration_ms.map(Duration::from_millis),
        concurrency: config.concurrency,
        timeout: Duration::from_millis(config.timeout_ms),
        insecure: config.insecure,
        threads: None,
        request,
    };
    spec.validate().map_err(|e| e.to_string())?;
    Ok(spec)
}

/// Where one metrics message sits in a node's stream.
#[derive(Clone, Copy, Debug)]
pub struct Position<'a> {
    /// This node.
    pub node_id: &'a str,
    /// The test.
    pub test_id: &'a str,
    /// Sequence number, from 1.
    pub seq: u64,
    /// Whether this is the last message.
    pub is_final: bool,
    /// Interval bounds in ms since the test started on this driver.
    pub start_ms: u64,
    /// End of the interval.
    pub end_ms: u64,
    /// Why the run ended early, on a final message.
    pub stopped: Option<&'a str>,
}

/// Builds the metrics message for one interval. `report_id` is derived from test, node and
/// sequence, so a message re-sent after a broker error keeps its id and is de-duplicated.
pub fn metrics(interval: &Interval, at: Position<'_>) -> Metrics {
    Metrics {
        protocol_version: PROTOCOL_VERSION,
        node_id: at.node_id.to_owned(),
        test_id: at.test_id.to_owned(),
        report_id: format!("{}:{}:{}", at.test_id, at.node_id, at.seq),
        seq: at.seq,
        is_final: at.is_final,
        interval_start_ms: at.start_ms,
        interval_end_ms: at.end_ms.max(at.start_ms),
        sent_at_ms: protocol::now_ms(),
        metrics: interval.latency.summary().into(),
        histogram: encode_histogram(&interval.latency),
        service_histogram: encode_histogram(&interval.service),
        send_gap_histogram: interval.send_gaps.as_ref().map(encode_histogram),
        send_lag_histogram: interval.send_lag.as_ref().map(encode_histogram),
        counters: (&interval.counters).into(),
        stopped: at.stopped.map(str::to_owned),
    }
}
