//! Drivers of a test in total taking over the share of drivers that died: when a driver of a
//! running test whose schedule is in total (`rate_total`, `stages_total`; or an avalanche's
//! users curve in total) is declared dead, the others split the rest of the one schedule (or
//! the users) among themselves from one stated instant (a `TAKEOVER` trigger names them in
//! stripe order), and the test records when and about how much of the lost share went
//! unmeasured in between (requests of a schedule; none is estimated for users).

use onslaught_plan::{Load, Schedule, Split, TestPlan};
use onslaught_protocol::{Trigger, TriggerAction};

use super::State;
use super::load::LOAD_CHANGE_LEAD_MS;
use super::test::{LiveTest, Phase};
use crate::views::{LoadChange, Takeover};

impl LiveTest {
    /// The drivers that split the test's schedule now, in stripe order: those it started with,
    /// or those named by its latest takeover.
    pub(super) fn sharing(&self) -> &[String] {
        self.takeovers
            .last()
            .map_or(self.drivers.as_slice(), |t| t.drivers.as_slice())
    }

    /// The last instant (ms since the Unix epoch) at which the test's schedule changed on its
    /// drivers (a new rate or a takeover), if it did: a later change must come after it.
    pub(super) fn last_change_ms(&self) -> Option<u64> {
        let rates = self.load_changes.last().map(|c| c.at_ms);
        let takeovers = self.takeovers.last().map(|t| t.at_ms);
        rates.max(takeovers)
    }

    /// The instant of a change asked for at `now_ms` to a test started at `started_at_ms`: time
    /// for every driver to hear it ([`LOAD_CHANGE_LEAD_MS`]), never before the start or an
    /// earlier change. Returns it (ms since the Unix epoch) and its offset on the test's clock,
    /// or `Err((the test's duration, the offset))` in ms when the test ends before it.
    pub(super) fn next_change_at(
        &self,
        now_ms: u64,
        started_at_ms: u64,
    ) -> Result<(u64, u64), (u128, u64)> {
        let at_ms = (now_ms + LOAD_CHANGE_LEAD_MS)
            .max(started_at_ms)
            .max(self.last_change_ms().map_or(0, |at| at + 1));
        let offset_ms = at_ms - started_at_ms;
        match self.plan.bound.duration() {
            Some(duration) if u128::from(offset_ms) >= duration.as_millis() => {
                Err((duration.as_millis(), offset_ms))
            }
            _ => Ok((at_ms, offset_ms)),
        }
    }

    /// If drivers sharing this running test's schedule in total were declared dead: the
    /// takeover by the others, recorded in the test, and the trigger that tells them. `None`
    /// when there is nothing to take over, nobody left to take it, or no time left for it.
    fn take_over(&mut self, now_ms: u64) -> Option<Trigger> {
        let Phase::Running {
            started_at_ms,
            stop_requested: false,
            ..
        } = self.phase
        else {
            return None;
        };
        let in_total = match &self.plan.load {
            Load::Tsunami(schedule) => schedule.split() == Split::Total,
            Load::Ramping(users) => users.split() == Split::Total,
            Load::Avalanche => false,
        };
        if !in_total {
            return None;
        }
        let gone = |id: &String| {
            self.nodes
                .get(id)
                .is_none_or(|n| n.lost || n.finished || n.stopped.is_some())
        };
        let sharing = self.sharing();
        let lost: Vec<String> = sharing
            .iter()
            .filter(|id| self.nodes.get(*id).is_some_and(|n| n.lost))
            .cloned()
            .collect();
        if lost.is_empty() {
            return None;
        }
        let left: Vec<String> = sharing.iter().filter(|id| !gone(id)).cloned().collect();
        if left.is_empty() {
            return None;
        }
        let (at_ms, offset_ms) = self.next_change_at(now_ms, started_at_ms).ok()?;
        // Where each lost driver's measurements end on the test's clock, and its share of the
        // schedule from there to the takeover.
        let before = sharing.len().max(1) as f64;
        let mut gap_from_offset_ms = offset_ms;
        let mut unmeasured = 0.0;
        for id in &lost {
            let Some(node) = self.nodes.get(id) else {
                continue;
            };
            let start = node
                .started_at_ms
                .map_or(0, |s| s.saturating_sub(started_at_ms));
            let measured_to = (start + node.measured.elapsed_ms()).min(offset_ms);
            gap_from_offset_ms = gap_from_offset_ms.min(measured_to);
            unmeasured +=
                scheduled(&self.plan, &self.load_changes, measured_to, offset_ms) / before;
        }
        if let Phase::Running { checkpoint_due, .. } = &mut self.phase {
            *checkpoint_due = true;
        }
        let lost_at_ms = lost
            .iter()
            .filter_map(|id| self.nodes.get(id).and_then(|n| n.lost_at_ms))
            .max()
            .unwrap_or(now_ms);
        tracing::warn!(
            test_id = self.id,
            lost = lost.join(", "),
            left = left.join(", "),
            at_ms,
            "drivers lost: the others take their share over"
        );
        let mut trigger = Trigger::new(&self.id, TriggerAction::Takeover, started_at_ms);
        trigger.effective_at_ms = Some(at_ms);
        trigger.drivers.clone_from(&left);
        trigger.issued_at_ms = now_ms;
        self.change_triggers.push(trigger.clone());
        self.takeovers.push(Takeover {
            lost,
            detected_at_ms: lost_at_ms,
            at_ms,
            offset_ms,
            drivers: left,
            gap_from_offset_ms,
            unmeasured: unmeasured.round() as u64,
        });
        Some(trigger)
    }
}

