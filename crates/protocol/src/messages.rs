//! One type per topic, with the assignment's field names and real JSON types.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use onslaught_plan::MAX_USERS_TOTAL;
use onslaught_plan::request::{MAX_CONCURRENCY, MAX_RATE, MIN_RATE};
use onslaught_plan::{Load, Split, TestPlan};

use crate::codec::{DecodeError, Message, check_id};
use onslaught_stats::{Counters, Measurements, Summary};

use crate::wire_stats::{
    FlowMetrics, NamedMetrics, check_counters, check_names, decode_histogram, encode_histogram,
};
use crate::{PROTOCOL_VERSION, Topic};

fn v1() -> u32 {
    PROTOCOL_VERSION
}

/// `register`: a driver announces itself and where it can be reached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Register {
    /// Protocol version of the sender.
    #[serde(default = "v1")]
    pub protocol_version: u32,
    /// The driver's unique id.
    pub node_id: String,
    /// The driver's reachable address, `host:port` (the assignment's `node_IP`).
    #[serde(rename = "node_IP")]
    pub node_ip: String,
    /// Always `DRIVER_NODE_REGISTER`.
    pub message_type: String,
    /// Wall-clock time of registration, ms since the Unix epoch.
    #[serde(default)]
    pub timestamp_ms: u64,
}

/// The only `message_type` of a register message.
pub const DRIVER_NODE_REGISTER: &str = "DRIVER_NODE_REGISTER";

impl Register {
    /// A register message for `node_id` reachable at `node_ip`.
    pub fn new(node_id: &str, node_ip: &str) -> Self {
        Self {
            protocol_version: PROTOCOL_VERSION,
            node_id: node_id.to_owned(),
            node_ip: node_ip.to_owned(),
            message_type: DRIVER_NODE_REGISTER.to_owned(),
            timestamp_ms: crate::now_ms(),
        }
    }
}

impl Message for Register {
    const TOPIC: Topic = Topic::Register;
    fn protocol_version(&self) -> u32 {
        self.protocol_version
    }
    fn validate(&self) -> Result<(), DecodeError> {
        check_id("node_id", &self.node_id)?;
        if self.node_ip.len() > 256 {
            return Err(DecodeError::invalid("node_IP", "longer than 256 bytes"));
        }
        if self.message_type != DRIVER_NODE_REGISTER {
            return Err(DecodeError::invalid(
                "message_type",
                format!("expected {DRIVER_NODE_REGISTER}"),
            ));
        }
        Ok(())
    }
}

/// The two kinds of load test of the mission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TestType {
    /// Requests go out as soon as a connection is free, first come first served.
    Avalanche,
    /// Requests go out on a fixed schedule (a delay between sends, or a rate).
    Tsunami,
}

impl TestType {
    /// The wire name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            TestType::Avalanche => "AVALANCHE",
            TestType::Tsunami => "TSUNAMI",
        }
    }

    /// Parses `AVALANCHE` or `TSUNAMI` in any case.
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("avalanche") {
            Some(TestType::Avalanche)
        } else if s.eq_ignore_ascii_case("tsunami") {
            Some(TestType::Tsunami)
        } else {
            None
        }
    }
}

impl Serialize for TestType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TestType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TestType::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown test_type `{s}`, expected AVALANCHE or TSUNAMI"
            ))
        })
    }
}

