//! [`TestRequest`]: a test as users write it (API body, CLI flags, report files), its defaults,
//! bounds and documented schema. It is only ever turned into a [`crate::TestPlan`], by
//! `TestPlan::try_from`.

use std::collections::BTreeMap;

use onslaught_flow::spec::{DatasetSpec, DefaultsSpec, FlowSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ExpectStatus;
use crate::target::{HTTP_URL_PATTERN, URL_PATTERN};

/// The test a user asks for. Counts and rates are per driver, as in the assignment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = cross_field_rules)]
pub struct TestRequest {
    /// `avalanche` (as fast as possible) or `tsunami` (a fixed delay or rate); any case is
    /// accepted.
    pub test_type: String,
    /// Absolute http:// or https:// URL: a host name (IDN accepted), an IPv4 address or an IPv6
    /// address in brackets, a port 1 to 65535; no user info, no fragment; the path and query
    /// percent-encoded. With `flows`, the base their steps' paths are joined to (`base_url` is
    /// accepted as another name for it).
    #[serde(alias = "base_url")]
    #[schemars(pattern(URL_PATTERN))]
    pub url: String,
    /// The test's name, for people (reports, the dashboard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_NAME_CHARS))]
    pub name: Option<String>,
    /// User flows: what each virtual user does, iteration after iteration; a flow is picked by
    /// weight for each iteration. Without flows the test sends its one request (`method`,
    /// `url`, `headers`, `body`), which is a one-step flow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_FLOWS))]
    pub flows: Vec<FlowSpec>,
    /// Datasets the flows' templates read (`{{ accounts.user }}`), by name; at most 512 KiB as
    /// compact JSON (`MAX_DATA_BYTES`: the test config must fit in one message).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, DatasetSpec>,
    /// What every request step of the flows starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<DefaultsSpec>,
    /// Most distinct request names kept in per-request statistics; later ones count under
    /// `other`.
    #[serde(default = "default_max_names", deserialize_with = "whole::number")]
    #[schemars(range(min = 1, max = MAX_NAMES))]
    pub max_names: u32,
    /// With flows: iterations each driver runs (all its virtual users together). Give this,
    /// `duration_ms`, or both; `requests_per_driver` is for a test without flows.
    #[serde(default, deserialize_with = "whole::option")]
    #[schemars(range(min = 1, max = MAX_REQUESTS))]
    pub iterations_per_driver: Option<u64>,
    /// HTTP method.
    #[serde(default = "default_method")]
    #[schemars(pattern("^[A-Za-z]{1,32}$"))]
    pub method: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: Vec<Header>,
    /// Request body as UTF-8 text.
    #[serde(default)]
    #[schemars(length(max = MAX_BODY_CHARS))]
    pub body: Option<String>,
    /// Request body as standard base64, for bytes that are not UTF-8 text (at most 65536 bytes
    /// decoded); not with `body`.
    #[serde(default)]
    #[schemars(
        pattern(BASE64_PATTERN),
        length(max = MAX_BODY_BASE64_CHARS),
        extend("contentEncoding" = "base64")
    )]
    pub body_base64: Option<String>,
    /// Tsunami: gap between sends on each driver, in ms. A tsunami test needs a delay > 0 or
    /// a rate.
    #[serde(default)]
    #[schemars(range(min = 0, max = MAX_DELAY_MS))]
    pub delay_ms: Option<f64>,
    /// Tsunami: requests per second per driver (instead of a delay); at least one an hour.
    #[serde(default)]
    #[schemars(range(min = MIN_RATE, max = MAX_RATE))]
    pub rate: Option<f64>,
    /// Tsunami: requests per second in total over all drivers (instead of `rate`, which is per
    /// driver): the drivers split one schedule, driver k of n taking every arrival i with
    /// i mod n = k.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MIN_RATE, max = MAX_RATE))]
    pub rate_total: Option<f64>,
    /// Tsunami: a rate curve per driver (instead of `rate`): from 0, each stage moves the rate
    /// linearly to its `target` over its `duration_ms`, as k6's ramping-arrival-rate (send times
    /// stay absolute: the i-th request at the time the curve's area reaches i). Avalanche: a
    /// curve of virtual users per driver, as k6's ramping-vus (whole targets, at most
    /// `MAX_USERS`): at time t, floor(curve(t)) users run, started evenly as it rises; as it
    /// falls, users stop after their request (or flow iteration) in flight; one connection per
    /// user (`concurrency` is the peak). The test lasts the stages' total unless `duration_ms`
    /// is shorter. At least one target above 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_STAGES))]
    pub stages: Vec<Stage>,
    /// As `stages`, the targets in total over all drivers: a tsunami's rate split as
    /// `rate_total`; an avalanche's users split so that at every moment driver k of n runs the
    /// users i < floor(curve(t)) with i mod n = k (the drivers' users add up to the curve).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_STAGES))]
    pub stages_total: Vec<Stage>,
    /// Requests each driver sends. Give this, `duration_ms`, or both (or stages).
    #[serde(default, deserialize_with = "whole::option")]
    #[schemars(range(min = 1, max = MAX_REQUESTS))]
    pub requests_per_driver: Option<u64>,
    /// Time bound per driver, in ms.
    #[serde(default, deserialize_with = "whole::option")]
    #[schemars(range(min = 1, max = MAX_DURATION_MS))]
    pub duration_ms: Option<u64>,
    /// Connections per driver.
    #[serde(default = "default_concurrency", deserialize_with = "whole::number")]
    #[schemars(range(min = 1, max = MAX_CONCURRENCY))]
    pub concurrency: u32,
    /// Per-request timeout in ms.
    #[serde(default = "default_timeout_ms", deserialize_with = "whole::number")]
    #[schemars(range(min = 1, max = MAX_TIMEOUT_MS))]
    pub timeout_ms: u64,
    /// Skip TLS certificate verification.
    #[serde(default)]
    pub insecure: bool,
    /// How many live drivers take part (all when absent or null).
    #[serde(default, deserialize_with = "whole::option")]
    #[schemars(range(min = 1, max = MAX_DRIVERS))]
    pub drivers: Option<u32>,
    /// A driver whose run starts more than this many ms after the trigger's start time is
    /// named in the test's warnings.
    #[serde(
        default = "default_max_start_skew_ms",
        deserialize_with = "whole::number"
    )]
    #[schemars(range(max = MAX_START_SKEW_MS))]
    pub max_start_skew_ms: u64,
    /// Statuses that count as success: a comma-separated list of statuses (404) and classes
    /// (2xx). 2xx and 3xx when null; other statuses count as errors (`http_404`, `http_5xx`).
    #[serde(default)]
    #[schemars(with = "Option<String>", pattern(crate::expect::PATTERN))]
    pub expect_status: Option<ExpectStatus>,
    /// Largest share of failed requests with which the test still passes; 0: any failed
    /// request fails it.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1))]
    pub max_error_ratio: f64,
    /// Pass/fail rules judged by the orchestrator on the merged numbers of all drivers, live
    /// and at the end, in k6's expression style: `[NAME:] METRIC[WINDOW] OP LIMIT`, as
    /// `p99 < 250ms`, `p95<400ms`, `max < 2s`, `error_rate < 1%`, `rps > 900`, `checks > 99%`,
    /// `p99[30s] < 300ms` (over the trailing 30 s), `login: p95 < 400ms` (the requests named
    /// `login` only), `p99 < 250ms after 30s` (a warm-up: only the seconds from 30 s on
    /// count; pending until then). Metrics: `min`, `max`, `mean`, `median`, `p50`..`p99`, `p999`, `p(N)`
    /// (latency from the intended send time), `error_rate`, `rps`, `checks` (share of checks
    /// passed); operators `<`, `<=`, `>`, `>=`. Any failed threshold fails the test.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_THRESHOLDS), inner(pattern(THRESHOLD_PATTERN)))]
    pub thresholds: Vec<String>,
    /// Stop the test on every driver as soon as a threshold fails (after `abort_grace_ms`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub abort_on_fail: bool,
    /// With `abort_on_fail`: ms after the test's start during which failing thresholds do not
    /// stop it (a warm-up).
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "whole::number"
    )]
    #[schemars(range(max = MAX_DURATION_MS))]
    pub abort_grace_ms: u64,
    /// Where to push this test's per-second series as OpenTelemetry metrics (OTLP/HTTP,
    /// protobuf; `http://` only), besides the orchestrator's own `--otlp-endpoint` if it has
    /// one: the path is the receiver's (`http://collector:4318/v1/metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(HTTP_URL_PATTERN))]
    pub otlp_endpoint: Option<String>,
    /// Start right after creating.
    #[serde(default)]
    pub start: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Thresholds as a regular expression for the OpenAPI document: a subset of what is accepted
