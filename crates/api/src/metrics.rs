//! `GET /metrics`: the orchestrator in the Prometheus text format (version 0.0.4), computed at
//! each scrape from what the orchestrator holds.
//!
//! Requests, responses and errors add up every test known in memory (including the history
//! reloaded from reports). The latency summary is the running test's, or else the last test's
//! that measured any, labelled with its id.

use std::collections::BTreeMap;
use std::fmt::{Display, Write};

use onslaught_orchestrator::{Liveness, Orchestrator, Summary, TestStatus, TestView};

/// The `Content-Type` of the exposition.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const STATUSES: [TestStatus; 8] = [
    TestStatus::Created,
    TestStatus::Configuring,
    TestStatus::Running,
    TestStatus::Completed,
    TestStatus::Degraded,
    TestStatus::Failed,
    TestStatus::Aborted,
    TestStatus::Interrupted,
];

const LIVENESS: [Liveness; 3] = [Liveness::Alive, Liveness::Missing, Liveness::Dead];

/// The whole exposition.
pub(crate) fn render(orchestrator: &Orchestrator) -> String {
    let mut out = Exposition::default();
    let stats = orchestrator.stats();
    let (tests, _) = orchestrator.tests(0, usize::MAX);

    out.family(
        "onslaught_tests_started_total",
        "counter",
        "Tests this orchestrator started.",
    );
    out.sample(
        "onslaught_tests_started_total",
        &[],
        load(&stats.tests_started),
    );

    out.family(
        "onslaught_triggers_resent_total",
        "counter",
        "Start triggers sent again because a driver had not started the test 2 s after the first.",
    );
    out.sample(
        "onslaught_triggers_resent_total",
        &[],
        load(&stats.triggers_resent),
    );

    out.family(
        "onslaught_tests",
        "gauge",
        "Tests known to the orchestrator, by status.",
    );
    for status in STATUSES {
        let n = tests.iter().filter(|t| t.status == status).count();
        out.sample("onslaught_tests", &[("status", &json_name(&status))], n);
    }

    let mut sent = 0u64;
    let mut responses = 0u64;
    let mut errors: BTreeMap<String, u64> = onslaught_stats::ErrorKind::ALL
        .iter()
        .map(|k| (k.name().into_owned(), 0))
        .collect();
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    for test in &tests {
        let a = &test.aggregate.counters;
        sent += a.requests_sent;
        responses += a.responses_received;
        for (kind, n) in &a.errors {
            *errors.entry(kind.name().into_owned()).or_default() += n;
        }
        for (code, n) in &a.status_codes {
            *codes.entry(code.to_string()).or_default() += n;
        }
    }
    out.family(
        "onslaught_requests_sent_total",
        "counter",
        "Requests sent by drivers, over every test known.",
    );
    out.sample("onslaught_requests_sent_total", &[], sent);
    out.family(
        "onslaught_responses_received_total",
        "counter",
        "Complete responses received by drivers, over every test known.",
    );
    out.sample("onslaught_responses_received_total", &[], responses);
    out.family(
        "onslaught_responses_by_status_total",
        "counter",
        "Responses by HTTP status code, over every test known.",
    );
    for (code, n) in &codes {
        out.sample("onslaught_responses_by_status_total", &[("code", code)], n);
    }
    out.family(
        "onslaught_request_errors_total",
        "counter",
        "Failed requests by kind, over every test known.",
    );
    for (kind, n) in &errors {
        out.sample("onslaught_request_errors_total", &[("kind", kind)], n);
    }

    if let Some(test) = latest(&tests) {
        latency_summary(&mut out, test);
    }

    out.family("onslaught_drivers", "gauge", "Known drivers by liveness.");
    let nodes = orchestrator.nodes();
    for liveness in LIVENESS {
        let n = nodes.iter().filter(|n| n.liveness == liveness).count();
        out.sample(
            "onslaught_drivers",
            &[("liveness", &json_name(&liveness))],
            n,
        );
    }

    out.family(
        "onslaught_rejected_messages_total",
        "counter",
        "Messages the orchestrator skipped, by topic and reason.",
    );
    let rejected = stats.rejected.lock().clone();
    for (key, n) in &rejected {
        let (topic, reason) = key.split_once(':').unwrap_or(("unknown", key.as_str()));
        out.sample(
            "onslaught_rejected_messages_total",
            &[("topic", topic), ("reason", reason)],
            n,
        );
    }
    out.family(
        "onslaught_duplicate_metrics_messages_total",
        "counter",
        "Metrics messages dropped as duplicates (same report_id).",
    );
    out.sample(
        "onslaught_duplicate_metrics_messages_total",
        &[],
        load(&stats.duplicates),
    );
    out.family(
        "onslaught_metrics_messages_total",
        "counter",
        "Metrics messages merged.",
    );
    out.sample(
        "onslaught_metrics_messages_total",
        &[],
        load(&stats.metrics_messages),
    );

    out.family(
        "onslaught_export_pushed_total",
        "counter",
        "Batches of per-second series the OTLP receiver accepted.",
    );
    out.sample(
        "onslaught_export_pushed_total",
        &[],
        load(&stats.export.pushed),
    );
    out.family(
        "onslaught_export_dropped_total",
        "counter",
        "Batches of per-second series not exported: queue full, receiver unreachable, too slow \
         or refusing.",
    );
    out.sample(
        "onslaught_export_dropped_total",
        &[],
        load(&stats.export.dropped),
    );

    let backlogs = stats.backlogs.lock().clone();
    out.family(
        "onslaught_subscription_backlog",
        "gauge",
        "Messages received on a topic and not yet handled by the orchestrator.",
    );
    for (topic, backlog) in &backlogs {
        out.sample(
            "onslaught_subscription_backlog",
            &[("topic", topic.name())],
            backlog.waiting(),
        );
    }
    out.family(
        "onslaught_subscription_backlog_peak",
        "gauge",
        "The most messages that ever waited on a topic for the orchestrator.",
    );
    for (topic, backlog) in &backlogs {
        out.sample(
            "onslaught_subscription_backlog_peak",
            &[("topic", topic.name())],
            backlog.peak(),
        );
    }
    out.text
}

