//! Request counters: what was sent, what came back, and what went wrong.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a request did not get a usable response. Counted per kind; none of them aborts a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    /// The TCP (or TLS) connection could not be established.
    Connect,
    /// No complete response within the per-request timeout.
    Timeout,
    /// The connection was closed or reset before the response was complete.
    Reset,
    /// The server answered with a 5xx status.
    Status5xx,
    /// The test was stopped while the request was in flight.
    Aborted,
    /// Any other I/O or protocol failure.
    Other,
    /// A response with a status the test does not accept, other than a 5xx (`http_404`): what
    /// a view's judgement of the status codes adds (the engine counts none).
    Status(u16),
}

impl ErrorKind {
    /// Every kind the engine counts, in display order.
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Status5xx,
        ErrorKind::Aborted,
        ErrorKind::Other,
    ];

    /// The stable name used in reports and on the wire (`connect`, `http_5xx`, `http_404`).
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Status5xx => "http_5xx",
            ErrorKind::Aborted => "aborted",
            ErrorKind::Other => "other",
            ErrorKind::Status(code) => return Cow::Owned(format!("http_{code}")),
        })
    }

    /// Parses a name produced by [`ErrorKind::name`].
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(code) = name.strip_prefix("http_")
            && code.len() == 3
            && let Ok(status @ 100..=999) = code.parse::<u16>()
        {
            return Some(ErrorKind::Status(status));
        }
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for ErrorKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = Cow::<'de, str>::deserialize(d)?;
        ErrorKind::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error kind `{name}`")))
    }
}

