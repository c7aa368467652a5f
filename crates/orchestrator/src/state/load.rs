//! A running test's load changed (`PATCH /api/tests/{id}`): a tsunami's rate or an avalanche's
//! virtual users, checked against the test, given one instant at which every driver switches,
//! and recorded in the test (its view and reports).

use onslaught_plan::{Load, LoadChangeError, NewLoad, NewRate, NewUsers, Schedule, Split};
use onslaught_protocol::{Trigger, TriggerAction};

use onslaught_protocol::{LAST_CHANGE_INFO, NodeState};

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
    /// Records a new load for running test `id` (a rate for a tsunami, users for an
    /// avalanche), in force on every driver from an instant [`LOAD_CHANGE_LEAD_MS`] after
    /// `now_ms` (never before the test's start or an earlier change's instant), and returns the
    /// `ADJUST` trigger that tells the drivers.
    pub fn change_load(
        &mut self,
        id: &str,
        new: NewLoad,
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
        if test.load_changes.len() >= MAX_LOAD_CHANGES {
            return Err(ControlError::Conflict(format!(
                "test {id} has changed its load {MAX_LOAD_CHANGES} times, the most a test may"
            )));
        }
        // The drivers that split the schedule now (fewer after a takeover).
        let sharing = test.sharing().to_vec();
        let drivers = sharing.len().max(1);
        let (mut change, mut trigger) = match (new, &test.plan.load) {
            (NewLoad::Rate(rate), Load::Tsunami(schedule)) => {
                new_rate(id, schedule, rate, drivers, started_at_ms)?
            }
            (NewLoad::Users(users), Load::Avalanche) => {
                let shares = users.shares(drivers).map_err(ControlError::Invalid)?;
                let mut trigger = Trigger::new(id, TriggerAction::Adjust, started_at_ms);
                let per_driver = match users {
                    NewUsers::PerDriver(n) => {
                        trigger.users = Some(n);
                        Some(n)
                    }
                    NewUsers::Total(total) => {
                        trigger.users_total = Some(total);
                        trigger.drivers = sharing;
                        None
                    }
                };
                let change = LoadChange {
                    users: per_driver,
                    users_total: Some(shares.iter().sum()),
                    ..LoadChange::default()
                };
                (change, trigger)
            }
            (NewLoad::Rate(_), Load::Avalanche | Load::Ramping(_)) => {
                return Err(ControlError::Conflict(format!(
                    "test {id} is an avalanche (closed loop: each user sends as soon as its \
                     previous response is in): it has no rate to change; give `users` or \
                     `users_total`"
                )));
            }
            (NewLoad::Users(_), Load::Ramping(_)) => {
                return Err(ControlError::Conflict(format!(
                    "test {id} follows its stages of virtual users; only an avalanche with a \
                     constant number of users can change them"
                )));
            }
            (NewLoad::Users(_), Load::Tsunami(_)) => {
                return Err(ControlError::Conflict(format!(
                    "test {id} is a tsunami (requests on a schedule, not users in a loop): give \
                     a new `rate` or `rate_total`"
                )));
            }
        };
        let (at_ms, offset_ms) =
            test.next_change_at(now_ms, started_at_ms)
                .map_err(|(duration_ms, offset_ms)| {
                    ControlError::Conflict(format!(
                        "test {id} ends {duration_ms} ms after its start, before a new load \
                         could take effect ({offset_ms} ms)"
                    ))
                })?;
        change.at_ms = at_ms;
        change.offset_ms = offset_ms;
        change.requested_at_ms = now_ms;
        requested_by.clone_into(&mut change.requested_by);
        test.load_changes.push(change);
        if let Phase::Running { checkpoint_due, .. } = &mut test.phase {
            *checkpoint_due = true;
        }
        trigger.effective_at_ms = Some(at_ms);
        trigger.issued_at_ms = now_ms;
        test.change_triggers.push(trigger.clone());
        Ok(trigger)
    }

    /// The schedule changes (`ADJUST`, `TAKEOVER`) of running tests that a driver missed, to
    /// send again: a driver running the test whose heartbeat, sent `after_ms` or more after the
    /// latest change was issued, reports an earlier change as its last (`last_change_ms`) gets
    /// every change after that one, in order (at most once per `after_ms` per test). A driver
    /// takes a change once; copies of one it has are ignored.
    pub fn lost_changes(&mut self, after_ms: u64, now_ms: u64) -> Vec<Trigger> {
        let nodes = &self.nodes;
        let mut lost = Vec::new();
        for test in self.tests.iter_mut().filter_map(|t| t.live_mut()) {
            let Phase::Running {
                stop_requested: false,
                ..
            } = test.phase
            else {
                continue;
            };
            let Some(latest) = test.change_triggers.last() else {
                continue;
            };
            let due = latest.issued_at_ms.saturating_add(after_ms);
            if now_ms < due || now_ms < test.changes_resent_at_ms.saturating_add(after_ms) {
                continue;
            }
            // The earliest last change among the drivers behind.
            let behind = test
                .nodes
                .iter()
                .filter(|(_, totals)| !totals.finished && !totals.lost)
                .filter_map(|(id, _)| nodes.get(id))
                .filter(|n| {
                    n.state.state == NodeState::Running
                        && n.state.test_id.as_deref() == Some(test.id.as_str())
                        && n.last_heartbeat_ms > due
                })
                .filter_map(|n| n.counters.get(LAST_CHANGE_INFO).copied())
                .filter(|last| Some(*last) < latest.effective_at_ms)
                .min();
            let Some(behind) = behind else {
                continue;
            };
            test.changes_resent_at_ms = now_ms;
            lost.extend(
                test.change_triggers
                    .iter()
                    .filter(|t| t.effective_at_ms > Some(behind))
                    .cloned(),
            );
        }
        lost
    }

    /// The change of test `id` at `at_ms` could not be sent: it is forgotten.
    pub fn forget_load_change(&mut self, id: &str, at_ms: u64) {
        if let Some(test) = self.live_mut(id) {
            test.load_changes.retain(|c| c.at_ms != at_ms);
            test.change_triggers
                .retain(|t| t.effective_at_ms != Some(at_ms));
        }
    }
}

/// The change of `schedule` (test `id`'s, split among `drivers`) to `new`, as recorded (its
/// instant left to fill) and as told to the drivers (an `ADJUST` trigger in the schedule's own
/// split).
fn new_rate(
    id: &str,
    schedule: &Schedule,
    new: NewRate,
    drivers: usize,
    started_at_ms: u64,
) -> Result<(LoadChange, Trigger), ControlError> {
    let changed = schedule.changed(new, drivers).map_err(|e| match e {
        LoadChangeError::Curve => ControlError::Conflict(format!("test {id}: {e}")),
        LoadChangeError::Invalid(invalid) => ControlError::Invalid(invalid),
    })?;
    let mut trigger = Trigger::new(id, TriggerAction::Adjust, started_at_ms);
    match &changed {
        Schedule::RateTotal(total) => trigger.rate_total = Some(total.per_second()),
        other => trigger.rate = other.per_second(),
    }
    let per_driver = changed.per_second().unwrap_or_default();
    let (rate_each, total) = match changed.split() {
        Split::PerDriver => (per_driver, per_driver * drivers as f64),
        Split::Total => (per_driver / drivers as f64, per_driver),
    };
    let change = LoadChange {
        rate: Some(rate_each),
        rate_total: Some(total),
        ..LoadChange::default()
    };
    Ok((change, trigger))
}
