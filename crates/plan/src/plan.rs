//! [`TestPlan`]: a test as typed values, made from a [`TestRequest`] by the one validation
//! (`TestPlan::try_from`), and written back as one for views, reports and the wire.

use std::num::{NonZeroU32, NonZeroU64};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use onslaught_flow::{Scenario, ScenarioSpec, StatusSet};
use serde::{Deserialize, Serialize};

use crate::request::Stage;
use crate::request::{
    Header, MAX_BODY_BYTES, MAX_BODY_CHARS, MAX_CONCURRENCY, MAX_DATA_BYTES, MAX_DELAY_MS,
    MAX_DRIVERS, MAX_DURATION_MS, MAX_FLOWS, MAX_NAME_CHARS, MAX_NAMES, MAX_RATE, MAX_REQUESTS,
    MAX_START_SKEW_MS, MAX_THRESHOLDS, MAX_TIMEOUT_MS, MIN_DELAY_MS, MIN_RATE, TestRequest,
};
use crate::stages::Stages;
use crate::{Accepted, ExpectStatus, Threshold, target};

/// A test ready to run: every field parsed and in range. Counts and rates are per driver.
///
/// Made only by `TestPlan::try_from(TestRequest)`; serialized as that [`TestRequest`] (in its
/// canonical form), and parsed back by the same conversion, so the wire and the report files
/// carry the documented JSON form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TestRequest", into = "TestRequest")]
pub struct TestPlan {
    /// The test's name, for people (reports, the dashboard); at most [`MAX_NAME_CHARS`]
    /// characters.
    pub name: Option<String>,
    /// Where requests go: http or https, a host, no user info, no fragment. With a scenario,
    /// the base URL its steps' paths are joined to (and the one origin they go to).
    pub url: url::Url,
    /// The flows virtual users run, compiled once (`None`: the test sends its one request,
    /// `method`, `url`, `headers`, `body`). Shared: every engine thread reads it.
    pub scenario: Option<Arc<Scenario>>,
    /// The method; standard ones in upper case, extension methods as written.
    pub method: Method,
    /// Extra headers, in the order given.
    pub headers: Vec<PlanHeader>,
    /// The body, if any.
    pub body: Option<Body>,
    /// How requests are released.
    pub load: Load,
    /// What ends the run on each driver.
    pub bound: Bound,
    /// Connections per driver (also the cap on requests in flight). With a users curve
    /// ([`Load::Ramping`]) its peak: one connection per virtual user.
    pub concurrency: NonZeroU32,
    /// Per-request timeout, connect included.
    pub timeout: Duration,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// How many live drivers take part (all when `None`).
    pub drivers: Option<NonZeroU32>,
    /// A driver starting later than this after the start time is named in the warnings.
    pub max_start_skew: Duration,
    /// Statuses that count as success as asked for (2xx and 3xx when `None`).
    pub expect_status: Option<ExpectStatus>,
    /// Largest share of failed requests with which the test passes, 0 to 1.
    pub max_error_ratio: f64,
    /// Pass/fail rules on the merged numbers of all drivers, in the order given.
    pub thresholds: Vec<Threshold>,
    /// Stop the test when a threshold fails, once this long after its start (the grace);
    /// `None`: failed thresholds fail the test but do not stop it.
    pub abort_on_fail: Option<Duration>,
    /// Where to push this test's per-second series as OTLP metrics (http only), besides the
    /// orchestrator's own endpoint.
    pub otlp_endpoint: Option<url::Url>,
    /// Start right after creating.
    pub start: bool,
}

/// How requests are released: the mission's two test types.
#[derive(Clone, Debug, PartialEq)]
pub enum Load {
    /// As soon as a connection is free, first come first served (closed loop).
    Avalanche,
    /// An avalanche whose virtual users follow a curve (k6's ramping-vus): users start as it
    /// rises and stop (after their request in flight) as it falls; the test lasts the curve.
    Ramping(Users),
    /// On a fixed schedule of intended send times (open loop).
    Tsunami(Schedule),
}

/// A tsunami's schedule, as the user gave it: per driver (each driver runs it whole, the
/// assignment's way and the default) or in total (the drivers split one schedule).
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// A fixed gap between sends on each driver (`delay_ms`); more than 0, at most an hour.
    Gap(Duration),
    /// Requests per second per driver (`rate`).
    Rate(Rate),
    /// Requests per second in total (`rate_total`).
    RateTotal(Rate),
    /// A rate curve per driver (`stages`).
    Stages(Stages),
    /// A rate curve in total (`stages_total`).
    StagesTotal(Stages),
}

/// A ramping avalanche's users curve, per driver (`stages`) or in total (`stages_total`: at
/// every moment driver k of n runs the users i < total with i mod n = k, so the drivers' users
/// add up to the curve exactly).
#[derive(Clone, Debug, PartialEq)]
pub enum Users {
    /// Each driver's users.
    Stages(Stages),
    /// The test's users, split across the drivers.
    StagesTotal(Stages),
}

impl Users {
    /// The users curve.
    pub fn stages(&self) -> &Stages {
        match self {
            Users::Stages(stages) | Users::StagesTotal(stages) => stages,
        }
    }

    /// Per driver or in total.
    pub fn split(&self) -> Split {
        match self {
            Users::Stages(_) => Split::PerDriver,
            Users::StagesTotal(_) => Split::Total,
        }
    }

    /// The most users at any moment (per driver or in total, as given).
    pub fn peak(&self) -> u32 {
        // Whole numbers up to MAX_USERS by construction.
        self.stages().peak() as u32
    }
}

/// Whose rate a schedule gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Each driver's: the test's total is that times the drivers.
    PerDriver,
    /// The test's: driver k of n takes every arrival i with i mod n = k.
    Total,
}

/// Requests per second: finite, from [`MIN_RATE`] (one an hour) to [`MAX_RATE`].
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Rate(f64);

impl Rate {
    /// The rate, requests per second.
    pub fn per_second(self) -> f64 {
        self.0
    }
}

impl Schedule {
    /// The gap between the schedule's intended send times, for a constant one (per driver for
    /// `Gap` and `Rate`, of the whole test for `RateTotal`).
    pub fn gap(&self) -> Option<Duration> {
        match self {
            Schedule::Gap(gap) => Some(*gap),
            // In range by construction: 100 ns to an hour.
            Schedule::Rate(rate) | Schedule::RateTotal(rate) => {
                Some(Duration::from_secs_f64(1.0 / rate.0))
            }
            Schedule::Stages(_) | Schedule::StagesTotal(_) => None,
        }
    }

