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
        per_name(&mut out, test);
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
    out.family(
        NAME,
        "summary",
        "Latency from the intended send time of the running test, or else the last one.",
    );
    summary_samples(out, NAME, &[("test_id", &test.id)], &test.aggregate.latency);
}

/// The latest test's numbers per request name (at most as many names as a test keeps, 100 by
/// default), its checks and its flows' iterations; nothing for a test of one request without
/// checks or flows.
fn per_name(out: &mut Exposition, test: &TestView) {
    let a = &test.aggregate;
    let id = test.id.as_str();
    if !a.by_name.is_empty() {
        const LATENCY: &str = "onslaught_test_request_latency_seconds";
        out.family(
            LATENCY,
            "summary",
            "Latency from the intended send time per request name, of the running test or \
             else the last one.",
        );
        for (name, s) in &a.by_name {
            summary_samples(out, LATENCY, &[("test_id", id), ("name", name)], &s.latency);
        }
        const SENT: &str = "onslaught_test_requests_sent_total";
        out.family(
            SENT,
            "counter",
            "Requests sent per request name, of the same test.",
        );
        for (name, s) in &a.by_name {
            out.sample(
                SENT,
                &[("test_id", id), ("name", name)],
                s.counters.requests_sent,
            );
        }
        const FAILED: &str = "onslaught_test_requests_failed_total";
        out.family(
            FAILED,
            "counter",
            "Requests per request name not answered with an accepted status, of the same test.",
        );
        for (name, s) in &a.by_name {
            let attempted = s.counters.requests_attempted.max(s.counters.requests_sent);
            let ok = (s.success_ratio * attempted as f64).round() as u64;
            let failed = attempted.saturating_sub(ok);
            out.sample(FAILED, &[("test_id", id), ("name", name)], failed);
        }
    }
    if a.counters.checks_passed + a.counters.checks_failed > 0 {
        const CHECKS: &str = "onslaught_test_checks_total";
        out.family(
            CHECKS,
            "counter",
            "Checks of responses by result, of the same test.",
        );
        let results = |c: &onslaught_stats::Counters| {
            [("passed", c.checks_passed), ("failed", c.checks_failed)]
        };
        for (result, n) in results(&a.counters) {
            out.sample(CHECKS, &[("test_id", id), ("result", result)], n);
        }
        if !a.by_name.is_empty() {
            const NAMED: &str = "onslaught_test_request_checks_total";
            out.family(
                NAMED,
                "counter",
                "Checks of responses per request name by result, of the same test.",
            );
            for (name, s) in &a.by_name {
                for (result, n) in results(&s.counters) {
                    out.sample(
                        NAMED,
                        &[("test_id", id), ("name", name), ("result", result)],
                        n,
                    );
                }
            }
        }
    }
    if !a.flows.is_empty() {
        const ITERATIONS: &str = "onslaught_test_flow_iterations_total";
        out.family(
            ITERATIONS,
            "counter",
            "Iterations per flow by outcome (started, completed, interrupted, dropped), of the \
             same test.",
        );
        for (flow, f) in &a.flows {
            for (state, n) in [
                ("started", f.started),
                ("completed", f.completed),
                ("interrupted", f.interrupted),
                ("dropped", f.dropped),
            ] {
                out.sample(
                    ITERATIONS,
                    &[("test_id", id), ("flow", flow), ("state", state)],
                    n,
                );
            }
        }
        const DURATION: &str = "onslaught_test_flow_duration_seconds";
        out.family(
            DURATION,
            "summary",
            "Duration of completed iterations per flow, of the same test.",
        );
        for (flow, f) in &a.flows {
            summary_samples(
                out,
                DURATION,
                &[("test_id", id), ("flow", flow)],
                &f.duration,
            );
        }
    }
}

/// The samples of a summary family `name` from `s` (ms), with `labels`.
fn summary_samples(out: &mut Exposition, name: &str, labels: &[(&str, &str)], s: &Summary) {
    for (quantile, ms) in [
        ("0.5", s.median),
        ("0.9", s.p90),
        ("0.95", s.p95),
        ("0.99", s.p99),
        ("0.999", s.p999),
    ] {
        let mut with_quantile = labels.to_vec();
        with_quantile.push(("quantile", quantile));
        out.sample(
            name,
            &with_quantile,
            // No latency without responses (Prometheus writes an empty summary's as NaN).
            Float(if s.count == 0 { f64::NAN } else { ms / 1000.0 }),
        );
    }
    let sum = s.mean * s.count as f64 / 1000.0;
    out.sample(&format!("{name}_sum"), labels, Float(sum));
    out.sample(&format!("{name}_count"), labels, s.count);
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

    /// A test of several request names exposes per-name series labelled `name` (the names a
    /// test keeps are bounded), its checks and its flows; one of a single request none of them.
    #[test]
    fn per_name_series_carry_a_name_label() {
        let stats = |sent: u64, passed: u64, failed: u64| {
            serde_json::json!({
                "requests_attempted": sent, "requests_sent": sent, "responses_received": sent,
                "status_codes": {"200": sent}, "checks_passed": passed, "checks_failed": failed,
                "rps": sent as f64, "success_ratio": 1.0,
                "latency": {"count": sent, "min": 1.0, "max": 4.0, "mean": 2.0, "stdev": 0.5,
                    "median": 2.0, "mode": 2.0, "p90": 3.0, "p95": 3.5, "p99": 4.0, "p999": 4.0},
                "service_time": null,
            })
        };
        let mut aggregate = stats(5, 4, 1);
        aggregate["by_name"] = serde_json::json!({"login": stats(2, 2, 0), "a\"b": stats(3, 2, 1)});
        aggregate["flows"] = serde_json::json!({"buy": {"started": 3, "completed": 2,
            "interrupted": 1, "dropped": 4, "rate": 1.0, "duration": null}});
        let test: TestView = serde_json::from_value(serde_json::json!({
            "id": "t1", "status": "completed",
            "config": {"test_type": "AVALANCHE", "url": "http://127.0.0.1:1/"},
            "drivers": [], "created_at_ms": 1, "aggregate": aggregate, "nodes": {},
            "node_facts": {}, "series": [], "report_path": null, "message": null,
            "started_at_ms": null, "ended_at_ms": null,
        }))
        .unwrap();
        let mut out = Exposition::default();
        per_name(&mut out, &test);
        let text = out.text;
        for line in [
            "onslaught_test_request_latency_seconds{test_id=\"t1\",name=\"login\",quantile=\"0.95\"} 0.0035",
            "onslaught_test_request_latency_seconds_count{test_id=\"t1\",name=\"login\"} 2",
            "onslaught_test_requests_sent_total{test_id=\"t1\",name=\"a\\\"b\"} 3",
            "onslaught_test_requests_failed_total{test_id=\"t1\",name=\"login\"} 0",
            "onslaught_test_checks_total{test_id=\"t1\",result=\"failed\"} 1",
            "onslaught_test_request_checks_total{test_id=\"t1\",name=\"login\",result=\"passed\"} 2",
            "onslaught_test_flow_iterations_total{test_id=\"t1\",flow=\"buy\",state=\"dropped\"} 4",
            "onslaught_test_flow_duration_seconds{test_id=\"t1\",flow=\"buy\",quantile=\"0.5\"} NaN",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        let mut plain = test.clone();
        plain.aggregate.by_name.clear();
        plain.aggregate.flows.clear();
        plain.aggregate.counters.checks_passed = 0;
        plain.aggregate.counters.checks_failed = 0;
        let mut out = Exposition::default();
        per_name(&mut out, &plain);
        assert!(out.text.is_empty(), "{}", out.text);
    }
}
