//! One connection's request loop.

use std::future::Future;
use std::io::IoSlice;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::Poll;
use std::time::{Duration, Instant};

use http::{HeaderValue, Method};
use onslaught_stats::ErrorKind;

use crate::connection::{Connector, Open};
use crate::ramp::{Ramp, Turn};
use crate::recorder::{Exchange, Failure, Slot};
use crate::users::Gate;
use crate::{LoadSpec, Recorder};

/// First pause of a closed-loop worker after its connection could not be opened; it doubles
/// with each failure in a row, up to [`CONNECT_BACKOFF_MAX`], so a refused target costs a few
/// hundred attempts a second per run, not a core's worth.
const CONNECT_BACKOFF_MIN: Duration = Duration::from_millis(5);

/// Longest pause between a closed-loop worker's failed connection attempts.
const CONNECT_BACKOFF_MAX: Duration = Duration::from_millis(100);

/// Where workers get their next request from.
pub(crate) enum Jobs {
    /// Avalanche: a budget of requests, claimed by each engine thread in batches, and an
    /// optional deadline.
    Permits {
        /// Requests not yet claimed by any thread (`None`: unbounded).
        remaining: Option<AtomicU64>,
        /// No request starts at or after this time.
        deadline: Option<Instant>,
        /// Ramping users: a worker sends only while the curve's users include it.
        ramp: Option<Arc<Ramp>>,
        /// A closed loop whose users can change: a worker sends only while its rank is below
        /// the gate's limit.
        gate: Option<Arc<Gate>>,
    },
    /// Scheduled: intended send times released by the pacer.
    Scheduled(async_channel::Receiver<Instant>),
}

impl Jobs {
    pub(crate) fn permits(count: Option<u64>, deadline: Option<Instant>) -> Self {
        Jobs::Permits {
            remaining: count.map(AtomicU64::new),
            deadline,
            ramp: None,
            gate: None,
        }
    }

    /// These permits, taken only by the users `gate` lets through.
    pub(crate) fn gated(self, gate: Arc<Gate>) -> Self {
        match self {
            Jobs::Permits {
                remaining,
                deadline,
                ramp,
                ..
            } => Jobs::Permits {
                remaining,
                deadline,
                ramp,
                gate: Some(gate),
            },
            scheduled @ Jobs::Scheduled(_) => scheduled,
        }
    }

    /// These permits, taken only by the users `ramp` runs at the time.
    pub(crate) fn ramping(self, ramp: Arc<Ramp>) -> Self {
        match self {
            Jobs::Permits {
                remaining,
                deadline,
                gate,
                ..
            } => Jobs::Permits {
                remaining,
                deadline,
                ramp: Some(ramp),
                gate,
            },
            scheduled @ Jobs::Scheduled(_) => scheduled,
        }
    }

    pub(crate) fn scheduled(rx: async_channel::Receiver<Instant>) -> Self {
        Jobs::Scheduled(rx)
    }

