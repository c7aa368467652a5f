//! `/metrics` after a real small test: the text parses as the Prometheus format and the
//! numbers are the test's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use axum::http::{StatusCode, header};
use bytes::Bytes;
use onslaught_api::ApiOptions;
use onslaught_protocol::Topic;
use serde_json::json;

use crate::support::Harness;

/// Samples by `name{labels}` as written, after checking every line's shape.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has text");
            assert!(!help.is_empty());
            assert!(helped.insert(name.to_owned()), "HELP twice for {name}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(
                ["counter", "gauge", "summary", "histogram", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(helped.contains(name), "TYPE before HELP: {line}");
            assert!(typed.insert(name.to_owned(), kind.to_owned()).is_none());
        } else {
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
            };
            let name = series.split('{').next().unwrap();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "{line}"
            );
            let labels = &series[name.len()..];
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
            let family = [
                name,
                name.trim_end_matches("_sum"),
                name.trim_end_matches("_count"),
            ]
            .into_iter()
            .find(|f| typed.contains_key(*f))
            .unwrap_or_else(|| panic!("sample before its TYPE: {line}"));
            if family != name {
                assert_eq!(typed[family], "summary", "{line}");
            }
            assert!(
                samples.insert(series.to_owned(), value).is_none(),
                "twice: {line}"
            );
        }
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_real_test() {
    let h = Harness::start(2, ApiOptions::default()).await;

    let mut request = h.avalanche(25);
    request["start"] = json!(true);
    let created = h.post("/api/tests", &request).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    h.wait_ended(&id).await;
    assert_eq!(
        h.post("/api/tests", &h.avalanche(5)).await.status,
        StatusCode::CREATED
    );
    h.transport
        .publish(Topic::Heartbeat, "x", Bytes::from_static(b"not json"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let answer = h.get("/metrics").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.header(header::CONTENT_TYPE),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = answer.text();
    let m = parse(&text);
    let at = |series: &str| -> f64 {
        *m.get(series)
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert_eq!(at("onslaught_tests_started_total"), 1.0);
    assert_eq!(at(r#"onslaught_tests{status="completed"}"#), 1.0);
    assert_eq!(at(r#"onslaught_tests{status="created"}"#), 1.0);
    assert_eq!(at(r#"onslaught_tests{status="failed"}"#), 0.0);
    assert_eq!(at("onslaught_requests_sent_total"), 50.0);
    assert_eq!(at("onslaught_responses_received_total"), 50.0);
    assert_eq!(
        at(r#"onslaught_responses_by_status_total{code="200"}"#),
        50.0
    );
    for kind in [
        "connect", "timeout", "reset", "http_5xx", "aborted", "other",
    ] {
        assert_eq!(
            at(&format!(
                r#"onslaught_request_errors_total{{kind="{kind}"}}"#
            )),
            0.0
        );
    }
    assert_eq!(at(r#"onslaught_drivers{liveness="alive"}"#), 2.0);
    assert_eq!(at(r#"onslaught_drivers{liveness="dead"}"#), 0.0);
    let latency = |suffix: &str, extra: &str| {
        at(&format!(
            r#"onslaught_test_latency_seconds{suffix}{{test_id="{id}"{extra}}}"#
        ))
    };
    assert_eq!(latency("_count", ""), 50.0);
    let p50 = latency("", r#",quantile="0.5""#);
    let p99 = latency("", r#",quantile="0.99""#);
    assert!(p50 > 0.0 && p50 < 1.0 && p99 >= p50, "{p50} {p99}");
    assert!(latency("_sum", "") > 0.0);
    assert!(at("onslaught_metrics_messages_total") >= 2.0);
    assert_eq!(at("onslaught_duplicate_metrics_messages_total"), 0.0);
    // No OTLP endpoint configured: nothing pushed, nothing dropped.
    assert_eq!(at("onslaught_export_pushed_total"), 0.0);
    assert_eq!(at("onslaught_export_dropped_total"), 0.0);
    assert_eq!(
        at(r#"onslaught_rejected_messages_total{topic="heartbeat",reason="malformed"}"#),
        1.0
    );
}

#[tokio::test]
async fn metrics_of_an_empty_orchestrator_parse() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let m = parse(&h.get("/metrics").await.text());
    assert_eq!(m["onslaught_requests_sent_total"], 0.0);
    assert!(!m.keys().any(|k| k.starts_with("onslaught_test_latency")));
}

/// The orchestrator's subscription queues are measured: a gauge per topic of what waits now,
/// and of the most that ever waited.
#[tokio::test]
async fn the_orchestrators_subscription_backlog_is_a_gauge_per_topic() {
    let h = Harness::start(0, ApiOptions::default()).await;
    let register = onslaught_protocol::Register::new("driver-x", "127.0.0.1:1");
    h.transport
        .publish(
            Topic::Register,
            "driver-x",
            Bytes::from(onslaught_protocol::encode(&register)),
        )
        .await
        .unwrap();
    let peak = r#"onslaught_subscription_backlog_peak{topic="register"}"#;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let m = loop {
        let m = parse(&h.get("/metrics").await.text());
        if m.get(peak).is_some_and(|&n| n >= 1.0) {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no register backlog peak measured: {:?}",
            m.get(peak)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for topic in ["register", "heartbeat", "metrics"] {
        let waiting = m[&format!(r#"onslaught_subscription_backlog{{topic="{topic}"}}"#)];
        let most = m[&format!(r#"onslaught_subscription_backlog_peak{{topic="{topic}"}}"#)];
        assert!(
            waiting >= 0.0 && waiting <= most,
            "{topic}: {waiting} > {most}"
        );
    }
}
