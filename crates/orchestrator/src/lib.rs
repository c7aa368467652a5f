//! The orchestrator: knows the drivers, runs tests on them, merges their metrics exactly, and
//! writes reports.
//!
//! Written once against [`onslaught_transport::Transport`]. A test's life: [`Orchestrator::create_test`]
//! records a [`TestPlan`] (validated where it came in: the API's extractor, the CLI); [`Orchestrator::start_test`] picks live drivers, publishes the
//! `test_config`, waits until every chosen driver acknowledges it (a heartbeat in state
//! `configured`), then publishes a `trigger` with a start time a moment ahead so every driver
//! starts together. Metrics messages are de-duplicated by `report_id` and merged by histogram
//! addition; the test completes when every driver has sent its final message (or has been
//! declared dead), and the reports are written.
//!
//! # Layout
//! - [`config`]: [`OrchestratorConfig`], how the orchestrator behaves.
//! - [`error`]: [`ControlError`] and [`DriverShortage`], why an operation was refused.
//! - [`stats`]: [`OrchestratorStats`], counters about the orchestrator itself.
//! - [`state`]: the registry of nodes and tests and how messages change it (split by concept:
//!   nodes and liveness, a test and its lifecycle, the start protocol, merging, reports).
//! - [`totals`]: exact merging per node, per test and per second.
//! - [`thresholds`]: a test's thresholds judged on its merged data (each second and at the
//!   end), and what `abort_on_fail` acts on.
//! - [`views`]: what the API, dashboard and reports show.
//! - [`report`]: the JSON report files.
//! - [`writer`]: the one thread that writes them, in order, off every event loop.
//! - [`html`]: the self-contained HTML report page (`report.html`).
//! - [`compare`]: two tests' reports side by side, with a verdict per metric.
//! - [`lease`]: the report folder's leadership epoch, which fences a deposed orchestrator's
//!   writes out of a folder the orchestrators of a cluster share.
//! - [`resume`]: where a running test's metrics are on the topic, kept beside its checkpoint,
//!   so a restarted orchestrator replays them and carries the test on (Kafka only).
//! - [`export`]: the per-second series pushed as OpenTelemetry metrics (OTLP/HTTP), off the loop.
//!
//! `orchestrator` knows nothing of Kafka or HTTP serving; its one HTTP client is the OTLP export's.

pub mod compare;
pub mod config;
pub mod error;
pub mod export;
pub mod html;
pub mod lease;
pub mod report;
pub mod resume;
pub mod state;
pub mod stats;
pub mod thresholds;
pub mod totals;
pub mod views;
pub mod writer;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use onslaught_protocol::{
    Heartbeat, HeartbeatState, Message, Register, Role, Topic, Trigger, TriggerAction, decode,
    encode, now_ms,
};
use onslaught_transport::{Delivery, Subscription, Transport, TransportError};
use parking_lot::Mutex;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use config::OrchestratorConfig;
pub use error::{ControlError, DriverShortage};
pub use onslaught_plan::{Accepted, ExpectStatus, Header, TestPlan, TestRequest, ValidationError};
pub use onslaught_stats::Summary;
pub use stats::OrchestratorStats;
pub use thresholds::ThresholdResult;
pub use views::{
    FlowView, Liveness, LoadChange, NamePoint, NodeView, StatsView, Takeover, TestStatus, TestView,
};

use report::ReportParts;
use state::State;
use writer::{Checkpoint, FinalResult, Writer};

/// A start trigger goes out again when a driver still reports the test as configured in a
/// heartbeat sent this long after the trigger.
const LOST_TRIGGER_AFTER_MS: u64 = 2_000;

/// The most metrics messages merged under one lock: what is waiting when the loop looks, up to
/// this many (a few hundred milliseconds of 1,000 drivers' reports).
const METRICS_BATCH: usize = 256;

/// How long a stopping orchestrator waits for its queued exports to be pushed or dropped.
const DRAIN_EXPORTS_WITHIN: Duration = Duration::from_secs(5);
/// How often the thresholds of running tests are judged (live results, `abort_on_fail`).
const JUDGE_THRESHOLDS_EVERY: Duration = Duration::from_secs(1);

/// How long a stopping orchestrator waits for its queued reports to be written.
const DRAIN_REPORTS_WITHIN: Duration = Duration::from_secs(10);

