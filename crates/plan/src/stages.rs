//! [`Stages`]: a piecewise-linear rate curve (k6's ramping-arrival-rate), validated once.

use std::time::Duration;

use crate::plan::ValidationError;
use crate::request::{MAX_RATE, MAX_STAGE_MS, MAX_STAGES, Stage};

/// A rate curve: from 0 requests per second at the start, each stage moves the rate linearly to
/// its target over its duration. At least one stage, at most [`MAX_STAGES`], each from 1 ms to
/// [`MAX_STAGE_MS`], targets from 0 to [`MAX_RATE`], at least one above 0 (so the curve sends).
#[derive(Clone, Debug, PartialEq)]
pub struct Stages(Vec<Ramp>);

/// One stage of a curve, typed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ramp {
    /// How long the stage lasts.
    pub duration: Duration,
    /// Requests per second at its end.
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
}
