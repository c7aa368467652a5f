//! Where workers record: one slot per engine thread, drained and summed in intervals.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use onslaught_stats::{ErrorKind, Iterations, Measurements};
use parking_lot::Mutex;

use crate::ramp::Presence;

use crate::LATE_TOLERANCE;

/// Why a request got no complete response: its kind, and the cause when one is known (the OS's
/// or the protocol's words, as `connection refused (os error 111)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The kind users count.
    pub kind: ErrorKind,
    /// The cause, if known.
    pub cause: Option<String>,
}

impl Failure {
    /// A failure of `kind` without a known cause.
    pub fn of(kind: ErrorKind) -> Self {
        Self { kind, cause: None }
    }

    /// A failure of `kind` caused by `cause` (its first letter lower-cased, as the rest of a
    /// reason line reads).
    pub fn because(kind: ErrorKind, cause: &dyn std::fmt::Display) -> Self {
        let text = cause.to_string();
        let mut chars = text.chars();
        let cause = match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => text,
        };
        Self {
            kind,
            cause: Some(cause),
        }
    }
}

/// Where a run records: one slot per engine thread, drained and summed on demand.
///
/// Each engine thread records only into its own [`Slot`] (a lock that no other engine thread
/// takes; the drain takes it twice a second for a swap), so nothing on the request path is
/// shared between engine threads. [`Recorder::take`] swaps every slot's interval for an empty
/// one and sums them (exact: histogram addition), so each event lands in exactly one drained
/// interval. Memory stays the size of two [`Measurements`] per engine thread however many
/// requests run.
///
/// A scheduled run also keeps the time of the node's latest send in one atomic, for the gaps
/// between consecutive sends of the node (a quantity of all threads together, at most the
/// schedule's rate); an avalanche run shares nothing.
#[derive(Debug)]
pub struct Recorder {
    /// One per engine thread.
    slots: Box<[Arc<Slot>]>,
    /// Emptied intervals the drain swaps in, one per slot (only the drain takes this lock).
    spares: Mutex<Vec<(Measurements, Named)>>,
    /// A run of flows: the request names and flow names its slots' [`Named`] parts index.
    names: Box<[String]>,
    /// See `names`.
    flow_names: Box<[String]>,
    /// Whether sends follow a schedule (gap and lag histograms exist).
    scheduled: bool,
    /// Scheduled runs: time of the node's latest send, in ns since `origin` plus one (0: none
    /// yet).
    last_send: AtomicU64,
    /// The clock origin for `last_send`.
    origin: Instant,
    /// Ramping users: how many run, and their time (drained as `Counters::user_ms`).
    users: Option<Arc<Presence>>,
}

/// One engine thread's part of a [`Recorder`]: its own interval and running totals, behind a
/// lock only that thread and the drain take. Aligned to its own cache lines, so threads
/// recording into neighbouring slots do not share one.
#[derive(Debug)]
#[repr(align(128))]
pub struct Slot {
    /// What this thread recorded since the last drain, and its totals.
    local: Mutex<Local>,
    /// Avalanche permits this thread claimed from the run's budget and not yet used. This
    /// slot's engine thread takes them (its workers are tasks on that one thread); another
    /// thread only once the budget is spent ([`Recorder::steal_permit`]), so the line is not
    /// shared while the run goes.
    permits: AtomicU64,
    /// How many permits this thread claims from the budget at once.
    batch: u64,
}

/// A run of flows: its measurements per request name and per flow, indexed as the scenario's
/// names and flows (no string on the request path); the drain builds the maps.
#[derive(Debug, Default)]
struct Named {
    /// Per request name.
    by_name: Vec<Measurements>,
    /// Per flow.
    flows: Vec<Iterations>,
}

impl Named {
    fn new(scheduled: bool, names: usize, flows: usize) -> Self {
        Self {
            by_name: (0..names).map(|_| Measurements::new(scheduled)).collect(),
            flows: (0..flows).map(|_| Iterations::default()).collect(),
        }
    }
}