/// `test_config`: a test's full configuration, sent to every driver.
///
/// The assignment's fields (`test_id`, `test_type`, `test_message_delay`,
/// `message_count_per_driver`) are derived from the plan ([`TestConfig::new`]); the plan itself
/// travels in its documented JSON form and is parsed on receipt by the one validation
/// (`TestPlan::try_from`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestConfig {
    /// Protocol version of the sender.
    #[serde(default = "v1")]
    pub protocol_version: u32,
    /// The test's unique id.
    pub test_id: String,
    /// Avalanche or Tsunami.
    pub test_type: TestType,
    /// Tsunami: the gap between request send times on each driver, in ms (fractional allowed;
    /// for a rate, 1000 / rate); 0 for Avalanche.
    #[serde(default)]
    pub test_message_delay: f64,
    /// Requests each driver sends; `None` bounds the test by duration only.
    #[serde(default)]
    pub message_count_per_driver: Option<u64>,
    /// The whole test.
    pub plan: TestPlan,
    /// Node ids of the drivers taking part; every other driver ignores the test.
    pub drivers: Vec<String>,
    /// Wall-clock time the orchestrator issued the config, ms since the Unix epoch.
    #[serde(default)]
    pub issued_at_ms: u64,
    /// The leadership epoch of the orchestrator that sent it (an elected orchestrator of a
    /// `--cluster`); absent from one that was not elected. Drivers refuse commands with a lower
    /// epoch than the highest they have seen (see [`crate::epoch`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// HMAC-SHA256 of the message under the shared secret, base64 (see `signing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl TestConfig {
    /// The config of `plan` as test `test_id` for `drivers`, issued now, unsigned.
    pub fn new(test_id: &str, plan: TestPlan, drivers: Vec<String>) -> Self {
        let (test_type, test_message_delay, message_count_per_driver) =
            assignment_fields(&plan, drivers.len());
        Self {
            protocol_version: PROTOCOL_VERSION,
            test_id: test_id.to_owned(),
            test_type,
            test_message_delay,
            message_count_per_driver,
            plan,
            drivers,
            issued_at_ms: crate::now_ms(),
            epoch: None,
            signature: None,
        }
    }
}

/// The assignment's view of a plan run by `drivers` drivers: its type, the gap in ms between
/// each driver's sends (0 for avalanche; for a total rate, the total's gap times the drivers;
/// for a rate curve, the gap of its mean rate per driver) and the request count (none for a plan
/// with flows).
fn assignment_fields(plan: &TestPlan, drivers: usize) -> (TestType, f64, Option<u64>) {
    let (test_type, delay) = match &plan.load {
        Load::Avalanche | Load::Ramping(_) => (TestType::Avalanche, 0.0),
        Load::Tsunami(schedule) => {
            let delay = match (schedule.gap(), schedule.split()) {
                (Some(gap), Split::PerDriver) => gap.as_nanos() as f64 / 1e6,
                (Some(gap), Split::Total) => gap.as_nanos() as f64 * drivers as f64 / 1e6,
                (None, _) => 1000.0 / schedule.driver_rate(drivers),
            };
            (TestType::Tsunami, delay)
        }
    };
    // With flows the count is of iterations, each of several requests: there is no message
    // count to state.
    let count = plan.bound.requests().filter(|_| plan.scenario.is_none());
    (test_type, delay, count)
}

impl Message for TestConfig {
    const TOPIC: Topic = Topic::TestConfig;
    fn protocol_version(&self) -> u32 {
        self.protocol_version
    }
    /// The plan was validated when it was decoded; the assignment's fields must say the same.
    fn validate(&self) -> Result<(), DecodeError> {
        check_id("test_id", &self.test_id)?;
        let (test_type, delay, count) = assignment_fields(&self.plan, self.drivers.len());
        if self.test_type != test_type {
            return Err(DecodeError::invalid(
                "test_type",
                format!("is not the plan's ({})", test_type.as_str()),
            ));
        }
        if self.test_message_delay != delay {
            return Err(DecodeError::invalid(
                "test_message_delay",
                format!("is not the plan's gap ({delay} ms)"),
            ));
        }
        if self.message_count_per_driver != count {
            return Err(DecodeError::invalid(
                "message_count_per_driver",
                "is not the plan's request count",
            ));
        }
        if self.drivers.is_empty() {
            return Err(DecodeError::invalid(
                "drivers",
                "must name at least one driver",
            ));
        }
        for id in &self.drivers {
            check_id("drivers", id)?;
        }
        Ok(())
    }
}

/// Most drivers a `TAKEOVER` trigger names.
pub const MAX_TAKEOVER_DRIVERS: usize = 10_000;

/// What a trigger asks of the drivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerAction {
    /// Start the configured test (the assignment's `"trigger": "YES"`).
    #[serde(rename = "YES")]
    Start,
    /// Stop the test now.
    #[serde(rename = "STOP")]
    Stop,
    /// Change the running test's rate (`rate` or `rate_total`) or an avalanche's virtual users
    /// (`users`, or `users_total` split among `drivers`) from `effective_at_ms` on. A driver
    /// that predates it refuses the message as malformed.
    #[serde(rename = "ADJUST")]
    Adjust,
    /// From `effective_at_ms` on, the test's schedule in total is split among `drivers` only
    /// (in that order: the k-th takes every k-th of the remaining arrivals): they take over the
    /// share of drivers that died. A driver of the test not among them stops its run (it was
    /// declared dead and replaced). A driver that predates it refuses the message as malformed.
    #[serde(rename = "TAKEOVER")]
    Takeover,
}

