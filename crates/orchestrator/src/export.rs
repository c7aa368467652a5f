//! OpenTelemetry metrics export over OTLP/HTTP (protobuf): a test's per-second series, pushed
//! to a collector as the orchestrator closes each second, and once more, whole, when the test
//! ends.
//!
//! The orchestrator's loop only encodes nothing and waits on nothing: it hands a [`Batch`] to a
//! bounded queue with `try_send`. One task takes batches off the queue, encodes them
//! (`opentelemetry-proto`'s messages with `prost`) and POSTs them, each push bounded by
//! [`PUSH_TIMEOUT`]. A full queue, a refused connection, a timeout or a non-2xx answer drops the
//! batch and counts it in [`ExportStats::dropped`]; nothing is retried.
//!
//! Every value is an OTLP gauge point: the value of one second of the test, stamped with the
//! end of that second (`time_unix_nano`) and its start (`start_time_unix_nano`). A second's
//! counts can still grow after it closed (a late message from a driver), so the final push
//! sends every second again with its final values, the ones in the report: a receiver that
//! keeps the last value per timestamp holds the report's numbers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use tokio::sync::{mpsc, oneshot};

use crate::report::ReportParts;
use crate::views::{SeriesPoint, StatsView};

/// Batches waiting to be pushed at most; more are dropped.
pub const QUEUE: usize = 64;
/// One push (connect, send, answer) at most.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// The latency percentiles exported, as `percentile` attribute values.
pub const PERCENTILES: [&str; 4] = ["p50", "p90", "p99", "max"];

/// Counters of the export, shown in the orchestrator's Prometheus `/metrics`.
#[derive(Debug, Default)]
pub struct ExportStats {
    /// Batches the receiver accepted (2xx).
    pub pushed: AtomicU64,
    /// Batches dropped: queue full, receiver unreachable, too slow or refusing.
    pub dropped: AtomicU64,
}

/// An OTLP/HTTP metrics endpoint (`http://host:port/path`; no TLS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    uri: http::Uri,
    authority: String,
}

/// Why an endpoint was refused.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// Not a URI.
    #[error("not a URL: {0}")]
    Invalid(#[from] http::uri::InvalidUri),
    /// Not `http://`.
    #[error("only http:// endpoints are supported")]
    Scheme,
    /// No host.
    #[error("the URL has no host")]
    NoHost,
}

impl std::str::FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let uri: http::Uri = s.parse()?;
        if uri.scheme_str() != Some("http") {
            return Err(EndpointError::Scheme);
        }
        let host = uri.host().ok_or(EndpointError::NoHost)?;
        let authority = format!("{host}:{}", uri.port_u16().unwrap_or(80));
        Ok(Self { uri, authority })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.uri.fmt(f)
    }
}

/// Seconds of one test to push: the aggregate's and each driver's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// Test id (attribute `test.id`).
    pub test_id: String,
    /// Test type (attribute `test.type`).
    pub test_type: String,
    /// The test's start time, ms since the Unix epoch (second 0 starts there).
    pub started_at_ms: u64,
    /// Seconds of the whole test (metrics `onslaught.test.*`).
    pub test: Vec<SeriesPoint>,
    /// Seconds of each driver (metrics `onslaught.driver.*`, attribute `driver`).
    pub drivers: Vec<(String, Vec<SeriesPoint>)>,
    /// The final push of a test with request names: each name's numbers over the whole test
    /// (metrics `onslaught.request.*`, attribute `name`), stamped from the test's start to
    /// `ended_at_ms` (their seconds go with the test's, as `onslaught.name.*`).
    pub names: Vec<NameTotals>,
    /// When the test ended, ms since the Unix epoch (the time of the `names` points).
    pub ended_at_ms: u64,
    /// The test's own endpoint (its plan's `otlp_endpoint`), pushed to besides the
    /// orchestrator's.
    pub to: Option<Endpoint>,
}