/// A slot's state.
#[derive(Debug, Default)]
struct Local {
    /// The interval being filled.
    interval: Measurements,
    /// A run of flows: the interval per request name and per flow.
    named: Named,
    /// Requests started since the run started (sent or not).
    begun: u64,
    /// Requests sent since the run started.
    sent: u64,
    /// Requests finished (response, error or abort) since the run started.
    finished: u64,
    /// When this thread's latest request started.
    last_begin: Option<Instant>,
    /// When this thread's latest request ended.
    last_end: Option<Instant>,
}

/// When a run's last request went out and when its last request ended (response or error),
/// measured from the run's start: vegeta's attack and wait.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// From the start to the last send, if any request went out.
    pub last_send: Option<Duration>,
    /// From the start to the end of the last request to end, if any did.
    pub last_end: Option<Duration>,
}

impl Timing {
    /// From the start to the last send, if any request went out.
    pub fn last_send(&self) -> Option<Duration> {
        self.last_send
    }

    /// From the start to the end of the last request to end, if any did.
    pub fn last_end(&self) -> Option<Duration> {
        self.last_end
    }
}

impl Recorder {
    /// An empty recorder for `threads` engine threads, each claiming avalanche permits one at
    /// a time.
    pub fn new(scheduled: bool, threads: usize) -> Self {
        Self::with_batches(scheduled, &vec![1; threads.max(1)])
    }

    /// An empty recorder with one slot per entry of `batches`, the number of permits that
    /// slot's thread claims at once.
    pub(crate) fn with_batches(scheduled: bool, batches: &[u64]) -> Self {
        let slots: Box<[Arc<Slot>]> = batches
            .iter()
            .map(|batch| {
                Arc::new(Slot {
                    local: Mutex::new(Local {
                        interval: Measurements::new(scheduled),
                        ..Local::default()
                    }),
                    permits: AtomicU64::new(0),
                    batch: (*batch).max(1),
                })
            })
            .collect();
        let spares = slots
            .iter()
            .map(|_| (Measurements::new(scheduled), Named::default()))
            .collect();
        Self {
            slots,
            spares: Mutex::new(spares),
            names: Box::default(),
            flow_names: Box::default(),
            scheduled,
            last_send: AtomicU64::new(0),
            origin: Instant::now(),
            users: None,
        }
    }

    /// Takes one avalanche permit another engine thread claimed and has not used, once the
    /// budget is spent: a thread whose users all wait (lowered, or ramped down) would otherwise
    /// keep its permits unsent, and the run would end short of its count.
    pub(crate) fn steal_permit(&self) -> bool {
        self.slots.iter().any(|slot| slot.take_held())
    }

    /// The same recorder counting ramping users, from `now`.
    pub(crate) fn with_users(mut self, now: Instant) -> Self {
        self.users = Some(Arc::new(Presence::new(now)));
        self
    }

    /// The count of ramping users, for a run of them.
    pub(crate) fn presence(&self) -> Option<Arc<Presence>> {
        self.users.clone()
    }

    /// Users running now, for a run of ramping users.
    pub fn running_users(&self) -> Option<u64> {
        self.users.as_ref().map(|p| p.running())
    }

    /// The run is over: no user runs from `now`.
    pub(crate) fn users_ended(&self, now: Instant) {
        if let Some(users) = &self.users {
            users.end(now);
        }
    }

    /// The same recorder for a run of flows: measurements per request name (`names`) and per
    /// flow (`flows`) besides the totals.
    pub(crate) fn with_names(mut self, names: &[String], flows: &[String]) -> Self {
        let scheduled = self.scheduled;
        for slot in &self.slots {
            slot.local.lock().named = Named::new(scheduled, names.len(), flows.len());
        }
        for (_, named) in self.spares.get_mut().iter_mut() {
            *named = Named::new(scheduled, names.len(), flows.len());
        }
        self.names = names.into();
        self.flow_names = flows.into();
        self
    }

    /// Engine thread `index`'s slot.
    pub(crate) fn slot(&self, index: usize) -> Arc<Slot> {
        Arc::clone(&self.slots[index % self.slots.len()])
    }

    /// Takes everything recorded since the previous call.
    pub fn take(&self) -> Measurements {
        let mut into = Measurements::new(self.scheduled);
        self.take_into(&mut into);
        into
    }