/// The orchestrator. Cheap to clone; every clone shares the same state.
#[derive(Clone)]
pub struct Orchestrator {
    inner: Arc<Inner>,
}

struct Inner {
    config: OrchestratorConfig,
    transport: Arc<dyn Transport>,
    state: Mutex<State>,
    /// Bumped on every change; the API's live stream and waiters watch it.
    changed: watch::Sender<u64>,
    stats: OrchestratorStats,
    /// Builds and writes every report on its own thread, in order.
    writer: Writer,
    /// Pushes the per-second series to an OTLP endpoint, when one is configured.
    exporter: Option<export::Exporter>,
    /// Cancelled when an orchestrator with a higher epoch took over: from then on this one
    /// publishes nothing and writes nothing (see [`Orchestrator::depose`]).
    deposed: CancellationToken,
}

impl Orchestrator {
    /// An orchestrator over `transport`. Test history is reloaded from `config.report_dir`.
    ///
    /// A test that was running when an earlier orchestrator stopped, and whose checkpoint has a
    /// resume point, is carried on: [`Orchestrator::spawn`] replays its metrics from the topic.
    ///
    /// With `config.otlp_endpoint` set it must be called within a Tokio runtime (the export
    /// task starts on it); without one, the export is off and an error is logged.
    ///
    /// An elected orchestrator (`config.epoch`) first records its epoch in the report folder
    /// ([`lease`]), so a deposed one's writer writes nothing more there.
    pub fn new(config: OrchestratorConfig, transport: Arc<dyn Transport>) -> Self {
        if let Some(epoch) = config.epoch
            && let Err(e) = lease::claim(&config.report_dir, epoch)
        {
            tracing::error!(
                epoch,
                "cannot record the leadership epoch in {}: {e}",
                config.report_dir.display()
            );
        }
        let (resumable, history): (Vec<_>, Vec<_>) = report::load_all(&config.report_dir)
            .into_iter()
            .map(|report| {
                let point = (!report.test.status.is_final())
                    .then(|| resume::load(&config.report_dir, &report.test.id))
                    .flatten();
                (report, point)
            })
            .partition(|(_, point)| point.is_some());
        let stats = OrchestratorStats::default();
        // Always there (a test's plan may name an endpoint of its own); pushes to the
        // orchestrator's endpoint too when it has one.
        let exporter = if tokio::runtime::Handle::try_current().is_err() {
            tracing::error!("no Tokio runtime: the OTLP export is off");
            None
        } else {
            if let Some(endpoint) = &config.otlp_endpoint {
                tracing::info!(%endpoint, "exporting per-second series as OTLP metrics");
            }
            Some(export::Exporter::spawn(
                config.otlp_endpoint.clone(),
                Arc::clone(&stats.export),
            ))
        };
        let (changed, _) = watch::channel(0);
        let mut state = State::with_history(history.into_iter().map(|(r, _)| r).collect());
        for (report, point) in resumable {
            if let Some(point) = point {
                state.resume(report.test, &point);
            }
        }
        let epoch = config.epoch;
        let inner = Arc::new_cyclic(|this: &Weak<Inner>| {
            let this = this.clone();
            Inner {
                config,
                transport,
                state: Mutex::new(state),
                changed,
                stats,
                exporter,
                deposed: CancellationToken::new(),
                writer: Writer::spawn_fenced(epoch, move |test_id, result| {
                    if let Some(inner) = this.upgrade() {
                        Orchestrator { inner }.written(test_id, result);
                    }
                }),
            }
        });
        Self { inner }
    }

    /// The configuration.
    pub fn config(&self) -> &OrchestratorConfig {
        &self.inner.config
    }

    /// Counters about the orchestrator itself.
    pub fn stats(&self) -> &OrchestratorStats {
        &self.inner.stats
    }

    /// A receiver that changes whenever a node or test does.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// Resolves once this orchestrator has been deposed (another took over with a higher
    /// epoch). The caller then stops it: its loop has already ended without a hand-over.
    pub async fn deposed(&self) {
        self.inner.deposed.cancelled().await;
    }

    /// Whether this orchestrator has been deposed.
    pub fn is_deposed(&self) -> bool {
        self.inner.deposed.is_cancelled()
    }