/// One request name's numbers over a whole test, as its report's `aggregate.by_name` holds them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NameTotals {
    /// The request name.
    pub name: String,
    /// Requests sent.
    pub requests: u64,
    /// Responses received.
    pub responses: u64,
    /// Errors (responses without a status the name's steps accept included).
    pub errors: u64,
    /// Requests attempted that failed, 0 to 1.
    pub error_rate: f64,
    /// Latency p50, p90, p99 and max (ms), as [`PERCENTILES`]; `None` without responses.
    pub latency: Option<[f64; 4]>,
}

impl NameTotals {
    /// Each name's totals of `aggregate` (a judged view, as the report holds it).
    pub fn of(aggregate: &StatsView) -> Vec<Self> {
        aggregate
            .by_name
            .iter()
            .map(|(name, v)| NameTotals {
                name: name.clone(),
                requests: v.counters.requests_sent,
                responses: v.counters.responses_received,
                errors: v.counters.error_count(),
                error_rate: v.failed_ratio(),
                latency: (v.latency.count > 0).then_some([
                    v.latency.median,
                    v.latency.p90,
                    v.latency.p99,
                    v.latency.max,
                ]),
            })
            .collect()
    }
}

impl Batch {
    /// Every second of a test as its reports hold them (the final push); `None` for a test that
    /// never started.
    pub fn of_report(parts: &ReportParts) -> Option<Self> {
        Some(Self {
            test_id: parts.test.id.clone(),
            test_type: parts.test.config.test_type.to_lowercase(),
            started_at_ms: parts.test.started_at_ms?,
            test: parts.test.series.clone(),
            drivers: parts
                .nodes
                .iter()
                .map(|n| (n.node_id.clone(), n.series.clone()))
                .collect(),
            names: Vec::new(),
            ended_at_ms: parts.test.ended_at_ms.unwrap_or_default(),
            to: parts
                .test
                .config
                .otlp_endpoint
                .as_deref()
                .and_then(|url| url.parse().ok()),
        })
    }

    /// This batch with each request name's totals of `aggregate` (the test's final view).
    pub fn with_names(mut self, aggregate: &StatsView) -> Self {
        self.names = NameTotals::of(aggregate);
        self
    }

    /// Whether there is nothing to push.
    pub fn is_empty(&self) -> bool {
        self.test.is_empty()
            && self.drivers.iter().all(|(_, s)| s.is_empty())
            && self.names.is_empty()
    }

