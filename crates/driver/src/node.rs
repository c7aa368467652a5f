//! The driver's event loop: configs and triggers in; register, heartbeats and test runs out.
//!
//! Control messages are checked before anything runs: the signature (when a secret is set), the
//! leadership epoch (a command or heartbeat from a deposed orchestrator, stamped with a lower
//! epoch than the highest seen, is refused and counted in `stale_epoch`), the participant list, replays (a test already run, or a config older than [`MAX_CONFIG_AGE`]),
//! and the target allowlist. A running test goes on, publishing its metrics, while the
//! orchestrator is silent (a restarted orchestrator resumes it from the metrics topic), and
//! stops by itself once the orchestrator's heartbeats have stopped for `orchestrator_timeout`
//! (30 s by default): no runaway load when the orchestrator dies for good.
//!
//! Nothing in the loop waits on I/O: register and heartbeats go to the publisher's slots
//! ([`crate::publish`]), and the allowlist's lookup of a target host runs in a task whose answer
//! comes back as an event, so the watchdog and a stop trigger are handled on time even while the
//! broker or the resolver stalls. On shutdown the running test is stopped and the publisher drains its queue
//! (the final metrics message included) within [`SHUTDOWN_DRAIN`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use onslaught_engine::LoadSpec;
use onslaught_protocol::{
    Fence, Heartbeat, HeartbeatState, LAST_CHANGE_INFO, Message, NodeState, Register, Role, Signed,
    StaleEpoch, Stamped, TestConfig, Topic, Trigger, TriggerAction, decode, now_ms,
};
use onslaught_transport::{Backlog, Transport};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::convert::{RateChange, load_change, load_spec, stripe_of, takeover};
use crate::publish::{self, METRICS_QUEUE};
use crate::test_run::{Context, Outcome, StopSignal, run_test};
use crate::{DriverConfig, DriverError, DriverStats, allow};

/// Re-send `register` this often, so an orchestrator started after the driver learns its address.
const REGISTER_EVERY: Duration = Duration::from_secs(10);

/// A config issued longer ago than this (by the orchestrator's clock) is a replay.
pub const MAX_CONFIG_AGE: Duration = Duration::from_secs(60);

/// Clock difference tolerated between the orchestrator and a driver.
pub const CLOCK_SKEW: Duration = Duration::from_secs(2);

/// Test ids remembered as already run, to refuse replays.
const REMEMBERED_TESTS: usize = 1024;

/// On shutdown, the running test's end and the publisher's queue get this long, together.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

/// How long resolving a target's host for the allowlist may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// Rate changes waiting for a run to take them, at most (the orchestrator sends at most 100
/// per test, each some time apart).
const RATE_CHANGES_QUEUED: usize = 64;

/// The test this driver holds, from configuration to its end.
struct Current {
    /// The configuration as received.
    config: TestConfig,
    /// What the engine runs, built once from the plan when it was accepted; taken by the start.
    spec: Option<LoadSpec>,
    /// What the driver is doing with it.
    state: NodeState,
    /// Why it was rejected or stopped, if it was.
    reason: Option<String>,
    /// Stops the run, with a reason.
    stop: StopSignal,
    /// Requests sent so far, for heartbeats.
    sent: Arc<AtomicU64>,
    /// The run queued its final metrics: the test is over for this driver, which is free for the
    /// next one while the run winds down.
    done: Arc<AtomicBool>,
    /// The run, once triggered.
    task: Option<JoinHandle<Outcome>>,
    /// Rate changes for the run (queued until it starts, applied in order).
    changes: mpsc::Sender<RateChange>,
    /// The run's end of `changes`, until the start takes it.
    changes_rx: Option<mpsc::Receiver<RateChange>>,
    /// The instant of the latest rate change taken, ms since the Unix epoch: an older one
    /// (a replay) is ignored.
    last_change_ms: u64,
}

impl Current {
    /// The run is going and has not queued its final metrics.
    fn is_busy(&self) -> bool {
        self.task.is_some() && !self.done.load(Ordering::Acquire)
    }

    /// The state heartbeats report: finished as soon as the final metrics are queued.
    fn reported_state(&self) -> NodeState {
        if self.state == NodeState::Running && self.done.load(Ordering::Acquire) {
            NodeState::Finished
        } else {
            self.state
        }
    }
}

/// A config's target host, resolved for the allowlist by a task of its own: the answer comes
/// back to the loop as an event.
struct Resolved {
    /// The config it was resolved for.
    test_id: String,
    /// The host as written in the target URL.
    host: String,
    /// Its addresses; none when the lookup failed or timed out.
    addrs: Vec<std::net::IpAddr>,
}

