//! The load engine: sends HTTP requests to one target and records what happens.
//!
//! A run has a [`LoadSpec`]: a mode, bounds (request count and/or duration), a number of
//! keep-alive connections, a per-request timeout and a request template. [`start`] spawns one
//! worker task per connection on engine threads of its own and returns a [`RunHandle`]; the
//! caller drains interval statistics from the handle's [`Recorder`] as often as it likes and
//! awaits the run's end. Each engine thread records into its own slot of the recorder; nothing on
//! the request path is shared between engine threads (an avalanche's request budget is claimed
//! in batches).
//!
//! - [`Mode::Avalanche`]: every worker sends its next request as soon as its previous response
//!   is complete (closed loop, first come first served). [`RunHandle::users_control`] changes
//!   how many users (workers) send from a stated offset of the run on; the recorder counts
//!   them.
//! - [`Mode::Ramping`]: a closed loop whose users follow a curve ([`Users`], as k6's
//!   ramping-vus): a user (one per connection) sends only while the curve's users include it,
//!   starting as the curve rises and stopping, after its request in flight, as it falls; the
//!   recorder counts the users running (`Counters::user_ms`, [`RunHandle::running_users`]).
//! - [`Mode::Scheduled`]: a pacer thread releases requests at absolute times from the start
//!   ([`Arrivals`]: `i * gap`, or where a rate curve's area reaches `i`; all of them or every
//!   n-th); workers take them in order. Latency is measured from the intended
//!   send time (no coordinated omission); service time from the actual send is recorded too.
//!   [`RunHandle::rate_control`] changes the rate from a stated offset of the run on.
//!
//! A failed request (connect error, timeout, reset, 5xx) is counted by kind and by cause (the
//! OS's words, as `connect: connection refused (os error 111)`) and never stops the run. A
//! request counts as *attempted* when a worker takes it and as *sent* only once an open
//! connection takes it; bytes out are bytes written to sockets. A closed-loop worker whose
//! connection cannot be opened pauses (5 ms, doubling to 100 ms) before its next attempt.
//! Memory is fixed: no per-request sample is kept.
//!
//! # Layout
//! - [`spec`]: [`LoadSpec`], [`Mode`], [`RequestTemplate`], validation of a URL into a target.
//! - [`recorder`]: [`Recorder`], one statistics slot per engine thread, drained and summed
//!   into `onslaught_stats::Measurements`; [`Timing`], a run's attack and wait.
//! - [`schedule`]: [`Arrivals`] (a constant gap or a rate [`Curve`], whole or one [`Stripe`],
//!   switched to a new rate from an instant of the run), the pacer thread, [`RateControl`]
//!   (a running schedule's rate changed) and precise sleeping.
//! - `connection`: TCP and TLS connections (`Stream`, counting bytes written).
//! - `h1`: the HTTP/1.1 client loop on a connection: request heads written once, responses
//!   parsed in place (`httparse`) on a reused buffer; no hyper, no allocation per request.
//! - [`ramp`]: [`Users`], a curve of virtual users (whole or one stripe), and `Presence`, the
//!   count of users running.
//! - [`users`]: [`UsersControl`], an avalanche's users changed while it runs (users above the
//!   limit wait; users beyond those it began with start on their engine threads).
//! - `worker`: one connection's request loop.
//! - [`limits`]: the open-file limit connections must fit under.
//!
//! # Bounds
//! A run with a duration ends by `duration + timeout` after its clock starts, whatever happens:
//! no request starts at or after the deadline (the pacer releases none intended then), and
//! whatever is still under way at `deadline + timeout` (a request queued behind slow ones,
//! a connection retried) is stopped and counted as aborted. Connections are opened before the
//! clock for at most [`OPEN_AHEAD_BUDGET`] (or the timeout if shorter); one not open by then is
//! opened by its worker's first request.
//!
//! `engine` knows nothing of Kafka, JSON or the protocol.

mod connection;
mod h1;
pub mod limits;
pub mod ramp;
pub mod recorder;
pub mod schedule;
pub mod spec;
pub mod users;
pub mod vu;
mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use ramp::Users;
pub use recorder::{Recorder, Timing};
pub use schedule::{Arrivals, ChangeError, Curve, CurveError, RateControl, Stripe};
pub use spec::{FlowRun, LoadSpec, Mode, RequestTemplate, SpecError};
pub use users::{RampControl, UsersControl, UsersError};

