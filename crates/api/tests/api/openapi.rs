//! The OpenAPI document against the router (the same routes, each one served) and against the
//! Rust types (each schema's `required` and `properties` are what the types read and write).

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use onslaught_api::{ApiOptions, Endpoint};
use onslaught_orchestrator::Header;
use onslaught_orchestrator::report::{Histograms, REPORT_VERSION, TestReport};
use onslaught_orchestrator::{
    FlowView, Liveness, NodeView, StatsView, Summary, TestRequest, TestStatus, TestView,
    views::{NodeFacts, SeriesPoint},
};
use onslaught_protocol::NodeState;
use onslaught_stats::{Counters, ErrorKind};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::schema::assert_valid;
use crate::support::Harness;

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    routes
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_router_serves() {
    let doc = onslaught_api::openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let table: BTreeSet<(String, String)> = Endpoint::ALL
        .iter()
        .map(|e| (e.method().to_string(), e.path().to_owned()))
        .collect();
    assert_eq!(documented_routes(&doc), table);

    let h = Harness::start(0, ApiOptions::default()).await;
    let served = h.get("/api/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.json(), doc);

    // Every documented route is served by its own handler: not the JSON 404 for unknown API
    // paths, not the dashboard fallback, not a 405.
    for (method, path) in documented_routes(&doc) {
        let uri = path.replace("{id}", "t-none");
        let mut request = Request::builder().method(method.as_str()).uri(&uri);
        let body = if path == "/api/tests" && method == "POST" {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(
                json!({"test_type": "avalanche", "url": h.target, "duration_ms": 10}).to_string(),
            )
        } else {
            Body::empty()
        };
        let response = h
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let operation = &doc["paths"][&path][method.to_ascii_lowercase()];
        assert!(
            operation["responses"][status.as_str()].is_object(),
            "{method} {path} answered {status}, which the document does not list"
        );
        if path == "/api/events" {
            continue; // endless body
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("no API route"), "{method} {path}: {text}");
        assert!(!text.contains("no such path"), "{method} {path}: {text}");
    }

    // Every `$ref` resolves, and every `operationId` is unique.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 20);
    for reference in refs {
        assert!(
            doc.pointer(reference.trim_start_matches('#')).is_some(),
            "dangling {reference}"
        );
    }
    let ids: Vec<&str> = documented_routes(&doc)
        .iter()
        .map(|(m, p)| {
            doc["paths"][p][m.to_ascii_lowercase()]["operationId"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match (key.as_str(), item) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}

fn names(value: &Value, key: &str) -> BTreeSet<String> {
    match &value[key] {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap().to_owned())
            .collect(),
        Value::Object(map) => map.keys().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

/// For a type the API writes: `required` is what its smallest value always writes,
/// `properties` is what its fullest value writes, and both decode back.
fn check_written<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    doc: &Value,
    name: &str,
    smallest: &T,
    fullest: &T,
) {
    let schema = &doc["components"]["schemas"][name];
    let small = serde_json::to_value(smallest).unwrap();
    let full = serde_json::to_value(fullest).unwrap();
    assert_eq!(names(schema, "required"), keys(&small), "{name}: required");
    // A written request has one schedule (the fullest: its rate); the others are checked apart.
    let written = if name == "TestConfig" {
        with_other_schedules(keys(&full))
    } else {
        keys(&full)
    };
    assert_eq!(names(schema, "properties"), written, "{name}: properties");
    assert_eq!(
        &serde_json::from_value::<T>(small.clone()).unwrap(),
        smallest
    );
    assert_eq!(&serde_json::from_value::<T>(full.clone()).unwrap(), fullest);
    assert_valid(doc, name, &small);
    assert_valid(doc, name, &full);
}

fn summary(x: f64) -> Summary {
    Summary {
        count: 3,
        min: x,
        max: x,
        mean: x,
        stdev: 0.0,
        median: x,
        mode: x,
        p90: x,
        p95: x,
        p99: x,
        p999: x,
    }
}

fn full_stats() -> StatsView {
    // Field by field, so a counter added to `Counters` needs no change here.
    let mut counters = Counters::default();
    counters.requests_attempted = 4;
    counters.requests_sent = 3;
    counters.responses_received = 3;
    counters.errors = BTreeMap::from([(ErrorKind::Timeout, 1)]);
    counters.error_reasons = BTreeMap::from([("timeout".to_owned(), 1)]);
    counters.status_codes = BTreeMap::from([(200, 2)]);
    counters.bytes_sent = 10;
    counters.bytes_received = 20;
    counters.checks_passed = 2;
    counters.checks_failed = 1;
    counters.user_ms = 1_500;
    counters.failed_checks = BTreeMap::from([("status".to_owned(), 1)]);
    let login = StatsView {
        counters: counters.clone(),
        rps: 1.5,
        success_ratio: 0.5,
        latency: summary(1.0),
        service_time: summary(0.5),
        ..StatsView::default()
    };
    let buy = FlowView {
        started: 3,
        completed: 1,
        interrupted: 1,
        dropped: 1,
        rate: 0.5,
        duration: summary(20.0),
    };
    StatsView {
        counters,
        rps: 1.5,
        success_ratio: 0.5,
        latency: summary(1.0),
        service_time: summary(0.5),
        send_gap: Some(summary(10.0)),
        send_lag: Some(summary(0.05)),
        by_name: BTreeMap::from([("login".to_owned(), login)]),
        flows: BTreeMap::from([("buy".to_owned(), buy)]),
    }
}

/// The schedules a request gives instead of `rate` (one per request), with a value each.
fn other_schedules() -> [(&'static str, Value); 3] {
    let stages = serde_json::json!([{"duration_ms": 1000, "target": 10.0}]);
    [
        ("rate_total", serde_json::json!(30.0)),
        ("stages", stages.clone()),
        ("stages_total", stages),
    ]
}

/// `keys` and the other schedules' fields (a full request has one schedule: its rate).
fn with_other_schedules(mut keys: BTreeSet<String>) -> BTreeSet<String> {
    keys.extend(other_schedules().map(|(field, _)| field.to_owned()));
    keys
}

fn full_request() -> TestRequest {
    let mut r = TestRequest::new("tsunami", "http://127.0.0.1:9/ping");
    r.method = "POST".into();
    r.headers = vec![Header {
        name: "x-a".into(),
        value: "1".into(),
    }];
    r.body = Some("{}".into());
    // A rate or a delay, not both (and `body` or `body_base64`, not both).
    r.rate = Some(10.0);
    r.expect_status = Some(onslaught_orchestrator::ExpectStatus::parse("2xx,404").unwrap());
    r.max_error_ratio = 0.5;
    r.requests_per_driver = Some(10);
    r.duration_ms = Some(1000);
    r.insecure = true;
    r.drivers = Some(1);
    r.thresholds = vec!["p99 < 250ms".into()];
    r.abort_on_fail = true;
    r.abort_grace_ms = 1000;
    r.otlp_endpoint = Some("http://127.0.0.1:4318/v1/metrics".to_owned());
    r.start = true;
    r.name = Some("shop".into());
    r.iterations_per_driver = Some(5);
    r.flows = serde_json::from_value(serde_json::json!([{
        "name": "buy",
        "steps": [{"request": {"url": "/login"}}]
    }]))
    .unwrap();
    r.data =
        serde_json::from_value(serde_json::json!({"accounts": {"rows": [{"user": "a"}]}})).unwrap();
    r.defaults = serde_json::from_value(serde_json::json!({"headers": {"accept": "*/*"}})).unwrap();
    r
}

fn test_view(full: bool) -> TestView {
    let some = |v| full.then_some(v);
    TestView {
        id: "t-1".into(),
        status: TestStatus::Completed,
        config: full_request(),
        drivers: vec!["driver-1".into()],
        created_at_ms: 1,
        started_at_ms: some(2),
        ended_at_ms: some(3),
        message: full.then(|| "news".to_owned()),
        warnings: if full {
            vec!["driver driver-1 started 900 ms after the test's start time".to_owned()]
        } else {
            Vec::new()
        },
        aggregate: full_stats(),
        nodes: BTreeMap::from([("driver-1".to_owned(), full_stats())]),
        node_facts: BTreeMap::from([("driver-1".to_owned(), NodeFacts::default())]),
        series: vec![SeriesPoint::default()],
        thresholds: if full {
            vec![onslaught_orchestrator::ThresholdResult {
                expression: "p99 < 250ms".into(),
                value: Some(12.5),
                passed: true,
                warming_up: false,
            }]
        } else {
            Vec::new()
        },
        aborted_by_threshold: full,
        load_changes: if full {
            vec![
                onslaught_orchestrator::LoadChange {
                    at_ms: 2_500,
                    offset_ms: 2_000,
                    rate: Some(200.0),
                    rate_total: Some(600.0),
                    users: None,
                    users_total: None,
                    requested_at_ms: 2_000,
                    requested_by: "api".into(),
                },
                onslaught_orchestrator::LoadChange {
                    at_ms: 3_500,
                    offset_ms: 3_000,
                    rate: None,
                    rate_total: None,
                    users: Some(20),
                    users_total: Some(60),
                    requested_at_ms: 3_000,
                    requested_by: "dashboard".into(),
                },
            ]
        } else {
            Vec::new()
        },
        takeovers: if full {
            vec![onslaught_orchestrator::Takeover {
                lost: vec!["driver-2".into()],
                detected_at_ms: 12_000,
                at_ms: 12_500,
                offset_ms: 11_500,
                drivers: vec!["driver-1".into(), "driver-3".into()],
                gap_from_offset_ms: 8_000,
                unmeasured: 350,
            }]
        } else {
            Vec::new()
        },
        report_path: full.then(|| "/tmp/t-1/test.json".to_owned()),
        report_error: full.then(|| "disk full".to_owned()),
        last_metrics_sent_at_ms: some(4),
    }
}

fn node_view(reason: Option<&str>) -> NodeView {
    NodeView {
        node_id: "driver-1".into(),
        address: "in-process".into(),
        state: NodeState::Rejected,
        test_id: reason.map(|_| "t-1".to_owned()),
        liveness: Liveness::Alive,
        last_heartbeat_ms: 1,
        registered_at_ms: 1,
        requests_sent: 0,
        reason: reason.map(str::to_owned),
        counters: reason
            .map(|_| BTreeMap::from([("forged_messages".to_owned(), 1)]))
            .unwrap_or_default(),
    }
}

#[test]
fn schemas_match_what_the_types_write() {
    let doc = onslaught_api::openapi::document();
    check_written(&doc, "Summary", &Summary::default(), &summary(2.0));
    let mut small_stats = full_stats();
    small_stats.send_gap = None;
    small_stats.send_lag = None;
    // Per-name, per-flow, check and users' numbers only for tests that have them.
    small_stats.by_name.clear();
    small_stats.flows.clear();
    small_stats.counters.checks_passed = 0;
    small_stats.counters.checks_failed = 0;
    small_stats.counters.failed_checks.clear();
    // Users' time only for an avalanche with stages.
    small_stats.counters.user_ms = 0;
    check_written(&doc, "StatsView", &small_stats, &full_stats());
    let flow = full_stats().flows["buy"].clone();
    check_written(&doc, "FlowView", &FlowView::default(), &flow);
    // No latency without responses: `null`, as documented.
    check_written(&doc, "StatsView", &StatsView::default(), &full_stats());
    let point = SeriesPoint {
        responses: 5,
        p50: Some(1.0),
        p95: Some(2.0),
        p99: Some(3.0),
        mean: Some(1.5),
        nodes: BTreeMap::from([("driver-1".to_owned(), 5)]),
        users: Some(2.5),
        by_name: BTreeMap::from([(
            "login".to_owned(),
            onslaught_orchestrator::NamePoint {
                requests: 3,
                responses: 3,
                errors: 1,
                p50: Some(1.0),
                p90: Some(2.0),
                p95: Some(2.5),
                p99: Some(3.0),
                max: Some(4.0),
            },
        )]),
        ..SeriesPoint::default()
    };
    check_written(&doc, "SeriesPoint", &SeriesPoint::default(), &point);
    let lost = NodeFacts {
        lost: true,
        lost_at_ms: Some(7),
        stopped: Some("stopped by the orchestrator".to_owned()),
        last_send_us: Some(8),
        last_response_us: Some(9),
        started_at_ms: Some(5),
        start_offset_ms: Some(3),
        ..NodeFacts::default()
    };
    check_written(&doc, "NodeFacts", &NodeFacts::default(), &lost);
    check_written(
        &doc,
        "NodeView",
        &node_view(None),
        &node_view(Some("bad url")),
    );
    check_written(&doc, "TestView", &test_view(false), &test_view(true));
    // A request written back (in a view, a report) has every field.
    // Thresholds and abort_on_fail are written only when given.
    let mut without_thresholds = full_request();
    without_thresholds.thresholds.clear();
    without_thresholds.abort_on_fail = false;
    without_thresholds.abort_grace_ms = 0;
    // So are a name, flows, data and defaults.
    without_thresholds.name = None;
    without_thresholds.otlp_endpoint = None;
    without_thresholds.flows.clear();
    without_thresholds.data.clear();
    without_thresholds.defaults = None;
    check_written(&doc, "TestConfig", &without_thresholds, &full_request());
    // The other schedules are written when given, in place of the rate.
    for (field, value) in other_schedules() {
        let mut other = full_request();
        other.rate = None;
        match field {
            "rate_total" => other.rate_total = Some(30.0),
            "stages" => other.stages = serde_json::from_value(value).unwrap(),
            _ => other.stages_total = serde_json::from_value(value).unwrap(),
        }
        let written = serde_json::to_value(&other).unwrap();
        assert!(written.get(field).is_some(), "{field}: {written}");
        assert_valid(&doc, "TestConfig", &written);
    }
    let report = |full: bool| TestReport {
        report_version: REPORT_VERSION,
        test: test_view(full),
        histograms: Histograms::default(),
        node_reports: BTreeMap::from([("driver-1".to_owned(), "node-driver-1.json".to_owned())]),
    };
    check_written(&doc, "Report", &report(false), &report(true));
    let header = Header {
        name: "a".into(),
        value: "b".into(),
    };
    check_written(&doc, "Header", &header, &header);

    // The list item is a TestView without `series`.
    let item = &doc["components"]["schemas"]["TestListItem"];
    let mut expected = names(&doc["components"]["schemas"]["TestView"], "required");
    expected.remove("series");
    assert_eq!(names(item, "required"), expected);
}

#[test]
fn the_request_schema_requires_what_decoding_requires() {
    let doc = onslaught_api::openapi::document();
    let schema = &doc["components"]["schemas"]["TestRequest"];
    let required = names(schema, "required");
    let full = serde_json::to_value(full_request()).unwrap();
    assert_eq!(
        names(schema, "properties"),
        with_other_schedules(keys(&full))
    );
    assert_valid(&doc, "TestRequest", &full);
    // Each other schedule, in place of the rate, is valid too.
    for (field, value) in other_schedules() {
        let mut other = full.clone();
        other["rate"] = Value::Null;
        other[field] = value;
        assert_valid(&doc, "TestRequest", &other);
    }

    // Only the required fields decode; without any one of them it does not.
    let smallest: serde_json::Map<String, Value> = full
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| required.contains(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let decoded: TestRequest = serde_json::from_value(Value::Object(smallest.clone())).unwrap();
    assert_eq!(
        decoded,
        TestRequest::new("tsunami", "http://127.0.0.1:9/ping")
    );
    for field in &required {
        let mut without = smallest.clone();
        without.remove(field);
        assert!(
            serde_json::from_value::<TestRequest>(Value::Object(without)).is_err(),
            "decodes without {field}"
        );
    }
    // Every optional field may be left out, and each documented default is the type's.
    for (field, property) in schema["properties"].as_object().unwrap() {
        if let Some(default) = property.get("default") {
            assert_eq!(
                &serde_json::to_value(&decoded).unwrap()[field],
                default,
                "{field}"
            );
        }
    }
    // Fields the schema does not list are refused, as the schema says.
    assert_eq!(schema["additionalProperties"], false);
    let mut extra = full.clone();
    extra["extra"] = json!(1);
    assert!(serde_json::from_value::<TestRequest>(extra).is_err());
}