/// (lower-case metrics, `p0`..`p99` and `p999`, windows of 1 to 99 s, whole-unit durations,
/// request names of letters, digits, `_./-` and inner spaces, at most 64, warm-ups in whole
/// s, m or h up to a week), so that every
/// expression it allows is one the parser takes.
pub const THRESHOLD_PATTERN: &str = concat!(
    "^ *([A-Za-z0-9_./-][A-Za-z0-9_./ -]{0,63}: *)?(",
    "(min|max|mean|avg|median|p[0-9]{1,2}|p999)(\\[[1-9][0-9]?s\\])? *(<=|>=|<|>) *",
    "([0-9]{1,6}(us|ms|s)|[0-9]{1,6}(\\.[0-9]{1,3})?)",
    "|(error_rate|checks)(\\[[1-9][0-9]?s\\])? *(<=|>=|<|>) *(100|[0-9]{1,2}(\\.[0-9]{1,3})?)%",
    "|rps(\\[[1-9][0-9]?s\\])? *(<=|>=|<|>) *[0-9]{1,9}(\\.[0-9]{1,3})?",
    // A warm-up of at most a week (MAX_AFTER): 604800 s, 10080 m or 168 h.
    ")( +after +(([1-9][0-9]{0,4}|[1-5][0-9]{5}|60[0-3][0-9]{3}|604[0-7][0-9]{2}|604800)s",
    "|([1-9][0-9]{0,3}|100[0-7][0-9]|10080)m|([1-9][0-9]?|1[0-5][0-9]|16[0-8])h))? *$"
);

