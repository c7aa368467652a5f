//! Drivers as the orchestrator knows them: registration, heartbeats, liveness, and the one rule
//! for "enough drivers".

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use onslaught_protocol::{Heartbeat, HeartbeatState, NodeState, Register, now_ms};

use super::State;
use super::test::{Phase, Test};
use crate::config::OrchestratorConfig;
use crate::error::DriverShortage;
use crate::views::{Liveness, NodeView};

/// A driver as the orchestrator knows it.
#[derive(Debug)]
pub struct Node {
    pub(super) node_id: String,
    pub(super) address: String,
    pub(super) registered_at_ms: u64,
    pub(super) last_heartbeat_ms: u64,
    /// Local monotonic time of the last message from the node (liveness ignores clock skew).
    pub(super) last_seen: Instant,
    pub(super) state: HeartbeatState,
    pub(super) requests_sent: u64,
    /// The driver's own counters from its heartbeat (refused messages and the like).
    pub(super) counters: BTreeMap<String, u64>,
    /// Its liveness when last checked, so that only a change is news.
    pub(super) liveness_seen: Liveness,
}

impl Node {
    pub(super) fn new(node_id: &str) -> Self {
        Self {
            node_id: node_id.to_owned(),
            address: String::from("unknown"),
            registered_at_ms: now_ms(),
            last_heartbeat_ms: now_ms(),
            last_seen: Instant::now(),
            state: HeartbeatState::idle(),
            requests_sent: 0,
            counters: BTreeMap::new(),
            liveness_seen: Liveness::Alive,
        }
    }

    pub(super) fn liveness(&self, config: &OrchestratorConfig) -> Liveness {
        let silent = self.last_seen.elapsed();
        if silent >= config.dead_after {
            Liveness::Dead
        } else if silent >= config.missing_after {
            Liveness::Missing
        } else {
            Liveness::Alive
        }
    }

    pub(super) fn is_busy(&self) -> bool {
        matches!(self.state.state, NodeState::Configured | NodeState::Running)
    }
}

impl State {
    /// A driver registered. Returns true when another live node already uses this id from a
    /// different address (the registration is then ignored).
    pub fn register(&mut self, register: &Register, config: &OrchestratorConfig) -> bool {
        let node = self
            .nodes
            .entry(register.node_id.clone())
            .or_insert_with(|| {
                tracing::info!(
                    node_id = register.node_id,
                    address = register.node_ip,
                    "driver registered"
                );
                Node::new(&register.node_id)
            });
        let known = node.address != "unknown" && node.address != register.node_ip;
        if known && node.liveness(config) == Liveness::Alive {
            tracing::warn!(
                node_id = register.node_id,
                address = register.node_ip,
                existing = node.address,
                "duplicate node id: a live driver already uses it; ignoring this registration"
            );
            return true;
        }
        node.address.clone_from(&register.node_ip);
        node.last_seen = Instant::now();
        false
    }

    /// A driver's heartbeat.
    pub fn heartbeat(&mut self, heartbeat: &Heartbeat) {
        let mut state = heartbeat.state.clone();
        // A driver whose final metrics for a test arrived is done with it, whatever a heartbeat
        // sent before them (and published after them) says.
        if let Some(test_id) = &state.test_id
            && matches!(state.state, NodeState::Configured | NodeState::Running)
            && self.finished_in(test_id, &heartbeat.node_id)
        {
            state.state = NodeState::Finished;
        }
        let node = self
            .nodes
            .entry(heartbeat.node_id.clone())
            .or_insert_with(|| Node::new(&heartbeat.node_id));
        node.last_seen = Instant::now();
        node.last_heartbeat_ms = heartbeat.timestamp.parse().unwrap_or_else(|_| now_ms());
        node.state = state;
        node.requests_sent = heartbeat.info.get("requests_sent").copied().unwrap_or(0);
        node.counters = heartbeat
            .info
            .iter()
            .filter(|(k, _)| k.as_str() != "requests_sent")
            .map(|(k, v)| (k.clone(), *v))
            .collect();
    }

