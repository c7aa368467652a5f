//! [`ExpectStatus`]: which response statuses count as success. 2xx and 3xx by default; a test
//! may ask for a list of statuses and classes such as `200,404` or `2xx,404`.

use std::collections::BTreeMap;
use std::fmt;

use onslaught_flow::StatusSet;

use serde::{Deserialize, Serialize};

/// What [`ExpectStatus::parse`] accepts, as a regular expression for the OpenAPI document.
pub const PATTERN: &str =
    "^ *([1-5][0-9][0-9]|[1-5][xX][xX]) *(, *([1-5][0-9][0-9]|[1-5][xX][xX]) *)*$";

/// The statuses a test counts as success, parsed from `200,404` or `2xx` (any mix,
/// comma-separated). Serialized back as the text it was parsed from, normalized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExpectStatus {
    /// Inclusive ranges of accepted statuses (a class is 100 of them).
    ranges: Vec<(u16, u16)>,
    /// The normalized text (`2xx,404`), what the view echoes.
    text: String,
}

impl Default for ExpectStatus {
    /// 2xx and 3xx: what load testers (ab, oha, Locust) count as success.
    fn default() -> Self {
        Self {
            ranges: vec![(200, 399)],
            text: "2xx,3xx".to_owned(),
        }
    }
}

impl ExpectStatus {
    /// Parses a comma-separated list of statuses (`404`) and classes (`2xx`); statuses are
    /// 100 to 599.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        let mut parts = Vec::new();
        for part in text.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(format!(
                    "`{text}` has an empty entry: give statuses such as 200,404 or 2xx"
                ));
            }
            let part = part.to_ascii_lowercase();
            let range = if let Some(class) = part.strip_suffix("xx") {
                match class.parse::<u16>() {
                    Ok(c) if (1..=5).contains(&c) && class.len() == 1 => (c * 100, c * 100 + 99),
                    _ => return Err(not_a_status(&part)),
                }
            } else {
                let s = status(&part)?;
                (s, s)
            };
            ranges.push(range);
            parts.push(part);
        }
        Ok(Self {
            ranges,
            text: parts.join(","),
        })
    }

    /// Whether `status` counts as success.
    pub fn accepts(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|(low, high)| (*low..=*high).contains(&status))
    }
}

/// Which statuses count as success in a test: the test's expected statuses, and for each
/// request name of its flows the statuses that name's steps accept (a step's `check.status`
/// overrides the test's). Made by [`crate::TestPlan::accepted`]; what views judge errors by.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Accepted {
    /// The test's expected statuses: for a test without flows, and for a name no step has.
    pub test: ExpectStatus,
    /// Per request name, the statuses its steps accept.
    by_name: BTreeMap<String, StatusSet>,
    /// Whether a name accepts other statuses than the test's.
    varies: bool,
}

impl Accepted {
    /// What a test expecting `test` accepts, with `by_name` for its request names.
    pub fn new(test: ExpectStatus, by_name: BTreeMap<String, StatusSet>) -> Self {
        let tests = StatusSet::from_fn(|s| test.accepts(s));
        let varies = by_name.values().any(|set| *set != tests);
        Self {
            test,
            by_name,
            varies,
        }
    }

    /// Whether a response named `name` (`None`: a test without names) with `status` is a
    /// success.
    pub fn accepts(&self, name: Option<&str>, status: u16) -> bool {
        match name.and_then(|n| self.by_name.get(n)) {
            Some(set) => set.contains(status),
            None => self.test.accepts(status),
        }
    }

    /// Whether the test has a request name whose steps accept other statuses than the test's
    /// (its whole can then be judged only name by name).
    pub fn varies_by_name(&self) -> bool {
        self.varies
    }
}

impl From<ExpectStatus> for Accepted {
    fn from(test: ExpectStatus) -> Self {
        Self::new(test, BTreeMap::new())
    }
}

fn status(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(s) if (100..=599).contains(&s) && text.len() == 3 => Ok(s),
        _ => Err(not_a_status(text)),
    }
}

fn not_a_status(text: &str) -> String {
    format!("`{text}` is not a status (100 to 599) or a class such as 2xx")
}

impl fmt::Display for ExpectStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for ExpectStatus {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<ExpectStatus> for String {
    fn from(expect: ExpectStatus) -> String {
        expect.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_classes_parse() {
        let e = ExpectStatus::parse("200, 404,5XX").unwrap();
        assert!(e.accepts(200) && e.accepts(404) && e.accepts(503));
        assert!(!e.accepts(201) && !e.accepts(302));
        assert_eq!(e.to_string(), "200,404,5xx");
        let d = ExpectStatus::default();
        assert!(d.accepts(200) && d.accepts(399) && !d.accepts(404) && !d.accepts(500));
        for bad in [
            "", "abc", "2x", "6xx", "99", "600", "0200", "200-204", "200,,404",
        ] {
            assert!(ExpectStatus::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_uses_the_text() {
        let e: ExpectStatus = serde_json::from_str("\"2xx,404\"").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"2xx,404\"");
        assert!(serde_json::from_str::<ExpectStatus>("\"nope\"").is_err());
    }
}
