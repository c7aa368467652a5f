//! One test on this driver: wait for the synchronized start, run the engine, queue metrics for
//! the publisher at least once a second, then a final message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use onslaught_engine::{LoadSpec, RampControl, RateControl, UsersControl};
use onslaught_protocol::now_ms;
use onslaught_stats::Measurements;
use tokio_util::sync::CancellationToken;

use crate::DriverStats;
use crate::convert::{Change, Position, RateChange, metrics};
use crate::publish::Outbox;

/// What a test run needs from its node.
#[derive(Clone)]
pub struct Context {
    /// Where messages go to be published (by the node's publisher task).
    pub outbox: Outbox,
    /// This node's id.
    pub node_id: String,
    /// The node's own counters.
    pub stats: Arc<DriverStats>,
    /// Gap between metrics messages.
    pub metrics_every: Duration,
}

/// Stops a run and remembers why (the first reason wins), so the final metrics message can say.
#[derive(Clone, Debug, Default)]
pub struct StopSignal {
    token: CancellationToken,
    reason: Arc<parking_lot::Mutex<Option<String>>>,
}

impl StopSignal {
    /// Stops the run for `reason` (ignored if it was already stopped).
    pub fn stop(&self, reason: impl Into<String>) {
        let mut current = self.reason.lock();
        if current.is_none() {
            *current = Some(reason.into());
        }
        self.token.cancel();
    }

    /// Whether the run was asked to stop.
    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Why it was stopped, if it was.
    pub fn reason(&self) -> Option<String> {
        self.reason.lock().clone()
    }

    /// The token the engine watches.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

/// How a test run ended.
#[derive(Debug)]
pub struct Outcome {
    /// The test.
    pub test_id: String,
    /// Requests sent in total.
    pub requests_sent: u64,
    /// Why the run could not start, if it could not.
    pub error: Option<String>,
}

/// Runs `spec` for `test_id`, starting at the wall-clock time `start_at_ms` (at once if it has
/// passed), until done or `cancel` fires. `sent` mirrors the requests sent so far; `done` is set
/// once the final metrics message is queued (the driver is then free for another test while the
/// run winds down). Each rate change from `changes` switches the schedule at its instant,
/// `effective_at_ms - start_at_ms` after the schedule's origin on every driver of the test.
#[allow(clippy::too_many_arguments)]
pub async fn run_test(
    ctx: Context,
    test_id: String,
    spec: LoadSpec,
    start_at_ms: u64,
    stop: StopSignal,
    sent: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    mut changes: tokio::sync::mpsc::Receiver<RateChange>,
) -> Outcome {
    let cancel = stop.token();
    let wait = Duration::from_millis(start_at_ms.saturating_sub(now_ms()));
    tokio::select! {
        () = cancel.cancelled() => {}
        () = tokio::time::sleep(wait) => {}
    }
    let mut publisher = Publisher {
        ctx: &ctx,
        test_id: &test_id,
        seq: 0,
        last_end_ms: 0,
        started_at_ms: None,
    };
    let handle = match onslaught_engine::start(spec, cancel.clone()).await {
        Ok(handle) => handle,
        Err(e) => {
            tracing::error!(test_id, "cannot start the test: {e}");
            publisher
                .send(&Measurements::default(), 0, Some(&e.to_string()), None)
                .await;
            done.store(true, Ordering::Release);
            return Outcome {
                test_id: test_id.clone(),
                requests_sent: 0,
                error: Some(e.to_string()),
            };
        }
    };
    let recorder = Arc::clone(&handle.recorder);
    let started = handle.started;
    publisher.started_at_ms = handle
        .started_at
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_millis()).ok());
    // The schedule's origin as every driver of the test knows it: the stated start, so that
    // all compute the same switch from the same instant.
    let rates = Rates {
        control: handle.rate_control(),
        users: handle.users_control(),
        ramp: handle.ramp_control(),
        origin_ms: if start_at_ms > 0 {
            start_at_ms
        } else {
            publisher.started_at_ms.unwrap_or_else(now_ms)
        },
    };
    // Changes are applied by a task of their own: publishing metrics (which may wait on the
    // transport) never delays a change past its instant.
    let applying = tokio::spawn({
        let (ctx, test_id) = (ctx.clone(), test_id.clone());
        async move {
            while let Some(change) = changes.recv().await {
                rates.apply(&ctx, &test_id, change);
            }
        }
    });
    let (cuts, mut intervals) = tokio::sync::mpsc::channel(1);
    let cutting = cancel.child_token();
    let cutter = match spawn_cutter(
        Arc::clone(&recorder),
        started,
        ctx.metrics_every,
        cuts,
        cutting.clone(),
    ) {
        Ok(cutter) => Some(cutter),
        Err(e) => {
            tracing::error!(test_id, "cannot start the metrics thread: {e}");
            stop.stop(format!("cannot start the metrics thread: {e}"));
            None
        }
    };
    let finished = handle.finished();
    tokio::pin!(finished);
    loop {
        tokio::select! {
            _ = &mut finished => break,
            Some((interval, end_ms)) = intervals.recv() => {
                sent.store(recorder.requests_sent(), Ordering::Relaxed);
                publisher.send(&interval, end_ms, None, None).await;
            }
        }
    }
    applying.abort();
    // The cutter stops within its longest nap; an interval it cut meanwhile goes out before the
    // final one.
    cutting.cancel();
    if let Some(cutter) = cutter {
        let _ = tokio::task::spawn_blocking(move || cutter.join()).await;
    }
    while let Ok((interval, end_ms)) = intervals.try_recv() {
        publisher.send(&interval, end_ms, None, None).await;
    }
    let mut interval = Measurements::default();
    recorder.take_into(&mut interval);
    let timing = recorder.timing(started);
    let requests_sent = recorder.requests_sent();
    sent.store(requests_sent, Ordering::Relaxed);
    publisher
        .send(
            &interval,
            elapsed_ms(started),
            Some(stop.reason().as_deref().unwrap_or("")),
            Some(&timing),
        )
        .await;
    done.store(true, Ordering::Release);
    Outcome {
        test_id,
        requests_sent,
        error: None,
    }
}

