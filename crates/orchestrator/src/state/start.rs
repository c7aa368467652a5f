//! Starting a test: picking its drivers, waiting for their acknowledgements of the config, and
//! the start trigger (sent again to a driver that lost it).

use std::num::NonZeroU32;

use onslaught_protocol::{NodeState, TestConfig, now_ms};

use super::State;
use super::test::Phase;
use super::test::Test;
use crate::config::OrchestratorConfig;
use crate::error::ControlError;
use crate::totals::NodeTotals;

/// What the acknowledgements of a test's config look like.
#[derive(Debug, PartialEq)]
pub enum Acks {
    /// Every chosen driver holds the config.
    All,
    /// A driver refused it.
    Rejected(String),
    /// These drivers have not answered yet.
    Waiting(Vec<String>),
}

impl State {
    /// Picks drivers for the test and returns the config to publish.
    pub fn begin_configuring(
        &mut self,
        id: &str,
        config: &OrchestratorConfig,
    ) -> Result<TestConfig, ControlError> {
        let available = self.available_drivers(config);
        let wanted = self
            .live(id)
            .and_then(|t| t.plan.drivers)
            .map(NonZeroU32::get);
        let shortage = self.driver_shortage(wanted, config);
        let test = self
            .test_mut(id)
            .ok_or_else(|| ControlError::NotFound(id.to_owned()))?;
        let status = test.status();
        let test = match test.live_mut() {
            Some(test) if matches!(test.phase, Phase::Created) => test,
            _ => {
                return Err(ControlError::Conflict(
                    format!("test {id} is already {status:?}").to_lowercase(),
                ));
            }
        };
        if let Some(shortage) = shortage {
            return Err(shortage.into());
        }
        let wanted = test
            .plan
            .drivers
            .map_or(available.len(), |n| n.get() as usize);
        let drivers: Vec<String> = available.into_iter().take(wanted).collect();
        let wire = TestConfig::new(id, test.plan.clone(), drivers.clone());
        test.nodes = drivers
            .iter()
            .map(|d| (d.clone(), NodeTotals::default()))
            .collect();
        test.drivers = drivers;
        test.phase = Phase::Configuring {
            stop_requested: false,
        };
        Ok(wire)
    }

    /// Where the acknowledgements stand.
    pub fn acks(&self, id: &str) -> Acks {
        let Some(test) = self.live(id) else {
            return Acks::Rejected(format!("test {id} vanished"));
        };
        match test.phase {
            Phase::Configuring {
                stop_requested: false,
            } => {}
            Phase::Configuring {
                stop_requested: true,
            } => return Acks::Rejected("stopped before it started".to_owned()),
            ref other => {
                return Acks::Rejected(
                    format!("test {id} is {:?} while configuring", other.status()).to_lowercase(),
                );
            }
        }
        let mut waiting = Vec::new();
        for driver in &test.drivers {
            let state = self.nodes.get(driver).map(|n| &n.state);
            match state {
                Some(s) if s.test_id.as_deref() == Some(id) && s.state == NodeState::Rejected => {
                    let reason = s.reason.clone().unwrap_or_default();
                    return Acks::Rejected(format!("driver {driver} rejected the test: {reason}"));
                }
                Some(s) if s.test_id.as_deref() == Some(id) => {}
                _ => waiting.push(driver.clone()),
            }
        }
        if waiting.is_empty() {
            Acks::All
        } else {
            Acks::Waiting(waiting)
        }
    }

    /// The trigger is going out (the test is configuring; a stop requested meanwhile holds).
    /// Its first checkpoint is due, so a restart finds it even before any metrics.
    pub fn set_running(&mut self, id: &str, start_at_ms: u64) {
        if let Some(test) = self.live_mut(id)
            && let Phase::Configuring { stop_requested } = test.phase
        {
            test.phase = Phase::Running {
                started_at_ms: start_at_ms,
                triggered_at_ms: now_ms(),
                stop_requested,
                checkpoint_due: true,
            };
        }
    }

    /// Running tests whose start trigger some driver never got: the driver still reports the
    /// test as configured in a heartbeat sent more than `after_ms` after the trigger went out
    /// (a driver answers a trigger with a heartbeat at once). Returns each such test's id and
    /// start time, and counts the trigger as sent again now.
    pub fn lost_triggers(&mut self, after_ms: u64) -> Vec<(String, u64)> {
        let now = now_ms();
        let nodes = &self.nodes;
        let mut lost = Vec::new();
        for test in self.tests.iter_mut().filter_map(Test::live_mut) {
            let Phase::Running {
                started_at_ms,
                triggered_at_ms,
                stop_requested: false,
                ..
            } = &mut test.phase
            else {
                continue;
            };
            let due = triggered_at_ms.saturating_add(after_ms);
            let waiting = test.nodes.iter().any(|(id, totals)| {
                !totals.finished
                    && !totals.lost
                    && nodes.get(id).is_some_and(|n| {
                        n.state.state == NodeState::Configured
                            && n.state.test_id.as_deref() == Some(test.id.as_str())
                            && n.last_heartbeat_ms > due
                    })
            });
            if waiting && now > due {
                *triggered_at_ms = now;
                lost.push((test.id.clone(), *started_at_ms));
            }
        }
        lost
    }
}