/// The running test, else the newest test that measured latency.
fn latest(tests: &[TestView]) -> Option<&TestView> {
    tests
        .iter()
        .find(|t| t.status == TestStatus::Running)
        .or_else(|| tests.iter().find(|t| t.aggregate.latency.count > 0))
}

fn latency_summary(out: &mut Exposition, test: &TestView) {
    const NAME: &str = "onslaught_test_latency_seconds";
    let s: &Summary = &test.aggregate.latency;
    out.family(
        NAME,
        "summary",
        "Latency from the intended send time of the running test, or else the last one.",
    );
    let id = test.id.as_str();
    for (quantile, ms) in [
        ("0.5", s.median),
        ("0.9", s.p90),
        ("0.95", s.p95),
        ("0.99", s.p99),
        ("0.999", s.p999),
    ] {
        out.sample(
            NAME,
            &[("test_id", id), ("quantile", quantile)],
            // No latency without responses (Prometheus writes an empty summary's as NaN).
            Float(if s.count == 0 { f64::NAN } else { ms / 1000.0 }),
        );
    }
    let sum = s.mean * s.count as f64 / 1000.0;
    out.sample(&format!("{NAME}_sum"), &[("test_id", id)], Float(sum));
    out.sample(&format!("{NAME}_count"), &[("test_id", id)], s.count);
}

fn load(counter: &std::sync::atomic::AtomicU64) -> u64 {
    counter.load(std::sync::atomic::Ordering::Relaxed)
}

/// How a unit enum is spelled in the JSON (`running`, `alive`).
fn json_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A float as Prometheus reads it (`+Inf`, `NaN`).
struct Float(f64);

impl Display for Float {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            v if v.is_nan() => f.write_str("NaN"),
            v if v == f64::INFINITY => f.write_str("+Inf"),
            v if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            v => write!(f, "{v}"),
        }
    }
}

/// The text being written.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_escaped_and_floats_spelled_for_prometheus() {
        let mut out = Exposition::default();
        out.family("x_total", "counter", "An x.");
        out.sample("x_total", &[("a", "q\"\\\nz"), ("b", "2")], 3);
        out.sample("y", &[], Float(f64::INFINITY));
        out.sample("y", &[], Float(0.25));
        assert_eq!(
            out.text,
            "# HELP x_total An x.\n# TYPE x_total counter\n\
             x_total{a=\"q\\\"\\\\\\nz\",b=\"2\"} 3\ny +Inf\ny 0.25\n"
        );
    }
}