    /// Steps down: another orchestrator leads now (the election says so, or a heartbeat with a
    /// higher epoch did). From then on nothing is published (control messages and heartbeats)
    /// and nothing is written (checkpoints, final reports): the running tests are the new
    /// leader's, which resumed them from the last checkpoint and the metrics topic. Idempotent.
    pub fn depose(&self, reason: &str) {
        if !self.inner.deposed.is_cancelled() {
            tracing::warn!(
                epoch = self.inner.config.epoch,
                "deposed ({reason}): this orchestrator stops commanding and writing"
            );
            self.inner.deposed.cancel();
            self.notify();
        }
    }

    fn notify(&self) {
        self.inner.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Subscribes to `register`, `heartbeat` and `metrics` now, then consumes them on a spawned
    /// task that also watches liveness and queues checkpoints, until `shutdown` fires; the
    /// orchestrator's heartbeats go out from a task of their own. Nothing on the loop awaits I/O.
    /// At shutdown, when the transport keeps positions (Kafka), running tests get a last
    /// checkpoint and stay resumable by the next orchestrator (their drivers run on for their
    /// grace); otherwise (in-process) they are marked interrupted. The task then waits (at most
    /// [`DRAIN_REPORTS_WITHIN`]) for every queued report to be written.
    pub async fn spawn(
        &self,
        shutdown: CancellationToken,
    ) -> Result<tokio::task::JoinHandle<()>, TransportError> {
        let transport = Arc::clone(&self.inner.transport);
        let mut registers = transport.subscribe(Topic::Register).await?;
        let mut heartbeats = transport.subscribe(Topic::Heartbeat).await?;
        let mut metrics = self.subscribe_metrics().await?;
        let resumable = !metrics.starts_at().is_empty();
        *self.inner.stats.backlogs.lock() = vec![
            (Topic::Register, registers.backlog()),
            (Topic::Heartbeat, heartbeats.backlog()),
            (Topic::Metrics, metrics.backlog()),
        ];
        let this = self.clone();
        let beats = tokio::spawn(publish_heartbeats(
            transport,
            self.inner.config.clone(),
            shutdown.clone(),
            self.inner.deposed.clone(),
        ));
        Ok(tokio::spawn(async move {
            let mut liveness = tokio::time::interval(Duration::from_millis(250));
            let mut checkpoint = tokio::time::interval(this.inner.config.checkpoint_every);
            let mut export = tokio::time::interval(Duration::from_secs(1));
            let mut judge = tokio::time::interval(JUDGE_THRESHOLDS_EVERY);
            let mut metrics_done = false;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = this.inner.deposed.cancelled() => break,
                    Some(p) = registers.recv() => this.on_register(&p),
                    Some(p) = heartbeats.recv() => this.on_heartbeat(&p),
                    batch = metrics.next_batch(METRICS_BATCH), if !metrics_done => {
                        metrics_done = batch.is_empty();
                        this.on_metrics(&batch);
                    }
                    _ = liveness.tick() => this.check_liveness(),
                    _ = checkpoint.tick() => this.checkpoint(),
                    _ = export.tick(), if this.inner.exporter.is_some() => this.export_closed(),
                    _ = judge.tick() => this.judge_thresholds(),
                    else => break,
                }
            }
            if this.is_deposed() {
                // The running tests are the new leader's: nothing to hand over or interrupt.
            } else if resumable {
                this.hand_over().await;
            } else {
                this.interrupt_running();
            }
            if !this.inner.writer.flush(DRAIN_REPORTS_WITHIN).await {
                tracing::error!(
                    "reports still unwritten {DRAIN_REPORTS_WITHIN:?} after the shutdown began"
                );
            }
            if let Some(exporter) = &this.inner.exporter
                && !exporter.flush(DRAIN_EXPORTS_WITHIN).await
            {
                tracing::error!(
                    "OTLP exports still queued {DRAIN_EXPORTS_WITHIN:?} after the shutdown began"
                );
            }
            beats.abort();
        }))
    }

    /// Subscribes to `metrics`: at the end of the topic, or, when tests are being resumed, from
    /// where the earliest of them begins (their replay; messages of other tests on the way are
    /// skipped as they would be live). A transport that cannot replay (in-process) leaves the
    /// resumed tests interrupted, as they were before resuming existed.
    async fn subscribe_metrics(&self) -> Result<Subscription, TransportError> {
        let transport = &self.inner.transport;
        let from = resume::earliest(self.inner.state.lock().resumed_from());
        let subscription = if from.is_empty() {
            transport.subscribe(Topic::Metrics).await?
        } else {
            match transport
                .subscribe_from(Topic::Metrics, resume::positions(&from))
                .await
            {
                Ok(subscription) => subscription,
                Err(e) => {
                    tracing::warn!("cannot replay the metrics of the running tests: {e}");
                    self.interrupt_running();
                    transport.subscribe(Topic::Metrics).await?
                }
            }
        };
        self.inner
            .state
            .lock()
            .metrics_started_at(subscription.starts_at());
        Ok(subscription)
    }

    fn decode<M: Message>(&self, payload: &[u8]) -> Option<M> {
        match decode::<M>(payload) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(topic = %M::TOPIC, kind = e.kind(), "skipping message: {e}");
                self.inner.stats.reject(M::TOPIC, e.kind());
                None
            }
        }
    }

    fn on_register(&self, payload: &[u8]) {
        if let Some(register) = self.decode::<Register>(payload) {
            let duplicate = self
                .inner
                .state
                .lock()
                .register(&register, &self.inner.config);
            if duplicate {
                self.inner
                    .stats
                    .reject(Topic::Register, "duplicate_node_id");
            }
            self.notify();
        }
    }

    fn on_heartbeat(&self, payload: &[u8]) {
        let Some(heartbeat) = self.decode::<Heartbeat>(payload) else {
            return;
        };
        if heartbeat.role == Role::Orchestrator {
            if heartbeat.node_id != self.inner.config.node_id {
                match (self.inner.config.epoch, heartbeat.epoch) {
                    (Some(mine), Some(theirs)) if theirs > mine => self.depose(&format!(
                        "orchestrator {} leads with epoch {theirs}",
                        heartbeat.node_id
                    )),
                    (Some(_), Some(_)) => {}
                    _ => tracing::warn!(
                        other = heartbeat.node_id,
                        "another orchestrator shares these topics"
                    ),
                }
            }
            return;
        }
        self.inner.state.lock().heartbeat(&heartbeat);
        self.notify();
    }

    /// Merges a batch of metrics messages in order: each decoded (its histograms inflated and
    /// validated) before the state's lock is taken, then merged under one lock for the batch.
    /// A malformed message is logged, counted and skipped like a message that cannot be
    /// merged; the rest of its batch is merged.
    fn on_metrics(&self, batch: &[Delivery]) {
        if batch.is_empty() {
            return;
        }
        let decoded: Vec<_> = batch
            .iter()
            .map(|delivery| {
                let decoded = onslaught_protocol::decode_metrics(&delivery.payload);
                (delivery.position, decoded)
            })
            .collect();
        let mut state = self.inner.state.lock();
        for (position, decoded) in decoded {
            if let Some(position) = position {
                state.metrics_read(position);
            }
            let (metrics, data) = match decoded {
                Ok(decoded) => decoded,
                Err(e) => {
                    tracing::warn!(topic = %Topic::Metrics, kind = e.kind(), "skipping message: {e}");
                    self.inner.stats.reject(Topic::Metrics, e.kind());
                    continue;
                }
            };
            match state.metrics(&metrics, &data, &self.inner.stats) {
                Ok(Some(done)) => {
                    // Its reports are taken now, before a later message could change them.
                    drop(state);
                    self.finish(done);
                    state = self.inner.state.lock();
                }
                Ok(None) => {}
                Err(reason) => {
                    tracing::debug!(
                        node_id = metrics.node_id,
                        test_id = metrics.test_id,
                        "metrics skipped: {reason}"
                    );
                    self.inner.stats.reject(Topic::Metrics, reason);
                }
            }
        }
        drop(state);
        self.notify();
    }

    /// Judges the thresholds of every running test on its merged data, and stops (through the
    /// same path as a user's stop) each test with `abort_on_fail` whose grace is over and a
    /// threshold fails.
    fn judge_thresholds(&self) {
        let (judged, aborts) = self.inner.state.lock().judge_thresholds();
        for test_id in aborts {
            tracing::warn!(
                test_id,
                "a threshold failed: stopping the test (abort_on_fail)"
            );
            // Published off the control loop.
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(e) = this.stop_test(&test_id).await {
                    tracing::warn!(test_id, "cannot stop the test: {e}");
                }
            });
        }
        if judged {
            self.notify();
        }
    }

    fn check_liveness(&self) {
        let (done, changed) = self.inner.state.lock().check_liveness(&self.inner.config);
        for test_id in done {
            self.finish(test_id);
        }
        // Drivers of a schedule in total declared dead: the others take their share over, from
        // one instant, told by a TAKEOVER trigger (published off the control loop).
        let takeovers = self.inner.state.lock().takeovers_due(now_ms());
        for trigger in &takeovers {
            let (this, test_id, trigger) = (self.clone(), trigger.test_id.clone(), trigger.clone());
            tokio::spawn(async move {
                let at_ms = trigger.effective_at_ms.unwrap_or_default();
                if let Err(e) = this.publish_control(&test_id, trigger).await {
                    tracing::warn!(test_id, "cannot send the takeover (tried again): {e}");
                    this.inner.state.lock().forget_takeover(&test_id, at_ms);
                }
                this.notify();
            });
        }
        if changed || !takeovers.is_empty() {
            self.notify();
        }
        // A driver that acknowledged the config but reports no start a while after the trigger
        // lost it (a consumer reconnecting after a broker restart, say): send it again. Drivers
        // start a test once; one already running ignores the copy.
        // A driver whose heartbeat shows it missed a schedule change (ADJUST, TAKEOVER) gets it
        // again, with every later one, in order.
        let missed = self
            .inner
            .state
            .lock()
            .lost_changes(LOST_TRIGGER_AFTER_MS, now_ms());
        if !missed.is_empty() {
            tracing::warn!(
                changes = missed.len(),
                "a driver missed schedule changes: sending them again"
            );
            self.inner
                .stats
                .triggers_resent
                .fetch_add(missed.len() as u64, Ordering::Relaxed);
            let this = self.clone();
            tokio::spawn(async move {
                // In order: a driver takes a change only after the one before.
                for trigger in missed {
                    let test_id = trigger.test_id.clone();
                    if let Err(e) = this.publish_control(&test_id, trigger).await {
                        tracing::warn!(test_id, "cannot send a schedule change again: {e}");
                        break;
                    }
                }
            });
        }
        let lost = self.inner.state.lock().lost_triggers(LOST_TRIGGER_AFTER_MS);
        for (test_id, start_at_ms) in lost {
            tracing::warn!(
                test_id,
                "a driver did not start the test: sending its trigger again"
            );
            self.inner
                .stats
                .triggers_resent
                .fetch_add(1, Ordering::Relaxed);
            let trigger = Trigger::new(&test_id, TriggerAction::Start, start_at_ms);
            // Published off the control loop.
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(e) = this.publish_control(&test_id, trigger).await {
                    tracing::warn!(test_id, "cannot send the trigger again: {e}");
                }
            });
        }
    }

    /// Queues the reports of every running test that changed since its last checkpoint, as it
    /// stands (status `running`), so an orchestrator that dies mid-test leaves what was measured
    /// on disk. Only a snapshot is taken here; summarising, encoding and writing happen on the
    /// writer's thread. One checkpoint at a time: a tick that finds the previous one still
    /// queued leaves its work to the next tick.
    fn checkpoint(&self) {
        if self.is_deposed() {
            return;
        }
        self.inner
            .writer
            .checkpoint(&self.inner.config.report_dir, || {
                let mut state = self.inner.state.lock();
                let parts = state.checkpoint_parts();
                let resume = state.resume_points(parts.iter().map(ReportParts::id));
                Checkpoint { parts, resume }
            });
    }

    /// Queues the seconds that closed since the last tick for the OTLP export (never waits).
    fn export_closed(&self) {
        if let Some(exporter) = &self.inner.exporter {
            let all = self.inner.config.otlp_endpoint.is_some();
            let batches = self.inner.state.lock().export_closed(all);
            for batch in batches {
                exporter.send(batch);
            }
        }
    }

    /// Queues the reports of a test that just ended, and its final export: every second with
    /// its final values, as the report holds them.
    fn finish(&self, test_id: String) {
        if self.is_deposed() {
            tracing::info!(
                test_id,
                "deposed: leaving the test's report to the new leader"
            );
            return;
        }
        let (parts, view) = {
            let mut state = self.inner.state.lock();
            state.forget_start(&test_id);
            // The final view's per-name numbers, judged, for the export (only with one).
            let exported =
                self.inner.config.otlp_endpoint.is_some() || state.exports_itself(&test_id);
            let view = exported
                .then(|| state.view(&test_id, &self.inner.config))
                .flatten();
            (state.report_parts(&test_id), view)
        };
        if let Some(parts) = parts {
            if let Some(exporter) = &self.inner.exporter
                && let Some(batch) = export::Batch::of_report(&parts)
                && (self.inner.config.otlp_endpoint.is_some() || batch.to.is_some())
            {
                let batch = match &view {
                    Some(view) => batch.with_names(&view.aggregate),
                    None => batch,
                };
                exporter.send(batch);
            }
            self.inner
                .writer
                .finish(&self.inner.config.report_dir, parts);
        }
    }

    /// A test's final report is written, or could not be (called on the writer's thread).
    fn written(&self, test_id: &str, result: FinalResult) {
        match result {
            Ok(path) => {
                tracing::info!(test_id, path = %path.display(), "report written");
                self.inner.state.lock().set_report_path(test_id, path);
            }
            Err(error) => {
                tracing::error!(test_id, "{error}");
                self.inner.state.lock().set_report_error(test_id, error);
            }
        }
        self.notify();
    }

    /// Leaves the running tests to the next orchestrator: a last checkpoint of each as it stands
    /// (after the one that may be queued), resume point included; tests it could not resume are
    /// interrupted.
    async fn hand_over(&self) {
        let _ = self.inner.writer.flush(DRAIN_REPORTS_WITHIN).await;
        let (handed, interrupted) = self.inner.state.lock().hand_over();
        for id in interrupted {
            self.finish(id);
        }
        if handed > 0 {
            tracing::info!(
                tests = handed,
                "running tests checkpointed for the next orchestrator to resume"
            );
            self.checkpoint();
        }
    }

    fn interrupt_running(&self) {
        let ids = self.inner.state.lock().interrupt_running();
        for id in ids {
            self.finish(id);
        }
    }

    async fn publish<M: Message>(&self, key: &str, message: &M) -> Result<(), TransportError> {
        self.inner
            .transport
            .publish(M::TOPIC, key, Bytes::from(encode(message)))
            .await
    }

    /// Publishes a control message stamped with this orchestrator's epoch, signed when a
    /// secret is configured. A deposed orchestrator publishes nothing.
    async fn publish_control<M: onslaught_protocol::Signed + onslaught_protocol::Stamped>(
        &self,
        key: &str,
        mut message: M,
    ) -> Result<(), TransportError> {
        if self.is_deposed() {
            return Err(TransportError::Closed);
        }
        message.set_epoch(self.inner.config.epoch);
        if let Some(signer) = &self.inner.config.secret {
            signer.sign(&mut message);
        }
        self.publish(key, &message).await
    }

    /// Records a new test; starts it too if it asks to be started.
    pub async fn create_test(&self, plan: TestPlan) -> Result<TestView, ControlError> {
        let start = plan.start;
        let view = self.record_test(plan)?;
        if start {
            return self.start_test(&view.id).await;
        }
        Ok(view)
    }

    /// Records a new test without starting it, even one that asks to be started
    /// (the caller then calls [`Orchestrator::start_test`], knowing the id if the start fails).
    /// A test that asks to be started is refused, and nothing is recorded, when too few drivers
    /// are live and idle.
    pub fn record_test(&self, plan: TestPlan) -> Result<TestView, ControlError> {
        if plan.start {
            let shortage = self
                .inner
                .state
                .lock()
                .driver_shortage(plan.drivers.map(|n| n.get()), &self.inner.config);
            if let Some(shortage) = shortage {
                return Err(shortage.into());
            }
        }
        let id = format!("t-{}", uuid::Uuid::new_v4().simple());
        self.inner.state.lock().create(&id, plan);
        self.notify();
        self.test(&id).ok_or(ControlError::NotFound(id))
    }

    /// Configures the test on live drivers, waits for their acknowledgements, then triggers a
    /// synchronized start.
    pub async fn start_test(&self, id: &str) -> Result<TestView, ControlError> {
        let config = self
            .inner
            .state
            .lock()
            .begin_configuring(id, &self.inner.config)?;
        self.notify();
        self.inner
            .stats
            .tests_started
            .fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.publish_control(id, config).await {
            self.inner
                .state
                .lock()
                .fail(id, format!("cannot publish the config: {e}"));
            self.finish(id.to_owned());
            return Err(e.into());
        }
        let acknowledged = self.wait_for_acks(id).await;
        if let Err(reason) = acknowledged {
            self.inner.state.lock().fail(id, reason.clone());
            self.finish(id.to_owned());
            return Err(ControlError::Conflict(reason));
        }
        let start_at_ms =
            now_ms() + u64::try_from(self.inner.config.start_delay.as_millis()).unwrap_or(0);
        let trigger = Trigger::new(id, TriggerAction::Start, start_at_ms);
        {
            let mut state = self.inner.state.lock();
            state.set_running(id, start_at_ms);
            state.note_metrics_start(id);
        }
        self.notify();
        if let Err(e) = self.publish_control(id, trigger).await {
            self.inner
                .state
                .lock()
                .fail(id, format!("cannot publish the trigger: {e}"));
            self.finish(id.to_owned());
            return Err(e.into());
        }
        self.test(id)
            .ok_or_else(|| ControlError::NotFound(id.to_owned()))
    }

    async fn wait_for_acks(&self, id: &str) -> Result<(), String> {
        let mut changes = self.watch();
        let deadline = tokio::time::Instant::now() + self.inner.config.ack_timeout;
        loop {
            match self.inner.state.lock().acks(id) {
                state::Acks::All => return Ok(()),
                state::Acks::Rejected(reason) => return Err(reason),
                state::Acks::Waiting(_) => {}
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                let waiting = match self.inner.state.lock().acks(id) {
                    state::Acks::Waiting(ids) => ids.join(", "),
                    _ => continue,
                };
                return Err(format!(
                    "drivers did not acknowledge the config within {:?}: {waiting}",
                    self.inner.config.ack_timeout
                ));
            }
        }
    }

    /// Asks every driver of a running test to stop now.
    pub async fn stop_test(&self, id: &str) -> Result<TestView, ControlError> {
        let needs_trigger = self.inner.state.lock().request_stop(id)?;
        if needs_trigger {
            let trigger = Trigger {
                protocol_version: onslaught_protocol::PROTOCOL_VERSION,
                test_id: id.to_owned(),
                trigger: TriggerAction::Stop,
                start_at_ms: 0,
                rate: None,
                rate_total: None,
                users: None,
                users_total: None,
                effective_at_ms: None,
                drivers: Vec::new(),
                issued_at_ms: now_ms(),
                epoch: None,
                signature: None,
            };
            self.publish_control(id, trigger).await?;
        } else {
            self.finish(id.to_owned());
        }
        self.notify();
        self.test(id)
            .ok_or_else(|| ControlError::NotFound(id.to_owned()))
    }

    /// Changes the load of running test `id` to `new`: a tsunami's rate (per driver or in
    /// total; the test keeps its own split) or an avalanche's users. Every driver switches at
    /// one instant, [`state::LOAD_CHANGE_LEAD_MS`] from now, told by an `ADJUST` trigger; the
    /// change is recorded in the test's view and reports with `requested_by`.
    pub async fn change_load(
        &self,
        id: &str,
        new: onslaught_plan::NewLoad,
        requested_by: &str,
    ) -> Result<TestView, ControlError> {
        let trigger = self
            .inner
            .state
            .lock()
            .change_load(id, new, requested_by, now_ms())?;
        let at_ms = trigger.effective_at_ms.unwrap_or_default();
        tracing::info!(
            test_id = id,
            rate = trigger.rate,
            rate_total = trigger.rate_total,
            users = trigger.users,
            users_total = trigger.users_total,
            at_ms,
            requested_by,
            "changing the test's load"
        );
        if let Err(e) = self.publish_control(id, trigger).await {
            self.inner.state.lock().forget_load_change(id, at_ms);
            return Err(e.into());
        }
        self.notify();
        self.test(id)
            .ok_or_else(|| ControlError::NotFound(id.to_owned()))
    }

    /// Waits until `count` drivers are alive and idle, or `timeout` passes. Returns how many are.
    pub async fn wait_for_drivers(&self, count: usize, timeout: Duration) -> usize {
        let mut changes = self.watch();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ready = self
                .inner
                .state
                .lock()
                .available_drivers(&self.inner.config)
                .len();
            if ready >= count
                || tokio::time::timeout_at(deadline, changes.changed())
                    .await
                    .is_err()
            {
                return ready;
            }
        }
    }

    /// Waits until the test is over and returns it.
    pub async fn wait_test(&self, id: &str) -> Result<TestView, ControlError> {
        let mut changes = self.watch();
        loop {
            // Building a view summarises every histogram: only do it once the test is over.
            let done = self.inner.state.lock().is_done(id);
            match done {
                None => return Err(ControlError::NotFound(id.to_owned())),
                Some(true) => break,
                Some(false) => {}
            }
            if changes.changed().await.is_err() {
                break;
            }
        }
        self.test(id)
            .ok_or_else(|| ControlError::NotFound(id.to_owned()))
    }

    /// One test.
    pub fn test(&self, id: &str) -> Option<TestView> {
        self.inner.state.lock().view(id, &self.inner.config)
    }

    /// Tests newest first: `limit` of them after skipping `offset`, and the total count.
    pub fn tests(&self, offset: usize, limit: usize) -> (Vec<TestView>, usize) {
        self.inner
            .state
            .lock()
            .views(offset, limit, &self.inner.config)
    }

    /// The aggregate report of a finished test, as written to disk.
    pub fn report_path(&self, id: &str) -> Option<PathBuf> {
        self.inner.state.lock().report_path(id)
    }

    /// Every known driver.
    pub fn nodes(&self) -> Vec<NodeView> {
        self.inner.state.lock().node_views(&self.inner.config)
    }
}