    /// The next request to send for `user`, a worker of `slot`'s thread: `Some(intended time)`
    /// (None inside for unscheduled), or `None` when the run is over for this worker. A ramping
    /// user waits here while the curve leaves it out, a user above a gate's limit while the
    /// limit leaves it out. Once the budget is spent, permits other threads claimed and hold
    /// unused are taken from them (`recorder`), so a count is sent in full however users wait.
    pub(crate) async fn next(
        &self,
        recorder: &Recorder,
        slot: &Slot,
        user: &User,
    ) -> Option<Option<Instant>> {
        match self {
            Jobs::Permits {
                remaining,
                deadline,
                ramp,
                gate,
            } => {
                if let Some(gate) = gate {
                    if !gate.admit(user.rank, *deadline).await {
                        return None;
                    }
                } else if let Some(ramp) = ramp {
                    loop {
                        let now = Instant::now();
                        if deadline.is_some_and(|d| now >= d) {
                            ramp.stop(user.rank, now);
                            return None;
                        }
                        match ramp.turn(user.rank, now) {
                            Turn::Run => break,
                            // Left out for good, unless a takeover widens this node's stripe
                            // before the deadline.
                            Turn::Wait(None) => match deadline {
                                Some(deadline) => ramp.restriped(*deadline).await,
                                None => return None,
                            },
                            Turn::Wait(Some(at)) => {
                                let until = deadline.map_or(at, |d| at.min(d));
                                tokio::time::sleep_until(until.into()).await;
                            }
                        }
                    }
                } else if deadline.is_some_and(|d| Instant::now() >= d) {
                    return None;
                }
                let claimed = remaining
                    .as_ref()
                    .is_none_or(|budget| slot.claim(budget) || recorder.steal_permit());
                if !claimed {
                    if let Some(ramp) = ramp {
                        ramp.stop(user.rank, Instant::now());
                    }
                    if let Some(gate) = gate {
                        gate.close(user.rank, Instant::now());
                    }
                }
                claimed.then_some(None)
            }
            Jobs::Scheduled(rx) => rx.recv().await.ok().map(Some),
        }
    }

    /// Pauses a worker whose connection could not be opened `failures` times in a row. Only a
    /// closed loop pauses (and never past its deadline): scheduled sends are already paced.
    pub(crate) async fn back_off(&self, failures: u32) {
        let Jobs::Permits { deadline, .. } = self else {
            return;
        };
        let pause = CONNECT_BACKOFF_MIN
            .saturating_mul(1 << failures.saturating_sub(1).min(8))
            .min(CONNECT_BACKOFF_MAX);
        let mut until = Instant::now() + pause;
        if let Some(deadline) = deadline {
            until = until.min(*deadline);
        }
        tokio::time::sleep_until(until.into()).await;
    }
}

/// Which worker: its connection's number and its rank among the node's users (what a ramp
/// starts and stops).
#[derive(Clone, Copy, Debug)]
pub(crate) struct User {
    /// The connection's number.
    pub(crate) number: usize,
    /// The user's rank: the curve's users run from rank 0 up.
    pub(crate) rank: usize,
}

/// What every worker of a run shares.
pub(crate) struct Shared {
    pub(crate) spec: Arc<LoadSpec>,
    pub(crate) connector: Arc<Connector>,
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) jobs: Jobs,
    /// A run of flows: what its virtual users share (`None`: the one request).
    pub(crate) flows: Option<Arc<crate::vu::Flows>>,
}

/// The request as it goes on the wire, serialized once per worker: every send writes these
/// same bytes (no allocation, no copy).
struct Prepared {
    /// Request line, headers (Host from the URL unless given) and body.
    bytes: Vec<u8>,
    /// A HEAD request: its response has no body.
    head: bool,
}

fn prepare(spec: &LoadSpec) -> Prepared {
    let request = &spec.request;
    let target = request.uri.path_and_query().map_or("/", |p| p.as_str());
    let host = request
        .uri
        .authority()
        .and_then(|authority| HeaderValue::from_str(authority.as_str()).ok());
    let mut bytes = Vec::new();
    crate::h1::write_head(
        &mut bytes,
        &request.method,
        target,
        host.as_ref(),
        &request.headers,
        request.body.len(),
    );
    bytes.extend_from_slice(&request.body);
    Prepared {
        bytes,
        head: request.method == Method::HEAD,
    }
}