    /// Whether `node_id`'s final metrics for `test_id` arrived.
    fn finished_in(&self, test_id: &str, node_id: &str) -> bool {
        self.live(test_id)
            .and_then(|t| t.nodes.get(node_id))
            .is_some_and(|n| n.finished)
    }

    /// Its final metrics for `test_id` arrived: the driver is done with the test (and free for
    /// the next one) even before its heartbeat says so.
    pub(super) fn finished_with(&mut self, node_id: &str, test_id: &str) {
        if let Some(node) = self.nodes.get_mut(node_id)
            && node.state.test_id.as_deref() == Some(test_id)
            && node.is_busy()
        {
            node.state.state = NodeState::Finished;
        }
    }

    /// Marks drivers dead past the threshold as lost in their running tests. Returns the tests
    /// that completed because of it, and whether anything users see changed (a driver's
    /// liveness, a driver lost).
    pub fn check_liveness(&mut self, config: &OrchestratorConfig) -> (Vec<String>, bool) {
        let mut changed = false;
        for node in self.nodes.values_mut() {
            let liveness = node.liveness(config);
            if liveness != node.liveness_seen {
                node.liveness_seen = liveness;
                changed = true;
            }
        }
        let dead: HashSet<&str> = self
            .nodes
            .values()
            .filter(|n| n.liveness_seen == Liveness::Dead)
            .map(|n| n.node_id.as_str())
            .collect();
        let mut done = Vec::new();
        for test in self.tests.iter_mut().filter_map(Test::live_mut) {
            let Phase::Running { checkpoint_due, .. } = &mut test.phase else {
                continue;
            };
            for (id, node) in test.nodes.iter_mut() {
                if !node.finished && !node.lost && dead.contains(id.as_str()) {
                    tracing::warn!(
                        test_id = test.id,
                        node_id = id,
                        "driver declared dead during the test"
                    );
                    node.lost = true;
                    node.lost_at_ms = Some(now_ms());
                    *checkpoint_due = true;
                    changed = true;
                }
            }
            if test.complete_if_done() {
                done.push(test.id.clone());
            }
        }
        (done, changed)
    }

    /// Drivers that are alive and not busy with another test, in id order.
    pub fn available_drivers(&self, config: &OrchestratorConfig) -> Vec<String> {
        self.nodes
            .values()
            .filter(|n| n.liveness(config) == Liveness::Alive && !n.is_busy())
            .map(|n| n.node_id.clone())
            .collect()
    }

    /// Why a test asking for `wanted` drivers (all live ones when `None`) cannot start now, if
    /// it cannot: the one rule for "enough drivers", used when a test is created to start and
    /// when it starts.
    pub fn driver_shortage(
        &self,
        wanted: Option<u32>,
        config: &OrchestratorConfig,
    ) -> Option<DriverShortage> {
        let live: Vec<&Node> = self
            .nodes
            .values()
            .filter(|n| n.liveness(config) == Liveness::Alive)
            .collect();
        let busy = live.iter().filter(|n| n.is_busy()).count();
        let idle = live.len() - busy;
        let wanted = wanted.map_or(1, |n| n as usize);
        if live.is_empty() {
            Some(DriverShortage::NoneLive)
        } else if idle == 0 {
            Some(DriverShortage::AllBusy { busy })
        } else if wanted > idle {
            Some(DriverShortage::TooFew { wanted, idle, busy })
        } else {
            None
        }
    }

    /// Every known driver.
    pub fn node_views(&self, config: &OrchestratorConfig) -> Vec<NodeView> {
        self.nodes
            .values()
            .map(|n| NodeView {
                node_id: n.node_id.clone(),
                address: n.address.clone(),
                state: n.state.state,
                test_id: n.state.test_id.clone(),
                liveness: n.liveness(config),
                last_heartbeat_ms: n.last_heartbeat_ms,
                registered_at_ms: n.registered_at_ms,
                requests_sent: n.requests_sent,
                reason: n.state.reason.clone(),
                counters: n.counters.clone(),
            })
            .collect()
    }
}