    /// Like [`Recorder::take`], but into `into` (cleared first), so a caller that drains every
    /// second reuses its buffer instead of allocating new histograms each time.
    pub fn take_into(&self, into: &mut Measurements) {
        into.clear(self.scheduled);
        if let Some(users) = &self.users {
            into.counters.user_ms = users.drain(Instant::now());
        }
        let mut spares = self.spares.lock();
        for (slot, (spare, named)) in self.slots.iter().zip(spares.iter_mut()) {
            // The swaps are all that happens under the thread's lock; summing happens after.
            {
                let mut local = slot.local.lock();
                std::mem::swap(&mut local.interval, spare);
                if !self.names.is_empty() {
                    std::mem::swap(&mut local.named, named);
                }
            }
            into.add(spare);
            spare.clear(self.scheduled);
            for (name, part) in self.names.iter().zip(named.by_name.iter_mut()) {
                if part.counters != onslaught_stats::Counters::default() {
                    into.by_name
                        .entry(name.clone())
                        .or_insert_with(|| Measurements::new(self.scheduled))
                        .add(part);
                    part.clear(self.scheduled);
                }
            }
            for (name, part) in self.flow_names.iter().zip(named.flows.iter_mut()) {
                if *part != Iterations::default() {
                    into.flows.entry(name.clone()).or_default().add(part);
                    *part = Iterations::default();
                }
            }
        }
    }

    fn sum(&self, of: impl Fn(&Local) -> u64) -> u64 {
        self.slots.iter().map(|slot| of(&slot.local.lock())).sum()
    }

    /// Requests started so far (sent, or failed before they could be).
    pub fn requests_attempted(&self) -> u64 {
        self.sum(|l| l.begun)
    }

    /// Requests sent so far in this run.
    pub fn requests_sent(&self) -> u64 {
        self.sum(|l| l.sent)
    }

    /// Requests finished so far (response, error or abort).
    pub fn requests_finished(&self) -> u64 {
        self.sum(|l| l.finished)
    }

    /// When the last request went out and ended, from `origin` (the run's start; read it once
    /// the run is over).
    pub fn timing(&self, origin: Instant) -> Timing {
        let mut timing = Timing::default();
        for slot in &self.slots {
            let local = slot.local.lock();
            let since = |at: Option<Instant>| at.map(|at| at.saturating_duration_since(origin));
            timing.last_send = timing.last_send.max(since(local.last_begin));
            timing.last_end = timing.last_end.max(since(local.last_end));
        }
        timing
    }

    /// The gap since the node's previous send, for a scheduled run (a send at `now`).
    fn send_gap(&self, now: Instant) -> Option<Duration> {
        let stamp = u64::try_from(now.saturating_duration_since(self.origin).as_nanos())
            .unwrap_or(u64::MAX - 1)
            + 1;
        match self.last_send.swap(stamp, Ordering::AcqRel) {
            0 => None,
            previous => Some(Duration::from_nanos(stamp.saturating_sub(previous))),
        }
    }

    /// Counts every request that was begun but never finished as aborted (after a stop, once
    /// the engine threads are gone).
    pub(crate) fn abort_in_flight(&self) {
        for slot in &self.slots {
            let mut local = slot.local.lock();
            let in_flight = local.begun.saturating_sub(local.finished);
            if in_flight > 0 {
                local.finished += in_flight;
                *local
                    .interval
                    .counters
                    .errors
                    .entry(ErrorKind::Aborted)
                    .or_default() += in_flight;
            }
        }
    }
}

