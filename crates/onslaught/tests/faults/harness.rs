//! What every fault scenario needs: real processes on a topic namespace of their own, the
//! orchestrator's API, kcat views of the topics, polling with deadlines, and checks that are
//! collected (not asserted one by one) so that every scenario reports what it saw.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use onslaught_testkit::{Broker, Child, http, kcat};
use serde_json::{Value, json};

/// How long a process may take to announce itself.
pub const STARTUP: Duration = Duration::from_secs(30);

/// Wall-clock milliseconds since the Unix epoch (the clock the nodes stamp messages with).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seconds between two wall-clock times in ms, signed, for messages.
pub fn secs(from_ms: u64, to_ms: u64) -> String {
    format!("{:+.2} s", (to_ms as f64 - from_ms as f64) / 1000.0)
}

/// The binary under test.
pub fn onslaught() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onslaught"))
}

/// A number at a JSON pointer, 0 when absent.
pub fn u(value: &Value, pointer: &str) -> u64 {
    value.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

/// A string at a JSON pointer, "" when absent.
pub fn s<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Calls `f` every `every` until it returns `Some`, or `timeout` passes.
pub fn poll<T>(timeout: Duration, every: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = f() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// What a scenario saw and which of its checks failed.
#[derive(Debug, Default)]
pub struct Checks {
    /// Failed checks, in order.
    pub failures: Vec<String>,
    /// Facts for the table's "observed" column.
    pub observed: Vec<String>,
    /// The "data lost" cell.
    pub data_lost: Option<String>,
}

impl Checks {
    /// Records `what` as failed unless `ok`; returns `ok`.
    pub fn check(&mut self, ok: bool, what: impl Into<String>) -> bool {
        if !ok {
            self.failures.push(what.into());
        }
        ok
    }

    /// A fact for the table.
    pub fn saw(&mut self, fact: impl Into<String>) {
        self.observed.push(fact.into());
    }

    /// The data-lost cell: `lost` must be 0.
    pub fn lost(&mut self, lost: i64, detail: &str) {
        self.data_lost = Some(if detail.is_empty() {
            lost.to_string()
        } else {
            format!("{lost} ({detail})")
        });
        self.check(lost == 0, format!("data lost: {lost} ({detail})"));
    }
}

/// One scenario's processes share a broker but have topics of their own (`--topic-prefix`), so
/// that orchestrators and drivers of different scenarios never hear each other.
pub struct Net<'a> {
    /// The broker.
    pub broker: &'a Broker,
    /// Topic prefix, e.g. `s1-`.
    pub prefix: String,
    /// Folder for logs and reports.
    pub dir: PathBuf,
}

impl<'a> Net<'a> {
    pub fn new(broker: &'a Broker, prefix: &str, dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("create the scenario folder");
        Self {
            broker,
            prefix: prefix.to_owned(),
            dir: dir.to_owned(),
        }
    }

    /// `FAULTS_KAFKA_DEBUG=broker,fetch` turns librdkafka's debug contexts on in every node
    /// (into their logs), to see what a client does around a fault.
    fn kafka_args(&self, command: &mut Command) {
        command.args([
            "--brokers",
            &self.broker.bootstrap,
            "--topic-prefix",
            &self.prefix,
        ]);
        if let Ok(contexts) = std::env::var("FAULTS_KAFKA_DEBUG") {
            command
                .args(["--kafka-config", &format!("debug={contexts}")])
                .env("RUST_LOG", "info,librdkafka=debug");
        }
    }

    /// `onslaught orchestrator` with reports in `reports`; its log is `<name>.log`.
    pub fn orchestrator(&self, reports: &Path, extra: &[&str], name: &str) -> Child {
        let mut command = onslaught();
        command.arg("orchestrator").env("RUST_LOG", "info");
        self.kafka_args(&mut command);
        command
            .args(["--listen", "127.0.0.1:0", "--report-dir"])
            .arg(reports)
            .args(extra);
        Child::spawn(
            command,
            "orchestrator ready",
            STARTUP,
            Some(&self.dir.join(format!("{name}.log"))),
        )
    }

    /// `onslaught orchestrator --cluster CLUSTER` with reports in `reports`, once its first
    /// line containing `marker` is out (`orchestrator active` for the leader, `standing by`
    /// for a standby); its log is `<name>.log`.
    pub fn candidate(&self, reports: &Path, cluster: &str, marker: &str, name: &str) -> Child {
        let mut command = onslaught();
        command.arg("orchestrator").env("RUST_LOG", "info");
        self.kafka_args(&mut command);
        command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--cluster",
                cluster,
                "--report-dir",
            ])
            .arg(reports);
        Child::spawn(
            command,
            marker,
            STARTUP,
            Some(&self.dir.join(format!("{name}.log"))),
        )
    }

    /// `onslaught driver --node-id ID`; its log is `<ID>.log` (`<ID>-<n>.log` for later starts).
    pub fn driver(&self, api: &str, id: &str, extra: &[&str]) -> Child {
        let mut command = onslaught();
        command.arg("driver").env("RUST_LOG", "info");
        self.kafka_args(&mut command);
        command
            .args(["--orchestrator", api, "--node-id", id])
            .args(extra);
        let mut log = self.dir.join(format!("{id}.log"));
        let mut n = 1;
        while log.exists() {
            n += 1;
            log = self.dir.join(format!("{id}-{n}.log"));
        }
        Child::spawn(command, "ready", STARTUP, Some(&log))
    }

    /// Several drivers, started concurrently (each start waits for Kafka).
    pub fn drivers(&self, api: &str, ids: &[&str], extra: &[&str]) -> Vec<Child> {
        std::thread::scope(|scope| {
            let started: Vec<_> = ids
                .iter()
                .map(|id| scope.spawn(move || self.driver(api, id, extra)))
                .collect();
            started
                .into_iter()
                .map(|h| h.join().expect("a driver failed to start"))
                .collect()
        })
    }

    /// This scenario's full name of `topic`.
    pub fn topic(&self, topic: &str) -> String {
        format!("{}{topic}", self.prefix)
    }

    /// Every record of one of this scenario's topics.
    pub fn records(&self, topic: &str) -> Vec<kcat::Record> {
        kcat::consume(&self.broker.bootstrap, &self.topic(topic))
    }

    /// The metrics messages of `test` on the topic, by node, each node's in `seq` order.
    pub fn metrics_of(&self, test: &str) -> std::collections::BTreeMap<String, Vec<Value>> {
        let mut by_node: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
        for record in self.records("metrics") {
            let m = record.json();
            if m["test_id"] == test {
                by_node
                    .entry(s(&m, "/node_id").to_owned())
                    .or_default()
                    .push(m);
            }
        }
        for messages in by_node.values_mut() {
            messages.sort_by_key(|m| u(m, "/seq"));
        }
        by_node
    }
}

