//! The misbehaviour applied to one request: the server-wide [`TargetConfig`] overridden by
//! query parameters, and the draws (delay, status, close, reset) made from it.

use std::time::Duration;

use hyper::StatusCode;
use tokio::time::Instant;

use crate::config::{
    Latency, ParseError, Stall, TargetConfig, parse_duration, parse_flag, parse_ratio,
};

/// Misbehaviour for one request, resolved from config and query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Faults {
    /// Latency added after any stall.
    latency: Option<Latency>,
    /// Stall windows on the target's clock.
    stall: Option<Stall>,
    /// Fraction of requests answered with `error_status`.
    error_ratio: f64,
    /// The status for requests picked by `error_ratio`.
    error_status: StatusCode,
    /// Set by `status=`: every request is answered with it.
    forced_status: Option<StatusCode>,
    /// Fraction of responses sent with `Connection: close`.
    close_ratio: f64,
    /// Set by `reset=1`: the connection is dropped instead of answered.
    reset: bool,
    /// Latency added per request in flight when this one arrived (zero: off).
    latency_per_in_flight: Duration,
}

/// A query parameter whose value could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("query parameter `{name}`: {source}")]
pub(crate) struct InvalidParam {
    /// The parameter's name.
    name: &'static str,
    /// Why its value was rejected.
    #[source]
    source: ParseError,
}

impl Faults {
    /// The server-wide misbehaviour.
    pub(crate) fn from_config(config: &TargetConfig) -> Self {
        Self {
            latency: config.latency,
            stall: config.stall,
            error_ratio: config.error_ratio,
            error_status: final_status(config.error_status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            forced_status: None,
            close_ratio: config.close_ratio,
            reset: false,
            latency_per_in_flight: config.latency_per_in_flight,
        }
    }

    /// Whether latency grows with the requests in flight, which must then be counted.
    pub(crate) fn grows_with_load(&self) -> bool {
        !self.latency_per_in_flight.is_zero()
    }

    /// These faults overridden by the query string's parameters; unknown ones are ignored.
    pub(crate) fn with_query(mut self, query: &str) -> Result<Self, InvalidParam> {
        let (mut stall_every, mut stall_for) = (None, None);
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "latency" => self.latency = Some(param("latency", Latency::parse(value))?),
                "status" => self.forced_status = Some(param("status", parse_status(value))?),
                "error_status" => self.error_status = param("error_status", parse_status(value))?,
                "error_ratio" => self.error_ratio = param("error_ratio", parse_ratio(value))?,
                "close" => {
                    let close = param("close", parse_flag(value))?;
                    self.close_ratio = if close { 1.0 } else { 0.0 };
                }
                "reset" => self.reset = param("reset", parse_flag(value))?,
                "stall_every" => stall_every = Some(param("stall_every", parse_duration(value))?),
                "stall_for" => stall_for = Some(param("stall_for", parse_duration(value))?),
                _ => {}
            }
        }
        match (stall_every, stall_for) {
            (Some(every), Some(duration)) => self.stall = Some(Stall { every, duration }),
            (None, None) => {}
            _ => {
                return Err(InvalidParam {
                    name: "stall_every",
                    source: ParseError::IncompleteStall,
                });
            }
        }
        Ok(self)
    }

    /// When a request that arrived at `arrived`, with `in_flight` other requests in flight,
    /// may be answered: at the end of the stall window it arrived in (if any), plus latency
    /// (`latency` plus `latency_per_in_flight` times `in_flight`). `None` when it is not
    /// delayed at all.
    pub(crate) fn release_at(
        &self,
        clock_start: Instant,
        arrived: Instant,
        in_flight: u64,
    ) -> Option<Instant> {
        let stalled_until = self
            .stall
            .and_then(|stall| window_end(stall, clock_start, arrived));
        if stalled_until.is_none() && self.latency.is_none() && !self.grows_with_load() {
            return None;
        }
        let load = self
            .latency_per_in_flight
            .saturating_mul(u32::try_from(in_flight).unwrap_or(u32::MAX));
        let latency = self.latency.map_or(Duration::ZERO, Latency::sample) + load;
        Some(stalled_until.unwrap_or(arrived) + latency)
    }

    /// Whether to drop the connection instead of answering.
    pub(crate) fn reset(&self) -> bool {
        self.reset
    }

    /// The status to answer with instead of the route's own, if any (drawn per call).
    pub(crate) fn injected_status(&self) -> Option<StatusCode> {
        self.forced_status
            .or_else(|| draw(self.error_ratio).then_some(self.error_status))
    }

    /// Whether to answer with `Connection: close` (drawn per call).
    pub(crate) fn close(&self) -> bool {
        draw(self.close_ratio)
    }
}

