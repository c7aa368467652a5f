//! Server-wide misbehaviour: [`TargetConfig`] and the values it is made of.
//!
//! Nothing here touches the network: these are plain values, parsed from text by
//! [`Latency::parse`] (used for command-line flags and query parameters alike).

use std::str::FromStr;
use std::time::Duration;

use crate::accounts::Accounts;

/// How the target misbehaves on every request, unless a query parameter says otherwise.
///
/// The default is a well-behaved server: no added latency, no stalls, no errors, keep-alive;
/// any user logs in with the password `secret`; items 1 to 1000 exist.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetConfig {
    /// Latency added to every request before it is answered.
    pub latency: Option<Latency>,
    /// Periodic windows during which arriving requests are held until the window ends.
    pub stall: Option<Stall>,
    /// Fraction of requests (0.0..=1.0) answered with `error_status` instead of normally.
    pub error_ratio: f64,
    /// The status sent for requests picked by `error_ratio`; a code outside 200..=599 falls back
    /// to 500.
    pub error_status: u16,
    /// Fraction of responses (0.0..=1.0) sent with `Connection: close`, closing the connection.
    pub close_ratio: f64,
    /// Latency added per request already in flight when a request arrives, on top of
    /// `latency`: latency grows with load (zero: off). See the crate docs for the formula.
    pub latency_per_in_flight: Duration,
    /// Who `POST /login` accepts.
    pub accounts: Accounts,
    /// The highest id `GET /items/{id}` finds (ids `1..=items`; others get a 404).
    pub items: u64,
}

/// The highest item id by default.
pub const DEFAULT_ITEMS: u64 = 1000;

impl Default for TargetConfig {
    fn default() -> Self {
        Self {
            latency: None,
            stall: None,
            error_ratio: 0.0,
            error_status: 500,
            close_ratio: 0.0,
            latency_per_in_flight: Duration::ZERO,
            accounts: Accounts::default(),
            items: DEFAULT_ITEMS,
        }
    }
}

/// Latency added to a request before it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// Always this long.
    Fixed(Duration),
    /// Drawn uniformly from `min..=max` for each request.
    Uniform {
        /// The shortest added latency.
        min: Duration,
        /// The longest added latency.
        max: Duration,
    },
}

impl Latency {
    /// Parses `"10ms"` (fixed) or `"5ms..50ms"` (uniform), with humantime durations.
    pub fn parse(s: &str) -> Result<Latency, ParseError> {
        match s.split_once("..") {
            None => Ok(Latency::Fixed(parse_duration(s)?)),
            Some((min, max)) => {
                let (min, max) = (parse_duration(min)?, parse_duration(max)?);
                if min > max {
                    return Err(ParseError::InvertedRange {
                        input: s.to_owned(),
                    });
                }
                Ok(Latency::Uniform { min, max })
            }
        }
    }

    /// The latency to add to one request.
    pub(crate) fn sample(self) -> Duration {
        match self {
            Latency::Fixed(latency) => latency,
            Latency::Uniform { min, max } => {
                let span = u64::try_from((max - min).as_nanos()).unwrap_or(u64::MAX);
                min + Duration::from_nanos(fastrand::u64(0..=span))
            }
        }
    }
}

impl FromStr for Latency {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Latency::parse(s)
    }
}

/// Periodic stalls on the target's clock, which starts when the target is created.
///
/// The windows are `[k * every, k * every + duration)` for `k = 0, 1, 2, ...`. A request that
/// arrives inside a window is held until that window ends; one arriving outside is not delayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// The period between window starts; zero disables stalls.
    pub every: Duration,
    /// How long each window lasts.
    pub duration: Duration,
}

/// Why text could not be read as a misbehaviour setting.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not a humantime duration such as `10ms` or `1s`.
    #[error("invalid duration `{input}`: {source}")]
    Duration {
        /// The text that was not a duration.
        input: String,
        /// What humantime objected to.
        #[source]
        source: humantime::DurationError,
    },
    /// A `min..max` latency range whose minimum is above its maximum.
    #[error("latency range `{input}` has its minimum above its maximum")]
    InvertedRange {
        /// The whole range as given.
        input: String,
    },
    /// Not a number between 0 and 1.
    #[error("invalid ratio `{input}`: expected a number between 0 and 1")]
    Ratio {
        /// The text that was not a ratio.
        input: String,
    },
    /// Not an HTTP status code.
    #[error("invalid status `{input}`: expected an HTTP status code in 200..=599")]
    Status {
        /// The text that was not a status code.
        input: String,
    },
    /// Not a boolean flag.
    #[error("invalid flag `{input}`: expected 1, 0, true or false")]
    Flag {
        /// The text that was not a flag.
        input: String,
    },
    /// Only one of `stall_every` and `stall_for` was given.
    #[error("`stall_every` and `stall_for` must be given together")]
    IncompleteStall,
}

/// Parses a humantime duration such as `200ms`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, ParseError> {
    humantime::parse_duration(s.trim()).map_err(|source| ParseError::Duration {
        input: s.to_owned(),
        source,
    })
}

/// Parses a ratio in `0.0..=1.0`.
pub(crate) fn parse_ratio(s: &str) -> Result<f64, ParseError> {
    match s.trim().parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(ParseError::Ratio {
            input: s.to_owned(),
        }),
    }
}

/// Parses `1`/`true` or `0`/`false`.
pub(crate) fn parse_flag(s: &str) -> Result<bool, ParseError> {
    match s.trim() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(ParseError::Flag {
            input: s.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fixed_latency() {
        let latency = Latency::parse("10ms").unwrap();
        assert_eq!(latency, Latency::Fixed(Duration::from_millis(10)));
    }

    #[test]
    fn parses_uniform_latency() {
        let latency: Latency = "5ms..50ms".parse().unwrap();
        assert_eq!(
            latency,
            Latency::Uniform {
                min: Duration::from_millis(5),
                max: Duration::from_millis(50)
            }
        );
    }

    #[test]
    fn rejects_bad_latencies() {
        assert!(matches!(
            Latency::parse("50ms..5ms"),
            Err(ParseError::InvertedRange { .. })
        ));
        assert!(matches!(
            Latency::parse("fast"),
            Err(ParseError::Duration { .. })
        ));
        assert!(matches!(
            Latency::parse("5ms.."),
            Err(ParseError::Duration { .. })
        ));
    }

    #[test]
    fn uniform_samples_stay_in_range() {
        let (min, max) = (Duration::from_millis(5), Duration::from_millis(6));
        for _ in 0..1000 {
            let sample = Latency::Uniform { min, max }.sample();
            assert!((min..=max).contains(&sample), "{sample:?}");
        }
    }

    #[test]
    fn parses_ratios_and_flags() {
        assert_eq!(parse_ratio("0.25").unwrap(), 0.25);
        assert!(parse_ratio("1.5").is_err());
        assert!(parse_ratio("NaN").is_err());
        assert!(parse_flag("1").unwrap());
        assert!(!parse_flag("false").unwrap());
        assert!(parse_flag("yes").is_err());
    }
}