impl JsonSchema for ErrorKind {
    fn schema_name() -> Cow<'static, str> {
        "ErrorKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

/// At most this many distinct failure reasons are kept; later ones count under
/// [`OTHER_REASONS`].
pub const MAX_REASONS: usize = 32;

/// The reason failures beyond [`MAX_REASONS`] distinct ones count under.
pub const OTHER_REASONS: &str = "other reasons";

/// Counters for one interval (or, once merged, for a whole test).
///
/// Its serde form is the `counters` of a metrics message: error kinds by name, status codes as
/// string keys (JSON object keys).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counters {
    /// Requests started: sent, or failed before they could be (a connection that could not be
    /// opened). At least `requests_sent` over a whole run. Absent from the metrics of older
    /// drivers (read as 0; views show at least `requests_sent`).
    #[serde(default)]
    pub requests_attempted: u64,
    /// Requests written to a connection (a request whose connection could not be opened is
    /// attempted, never sent).
    pub requests_sent: u64,
    /// Requests that got a complete response (any status).
    pub responses_received: u64,
    /// Failures by kind (`connect`, `timeout`, `reset`, `http_5xx`, `aborted`, `other`); in
    /// views, responses with a status the test does not accept are included (`http_5xx`,
    /// `http_404`).
    #[serde(default)]
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Failures by kind and cause, as users read them (`connect: connection refused (os error
    /// 111)`); at most 32 distinct ones, the rest under `other reasons`.
    #[serde(default)]
    pub error_reasons: BTreeMap<String, u64>,
    /// Responses by HTTP status code.
    #[serde(default, with = "status_keys")]
    #[schemars(with = "BTreeMap<String, u64>")]
    pub status_codes: BTreeMap<u16, u64>,
    /// Request bytes written to sockets (head and body, as framed by the client).
    #[serde(default)]
    pub bytes_sent: u64,
    /// Response body bytes read.
    #[serde(default)]
    pub bytes_received: u64,
    /// Scheduled sends that went out more than 1 ms after their intended time, because every
    /// connection was busy or the scheduler fell behind.
    #[serde(default)]
    pub late_sends: u64,
    /// Checks of responses (flow steps' `check`, extractions) that passed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub checks_passed: u64,
    /// An avalanche's virtual users (constant, changed while running, or on stages): the time
    /// users ran, summed over the users, in ms; a second's mean running users are its
    /// `user_ms / 1000`. Absent (0) for a tsunami.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub user_ms: u64,
    /// Checks of responses that failed; a response with a failed check is not a success.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub checks_failed: u64,
    /// Failed checks by what was checked (`status`, `body_contains`, `max_latency`,
    /// `extract token`); at most 32 distinct ones, the rest under `other reasons`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_checks: BTreeMap<String, u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Adds `n` to `key` in `map`, keeping at most [`MAX_REASONS`] distinct keys (the rest count
/// under [`OTHER_REASONS`]).
fn add_bounded(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    if let Some(count) = map.get_mut(key) {
        *count += n;
    } else if map.len() < MAX_REASONS {
        map.insert(key.to_owned(), n);
    } else {
        *map.entry(OTHER_REASONS.to_owned()).or_default() += n;
    }
}

/// Status codes as string keys, read from strings whatever the deserializer (a flattened or
/// buffered map gives its keys as strings, where plain integer keys would be refused).
mod status_keys {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        codes: &BTreeMap<u16, u64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(codes.iter().map(|(code, n)| (code.to_string(), n)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<u16, u64>, D::Error> {
        BTreeMap::<String, u64>::deserialize(d)?
            .into_iter()
            .map(|(code, n)| match code.parse::<u16>() {
                Ok(status @ 100..=999) => Ok((status, n)),
                _ => Err(serde::de::Error::custom(format!(
                    "`{code}` is not an HTTP status"
                ))),
            })
            .collect()
    }
}

impl Counters {
    /// Counts one error of `kind`.
    pub fn error(&mut self, kind: ErrorKind) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// Counts `n` failures for `reason`, keeping at most [`MAX_REASONS`] distinct reasons.
    pub fn reason(&mut self, reason: &str, n: u64) {
        add_bounded(&mut self.error_reasons, reason, n);
    }

    /// Counts one passed check.
    pub fn check_passed(&mut self) {
        self.checks_passed += 1;
    }

    /// Counts one failed check of `what` (`status`, `body_contains`, `extract token`).
    pub fn check_failed(&mut self, what: &str) {
        self.checks_failed += 1;
        add_bounded(&mut self.failed_checks, what, 1);
    }

    /// Counts one response with `status`.
    pub fn status(&mut self, status: u16) {
        *self.status_codes.entry(status).or_default() += 1;
    }

    /// Total number of errors of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Responses with a status below 500: what the success ratio counts as success.
    pub fn successes(&self) -> u64 {
        self.status_codes
            .iter()
            .filter(|(code, _)| **code < 500)
            .map(|(_, n)| n)
            .sum()
    }

    /// Adds `other` into these counters.
    pub fn add(&mut self, other: &Counters) {
        self.requests_attempted += other.requests_attempted;
        self.requests_sent += other.requests_sent;
        self.responses_received += other.responses_received;
        for (kind, n) in &other.errors {
            *self.errors.entry(*kind).or_default() += n;
        }
        for (reason, n) in &other.error_reasons {
            self.reason(reason, *n);
        }
        for (code, n) in &other.status_codes {
            *self.status_codes.entry(*code).or_default() += n;
        }
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.late_sends += other.late_sends;
        self.checks_passed += other.checks_passed;
        self.checks_failed += other.checks_failed;
        self.user_ms += other.user_ms;
        for (what, n) in &other.failed_checks {
            add_bounded(&mut self.failed_checks, what, *n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_sums_every_field() {
        let mut a = Counters::default();
        a.requests_sent = 3;
        a.responses_received = 2;
        a.error(ErrorKind::Timeout);
        a.status(200);
        a.status(200);
        let mut b = a.clone();
        b.status(503);
        b.error(ErrorKind::Status5xx);
        b.late_sends = 4;
        b.user_ms = 1_500;
        b.check_passed();
        b.check_failed("status");
        b.check_failed("status");
        a.add(&b);
        assert_eq!((a.checks_passed, a.checks_failed), (1, 2));
        assert_eq!(a.failed_checks["status"], 2);
        assert_eq!(a.requests_sent, 6);
        assert_eq!(a.status_codes[&200], 4);
        assert_eq!(a.status_codes[&503], 1);
        assert_eq!(a.errors[&ErrorKind::Timeout], 2);
        assert_eq!(a.error_count(), 3);
        assert_eq!(a.successes(), 4);
        assert_eq!(a.late_sends, 4);
        assert_eq!(a.user_ms, 1_500);
    }

    #[test]
    fn reasons_are_summed_and_bounded() {
        let mut a = Counters::default();
        a.reason("connect: connection refused (os error 111)", 2);
        let mut b = Counters::default();
        b.reason("connect: connection refused (os error 111)", 3);
        for i in 0..MAX_REASONS + 5 {
            b.reason(&format!("other: cause {i}"), 1);
        }
        a.add(&b);
        assert_eq!(
            a.error_reasons["connect: connection refused (os error 111)"],
            5
        );
        assert!(
            a.error_reasons.len() <= MAX_REASONS + 1,
            "{:?}",
            a.error_reasons
        );
        assert!(a.error_reasons.contains_key(OTHER_REASONS));
        assert_eq!(
            a.error_reasons.values().sum::<u64>(),
            5 + MAX_REASONS as u64 + 5
        );
    }

    /// The serde form is the one metrics messages always had: names and string keys.
    #[test]
    fn serde_form_uses_names_and_string_keys() {
        let mut c = Counters::default();
        c.requests_sent = 2;
        c.error(ErrorKind::Status5xx);
        c.status(503);
        c.status(200);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["errors"]["http_5xx"], 1);
        assert_eq!(json["status_codes"]["503"], 1);
        let back: Counters = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        let old: Counters =
            serde_json::from_str(r#"{"requests_sent": 3, "responses_received": 1}"#).unwrap();
        assert_eq!((old.requests_sent, old.requests_attempted), (3, 0));
        for bad in [
            r#"{"requests_sent": 0, "responses_received": 0, "errors": {"nope": 1}}"#,
            r#"{"requests_sent": 0, "responses_received": 0, "status_codes": {"abc": 1}}"#,
            r#"{"requests_sent": 0, "responses_received": 0, "status_codes": {"1000": 1}}"#,
        ] {
            assert!(serde_json::from_str::<Counters>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_kind_names_round_trip() {
        for kind in ErrorKind::ALL.into_iter().chain([ErrorKind::Status(404)]) {
            assert_eq!(ErrorKind::parse(&kind.name()), Some(kind));
        }
        assert_eq!(ErrorKind::Status(404).name(), "http_404");
        for bad in [
            "nope",
            "http_",
            "http_40",
            "http_4044",
            "http_099",
            "http_abc",
        ] {
            assert_eq!(ErrorKind::parse(bad), None, "{bad}");
        }
    }
}
