//! A running test's rate changed (`PATCH /api/tests/{id}`): checked against the test, given one
//! instant at which every driver switches, and recorded in the test (its view and reports).

use onslaught_plan::{Load, LoadChangeError, NewRate, Schedule, Split};
use onslaught_protocol::{Trigger, TriggerAction};

use super::State;
use super::test::Phase;
use crate::error::ControlError;
use crate::views::LoadChange;

/// How far ahead of the request a new rate takes effect: time enough for every driver to get
/// the trigger before its instant (the acceptance asks for the change in force within 1 s).
pub const LOAD_CHANGE_LEAD_MS: u64 = 500;

/// Most changes of one test's rate.
pub const MAX_LOAD_CHANGES: usize = 100;

impl State {
    /// Records a new rate for running test `id`, in force on every driver from an instant
    /// [`LOAD_CHANGE_LEAD_MS`] after `now_ms` (never before the test's start or an earlier
    /// change's instant), and returns the `ADJUST` trigger that tells the drivers.
    pub fn change_load(
        &mut self,
        id: &str,
        new: NewRate,
        requested_by: &str,
        now_ms: u64,
    ) -> Result<Trigger, ControlError> {
        let test = self
            .test_mut(id)
            .ok_or_else(|| ControlError::NotFound(id.to_owned()))?;
        let status = test.status();
        let Some(test) = test.live_mut() else {
            return Err(ControlError::Conflict(format!(
                "test {id} is {} (from an earlier run): only a running test can change its rate",
                format!("{status:?}").to_lowercase()
            )));
        };
        let Phase::Running {
            started_at_ms,
            stop_requested: false,
            ..
        } = test.phase
        else {
            return Err(ControlError::Conflict(format!(
                "test {id} is {}{}: only a running test can change its rate",
                format!("{status:?}").to_lowercase(),
                if matches!(test.phase, Phase::Running { .. }) {
                    " (stopping)"
                } else {
                    ""
                }
            )));
        };
        let Load::Tsunami(schedule) = &test.plan.load else {
            return Err(ControlError::Conflict(format!(
                "test {id} is an avalanche (closed loop: each connection sends as soon as its \
                 previous response is in): it has no rate to change"
            )));
        };
        if test.load_changes.len() >= MAX_LOAD_CHANGES {
            return Err(ControlError::Conflict(format!(
                "test {id} has changed its rate {MAX_LOAD_CHANGES} times, the most a test may"
            )));
        }
        // The drivers that split the schedule now (fewer after a takeover).
        let drivers = test.sharing().len().max(1);
        let changed = schedule.changed(new, drivers).map_err(|e| match e {
            LoadChangeError::Curve => ControlError::Conflict(format!("test {id}: {e}")),
            LoadChangeError::Invalid(invalid) => ControlError::Invalid(invalid),
        })?;
        let (at_ms, offset_ms) =
            test.next_change_at(now_ms, started_at_ms)
                .map_err(|(duration_ms, offset_ms)| {
                    ControlError::Conflict(format!(
                        "test {id} ends {duration_ms} ms after its start, before a new rate \
                         could take effect ({offset_ms} ms)"
                    ))
                })?;
        let (rate, rate_total) = match &changed {
            Schedule::RateTotal(total) => (None, Some(total.per_second())),
            other => (other.per_second(), None),
        };
        let per_driver = changed.per_second().unwrap_or_default();
        let (rate_each, total) = match changed.split() {
            Split::PerDriver => (per_driver, per_driver * drivers as f64),
            Split::Total => (per_driver / drivers as f64, per_driver),
        };
        test.load_changes.push(LoadChange {
            at_ms,
            offset_ms,
            rate: rate_each,
            rate_total: total,
            requested_at_ms: now_ms,
            requested_by: requested_by.to_owned(),
        });
        if let Phase::Running { checkpoint_due, .. } = &mut test.phase {
            *checkpoint_due = true;
        }
        let mut trigger = Trigger::new(id, TriggerAction::Adjust, started_at_ms);
        trigger.rate = rate;
        trigger.rate_total = rate_total;
        trigger.effective_at_ms = Some(at_ms);
        Ok(trigger)
    }

    /// The change of test `id` at `at_ms` could not be sent: it is forgotten.
    pub fn forget_load_change(&mut self, id: &str, at_ms: u64) {
        if let Some(test) = self.live_mut(id) {
            test.load_changes.retain(|c| c.at_ms != at_ms);
        }
    }
}