/// `trigger`: starts, stops or adjusts a configured test on every participating driver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// Protocol version of the sender.
    #[serde(default = "v1")]
    pub protocol_version: u32,
    /// The test to start or stop.
    pub test_id: String,
    /// `YES` starts, `STOP` stops, `ADJUST` changes the rate, `TAKEOVER` splits the schedule
    /// among fewer drivers.
    pub trigger: TriggerAction,
    /// Synchronized start: wall-clock time to begin, ms since the Unix epoch (0: at once). On
    /// `ADJUST`, the test's start time (its schedule's origin on every driver).
    #[serde(default)]
    pub start_at_ms: u64,
    /// `ADJUST` of a test whose rate is per driver: the new requests per second of each driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// `ADJUST` of a test whose rate is in total: the new requests per second of all drivers
    /// together (each keeps its stripe of the one schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_total: Option<f64>,
    /// `ADJUST` of an avalanche: each driver's new virtual users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u64>,
    /// `ADJUST` of an avalanche: the new virtual users of all drivers together, split among
    /// `drivers` by stripe (the k-th runs the users i with i mod n = k).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_total: Option<u64>,
    /// `ADJUST` and `TAKEOVER`: the wall-clock instant the change takes effect on every driver,
    /// ms since the Unix epoch (the same instant of the schedule everywhere: `effective_at_ms -
    /// start_at_ms` after its origin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_at_ms: Option<u64>,
    /// `TAKEOVER`: the drivers that split the schedule from `effective_at_ms` on; `ADJUST`
    /// with `users_total`: the drivers that split the users. In stripe order (at most
    /// [`MAX_TAKEOVER_DRIVERS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drivers: Vec<String>,
    /// Wall-clock time the orchestrator issued the trigger, ms since the Unix epoch.
    #[serde(default)]
    pub issued_at_ms: u64,
    /// The leadership epoch of the orchestrator that sent it (an elected orchestrator of a
    /// `--cluster`); absent from one that was not elected. Drivers refuse commands with a lower
    /// epoch than the highest they have seen (see [`crate::epoch`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// HMAC-SHA256 of the message under the shared secret, base64 (see `signing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl Message for Trigger {
    const TOPIC: Topic = Topic::Trigger;
    fn protocol_version(&self) -> u32 {
        self.protocol_version
    }
    fn validate(&self) -> Result<(), DecodeError> {
        check_id("test_id", &self.test_id)?;
        let given = [
            ("rate", self.rate.is_some()),
            ("rate_total", self.rate_total.is_some()),
            ("users", self.users.is_some()),
            ("users_total", self.users_total.is_some()),
        ];
        let mut loads = given.iter().filter(|(_, is)| *is).map(|(field, _)| *field);
        let load = loads.next();
        if self.trigger != TriggerAction::Adjust
            && let Some(field) = load
        {
            return Err(DecodeError::invalid(
                field,
                "only an ADJUST trigger carries a rate or users",
            ));
        }
        if let Some(second) = loads.next() {
            return Err(DecodeError::invalid(
                second,
                "an ADJUST trigger carries one of rate, rate_total, users and users_total",
            ));
        }
        let names_drivers = self.trigger == TriggerAction::Takeover || self.users_total.is_some();
        if !names_drivers && !self.drivers.is_empty() {
            return Err(DecodeError::invalid(
                "drivers",
                "only a TAKEOVER trigger or an ADJUST of users_total names drivers",
            ));
        }
        match self.trigger {
            TriggerAction::Start | TriggerAction::Stop => return Ok(()),
            TriggerAction::Adjust | TriggerAction::Takeover => {}
        }
        if self.effective_at_ms.is_none() {
            return Err(DecodeError::invalid(
                "effective_at_ms",
                "an ADJUST or TAKEOVER trigger states when it takes effect",
            ));
        }
        if names_drivers {
            if self.drivers.is_empty() || self.drivers.len() > MAX_TAKEOVER_DRIVERS {
                return Err(DecodeError::invalid(
                    "drivers",
                    "a TAKEOVER trigger or an ADJUST of users_total names 1 to 10,000 drivers",
                ));
            }
            for id in &self.drivers {
                check_id("drivers", id)?;
            }
        }
        if self.trigger == TriggerAction::Takeover {
            return Ok(());
        }
        let in_range = match (self.rate, self.rate_total, self.users, self.users_total) {
            (Some(r), ..) | (_, Some(r), ..) => r.is_finite() && (MIN_RATE..=MAX_RATE).contains(&r),
            (.., Some(n), _) => (1..=u64::from(MAX_CONCURRENCY)).contains(&n),
            (.., Some(n)) => (1..=MAX_USERS_TOTAL).contains(&n),
            (None, None, None, None) => {
                return Err(DecodeError::invalid(
                    "rate",
                    "an ADJUST trigger carries one of rate, rate_total, users and users_total",
                ));
            }
        };
        if in_range {
            Ok(())
        } else {
            Err(DecodeError::invalid(load.unwrap_or("rate"), "out of range"))
        }
    }
}