/// Publishes the orchestrator's heartbeat (with its epoch, signed when a secret is set) every
/// `heartbeat_every` until `shutdown` or its deposition, each publish bounded by the same
/// gap: a slow broker delays the next heartbeat, never the control loop.
async fn publish_heartbeats(
    transport: Arc<dyn Transport>,
    config: OrchestratorConfig,
    shutdown: CancellationToken,
    deposed: CancellationToken,
) {
    let every = config.heartbeat_every;
    let node_id = config.node_id;
    let mut beat = tokio::time::interval(every);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = deposed.cancelled() => break,
            _ = beat.tick() => {}
        }
        let mut heartbeat = Heartbeat::new(&node_id, Role::Orchestrator, HeartbeatState::idle());
        heartbeat.epoch = config.epoch;
        if let Some(signer) = &config.secret {
            signer.sign(&mut heartbeat);
        }
        let payload = Bytes::from(encode(&heartbeat));
        let publish = transport.publish(Topic::Heartbeat, &node_id, payload);
        match tokio::time::timeout(every, publish).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!("cannot publish the orchestrator's heartbeat: {e}"),
            Err(_) => tracing::debug!("the orchestrator's heartbeat timed out after {every:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A malformed message in the middle of a batch is counted and skipped; the messages around
    /// it are still handled (here skipped as messages of an unknown test, and counted so).
    #[tokio::test]
    async fn a_malformed_message_in_a_batch_skips_only_itself() {
        let dir = std::env::temp_dir().join(format!("onslaught-batch-{}", std::process::id()));
        let orchestrator = Orchestrator::new(
            OrchestratorConfig::new(&dir),
            Arc::new(onslaught_transport::InProcess::new()),
        );
        let metrics = |node: &str| {
            let m: onslaught_protocol::Metrics = serde_json::from_value(serde_json::json!({
                "node_id": node, "test_id": "t-none", "report_id": format!("t-none:{node}:1"),
                "seq": 1, "interval_start_ms": 0, "interval_end_ms": 1000, "metrics": {},
                "histogram": onslaught_protocol::wire_stats::encode_histogram(&Default::default()),
                "service_histogram": onslaught_protocol::wire_stats::encode_histogram(&Default::default()),
                "counters": { "requests_sent": 0, "responses_received": 0 }
            }))
            .unwrap();
            Bytes::from(onslaught_protocol::encode(&m))
        };
        let delivery = |payload: Bytes| Delivery {
            payload,
            position: None,
        };
        orchestrator.on_metrics(&[
            delivery(metrics("a")),
            delivery(Bytes::from_static(b"{not json")),
            delivery(metrics("b")),
        ]);
        let rejected = orchestrator.inner.stats.rejected.lock().clone();
        assert_eq!(rejected.get("metrics:malformed"), Some(&1), "{rejected:?}");
        assert_eq!(
            rejected.get("metrics:unknown_test"),
            Some(&2),
            "{rejected:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