/// How far ahead of its start a scheduled run's pacer thread is started.
const PACER_LEAD: Duration = Duration::from_millis(3);

/// Longest time connections are opened before a run's clock starts.
pub const OPEN_AHEAD_BUDGET: Duration = Duration::from_secs(2);

/// Most avalanche permits an engine thread claims from the run's budget at once.
const PERMIT_BATCH_MAX: usize = 64;

/// A send that starts more than this after its intended time counts as late.
pub const LATE_TOLERANCE: Duration = Duration::from_millis(1);

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The target's host name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// Host name.
        host: String,
        /// Resolver error.
        reason: String,
    },
    /// The pacer or an engine thread could not start.
    #[error("cannot start an engine thread: {0}")]
    Thread(std::io::Error),
    /// TLS could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// A running load test on this node.
pub struct RunHandle {
    /// Where workers record; drain it with [`Recorder::take`].
    pub recorder: Arc<Recorder>,
    /// When the run started (the schedule's origin).
    pub started: Instant,
    /// `started` on the wall clock (what a driver reports as its actual start).
    pub started_at: std::time::SystemTime,
    /// The engine threads and the pacer.
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Stops the run early.
    cancel: CancellationToken,
    /// Stops the run at `deadline + timeout`, for a run bounded in time.
    hard_stop: Option<tokio::task::JoinHandle<()>>,
    /// Changes a scheduled run's rate while it goes (none for an avalanche).
    rates: Option<RateControl>,
    /// Changes an avalanche's users while it goes (none for any other run).
    users: Option<UsersControl>,
    /// Widens a ramping run's stripe of users in total (none for any other run).
    ramp: Option<RampControl>,
}

impl RunHandle {
    /// Stops sending; in-flight requests are abandoned and counted as aborted.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// Users running now, for a run of ramping users (`None` for any other).
    pub fn running_users(&self) -> Option<u64> {
        self.recorder.running_users()
    }

    /// A token that stops the run when cancelled.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// What changes a scheduled run's rate while it goes; `None` for an avalanche (a closed
    /// loop has no rate).
    pub fn rate_control(&self) -> Option<RateControl> {
        self.rates.clone()
    }

    /// What changes an avalanche's users while it goes; `None` for any other run (a schedule
    /// has a rate, ramping users follow their curve).
    pub fn users_control(&self) -> Option<UsersControl> {
        self.users.clone()
    }

    /// What widens a ramping run's stripe of users from an offset on (a takeover); `None` for
    /// any other run.
    pub fn ramp_control(&self) -> Option<RampControl> {
        self.ramp.clone()
    }

    /// Waits until every request has a response, an error, or was aborted.
    pub async fn finished(self) -> Duration {
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
        if let Some(hard_stop) = self.hard_stop {
            hard_stop.abort();
        }
        self.recorder.abort_in_flight();
        self.recorder.users_ended(Instant::now());
        self.started.elapsed()
    }
}

/// Engine threads when the spec leaves it open: one per core this process may run on, at most
/// one per connection.
fn thread_count(spec: &LoadSpec) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let wanted = spec.threads.unwrap_or(cores).max(1);
    wanted.min(
        usize::try_from(spec.concurrency)
            .unwrap_or(usize::MAX)
            .max(1),
    )
}