/// Most takeovers in one test (each needs a driver lost, so this is never reached with fewer
/// drivers; it bounds what a test keeps).
pub const MAX_TAKEOVERS: usize = 100;

impl State {
    /// The takeovers due in running tests (drivers of a schedule in total declared dead since
    /// the last call), each recorded in its test, with the triggers to send.
    pub fn takeovers_due(&mut self, now_ms: u64) -> Vec<Trigger> {
        self.tests
            .iter_mut()
            .filter_map(|t| t.live_mut())
            .filter(|t| t.takeovers.len() < MAX_TAKEOVERS)
            .filter_map(|t| t.take_over(now_ms))
            .collect()
    }

    /// The takeover of test `id` at `at_ms` could not be sent: it is forgotten (and tried again
    /// on the next liveness check).
    pub fn forget_takeover(&mut self, id: &str, at_ms: u64) {
        if let Some(test) = self.live_mut(id) {
            test.takeovers.retain(|t| t.at_ms != at_ms);
            test.change_triggers
                .retain(|t| t.effective_at_ms != Some(at_ms));
        }
    }
}

/// About how many arrivals of the whole schedule of `plan` (in total), with the rate changes
/// `changes`, fall between `from_ms` and `to_ms` on the test's clock: the area under its rate.
fn scheduled(plan: &TestPlan, changes: &[LoadChange], from_ms: u64, to_ms: u64) -> f64 {
    let Load::Tsunami(schedule) = &plan.load else {
        return 0.0;
    };
    if to_ms <= from_ms {
        return 0.0;
    }
    let ms = |ms: u64| std::time::Duration::from_millis(ms);
    match schedule {
        Schedule::StagesTotal(stages) | Schedule::Stages(stages) => {
            stages.area(ms(to_ms)) - stages.area(ms(from_ms))
        }
        _ => {
            // A constant rate, changed at the instants of `changes`.
            let mut rate = schedule.per_second().unwrap_or(0.0);
            let mut area = 0.0;
            let mut at = from_ms;
            for change in changes {
                if change.offset_ms > at {
                    let until = change.offset_ms.min(to_ms);
                    area += rate * (until - at) as f64 / 1000.0;
                    at = until;
                }
                if change.offset_ms >= to_ms {
                    break;
                }
                rate = change.rate_total.unwrap_or(rate);
            }
            area + rate * to_ms.saturating_sub(at) as f64 / 1000.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: serde_json::Value) -> TestPlan {
        serde_json::from_value(json).unwrap()
    }

    fn change(offset_ms: u64, rate_total: f64) -> LoadChange {
        LoadChange {
            at_ms: 1_000 + offset_ms,
            offset_ms,
            rate: Some(rate_total / 3.0),
            rate_total: Some(rate_total),
            requested_by: "api".into(),
            ..LoadChange::default()
        }
    }

    #[test]
    fn the_schedule_between_two_instants_follows_rate_changes_and_curves() {
        let total = plan(serde_json::json!({
            "test_type": "tsunami", "url": "http://127.0.0.1:1/", "rate_total": 300, "duration_ms": 60_000
        }));
        assert!((scheduled(&total, &[], 10_000, 13_000) - 900.0).abs() < 1e-9);
        // 300/s until 11 s, then 600/s: 300 + 1,200.
        let changes = [change(11_000, 600.0)];
        assert!((scheduled(&total, &changes, 10_000, 13_000) - 1_500.0).abs() < 1e-9);
        assert!((scheduled(&total, &changes, 12_000, 13_000) - 600.0).abs() < 1e-9);
        assert_eq!(scheduled(&total, &changes, 13_000, 12_000), 0.0);
        let curve = plan(serde_json::json!({
            "test_type": "tsunami", "url": "http://127.0.0.1:1/",
            "stages_total": [{"duration_ms": 10_000, "target": 1_000}]
        }));
        // 0 -> 1,000/s over 10 s: the area from 4 s to 6 s is 1,000.
        assert!((scheduled(&curve, &[], 4_000, 6_000) - 1_000.0).abs() < 1e-6);
    }
}
