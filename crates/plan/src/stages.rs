//! [`Stages`]: a piecewise-linear curve from 0, validated once: a rate curve for open load (k6's
//! ramping-arrival-rate) or a users curve for closed load (k6's ramping-vus).

use std::time::Duration;

use crate::plan::ValidationError;
use crate::request::{MAX_RATE, MAX_STAGE_MS, MAX_STAGES, MAX_USERS, Stage};

/// A curve: from 0 at the start, each stage moves the value linearly to its target over its
/// duration. At least one stage, at most [`MAX_STAGES`], each from 1 ms to [`MAX_STAGE_MS`], at
/// least one target above 0 (so the curve sends). A rate curve's targets are requests per second
/// from 0 to [`MAX_RATE`]; a users curve's are whole numbers of virtual users from 0 to
/// [`MAX_USERS`].
#[derive(Clone, Debug, PartialEq)]
pub struct Stages(Vec<Ramp>);

/// One stage of a curve, typed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ramp {
    /// How long the stage lasts.
    pub duration: Duration,
    /// Requests per second (a users curve: virtual users) at its end.
    pub target: f64,
}

impl Stages {
    /// Validates the stages written in `field`.
    pub(crate) fn parse(field: &str, written: &[Stage]) -> Result<Self, ValidationError> {
        let invalid = |message: String| ValidationError {
            field: field.to_owned(),
            message,
        };
        if written.is_empty() || written.len() > MAX_STAGES {
            return Err(invalid(format!("give 1 to {MAX_STAGES} stages")));
        }
        let mut ramps = Vec::with_capacity(written.len());
        for (i, stage) in written.iter().enumerate() {
            if stage.duration_ms == 0 || stage.duration_ms > MAX_STAGE_MS {
                return Err(invalid(format!(
                    "stage {i}: duration_ms must be between 1 and {MAX_STAGE_MS}"
                )));
            }
            if !(stage.target.is_finite() && (0.0..=MAX_RATE).contains(&stage.target)) {
                return Err(invalid(format!(
                    "stage {i}: target must be between 0 and {MAX_RATE} requests per second"
                )));
            }
            ramps.push(Ramp {
                duration: Duration::from_millis(stage.duration_ms),
                target: stage.target,
            });
        }
        if ramps.iter().all(|r| r.target == 0.0) {
            return Err(invalid(
                "no stage has a target above 0: the curve would send nothing".to_owned(),
            ));
        }
        Ok(Self(ramps))
    }

    /// Validates a users curve written in `field` (`stages` or `stages_total` of an avalanche):
    /// a problem with one stage names it (`stages[1].target`).
    pub(crate) fn users(field: &str, written: &[Stage]) -> Result<Self, ValidationError> {
        let invalid = |field: String, message: String| ValidationError { field, message };
        if written.is_empty() || written.len() > MAX_STAGES {
            return Err(invalid(
                field.to_owned(),
                format!("give 1 to {MAX_STAGES} stages"),
            ));
        }
        let mut ramps = Vec::with_capacity(written.len());
        for (i, stage) in written.iter().enumerate() {
            if stage.duration_ms == 0 || stage.duration_ms > MAX_STAGE_MS {
                return Err(invalid(
                    format!("{field}[{i}].duration_ms"),
                    format!("must be between 1 and {MAX_STAGE_MS} ms"),
                ));
            }
            let users = stage.target;
            if !(users.is_finite() && users.fract() == 0.0 && (0.0..=MAX_USERS).contains(&users)) {
                return Err(invalid(
                    format!("{field}[{i}].target"),
                    format!(
                        "must be a whole number of virtual users from 0 to {MAX_USERS}, not {users}"
                    ),
                ));
            }
            ramps.push(Ramp {
                duration: Duration::from_millis(stage.duration_ms),
                target: users,
            });
        }
        if ramps.iter().all(|r| r.target == 0.0) {
            return Err(invalid(
                field.to_owned(),
                "no stage has a target above 0: the curve would start no user".to_owned(),
            ));
        }
        Ok(Self(ramps))
    }

    /// The curve's value `at` from its start (its last target past its end).
    pub fn at(&self, at: Duration) -> f64 {
        let mut from = 0.0;
        let mut left = at.as_secs_f64();
        for ramp in &self.0 {
            let d = ramp.duration.as_secs_f64();
            if left < d {
                return from + (ramp.target - from) * left / d;
            }
            left -= d;
            from = ramp.target;
        }
        from
    }