/// Starts a run. Its connections live on engine threads of their own (each a single-threaded
/// tokio runtime, as wrk runs one event loop per thread), so nothing else the process does can
/// delay a send; a scheduled run adds the pacer thread. `cancel` stops the run early.
pub async fn start(spec: LoadSpec, cancel: CancellationToken) -> Result<RunHandle, EngineError> {
    // The run's own token: its hard stop at `deadline + timeout` ends this run only.
    let cancel = cancel.child_token();
    let connector = Arc::new(connection::Connector::new(&spec).await?);
    let scheduled = matches!(spec.mode, Mode::Scheduled(_));
    // Sends on a schedule should not wait behind other work on a busy machine: engine threads
    // of a scheduled run ask for nice -10, and for real-time like the pacer when the schedule is
    // precise (gaps of 1 ms or more: at most 1,000 light requests a second per driver, so a
    // real-time thread cannot hog a core).
    let priority = match &spec.mode {
        Mode::Avalanche | Mode::Ramping(_) => None,
        Mode::Scheduled(arrivals) => {
            Some(arrivals.shortest_gap() >= schedule::PRECISE_MIN_INTERVAL)
        }
    };
    // Told when a rate change makes the schedule imprecise (gaps below 1 ms): real-time engine
    // threads then leave real-time scheduling, which could otherwise hog the cores.
    let (precise_tx, precise_rx) = tokio::sync::watch::channel(true);
    let spec = Arc::new(spec);
    let mut threads = Vec::new();

    // The engine threads first, each opening its connections (as wrk does): the clock starts once
    // every one of them is ready to send, so opening connections neither delays the first sends
    // nor holds up the schedule.
    let count = thread_count(&spec);
    let concurrency = usize::try_from(spec.concurrency).unwrap_or(usize::MAX);
    let connections_of =
        |index: usize| concurrency / count + usize::from(index < concurrency % count);
    // Each thread claims avalanche permits a few at a time: about one per connection.
    let batches: Vec<u64> = (0..count)
        .map(|index| u64::try_from(connections_of(index).clamp(1, PERMIT_BATCH_MAX)).unwrap_or(1))
        .collect();
    let mut recorder = Recorder::with_batches(scheduled, &batches);
    if matches!(spec.mode, Mode::Ramping(_) | Mode::Avalanche) {
        recorder = recorder.with_users(Instant::now());
    }
    if let Some(run) = &spec.flows {
        let flows: Vec<String> = run.scenario.flows.iter().map(|f| f.name.clone()).collect();
        recorder = recorder.with_names(&run.scenario.names, &flows);
    }
    let recorder = Arc::new(recorder);
    let mut ready = Vec::with_capacity(count);
    let mut go = Vec::with_capacity(count);
    // Where an avalanche's users change starts users beyond those it began with, by thread.
    let mut starters = Vec::with_capacity(count);
    let mut first = 0;
    for index in 0..count {
        let connections = connections_of(index);
        let numbers = first..first + connections;
        first += connections;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<Arc<worker::Shared>>();
        let (start_tx, starts) = tokio::sync::mpsc::unbounded_channel::<usize>();
        starters.push(start_tx);
        let thread = std::thread::Builder::new()
            .name(format!("onslaught-engine-{index}"))
            .spawn({
                let cancel = cancel.clone();
                let connector = Arc::clone(&connector);
                let slot = recorder.slot(index);
                let open_for = spec.timeout.min(OPEN_AHEAD_BUDGET);
                let precise = precise_rx.clone();
                move || {
                    let setup = ThreadSetup {
                        ready: ready_tx,
                        go: go_rx,
                        starts,
                        connector,
                        slot,
                        numbers,
                        place: (index, count),
                        open_for,
                        priority,
                        precise,
                    };
                    engine_thread(setup, &cancel);
                }
            });
        match thread {
            Ok(thread) => threads.push(thread),
            Err(e) => {
                cancel.cancel();
                return Err(EngineError::Thread(e));
            }
        }
        ready.push(ready_rx);
        go.push(go_tx);
    }
    for thread in ready {
        // An error means the thread could not build its runtime; it has cancelled the run.
        let _ = thread.await;
    }

    // A schedule starts a moment ahead, so the pacer thread is up (and has its priority) before
    // its first release; without it the first request of every scheduled run went out ~1 ms late.
    let started = Instant::now()
        + if scheduled {
            PACER_LEAD
        } else {
            Duration::ZERO
        };
    let deadline = spec.duration.map(|d| started + d);
    // Whatever happens (requests queued behind slow ones, connections retried), nothing of a run
    // bounded in time outlives its deadline by more than the request timeout.
    let hard_stop = deadline
        .and_then(|d| d.checked_add(spec.timeout))
        .map(|at| {
            let cancel = cancel.clone();
            let at = tokio::time::Instant::from_std(at);
            tokio::spawn(async move {
                tokio::select! {
                    () = cancel.cancelled() => {}
                    () = tokio::time::sleep_until(at) => cancel.cancel(),
                }
            })
        });
    let mut rates = None;
    let mut users = None;
    let mut ramp_control = None;
    let jobs = match &spec.mode {
        Mode::Avalanche => {
            let presence = recorder.presence().ok_or_else(|| {
                EngineError::Thread(std::io::Error::other(
                    "an avalanche without its users count",
                ))
            })?;
            let roster = ramp::Roster::new(
                usize::try_from(users::MAX_USERS).unwrap_or(usize::MAX),
                presence,
            );
            let initial = u64::from(spec.concurrency);
            let gate = Arc::new(users::Gate::new(initial, roster));
            users = Some(UsersControl::new(
                Arc::clone(&gate),
                started,
                initial,
                std::mem::take(&mut starters),
            ));
            worker::Jobs::permits(spec.requests, deadline).gated(gate)
        }
        Mode::Ramping(users) => {
            let presence = recorder.presence().ok_or_else(|| {
                EngineError::Thread(std::io::Error::other(
                    "a ramping run without its users count",
                ))
            })?;
            // Ranks for every user a takeover could add (the roster is a flag per rank).
            let ramp = Arc::new(ramp::Ramp::new(
                users.clone(),
                started,
                usize::try_from(users::MAX_USERS).unwrap_or(usize::MAX),
                presence,
            ));
            ramp_control = Some(RampControl::new(
                Arc::clone(&ramp),
                u64::try_from(concurrency).unwrap_or(u64::MAX),
                std::mem::take(&mut starters),
            ));
            worker::Jobs::permits(spec.requests, deadline).ramping(ramp)
        }
        Mode::Scheduled(arrivals) => {
            let (tx, rx) = async_channel::bounded(schedule::QUEUE_CAPACITY);
            let plan = schedule::Plan {
                origin: started,
                arrivals: arrivals.clone(),
                count: spec.requests,
                deadline,
            };
            match schedule::spawn_adjustable_pacer(plan, tx, cancel.clone()) {
                Ok((pacer, control)) => {
                    threads.push(pacer);
                    rates = Some(control.telling(precise_tx));
                }
                Err(e) => {
                    cancel.cancel();
                    return Err(EngineError::Thread(e));
                }
            }
            worker::Jobs::scheduled(rx)
        }
    };
    let flows = match &spec.flows {
        None => None,
        Some(run) => Some(Arc::new(flows(&spec, run, &cancel, deadline)?)),
    };
    let shared = Arc::new(worker::Shared {
        spec: Arc::clone(&spec),
        connector,
        recorder: Arc::clone(&recorder),
        jobs,
        flows,
    });
    for thread in go {
        let _ = thread.send(Arc::clone(&shared));
    }
    let started_at =
        std::time::SystemTime::now() + started.saturating_duration_since(Instant::now());
    Ok(RunHandle {
        recorder,
        started,
        started_at,
        threads,
        cancel,
        hard_stop,
        rates,
        users,
        ramp: ramp_control,
    })
}

