//! `onslaught run --otlp-endpoint URL` with the real binary and a real OTLP/HTTP receiver (a
//! hyper server decoding `ExportMetricsServiceRequest` with the published protocol crates): what
//! it receives equals the report's per-second series, of the test and of each driver; a receiver
//! that never answers neither hangs nor fails the test, and its batches are counted as dropped.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use prost::Message;
use serde_json::Value;
use support::{num, onslaught, serial};

/// What the receiver got: every request, in arrival order, and the path it was posted to.
type Received = Arc<Mutex<Vec<(String, ExportMetricsServiceRequest)>>>;

/// An OTLP/HTTP metrics receiver on a free loopback port; answers 200 with an empty
/// `ExportMetricsServiceResponse` as a collector does.
fn receiver(runtime: &tokio::runtime::Runtime) -> (String, Received) {
    let received: Received = Arc::default();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let store = Arc::clone(&received);
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let store = Arc::clone(&store);
                        async move {
                            let path = req.uri().path().to_owned();
                            assert_eq!(
                                req.headers()[hyper::header::CONTENT_TYPE],
                                "application/x-protobuf"
                            );
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let message = ExportMetricsServiceRequest::decode(body).unwrap();
                            store.lock().unwrap().push((path, message));
                            let answer = ExportMetricsServiceResponse::default().encode_to_vec();
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(answer))))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}/v1/metrics"), received)
}

/// A value as the receiver keeps it: the last one per metric, attributes and time.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Number {
    Int(i64),
    Double(f64),
}

/// (metric, driver or "", percentile or "", time_unix_nano) -> the last value received.
type Values = BTreeMap<(String, String, String, u64), Number>;

/// What the receiver holds: the last value of each point, and every `test.id` seen.
fn fold(received: &[(String, ExportMetricsServiceRequest)]) -> (Values, BTreeSet<String>) {
    let mut values = Values::new();
    let mut test_ids = BTreeSet::new();
    for (_, request) in received {
        for rm in &request.resource_metrics {
            for sm in &rm.scope_metrics {
                for m in &sm.metrics {
                    let Some(metric::Data::Gauge(gauge)) = &m.data else {
                        panic!("{} is not a gauge", m.name);
                    };
                    for p in &gauge.data_points {
                        let attr = |key: &str| {
                            p.attributes
                                .iter()
                                .find(|a| a.key == key)
                                .and_then(|a| a.value.as_ref()?.value.clone())
                                .map(|v| match v {
                                    any_value::Value::StringValue(s) => s,
                                    other => panic!("{other:?}"),
                                })
                                .unwrap_or_default()
                        };
                        test_ids.insert(attr("test.id"));
                        assert_eq!(attr("test.type"), "tsunami");
                        if m.name.starts_with("onslaught.request.") {
                            // A name's totals over the whole test, not a second.
                            continue;
                        }
                        assert_eq!(
                            p.time_unix_nano - p.start_time_unix_nano,
                            1_000_000_000,
                            "one second per point"
                        );
                        let value = match &p.value {
                            Some(number_data_point::Value::AsInt(n)) => Number::Int(*n),
                            Some(number_data_point::Value::AsDouble(d)) => Number::Double(*d),
                            None => panic!("{} has a point without a value", m.name),
                        };
                        // A request name's series is told apart like a driver's.
                        let whose = match attr("name") {
                            name if name.is_empty() => attr("driver"),
                            name => format!("name:{name}"),
                        };
                        values.insert(
                            (m.name.clone(), whose, attr("percentile"), p.time_unix_nano),
                            value,
                        );
                    }
                }
            }
        }
    }
    (values, test_ids)
}

