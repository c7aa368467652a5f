//! A running test's load changed: [`LoadChangeRequest`], the documented JSON form (the body of
//! `PATCH /api/tests/{id}`), and [`NewLoad`], the same as a typed value (a [`NewRate`] for a
//! tsunami, [`NewUsers`] for an avalanche), checked once by `NewLoad::try_from`.
//! [`Schedule::changed`] applies a new rate to a test's schedule in the schedule's own split (a
//! rate per driver stays per driver, a total stays a total).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::{Rate, Schedule, ValidationError, invalid, rate};
use crate::request::{MAX_CONCURRENCY, MAX_RATE, MIN_RATE};

/// The most virtual users a running avalanche may be changed to in total (`users_total`); each
/// driver's share is bounded by [`MAX_CONCURRENCY`] too.
pub const MAX_USERS_TOTAL: u64 = 10_000_000;

/// A new load for a running test, as written: one of `rate` (per driver) or `rate_total` for a
/// tsunami, `users` (per driver) or `users_total` for an avalanche. It takes effect on every
/// driver at one instant the orchestrator states.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"required": ["rate"], "properties": {"rate": {"type": "number"}}},
    {"required": ["rate_total"], "properties": {"rate_total": {"type": "number"}}},
    {"required": ["users"], "properties": {"users": {"type": "integer"}}},
    {"required": ["users_total"], "properties": {"users_total": {"type": "integer"}}}
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
    /// An avalanche's new virtual users per driver (each a keep-alive connection; users above
    /// it finish their request in flight and wait, new ones start).
    #[serde(
        default,
        deserialize_with = "crate::request::whole::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1, max = MAX_CONCURRENCY))]
    pub users: Option<u64>,
    /// An avalanche's new virtual users in total over its drivers: driver k of n runs the users
    /// i < users_total with i mod n = k (at least one each).
    #[serde(
        default,
        deserialize_with = "crate::request::whole::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1, max = MAX_USERS_TOTAL))]
    pub users_total: Option<u64>,
}

/// A new rate for a running test, per driver or in total.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NewRate {
    /// Each driver's (`rate`).
    PerDriver(Rate),
    /// The test's, over all its drivers (`rate_total`).
    Total(Rate),
}

/// New virtual users for a running avalanche, per driver or in total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewUsers {
    /// Each driver's (`users`), 1 to [`MAX_CONCURRENCY`].
    PerDriver(u64),
    /// The test's, over all its drivers (`users_total`), 1 to [`MAX_USERS_TOTAL`].
    Total(u64),
}

impl NewUsers {
    /// Each of `drivers` drivers' users, in stripe order (driver k of n runs the users i with
    /// i mod n = k), or why a driver's share is out of bounds (named by the field given).
    pub fn shares(self, drivers: usize) -> Result<Vec<u64>, ValidationError> {
        let n = drivers.max(1);
        let shares: Vec<u64> = match self {
            NewUsers::PerDriver(users) => vec![users; n],
            NewUsers::Total(total) => {
                // Driver k runs the users i < total with i mod n = k.
                let n = n as u64;
                (0..n)
                    .map(|k| total / n + u64::from(k < total % n))
                    .collect()
            }
        };
        let (field, given) = match self {
            NewUsers::PerDriver(users) => ("users", users),
            NewUsers::Total(total) => ("users_total", total),
        };
        if shares.contains(&0) {
            return Err(invalid(
                field,
                format!("{given} users over {n} drivers leaves a driver none: give at least {n}"),
            ));
        }
        if shares.iter().any(|&s| s > u64::from(MAX_CONCURRENCY)) {
            return Err(invalid(
                field,
                format!(
                    "{given} users over {n} drivers is more than {MAX_CONCURRENCY} on a driver"
                ),
            ));
        }
        Ok(shares)
    }
}

/// A running test's new load: a rate for a tsunami, users for an avalanche.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NewLoad {
    /// `rate` or `rate_total`.
    Rate(NewRate),
    /// `users` or `users_total`.
    Users(NewUsers),
}

impl TryFrom<LoadChangeRequest> for NewLoad {
    type Error = ValidationError;