    /// The OTLP request of this batch.
    pub fn encode(&self) -> ExportMetricsServiceRequest {
        let common = [
            string_kv("test.id", &self.test_id),
            string_kv("test.type", &self.test_type),
        ];
        let mut metrics = Vec::new();
        let mut add = |prefix: &str, extra: &[KeyValue], points: &[SeriesPoint]| {
            if points.is_empty() {
                return;
            }
            let attrs: Vec<KeyValue> = common.iter().chain(extra).cloned().collect();
            let count = |name: &str, unit: &str, desc: &str, f: fn(&SeriesPoint) -> u64| {
                gauge(
                    format!("{prefix}.{name}"),
                    unit,
                    desc,
                    points
                        .iter()
                        .map(|p| {
                            self.point(p, &attrs, number_data_point::Value::AsInt(as_i64(f(p))))
                        })
                        .collect(),
                )
            };
            metrics.push(count(
                "requests",
                "{request}",
                "Requests sent in the second.",
                |p| p.requests,
            ));
            metrics.push(count(
                "responses",
                "{response}",
                "Responses received in the second.",
                |p| p.responses,
            ));
            metrics.push(count("errors", "{error}", "Errors in the second.", |p| {
                p.errors
            }));
            metrics.push(gauge(
                format!("{prefix}.throughput"),
                "{response}/s",
                "Responses per second.",
                points
                    .iter()
                    .map(|p| {
                        self.point(
                            p,
                            &attrs,
                            number_data_point::Value::AsDouble(p.responses as f64),
                        )
                    })
                    .collect(),
            ));
            let mut latency = Vec::new();
            for p in points {
                for (name, value) in PERCENTILES.iter().zip([p.p50, p.p90, p.p99, p.max]) {
                    if let Some(v) = value {
                        let mut a = attrs.clone();
                        a.push(string_kv("percentile", name));
                        latency.push(self.point(p, &a, number_data_point::Value::AsDouble(v)));
                    }
                }
            }
            metrics.push(gauge(
                format!("{prefix}.latency"),
                "ms",
                "Latency percentiles of the responses of the second (p50, p90, p99, max).",
                latency,
            ));
        };
        add("onslaught.test", &[], &self.test);
        for (name, points) in by_name(&self.test) {
            add("onslaught.name", &[string_kv("name", &name)], &points);
        }
        for (driver, points) in &self.drivers {
            add("onslaught.driver", &[string_kv("driver", driver)], points);
        }
        metrics.extend(self.name_metrics(&common));
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(Resource {
                    attributes: vec![string_kv("service.name", "onslaught")],
                    ..Resource::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "onslaught".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..InstrumentationScope::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    /// The `onslaught.request.*` metrics: a point per request name (attribute `name`) over
    /// the whole test.
    fn name_metrics(&self, common: &[KeyValue]) -> Vec<Metric> {
        if self.names.is_empty() {
            return Vec::new();
        }
        let point = |name: &str, extra: Option<&str>, value: number_data_point::Value| {
            let mut attributes: Vec<KeyValue> = common.to_vec();
            attributes.push(string_kv("name", name));
            if let Some(percentile) = extra {
                attributes.push(string_kv("percentile", percentile));
            }
            NumberDataPoint {
                attributes,
                start_time_unix_nano: self.started_at_ms.saturating_mul(1_000_000),
                time_unix_nano: self
                    .ended_at_ms
                    .max(self.started_at_ms)
                    .saturating_mul(1_000_000),
                value: Some(value),
                ..NumberDataPoint::default()
            }
        };
        let count = |metric: &str, unit: &str, desc: &str, f: fn(&NameTotals) -> u64| {
            gauge(
                format!("onslaught.request.{metric}"),
                unit,
                desc,
                self.names
                    .iter()
                    .map(|n| point(&n.name, None, number_data_point::Value::AsInt(as_i64(f(n)))))
                    .collect(),
            )
        };
        let mut latency = Vec::new();
        for n in &self.names {
            for (p, v) in PERCENTILES.iter().zip(n.latency.into_iter().flatten()) {
                latency.push(point(
                    &n.name,
                    Some(p),
                    number_data_point::Value::AsDouble(v),
                ));
            }
        }
        vec![
            count(
                "requests",
                "{request}",
                "Requests of the name sent in the whole test.",
                |n| n.requests,
            ),
            count(
                "responses",
                "{response}",
                "Responses of the name received in the whole test.",
                |n| n.responses,
            ),
            count(
                "errors",
                "{error}",
                "Errors of the name in the whole test (statuses its steps do not accept included).",
                |n| n.errors,
            ),
            gauge(
                "onslaught.request.error_rate".to_owned(),
                "1",
                "Requests of the name attempted that failed, 0 to 1, over the whole test.",
                self.names
                    .iter()
                    .map(|n| {
                        point(
                            &n.name,
                            None,
                            number_data_point::Value::AsDouble(n.error_rate),
                        )
                    })
                    .collect(),
            ),
            gauge(
                "onslaught.request.latency".to_owned(),
                "ms",
                "Latency percentiles of the name's responses over the whole test (p50, p90, p99, max).",
                latency,
            ),
        ]
    }

    fn point(
        &self,
        p: &SeriesPoint,
        attrs: &[KeyValue],
        value: number_data_point::Value,
    ) -> NumberDataPoint {
        let start_ms = self
            .started_at_ms
            .saturating_add(p.second.saturating_mul(1000));
        NumberDataPoint {
            attributes: attrs.to_vec(),
            start_time_unix_nano: start_ms.saturating_mul(1_000_000),
            time_unix_nano: start_ms.saturating_add(1000).saturating_mul(1_000_000),
            value: Some(value),
            ..NumberDataPoint::default()
        }
    }
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Each request name's own per-second series, out of the test's seconds (metrics
/// `onslaught.name.*`, attribute `name`): the same numbers the report's series holds per name.
fn by_name(test: &[SeriesPoint]) -> BTreeMap<String, Vec<SeriesPoint>> {
    let mut names: BTreeMap<String, Vec<SeriesPoint>> = BTreeMap::new();
    for p in test {
        for (name, n) in &p.by_name {
            names.entry(name.clone()).or_default().push(SeriesPoint {
                second: p.second,
                requests: n.requests,
                responses: n.responses,
                errors: n.errors,
                p50: n.p50,
                p90: n.p90,
                p95: n.p95,
                p99: n.p99,
                max: n.max,
                ..SeriesPoint::default()
            });
        }
    }
    names
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

fn gauge(name: String, unit: &str, description: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name,
        description: description.to_owned(),
        unit: unit.to_owned(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: points,
        })),
        ..Metric::default()
    }
}

enum Job {
    Push(Box<Batch>),
    Flush(oneshot::Sender<()>),
}

/// Hands batches to the export task. The task ends when the exporter is dropped.
#[derive(Debug)]
pub struct Exporter {
    jobs: mpsc::Sender<Job>,
    stats: Arc<ExportStats>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Push(_) => "Push",
            Self::Flush(_) => "Flush",
        })
    }
}