/// Checks the exported series of `prefix` (and `driver`) against a report's `series`.
fn check_series(values: &Values, prefix: &str, driver: &str, started_at_ms: u64, series: &[Value]) {
    let time = |second: u64| (started_at_ms + (second + 1) * 1000) * 1_000_000;
    let get = |name: &str, percentile: &str, second: u64| {
        values
            .get(&(
                format!("{prefix}.{name}"),
                driver.to_owned(),
                percentile.to_owned(),
                time(second),
            ))
            .copied()
    };
    for point in series {
        let second = point["second"].as_u64().unwrap();
        for name in ["requests", "responses", "errors"] {
            assert_eq!(
                get(name, "", second),
                Some(Number::Int(point[name].as_i64().unwrap())),
                "{prefix}.{name} {driver} second {second}"
            );
        }
        assert_eq!(
            get("throughput", "", second),
            Some(Number::Double(point["responses"].as_f64().unwrap()))
        );
        for percentile in ["p50", "p90", "p99", "max"] {
            let expected = point[percentile].as_f64().map(Number::Double);
            assert_eq!(
                get("latency", percentile, second),
                expected,
                "{prefix}.latency {percentile} {driver} second {second}"
            );
        }
    }
    // Nothing exported beyond the report's seconds.
    let seconds: BTreeSet<u64> = series
        .iter()
        .map(|p| time(p["second"].as_u64().unwrap()))
        .collect();
    let exported: BTreeSet<u64> = values
        .keys()
        .filter(|(name, d, _, _)| name == &format!("{prefix}.requests") && d == driver)
        .map(|k| k.3)
        .collect();
    assert_eq!(exported, seconds, "{prefix} {driver}");
}

#[test]
fn exported_series_equal_the_report() {
    let _serial = serial();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (endpoint, received) = receiver(&runtime);
    let reports = tempfile::tempdir().unwrap();
    // 2 drivers x 200 requests at 50/s each: 400 requests at 100/s, four seconds, against the
    // built-in target.
    let output = onslaught()
        .args(["run", "--drivers", "2", "--type", "tsunami", "--rate", "50"])
        .args([
            "--requests",
            "200",
            "--quiet",
            "-o",
            "json",
            "--otlp-endpoint",
        ])
        .arg(&endpoint)
        .arg("--report-dir")
        .arg(reports.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("dropped"), "{stderr}");
    assert!(stderr.contains(" 0 dropped"), "{stderr}");
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    let id = summary["id"].as_str().unwrap();
    let folder = reports.path().join(id);
    let report: Value =
        serde_json::from_slice(&std::fs::read(folder.join("test.json")).unwrap()).unwrap();

    let received = received.lock().unwrap().clone();
    assert!(
        received.len() >= 2,
        "seconds are pushed as they close, then once more at the end: {} pushes",
        received.len()
    );
    assert!(received.iter().all(|(path, _)| path == "/v1/metrics"));
    let (values, test_ids) = fold(&received);
    assert_eq!(test_ids, BTreeSet::from([id.to_owned()]));

    let started_at_ms = report["started_at_ms"].as_u64().unwrap();
    let series = report["series"].as_array().unwrap();
    assert!(series.len() >= 3, "{series:?}");
    check_series(&values, "onslaught.test", "", started_at_ms, series);
    // The totals are the sums of the exported seconds.
    let sum = |name: &str, driver: &str| -> i64 {
        values
            .iter()
            .filter(|((n, d, _, _), _)| n == name && d == driver)
            .map(|(_, v)| match v {
                Number::Int(n) => *n,
                Number::Double(_) => panic!("{name} is a count"),
            })
            .sum()
    };
    let sent = num(&report, "/aggregate/requests_sent");
    assert!((sent - 400.0).abs() < 0.5, "{sent}");
    assert_eq!(sum("onslaught.test.requests", "") as f64, sent);
    assert_eq!(
        sum("onslaught.test.responses", "") as f64,
        num(&report, "/aggregate/responses_received")
    );

    // Each driver's seconds equal its node report's, and its totals.
    let mut drivers = BTreeSet::new();
    for (driver, path) in report["node_reports"].as_object().unwrap() {
        drivers.insert(driver.clone());
        let node: Value =
            serde_json::from_slice(&std::fs::read(path.as_str().unwrap()).unwrap()).unwrap();
        check_series(
            &values,
            "onslaught.driver",
            driver,
            started_at_ms,
            node["series"].as_array().unwrap(),
        );
        assert_eq!(
            sum("onslaught.driver.requests", driver) as f64,
            num(&node, "/stats/requests_sent")
        );
    }
    assert_eq!(
        drivers,
        BTreeSet::from(["driver-1".to_owned(), "driver-2".to_owned()])
    );
}