/// `onslaught target` on `port` (a free one when 0), with `extra` flags.
pub fn target(dir: &Path, port: u16, extra: &[&str], name: &str) -> Child {
    let mut command = onslaught();
    command
        .args(["target", "--listen", &format!("127.0.0.1:{port}")])
        .args(extra);
    Child::spawn(
        command,
        "http://",
        Duration::from_secs(10),
        Some(&dir.join(format!("{name}.log"))),
    )
}

/// The port of an `http://host:port` URL.
pub fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("a URL ending in :PORT")
}

/// `/ping` requests a target received, or `None` when it cannot be reached.
pub fn pings(target_url: &str) -> Option<u64> {
    let response = http::try_get(&format!("{target_url}/metrics"))?;
    response.json["routes"]["/ping"]["requests_received"].as_u64()
}

/// GET /api/nodes, `None` when the orchestrator cannot be reached.
pub fn nodes(api: &str) -> Option<Vec<Value>> {
    http::try_get(&format!("{api}/api/nodes"))?.json["nodes"]
        .as_array()
        .cloned()
}

/// One node of GET /api/nodes.
pub fn node(api: &str, id: &str) -> Option<Value> {
    nodes(api)?.into_iter().find(|n| n["node_id"] == id)
}

/// Waits until every driver in `ids` is alive.
pub fn wait_live(api: &str, ids: &[&str]) {
    let live = poll(Duration::from_secs(20), Duration::from_millis(100), || {
        let nodes = nodes(api)?;
        ids.iter()
            .all(|id| {
                nodes
                    .iter()
                    .any(|n| n["node_id"] == *id && n["liveness"] == "alive")
            })
            .then_some(())
    });
    assert!(live.is_some(), "drivers {ids:?} never all alive");
}

/// GET /api/tests/{id}.
pub fn test_view(api: &str, id: &str) -> Option<Value> {
    let response = http::try_get(&format!("{api}/api/tests/{id}"))?;
    (response.status == 200).then_some(response.json)
}

/// A tsunami test body, started at once.
pub fn tsunami(url: &str, rate: u32, requests_per_driver: u64) -> Value {
    json!({
        "test_type": "tsunami",
        "url": url,
        "rate": rate,
        "requests_per_driver": requests_per_driver,
        "concurrency": 20,
        "timeout_ms": 5000,
        "start": true
    })
}