/// What the virtual users of a run of flows share.
fn flows(
    spec: &LoadSpec,
    run: &FlowRun,
    cancel: &CancellationToken,
    deadline: Option<Instant>,
) -> Result<vu::Flows, EngineError> {
    let base =
        url::Url::parse(&spec.request.uri.to_string()).map_err(|e| EngineError::Resolve {
            host: spec.request.uri.to_string(),
            reason: e.to_string(),
        })?;
    Ok(vu::Flows {
        cursors: onslaught_flow::data::Cursors::new(
            run.scenario.datasets.len(),
            run.driver,
            run.drivers,
        ),
        scenario: Arc::clone(&run.scenario),
        driver: run.driver,
        base,
        host: spec
            .request
            .uri
            .authority()
            .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok()),
        running: std::sync::atomic::AtomicUsize::new(
            usize::try_from(spec.concurrency).unwrap_or(usize::MAX),
        ),
        cancel: cancel.clone(),
        deadline,
    })
}

/// One engine thread: `connections` workers on a single-threaded runtime, until they run out of
/// work or `cancel` fires (then in-flight requests are dropped; [`RunHandle::finished`] counts
/// them as aborted).
/// What an engine thread is started with.
struct ThreadSetup {
    /// Told once the thread's connections are open (or failed to).
    ready: tokio::sync::oneshot::Sender<()>,
    /// Brings what the workers share, when the run starts.
    go: tokio::sync::oneshot::Receiver<Arc<worker::Shared>>,
    /// Ranks of users to start on this thread while the run goes (an avalanche's users
    /// raised).
    starts: tokio::sync::mpsc::UnboundedReceiver<usize>,
    /// Opens the connections.
    connector: Arc<connection::Connector>,
    /// Where this thread's workers record (no other engine thread does).
    slot: Arc<recorder::Slot>,
    /// The numbers of this thread's connections (one worker each).
    numbers: std::ops::Range<usize>,
    /// This thread's index and the number of engine threads: a worker's user rank interleaves
    /// the threads (`local * threads + index`), so ramping users spread over them.
    place: (usize, usize),
    /// How long connections may take to open before the run starts.
    open_for: Duration,
    /// Real-time (`Some(true)`), nice -10 (`Some(false)`) or unchanged.
    priority: Option<bool>,
    /// Turns false when a rate change makes the schedule imprecise: a real-time thread then
    /// leaves real-time scheduling.
    precise: tokio::sync::watch::Receiver<bool>,
}