/// A flow of two named requests, whose plan file names the endpoint (`otlp_endpoint`, no flag):
/// each name's per-second series is exported (`onslaught.name.*` with attribute `name`) and
/// equals the report's seconds' `by_name` parts, which add up to the whole second.
#[test]
fn exported_series_per_request_name_equal_the_report() {
    let _serial = serial();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (endpoint, received) = receiver(&runtime);
    let reports = tempfile::tempdir().unwrap();
    let target = support::TargetProcess::start(&[]);
    let plan = reports.path().join("plan.yaml");
    std::fs::write(
        &plan,
        format!(
            "base_url: {}\notlp_endpoint: {endpoint}\ntest_type: tsunami\nrate: 40\nduration_ms: 3000\nflows:\n  - name: two\n    steps:\n      - name: ping\n        request: {{url: /ping}}\n      - name: again\n        request: {{url: /ping?again=1}}\n",
            target.base
        ),
    )
    .unwrap();
    let output = onslaught()
        .arg("run")
        .arg(&plan)
        .args(["--drivers", "2", "--quiet", "-o", "json"])
        .arg("--report-dir")
        .arg(reports.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    let folder = reports.path().join(summary["id"].as_str().unwrap());
    let report: Value =
        serde_json::from_slice(&std::fs::read(folder.join("test.json")).unwrap()).unwrap();
    let (values, _) = fold(&received.lock().unwrap().clone());
    let started_at_ms = report["started_at_ms"].as_u64().unwrap();
    let series = report["series"].as_array().unwrap();
    assert!(series.len() >= 3, "{series:?}");
    for name in ["ping", "again"] {
        let of_name: Vec<Value> = series
            .iter()
            .filter_map(|p| {
                let mut part = p["by_name"].get(name)?.clone();
                part["second"] = p["second"].clone();
                Some(part)
            })
            .collect();
        assert!(of_name.len() >= 3, "{name}: {series:?}");
        check_series(
            &values,
            "onslaught.name",
            &format!("name:{name}"),
            started_at_ms,
            &of_name,
        );
        let sent: u64 = of_name
            .iter()
            .map(|p| p["requests"].as_u64().unwrap())
            .sum();
        assert_eq!(
            sent as f64,
            num(&report, &format!("/aggregate/by_name/{name}/requests_sent")),
            "{name}"
        );
    }
    for p in series {
        let parts: u64 = p["by_name"]
            .as_object()
            .map(|names| {
                names
                    .values()
                    .map(|n| n["requests"].as_u64().unwrap())
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(parts, p["requests"].as_u64().unwrap(), "second {p}");
    }
}

#[test]
fn a_receiver_that_never_answers_neither_hangs_nor_fails_the_test() {
    let _serial = serial();
    // Connections are accepted by the kernel and never answered: every push times out.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/v1/metrics", silent.local_addr().unwrap());
    let reports = tempfile::tempdir().unwrap();
    let began = Instant::now();
    let output = onslaught()
        .args([
            "run",
            "--drivers",
            "1",
            "--type",
            "tsunami",
            "--rate",
            "100",
        ])
        .args([
            "--requests",
            "200",
            "--quiet",
            "-o",
            "json",
            "--otlp-endpoint",
        ])
        .arg(&endpoint)
        .arg("--report-dir")
        .arg(reports.path())
        .output()
        .unwrap();
    let took = began.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["status"], "completed");
    assert!(
        reports
            .path()
            .join(summary["id"].as_str().unwrap())
            .join("test.json")
            .exists()
    );
    // "OTLP export to URL: 0 batches pushed, N dropped" with N > 0.
    let line = stderr
        .lines()
        .find(|l| l.starts_with("OTLP export"))
        .unwrap();
    assert!(line.contains(" 0 batches pushed"), "{line}");
    let dropped: u64 = line
        .rsplit(", ")
        .next()
        .and_then(|s| s.strip_suffix(" dropped"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(dropped > 0, "{line}");
    drop(silent);
}