    /// Sends per second of a constant schedule, as given (per driver or in total).
    pub fn per_second(&self) -> Option<f64> {
        match self {
            Schedule::Gap(gap) => Some(1.0 / gap.as_secs_f64()),
            Schedule::Rate(rate) | Schedule::RateTotal(rate) => Some(rate.0),
            Schedule::Stages(_) | Schedule::StagesTotal(_) => None,
        }
    }

    /// The rate curve, for stages.
    pub fn stages(&self) -> Option<&Stages> {
        match self {
            Schedule::Stages(stages) | Schedule::StagesTotal(stages) => Some(stages),
            _ => None,
        }
    }

    /// Per driver or in total.
    pub fn split(&self) -> Split {
        match self {
            Schedule::Gap(_) | Schedule::Rate(_) | Schedule::Stages(_) => Split::PerDriver,
            Schedule::RateTotal(_) | Schedule::StagesTotal(_) => Split::Total,
        }
    }

    /// Mean sends per second of one of `drivers` drivers (a curve's over its whole length).
    pub fn driver_rate(&self, drivers: usize) -> f64 {
        let given = match self {
            Schedule::Stages(stages) | Schedule::StagesTotal(stages) => {
                let span = stages.duration();
                stages.area(span) / span.as_secs_f64()
            }
            _ => self.per_second().unwrap_or(0.0),
        };
        match self.split() {
            Split::PerDriver => given,
            Split::Total => given / drivers.max(1) as f64,
        }
    }
}

impl Load {
    /// The schedule, for a tsunami.
    pub fn schedule(&self) -> Option<&Schedule> {
        match self {
            Load::Avalanche | Load::Ramping(_) => None,
            Load::Tsunami(schedule) => Some(schedule),
        }
    }

    /// The curve the test follows and lasts (rates or users), if it has one.
    pub fn curve(&self) -> Option<&Stages> {
        match self {
            Load::Avalanche => None,
            Load::Ramping(users) => Some(users.stages()),
            Load::Tsunami(schedule) => schedule.stages(),
        }
    }
}

/// What ends a run on a driver: a request count, a duration, or whichever comes first. With a
/// scenario the count is of flow iterations (`iterations_per_driver`), not of requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// After this many requests (with a scenario: iterations).
    Requests(NonZeroU64),
    /// After this long.
    Duration(Duration),
    /// Whichever comes first.
    Both {
        /// Requests per driver.
        requests: NonZeroU64,
        /// Time bound per driver.
        duration: Duration,
    },
}

impl Bound {
    /// The request count, if there is one.
    pub fn requests(self) -> Option<u64> {
        match self {
            Bound::Requests(n) | Bound::Both { requests: n, .. } => Some(n.get()),
            Bound::Duration(_) => None,
        }
    }

    /// The time bound, if there is one.
    pub fn duration(self) -> Option<Duration> {
        match self {
            Bound::Duration(d) | Bound::Both { duration: d, .. } => Some(d),
            Bound::Requests(_) => None,
        }
    }
}

/// A request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Given as UTF-8 text (`body`).
    Text(String),
    /// Given as base64 (`body_base64`), decoded.
    Binary(Bytes),
}

impl Body {
    /// The bytes sent.
    pub fn bytes(&self) -> Bytes {
        match self {
            Body::Text(text) => Bytes::copy_from_slice(text.as_bytes()),
            Body::Binary(bytes) => bytes.clone(),
        }
    }
}

/// One header: typed for sending, with its name as the user wrote it (shown back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanHeader {
    /// The name (lower case, as HTTP/1.1 sends it).
    pub name: HeaderName,
    /// The value, trimmed.
    pub value: HeaderValue,
    /// The name as written.
    written: String,
}

impl PlanHeader {
    /// The name as the user wrote it.
    pub fn written_name(&self) -> &str {
        &self.written
    }
}

/// A field of a request that is not acceptable, and why.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field's name as the user wrote it.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> ValidationError {
    ValidationError {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl TestPlan {
    /// The statuses that count as success.
    pub fn expected_statuses(&self) -> ExpectStatus {
        self.expect_status.clone().unwrap_or_default()
    }

    /// The statuses that count as success, per request name for a test with flows.
    pub fn accepted(&self) -> Accepted {
        Accepted::new(
            self.expected_statuses(),
            self.scenario
                .as_ref()
                .map(|s| s.accepted_by_name())
                .unwrap_or_default(),
        )
    }

    /// The test type's name, lower case (`avalanche`, `tsunami`).
    pub fn test_type(&self) -> &'static str {
        match self.load {
            Load::Avalanche | Load::Ramping(_) => "avalanche",
            Load::Tsunami(_) => "tsunami",
        }
    }
}

impl TryFrom<TestRequest> for TestPlan {
    type Error = ValidationError;