    fn try_from(request: LoadChangeRequest) -> Result<Self, ValidationError> {
        let users = |field: &str, n: u64, max: u64| {
            if (1..=max).contains(&n) {
                Ok(n)
            } else {
                Err(invalid(field, format!("must be between 1 and {max}")))
            }
        };
        match (
            request.rate,
            request.rate_total,
            request.users,
            request.users_total,
        ) {
            (Some(per_driver), None, None, None) => {
                Ok(NewLoad::Rate(NewRate::PerDriver(rate("rate", per_driver)?)))
            }
            (None, Some(total), None, None) => {
                Ok(NewLoad::Rate(NewRate::Total(rate("rate_total", total)?)))
            }
            (None, None, Some(n), None) => Ok(NewLoad::Users(NewUsers::PerDriver(users(
                "users",
                n,
                u64::from(MAX_CONCURRENCY),
            )?))),
            (None, None, None, Some(n)) => Ok(NewLoad::Users(NewUsers::Total(users(
                "users_total",
                n,
                MAX_USERS_TOTAL,
            )?))),
            (None, None, None, None) => Err(invalid(
                "rate",
                "give the new `rate` (requests per second per driver) or `rate_total` of a \
                 tsunami, or the new `users` (per driver) or `users_total` of an avalanche",
            )),
            (rate, rate_total, users, _) => {
                // The second field given is the one at fault.
                let given = [
                    ("rate", rate.is_some()),
                    ("rate_total", rate_total.is_some()),
                    ("users", users.is_some()),
                    ("users_total", true),
                ];
                let second = given
                    .iter()
                    .filter(|(_, is)| *is)
                    .nth(1)
                    .map_or("users_total", |(field, _)| *field);
                Err(invalid(
                    second,
                    "give one of `rate`, `rate_total`, `users` and `users_total`, not two",
                ))
            }
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

    fn new(rate: Option<f64>, rate_total: Option<f64>) -> Result<NewLoad, ValidationError> {
        NewLoad::try_from(LoadChangeRequest {
            rate,
            rate_total,
            ..LoadChangeRequest::default()
        })
    }

    fn users(users: Option<u64>, users_total: Option<u64>) -> Result<NewLoad, ValidationError> {
        NewLoad::try_from(LoadChangeRequest {
            users,
            users_total,
            ..LoadChangeRequest::default()
        })
    }

    #[test]
    fn a_new_rate_is_one_rate_in_bounds_and_names_its_field() {
        assert!(
            matches!(new(Some(300.0), None), Ok(NewLoad::Rate(NewRate::PerDriver(r))) if r.per_second() == 300.0)
        );
        assert!(
            matches!(new(None, Some(900.0)), Ok(NewLoad::Rate(NewRate::Total(r))) if r.per_second() == 900.0)
        );
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
        // JSON does not tell 20 from 20.0: both are 20 users.
        let body: LoadChangeRequest = serde_json::from_str(r#"{"users": 20.0}"#).unwrap();
        assert_eq!(body.users, Some(20));
        let body: Result<LoadChangeRequest, _> = serde_json::from_str(r#"{"users": 2.5}"#);
        assert!(body.is_err());
        let body: Result<LoadChangeRequest, _> = serde_json::from_str(r#"{"vus": 20}"#);
        assert!(
            body.unwrap_err()
                .to_string()
                .contains("unknown field `vus`")
        );
    }

    #[test]
    fn new_users_are_one_count_in_bounds_split_by_stripe() {
        assert_eq!(
            users(Some(20), None),
            Ok(NewLoad::Users(NewUsers::PerDriver(20)))
        );
        assert_eq!(users(None, Some(7)), Ok(NewLoad::Users(NewUsers::Total(7))));
        for (per_driver, total, field) in [
            (Some(0), None, "users"),
            (Some(u64::from(MAX_CONCURRENCY) + 1), None, "users"),
            (None, Some(0), "users_total"),
            (None, Some(MAX_USERS_TOTAL + 1), "users_total"),
            (Some(1), Some(2), "users_total"),
        ] {
            assert_eq!(
                users(per_driver, total).unwrap_err().field,
                field,
                "{per_driver:?} {total:?}"
            );
        }
        let both = NewLoad::try_from(LoadChangeRequest {
            rate: Some(10.0),
            users: Some(3),
            ..LoadChangeRequest::default()
        });
        assert_eq!(both.unwrap_err().field, "users");
        // 7 over 3 drivers: users 0, 3, 6 / 1, 4 / 2, 5.
        assert_eq!(NewUsers::Total(7).shares(3), Ok(vec![3, 2, 2]));
        assert_eq!(NewUsers::PerDriver(4).shares(2), Ok(vec![4, 4]));
        assert_eq!(
            NewUsers::Total(2).shares(3).unwrap_err().field,
            "users_total"
        );
        let over = NewUsers::Total(u64::from(MAX_CONCURRENCY) * 2 + 1).shares(2);
        assert_eq!(over.unwrap_err().field, "users_total");
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