/// Most thresholds a test may have.
pub const MAX_THRESHOLDS: usize = 64;

fn default_method() -> String {
    "GET".to_owned()
}

/// Longest test `name`, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Most flows a test may have.
pub const MAX_FLOWS: usize = 100;

/// Largest size of a test's datasets, all rows together as JSON text (512 KiB): they travel
/// in the `test_config` message with the rest of the plan, within the protocol's 1 MiB.
pub const MAX_DATA_BYTES: usize = 512 * 1024;

/// The size the rows of `data` take in a `test_config` message (their JSON text), to compare
/// with [`MAX_DATA_BYTES`].
pub fn data_bytes(data: &BTreeMap<String, DatasetSpec>) -> usize {
    data.values()
        .map(dataset_bytes)
        .fold(0, usize::saturating_add)
}

/// The size one dataset's rows take in a `test_config` message (their JSON text).
pub fn dataset_bytes(set: &DatasetSpec) -> usize {
    serde_json::to_vec(&set.rows).map_or(usize::MAX, |json| json.len())
}

/// Default `max_names`.
pub const DEFAULT_MAX_NAMES: u32 = 100;
/// Largest `max_names` accepted.
pub const MAX_NAMES: u32 = 1_000;

fn default_max_names() -> u32 {
    DEFAULT_MAX_NAMES
}

/// Default connections per driver.
pub const DEFAULT_CONCURRENCY: u32 = 50;

fn default_concurrency() -> u32 {
    DEFAULT_CONCURRENCY
}

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

/// Default lateness of a driver's start beyond which the test warns.
pub const DEFAULT_MAX_START_SKEW_MS: u64 = 500;

/// Largest `max_start_skew_ms` accepted.
pub const MAX_START_SKEW_MS: u64 = 600_000;

fn default_max_start_skew_ms() -> u64 {
    DEFAULT_MAX_START_SKEW_MS
}

/// Most drivers a test can ask for.
pub const MAX_DRIVERS: u32 = 100_000;