/// Sends requests over one keep-alive connection until the jobs run out, recording into its
/// thread's `slot`. A stop aborts the task (see `engine_thread`).
pub(crate) async fn run(
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    user: User,
    connection: Option<Open>,
) {
    let number = user.number;
    let prepared = prepare(&shared.spec);
    let mut connection = connection;
    let mut deadline = Deadline::new(shared.spec.timeout);
    // Connections that could not be opened in a row (a closed loop pauses after each).
    let mut connect_failures = 0u32;
    while let Some(intended) = shared.jobs.next(&shared.recorder, &slot, &user).await {
        let started = Instant::now();
        slot.begin(started);
        let outcome = deadline
            .bound(
                started + shared.spec.timeout,
                exchange(&shared, &slot, &prepared, &mut connection, number, intended),
            )
            .await;
        let end = Instant::now();
        // Bytes out are what reached the socket for this request, whatever its outcome.
        let written = connection.as_mut().map_or(0, Open::take_written);
        if connection.as_ref().is_some_and(|open| !open.reusable()) {
            // The response ended the connection: close it now rather than at the next request.
            connection = None;
        }
        match outcome {
            Ok((status, bytes)) => {
                connect_failures = 0;
                let latency = end.saturating_duration_since(intended.unwrap_or(started));
                slot.response(
                    end,
                    Exchange {
                        status,
                        latency,
                        service: end - started,
                        bytes,
                        written,
                    },
                );
            }
            Err(failure) => {
                // The connection's state is unknown after a failure: start afresh.
                connection = None;
                slot.failure(end, &failure, written);
                if failure.kind == ErrorKind::Connect {
                    connect_failures = connect_failures.saturating_add(1);
                    shared.jobs.back_off(connect_failures).await;
                } else {
                    connect_failures = 0;
                }
            }
        }
    }
}

/// One request and its complete response: status and body bytes. The request counts as sent
/// once its connection is open and takes it (`intended`: its scheduled time).
async fn exchange(
    shared: &Shared,
    slot: &Slot,
    prepared: &Prepared,
    connection: &mut Option<Open>,
    number: usize,
    intended: Option<Instant>,
) -> Result<(u16, u64), Failure> {
    let open = ready(&shared.connector, connection, number).await?;
    slot.sent(&shared.recorder, Instant::now(), intended);
    open.send(&mut [IoSlice::new(&prepared.bytes)]).await?;
    let response = open.read_response(prepared.head, None, None).await?;
    Ok((response.status, response.body_bytes))
}

/// The connection to send the next request on: the kept-alive one unless it ended while idle
/// (nothing was sent on it, so nothing is counted), else a new one.
pub(crate) async fn ready<'c>(
    connector: &Connector,
    connection: &'c mut Option<Open>,
    number: usize,
) -> Result<&'c mut Open, Failure> {
    if let Some(open) = connection.as_mut()
        && open.closed_while_idle().await
    {
        *connection = None;
    }
    match connection {
        Some(open) => Ok(open),
        None => Ok(connection.insert(connector.connect(number).await?)),
    }
}

/// A worker's per-request timeout, as one timer the worker keeps: arming and disarming a timer
/// per request (`tokio::time::timeout`) was the hottest user-space cost left in a profile. The
/// timer is set to the deadline of some request at or before the current one, so it never fires
/// after the current deadline; when it fires early (its request finished long ago), it is moved
/// to the current deadline. In a run of requests much shorter than the timeout, it moves once
/// per timeout, not once per request.
pub(crate) struct Deadline {
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl Deadline {
    /// A timer for requests that start from now on, with a `timeout` each.
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            timer: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    /// `work`, failed as [`ErrorKind::Timeout`] if it is not done by `deadline` (no earlier
    /// than any deadline given before).
    pub(crate) async fn bound<T>(
        &mut self,
        deadline: Instant,
        work: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        let mut work = pin!(work);
        let timer = &mut self.timer;
        std::future::poll_fn(|cx| {
            if let Poll::Ready(done) = work.as_mut().poll(cx) {
                return Poll::Ready(done);
            }
            loop {
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let deadline = tokio::time::Instant::from_std(deadline);
                if timer.deadline() >= deadline || tokio::time::Instant::now() >= deadline {
                    return Poll::Ready(Err(Failure::of(ErrorKind::Timeout)));
                }
                timer.as_mut().reset(deadline);
            }
        })
        .await
    }
}