    /// The stages, in order.
    pub fn ramps(&self) -> &[Ramp] {
        &self.0
    }

    /// How long the curve lasts: the stages' total.
    pub fn duration(&self) -> Duration {
        self.0.iter().map(|r| r.duration).sum()
    }

    /// The highest rate on the curve.
    pub fn peak(&self) -> f64 {
        self.0.iter().map(|r| r.target).fold(0.0, f64::max)
    }

    /// Requests the curve sends in its first `until` (its area up to then).
    pub fn area(&self, until: Duration) -> f64 {
        let mut area = 0.0;
        let mut from = 0.0;
        let mut left = until.as_secs_f64();
        for ramp in &self.0 {
            let d = ramp.duration.as_secs_f64();
            if left <= 0.0 {
                break;
            }
            let t = left.min(d);
            let at_t = from + (ramp.target - from) * t / d;
            area += (from + at_t) / 2.0 * t;
            left -= t;
            from = ramp.target;
        }
        area
    }

    /// The curve in its written form.
    pub(crate) fn written(&self) -> Vec<Stage> {
        self.0
            .iter()
            .map(|r| Stage {
                duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
                target: r.target,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn stage(duration_ms: u64, target: f64) -> Stage {
        Stage {
            duration_ms,
            target,
        }
    }

    #[test]
    fn a_curve_has_its_duration_peak_and_area() {
        let s = Stages::parse("stages", &[stage(15_000, 2000.0), stage(15_000, 0.0)]).unwrap();
        assert_eq!(s.duration(), Duration::from_secs(30));
        assert_eq!(s.peak(), 2000.0);
        assert_eq!(s.area(Duration::from_secs(30)), 30_000.0);
        assert_eq!(s.area(Duration::from_secs(60)), 30_000.0);
        // Half of the ramp up: a quarter of its triangle.
        assert_eq!(s.area(Duration::from_millis(7_500)), 3_750.0);
        assert_eq!(s.written(), vec![stage(15_000, 2000.0), stage(15_000, 0.0)]);
    }

    #[test]
    fn bad_stages_are_refused_with_the_stage_named() {
        for (stages, says) in [
            (vec![], "1 to"),
            (vec![stage(0, 5.0)], "stage 0: duration_ms"),
            (vec![stage(1, 5.0), stage(MAX_STAGE_MS + 1, 5.0)], "stage 1"),
            (vec![stage(1, -1.0)], "stage 0: target"),
            (vec![stage(1, f64::NAN)], "stage 0: target"),
            (vec![stage(10, 0.0), stage(10, 0.0)], "above 0"),
            (vec![stage(1, 1.0); MAX_STAGES + 1], "1 to"),
        ] {
            let err = Stages::parse("stages_total", &stages).unwrap_err();
            assert_eq!(err.field, "stages_total");
            assert!(err.message.contains(says), "{err}");
        }
    }

    #[test]
    fn a_users_curve_takes_whole_users_and_names_the_bad_stage() {
        let s = Stages::users(
            "stages",
            &[stage(2_000, 10.0), stage(1_000, 10.0), stage(1_000, 0.0)],
        )
        .unwrap();
        assert_eq!(s.duration(), Duration::from_secs(4));
        assert_eq!(s.peak(), 10.0);
        assert_eq!(s.at(Duration::from_millis(500)), 2.5);
        assert_eq!(s.at(Duration::from_millis(2_500)), 10.0);
        assert_eq!(s.at(Duration::from_millis(3_750)), 2.5);
        assert_eq!(s.at(Duration::from_secs(9)), 0.0);
        for (stages, field, says) in [
            (vec![], "stages", "1 to"),
            (
                vec![stage(1_000, 5.0), stage(0, 5.0)],
                "stages[1].duration_ms",
                "between 1",
            ),
            (
                vec![stage(1_000, 5.0), stage(1_000, 2.5)],
                "stages[1].target",
                "whole number",
            ),
            (vec![stage(1_000, -1.0)], "stages[0].target", "whole number"),
            (
                vec![stage(1_000, MAX_USERS + 1.0)],
                "stages[0].target",
                "whole number",
            ),
            (
                vec![stage(1_000, f64::INFINITY)],
                "stages[0].target",
                "whole number",
            ),
            (vec![stage(1_000, 0.0)], "stages", "no user"),
        ] {
            let err = Stages::users("stages", &stages).unwrap_err();
            assert_eq!(err.field, field, "{err}");
            assert!(err.message.contains(says), "{err}");
        }
    }
}