/// Longest text request body accepted (`body`), in characters.
pub const MAX_BODY_CHARS: usize = 65_536;

/// Longest binary request body accepted (`body_base64`, decoded), in bytes (64 KiB).
pub const MAX_BODY_BYTES: usize = 65_536;

/// Longest `body_base64` the OpenAPI document shows: the padded encoding of the whole bytes
/// that fit in [`MAX_BODY_BYTES`] (a subset of what is accepted).
pub const MAX_BODY_BASE64_CHARS: usize = MAX_BODY_BYTES / 3 * 4;

/// Canonical standard base64 as a regular expression for the OpenAPI document (padded; a subset
/// of what is accepted, which also forgives missing padding and stray bits).
pub const BASE64_PATTERN: &str = "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$";

/// Largest request count per driver accepted.
pub const MAX_REQUESTS: u64 = 10_000_000_000;
/// Longest test accepted (one week).
pub const MAX_DURATION_MS: u64 = 7 * 24 * 3600 * 1000;
/// Most connections per driver accepted.
pub const MAX_CONCURRENCY: u32 = 100_000;
/// Highest rate per driver accepted.
pub const MAX_RATE: f64 = 10_000_000.0;
/// Lowest rate per driver accepted: one request an hour, the longest delay.
pub const MIN_RATE: f64 = 1.0 / 3600.0;
/// Longest tsunami delay accepted, ms.
pub const MAX_DELAY_MS: f64 = 3_600_000.0;
/// Shortest tsunami delay accepted, ms: the gap of the highest rate ([`MAX_RATE`]).
pub const MIN_DELAY_MS: f64 = 1000.0 / MAX_RATE;
/// Most stages a rate curve may have.
pub const MAX_STAGES: usize = 32;
/// Longest stage accepted, ms: a share of the longest test ([`MAX_DURATION_MS`]), so that no
/// curve is longer than a test may last.
pub const MAX_STAGE_MS: u64 = MAX_DURATION_MS / MAX_STAGES as u64;
/// Most virtual users a users curve (`stages` or `stages_total` of an avalanche) may reach: one
/// connection each, so no more than a driver's connections ([`MAX_CONCURRENCY`]).
pub const MAX_USERS: f64 = MAX_CONCURRENCY as f64;
/// Longest per-request timeout accepted, ms.
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;