/// A run's load, changed while it goes.
struct Rates {
    /// The engine's control of the schedule (none for an avalanche).
    control: Option<RateControl>,
    /// The engine's control of an avalanche's users (none for any other run).
    users: Option<UsersControl>,
    /// The engine's control of ramping users' stripe (none for any other run).
    ramp: Option<RampControl>,
    /// The schedule's origin on the wall clock, ms since the Unix epoch.
    origin_ms: u64,
}

/// Counts a schedule change applied, `late_ms` after its instant.
fn count_applied(ctx: &Context, late_ms: u64) {
    ctx.stats.rate_changes.fetch_add(1, Ordering::Relaxed);
    if late_ms > 0 {
        ctx.stats.late_rate_changes.fetch_add(1, Ordering::Relaxed);
    }
}

impl Rates {
    /// Switches the schedule to `change`'s rate, this driver to its new stripe, or an
    /// avalanche to its new users, at its instant.
    fn apply(&self, ctx: &Context, test_id: &str, change: RateChange) {
        let at = Duration::from_millis(change.effective_at_ms.saturating_sub(self.origin_ms));
        let late_ms = now_ms().saturating_sub(change.effective_at_ms);
        if let Change::UsersStripe(stripe) = change.what {
            let Some(control) = &self.ramp else {
                tracing::warn!(test_id, "only ramping users take over users");
                return;
            };
            match control.restripe(at, stripe) {
                Ok(()) => {
                    count_applied(ctx, late_ms);
                    tracing::info!(
                        test_id,
                        at_ms = at.as_millis(),
                        stripe = stripe.index(),
                        of = stripe.of(),
                        late_ms,
                        "taking over: this driver's stripe of the users widened"
                    );
                }
                Err(e) => tracing::warn!(test_id, "cannot take the users over: {e}"),
            }
            return;
        }
        if let Change::Users(users) = change.what {
            let Some(control) = &self.users else {
                tracing::warn!(test_id, "only an avalanche changes its users");
                return;
            };
            match control.change(at, users) {
                Ok(()) => {
                    count_applied(ctx, late_ms);
                    tracing::info!(
                        test_id,
                        at_ms = at.as_millis(),
                        users,
                        late_ms,
                        "users changed"
                    );
                }
                Err(e) => tracing::warn!(test_id, "cannot change the users: {e}"),
            }
            return;
        }
        let Some(control) = &self.control else {
            tracing::warn!(test_id, "a closed-loop run has no schedule to change");
            return;
        };
        let applied = match change.what {
            Change::Gap(gap) => control.change(at, gap, change.count),
            Change::Stripe(stripe) => control.restripe(at, stripe, change.count),
            Change::Users(_) | Change::UsersStripe(_) => return,
        };
        match applied {
            Ok(first) => {
                count_applied(ctx, late_ms);
                match change.what {
                    Change::Gap(gap) => tracing::info!(
                        test_id,
                        at_ms = at.as_millis(),
                        gap_us = gap.as_micros(),
                        first_arrival = first,
                        late_ms,
                        "rate changed"
                    ),
                    Change::Users(_) | Change::UsersStripe(_) => {}
                    Change::Stripe(stripe) => tracing::info!(
                        test_id,
                        at_ms = at.as_millis(),
                        stripe = stripe.index(),
                        of = stripe.of(),
                        first_arrival = first,
                        late_ms,
                        "taking over: this driver's stripe widened"
                    ),
                }
            }
            Err(e) => tracing::warn!(test_id, "cannot change the schedule: {e}"),
        }
    }
}

