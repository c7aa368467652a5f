//! Conversions at the driver's edges: wire config → engine spec, engine interval → wire metrics.

use std::time::Duration;

use base64::Engine as _;
use onslaught_engine::{Interval, LoadSpec, Mode, RequestTemplate};
use onslaught_protocol::wire_stats::encode_histogram;
use onslaught_protocol::{Metrics, PROTOCOL_VERSION, TestConfig, TestType};

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
    let mut request = RequestTemplate::new(
        &config.request.method,
        &config.request.url,
        &headers,
        config.request.body.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    if let Some(encoded) = &config.request.body_base64 {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| format!("invalid body_base64: {e}"))?;
        request.body = bytes::Bytes::from(bytes);
    }
    let per_second = match config.test_type {
        TestType::Avalanche => None,
        TestType::Tsunami => Some(
            config
                .target_rps
                .unwrap_or(1000.0 / config.test_message_delay),
        ),
    };
    let requests = match (per_second, config.duration_ms) {
        (Some(per_second), Some(duration_ms)) => {
            let fit = sends_before(duration_ms, per_second);
            Some(config.message_count_per_driver.map_or(fit, |n| n.min(fit)))
        }
        _ => config.message_count_per_driver,
    };
    let spec = LoadSpec {
        mode,
        requests,
        duration: config.duration_ms.map(Duration::from_millis),
        concurrency: config.concurrency,
        timeout: Duration::from_millis(config.timeout_ms),
        insecure: config.insecure,
        threads: None,
        request,
    };
    spec.validate().map_err(|e| e.to_string())?;
    if let Some(limit) = onslaught_engine::limits::raise_open_files()
        && !onslaught_engine::limits::fits(u64::from(spec.concurrency), limit)
    {
        return Err(format!(
            "concurrency {} needs as many open files, beyond this driver's limit of {limit} \
             (ulimit -n, {} kept for itself)",
            spec.concurrency,
            onslaught_engine::limits::RESERVED_FILES
        ));
    }
    Ok(spec)
}

/// How many sends a schedule of `per_second` fits in `duration_ms`: request `i` is intended at
/// `i / per_second` and is sent only when that is before the deadline, so exactly
/// `ceil(duration x rate)` go out (900 for 300/s over 3 s, not 901). Computed from the rate, not
/// from the interval rounded to whole nanoseconds, whose rounding would let one more in.
fn sends_before(duration_ms: u64, per_second: f64) -> u64 {
    let exact = duration_ms as f64 * per_second / 1000.0;
    let nearest = exact.round();
    let count = if (exact - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        exact.ceil()
    };
    if count.is_finite() && count >= 0.0 {
        count as u64
    } else {
        u64::MAX
    }
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
    /// On a final message: from the run's start to its last send, and to the end of its last
    /// request.
    pub last_send: Option<Duration>,
    /// See `last_send`.
    pub last_response: Option<Duration>,
    /// Wall-clock time the run actually started, ms since the Unix epoch (None: it never did).
    pub started_at_ms: Option<u64>,
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
        sent_at_ms: onslaught_protocol::now_ms(),
        started_at_ms: at.started_at_ms,
        metrics: interval.latency.summary().into(),
        histogram: encode_histogram(&interval.latency),
        service_histogram: encode_histogram(&interval.service),
        send_gap_histogram: interval.send_gaps.as_ref().map(encode_histogram),
        send_lag_histogram: interval.send_lag.as_ref().map(encode_histogram),
        counters: (&interval.counters).into(),
        stopped: at.stopped.map(str::to_owned),
        last_send_us: at.last_send.map(micros),
        last_response_us: at.last_response.map(micros),
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_sends_only_requests_intended_before_its_deadline() {
        assert_eq!(sends_before(3_000, 300.0), 900);
        assert_eq!(sends_before(3_000, 100.0), 300);
        assert_eq!(sends_before(1_000, 3.0), 3);
        // 0, 1/3 and 2/3 s fall before 1 s; 1 s does not.
        assert_eq!(sends_before(1_001, 3.0), 4);
        assert_eq!(sends_before(2_500, 1.0), 3);
        assert_eq!(sends_before(1_000, 1000.0 / 7.0), 143);
    }

    #[test]
    fn a_base64_body_is_sent_as_its_bytes() {
        let mut request = orchestrator_free_config();
        request.request.body_base64 = Some("/wCAfw==".to_owned());
        let spec = load_spec(&request).unwrap();
        assert_eq!(spec.request.body.as_ref(), [0xff, 0x00, 0x80, 0x7f]);
        request.request.body_base64 = Some("not base64!".to_owned());
        assert!(load_spec(&request).unwrap_err().contains("body_base64"));
    }

    /// A minimal avalanche config (the orchestrator builds real ones).
    fn orchestrator_free_config() -> TestConfig {
        TestConfig {
            protocol_version: PROTOCOL_VERSION,
            test_id: "t".to_owned(),
            test_type: TestType::Avalanche,
            test_message_delay: 0.0,
            message_count_per_driver: Some(1),
            target_rps: None,
            duration_ms: None,
            concurrency: 1,
            timeout_ms: 1000,
            request: onslaught_protocol::RequestSpec {
                url: "http://127.0.0.1:9/".to_owned(),
                method: "POST".to_owned(),
                headers: Vec::new(),
                body: None,
                body_base64: None,
            },
            insecure: false,
            drivers: vec!["d".to_owned()],
            issued_at_ms: 0,
            signature: None,
        }
    }
}