/// Names the query parameter a parse error came from.
fn param<T>(name: &'static str, parsed: Result<T, ParseError>) -> Result<T, InvalidParam> {
    parsed.map_err(|source| InvalidParam { name, source })
}

/// True with probability `ratio`; never touches the generator when `ratio` is zero.
fn draw(ratio: f64) -> bool {
    ratio > 0.0 && fastrand::f64() < ratio
}

/// A status the target can answer with: a final (not informational) standard code.
fn final_status(code: u16) -> Option<StatusCode> {
    (200..=599)
        .contains(&code)
        .then(|| StatusCode::from_u16(code).ok())
        .flatten()
}

fn parse_status(s: &str) -> Result<StatusCode, ParseError> {
    s.trim()
        .parse::<u16>()
        .ok()
        .and_then(final_status)
        .ok_or_else(|| ParseError::Status {
            input: s.to_owned(),
        })
}

/// The end of the stall window `arrived` falls in, or `None` if it falls outside every window.
///
/// Windows are `[k * every, k * every + duration)` on the clock started at `clock_start`.
fn window_end(stall: Stall, clock_start: Instant, arrived: Instant) -> Option<Instant> {
    if stall.every.is_zero() || stall.duration.is_zero() {
        return None;
    }
    let elapsed = arrived.saturating_duration_since(clock_start).as_nanos();
    let every = stall.every.as_nanos();
    let window_start = elapsed - elapsed % every;
    if elapsed - window_start >= stall.duration.as_nanos() {
        return None;
    }
    let end = u64::try_from(window_start + stall.duration.as_nanos()).ok()?;
    clock_start.checked_add(Duration::from_nanos(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn stall() -> Stall {
        Stall {
            every: 1000 * MS,
            duration: 200 * MS,
        }
    }

    #[test]
    fn requests_inside_a_window_wait_for_its_end() {
        let start = Instant::now();
        assert_eq!(window_end(stall(), start, start), Some(start + 200 * MS));
        assert_eq!(
            window_end(stall(), start, start + 150 * MS),
            Some(start + 200 * MS)
        );
        assert_eq!(
            window_end(stall(), start, start + 3050 * MS),
            Some(start + 3200 * MS)
        );
    }

    #[test]
    fn requests_outside_windows_are_not_stalled() {
        let start = Instant::now();
        assert_eq!(window_end(stall(), start, start + 200 * MS), None);
        assert_eq!(window_end(stall(), start, start + 999 * MS), None);
        let disabled = Stall {
            every: Duration::ZERO,
            duration: 200 * MS,
        };
        assert_eq!(window_end(disabled, start, start), None);
    }

    #[test]
    fn query_overrides_config() {
        let config = TargetConfig {
            error_ratio: 1.0,
            ..TargetConfig::default()
        };
        let faults = Faults::from_config(&config)
            .with_query("error_ratio=0&status=503&close=1&reset=1&latency=5ms&cache=x")
            .unwrap();
        assert_eq!(
            faults.injected_status(),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert!(faults.close());
        assert!(faults.reset());
        let now = Instant::now();
        assert_eq!(faults.release_at(now, now, 0), Some(now + 5 * MS));
    }

    #[test]
    fn well_behaved_faults_do_nothing() {
        let faults = Faults::from_config(&TargetConfig::default());
        let now = Instant::now();
        assert_eq!(faults.release_at(now, now, 0), None);
        assert_eq!(faults.injected_status(), None);
        assert!(!faults.close());
        assert!(!faults.reset());
    }

    #[test]
    fn latency_grows_with_the_requests_in_flight() {
        let config = TargetConfig {
            latency: Some(Latency::Fixed(10 * MS)),
            latency_per_in_flight: 2 * MS,
            ..TargetConfig::default()
        };
        let faults = Faults::from_config(&config);
        assert!(faults.grows_with_load());
        let now = Instant::now();
        assert_eq!(faults.release_at(now, now, 0), Some(now + 10 * MS));
        assert_eq!(faults.release_at(now, now, 5), Some(now + 20 * MS));
        let only_load = TargetConfig {
            latency_per_in_flight: 2 * MS,
            ..TargetConfig::default()
        };
        let faults = Faults::from_config(&only_load);
        assert_eq!(faults.release_at(now, now, 0), Some(now));
        assert_eq!(faults.release_at(now, now, 3), Some(now + 6 * MS));
    }

    #[test]
    fn rejects_bad_query_values() {
        let faults = Faults::from_config(&TargetConfig::default());
        for query in [
            "latency=soon",
            "status=42",
            "status=100",
            "error_ratio=2",
            "close=maybe",
            "stall_for=1s",
        ] {
            assert!(faults.with_query(query).is_err(), "{query}");
        }
    }
}