    /// The one validation of a test: checks every field and builds its typed value; the first
    /// problem found is returned, naming the field.
    fn try_from(r: TestRequest) -> Result<Self, ValidationError> {
        let tsunami = if r.test_type.eq_ignore_ascii_case("avalanche") {
            false
        } else if r.test_type.eq_ignore_ascii_case("tsunami") {
            true
        } else {
            return Err(invalid("test_type", "must be avalanche or tsunami"));
        };
        let url = target::parse_url(&r.url).map_err(|message| invalid("url", message))?;
        if r.name
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS)
        {
            return Err(invalid(
                "name",
                format!("at most {MAX_NAME_CHARS} characters"),
            ));
        }
        let scenario = scenario(&r, &url)?;
        let method = method(&r.method)?;
        let headers = r
            .headers
            .iter()
            .map(header)
            .collect::<Result<Vec<_>, _>>()?;
        if r.body
            .as_ref()
            .is_some_and(|b| b.chars().count() > MAX_BODY_CHARS)
        {
            return Err(invalid(
                "body",
                format!("must be at most {MAX_BODY_CHARS} characters"),
            ));
        }
        if r.body.is_some() && r.body_base64.is_some() {
            return Err(invalid(
                "body_base64",
                "cannot be combined with body: give the body as text or as base64, not both",
            ));
        }
        let body = match (r.body, r.body_base64) {
            (Some(text), _) => Some(Body::Text(text)),
            (None, Some(encoded)) => Some(Body::Binary(binary_body(&encoded)?)),
            (None, None) => None,
        };
        let load = load(
            tsunami,
            Given {
                delay_ms: r.delay_ms,
                rate: r.rate,
                rate_total: r.rate_total,
                stages: &r.stages,
                stages_total: &r.stages_total,
            },
        )?;
        let curve = load.curve().map(Stages::duration);
        let bound = match scenario {
            None => bound(
                "requests_per_driver",
                r.requests_per_driver,
                r.duration_ms,
                curve,
            )?,
            Some(_) => bound(
                "iterations_per_driver",
                r.iterations_per_driver,
                r.duration_ms,
                curve,
            )?,
        };
        let mut concurrency = NonZeroU32::new(r.concurrency)
            .filter(|n| n.get() <= MAX_CONCURRENCY)
            .ok_or_else(|| {
                invalid(
                    "concurrency",
                    format!("must be between 1 and {MAX_CONCURRENCY}"),
                )
            })?;
        // One connection per virtual user: a users curve's peak is the connections it needs.
        if let Load::Ramping(users) = &load
            && let Some(peak) = NonZeroU32::new(users.peak())
        {
            concurrency = peak;
        }
        if r.timeout_ms == 0 || r.timeout_ms > MAX_TIMEOUT_MS {
            return Err(invalid("timeout_ms", "must be between 1 and 3600000 ms"));
        }
        if r.max_start_skew_ms > MAX_START_SKEW_MS {
            return Err(invalid(
                "max_start_skew_ms",
                format!("must be between 0 and {MAX_START_SKEW_MS} ms"),
            ));
        }
        let drivers = match r.drivers {
            None => None,
            Some(n) => Some(
                NonZeroU32::new(n)
                    .filter(|n| n.get() <= MAX_DRIVERS)
                    .ok_or_else(|| {
                        invalid("drivers", format!("must be between 1 and {MAX_DRIVERS}"))
                    })?,
            ),
        };
        if !(r.max_error_ratio.is_finite() && (0.0..=1.0).contains(&r.max_error_ratio)) {
            return Err(invalid("max_error_ratio", "must be between 0 and 1"));
        }
        if r.thresholds.len() > MAX_THRESHOLDS {
            return Err(invalid(
                "thresholds",
                format!("at most {MAX_THRESHOLDS} thresholds"),
            ));
        }
        let thresholds = r
            .thresholds
            .iter()
            .enumerate()
            .map(|(i, t)| {
                t.parse::<Threshold>()
                    .map_err(|message| invalid(&format!("thresholds[{i}]"), message))
            })
            .collect::<Result<Vec<_>, _>>()?;
        known_names(&thresholds, scenario.as_deref())?;
        if r.abort_grace_ms > MAX_DURATION_MS {
            return Err(invalid(
                "abort_grace_ms",
                format!("must be between 0 and {MAX_DURATION_MS} ms"),
            ));
        }
        if r.abort_on_fail && thresholds.is_empty() {
            return Err(invalid(
                "abort_on_fail",
                "needs at least one threshold to fail",
            ));
        }
        let abort_on_fail = r
            .abort_on_fail
            .then(|| Duration::from_millis(r.abort_grace_ms));
        let otlp_endpoint = r
            .otlp_endpoint
            .as_deref()
            .map(|text| {
                let url =
                    target::parse_url(text).map_err(|message| invalid("otlp_endpoint", message))?;
                if url.scheme() != "http" {
                    return Err(invalid(
                        "otlp_endpoint",
                        "only http:// endpoints are supported (the export speaks no TLS)",
                    ));
                }
                Ok(url)
            })
            .transpose()?;
        Ok(TestPlan {
            name: r.name,
            url,
            scenario,
            method,
            headers,
            body,
            load,
            bound,
            concurrency,
            timeout: Duration::from_millis(r.timeout_ms),
            insecure: r.insecure,
            drivers,
            max_start_skew: Duration::from_millis(r.max_start_skew_ms),
            expect_status: r.expect_status,
            max_error_ratio: r.max_error_ratio,
            thresholds,
            abort_on_fail,
            otlp_endpoint,
            start: r.start,
        })
    }
}

/// A method: letters only, at most 32; a standard one in any case becomes its canonical
/// spelling (`get` -> `GET`), other (extension) methods are case-sensitive and stay as written.
fn method(text: &str) -> Result<Method, ValidationError> {
    let bad = || invalid("method", "must be an HTTP method such as GET or POST");
    if text.is_empty() || text.len() > 32 || !text.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let canonical = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ]
    .into_iter()
    .find(|m| m.eq_ignore_ascii_case(text))
    .unwrap_or(text);
    Method::from_bytes(canonical.as_bytes()).map_err(|_| bad())
}

/// A header: the name an HTTP token, the value (trimmed) without control characters but tab.
fn header(h: &Header) -> Result<PlanHeader, ValidationError> {
    let token = !h.name.is_empty()
        && h.name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
    let name = HeaderName::from_bytes(h.name.as_bytes())
        .ok()
        .filter(|_| token)
        .ok_or_else(|| invalid("headers", format!("invalid header name `{}`", h.name)))?;
    let value = HeaderValue::from_bytes(h.value.trim().as_bytes())
        .map_err(|_| invalid("headers", format!("invalid value for header `{}`", h.name)))?;
    Ok(PlanHeader {
        name,
        value,
        written: h.name.clone(),
    })
}

/// Standard base64 as users write it: padding optional, stray bits in the last symbol ignored.
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

fn binary_body(encoded: &str) -> Result<Bytes, ValidationError> {
    let bytes = LENIENT_BASE64
        .decode(encoded.trim())
        .map_err(|e| invalid("body_base64", format!("is not valid base64: {e}")))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(invalid(
            "body_base64",
            format!(
                "decodes to {} bytes; at most {MAX_BODY_BYTES} are accepted",
                bytes.len()
            ),
        ));
    }
    Ok(Bytes::from(bytes))
}

/// The schedule fields of a request, as written.
struct Given<'a> {
    delay_ms: Option<f64>,
    rate: Option<f64>,
    rate_total: Option<f64>,
    stages: &'a [Stage],
    stages_total: &'a [Stage],
}