impl Slot {
    /// Claims one avalanche permit for this thread from `budget` (requests not yet claimed by
    /// any thread), taking `batch` at a time so the shared budget is touched once per batch.
    pub(crate) fn claim(&self, budget: &AtomicU64) -> bool {
        if self.take_held() {
            return true;
        }
        let batch = self.batch;
        match budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n > 0).then(|| n.saturating_sub(batch))
        }) {
            Ok(before) => {
                let got = before.min(batch);
                self.permits.store(got - 1, Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    /// Takes one of the permits this slot holds, if it holds any. Another thread may take them
    /// too (see [`Recorder::steal_permit`]), so this is an exchange, uncontended but for the end.
    fn take_held(&self) -> bool {
        let mut held = self.permits.load(Ordering::Relaxed);
        while held > 0 {
            match self.permits.compare_exchange_weak(
                held,
                held - 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => held = now,
            }
        }
        false
    }

    /// A request starts at `at`: it is counted as attempted, whether or not it can be sent.
    pub(crate) fn begin(&self, at: Instant) {
        let mut local = self.local.lock();
        local.begun += 1;
        local.interval.counters.requests_attempted += 1;
        local.last_begin = Some(at);
    }

    /// A begun request is handed to an open connection at `now`; `intended` is its scheduled
    /// time, if any. A scheduled run measures the node's send gap from `recorder`.
    pub(crate) fn sent(&self, recorder: &Recorder, now: Instant, intended: Option<Instant>) {
        let gap = if recorder.scheduled {
            recorder.send_gap(now)
        } else {
            None
        };
        let lag = intended.map(|i| now.saturating_duration_since(i));
        let mut local = self.local.lock();
        local.sent += 1;
        let interval = &mut local.interval;
        interval.counters.requests_sent += 1;
        if let (Some(gap), Some(h)) = (gap, interval.send_gaps.as_mut()) {
            h.record(gap);
        }
        if let Some(lag) = lag {
            if lag > LATE_TOLERANCE {
                interval.counters.late_sends += 1;
            }
            if let Some(h) = interval.send_lag.as_mut() {
                h.record(lag);
            }
        }
    }

    /// A complete response arrived at `end`; `written` bytes went out on its connection for it.
    pub(crate) fn response(&self, end: Instant, exchange: Exchange) {
        let mut local = self.local.lock();
        local.finished += 1;
        local.last_end = Some(end);
        let counters = &mut local.interval.counters;
        counters.responses_received += 1;
        counters.bytes_received += exchange.bytes;
        counters.bytes_sent += exchange.written;
        counters.status(exchange.status);
        if exchange.status >= 500 {
            counters.error(ErrorKind::Status5xx);
        }
        local.interval.latency.record(exchange.latency);
        local.interval.service.record(exchange.service);
    }

    /// A request failed at `end` without a complete response; `written` bytes went out for it
    /// (none if its connection could not be opened).
    pub(crate) fn failure(&self, end: Instant, failure: &Failure, written: u64) {
        let reason = match &failure.cause {
            Some(cause) => format!("{}: {cause}", failure.kind.name()),
            None => failure.kind.name().into_owned(),
        };
        let mut local = self.local.lock();
        local.finished += 1;
        local.last_end = Some(end);
        let counters = &mut local.interval.counters;
        counters.error(failure.kind);
        counters.bytes_sent += written;
        counters.reason(&reason, 1);
    }
}

/// Recording for runs of flows: the same events as a single request's, into the totals and the
/// request name's own measurements (`name` indexes the scenario's names).
impl Slot {
    /// A request of `name` starts at `at`.
    pub(crate) fn begin_named(&self, name: usize, at: Instant) {
        let mut local = self.local.lock();
        local.begun += 1;
        local.interval.counters.requests_attempted += 1;
        local.last_begin = Some(at);
        if let Some(m) = local.named.by_name.get_mut(name) {
            m.counters.requests_attempted += 1;
        }
    }

    /// A begun request of `name` is sent at `now` (see [`Slot::sent`]).
    pub(crate) fn sent_named(
        &self,
        recorder: &Recorder,
        name: usize,
        now: Instant,
        intended: Option<Instant>,
    ) {
        self.sent(recorder, now, intended);
        let mut local = self.local.lock();
        if let Some(m) = local.named.by_name.get_mut(name) {
            m.counters.requests_sent += 1;
            if let (Some(intended), Some(h)) = (intended, m.send_lag.as_mut()) {
                let lag = now.saturating_duration_since(intended);
                if lag > LATE_TOLERANCE {
                    m.counters.late_sends += 1;
                }
                h.record(lag);
            }
        }
    }

    /// A request of `name` got a complete response.
    pub(crate) fn response_named(&self, name: usize, end: Instant, exchange: Exchange) {
        self.response(end, exchange);
        let mut local = self.local.lock();
        if let Some(m) = local.named.by_name.get_mut(name) {
            record_response(m, &exchange);
        }
    }

    /// A request of `name` failed.
    pub(crate) fn failure_named(&self, name: usize, end: Instant, failure: &Failure, written: u64) {
        self.failure(end, failure, written);
        let reason = reason(failure);
        let mut local = self.local.lock();
        if let Some(m) = local.named.by_name.get_mut(name) {
            m.counters.error(failure.kind);
            m.counters.bytes_sent += written;
            m.counters.reason(&reason, 1);
        }
    }

    /// Check `check` of a request of `name` passed or failed.
    pub(crate) fn check(&self, name: usize, check: &str, passed: bool) {
        let mut local = self.local.lock();
        let Local {
            interval, named, ..
        } = &mut *local;
        let named = named.by_name.get_mut(name);
        for counters in
            std::iter::once(&mut interval.counters).chain(named.map(|m| &mut m.counters))
        {
            if passed {
                counters.check_passed();
            } else {
                counters.check_failed(check);
            }
        }
    }

    /// Updates flow `flow`'s iterations.
    pub(crate) fn iterations(&self, flow: usize, update: impl FnOnce(&mut Iterations)) {
        if let Some(iterations) = self.local.lock().named.flows.get_mut(flow) {
            update(iterations);
        }
    }
}

/// Counts a complete response into `m`.
fn record_response(m: &mut Measurements, exchange: &Exchange) {
    let counters = &mut m.counters;
    counters.responses_received += 1;
    counters.bytes_received += exchange.bytes;
    counters.bytes_sent += exchange.written;
    counters.status(exchange.status);
    if exchange.status >= 500 {
        counters.error(ErrorKind::Status5xx);
    }
    m.latency.record(exchange.latency);
    m.service.record(exchange.service);
}

/// A failure's reason line (`connect: connection refused`).
fn reason(failure: &Failure) -> String {
    match &failure.cause {
        Some(cause) => format!("{}: {cause}", failure.kind.name()),
        None => failure.kind.name().into_owned(),
    }
}

/// What a completed request measured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exchange {
    /// Response status.
    pub(crate) status: u16,
    /// From the intended send time (scheduled) or the actual send.
    pub(crate) latency: Duration,
    /// From the actual send.
    pub(crate) service: Duration,
    /// Response body bytes read.
    pub(crate) bytes: u64,
    /// Request bytes written on its connection.
    pub(crate) written: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_a_thread_holds_unused_are_taken_by_others_once_the_budget_is_spent() {
        let recorder = Recorder::with_batches(false, &[4, 4]);
        let (first, second) = (recorder.slot(0), recorder.slot(1));
        let budget = AtomicU64::new(5);
        // The first thread claims 4 and uses 1; the second gets the last one.
        assert!(first.claim(&budget) && second.claim(&budget));
        assert!(!second.claim(&budget), "the budget is spent");
        // The first thread's users wait: its 3 are taken by the second's, and no more.
        let stolen = (0..5).filter(|_| recorder.steal_permit()).count();
        assert_eq!(stolen, 3);
        assert!(!first.claim(&budget));
    }

    fn exchange(status: u16, latency_ms: u64, service_ms: u64) -> Exchange {
        Exchange {
            status,
            latency: Duration::from_millis(latency_ms),
            service: Duration::from_millis(service_ms),
            bytes: 10,
            written: 50,
        }
    }

    /// Two threads' slots are drained into one interval: counts, lateness, node-level gaps.
    #[test]
    fn take_drains_and_counts_lateness() {
        let recorder = Recorder::new(true, 2);
        let (a, b) = (recorder.slot(0), recorder.slot(1));
        let t0 = Instant::now();
        for slot in [&a, &b, &a, &b] {
            slot.begin(t0);
        }
        a.sent(
            &recorder,
            t0 + Duration::from_millis(10),
            Some(t0 + Duration::from_millis(10)),
        );
        b.sent(
            &recorder,
            t0 + Duration::from_millis(25),
            Some(t0 + Duration::from_millis(20)),
        );
        a.response(t0, exchange(200, 3, 2));
        b.response(t0, exchange(503, 9, 4));
        a.failure(t0, &Failure::of(ErrorKind::Timeout), 0);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        b.failure(t0, &Failure::because(ErrorKind::Connect, &refused), 0);
        let interval = recorder.take();
        assert_eq!(interval.counters.requests_attempted, 4);
        assert_eq!(interval.counters.requests_sent, 2);
        assert_eq!(interval.counters.bytes_sent, 100);
        assert_eq!(interval.counters.errors[&ErrorKind::Connect], 1);
        assert_eq!(interval.counters.error_reasons["timeout"], 1);
        assert_eq!(
            interval.counters.error_reasons["connect: connection refused"],
            1
        );
        assert_eq!(interval.counters.late_sends, 1);
        assert_eq!(interval.counters.responses_received, 2);
        assert_eq!(interval.counters.errors[&ErrorKind::Status5xx], 1);
        assert_eq!(interval.counters.errors[&ErrorKind::Timeout], 1);
        // The gap is the node's, from one thread's send to the other's.
        let gaps = interval.send_gaps.unwrap();
        assert_eq!(gaps.len(), 1);
        assert!((gaps.quantile_micros(0.5) as i64 - 15_000).abs() < 20);
        assert_eq!(interval.latency.len(), 2);
        let next = recorder.take();
        assert_eq!(next.counters.requests_sent, 0);
        assert_eq!(next.counters.requests_attempted, 0);
        assert_eq!(recorder.requests_sent(), 2);
        assert_eq!(recorder.requests_finished(), 4);
        assert_eq!(recorder.requests_attempted(), 4);
        assert_eq!(recorder.timing(t0).last_send(), Some(Duration::ZERO));
    }

    /// Drains taken while threads record lose and double-count nothing: the intervals add up
    /// to every event, and what was begun but not finished is counted aborted at the end.
    #[test]
    fn drains_during_recording_are_exact() {
        const THREADS: usize = 3;
        const PER_THREAD: u64 = 20_000;
        let recorder = Arc::new(Recorder::new(false, THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|i| {
                let slot = recorder.slot(i);
                let recorder = Arc::clone(&recorder);
                std::thread::spawn(move || {
                    for n in 0..PER_THREAD {
                        let now = Instant::now();
                        slot.begin(now);
                        slot.sent(&recorder, now, None);
                        // The last request of each thread stays in flight.
                        if n + 1 < PER_THREAD {
                            slot.response(now, exchange(200, 1, 1));
                        }
                    }
                })
            })
            .collect();
        let mut total = Measurements::default();
        while !threads.iter().all(std::thread::JoinHandle::is_finished) {
            total.add(&recorder.take());
        }
        for thread in threads {
            thread.join().unwrap();
        }
        recorder.abort_in_flight();
        total.add(&recorder.take());
        let all = THREADS as u64 * PER_THREAD;
        assert_eq!(total.counters.requests_attempted, all);
        assert_eq!(total.counters.requests_sent, all);
        assert_eq!(total.counters.responses_received, all - THREADS as u64);
        assert_eq!(total.latency.len(), all - THREADS as u64);
        assert_eq!(total.counters.errors[&ErrorKind::Aborted], THREADS as u64);
        assert_eq!(recorder.requests_finished(), all);
    }

    /// Permits are claimed in batches and never more than the budget.
    #[test]
    fn permits_are_claimed_in_batches_up_to_the_budget() {
        let recorder = Recorder::with_batches(false, &[4, 4]);
        let budget = AtomicU64::new(10);
        let (a, b) = (recorder.slot(0), recorder.slot(1));
        assert!(a.claim(&budget));
        assert_eq!(budget.load(Ordering::Relaxed), 6);
        assert!(b.claim(&budget));
        assert_eq!(budget.load(Ordering::Relaxed), 2);
        let mut claimed = 2;
        while a.claim(&budget) {
            claimed += 1;
        }
        while b.claim(&budget) {
            claimed += 1;
        }
        assert_eq!(claimed, 10);
    }
}
