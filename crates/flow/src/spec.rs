//! The forms users write: flows, steps, requests, extraction, checks, datasets, defaults.
//!
//! These are part of the test request (`flows`, `data`, `defaults`), in JSON or YAML. Strings
//! documented as templates may hold `{{ ... }}` expressions (variables extracted earlier by the
//! same virtual user, the current row of a dataset as `accounts.user`, and functions such as
//! `random_int(1, 1000)`); everything else is taken as written.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One flow: what a virtual user does in one iteration, picked by weight among the test's flows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// The flow's name (per-flow statistics, default step names); unique within the test.
    pub name: String,
    /// Relative weight among the flows (a flow of weight 3 runs three times as often as one of
    /// weight 1).
    #[serde(default = "default_weight")]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub weight: u32,
    /// The steps, run in order.
    #[schemars(length(min = 1))]
    pub steps: Vec<StepSpec>,
}

fn default_weight() -> u32 {
    1
}

/// One step of a flow: a request (with what to extract and check), or a pause.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// The request's name in per-request statistics; defaults to `METHOD path` as written
    /// (templates unrendered), so requests of one step share one name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The request to send; a step has a request or a think time, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestSpec>,
    /// A pause: a fixed duration (`100ms`) or a uniform range (`50ms..200ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<String>,
    /// Variables to take from the response, by variable name; visible to later steps of the
    /// same virtual user (and its later iterations).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extract: BTreeMap<String, ExtractSpec>,
    /// What a response must satisfy to count as a success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckSpec>,
    /// What a failed request, check or extraction does to the iteration: `continue` (default)
    /// goes on with the next step, `stop` ends the iteration (the next one starts as usual).
    #[serde(default, skip_serializing_if = "is_default")]
    pub on_failure: OnFailure,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// What a failed step does to its iteration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Go on with the next step.
    #[default]
    Continue,
    /// End the iteration here.
    Stop,
}

/// A request of a step. The URL is a template, relative to the test's `base_url` or absolute
/// on the same origin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// HTTP method.
    #[serde(default = "default_method")]
    #[schemars(pattern("^[A-Za-z]{1,32}$"))]
    pub method: String,
    /// Template: a path (`/items/{{ random_int(1, 1000) }}`) joined to `base_url`, or an
    /// absolute URL on the same origin.
    pub url: String,
    /// Headers, by name; values are templates. Added to (and overriding) the defaults'.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Body text, a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A JSON body (sent with `Content-Type: application/json` unless a header says otherwise);
    /// every string in it is a template. Not with `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
}

fn default_method() -> String {
    "GET".to_owned()
}

/// Where an extracted variable comes from: exactly one of the fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractSpec {
    /// A JSONPath (RFC 9535) into the JSON body (`$.token`); its first match, strings as they
    /// are, other values as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// A regular expression over the body; its first capture group (the whole match without
    /// one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// A response header's value, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// `true`: the response status, as digits.
    #[serde(default, skip_serializing_if = "is_default")]
    pub status: bool,
}

/// What a response must satisfy. Given, `status` replaces the test's expected statuses for
/// this step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Accepted statuses: one (`200`) or a list (`[200, 404]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusList>,
    /// Text the body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// Longest latency that passes (`500ms`), from the step's intended time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_latency: Option<String>,
}

/// One status or a list of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusList {
    /// A single status.
    One(#[schemars(range(min = 100, max = 999))] u16),
    /// Several statuses.
    Many(#[schemars(length(min = 1), inner(range(min = 100, max = 999)))] Vec<u16>),
}

impl StatusList {
    /// The statuses, in the order given.
    pub fn statuses(&self) -> &[u16] {
        match self {
            StatusList::One(status) => std::slice::from_ref(status),
            StatusList::Many(statuses) => statuses,
        }
    }
}

/// A dataset: rows of named text values that templates read as `NAME.column`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// A CSV file with a header line, read by the CLI (relative to the plan file) and sent as
    /// `rows`; the API takes `rows` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
    /// The rows, each a map of column to value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<BTreeMap<String, String>>,
    /// How virtual users take rows.
    #[serde(default, skip_serializing_if = "is_default")]
    pub order: DataOrder,
}

/// How virtual users take a dataset's rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataOrder {
    /// Each iteration takes the driver's next row, starting over after the last.
    #[default]
    Sequential,
    /// Each iteration takes a row at random.
    Random,
    /// The rows are split across the test's drivers (driver k of n takes the rows i with
    /// i mod n = k) and each is taken by one iteration only: no row is used twice across the
    /// cluster. A virtual user that finds its driver's share used up stops.
    Shard,
}

/// Settings every request step starts from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultsSpec {
    /// Headers of every request, by name (values are templates); a step's own override them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}