impl Trigger {
    /// A trigger of `action` for test `test_id`, issued now, unstamped and unsigned.
    pub fn new(test_id: &str, action: TriggerAction, start_at_ms: u64) -> Self {
        Self {
            protocol_version: PROTOCOL_VERSION,
            test_id: test_id.to_owned(),
            trigger: action,
            start_at_ms,
            rate: None,
            rate_total: None,
            users: None,
            users_total: None,
            effective_at_ms: None,
            drivers: Vec::new(),
            issued_at_ms: crate::now_ms(),
            epoch: None,
            signature: None,
        }
    }
}

/// `metrics`: one driver's statistics for one interval of one test.
///
/// Intervals do not overlap: adding every message's histogram and counters for a node gives the
/// node's totals exactly. `report_id` is unique per message (for de-duplication) and `seq`
/// counts a node's messages for a test from 1 (for gap detection).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Protocol version of the sender.
    #[serde(default = "v1")]
    pub protocol_version: u32,
    /// The reporting driver.
    pub node_id: String,
    /// The test measured.
    pub test_id: String,
    /// Unique id of this message.
    pub report_id: String,
    /// Per-node, per-test sequence number, from 1.
    pub seq: u64,
    /// The driver's last message for this test.
    #[serde(rename = "final", default)]
    pub is_final: bool,
    /// Interval start, ms since the test started on this driver.
    pub interval_start_ms: u64,
    /// Interval end, ms since the test started on this driver.
    pub interval_end_ms: u64,
    /// Wall-clock time the driver sent this message, ms since the Unix epoch (0: unknown). Used
    /// to measure how stale the orchestrator's and dashboard's view is.
    #[serde(default)]
    pub sent_at_ms: u64,
    /// Wall-clock time the driver's run actually started (its clock's zero, once its
    /// connections were open), ms since the Unix epoch; absent from older drivers. The
    /// orchestrator compares it with the trigger's `start_at_ms` to place the interval on the
    /// test's clock and to show a late start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<u64>,
    /// Latency summary of the interval in ms (from the intended send time), under the
    /// assignment's names (`mean_latency`, `median_latency`, `min_latency`, `max_latency`...;
    /// see [`crate::wire_stats::assignment_names`]). Derived from `histogram`.
    #[serde(with = "crate::wire_stats::assignment_names")]
    pub metrics: Summary,
    /// The interval's latency histogram (µs), HdrHistogram V2 deflate, base64.
    pub histogram: String,
    /// The interval's service-time histogram (µs, from the actual send), same encoding.
    pub service_histogram: String,
    /// Scheduled tests: the interval's histogram of gaps between consecutive sends (µs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_gap_histogram: Option<String>,
    /// Scheduled tests: the interval's histogram of send lags, how late each request went out
    /// after its intended send time (µs), same encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag_histogram: Option<String>,
    /// Counters of the interval.
    pub counters: Counters,
    /// Per request name, for a test whose requests have more than one name (a plan's steps):
    /// each name's histograms and counters (absent for a test of one request, whose whole is
    /// that request's). At most [`crate::wire_stats::MAX_NAMES`] names of at most
    /// [`crate::wire_stats::MAX_NAME_BYTES`] bytes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_name: BTreeMap<String, NamedMetrics>,
    /// Per flow: its iterations in the interval (absent for a test without flows). Bounded like
    /// `by_name`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flows: BTreeMap<String, FlowMetrics>,
    /// On the final message of a run that ended early: why (stopped by the orchestrator, no
    /// orchestrator heartbeat, the driver shutting down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// On the final message: µs from the run's start to its last send (the attack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_send_us: Option<u64>,
    /// On the final message: µs from the run's start to the end (response or error) of its last
    /// request; minus `last_send_us`, the wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_response_us: Option<u64>,
}