/// For the schema, what `TestPlan::try_from` enforces beyond each field's type and range:
/// the spellings of `test_type` listed, a request count or a duration (or stages), a tsunami test
/// needs a schedule (a delay > 0, a rate, a total rate or stages) and has one only, a rate curve
/// has a target above 0, the body as text or as base64 (not both), an avalanche test has no
/// rate (its stages are a curve of virtual users, whole numbers up to [`MAX_USERS`]).
fn cross_field_rules(schema: &mut schemars::Schema) {
    let spellings = |name: &str| {
        [
            name.to_owned(),
            name.to_ascii_uppercase(),
            format!("{}{}", name[..1].to_ascii_uppercase(), &name[1..]),
        ]
    };
    // A stage of virtual users: a whole number of them, up to MAX_USERS.
    let users = serde_json::json!({
        "properties": { "target": { "type": "integer", "maximum": MAX_USERS } }
    });
    if let Some(test_type) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("test_type"))
        .and_then(serde_json::Value::as_object_mut)
    {
        let all: Vec<String> = ["avalanche", "tsunami"]
            .iter()
            .flat_map(|t| spellings(t))
            .collect();
        test_type.insert("enum".to_owned(), serde_json::json!(all));
    }
    // Each way of giving a schedule, as "given" (a delay of 0 is none; stages: at least one).
    let given = [
        serde_json::json!({ "required": ["delay_ms"],
            "properties": { "delay_ms": { "type": "number", "exclusiveMinimum": 0 } } }),
        serde_json::json!({ "required": ["rate"], "properties": { "rate": { "type": "number" } } }),
        serde_json::json!({ "required": ["rate_total"],
            "properties": { "rate_total": { "type": "number" } } }),
        serde_json::json!({ "required": ["stages"],
            "properties": { "stages": { "type": "array", "minItems": 1 } } }),
        serde_json::json!({ "required": ["stages_total"],
            "properties": { "stages_total": { "type": "array", "minItems": 1 } } }),
    ];
    let mut rules = vec![
        serde_json::json!({
            "description": "A count (requests_per_driver, or iterations_per_driver with flows), a duration, or both (not all absent or null), or stages.",
            "not": {
                "properties": {
                    "requests_per_driver": { "type": "null" },
                    "iterations_per_driver": { "type": "null" },
                    "duration_ms": { "type": "null" },
                    "stages": { "maxItems": 0 },
                    "stages_total": { "maxItems": 0 }
                }
            }
        }),
        serde_json::json!({
            "description": "A tsunami test needs a rate, a total rate, stages, or a delay of at least the highest rate's gap (MIN_DELAY_MS).",
            "if": { "properties": { "test_type": { "enum": spellings("tsunami") } } },
            "then": {
                "anyOf": [
                    given[1], given[2], given[3], given[4],
                    { "required": ["delay_ms"],
                      "properties": { "delay_ms": { "type": "number", "minimum": MIN_DELAY_MS } } }
                ]
            }
        }),
    ];
    for (i, a) in given.iter().enumerate() {
        for b in &given[i + 1..] {
            rules.push(serde_json::json!({
                "description": "One schedule: a delay above 0, a rate, a total rate, stages or total stages, not two.",
                "not": { "allOf": [a, b] }
            }));
        }
    }
    for field in ["stages", "stages_total"] {
        rules.push(serde_json::json!({
            "description": "A rate curve has a target above 0.",
            "properties": { field: { "anyOf": [
                { "maxItems": 0 },
                { "contains": { "properties": { "target": { "exclusiveMinimum": 0 } } } }
            ] } }
        }));
    }
    rules.extend([
        serde_json::json!({
            "description": "The body as text or as base64, not both.",
            "not": {
                "required": ["body", "body_base64"],
                "properties": {
                    "body": { "type": "string" }, "body_base64": { "type": "string" }
                }
            }
        }),
        serde_json::json!({
            "description": "abort_on_fail needs at least one threshold.",
            "if": {
                "required": ["abort_on_fail"],
                "properties": { "abort_on_fail": { "const": true } }
            },
            "then": {
                "required": ["thresholds"],
                "properties": { "thresholds": { "type": "array", "minItems": 1 } }
            }
        }),
        serde_json::json!({
            "description": "An avalanche test has no rate or total rate; its stages' targets are virtual users, whole numbers up to MAX_USERS.",
            "if": { "properties": { "test_type": { "enum": spellings("avalanche") } } },
            "then": { "properties": {
                "rate": { "type": "null" },
                "rate_total": { "type": "null" },
                "stages": { "items": users },
                "stages_total": { "items": users }
            } }
        }),
    ]);
    schema.insert("allOf".to_owned(), serde_json::Value::Array(rules));
}

impl TestRequest {
    /// A request with defaults for everything but type and URL.
    pub fn new(test_type: &str, url: &str) -> Self {
        Self {
            test_type: test_type.to_owned(),
            url: url.to_owned(),
            name: None,
            flows: Vec::new(),
            data: BTreeMap::new(),
            defaults: None,
            max_names: DEFAULT_MAX_NAMES,
            iterations_per_driver: None,
            method: default_method(),
            headers: Vec::new(),
            body: None,
            body_base64: None,
            delay_ms: None,
            rate: None,
            rate_total: None,
            stages: Vec::new(),
            stages_total: Vec::new(),
            requests_per_driver: None,
            duration_ms: None,
            concurrency: DEFAULT_CONCURRENCY,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            insecure: false,
            drivers: None,
            max_start_skew_ms: DEFAULT_MAX_START_SKEW_MS,
            expect_status: None,
            max_error_ratio: 0.0,
            thresholds: Vec::new(),
            abort_on_fail: false,
            abort_grace_ms: 0,
            otlp_endpoint: None,
            start: false,
        }
    }

    /// The statuses that count as success (2xx and 3xx unless `expect_status` says).
    pub fn expected_statuses(&self) -> ExpectStatus {
        self.expect_status.clone().unwrap_or_default()
    }
}