fn engine_thread(setup: ThreadSetup, cancel: &CancellationToken) {
    let ThreadSetup {
        ready,
        go,
        mut starts,
        connector,
        slot,
        numbers,
        place: (thread, threads),
        open_for,
        priority,
        mut precise,
    } = setup;
    if let Some(realtime) = priority {
        schedule::raise_priority(realtime);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start an engine thread's runtime: {e}");
            cancel.cancel();
            return;
        }
    };
    runtime.block_on(async {
        if priority == Some(true) {
            // On this thread's runtime, so it changes this thread's scheduling.
            tokio::spawn(async move {
                while precise.changed().await.is_ok() {
                    if !*precise.borrow_and_update() {
                        schedule::leave_realtime();
                        break;
                    }
                }
            });
        }
        // Open every connection before the run starts, for at most `open_for`; one that fails
        // or is not open by then is opened (and its failure counted) by its worker's first
        // request.
        let first = numbers.start;
        let mut opened: Vec<Option<connection::Open>> = numbers.clone().map(|_| None).collect();
        let mut opening = JoinSet::new();
        for number in numbers {
            let connector = Arc::clone(&connector);
            opening.spawn(async move { (number, connector.connect(number).await.ok()) });
        }
        let _ = tokio::time::timeout(open_for, async {
            while let Some(result) = opening.join_next().await {
                if let Ok((number, connection)) = result
                    && let Some(slot) = opened.get_mut(number - first)
                {
                    *slot = connection;
                }
            }
        })
        .await;
        opening.abort_all();
        let _ = ready.send(());
        let Ok(shared) = go.await else {
            return; // The run never started.
        };
        let mut workers = JoinSet::new();
        for (local, (number, connection)) in (first..).zip(opened).enumerate() {
            let user = worker::User {
                number,
                rank: local * threads + thread,
            };
            spawn_worker(&mut workers, &shared, &slot, user, connection);
        }
        tokio::select! {
            () = cancel.cancelled() => workers.abort_all(),
            () = async {
                loop {
                    tokio::select! {
                        joined = workers.join_next() => if joined.is_none() { break },
                        Some(rank) = starts.recv() => {
                            // A user added while the run goes: its number is its rank (above
                            // every number the run began with), its connection opened by its
                            // first request.
                            let user = worker::User { number: rank, rank };
                            let joins = shared.flows.as_ref().is_none_or(|flows| flows.join());
                            if joins {
                                spawn_worker(&mut workers, &shared, &slot, user, None);
                            }
                        }
                    }
                }
            } => {}
        }
        while workers.join_next().await.is_some() {}
    });
}

/// Spawns `user`'s worker (a request loop, or a virtual user of flows) on this thread.
fn spawn_worker(
    workers: &mut JoinSet<()>,
    shared: &Arc<worker::Shared>,
    slot: &Arc<recorder::Slot>,
    user: worker::User,
    connection: Option<connection::Open>,
) {
    match &shared.flows {
        None => workers.spawn(worker::run(
            Arc::clone(shared),
            Arc::clone(slot),
            user,
            connection,
        )),
        Some(flows) => workers.spawn(vu::run(
            Arc::clone(shared),
            Arc::clone(flows),
            Arc::clone(slot),
            user,
            connection,
        )),
    };
}