/// A rate as written in `field`: finite, from [`MIN_RATE`] to [`MAX_RATE`].
pub(crate) fn rate(field: &str, rate: f64) -> Result<Rate, ValidationError> {
    if !rate.is_finite() || rate <= 0.0 || rate > MAX_RATE {
        return Err(invalid(
            field,
            format!("must be > 0 and at most {MAX_RATE}"),
        ));
    }
    if rate < MIN_RATE {
        return Err(invalid(
            field,
            format!("must be at least {MIN_RATE} (one request an hour)"),
        ));
    }
    Ok(Rate(rate))
}

/// The load model from the test type and the schedule's fields (one of them at most).
fn load(tsunami: bool, given: Given<'_>) -> Result<Load, ValidationError> {
    // A delay of 0 is no delay (the dashboard sends one with a rate); any other is a second
    // schedule that another would silently override.
    let named: Vec<&str> = [
        ("delay_ms", given.delay_ms.is_some_and(|d| d != 0.0)),
        ("rate", given.rate.is_some()),
        ("rate_total", given.rate_total.is_some()),
        ("stages", !given.stages.is_empty()),
        ("stages_total", !given.stages_total.is_empty()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    if let [first, second, ..] = named[..] {
        let what = if first == "delay_ms" {
            format!("delay_ms ({} ms)", given.delay_ms.unwrap_or_default())
        } else {
            first.to_owned()
        };
        return Err(invalid(
            second,
            format!(
                "cannot be combined with {what}: give one schedule (a delay, a rate, a total rate or stages)"
            ),
        ));
    }
    if let Some(delay) = given.delay_ms
        && (!delay.is_finite() || !(0.0..=MAX_DELAY_MS).contains(&delay))
    {
        return Err(invalid("delay_ms", "must be between 0 and 3600000 ms"));
    }
    if !tsunami {
        return match named.first().copied() {
            None | Some("delay_ms") => Ok(Load::Avalanche),
            Some("stages") => Ok(Load::Ramping(Users::Stages(Stages::users(
                "stages",
                given.stages,
            )?))),
            Some("stages_total") => Ok(Load::Ramping(Users::StagesTotal(Stages::users(
                "stages_total",
                given.stages_total,
            )?))),
            Some(field) => Err(invalid(
                field,
                "an avalanche test has no rate; use tsunami for a fixed rate, or stages for \
                 a curve of virtual users",
            )),
        };
    }
    let schedule = if let Some(r) = given.rate {
        Some(Schedule::Rate(rate("rate", r)?))
    } else if let Some(r) = given.rate_total {
        Some(Schedule::RateTotal(rate("rate_total", r)?))
    } else if !given.stages.is_empty() {
        Some(Schedule::Stages(Stages::parse("stages", given.stages)?))
    } else if !given.stages_total.is_empty() {
        Some(Schedule::StagesTotal(Stages::parse(
            "stages_total",
            given.stages_total,
        )?))
    } else {
        None
    };
    let schedule = match (schedule, given.delay_ms) {
        (Some(schedule), _) => schedule,
        (None, Some(delay)) if delay > 0.0 => {
            if delay < MIN_DELAY_MS {
                return Err(invalid(
                    "delay_ms",
                    format!(
                        "must be at least {MIN_DELAY_MS} ms (the gap of the highest rate, {MAX_RATE}/s)"
                    ),
                ));
            }
            Schedule::Gap(Duration::from_nanos((delay * 1e6).round() as u64))
        }
        (None, _) => {
            return Err(invalid(
                "delay_ms",
                "a tsunami test needs a delay > 0, a rate, a total rate or stages",
            ));
        }
    };
    Ok(Load::Tsunami(schedule))
}

/// What ends the run, from the count (`field`: `requests_per_driver`, or
/// `iterations_per_driver` with flows), `duration_ms`, and a rate curve's length (`curve`): a
/// curve ends the run when it ends, or earlier at a shorter `duration_ms`.
fn bound(
    field: &str,
    requests: Option<u64>,
    duration_ms: Option<u64>,
    curve: Option<Duration>,
) -> Result<Bound, ValidationError> {
    let requests = match requests {
        None => None,
        Some(n) => Some(
            NonZeroU64::new(n)
                .filter(|n| n.get() <= MAX_REQUESTS)
                .ok_or_else(|| invalid(field, format!("must be between 1 and {MAX_REQUESTS}")))?,
        ),
    };
    if let Some(d) = duration_ms
        && (d == 0 || d > MAX_DURATION_MS)
    {
        return Err(invalid(
            "duration_ms",
            format!("must be between 1 and {MAX_DURATION_MS}"),
        ));
    }
    let duration = match (duration_ms.map(Duration::from_millis), curve) {
        (Some(d), Some(curve)) => Some(d.min(curve)),
        (given, curve) => given.or(curve),
    };
    match (requests, duration) {
        (Some(requests), Some(duration)) => Ok(Bound::Both { requests, duration }),
        (Some(requests), None) => Ok(Bound::Requests(requests)),
        (None, Some(duration)) => Ok(Bound::Duration(duration)),
        (None, None) if field == "iterations_per_driver" => Err(invalid(
            field,
            "give an iteration count, a duration (duration_ms), or both",
        )),
        (None, None) => Err(invalid(field, "give a request count, a duration, or both")),
    }
}

/// Refuses a threshold on a request name no step of the test has (it would never measure
/// anything), naming the threshold and listing the names there are.
fn known_names(
    thresholds: &[Threshold],
    scenario: Option<&Scenario>,
) -> Result<(), ValidationError> {
    /// Names listed in the error at most.
    const LISTED: usize = 20;
    for (i, t) in thresholds.iter().enumerate() {
        let Some(name) = &t.name else { continue };
        let field = format!("thresholds[{i}]");
        let Some(scenario) = scenario else {
            return Err(invalid(
                &field,
                format!(
                    "measures the requests named `{name}`, but a test without flows has no \
                     request names (drop `{name}:` to measure all requests)"
                ),
            ));
        };
        if scenario.names.iter().any(|n| n == name) {
            continue;
        }
        let mut known: Vec<String> = scenario
            .names
            .iter()
            .take(LISTED)
            .map(|n| format!("`{n}`"))
            .collect();
        if scenario.names.len() > LISTED {
            known.push(format!("and {} more", scenario.names.len() - LISTED));
        }
        let folded = scenario
            .names
            .iter()
            .any(|n| n == onslaught_flow::OTHER)
            .then_some(format!(
                " (names beyond max_names count under `{}`)",
                onslaught_flow::OTHER
            ))
            .unwrap_or_default();
        return Err(invalid(
            &field,
            format!(
                "no step is named `{name}`; the request names are {}{folded}",
                known.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The test's flows compiled, or `None` for a test of one request; refuses what does not go
/// with flows (or needs them), naming the field or the path in the document.
fn scenario(r: &TestRequest, url: &url::Url) -> Result<Option<Arc<Scenario>>, ValidationError> {
    if r.max_names == 0 || r.max_names > MAX_NAMES {
        return Err(invalid(
            "max_names",
            format!("must be between 1 and {MAX_NAMES}"),
        ));
    }
    if r.flows.is_empty() {
        for (given, field) in [
            (r.iterations_per_driver.is_some(), "iterations_per_driver"),
            (!r.data.is_empty(), "data"),
            (r.defaults.is_some(), "defaults"),
        ] {
            if given {
                return Err(invalid(field, "needs flows"));
            }
        }
        return Ok(None);
    }
    let one_request = "is for a test without flows";
    if r.requests_per_driver.is_some() {
        return Err(invalid(
            "requests_per_driver",
            format!("{one_request}: give iterations_per_driver (each driver's flow iterations)"),
        ));
    }
    if !r.method.eq_ignore_ascii_case("GET") {
        return Err(invalid(
            "method",
            format!("{one_request}: each step's request has its method"),
        ));
    }
    if !r.headers.is_empty() {
        return Err(invalid(
            "headers",
            format!("{one_request}: use defaults.headers or a step's headers"),
        ));
    }
    for (given, field) in [
        (r.body.is_some(), "body"),
        (r.body_base64.is_some(), "body_base64"),
    ] {
        if given {
            return Err(invalid(
                field,
                format!("{one_request}: each step's request has its body"),
            ));
        }
    }
    if r.flows.len() > MAX_FLOWS {
        return Err(invalid("flows", format!("at most {MAX_FLOWS} flows")));
    }
    let data_bytes = serde_json::to_vec(&r.data).map_or(usize::MAX, |v| v.len());
    if data_bytes > MAX_DATA_BYTES {
        return Err(invalid(
            "data",
            format!(
                "is {data_bytes} bytes as JSON; at most {MAX_DATA_BYTES} travel with a test \
                 (the test config must fit in one message)"
            ),
        ));
    }
    let expected = r.expected_statuses();
    let spec = ScenarioSpec {
        flows: r.flows.clone(),
        data: r.data.clone(),
        defaults: r.defaults.clone(),
        max_names: r.max_names,
    };
    Scenario::compile(spec, url, &StatusSet::from_fn(|s| expected.accepts(s)))
        .map(|s| Some(Arc::new(s)))
        .map_err(|e| invalid(&e.path, e.message))
}

fn whole_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl From<&TestPlan> for TestRequest {
    /// The plan in its documented JSON form, canonical: the URL as parsed, standard methods in
    /// upper case, a binary body in padded base64, a delay only for a tsunami given one.
    fn from(plan: &TestPlan) -> Self {
        let schedule = plan.load.schedule();
        let (delay_ms, rate, rate_total) = match schedule {
            Some(Schedule::Gap(gap)) => (Some(gap.as_nanos() as f64 / 1e6), None, None),
            Some(Schedule::Rate(rate)) => (None, Some(rate.0), None),
            Some(Schedule::RateTotal(rate)) => (None, None, Some(rate.0)),
            _ => (None, None, None),
        };
        let (stages, stages_total) = match (&plan.load, schedule) {
            (_, Some(Schedule::Stages(stages))) | (Load::Ramping(Users::Stages(stages)), _) => {
                (stages.written(), Vec::new())
            }
            (_, Some(Schedule::StagesTotal(stages)))
            | (Load::Ramping(Users::StagesTotal(stages)), _) => (Vec::new(), stages.written()),
            _ => (Vec::new(), Vec::new()),
        };
        // A curve's length is the run's unless a shorter duration was given.
        let curve = plan.load.curve().map(Stages::duration);
        let duration_ms = plan
            .bound
            .duration()
            .filter(|d| curve.is_none_or(|curve| *d < curve))
            .map(whole_ms);
        let (body, body_base64) = match &plan.body {
            None => (None, None),
            Some(Body::Text(text)) => (Some(text.clone()), None),
            Some(Body::Binary(bytes)) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            ),
        };
        let scenario = plan.scenario.as_ref().map(|s| s.spec().clone());
        let counts_iterations = scenario.is_some();
        let scenario = scenario.unwrap_or(ScenarioSpec {
            max_names: crate::request::DEFAULT_MAX_NAMES,
            ..ScenarioSpec::default()
        });
        TestRequest {
            test_type: plan.test_type().to_owned(),
            url: plan.url.to_string(),
            name: plan.name.clone(),
            flows: scenario.flows,
            data: scenario.data,
            defaults: scenario.defaults,
            max_names: scenario.max_names,
            iterations_per_driver: plan.bound.requests().filter(|_| counts_iterations),
            method: plan.method.as_str().to_owned(),
            headers: plan
                .headers
                .iter()
                .map(|h| Header {
                    name: h.written.clone(),
                    // Made from a `String`, so the bytes are UTF-8.
                    value: String::from_utf8_lossy(h.value.as_bytes()).into_owned(),
                })
                .collect(),
            body,
            body_base64,
            delay_ms,
            rate,
            rate_total,
            stages,
            stages_total,
            requests_per_driver: plan.bound.requests().filter(|_| !counts_iterations),
            duration_ms,
            concurrency: plan.concurrency.get(),
            timeout_ms: whole_ms(plan.timeout),
            insecure: plan.insecure,
            drivers: plan.drivers.map(NonZeroU32::get),
            max_start_skew_ms: whole_ms(plan.max_start_skew),
            expect_status: plan.expect_status.clone(),
            max_error_ratio: plan.max_error_ratio,
            thresholds: plan
                .thresholds
                .iter()
                .map(|t| t.expression().to_owned())
                .collect(),
            abort_on_fail: plan.abort_on_fail.is_some(),
            abort_grace_ms: plan.abort_on_fail.map_or(0, whole_ms),
            otlp_endpoint: plan.otlp_endpoint.as_ref().map(|u| u.as_str().to_owned()),
            start: plan.start,
        }
    }
}

impl From<TestPlan> for TestRequest {
    fn from(plan: TestPlan) -> Self {
        TestRequest::from(&plan)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ok() -> TestRequest {
        let mut r = TestRequest::new("tsunami", "http://127.0.0.1:8080/ping");
        r.delay_ms = Some(10.0);
        r.requests_per_driver = Some(100);
        r
    }

    fn plan(r: TestRequest) -> TestPlan {
        TestPlan::try_from(r).unwrap()
    }

    #[test]
    fn a_valid_request_becomes_typed_values() {
        let p = plan(ok());
        assert_eq!(
            p.load,
            Load::Tsunami(Schedule::Gap(Duration::from_millis(10)))
        );
        assert_eq!(p.bound.requests(), Some(100));
        assert_eq!(p.bound.duration(), None);
        assert_eq!(p.method, Method::GET);
        assert_eq!(p.url.as_str(), "http://127.0.0.1:8080/ping");
        assert_eq!(p.timeout, Duration::from_millis(30_000));
        let mut by_rate = ok();
        by_rate.delay_ms = Some(0.0);
        by_rate.rate = Some(4.0);
        let p = plan(by_rate);
        let s = p.load.schedule().unwrap();
        assert_eq!(
            (s.gap(), s.per_second(), s.split()),
            (
                Some(Duration::from_millis(250)),
                Some(4.0),
                Split::PerDriver
            )
        );
    }

    #[test]
    fn known_methods_are_normalized_and_binary_bodies_carried() {
        let mut r = ok();
        r.method = "get".into();
        assert_eq!(plan(r).method, Method::GET);
        let mut custom = ok();
        custom.method = "purge".into();
        assert_eq!(plan(custom).method.as_str(), "purge");
        let mut binary = ok();
        binary.body_base64 = Some("/wCAfw==".into());
        let p = plan(binary.clone());
        assert_eq!(
            p.body.as_ref().unwrap().bytes().as_ref(),
            [0xff, 0, 0x80, 0x7f]
        );
        let back = TestRequest::from(&p);
        assert_eq!(back.body_base64.as_deref(), Some("/wCAfw=="));
        assert_eq!(back.body, None);
        // Stray bits and missing padding are forgiven; the written form is canonical.
        binary.body_base64 = Some("lPTPn9m9kILTyb==".into());
        plan(binary.clone());
        binary.body_base64 = Some("/wCAfw".into());
        let back = TestRequest::from(&plan(binary));
        assert_eq!(back.body_base64.as_deref(), Some("/wCAfw=="));
    }

    #[test]
    fn idn_hosts_become_punycode() {
        let mut r = TestRequest::new("avalanche", "http://bücher.example/p");
        r.duration_ms = Some(1000);
        assert_eq!(plan(r).url.as_str(), "http://xn--bcher-kva.example/p");
    }

    #[test]
    fn a_plan_round_trips_through_its_request_form() {
        let mut full = ok();
        full.test_type = "TSUNAMI".into();
        full.url = "HTTP://Example.com:8080/a?b=1".into();
        full.method = "post".into();
        full.headers = vec![
            Header {
                name: "X-Mixed-Case".into(),
                value: " v ".into(),
            },
            Header {
                name: "x-b".into(),
                value: "é".into(),
            },
        ];
        full.body_base64 = Some("/wCAfw".into());
        full.delay_ms = Some(0.1);
        full.duration_ms = Some(5000);
        full.drivers = Some(3);
        full.expect_status = Some(ExpectStatus::parse("2XX, 404").unwrap());
        full.max_error_ratio = 0.25;
        full.insecure = true;
        full.thresholds = vec!["p99 < 250ms".into(), "error_rate<1%".into()];
        full.abort_on_fail = true;
        full.abort_grace_ms = 1500;
        full.start = true;
        full.name = Some("checkout, night run".into());
        let mut by_rate = ok();
        by_rate.delay_ms = None;
        by_rate.rate = Some(1000.0 / 7.0);
        let mut text = TestRequest::new("avalanche", "http://[::1]:1/");
        text.duration_ms = Some(1);
        text.body = Some("hi".into());
        let mut total = ok();
        total.delay_ms = None;
        total.rate_total = Some(2000.0);
        let mut curve = ok();
        curve.delay_ms = Some(0.0);
        curve.requests_per_driver = None;
        curve.stages = vec![stage(30_000, 100.0), stage(1_000, 0.0)];
        let mut cut = curve.clone();
        cut.stages_total = std::mem::take(&mut cut.stages);
        cut.duration_ms = Some(10_000);
        for request in [ok(), full, by_rate, text, total, curve, cut] {
            let first = plan(request);
            let written = TestRequest::from(&first);
            let again = plan(written.clone());
            assert_eq!(again, first);
            assert_eq!(TestRequest::from(&again), written);
            // Serde goes through the same request form and the same conversion.
            let json = serde_json::to_string(&first).unwrap();
            assert_eq!(serde_json::from_str::<TestPlan>(&json).unwrap(), first);
        }
        let written = TestRequest::from(&plan({
            let mut r = ok();
            r.headers = vec![Header {
                name: "X-B".into(),
                value: "two".into(),
            }];
            r
        }));
        assert_eq!(written.headers[0].name, "X-B");
        assert_eq!(written.delay_ms, Some(10.0));
        let bad = serde_json::json!({"test_type": "avalanche", "url": "ftp://x"});
        let err = serde_json::from_value::<TestPlan>(bad).unwrap_err();
        assert!(err.to_string().contains("url"), "{err}");
    }

    fn stage(duration_ms: u64, target: f64) -> Stage {
        Stage {
            duration_ms,
            target,
        }
    }

    #[test]
    fn stages_and_totals_become_schedules_and_bounds() {
        let mut r = ok();
        r.delay_ms = None;
        r.requests_per_driver = None;
        r.stages_total = vec![stage(15_000, 2000.0), stage(15_000, 0.0)];
        let p = plan(r.clone());
        let s = p.load.schedule().unwrap();
        assert_eq!(s.split(), Split::Total);
        assert_eq!((s.gap(), s.per_second()), (None, None));
        // 30,000 requests over 30 s in total: 1,000/s, a third of it per driver of three.
        assert_eq!(s.driver_rate(3), 1000.0 / 3.0);
        assert_eq!(p.bound, Bound::Duration(Duration::from_secs(30)));
        // The curve's length when no duration is given or a longer one; a shorter one cuts it.
        r.duration_ms = Some(60_000);
        assert_eq!(
            plan(r.clone()).bound.duration(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(TestRequest::from(&plan(r.clone())).duration_ms, None);
        r.duration_ms = Some(20_000);
        assert_eq!(
            plan(r.clone()).bound.duration(),
            Some(Duration::from_secs(20))
        );
        let mut total = ok();
        total.delay_ms = None;
        total.rate_total = Some(300.0);
        let p = plan(total);
        let s = p.load.schedule().unwrap();
        assert_eq!(s.split(), Split::Total);
        assert_eq!(s.driver_rate(3), 100.0);
        assert_eq!(s.gap(), Some(Duration::from_secs_f64(1.0 / 300.0)));
    }

    #[test]
    fn each_bad_field_is_named() {
        type Change = Box<dyn Fn(&mut TestRequest)>;
        let cases: Vec<(&str, Change)> = vec![
            ("test_type", Box::new(|r| r.test_type = "blizzard".into())),
            ("url", Box::new(|r| r.url = "ftp://x".into())),
            (
                "thresholds[1]",
                Box::new(|r| r.thresholds = vec!["p99<1s".into(), "p99 fast".into()]),
            ),
            ("abort_on_fail", Box::new(|r| r.abort_on_fail = true)),
            ("url", Box::new(|r| r.url = "http://".into())),
            ("url", Box::new(|r| r.url = "http://a b/".into())),
            ("url", Box::new(|r| r.url = "http://host:65536/".into())),
            ("url", Box::new(|r| r.url = "http://:80/".into())),
            ("url", Box::new(|r| r.url = "http://h/ü".into())),
            ("method", Box::new(|r| r.method = "GE T".into())),
            ("method", Box::new(|r| r.method = String::new())),
            (
                "headers",
                Box::new(|r| {
                    r.headers = vec![Header {
                        name: "a b".into(),
                        value: "v".into(),
                    }]
                }),
            ),
            (
                "headers",
                Box::new(|r| {
                    r.headers = vec![Header {
                        name: "a".into(),
                        value: "v\r\nx".into(),
                    }]
                }),
            ),
            (
                "headers",
                Box::new(|r| {
                    r.headers = vec![Header {
                        name: "a".into(),
                        value: "v\u{1}".into(),
                    }]
                }),
            ),
            (
                "body",
                Box::new(|r| r.body = Some("x".repeat(MAX_BODY_CHARS + 1))),
            ),
            (
                "body_base64",
                Box::new(|r| r.body_base64 = Some("not base64!".into())),
            ),
            ("delay_ms", Box::new(|r| r.delay_ms = Some(-1.0))),
            ("delay_ms", Box::new(|r| r.delay_ms = Some(0.0))),
            ("delay_ms", Box::new(|r| r.delay_ms = Some(1e-9))),
            ("delay_ms", Box::new(|r| r.delay_ms = Some(5e-5))),
            ("delay_ms", Box::new(|r| r.delay_ms = Some(f64::NAN))),
            (
                "rate",
                Box::new(|r| {
                    r.delay_ms = None;
                    r.rate = Some(0.0)
                }),
            ),
            (
                "rate",
                Box::new(|r| {
                    r.delay_ms = None;
                    r.rate = Some(1e-9)
                }),
            ),
            (
                "requests_per_driver",
                Box::new(|r| r.requests_per_driver = Some(0)),
            ),
            (
                "requests_per_driver",
                Box::new(|r| r.requests_per_driver = None),
            ),
            ("duration_ms", Box::new(|r| r.duration_ms = Some(0))),
            ("concurrency", Box::new(|r| r.concurrency = 0)),
            (
                "concurrency",
                Box::new(|r| r.concurrency = MAX_CONCURRENCY + 1),
            ),
            ("timeout_ms", Box::new(|r| r.timeout_ms = 0)),
            (
                "max_start_skew_ms",
                Box::new(|r| r.max_start_skew_ms = MAX_START_SKEW_MS + 1),
            ),
            ("drivers", Box::new(|r| r.drivers = Some(0))),
            ("rate_total", Box::new(|r| r.rate_total = Some(5.0))),
            (
                "rate_total",
                Box::new(|r| {
                    r.delay_ms = None;
                    r.rate_total = Some(0.0)
                }),
            ),
            (
                "stages",
                Box::new(|r| {
                    r.delay_ms = None;
                    r.rate_total = Some(5.0);
                    r.stages = vec![stage(1_000, 5.0)];
                }),
            ),
            (
                "stages_total",
                Box::new(|r| {
                    r.delay_ms = None;
                    r.stages_total = vec![stage(1_000, 0.0)];
                }),
            ),
            (
                "stages[1].target",
                Box::new(|r| {
                    r.test_type = "avalanche".into();
                    r.delay_ms = None;
                    r.stages = vec![stage(1_000, 5.0), stage(1_000, 2.5)];
                }),
            ),
            ("max_error_ratio", Box::new(|r| r.max_error_ratio = 1.5)),
        ];
        for (field, change) in cases {
            let mut r = ok();
            change(&mut r);
            let err = TestPlan::try_from(r).unwrap_err();
            assert_eq!(err.field, field, "{err}");
        }
        let mut both = ok();
        both.rate = Some(5.0);
        let err = TestPlan::try_from(both).unwrap_err();
        assert_eq!(err.field, "rate");
        assert!(err.message.contains("delay_ms"), "{err}");
        let mut bodies = ok();
        bodies.body = Some("x".into());
        bodies.body_base64 = Some("eA==".into());
        assert_eq!(TestPlan::try_from(bodies).unwrap_err().field, "body_base64");
        let mut avalanche = ok();
        avalanche.test_type = "AVALANCHE".into();
        avalanche.delay_ms = None;
        avalanche.rate = Some(10.0);
        assert_eq!(TestPlan::try_from(avalanche).unwrap_err().field, "rate");
    }

    #[test]
    fn an_avalanche_with_stages_ramps_users_and_lasts_the_curve() {
        let mut r = TestRequest::new("avalanche", "http://127.0.0.1:8080/ping");
        r.stages = vec![stage(30_000, 50.0), stage(60_000, 50.0), stage(10_000, 0.0)];
        let p = plan(r.clone());
        let Load::Ramping(users) = &p.load else {
            panic!("{:?}", p.load)
        };
        assert_eq!((users.split(), users.peak()), (Split::PerDriver, 50));
        assert_eq!(p.test_type(), "avalanche");
        assert_eq!(p.bound, Bound::Duration(Duration::from_secs(100)));
        // One connection per user, whatever concurrency said.
        assert_eq!(p.concurrency.get(), 50);
        assert!(p.load.schedule().is_none());
        // Written back and read again: the same plan.
        let back = TestRequest::from(&p);
        assert_eq!(back.stages, r.stages);
        assert_eq!(back.duration_ms, None);
        assert_eq!(plan(back), p);
        // In total, with a shorter duration.
        let mut total = TestRequest::new("avalanche", "http://127.0.0.1:8080/ping");
        total.stages_total = vec![stage(1_000, 7.0)];
        total.duration_ms = Some(500);
        let p = plan(total);
        assert!(matches!(&p.load, Load::Ramping(u) if u.split() == Split::Total));
        assert_eq!(p.bound, Bound::Duration(Duration::from_millis(500)));
        assert_eq!(plan(TestRequest::from(&p)), p);
        // A rate stays refused, saying what an avalanche takes.
        let mut rate = TestRequest::new("avalanche", "http://127.0.0.1:8080/ping");
        rate.rate = Some(3.0);
        let err = TestPlan::try_from(rate).unwrap_err();
        assert_eq!(err.field, "rate");
        assert!(err.message.contains("stages"), "{err}");
    }

    fn with_flows() -> TestRequest {
        let mut r: TestRequest = serde_json::from_value(serde_json::json!({
            "test_type": "avalanche",
            "base_url": "http://127.0.0.1:8000",
            "iterations_per_driver": 30,
            "data": {"accounts": {"rows": [{"user": "u1", "password": "p"}], "order": "shard"}},
            "flows": [{"name": "buy", "steps": [
                {"request": {"method": "POST", "url": "/login",
                             "json": {"user": "{{ accounts.user }}"}},
                 "extract": {"token": {"json": "$.token"}}},
                {"request": {"url": "/items/1", "headers": {"Authorization": "Bearer {{ token }}"}}}
            ]}]
        }))
        .unwrap();
        r.concurrency = 3;
        r
    }

    #[test]
    fn flows_compile_into_the_plan_and_round_trip() {
        let p = plan(with_flows());
        let scenario = p.scenario.as_ref().unwrap();
        assert_eq!(scenario.names, ["POST /login", "GET /items/1"]);
        assert_eq!(p.bound, Bound::Requests(NonZeroU64::new(30).unwrap()));
        let back = TestRequest::from(&p);
        assert_eq!(
            (back.iterations_per_driver, back.requests_per_driver),
            (Some(30), None)
        );
        assert_eq!(back.flows, with_flows().flows);
        assert_eq!(plan(back.clone()), p);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<TestPlan>(&json).unwrap(), p);
    }

    #[test]
    fn flows_refuse_what_belongs_to_one_request_and_name_paths() {
        type Change = Box<dyn Fn(&mut TestRequest)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "requests_per_driver",
                Box::new(|r| r.requests_per_driver = Some(5)),
            ),
            ("method", Box::new(|r| r.method = "POST".into())),
            ("body", Box::new(|r| r.body = Some("x".into()))),
            (
                "headers",
                Box::new(|r| {
                    r.headers = vec![Header {
                        name: "a".into(),
                        value: "b".into(),
                    }]
                }),
            ),
            (
                "iterations_per_driver",
                Box::new(|r| r.iterations_per_driver = None),
            ),
            ("max_names", Box::new(|r| r.max_names = 0)),
            (
                "flows[0].steps[0].extract.token.json",
                Box::new(|r| {
                    r.flows[0].steps[0].extract.get_mut("token").unwrap().json = Some("$[".into())
                }),
            ),
            (
                "flows[0].steps[1].request.url",
                Box::new(|r| {
                    r.flows[0].steps[1].request.as_mut().unwrap().url = "http://10.0.0.1/x".into()
                }),
            ),
            (
                "data",
                Box::new(|r| {
                    let rows = &mut r.data.get_mut("accounts").unwrap().rows;
                    let big = "x".repeat(1000);
                    for i in 0..600 {
                        rows.push([("user".to_owned(), format!("{i}{big}"))].into());
                    }
                }),
            ),
        ];
        for (field, change) in cases {
            let mut r = with_flows();
            change(&mut r);
            assert_eq!(TestPlan::try_from(r).unwrap_err().field, field);
        }
        // What needs flows is refused without them.
        let mut r = ok();
        r.iterations_per_driver = Some(3);
        assert_eq!(
            TestPlan::try_from(r).unwrap_err().field,
            "iterations_per_driver"
        );
        let mut r = ok();
        r.data = with_flows().data;
        assert_eq!(TestPlan::try_from(r).unwrap_err().field, "data");
    }

    #[test]
    fn a_threshold_on_a_name_no_step_has_is_refused_listing_the_names() {
        let mut r = with_flows();
        r.thresholds = vec![
            "POST /login: p95 < 1s".into(),
            "GET /items/2: error_rate < 1%".into(),
        ];
        let e = TestPlan::try_from(r.clone()).unwrap_err();
        assert_eq!(e.field, "thresholds[1]");
        assert!(e.message.contains("`GET /items/2`"), "{e}");
        assert!(e.message.contains("`POST /login`, `GET /items/1`"), "{e}");
        r.thresholds.pop();
        let p = plan(r);
        assert_eq!(p.thresholds[0].name.as_deref(), Some("POST /login"));
        // Without flows, no request has a name.
        let mut r = ok();
        r.thresholds = vec!["p99 < 1s".into(), "login: p95 < 1s".into()];
        let e = TestPlan::try_from(r).unwrap_err();
        assert_eq!(e.field, "thresholds[1]");
        assert!(e.message.contains("without flows"), "{e}");
    }

    #[test]
    fn each_request_name_accepts_its_steps_statuses() {
        let mut r = with_flows();
        r.expect_status = Some(ExpectStatus::parse("200").unwrap());
        r.flows[0].steps[1].check =
            Some(serde_json::from_value(serde_json::json!({"status": [200, 404]})).unwrap());
        let accepted = plan(r).accepted();
        assert!(accepted.varies_by_name());
        assert!(accepted.accepts(Some("GET /items/1"), 404));
        assert!(!accepted.accepts(Some("POST /login"), 404));
        assert!(!accepted.accepts(Some("POST /login"), 201));
        assert!(!accepted.accepts(None, 404));
        assert!(!accepted.accepts(Some("unknown"), 404));
        assert!(!plan(with_flows()).accepted().varies_by_name());
        assert!(!plan(ok()).accepted().varies_by_name());
    }
}
