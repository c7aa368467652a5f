//! Checks: what a response must satisfy to count as a success, and think times.

use std::time::Duration;

use crate::error::CompileError;
use crate::spec::CheckSpec;

/// Statuses 100 to 999 as a bit set: the statuses a step accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSet([u64; 16]);

impl StatusSet {
    /// The statuses for which `accepts` says yes.
    pub fn from_fn(accepts: impl Fn(u16) -> bool) -> Self {
        let mut bits = [0u64; 16];
        for status in 100..1000u16 {
            if accepts(status) {
                bits[usize::from(status / 64)] |= 1 << (status % 64);
            }
        }
        Self(bits)
    }

    /// Whether `status` is in the set.
    pub fn contains(&self, status: u16) -> bool {
        status < 1024 && self.0[usize::from(status / 64)] & (1 << (status % 64)) != 0
    }

    /// Adds every status of `other` to this set.
    pub fn insert_all(&mut self, other: &StatusSet) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine |= theirs;
        }
    }
}

/// A step's checks, compiled.
#[derive(Debug)]
pub struct Checks {
    /// Statuses the step accepts (the test's expected statuses unless the check gives them).
    pub status: StatusSet,
    /// Bytes the body must contain (a literal search).
    pub body_contains: Option<regex::bytes::Regex>,
    /// Longest latency that passes.
    pub max_latency: Option<Duration>,
}

/// What failed on one response: the names failed checks count under.
pub const STATUS: &str = "status";
/// See [`STATUS`].
pub const BODY_CONTAINS: &str = "body_contains";
/// See [`STATUS`].
pub const MAX_LATENCY: &str = "max_latency";

impl Checks {
    /// Compiles `spec` (at `path`) over the test's expected statuses `expected`.
    pub fn compile(
        spec: Option<&CheckSpec>,
        expected: &StatusSet,
        path: &str,
    ) -> Result<Self, CompileError> {
        let Some(spec) = spec else {
            return Ok(Self {
                status: expected.clone(),
                body_contains: None,
                max_latency: None,
            });
        };
        let status = match &spec.status {
            None => expected.clone(),
            Some(list) => {
                if list.statuses().is_empty() {
                    return Err(CompileError::new(
                        format!("{path}.status"),
                        "needs at least one status",
                    ));
                }
                if let Some(bad) = list.statuses().iter().find(|s| !(100..=999).contains(*s)) {
                    return Err(CompileError::new(
                        format!("{path}.status"),
                        format!("{bad} is not an HTTP status (100 to 999)"),
                    ));
                }
                StatusSet::from_fn(|s| list.statuses().contains(&s))
            }
        };
        let body_contains = match &spec.body_contains {
            None => None,
            Some(text) if text.is_empty() => {
                return Err(CompileError::new(
                    format!("{path}.body_contains"),
                    "must not be empty",
                ));
            }
            Some(text) => {
                Some(regex::bytes::Regex::new(&regex::escape(text)).map_err(|e| {
                    CompileError::new(format!("{path}.body_contains"), e.to_string())
                })?)
            }
        };
        let max_latency = spec
            .max_latency
            .as_deref()
            .map(|text| {
                duration(text).map_err(|m| CompileError::new(format!("{path}.max_latency"), m))
            })
            .transpose()?;
        Ok(Self {
            status,
            body_contains,
            max_latency,
        })
    }

    /// Calls `verdict(check, passed)` for every check of this step on a response.
    pub fn judge(
        &self,
        status: u16,
        body: &[u8],
        latency: Duration,
        mut verdict: impl FnMut(&'static str, bool),
    ) {
        verdict(STATUS, self.status.contains(status));
        if let Some(needle) = &self.body_contains {
            verdict(BODY_CONTAINS, needle.is_match(body));
        }
        if let Some(max) = self.max_latency {
            verdict(MAX_LATENCY, latency <= max);
        }
    }
}

/// A duration as users write it (`500ms`, `1s`, `1m30s`).
pub fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration such as 500ms or 2s ({e})"))
}

/// A think time: fixed, or uniform over a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Think {
    /// Shortest pause.
    pub min: Duration,
    /// Longest pause (equal to `min` when fixed).
    pub max: Duration,
}

/// Longest think time accepted.
pub const MAX_THINK: Duration = Duration::from_secs(3600);

impl Think {
    /// Parses `100ms` or `50ms..200ms`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (min, max) = match text.split_once("..") {
            Some((a, b)) => (duration(a)?, duration(b)?),
            None => {
                let d = duration(text)?;
                (d, d)
            }
        };
        if min > max {
            return Err(format!("`{text}`: the range's start is after its end"));
        }
        if max > MAX_THINK {
            return Err(format!("`{text}`: at most an hour"));
        }
        Ok(Self { min, max })
    }

    /// One pause.
    pub fn sample(&self) -> Duration {
        if self.min == self.max {
            return self.min;
        }
        let span = u64::try_from((self.max - self.min).as_nanos()).unwrap_or(u64::MAX);
        self.min + Duration::from_nanos(fastrand::u64(0..=span))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::spec::StatusList;

    #[test]
    fn think_times_parse_and_sample_in_range() {
        assert_eq!(
            Think::parse("100ms").unwrap().sample(),
            Duration::from_millis(100)
        );
        let t = Think::parse("50ms..200ms").unwrap();
        for _ in 0..100 {
            let d = t.sample();
            assert!(d >= Duration::from_millis(50) && d <= Duration::from_millis(200));
        }
        assert!(Think::parse("2s..1s").is_err());
        assert!(Think::parse("soon").is_err());
        assert!(Think::parse("2h").is_err());
    }

    #[test]
    fn checks_judge_status_body_and_latency() {
        let default = StatusSet::from_fn(|s| (200..400).contains(&s));
        let spec = CheckSpec {
            status: Some(StatusList::Many(vec![200, 404])),
            body_contains: Some("\"id\"".into()),
            max_latency: Some("500ms".into()),
        };
        let checks = Checks::compile(Some(&spec), &default, "c").unwrap();
        let run = |status, body: &[u8], ms| {
            let mut failed = Vec::new();
            checks.judge(status, body, Duration::from_millis(ms), |c, ok| {
                if !ok {
                    failed.push(c);
                }
            });
            failed
        };
        assert!(run(404, br#"{"id":1}"#, 10).is_empty());
        assert_eq!(run(302, br#"{"id":1}"#, 10), [STATUS]);
        assert_eq!(run(200, b"{}", 600), [BODY_CONTAINS, MAX_LATENCY]);
        let plain = Checks::compile(None, &default, "c").unwrap();
        assert!(plain.status.contains(302) && !plain.status.contains(404));
        let bad = CheckSpec {
            status: Some(StatusList::One(42)),
            ..CheckSpec::default()
        };
        assert_eq!(
            Checks::compile(Some(&bad), &default, "c").unwrap_err().path,
            "c.status"
        );
        let bad = CheckSpec {
            max_latency: Some("fast".into()),
            ..CheckSpec::default()
        };
        assert_eq!(
            Checks::compile(Some(&bad), &default, "c").unwrap_err().path,
            "c.max_latency"
        );
    }
}