/// Starts the thread that cuts the run's metrics intervals at `started + k * every`, precisely
/// and ahead of ordinary work (as the pacer runs): a second of the test's series then holds
/// exactly the sends of that second, where a tick of the async runtime, late on a busy machine,
/// moved a millisecond of sends into the previous second for each millisecond late. While the
/// loop has not taken the previous interval (a full metrics queue makes it wait), no cut is
/// made and the engine keeps recording, so the next interval is longer.
fn spawn_cutter(
    recorder: Arc<onslaught_engine::Recorder>,
    started: std::time::Instant,
    every: Duration,
    cuts: tokio::sync::mpsc::Sender<(Measurements, u64)>,
    stop: CancellationToken,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("onslaught-metrics".to_owned())
        .spawn(move || {
            onslaught_engine::schedule::raise_priority(true);
            let mut next = started;
            loop {
                next += every;
                if !onslaught_engine::schedule::sleep_until(next, &stop, true) {
                    return;
                }
                match cuts.try_reserve() {
                    Ok(permit) => {
                        let mut interval = Measurements::default();
                        recorder.take_into(&mut interval);
                        permit.send((interval, elapsed_ms(started)));
                    }
                    Err(tokio::sync::mpsc::error::TrySendError::Full(())) => {}
                    Err(tokio::sync::mpsc::error::TrySendError::Closed(())) => return,
                }
            }
        })
}

fn elapsed_ms(since: std::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Numbers and publishes a test's metrics messages.
struct Publisher<'a> {
    ctx: &'a Context,
    test_id: &'a str,
    /// Sequence number of the last message sent.
    seq: u64,
    /// End of the last interval sent, ms since the start.
    last_end_ms: u64,
    /// Wall-clock time the engine's clock started, ms since the Unix epoch (sent with every
    /// message, so the orchestrator knows it whichever message arrives first).
    started_at_ms: Option<u64>,
}

impl Publisher<'_> {
    /// Sends one interval; `last` is `Some(reason)` on the final message (an empty reason: the
    /// run ended by itself), which carries the run's `timing` when it ran.
    async fn send(
        &mut self,
        interval: &Measurements,
        end_ms: u64,
        last: Option<&str>,
        timing: Option<&onslaught_engine::Timing>,
    ) {
        let is_final = last.is_some();
        let stopped = last.filter(|reason| !reason.is_empty());
        self.seq += 1;
        let message = metrics(
            interval,
            Position {
                node_id: &self.ctx.node_id,
                test_id: self.test_id,
                seq: self.seq,
                is_final,
                start_ms: self.last_end_ms,
                end_ms,
                stopped,
                last_send: timing.and_then(onslaught_engine::Timing::last_send),
                last_response: timing.and_then(onslaught_engine::Timing::last_end),
                started_at_ms: self.started_at_ms,
            },
        );
        self.last_end_ms = end_ms.max(self.last_end_ms);
        // Waits only when the publisher's queue is full (backpressure; the engine keeps
        // recording, so the next interval covers the wait).
        self.ctx.outbox.metrics(&message).await;
    }
}
