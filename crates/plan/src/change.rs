//! A running test's load changed: [`LoadChangeRequest`], the documented JSON form (the body of
//! `PATCH /api/tests/{id}`), and [`NewRate`], the same as a typed value, checked once by
//! `NewRate::try_from`. [`Schedule::changed`] applies it to a test's schedule in the
//! schedule's own split (a rate per driver stays per driver, a total stays a total).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::{Rate, Schedule, ValidationError, invalid, rate};
use crate::request::{MAX_RATE, MIN_RATE};

/// A new load for a running tsunami, as written: one of `rate` (per driver) or `rate_total`.
/// It takes effect on every driver at one instant the orchestrator states.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"required": ["rate"], "properties": {"rate": {"type": "number"}}},
    {"required": ["rate_total"], "properties": {"rate_total": {"type": "number"}}}
]))]
pub struct LoadChangeRequest {
    /// New requests per second per driver (the test's total is this times its drivers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MIN_RATE, max = MAX_RATE))]
    pub rate: Option<f64>,
    /// New requests per second in total over the test's drivers (each then sends its share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MIN_RATE, max = MAX_RATE))]
    pub rate_total: Option<f64>,
}

/// A new rate for a running test, per driver or in total.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NewRate {
    /// Each driver's (`rate`).
    PerDriver(Rate),
    /// The test's, over all its drivers (`rate_total`).
    Total(Rate),
}

impl TryFrom<LoadChangeRequest> for NewRate {
    type Error = ValidationError;

    fn try_from(request: LoadChangeRequest) -> Result<Self, ValidationError> {
        match (request.rate, request.rate_total) {
            (Some(per_driver), None) => Ok(NewRate::PerDriver(rate("rate", per_driver)?)),
            (None, Some(total)) => Ok(NewRate::Total(rate("rate_total", total)?)),
            (Some(_), Some(_)) => Err(invalid(
                "rate_total",
                "give either `rate` (per driver) or `rate_total`, not both",
            )),
            (None, None) => Err(invalid(
                "rate",
                "give the new `rate` (requests per second per driver) or `rate_total`",
            )),
        }
    }
}

/// Why a schedule's rate cannot change.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LoadChangeError {
    /// The schedule is a curve (stages): it is followed as planned.
    #[error(
        "the test follows its stages; only a test with a constant rate (rate, rate_total or \
         delay_ms) can change its rate"
    )]
    Curve,
    /// The new rate, in the schedule's split, is out of bounds.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

impl Schedule {
    /// This schedule at the rate `new` among `drivers` drivers, in its own split: a schedule
    /// per driver (`rate`, `delay_ms`) becomes a rate per driver (a total divided among the
    /// drivers), one in total stays in total (a rate per driver times the drivers). A curve
    /// does not change.
    pub fn changed(&self, new: NewRate, drivers: usize) -> Result<Schedule, LoadChangeError> {
        let n = drivers.max(1) as f64;
        match (self, new) {
            (Schedule::Stages(_) | Schedule::StagesTotal(_), _) => Err(LoadChangeError::Curve),
            (Schedule::Gap(_) | Schedule::Rate(_), NewRate::PerDriver(r))
            | (Schedule::RateTotal(_), NewRate::Total(r)) => Ok(match self {
                Schedule::RateTotal(_) => Schedule::RateTotal(r),
                _ => Schedule::Rate(r),
            }),
            (Schedule::Gap(_) | Schedule::Rate(_), NewRate::Total(r)) => {
                let per_driver = rate("rate_total", r.per_second() / n).map_err(|e| {
                    invalid(
                        "rate_total",
                        format!(
                            "{} per driver over {drivers} drivers: {}",
                            r.per_second() / n,
                            e.message
                        ),
                    )
                })?;
                Ok(Schedule::Rate(per_driver))
            }
            (Schedule::RateTotal(_), NewRate::PerDriver(r)) => {
                let total = rate("rate", r.per_second() * n).map_err(|e| {
                    invalid(
                        "rate",
                        format!(
                            "{} in total over {drivers} drivers: {}",
                            r.per_second() * n,
                            e.message
                        ),
                    )
                })?;
                Ok(Schedule::RateTotal(total))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(rate: Option<f64>, rate_total: Option<f64>) -> Result<NewRate, ValidationError> {
        NewRate::try_from(LoadChangeRequest { rate, rate_total })
    }

    #[test]
    fn a_new_rate_is_one_rate_in_bounds_and_names_its_field() {
        assert!(
            matches!(new(Some(300.0), None), Ok(NewRate::PerDriver(r)) if r.per_second() == 300.0)
        );
        assert!(matches!(new(None, Some(900.0)), Ok(NewRate::Total(r)) if r.per_second() == 900.0));
        for (rate, total, field) in [
            (Some(0.0), None, "rate"),
            (Some(-1.0), None, "rate"),
            (Some(f64::NAN), None, "rate"),
            (Some(MAX_RATE * 2.0), None, "rate"),
            (None, Some(0.0), "rate_total"),
            (Some(1.0), Some(2.0), "rate_total"),
            (None, None, "rate"),
        ] {
            assert_eq!(
                new(rate, total).unwrap_err().field,
                field,
                "{rate:?} {total:?}"
            );
        }
        let body: Result<LoadChangeRequest, _> = serde_json::from_str(r#"{"users": 20}"#);
        assert!(
            body.unwrap_err()
                .to_string()
                .contains("unknown field `users`")
        );
    }

    #[test]
    fn a_schedule_keeps_its_split() {
        let per_driver = |r: f64| NewRate::PerDriver(rate("rate", r).unwrap());
        let total = |r: f64| NewRate::Total(rate("rate_total", r).unwrap());
        let rate_of = |s: Schedule| s.per_second().unwrap();
        let gap = Schedule::Gap(std::time::Duration::from_millis(10));
        assert_eq!(rate_of(gap.changed(per_driver(300.0), 3).unwrap()), 300.0);
        assert_eq!(
            gap.changed(total(900.0), 3).unwrap(),
            Schedule::Rate(rate("rate", 300.0).unwrap())
        );
        let in_total = Schedule::RateTotal(rate("rate_total", 100.0).unwrap());
        assert_eq!(
            in_total.changed(per_driver(300.0), 3).unwrap(),
            Schedule::RateTotal(rate("rate_total", 900.0).unwrap())
        );
        assert_eq!(
            in_total.changed(total(50.0), 3).unwrap(),
            Schedule::RateTotal(rate("rate_total", 50.0).unwrap())
        );
        let Err(LoadChangeError::Invalid(e)) = in_total.changed(per_driver(MAX_RATE), 3) else {
            panic!("a total above the bound")
        };
        assert_eq!(e.field, "rate");
        let Err(LoadChangeError::Invalid(e)) = gap.changed(total(MIN_RATE), 3) else {
            panic!("a rate per driver below the bound")
        };
        assert_eq!(e.field, "rate_total");
        let stages = crate::Stages::parse(
            "stages",
            &[crate::Stage {
                duration_ms: 1000,
                target: 10.0,
            }],
        )
        .unwrap();
        assert_eq!(
            Schedule::Stages(stages).changed(per_driver(1.0), 1),
            Err(LoadChangeError::Curve)
        );
    }
}