impl Message for Metrics {
    const TOPIC: Topic = Topic::Metrics;
    fn protocol_version(&self) -> u32 {
        self.protocol_version
    }
    fn validate(&self) -> Result<(), DecodeError> {
        self.validate_fields()?;
        self.measurements().map(drop)
    }
}

impl Metrics {
    /// Everything [`Message::validate`] checks except the histograms.
    fn validate_fields(&self) -> Result<(), DecodeError> {
        check_id("node_id", &self.node_id)?;
        check_id("test_id", &self.test_id)?;
        check_id("report_id", &self.report_id)?;
        if self.seq == 0 {
            return Err(DecodeError::invalid("seq", "starts at 1"));
        }
        if self.interval_end_ms < self.interval_start_ms {
            return Err(DecodeError::invalid(
                "interval_end_ms",
                "before interval_start_ms",
            ));
        }
        check_counters(&self.counters)?;
        check_names("by_name", self.by_name.keys())?;
        for named in self.by_name.values() {
            check_counters(&named.counters)?;
        }
        check_names("flows", self.flows.keys())?;
        if self.stopped.as_ref().is_some_and(|s| s.len() > 1024) {
            return Err(DecodeError::invalid("stopped", "longer than 1024 bytes"));
        }
        Ok(())
    }

    /// What the message measured: its histograms decoded (each is base64 of deflated
    /// HdrHistogram V2), its counters, and the same per request name and per flow.
    pub fn measurements(&self) -> Result<Measurements, DecodeError> {
        let optional = |field, text: &Option<String>| {
            text.as_deref()
                .map(|h| decode_histogram(field, h))
                .transpose()
        };
        Ok(Measurements {
            latency: decode_histogram("histogram", &self.histogram)?,
            service: decode_histogram("service_histogram", &self.service_histogram)?,
            send_gaps: optional("send_gap_histogram", &self.send_gap_histogram)?,
            send_lag: optional("send_lag_histogram", &self.send_lag_histogram)?,
            counters: self.counters.clone(),
            by_name: self
                .by_name
                .iter()
                .map(|(name, named)| Ok((name.clone(), named.measurements(name)?)))
                .collect::<Result<_, DecodeError>>()?,
            flows: self
                .flows
                .iter()
                .map(|(name, flow)| Ok((name.clone(), flow.iterations(name)?)))
                .collect::<Result<_, DecodeError>>()?,
        })
    }

    /// Puts `measured` in the message: its latency summary (`metrics`), its histograms encoded,
    /// its counters. The inverse of [`Metrics::measurements`].
    pub fn set_measurements(&mut self, measured: &Measurements) {
        self.metrics = measured.latency.summary();
        self.histogram = encode_histogram(&measured.latency);
        self.service_histogram = encode_histogram(&measured.service);
        self.send_gap_histogram = measured.send_gaps.as_ref().map(encode_histogram);
        self.send_lag_histogram = measured.send_lag.as_ref().map(encode_histogram);
        self.counters = measured.counters.clone();
        self.by_name = measured
            .by_name
            .iter()
            .map(|(name, part)| (name.clone(), NamedMetrics::of(part)))
            .collect();
        self.flows = measured
            .flows
            .iter()
            .map(|(name, flow)| (name.clone(), FlowMetrics::of(flow)))
            .collect();
    }
}