impl Exporter {
    /// Starts the export task on the current Tokio runtime: every batch goes to `default` (the
    /// orchestrator's endpoint, if it has one) and to the batch's own (its test's, if any).
    pub fn spawn(default: Option<Endpoint>, stats: Arc<ExportStats>) -> Self {
        let (jobs, mut rx) = mpsc::channel::<Job>(QUEUE);
        let task_stats = Arc::clone(&stats);
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                match job {
                    Job::Flush(done) => {
                        let _ = done.send(());
                    }
                    Job::Push(batch) => {
                        let body = Bytes::from(batch.encode().encode_to_vec());
                        let own = batch.to.as_ref().filter(|to| Some(*to) != default.as_ref());
                        for endpoint in default.iter().chain(own) {
                            let pushed =
                                tokio::time::timeout(PUSH_TIMEOUT, push(endpoint, body.clone()))
                                    .await;
                            match pushed {
                                Ok(Ok(())) => {
                                    task_stats.pushed.fetch_add(1, Ordering::Relaxed);
                                }
                                Ok(Err(e)) => {
                                    task_stats.dropped.fetch_add(1, Ordering::Relaxed);
                                    tracing::warn!(%endpoint, test_id = batch.test_id, "OTLP export failed: {e}");
                                }
                                Err(_) => {
                                    task_stats.dropped.fetch_add(1, Ordering::Relaxed);
                                    tracing::warn!(%endpoint, test_id = batch.test_id, "OTLP export timed out after {PUSH_TIMEOUT:?}");
                                }
                            }
                        }
                    }
                }
            }
        });
        Self { jobs, stats }
    }

    /// Queues a batch; never waits. A full queue drops it (counted).
    pub fn send(&self, batch: Batch) {
        if batch.is_empty() {
            return;
        }
        if self.jobs.try_send(Job::Push(Box::new(batch))).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits at most `within` for every batch queued before this call to be pushed or dropped.
    /// Returns whether they were.
    pub async fn flush(&self, within: Duration) -> bool {
        let (done, wait) = oneshot::channel();
        tokio::time::timeout(within, async {
            self.jobs.send(Job::Flush(done)).await.is_ok() && wait.await.is_ok()
        })
        .await
        .unwrap_or(false)
    }
}

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
enum PushError {
    #[error("cannot connect: {0}")]
    Connect(#[from] std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("bad request: {0}")]
    Request(#[from] http::Error),
    #[error("the receiver answered {0}")]
    Status(http::StatusCode),
}

/// One POST of an encoded request on a new connection (one push a second needs no pool).
async fn push(endpoint: &Endpoint, body: Bytes) -> Result<(), PushError> {
    let stream = tokio::net::TcpStream::connect(&endpoint.authority).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let conn = tokio::spawn(conn);
    let path = endpoint
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let request = http::Request::post(path)
        .header(http::header::HOST, endpoint.authority.as_str())
        .header(http::header::CONTENT_TYPE, "application/x-protobuf")
        .body(Full::new(body))?;
    let result = async {
        let response = sender.send_request(request).await?;
        let status = response.status();
        // Read the answer (an ExportMetricsServiceResponse) so the connection closes cleanly.
        let _ = response.into_body().collect().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(PushError::Status(status))
        }
    }
    .await;
    conn.abort();
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn second(s: u64, requests: u64, p99: Option<f64>) -> SeriesPoint {
        SeriesPoint {
            second: s,
            requests,
            responses: requests,
            p50: p99,
            p90: p99,
            p99,
            max: p99,
            ..SeriesPoint::default()
        }
    }

    #[test]
    fn endpoints_are_plain_http_urls() {
        let e: Endpoint = "http://127.0.0.1:4318/v1/metrics".parse().unwrap();
        assert_eq!(e.authority, "127.0.0.1:4318");
        assert_eq!(e.to_string(), "http://127.0.0.1:4318/v1/metrics");
        assert_eq!(
            "http://localhost/v1/metrics"
                .parse::<Endpoint>()
                .unwrap()
                .authority,
            "localhost:80"
        );
        assert!(matches!(
            "https://x/v1".parse::<Endpoint>(),
            Err(EndpointError::Scheme)
        ));
        assert!("not a url".parse::<Endpoint>().is_err());
    }

    #[test]
    fn a_batch_encodes_every_second_with_its_time_and_attributes() {
        let batch = Batch {
            test_id: "t1".to_owned(),
            test_type: "tsunami".to_owned(),
            started_at_ms: 1_000,
            test: vec![second(0, 10, Some(1.5)), second(1, 7, None)],
            drivers: vec![("driver-1".to_owned(), vec![second(0, 10, Some(1.5))])],
            ..Batch::default()
        };
        let bytes = batch.encode().encode_to_vec();
        let decoded = ExportMetricsServiceRequest::decode(bytes.as_slice()).unwrap();
        let metrics = &decoded.resource_metrics[0].scope_metrics[0].metrics;
        let by_name = |n: &str| metrics.iter().find(|m| m.name == n).unwrap();
        let Some(metric::Data::Gauge(requests)) = &by_name("onslaught.test.requests").data else {
            panic!("not a gauge");
        };
        let values: Vec<_> = requests.data_points.iter().map(|p| p.value).collect();
        assert_eq!(
            values,
            vec![
                Some(number_data_point::Value::AsInt(10)),
                Some(number_data_point::Value::AsInt(7))
            ]
        );
        assert_eq!(requests.data_points[1].start_time_unix_nano, 2_000_000_000);
        assert_eq!(requests.data_points[1].time_unix_nano, 3_000_000_000);
        // No latency without responses: 4 percentiles of second 0 only.
        let Some(metric::Data::Gauge(latency)) = &by_name("onslaught.test.latency").data else {
            panic!("not a gauge");
        };
        assert_eq!(latency.data_points.len(), 4);
        let Some(metric::Data::Gauge(driver)) = &by_name("onslaught.driver.requests").data else {
            panic!("not a gauge");
        };
        let keys: Vec<_> = driver.data_points[0]
            .attributes
            .iter()
            .map(|a| a.key.as_str())
            .collect();
        assert_eq!(keys, ["test.id", "test.type", "driver"]);
        assert!(Batch::default().is_empty());
    }

    #[test]
    fn each_request_name_is_a_point_with_its_name_attribute() {
        let mut aggregate = StatsView::default();
        let mut login = StatsView::default();
        login.counters.requests_sent = 4;
        login.counters.requests_attempted = 4;
        login.counters.responses_received = 4;
        login.counters.status_codes.insert(401, 1);
        login.counters.status_codes.insert(200, 3);
        login.latency.count = 4;
        login.latency.median = 2.0;
        login.latency.p99 = 9.0;
        login.latency.max = 10.0;
        aggregate.by_name.insert("login".to_owned(), login);
        aggregate
            .by_name
            .insert("idle".to_owned(), StatsView::default());
        let aggregate = aggregate.judged(&onslaught_plan::Accepted::default());
        let batch = Batch {
            test_id: "t1".to_owned(),
            started_at_ms: 1_000,
            ended_at_ms: 6_000,
            ..Batch::default()
        }
        .with_names(&aggregate);
        assert!(!batch.is_empty());
        let decoded =
            ExportMetricsServiceRequest::decode(batch.encode().encode_to_vec().as_slice()).unwrap();
        let metrics = &decoded.resource_metrics[0].scope_metrics[0].metrics;
        let gauge_of = |n: &str| match &metrics.iter().find(|m| m.name == n).unwrap().data {
            Some(metric::Data::Gauge(g)) => g.clone(),
            _ => panic!("{n} is not a gauge"),
        };
        let attr = |p: &NumberDataPoint, key: &str| {
            p.attributes
                .iter()
                .find(|a| a.key == key)
                .and_then(|a| a.value.clone())
                .and_then(|v| v.value)
        };
        let name = |s: &str| Some(any_value::Value::StringValue(s.to_owned()));
        let errors = gauge_of("onslaught.request.errors");
        let login_errors = errors
            .data_points
            .iter()
            .find(|p| attr(p, "name") == name("login"))
            .unwrap();
        assert_eq!(login_errors.value, Some(number_data_point::Value::AsInt(1)));
        assert_eq!(login_errors.start_time_unix_nano, 1_000_000_000);
        assert_eq!(login_errors.time_unix_nano, 6_000_000_000);
        let rate = gauge_of("onslaught.request.error_rate");
        assert!(
            rate.data_points
                .iter()
                .any(|p| attr(p, "name") == name("login")
                    && p.value == Some(number_data_point::Value::AsDouble(0.25)))
        );
        // Latency only of the name with responses, one point per percentile.
        let latency = gauge_of("onslaught.request.latency");
        assert_eq!(latency.data_points.len(), 4);
        let p99 = latency
            .data_points
            .iter()
            .find(|p| attr(p, "percentile") == name("p99"))
            .unwrap();
        assert_eq!(attr(p99, "name"), name("login"));
        assert_eq!(p99.value, Some(number_data_point::Value::AsDouble(9.0)));
        // No per-name metrics without names.
        assert!(
            Batch::default().encode().resource_metrics[0].scope_metrics[0]
                .metrics
                .iter()
                .all(|m| !m.name.starts_with("onslaught.request."))
        );
    }

    #[tokio::test]
    async fn a_dead_endpoint_drops_batches_without_waiting() {
        // Nothing listens on port 1 of the loopback: connections are refused at once.
        let stats = Arc::new(ExportStats::default());
        let exporter = Exporter::spawn(
            Some("http://127.0.0.1:1/v1/metrics".parse().unwrap()),
            Arc::clone(&stats),
        );
        let batch = Batch {
            test: vec![second(0, 1, Some(1.0))],
            ..Batch::default()
        };
        exporter.send(batch.clone());
        exporter.send(batch);
        assert!(exporter.flush(Duration::from_secs(5)).await);
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 2);
        assert_eq!(stats.pushed.load(Ordering::Relaxed), 0);
    }
}