/// The driver's state between events.
struct Node {
    ctx: Context,
    config: DriverConfig,
    current: Option<Current>,
    /// A config (with the engine spec built from its plan) whose target host is being resolved
    /// for the allowlist; a newer config replaces it (the older lookup's answer is then ignored).
    pending: Option<(TestConfig, LoadSpec)>,
    /// Where lookups send their answer.
    resolved: mpsc::Sender<Resolved>,
    /// Tests already configured here (replays of their configs are refused).
    seen_tests: VecDeque<String>,
    /// Last heartbeat heard from an orchestrator (a deposed one's do not count).
    orchestrator_seen: Instant,
    /// The highest leadership epoch seen: commands from lower ones are refused.
    fence: Fence,
    /// When this driver started, ms since the Unix epoch: a config issued before it is a replay
    /// (the memory of tests already run does not survive a restart).
    started_ms: u64,
    /// The depth of this node's subscriptions, reported in heartbeats.
    backlogs: [Backlog; 3],
}

/// Runs a driver until `shutdown` fires. A running test is then stopped and its final metrics
/// published before returning, within [`SHUTDOWN_DRAIN`] (what a stalled broker has not taken
/// by then is counted in `metrics_abandoned`).
pub async fn run(
    config: DriverConfig,
    transport: Arc<dyn Transport>,
    stats: Arc<DriverStats>,
    shutdown: CancellationToken,
) -> Result<(), DriverError> {
    // Subscribe before registering, so no config sent in reply to the registration is missed.
    let mut configs = transport.subscribe(Topic::TestConfig).await?;
    let mut triggers = transport.subscribe(Topic::Trigger).await?;
    let mut heartbeats = transport.subscribe(Topic::Heartbeat).await?;
    let node_id = config.node_id.clone();
    let (outbox, publisher) = publish::spawn(
        Arc::clone(&transport),
        node_id.clone(),
        Arc::clone(&stats),
        METRICS_QUEUE,
    );
    let register = Register::new(&node_id, &config.address);
    outbox.register(&register);

    let ctx = Context {
        outbox,
        node_id: node_id.clone(),
        stats: Arc::clone(&stats),
        metrics_every: config.metrics_every.min(Duration::from_secs(1)),
    };
    let mut heartbeat = tokio::time::interval(config.heartbeat_every);
    let mut reregister = tokio::time::interval(REGISTER_EVERY);
    reregister.tick().await;
    let mut watchdog = tokio::time::interval(Duration::from_millis(250));
    let (resolved, mut lookups) = mpsc::channel(4);
    let mut node = Node {
        ctx,
        config,
        current: None,
        pending: None,
        resolved,
        seen_tests: VecDeque::new(),
        orchestrator_seen: Instant::now(),
        fence: Fence::default(),
        started_ms: now_ms(),
        backlogs: [configs.backlog(), triggers.backlog(), heartbeats.backlog()],
    };
    tracing::info!(node_id, "driver ready");

    loop {
        let finished = async {
            match node.current.as_mut().and_then(|c| c.task.as_mut()) {
                Some(task) => task.await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = heartbeat.tick() => node.send_heartbeat(),
            _ = reregister.tick() => node.ctx.outbox.register(&register),
            _ = watchdog.tick() => node.check_orchestrator(),
            payload = configs.recv() => {
                let Some(payload) = payload else { break };
                if let Some(test) = node.control::<TestConfig>(&payload) {
                    node.on_config(test);
                }
            }
            Some(resolved) = lookups.recv() => node.on_resolved(resolved),
            payload = triggers.recv() => {
                let Some(payload) = payload else { break };
                if let Some(trigger) = node.control::<Trigger>(&payload) {
                    node.on_trigger(trigger);
                }
            }
            payload = heartbeats.recv() => {
                let Some(payload) = payload else { break };
                node.on_heartbeat(&payload);
            }
            outcome = finished => node.on_finished(outcome),
        }
    }
    let deadline = tokio::time::Instant::now() + SHUTDOWN_DRAIN;
    if let Some(mut c) = node.current.take() {
        c.stop.stop("the driver is shutting down");
        if let Some(mut task) = c.task.take()
            && tokio::time::timeout_at(deadline, &mut task).await.is_err()
        {
            tracing::error!(
                test_id = c.config.test_id,
                "the test did not end within {SHUTDOWN_DRAIN:?} of shutdown: abandoning it"
            );
            task.abort();
        }
    }
    // The last outbox goes with the node: the publisher then sends what is queued and stops.
    drop(node);
    publisher.drain(deadline).await;
    Ok(())
}

impl Node {
    /// Decodes a message, logging and counting it when malformed.
    fn decode<M: Message>(&self, payload: &[u8]) -> Option<M> {
        match decode::<M>(payload) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(topic = %M::TOPIC, kind = e.kind(), "skipping message: {e}");
                self.ctx
                    .stats
                    .malformed_messages
                    .fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Decodes a control message, checks its signature when a secret is set, then its epoch
    /// (only a signed message, when a secret is set, can raise the fence).
    fn control<M: Signed + Stamped>(&mut self, payload: &[u8]) -> Option<M> {
        let message = self.decode::<M>(payload)?;
        if let Some(signer) = &self.config.secret
            && let Err(e) = signer.verify(&message)
        {
            tracing::warn!(topic = %M::TOPIC, "ignoring control message: {e}");
            let counter = match e {
                onslaught_protocol::SignatureError::Unsigned => &self.ctx.stats.unsigned_messages,
                onslaught_protocol::SignatureError::Forged => &self.ctx.stats.forged_messages,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        if let Err(stale) = self.fence.admit(message.epoch()) {
            self.stale(M::TOPIC, stale);
            return None;
        }
        Some(message)
    }

    /// Counts and logs a message refused for its epoch.
    fn stale(&self, topic: Topic, stale: StaleEpoch) {
        tracing::warn!(%topic, "refusing a deposed orchestrator's message: {stale}");
        self.ctx.stats.stale_epoch.fetch_add(1, Ordering::Relaxed);
    }

    fn on_heartbeat(&mut self, payload: &[u8]) {
        // An orchestrator's heartbeat keeps a running test alive and carries its epoch. With a
        // secret, only a signed one raises the fence (a forged heartbeat can then only keep a
        // test that the real orchestrator started running to its own bounds); one from a
        // deposed orchestrator is refused and counted.
        let Ok(heartbeat) = decode::<Heartbeat>(payload) else {
            return;
        };
        if heartbeat.role != Role::Orchestrator {
            return;
        }
        let trusted = self
            .config
            .secret
            .as_ref()
            .is_none_or(|signer| signer.verify(&heartbeat).is_ok());
        let verdict = if trusted {
            self.fence.admit(heartbeat.epoch)
        } else {
            self.fence.check(heartbeat.epoch)
        };
        match verdict {
            Ok(()) => self.orchestrator_seen = Instant::now(),
            Err(stale) => self.stale(Topic::Heartbeat, stale),
        }
    }

    /// Stops a running test when the orchestrator has been silent too long.
    fn check_orchestrator(&mut self) {
        let silent = self.orchestrator_seen.elapsed();
        if silent < self.config.orchestrator_timeout {
            return;
        }
        if let Some(c) = self.current.as_mut()
            && c.task.is_some()
            && !c.stop.is_stopped()
        {
            tracing::warn!(
                test_id = c.config.test_id,
                "no orchestrator heartbeat for {silent:?}: stopping the test"
            );
            self.ctx
                .stats
                .orphaned_tests
                .fetch_add(1, Ordering::Relaxed);
            let reason = format!(
                "stopped: no orchestrator heartbeat for {}s",
                silent.as_secs()
            );
            c.stop.stop(reason.clone());
            c.reason = Some(reason);
        }
    }

    fn on_config(&mut self, config: TestConfig) {
        let Some(stripe) = stripe_of(&config.drivers, &self.ctx.node_id) else {
            return;
        };
        if let Some(c) = self.current.as_ref()
            && c.is_busy()
        {
            tracing::warn!(
                test_id = config.test_id,
                running = c.config.test_id,
                "busy: ignoring a new config"
            );
            return;
        }
        let age = Duration::from_millis(now_ms().saturating_sub(config.issued_at_ms));
        let before_start = config
            .issued_at_ms
            .saturating_add(CLOCK_SKEW.as_millis() as u64)
            < self.started_ms;
        if self.seen_tests.contains(&config.test_id) || age > MAX_CONFIG_AGE || before_start {
            tracing::warn!(
                test_id = config.test_id,
                ?age,
                "ignoring a replayed or stale config"
            );
            self.ctx
                .stats
                .replayed_configs
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.seen_tests.push_back(config.test_id.clone());
        if self.seen_tests.len() > REMEMBERED_TESTS {
            self.seen_tests.pop_front();
        }
        self.orchestrator_seen = Instant::now();
        self.pending = None;
        let spec = match load_spec(&config.plan, stripe) {
            Ok(spec) => spec,
            Err(reason) => return self.configured(config, Err(reason)),
        };
        if self.config.allow_targets.is_empty() {
            return self.configured(config, Ok(spec));
        }
        // The allowlist needs the host's addresses: looked up off the loop, bounded by
        // RESOLVE_TIMEOUT, answered in `on_resolved`.
        let uri = &spec.request.uri;
        let host = uri.host().unwrap_or_default().to_owned();
        let port = uri.port_u16().unwrap_or(80);
        let answer = self.resolved.clone();
        let test_id = config.test_id.clone();
        tokio::spawn(async move {
            let lookup = tokio::net::lookup_host((host.trim_matches(['[', ']']), port));
            let addrs = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
                Ok(Err(_)) | Err(_) => Vec::new(),
            };
            let _ = answer
                .send(Resolved {
                    test_id,
                    host,
                    addrs,
                })
                .await;
        });
        self.pending = Some((config, spec));
    }

    /// A pending config's target host is resolved: the allowlist decides.
    fn on_resolved(&mut self, resolved: Resolved) {
        let Some((config, spec)) = self.pending.take_if(|(c, _)| c.test_id == resolved.test_id)
        else {
            return;
        };
        let verdict = allow::check(&self.config.allow_targets, &resolved.host, &resolved.addrs)
            .inspect_err(|reason| {
                tracing::warn!("refusing the test: {reason}");
                self.ctx
                    .stats
                    .refused_targets
                    .fetch_add(1, Ordering::Relaxed);
            })
            .map(|()| spec);
        self.configured(config, verdict);
    }

    /// Holds `config`, accepted (with its engine spec) or refused, and acknowledges it.
    fn configured(&mut self, config: TestConfig, verdict: Result<LoadSpec, String>) {
        let (state, reason, spec) = match verdict {
            Ok(spec) => (NodeState::Configured, None, Some(spec)),
            Err(reason) => (NodeState::Rejected, Some(reason), None),
        };
        tracing::info!(test_id = config.test_id, ?state, reason, "test configured");
        if let Some(previous) = self.current.take()
            && previous.task.is_some()
        {
            // Its final metrics are queued (else the config was refused as busy): the run only
            // winds down, on its own.
            tracing::debug!(
                test_id = previous.config.test_id,
                "the previous run winds down in the background"
            );
        }
        let (changes, changes_rx) = mpsc::channel(RATE_CHANGES_QUEUED);
        self.current = Some(Current {
            config,
            spec,
            state,
            reason,
            stop: StopSignal::default(),
            sent: Arc::new(AtomicU64::new(0)),
            done: Arc::new(AtomicBool::new(false)),
            task: None,
            changes,
            changes_rx: Some(changes_rx),
            last_change_ms: 0,
        });
        // The heartbeat with state `configured` is the acknowledgement the orchestrator waits for.
        self.send_heartbeat();
    }

    fn on_trigger(&mut self, trigger: Trigger) {
        let Some(c) = self
            .current
            .as_mut()
            .filter(|c| c.config.test_id == trigger.test_id)
        else {
            self.ctx
                .stats
                .ignored_triggers
                .fetch_add(1, Ordering::Relaxed);
            return;
        };
        match trigger.trigger {
            TriggerAction::Stop => {
                tracing::info!(test_id = trigger.test_id, "stop requested");
                c.stop.stop("stopped by the orchestrator");
            }
            TriggerAction::Start => {
                // Only a configured, never-started test starts; a replayed trigger is ignored.
                if c.state != NodeState::Configured || trigger.issued_at_ms < c.config.issued_at_ms
                {
                    self.ctx
                        .stats
                        .ignored_triggers
                        .fetch_add(1, Ordering::Relaxed);
                    return;
                }
                let (Some(mut spec), Some(changes)) = (c.spec.take(), c.changes_rx.take()) else {
                    return;
                };
                spec.threads = self.config.engine_threads;
                tracing::info!(
                    test_id = trigger.test_id,
                    start_at_ms = trigger.start_at_ms,
                    "test triggered"
                );
                c.state = NodeState::Running;
                self.orchestrator_seen = Instant::now();
                c.task = Some(tokio::spawn(run_test(
                    self.ctx.clone(),
                    c.config.test_id.clone(),
                    spec,
                    trigger.start_at_ms,
                    c.stop.clone(),
                    Arc::clone(&c.sent),
                    Arc::clone(&c.done),
                    changes,
                )));
                self.send_heartbeat();
            }
            TriggerAction::Adjust | TriggerAction::Takeover => self.on_adjust(&trigger),
        }
    }

    /// A new rate (`ADJUST`) or stripe (`TAKEOVER`) for the test this driver holds: queued for
    /// its run (which applies it at the trigger's instant, or at once if that has passed). A
    /// change for a test that is not configured or running here, older than the latest taken,
    /// or that this test's schedule cannot follow is ignored and counted. A takeover that leaves
    /// this driver out (it was declared dead, and the others took its share) stops its run.
    fn on_adjust(&mut self, trigger: &Trigger) {
        let Some(c) = self
            .current
            .as_mut()
            .filter(|c| c.config.test_id == trigger.test_id)
        else {
            return;
        };
        let at_ms = trigger.effective_at_ms.unwrap_or_default();
        if at_ms == c.last_change_ms && at_ms > 0 {
            // A copy of the change this driver took last (the orchestrator sends changes again
            // to drivers behind): nothing to do.
            tracing::debug!(
                test_id = trigger.test_id,
                at_ms,
                "a schedule change taken already"
            );
            return;
        }
        let takes = matches!(c.state, NodeState::Configured | NodeState::Running)
            && !c.done.load(Ordering::Acquire)
            && trigger.issued_at_ms >= c.config.issued_at_ms
            && at_ms > c.last_change_ms;
        let change = if !takes {
            Err("not for a test this driver runs now, or older than a change already taken".into())
        } else if trigger.trigger == TriggerAction::Takeover {
            match takeover(&c.config.plan, trigger, &self.ctx.node_id) {
                Ok(Some(change)) => Ok(change),
                Ok(None) => {
                    tracing::warn!(
                        test_id = trigger.test_id,
                        "the other drivers took this driver's share over (it was declared \
                         dead): stopping its run"
                    );
                    c.stop
                        .stop("replaced: declared dead, its share taken over by the others");
                    return;
                }
                Err(e) => Err(e),
            }
        } else {
            load_change(&c.config.plan, trigger, &self.ctx.node_id)
        };
        let queued = change.and_then(|change| {
            c.changes
                .try_send(change)
                .map_err(|e| format!("the run does not take it: {e}"))
        });
        match queued {
            Ok(()) => {
                c.last_change_ms = at_ms;
                tracing::info!(
                    test_id = trigger.test_id,
                    rate = trigger.rate,
                    rate_total = trigger.rate_total,
                    users = trigger.users,
                    users_total = trigger.users_total,
                    drivers = trigger.drivers.len(),
                    effective_at_ms = at_ms,
                    "schedule change received"
                );
            }
            Err(reason) => {
                tracing::warn!(
                    test_id = trigger.test_id,
                    "ignoring a schedule change: {reason}"
                );
                self.ctx
                    .stats
                    .ignored_triggers
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn on_finished(&mut self, outcome: Option<Outcome>) {
        if let Some(c) = self.current.as_mut() {
            c.task = None;
            c.state = NodeState::Finished;
            if let Some(outcome) = outcome {
                if outcome.error.is_some() {
                    c.reason = outcome.error;
                }
                tracing::info!(
                    test_id = outcome.test_id,
                    sent = outcome.requests_sent,
                    "test finished"
                );
            }
        }
        self.send_heartbeat();
    }

    /// Queues a heartbeat with the current state and counters (never waits).
    fn send_heartbeat(&self) {
        let state = match &self.current {
            None => HeartbeatState::idle(),
            Some(c) => HeartbeatState {
                state: c.reported_state(),
                test_id: Some(c.config.test_id.clone()),
                reason: c.reason.clone(),
            },
        };
        let mut heartbeat = Heartbeat::new(&self.ctx.node_id, Role::Driver, state);
        if let Some(c) = &self.current {
            heartbeat
                .info
                .insert("requests_sent".to_owned(), c.sent.load(Ordering::Relaxed));
            // The last schedule change taken: the orchestrator sends later ones again if this
            // driver missed them.
            heartbeat
                .info
                .insert(LAST_CHANGE_INFO.to_owned(), c.last_change_ms);
        }
        if self.fence.highest() > 0 {
            // The leadership this driver obeys: an operator (or a test) sees a takeover land.
            heartbeat
                .info
                .insert("leader_epoch".to_owned(), self.fence.highest());
        }
        let stats = &self.ctx.stats;
        let waiting = self.backlogs.iter().map(Backlog::waiting).sum();
        let peak = self.backlogs.iter().map(Backlog::peak).max().unwrap_or(0);
        stats.subscription_backlog.store(waiting, Ordering::Relaxed);
        stats
            .subscription_backlog_peak
            .store(peak, Ordering::Relaxed);
        for (name, value) in stats.snapshot() {
            if value > 0 {
                heartbeat.info.insert(name.to_owned(), value);
            }
        }
        self.ctx.outbox.heartbeat(&heartbeat);
    }
}