/// Decodes and validates a metrics message like [`crate::decode`], and returns the histograms
/// that validation decoded with the counters, so a receiver that merges them does not decode them
/// again.
pub fn decode_metrics(bytes: &[u8]) -> Result<(Metrics, Measurements), DecodeError> {
    let message: Metrics = crate::codec::parse(bytes)?;
    message.validate_fields()?;
    let measured = message.measurements()?;
    Ok((message, measured))
}

/// Who sent a heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A driver node.
    Driver,
    /// The orchestrator.
    Orchestrator,
}

/// A node's state as its heartbeat reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Ready for a test.
    Idle,
    /// Holds the configuration of `test_id` and waits for its trigger (this acknowledges the
    /// config).
    Configured,
    /// Sending load for `test_id`.
    Running,
    /// Done with `test_id`; its final metrics message is out.
    Finished,
    /// Refused the configuration of `test_id` (see `reason`).
    Rejected,
}

/// The state part of a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatState {
    /// What the node is doing.
    pub state: NodeState,
    /// The test it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_id: Option<String>,
    /// Why a configuration was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl HeartbeatState {
    /// Idle, no test.
    pub fn idle() -> Self {
        Self {
            state: NodeState::Idle,
            test_id: None,
            reason: None,
        }
    }

    /// `state` for `test_id`.
    pub fn for_test(state: NodeState, test_id: &str) -> Self {
        Self {
            state,
            test_id: Some(test_id.to_owned()),
            reason: None,
        }
    }
}

/// The heartbeat `info` key under which a driver reports the instant (ms since the Unix epoch) of
/// the last schedule change (`ADJUST`, `TAKEOVER`) it took for its current test (0: none yet):
/// the orchestrator sends the later ones again to a driver behind.
pub const LAST_CHANGE_INFO: &str = "last_change_ms";

/// `heartbeat`: a node is alive, and what it is doing. Sent every second and at every change of
/// state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Protocol version of the sender.
    #[serde(default = "v1")]
    pub protocol_version: u32,
    /// The sender's id.
    pub node_id: String,
    /// Always `YES`.
    pub heartbeat: String,
    /// Wall-clock time, ms since the Unix epoch, as a decimal string (the assignment's shape).
    pub timestamp: String,
    /// Driver or orchestrator.
    #[serde(default = "default_role")]
    pub role: Role,
    /// The sender's state.
    #[serde(flatten)]
    pub state: HeartbeatState,
    /// Requests sent so far in the current test (drivers), for liveness at a glance.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub info: BTreeMap<String, u64>,
    /// An orchestrator's leadership epoch, when it was elected (see [`crate::epoch`]): drivers
    /// take a heartbeat with a lower epoch than the highest they have seen for a deposed
    /// orchestrator's, refuse it and count it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// An orchestrator's heartbeat: HMAC-SHA256 under the shared secret, when one is set (so a
    /// forged heartbeat cannot raise a driver's epoch fence; see `signing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

fn default_role() -> Role {
    Role::Driver
}

impl Heartbeat {
    /// A heartbeat from `node_id` in `state`, stamped now.
    pub fn new(node_id: &str, role: Role, state: HeartbeatState) -> Self {
        Self {
            protocol_version: PROTOCOL_VERSION,
            node_id: node_id.to_owned(),
            heartbeat: "YES".to_owned(),
            timestamp: crate::now_ms().to_string(),
            role,
            state,
            info: BTreeMap::new(),
            epoch: None,
            signature: None,
        }
    }
}

impl Message for Heartbeat {
    const TOPIC: Topic = Topic::Heartbeat;
    fn protocol_version(&self) -> u32 {
        self.protocol_version
    }
    fn validate(&self) -> Result<(), DecodeError> {
        check_id("node_id", &self.node_id)?;
        if self.heartbeat != "YES" {
            return Err(DecodeError::invalid("heartbeat", "expected YES"));
        }
        if self.timestamp.parse::<u64>().is_err() {
            return Err(DecodeError::invalid(
                "timestamp",
                "expected ms since the Unix epoch",
            ));
        }
        if let Some(test_id) = &self.state.test_id {
            check_id("test_id", test_id)?;
        }
        if self.state.reason.as_ref().is_some_and(|r| r.len() > 1024) {
            return Err(DecodeError::invalid("reason", "longer than 1024 bytes"));
        }
        Ok(())
    }
}