/// The header names a test may send (an HTTP token), as a regular expression for schemas.
pub const HEADER_NAME_PATTERN: &str = "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$";
/// The header values a test may send (no control character but tab), as a regular expression
/// for schemas.
pub const HEADER_VALUE_PATTERN: &str = "^[^\\u0000-\\u0008\\u000A-\\u001F\\u007F]*$";

/// One stage of a rate curve, as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// How long the stage lasts, in ms.
    #[serde(deserialize_with = "whole::number")]
    #[schemars(range(min = 1, max = MAX_STAGE_MS))]
    pub duration_ms: u64,
    /// Requests per second at the stage's end (reached linearly from the previous stage's); in
    /// an avalanche, virtual users (a whole number).
    #[schemars(range(min = 0, max = MAX_RATE))]
    pub target: f64,
}

/// One HTTP header, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Header name.
    #[schemars(pattern(HEADER_NAME_PATTERN))]
    pub name: String,
    /// Header value.
    #[schemars(pattern(HEADER_VALUE_PATTERN))]
    pub value: String,
}

/// Whole-number fields that also accept a JSON number with a zero fraction (`2000.0`), since JSON
/// (and JSON Schema's `integer`) does not tell them apart.
pub(crate) mod whole {
    use serde::{Deserialize, Deserializer, de::Error};

    fn to_whole<T: TryFrom<u64>, E: Error>(value: f64) -> Result<T, E> {
        if value.fract() != 0.0 || !(0.0..=u64::MAX as f64).contains(&value) {
            return Err(E::custom(format!(
                "expected a whole number >= 0, got {value}"
            )));
        }
        T::try_from(value as u64).map_err(|_| E::custom(format!("{value} is out of range")))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Whole(u64),
        Float(f64),
    }

    pub(super) fn number<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
        match Number::deserialize(d)? {
            Number::Whole(n) => {
                T::try_from(n).map_err(|_| D::Error::custom(format!("{n} is out of range")))
            }
            Number::Float(f) => to_whole(f),
        }
    }

    pub(crate) fn option<'de, D: Deserializer<'de>, T: TryFrom<u64>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        match Option::<Number>::deserialize(d)? {
            None => Ok(None),
            Some(Number::Whole(n)) => T::try_from(n)
                .map(Some)
                .map_err(|_| D::Error::custom(format!("{n} is out of range"))),
            Some(Number::Float(f)) => to_whole(f).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_threshold_pattern_allows_only_what_the_parser_takes_warm_ups_up_to_a_week() {
        let pattern = regex::Regex::new(THRESHOLD_PATTERN).unwrap();
        for ok in [
            "p99 < 250ms after 30s",
            "p99<1s after 604800s",
            "p99<1s after 10080m",
            "p99<1s after 168h",
            "rps > 5 after 99999s",
            "login: p95[10s] <= 400ms",
        ] {
            assert!(pattern.is_match(ok), "{ok}");
            ok.parse::<crate::Threshold>().unwrap();
        }
        for (bad, why) in [
            ("p99<1s after 604801s", "past a week"),
            ("p99<1s after 10081m", "past a week"),
            ("p99<1s after 169h", "past a week"),
            ("p99<1s after 0s", "no warm-up"),
            ("p99<1s after 1.5s", "not whole"),
        ] {
            assert!(!pattern.is_match(bad), "{bad}");
            assert!(bad.parse::<crate::Threshold>().is_err(), "{bad}: {why}");
        }
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        let json =
            r#"{"test_type":"avalanche","url":"http://h/","duration_ms":2000.0,"concurrency":5.0}"#;
        let r: TestRequest = serde_json::from_str(json).unwrap();
        assert_eq!((r.duration_ms, r.concurrency), (Some(2000), 5));
        for bad in [
            r#""concurrency":2.5"#,
            r#""concurrency":-1"#,
            r#""concurrency":"5""#,
            r#""duration_ms":1e30"#,
        ] {
            let json = format!(r#"{{"test_type":"avalanche","url":"http://h/",{bad}}}"#);
            assert!(serde_json::from_str::<TestRequest>(&json).is_err(), "{bad}");
        }
    }
}
