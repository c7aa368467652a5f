//! A test as users ask for it (API body, CLI flags), and its validation.

use base64::Engine as _;
use onslaught_protocol::{Header, RequestSpec, TestConfig, TestType};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::expect::ExpectStatus;

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
    /// percent-encoded.
    #[schemars(pattern(URL_PATTERN))]
    pub url: String,
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
    /// Tsunami: requests per second per driver (instead of a delay).
    #[serde(default)]
    #[schemars(range(max = MAX_RATE), extend("exclusiveMinimum" = 0))]
    pub rate: Option<f64>,
    /// Requests each driver sends. Give this, `duration_ms`, or both.
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
    /// Start right after creating.
    #[serde(default)]
    pub start: bool,
}

fn default_method() -> String {
    "GET".to_owned()
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
/// Longest tsunami delay accepted, ms.
pub const MAX_DELAY_MS: f64 = 3_600_000.0;
/// Longest per-request timeout accepted, ms.
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;

/// For the schema, what [`TestRequest::validate`] enforces beyond each field's type and range:
/// the spellings of `test_type` listed, a request count or a duration, a tsunami test needs a
/// delay > 0 or a rate, a rate or a delay above 0 (not both), the body as text or as base64
/// (not both), an avalanche test has no rate.
fn cross_field_rules(schema: &mut schemars::Schema) {
    let spellings = |name: &str| {
        [
            name.to_owned(),
            name.to_ascii_uppercase(),
            format!("{}{}", name[..1].to_ascii_uppercase(), &name[1..]),
        ]
    };
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
    schema.insert(
        "allOf".to_owned(),
        serde_json::json!([
            {
                "description": "A request count, a duration, or both (not both absent or null).",
                "not": {
                    "properties": {
                        "requests_per_driver": { "type": "null" },
                        "duration_ms": { "type": "null" }
                    }
                }
            },
            {
                "description": "A tsunami test needs a delay > 0 or a rate.",
                "if": { "properties": { "test_type": { "enum": spellings("tsunami") } } },
                "then": {
                    "anyOf": [
                        { "required": ["rate"], "properties": { "rate": { "type": "number" } } },
                        { "required": ["delay_ms"],
                          "properties": { "delay_ms": { "type": "number", "exclusiveMinimum": 0 } } }
                    ]
                }
            },
            {
                "description": "A rate or a delay above 0, not both.",
                "not": {
                    "required": ["rate", "delay_ms"],
                    "properties": {
                        "rate": { "type": "number" },
                        "delay_ms": { "type": "number", "exclusiveMinimum": 0 }
                    }
                }
            },
            {
                "description": "The body as text or as base64, not both.",
                "not": {
                    "required": ["body", "body_base64"],
                    "properties": {
                        "body": { "type": "string" }, "body_base64": { "type": "string" }
                    }
                }
            },
            {
                "description": "An avalanche test has no rate.",
                "if": { "properties": { "test_type": { "enum": spellings("avalanche") } } },
                "then": { "properties": { "rate": { "type": "null" } } }
            }
        ]),
    );
}

/// The URLs the OpenAPI document shows, as a regular expression: a subset of what [`parse_url`]
/// accepts (which also takes IDN hosts and every IPv6 form). Scheme `http` or `https` (any
/// case); a host name whose last label starts with a letter, a dotted IPv4 address, or an IPv6
/// address in brackets (`[::1]` or eight groups); an optional port 1 to 65535; then an optional
/// path and query of URL characters.
pub const URL_PATTERN: &str = concat!(
    "^[Hh][Tt][Tt][Pp]([Ss])?://",
    "(([A-Za-z0-9-]+[.])*[A-Za-z][A-Za-z0-9-]*",
    "|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
    "|\\[::1\\]|\\[[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4}){7}\\])",
    "(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    "([/?][A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$"
);

/// Characters a path and query may hold as written: URL characters and percent escapes.
const PATH_CHARS: &[u8] = b"._~!$&'()*+,;=:@%/?-";

/// Parses a target URL with the `url` crate (WHATWG rules: IPv6 literals in brackets, IDN
/// hosts turned to punycode) and refuses what a load test cannot use, saying what is wrong:
/// another scheme, user info, a fragment, port 0, an empty or zero-padded port, characters that
/// need percent-encoding in the path or query.
pub fn parse_url(text: &str) -> Result<url::Url, String> {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err("must be an absolute URL starting with http:// or https://".to_owned());
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(format!(
            "scheme `{scheme}` is not supported: use http:// or https://"
        ));
    }
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    if authority.is_empty() {
        return Err("has no host".to_owned());
    }
    if authority.contains('@') {
        return Err(
            "must not contain user info (user:password@): send credentials in a header such \
             as Authorization"
                .to_owned(),
        );
    }
    if tail.contains('#') {
        return Err("must not contain a fragment (#...): it is never sent to a server".to_owned());
    }
    if let Some(bad) = tail.chars().find(|c| {
        !(c.is_ascii() && (c.is_ascii_alphanumeric() || PATH_CHARS.contains(&(*c as u8))))
    }) {
        return Err(format!(
            "the path and query must be percent-encoded: {bad:?} is not allowed as written"
        ));
    }
    // The port as written: after the closing bracket of an IPv6 literal, else after the last `:`.
    let after_host = match authority.rfind(']') {
        Some(end) => &authority[end + 1..],
        None => authority.rfind(':').map_or("", |i| &authority[i..]),
    };
    if let Some(port) = after_host.strip_prefix(':') {
        if port.is_empty() {
            return Err("has an empty port after `:`".to_owned());
        }
        if port.len() > 1 && port.starts_with('0') {
            return Err(format!("port `{port}` must not start with 0"));
        }
    }
    let url = url::Url::parse(text).map_err(|e| match e {
        url::ParseError::EmptyHost => "has no host".to_owned(),
        url::ParseError::InvalidPort => "has an invalid port: give 1 to 65535".to_owned(),
        url::ParseError::InvalidIpv6Address => {
            "has an invalid IPv6 address: write it in brackets, like http://[::1]:8080/".to_owned()
        }
        url::ParseError::InvalidIpv4Address => "has an invalid IPv4 address".to_owned(),
        url::ParseError::InvalidDomainCharacter | url::ParseError::IdnaError => {
            "has an invalid host name".to_owned()
        }
        other => format!("is not a valid URL: {other}"),
    })?;
    if url.host().is_none() {
        return Err("has no host".to_owned());
    }
    if url.port() == Some(0) {
        return Err("port 0 cannot be connected to: give 1 to 65535".to_owned());
    }
    Ok(url)
}

/// Whether [`parse_url`] accepts `url`.
pub fn valid_url(url: &str) -> bool {
    parse_url(url).is_ok()
}

/// The canonical spelling of a standard HTTP method in any case (`get` -> `GET`); other
/// (extension) methods are case-sensitive and stay as written.
fn canonical_method(method: &str) -> Option<&'static str> {
    [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ]
    .into_iter()
    .find(|m| m.eq_ignore_ascii_case(method))
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

fn invalid(field: &str, message: impl Into<String>) -> ValidationError {
    ValidationError {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl TestRequest {
    /// A request with defaults for everything but type and URL.
    pub fn new(test_type: &str, url: &str) -> Self {
        Self {
            test_type: test_type.to_owned(),
            url: url.to_owned(),
            method: default_method(),
            headers: Vec::new(),
            body: None,
            body_base64: None,
            delay_ms: None,
            rate: None,
            requests_per_driver: None,
            duration_ms: None,
            concurrency: DEFAULT_CONCURRENCY,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            insecure: false,
            drivers: None,
            max_start_skew_ms: DEFAULT_MAX_START_SKEW_MS,
            expect_status: None,
            max_error_ratio: 0.0,
            start: false,
        }
    }

    /// The test type, validated.
    pub fn test_type(&self) -> Result<TestType, ValidationError> {
        TestType::parse(&self.test_type)
            .ok_or_else(|| invalid("test_type", "must be avalanche or tsunami"))
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let test_type = self.test_type()?;
        parse_url(&self.url).map_err(|message| invalid("url", message))?;
        if self.method.is_empty()
            || self.method.len() > 32
            || !self.method.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(invalid(
                "method",
                "must be an HTTP method such as GET or POST",
            ));
        }
        for header in &self.headers {
            let name_ok = !header.name.is_empty()
                && header
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
            if !name_ok {
                return Err(invalid(
                    "headers",
                    format!("invalid header name `{}`", header.name),
                ));
            }
            if header
                .value
                .bytes()
                .any(|b| b == b'\r' || b == b'\n' || b == 0)
            {
                return Err(invalid(
                    "headers",
                    format!("invalid value for header `{}`", header.name),
                ));
            }
        }
        if self
            .body
            .as_ref()
            .is_some_and(|b| b.chars().count() > MAX_BODY_CHARS)
        {
            return Err(invalid(
                "body",
                format!("must be at most {MAX_BODY_CHARS} characters"),
            ));
        }
        if self.body.is_some() && self.body_base64.is_some() {
            return Err(invalid(
                "body_base64",
                "cannot be combined with body: give the body as text or as base64, not both",
            ));
        }
        self.binary_body()?;
        // A delay of 0 is no delay (the dashboard sends one with a rate); any other is a
        // second schedule that the rate would silently override.
        if let Some(delay) = self.delay_ms
            && delay != 0.0
            && self.rate.is_some()
        {
            return Err(invalid(
                "rate",
                format!(
                    "cannot be combined with delay_ms ({delay} ms): give a rate or a delay, \
                     not both"
                ),
            ));
        }
        if let Some(delay) = self.delay_ms
            && (!delay.is_finite() || !(0.0..=MAX_DELAY_MS).contains(&delay))
        {
            return Err(invalid("delay_ms", "must be between 0 and 3600000 ms"));
        }
        if let Some(rate) = self.rate
            && (!rate.is_finite() || rate <= 0.0 || rate > MAX_RATE)
        {
            return Err(invalid(
                "rate",
                format!("must be > 0 and at most {MAX_RATE}"),
            ));
        }
        if test_type == TestType::Tsunami
            && self.rate.is_none()
            && self.delay_ms.is_none_or(|d| d <= 0.0)
        {
            return Err(invalid(
                "delay_ms",
                "a tsunami test needs a delay > 0 or a rate",
            ));
        }
        if test_type == TestType::Avalanche && self.rate.is_some() {
            return Err(invalid(
                "rate",
                "an avalanche test has no rate; use tsunami for a fixed rate",
            ));
        }
        if let Some(n) = self.requests_per_driver
            && (n == 0 || n > MAX_REQUESTS)
        {
            return Err(invalid(
                "requests_per_driver",
                format!("must be between 1 and {MAX_REQUESTS}"),
            ));
        }
        if let Some(d) = self.duration_ms
            && (d == 0 || d > MAX_DURATION_MS)
        {
            return Err(invalid(
                "duration_ms",
                format!("must be between 1 and {MAX_DURATION_MS}"),
            ));
        }
        if self.requests_per_driver.is_none() && self.duration_ms.is_none() {
            return Err(invalid(
                "requests_per_driver",
                "give a request count, a duration, or both",
            ));
        }
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return Err(invalid(
                "concurrency",
                format!("must be between 1 and {MAX_CONCURRENCY}"),
            ));
        }
        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return Err(invalid("timeout_ms", "must be between 1 and 3600000 ms"));
        }
        if self.max_start_skew_ms > MAX_START_SKEW_MS {
            return Err(invalid(
                "max_start_skew_ms",
                format!("must be between 0 and {MAX_START_SKEW_MS} ms"),
            ));
        }
        if self.drivers.is_some_and(|n| n == 0 || n > MAX_DRIVERS) {
            return Err(invalid(
                "drivers",
                format!("must be between 1 and {MAX_DRIVERS}"),
            ));
        }
        if !(self.max_error_ratio.is_finite() && (0.0..=1.0).contains(&self.max_error_ratio)) {
            return Err(invalid("max_error_ratio", "must be between 0 and 1"));
        }
        Ok(())
    }

    /// Puts values in their canonical form, once, before the request is kept: a standard
    /// method in upper case (`get` -> `GET`).
    pub fn normalize(&mut self) {
        if let Some(method) = canonical_method(&self.method) {
            method.clone_into(&mut self.method);
        }
    }

    /// The decoded `body_base64`, if given.
    pub fn binary_body(&self) -> Result<Option<Vec<u8>>, ValidationError> {
        let Some(encoded) = &self.body_base64 else {
            return Ok(None);
        };
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
        Ok(Some(bytes))
    }

    /// The statuses that count as success.
    pub fn expected_statuses(&self) -> ExpectStatus {
        self.expect_status.clone().unwrap_or_default()
    }

    /// The wire configuration for the chosen drivers. Call [`TestRequest::validate`] first.
    pub fn to_config(
        &self,
        test_id: &str,
        drivers: Vec<String>,
    ) -> Result<TestConfig, ValidationError> {
        let test_type = self.test_type()?;
        Ok(TestConfig {
            protocol_version: onslaught_protocol::PROTOCOL_VERSION,
            test_id: test_id.to_owned(),
            test_type,
            test_message_delay: match test_type {
                TestType::Avalanche => 0.0,
                TestType::Tsunami => self.delay_ms.unwrap_or(0.0),
            },
            message_count_per_driver: self.requests_per_driver,
            target_rps: self.rate,
            duration_ms: self.duration_ms,
            concurrency: self.concurrency,
            timeout_ms: self.timeout_ms,
            request: RequestSpec {
                // The parsed form: IDN hosts in punycode, what every HTTP client can send.
                url: parse_url(&self.url)
                    .map_err(|message| invalid("url", message))?
                    .to_string(),
                method: canonical_method(&self.method)
                    .map_or_else(|| self.method.clone(), str::to_owned),
                headers: self.headers.clone(),
                body: self.body.clone(),
                // Re-encoded canonically (padded, no stray bits), so drivers decode it strictly.
                body_base64: self
                    .binary_body()?
                    .map(|bytes| base64::engine::general_purpose::STANDARD.encode(bytes)),
            },
            insecure: self.insecure,
            drivers,
            issued_at_ms: onslaught_protocol::now_ms(),
            signature: None,
        })
    }
}

/// Standard base64 as users write it: padding optional, stray bits in the last symbol ignored.
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// Whole-number fields that also accept a JSON number with a zero fraction (`2000.0`), since JSON
/// (and JSON Schema's `integer`) does not tell them apart.
mod whole {
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

    pub(super) fn option<'de, D: Deserializer<'de>, T: TryFrom<u64>>(
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
    use super::*;

    fn ok() -> TestRequest {
        let mut r = TestRequest::new("tsunami", "http://127.0.0.1:8080/ping");
        r.delay_ms = Some(10.0);
        r.requests_per_driver = Some(100);
        r
    }

    #[test]
    fn a_valid_request_passes_and_converts() {
        ok().validate().unwrap();
        let config = ok().to_config("t1", vec!["d1".into()]).unwrap();
        assert_eq!(config.test_message_delay, 10.0);
        assert_eq!(config.message_count_per_driver, Some(100));
        onslaught_protocol::decode::<TestConfig>(&onslaught_protocol::encode(&config)).unwrap();
    }

    #[test]
    fn known_methods_are_normalized_and_binary_bodies_carried() {
        let mut r = ok();
        r.method = "get".into();
        r.normalize();
        assert_eq!(r.method, "GET");
        let mut custom = ok();
        custom.method = "purge".into();
        custom.normalize();
        assert_eq!(custom.method, "purge");
        let mut binary = ok();
        binary.body_base64 = Some("/wCAfw==".into());
        binary.validate().unwrap();
        assert_eq!(
            binary.binary_body().unwrap(),
            Some(vec![0xff, 0, 0x80, 0x7f])
        );
        let config = binary.to_config("t", vec![]).unwrap();
        assert_eq!(config.request.body_base64.as_deref(), Some("/wCAfw=="));
        assert_eq!(config.request.body, None);
        // Stray bits and missing padding are forgiven; the wire form is canonical.
        binary.body_base64 = Some("lPTPn9m9kILTyb==".into());
        binary.validate().unwrap();
        binary.body_base64 = Some("/wCAfw".into());
        let config = binary.to_config("t", vec![]).unwrap();
        assert_eq!(config.request.body_base64.as_deref(), Some("/wCAfw=="));
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

    #[test]
    fn urls_follow_the_documented_grammar() {
        for ok in [
            "http://127.0.0.1:8080/ping",
            "HTTPS://example.com",
            "http://localhost:9000/x?y=1&z=%20",
            "http://h?q",
            "http://[::1]:8080/ping",
            "http://bücher.example/",
        ] {
            assert!(valid_url(ok), "{ok}");
        }
        for (bad, says) in [
            ("http://h:0/", "port 0"),
            ("http://u:p@h/", "user info"),
            ("http://h/#x", "fragment"),
            ("http:///x", "no host"),
            ("http://[::1/", "IPv6"),
        ] {
            let message = parse_url(bad).unwrap_err();
            assert!(message.contains(says), "{bad}: {message}");
        }
        let idn = TestRequest::new("avalanche", "http://bücher.example/p")
            .to_config("t", vec![])
            .unwrap();
        assert_eq!(idn.request.url, "http://xn--bcher-kva.example/p");
        for bad in [
            "http://",
            "ftp://x",
            "http://[::1",
            "http://h:/",
            "http://h:1x/",
            "http://h/\u{0}",
            "http://h:080/",
        ] {
            assert!(!valid_url(bad), "{bad}");
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        type Change = Box<dyn Fn(&mut TestRequest)>;
        let cases: Vec<(&str, Change)> = vec![
            ("test_type", Box::new(|r| r.test_type = "blizzard".into())),
            ("url", Box::new(|r| r.url = "ftp://x".into())),
            ("url", Box::new(|r| r.url = "http://".into())),
            ("url", Box::new(|r| r.url = "http://a b/".into())),
            ("url", Box::new(|r| r.url = "http://host:65536/".into())),
            ("url", Box::new(|r| r.url = "http://:80/".into())),
            ("url", Box::new(|r| r.url = "http://h/ü".into())),
            ("method", Box::new(|r| r.method = "GE T".into())),
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
            ("delay_ms", Box::new(|r| r.delay_ms = Some(-1.0))),
            ("delay_ms", Box::new(|r| r.delay_ms = Some(0.0))),
            ("rate", Box::new(|r| r.rate = Some(0.0))),
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
            ("drivers", Box::new(|r| r.drivers = Some(0))),
        ];
        for (field, change) in cases {
            let mut r = ok();
            change(&mut r);
            let err = r.validate().unwrap_err();
            assert_eq!(err.field, field, "{err}");
        }
        let mut both = ok();
        both.rate = Some(5.0);
        let err = both.validate().unwrap_err();
        assert_eq!(err.field, "rate");
        assert!(err.message.contains("delay_ms"), "{err}");
        let mut bodies = ok();
        bodies.body = Some("x".into());
        bodies.body_base64 = Some("eA==".into());
        assert_eq!(bodies.validate().unwrap_err().field, "body_base64");
        let mut avalanche = ok();
        avalanche.test_type = "AVALANCHE".into();
        avalanche.rate = Some(10.0);
        assert_eq!(avalanche.validate().unwrap_err().field, "rate");
    }
}