/// POST /api/tests with `body` (which should say `"start": true`); returns the running test's
/// id, or panics with the answer.
pub fn start(api: &str, body: &Value) -> String {
    let created = http::post(&format!("{api}/api/tests"), body);
    assert_eq!(
        created.status, 201,
        "the test did not start: {}",
        created.body
    );
    created.json["id"]
        .as_str()
        .expect("the test has an id")
        .to_owned()
}

/// Waits until `node` has sent at least `n` requests in the test (as the orchestrator merged).
pub fn wait_sent(api: &str, id: &str, node: &str, n: u64) {
    let reached = poll(Duration::from_secs(20), Duration::from_millis(100), || {
        let test = test_view(api, id)?;
        (u(&test, &format!("/nodes/{node}/requests_sent")) >= n).then_some(())
    });
    assert!(
        reached.is_some(),
        "{node} never reached {n} requests in {id}"
    );
}

/// Waits up to `timeout` for the test to end (a final status, and its report written unless it
/// failed); returns the last view seen and whether it ended.
pub fn wait_final(api: &str, id: &str, timeout: Duration) -> (Value, bool) {
    let mut last = Value::Null;
    let ended = poll(timeout, Duration::from_millis(200), || {
        let test = test_view(api, id)?;
        let status = s(&test, "/status").to_owned();
        last = test.clone();
        let done = matches!(
            status.as_str(),
            "completed" | "degraded" | "aborted" | "interrupted"
        ) && test["report_path"].is_string()
            || status == "failed";
        done.then_some(())
    });
    (last, ended.is_some())
}

/// Total of `/counters/requests_sent` over metrics messages.
pub fn sent_in(messages: &[Value]) -> u64 {
    messages
        .iter()
        .map(|m| u(m, "/counters/requests_sent"))
        .sum()
}

/// Metrics on the topic against what the orchestrator merged, per node.
#[derive(Debug, Default)]
pub struct Merged {
    /// Distinct metrics messages on the topic that were not merged (`node_facts.messages`).
    pub lost_messages: i64,
    /// Requests in those messages (topic total minus `nodes.requests_sent`).
    pub lost_requests: i64,
    /// Records on the topic beyond the distinct `report_id`s (re-sent messages).
    pub resent: usize,
    /// Requests reported on the topic, each `report_id` once.
    pub topic_requests: u64,
    /// Per node, for the table.
    pub detail: String,
}

/// Compares, per node, the metrics messages on the topic with what the orchestrator merged
/// (`node_facts.messages`, `nodes.requests_sent`).
pub fn topic_vs_merged(
    by_node: &std::collections::BTreeMap<String, Vec<Value>>,
    test: &Value,
) -> Merged {
    let mut out = Merged::default();
    let mut parts = Vec::new();
    let mut ids: Vec<String> = by_node.keys().cloned().collect();
    if let Some(facts) = test["node_facts"].as_object() {
        for id in facts.keys() {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    for id in ids {
        let messages = by_node.get(&id).map_or(&[][..], Vec::as_slice);
        // A message re-sent after a broker error keeps its report_id: it counts once.
        let mut seen = std::collections::HashSet::new();
        let distinct: Vec<&Value> = messages
            .iter()
            .filter(|m| seen.insert(s(m, "/report_id").to_owned()))
            .collect();
        let topic_sent: u64 = distinct
            .iter()
            .map(|m| u(m, "/counters/requests_sent"))
            .sum();
        let merged = u(test, &format!("/node_facts/{id}/messages"));
        let merged_sent = u(test, &format!("/nodes/{id}/requests_sent"));
        out.lost_messages += distinct.len() as i64 - merged as i64;
        out.lost_requests += topic_sent as i64 - merged_sent as i64;
        out.resent += messages.len() - distinct.len();
        out.topic_requests += topic_sent;
        parts.push(format!(
            "{id}: {} msgs/{topic_sent} req on topic, {merged} msgs/{merged_sent} req merged",
            distinct.len()
        ));
    }
    out.detail = parts.join(", ");
    out
}

impl Merged {
    /// Records the data-lost cell: messages (and requests) on the topic that were not merged.
    pub fn record(&self, c: &mut Checks) {
        c.lost(
            self.lost_messages,
            &format!("metrics msgs on topic - merged; {}", self.detail),
        );
        if self.lost_messages == 0 {
            c.check(
                self.lost_requests == 0,
                format!(
                    "requests on the topic but not merged: {} ({})",
                    self.lost_requests, self.detail
                ),
            );
        }
    }
}
