//! The pacer: releases scheduled requests at absolute times from a dedicated thread.
//!
//! [`Arrivals`] say when: a constant gap (arrival `i` at `i * gap`) or a rate curve ([`Curve`]:
//! arrival `i` when the curve's area first exceeds `i`, as k6's ramping-arrival-rate), of which
//! a node may take one stripe (every `of`-th arrival from `index`, so that drivers split one
//! schedule without talking). Intended send times are `origin + offset(j)`, computed from the
//! index, never by adding gaps (so the schedule cannot drift).
//!
//! A rate changed while the run goes ([`RateControl::change`]) is a *switch*: from an offset
//! `at` of the run, the schedule's arrival `first` (how many came before `at`) is at `at` and
//! the later ones follow the new gap, still computed from their index. Every node of a test
//! computes the same `first` from the same `at`, so the stripes of the switched schedule still
//! split it exactly. The pacer never waits for responses: if every connection is
//! busy, released requests queue (up to [`QUEUE_CAPACITY`]) and the pacer keeps its schedule;
//! a request's latency is still measured from its intended time.
//!
//! Timing uses a thread of its own because the async runtime's timer has 1 ms granularity. At
//! gaps of 1 ms and more ([`PRECISE_MIN_INTERVAL`]) the pacer is precise: it runs real-time when
//! allowed, sleeps with the OS until just before the intended time, then spins briefly. At
//! shorter gaps spinning would take a whole core, so it only sleeps with the OS (tens of
//! microseconds of wake-up slack) and releases every request that has come due on waking, each
//! with its own intended time: sends bunch by that slack, the rate and the latencies stay exact.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Released requests waiting for a free connection, at most. Beyond it the pacer waits, then
/// releases the overdue requests at once with their original intended times.
pub const QUEUE_CAPACITY: usize = 65_536;

/// Sleep with the OS until this close to the deadline, then spin.
const SPIN_WINDOW: Duration = Duration::from_micros(120);

/// Longest single OS sleep, so cancellation is noticed quickly.
const MAX_NAP: Duration = Duration::from_millis(50);

/// When a node's requests are intended, as offsets from the run's origin.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrivals {
    /// The whole schedule's arrivals.
    shape: Shape,
    /// Which of them are this node's.
    stripe: Stripe,
    /// Changes of rate while the run goes, in order of `at` (and of `first`): from each, the
    /// schedule follows its shape. Empty for a run whose rate never changed.
    switches: Vec<Switch>,
    /// Changes of this node's stripe while the run goes (drivers taking over a dead one's
    /// share), in order of `first`. Empty for a run whose stripe never changed.
    restripes: Vec<Restripe>,
}

/// A change of the stripe a node takes, from one of the schedule's arrivals on.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Restripe {
    /// The schedule's first arrival under the new stripe.
    first: u64,
    /// This node's requests before `first` (under the earlier stripes): its `mine_before`-th
    /// request is its first under the new stripe.
    mine_before: u64,
    /// Counted from `first`: arrival `i >= first` is this node's when `(i - first) mod of =
    /// index`.
    stripe: Stripe,
}

/// A change of the schedule's rate from an offset of the run on.
#[derive(Clone, Debug, PartialEq)]
struct Switch {
    /// The schedule's first arrival on the new shape: how many arrivals came before `at`.
    first: u64,
    /// Offset from the origin of arrival `first`: the instant of the change.
    at: Duration,
    /// Arrival `first + k` at `at + shape.arrival(k)`.
    shape: Shape,
}

/// A schedule's arrival times.
#[derive(Clone, Debug, PartialEq)]
enum Shape {
    /// Arrival `i` at `i * gap`.
    Every(Duration),
    /// Arrival `i` where the curve's area first exceeds `i`.
    Curve(Arc<Curve>),
}

impl Shape {
    /// Offset of arrival `i`; `None` past the end of a curve.
    fn arrival(&self, i: u64) -> Option<Duration> {
        match self {
            Shape::Every(gap) => {
                let nanos = gap.as_nanos().saturating_mul(u128::from(i));
                Some(Duration::from_nanos(
                    u64::try_from(nanos).unwrap_or(u64::MAX),
                ))
            }
            Shape::Curve(curve) => curve.arrival(i),
        }
    }

    /// How many arrivals come before `t` (consistent with [`Shape::arrival`]).
    fn count_before(&self, t: Duration) -> u64 {
        match self {
            // Arrival i is before t when i * gap < t: exactly ceil(t / gap), in whole
            // nanoseconds as `arrival` computes it.
            Shape::Every(gap) => {
                let gap = gap.as_nanos();
                if gap == 0 {
                    return u64::MAX;
                }
                u64::try_from(t.as_nanos().div_ceil(gap)).unwrap_or(u64::MAX)
            }
            Shape::Curve(curve) => curve.count_before(t),
        }
    }

    /// The shortest gap between two of its arrivals.
    fn shortest_gap(&self) -> Duration {
        match self {
            Shape::Every(gap) => *gap,
            Shape::Curve(curve) => {
                Duration::try_from_secs_f64(1.0 / curve.peak).unwrap_or(Duration::MAX)
            }
        }
    }
}

impl Arrivals {
    /// One arrival every `gap`, all of them this node's.
    pub fn every(gap: Duration) -> Self {
        Self {
            shape: Shape::Every(gap),
            stripe: Stripe::WHOLE,
            switches: Vec::new(),
            restripes: Vec::new(),
        }
    }

    /// The arrivals of a rate curve, all of them this node's.
    pub fn curve(curve: Curve) -> Self {
        Self {
            shape: Shape::Curve(Arc::new(curve)),
            stripe: Stripe::WHOLE,
            switches: Vec::new(),
            restripes: Vec::new(),
        }
    }

    /// Only the arrivals of `stripe`.
    #[must_use]
    pub fn striped(self, stripe: Stripe) -> Self {
        Self { stripe, ..self }
    }

    /// Which arrivals are this node's (from the start of the run; see [`Arrivals::restriped`]
    /// for later changes).
    pub fn stripe(&self) -> Stripe {
        self.stripe
    }

    /// The schedule's arrival that is this node's `j`-th request (`None` beyond `u64`).
    fn mine(&self, j: u64) -> Option<u64> {
        match self.restripes.iter().rev().find(|r| r.mine_before <= j) {
            Some(r) => r.first.checked_add(r.stripe.arrival(j - r.mine_before)?),
            None => self.stripe.arrival(j),
        }
    }

    /// How many of the schedule's first `total` arrivals are this node's.
    pub fn share(&self, total: u64) -> u64 {
        match self.restripes.iter().rev().find(|r| r.first <= total) {
            Some(r) => r.mine_before + r.stripe.share(total - r.first),
            None => self.stripe.share(total),
        }
    }

    /// The same schedule with this node taking `stripe` of it from offset `at` on: the
    /// arrivals from the first not before `at` are split anew, counted from that arrival (every
    /// node that restripes at the same `at` computes the same one, so the new stripes `0..of`
    /// split the rest of the schedule exactly). This is how the drivers left in a test take over
    /// the share of one that died. An `at` before an earlier change is taken as that change's.
    #[must_use]
    pub fn restriped(mut self, at: Duration, stripe: Stripe) -> Self {
        let at = self.switches.last().map_or(at, |last| at.max(last.at));
        let mut first = self.count_before(at);
        if let Some(last) = self.restripes.last() {
            first = first.max(last.first);
        }
        // A restripe from the same arrival as the previous one replaces it.
        self.restripes.retain(|r| r.first < first);
        let mine_before = self.share(first);
        self.restripes.push(Restripe {
            first,
            mine_before,
            stripe,
        });
        self
    }

    /// The schedule's first arrival under this node's latest stripe, and this node's requests
    /// before it, if its stripe changed.
    pub fn last_restripe(&self) -> Option<(u64, u64)> {
        self.restripes.last().map(|r| (r.first, r.mine_before))
    }

    /// Offset from the origin of the schedule's arrival `i` (all nodes'); `None` past the end
    /// of a curve.
    pub fn arrival(&self, i: u64) -> Option<Duration> {
        match self.switches.iter().rev().find(|s| s.first <= i) {
            Some(switch) => switch
                .at
                .checked_add(switch.shape.arrival(i - switch.first)?),
            None => self.shape.arrival(i),
        }
    }

    /// Offset from the origin of this node's `j`-th request: the schedule's arrival
    /// `index + j * of` (counted from the latest restripe before it, if any).
    pub fn offset(&self, j: u64) -> Option<Duration> {
        self.arrival(self.mine(j)?)
    }

    /// How many of the schedule's arrivals (all nodes') come before offset `t`.
    pub fn count_before(&self, t: Duration) -> u64 {
        match self.switches.iter().rev().find(|s| s.at <= t) {
            Some(switch) => switch
                .first
                .saturating_add(switch.shape.count_before(t - switch.at)),
            None => self.shape.count_before(t),
        }
    }

    /// The same schedule with its rate changed at offset `at`: the arrival reached then (the
    /// first not before `at`) is at `at`, and the later ones one `gap` apart, each computed from
    /// its index. An `at` before an earlier change is taken as that change's (changes apply in
    /// order). The stripe is kept: every node that switches at the same `at` keeps its share
    /// of one schedule.
    #[must_use]
    pub fn switched(mut self, at: Duration, gap: Duration) -> Self {
        let at = self.switches.last().map_or(at, |last| at.max(last.at));
        let first = self.count_before(at);
        // A change at the same instant as the previous one replaces it.
        self.switches.retain(|s| s.at < at);
        self.switches.push(Switch {
            first,
            at,
            shape: Shape::Every(gap),
        });
        self
    }

    /// The schedule's first arrival on its latest rate, and that rate's instant, if it changed.
    pub fn last_switch(&self) -> Option<(u64, Duration)> {
        self.switches.last().map(|s| (s.first, s.at))
    }

    /// The shortest gap between this node's sends.
    pub fn shortest_gap(&self) -> Duration {
        let of = self
            .restripes
            .iter()
            .map(|r| r.stripe.of)
            .fold(self.stripe.of, u64::min);
        let of = u32::try_from(of).unwrap_or(u32::MAX);
        self.switches
            .iter()
            .map(|s| s.shape.shortest_gap())
            .fold(self.shape.shortest_gap(), Duration::min)
            .saturating_mul(of)
    }
}

/// Which of a schedule's arrivals a node takes: arrival `i` when `i mod of = index`. The
/// stripes `0..of` of one schedule are disjoint and their union is the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stripe {
    /// This node's position, below `of`.
    index: u64,
    /// How many nodes split the schedule, at least 1.
    of: u64,
}

impl Stripe {
    /// The whole schedule (one node).
    pub const WHOLE: Stripe = Stripe { index: 0, of: 1 };

    /// This driver's place among the drivers, from 0.
    pub fn index(self) -> u64 {
        self.index
    }

    /// How many drivers share the schedule.
    pub fn of(self) -> u64 {
        self.of
    }

    /// Stripe `index` of `of`; `None` unless `index < of`.
    pub fn new(index: u64, of: u64) -> Option<Self> {
        (index < of).then_some(Self { index, of })
    }

    /// The schedule's arrival that is this stripe's `j`-th (`None` beyond `u64`).
    pub fn arrival(self, j: u64) -> Option<u64> {
        j.checked_mul(self.of)?.checked_add(self.index)
    }

    /// How many of the schedule's first `total` arrivals are this stripe's.
    pub fn share(self, total: u64) -> u64 {
        total / self.of + u64::from(self.index < total % self.of)
    }
}

/// A piecewise-linear rate curve from 0 requests per second at its start.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// In order, back to back.
    segments: Vec<Segment>,
    /// The highest rate, per second.
    peak: f64,
}

/// One linear piece of a curve, in seconds and requests per second.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    /// Start, from the curve's start.
    start: f64,
    /// Length (> 0).
    length: f64,
    /// Rate at the start.
    from: f64,
    /// Rate at the end.
    to: f64,
    /// The curve's area before the segment.
    before: f64,
    /// The curve's area at its end.
    after: f64,
}

/// Why stages do not make a curve.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CurveError {
    /// A stage lasts no time, or a target is negative or not finite.
    #[error("stage {0}: a duration above 0 and a finite target >= 0 are needed")]
    Stage(usize),
    /// Every target is 0.
    #[error("the curve sends nothing: every target is 0")]
    Empty,
}

impl Curve {
    /// The curve from 0 through `stages`: each moves the rate linearly to its target (requests
    /// per second) over its duration.
    pub fn new(stages: &[(Duration, f64)]) -> Result<Self, CurveError> {
        let mut segments = Vec::with_capacity(stages.len());
        let (mut start, mut from, mut area) = (0.0, 0.0, 0.0);
        for (n, &(duration, to)) in stages.iter().enumerate() {
            let length = duration.as_secs_f64();
            if length <= 0.0 || !to.is_finite() || to < 0.0 {
                return Err(CurveError::Stage(n));
            }
            let after = area + (from + to) / 2.0 * length;
            segments.push(Segment {
                start,
                length,
                from,
                to,
                before: area,
                after,
            });
            (start, from, area) = (start + length, to, after);
        }
        let peak = stages.iter().map(|s| s.1).fold(0.0, f64::max);
        if peak <= 0.0 {
            return Err(CurveError::Empty);
        }
        Ok(Self { segments, peak })
    }

    /// Offset of arrival `i`: the first time the curve's area exceeds `i` (the exact inverse
    /// of the area, solved per segment); `None` if it never does.
    pub fn arrival(&self, i: u64) -> Option<Duration> {
        let target = i as f64;
        let at = self.segments.partition_point(|s| s.after <= target);
        let s = self.segments.get(at)?;
        let x = target - s.before;
        // Area into the segment after tau: from * tau + (to - from) / (2 * length) * tau^2 = x,
        // solved in the form that stays exact as the slope goes to 0.
        let slope = (s.to - s.from) / (2.0 * s.length);
        let tau = if x <= 0.0 {
            0.0
        } else {
            2.0 * x / (s.from + (s.from * s.from + 4.0 * slope * x).max(0.0).sqrt())
        };
        Duration::try_from_secs_f64(s.start + tau.clamp(0.0, s.length)).ok()
    }

    /// The curve's area up to `t`: the requests it sends in that time, exactly.
    pub fn area(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let at = self.segments.partition_point(|s| s.start + s.length <= t);
        match self.segments.get(at) {
            None => self.segments.last().map_or(0.0, |s| s.after),
            Some(s) => {
                let tau = (t - s.start).max(0.0);
                s.before + s.from * tau + (s.to - s.from) / (2.0 * s.length) * tau * tau
            }
        }
    }

    /// How many arrivals come before `t` (consistent with [`Curve::arrival`]).
    pub fn count_before(&self, t: Duration) -> u64 {
        // The area, rounded up; then corrected by the arrival times themselves, so that no
        // rounding of the area lets one more in or keeps one out.
        let area = self.area(t);
        let mut n = if area.is_finite() && area > 0.0 {
            area.ceil() as u64
        } else {
            0
        };
        // At most a step or two either way.
        for _ in 0..4 {
            if n > 0 && self.arrival(n - 1).is_none_or(|a| a >= t) {
                n -= 1;
            } else if self.arrival(n).is_some_and(|a| a < t) {
                n += 1;
            } else {
                break;
            }
        }
        n
    }

    /// The highest rate, per second.
    pub fn peak(&self) -> f64 {
        self.peak
    }

    /// The curve's value at `t` from its start (its last target past its end).
    pub fn at(&self, t: Duration) -> f64 {
        let t = t.as_secs_f64();
        let at = self.segments.partition_point(|s| s.start + s.length <= t);
        match self.segments.get(at) {
            None => self.segments.last().map_or(0.0, |s| s.to),
            Some(s) => {
                let tau = (t - s.start).clamp(0.0, s.length);
                s.from + (s.to - s.from) * tau / s.length
            }
        }
    }

    /// The first time at or after `from` when the curve is at least `level`; `None` if it never
    /// is again (before its end; past the end it stays at its last target).
    pub fn reaches(&self, level: f64, from: Duration) -> Option<Duration> {
        let from = from.as_secs_f64();
        for s in &self.segments {
            let end = s.start + s.length;
            if end <= from {
                continue;
            }
            let lo = s.start.max(from);
            let value = s.from + (s.to - s.from) * (lo - s.start) / s.length;
            if value >= level {
                return Duration::try_from_secs_f64(lo).ok();
            }
            if s.to >= level && s.to > s.from {
                let t = s.start + (level - s.from) / (s.to - s.from) * s.length;
                return Duration::try_from_secs_f64(t.clamp(lo, end)).ok();
            }
        }
        None
    }
}

/// The schedule.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Time of the schedule's arrival 0.
    pub origin: Instant,
    /// When this node's requests are intended, from the origin.
    pub arrivals: Arrivals,
    /// Requests to release, if bounded by count.
    pub count: Option<u64>,
    /// No request is released at or after this time, if bounded by time.
    pub deadline: Option<Instant>,
}

impl Plan {
    /// Intended send time of this node's request `j`; `None` past the end of a curve.
    pub fn intended(&self, j: u64) -> Option<Instant> {
        self.origin.checked_add(self.arrivals.offset(j)?)
    }
}

/// Sleeps until `deadline`, unless `cancel` fires first; returns false when cancelled. With
/// `spin`, precisely (to a few microseconds: the OS sleep ends [`SPIN_WINDOW`] early and the
/// rest is spun); without, the OS wakes the thread at the deadline or a little after.
pub fn sleep_until(deadline: Instant, cancel: &CancellationToken, spin: bool) -> bool {
    wait_until(deadline, cancel, spin, || false) == Wake::Due
}

/// Why [`wait_until`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wake {
    /// The deadline came.
    Due,
    /// The run was cancelled.
    Cancelled,
    /// `interrupted` said so (the schedule changed).
    Interrupted,
}

/// [`sleep_until`], also ending (within [`MAX_NAP`]) as soon as `interrupted` is true.
fn wait_until(
    deadline: Instant,
    cancel: &CancellationToken,
    spin: bool,
    interrupted: impl Fn() -> bool,
) -> Wake {
    let window = if spin { SPIN_WINDOW } else { Duration::ZERO };
    loop {
        if cancel.is_cancelled() {
            return Wake::Cancelled;
        }
        if interrupted() {
            return Wake::Interrupted;
        }
        let now = Instant::now();
        if now >= deadline {
            return Wake::Due;
        }
        let remaining = deadline - now;
        if remaining > window {
            std::thread::sleep((remaining - window).min(MAX_NAP));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// At gaps of at least this the pacer is precise: real-time scheduling when allowed, and a spin
/// of at most [`SPIN_WINDOW`] before each release (12% of a core at most).
pub const PRECISE_MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Asks the OS to run the calling thread ahead of ordinary work, so a schedule holds on a busy
/// machine: `realtime` asks for SCHED_FIFO (a waking thread preempts ordinary ones at once),
/// otherwise, or when that is refused, nice -10. Both need CAP_SYS_NICE (root has it); without
/// it nothing changes and this returns false.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn raise_priority(realtime: bool) -> bool {
    let fifo = libc::sched_param { sched_priority: 1 };
    // SAFETY: these calls only change the calling thread's own scheduling (pid 0 and the
    // thread's own id mean this thread on Linux); `fifo` outlives the call; failures are
    // reported through the return values.
    unsafe {
        if realtime && libc::sched_setscheduler(0, libc::SCHED_FIFO, &raw const fifo) == 0 {
            return true;
        }
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid.cast_unsigned(), -10) == 0
    }
}

/// Other platforms keep the default priority.
#[cfg(not(target_os = "linux"))]
pub fn raise_priority(_realtime: bool) -> bool {
    false
}

/// Takes the calling thread out of real-time scheduling, if it is in it, back to ordinary
/// scheduling at nice -10 (when allowed): for a schedule whose rate went past what a real-time
/// thread may run without hogging a core. Needs no privilege.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn leave_realtime() {
    let other = libc::sched_param { sched_priority: 0 };
    // SAFETY: as in `raise_priority`: only the calling thread's scheduling changes, `other`
    // outlives the call, failures are ignored (the thread keeps its scheduling).
    unsafe {
        if libc::sched_getscheduler(0) == libc::SCHED_FIFO
            && libc::sched_setscheduler(0, libc::SCHED_OTHER, &raw const other) == 0
        {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid.cast_unsigned(), -10);
        }
    }
}

/// Other platforms never enter real-time scheduling.
#[cfg(not(target_os = "linux"))]
pub fn leave_realtime() {}

/// Starts the pacer thread. It sends each intended time into `queue` at that time, and ends
/// when the plan is exhausted, `cancel` fires, or the workers are gone.
pub fn spawn_pacer(
    plan: Plan,
    queue: async_channel::Sender<Instant>,
    cancel: CancellationToken,
) -> std::io::Result<JoinHandle<()>> {
    // The sender goes at once: this plan never changes.
    let (_, plan) = watch::channel(plan);
    spawn(plan, queue, cancel)
}

/// [`spawn_pacer`], with a [`RateControl`] that changes the plan's rate while it runs.
pub fn spawn_adjustable_pacer(
    plan: Plan,
    queue: async_channel::Sender<Instant>,
    cancel: CancellationToken,
) -> std::io::Result<(JoinHandle<()>, RateControl)> {
    let (control, plan) = watch::channel(plan);
    let pacer = spawn(plan, queue, cancel)?;
    Ok((
        pacer,
        RateControl {
            plan: Arc::new(control),
            precise: None,
        },
    ))
}

fn spawn(
    plan: watch::Receiver<Plan>,
    queue: async_channel::Sender<Instant>,
    cancel: CancellationToken,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("onslaught-pacer".to_owned())
        .spawn(move || {
            raise_priority(plan.borrow().arrivals.shortest_gap() >= PRECISE_MIN_INTERVAL);
            pace(plan, &queue, &cancel);
        })
}

/// Why a rate change was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChangeError {
    /// A gap of 0 would release every later request at once.
    #[error("the new gap between sends is 0")]
    ZeroGap,
    /// The pacer has ended: the run sends nothing more.
    #[error("the run's schedule has ended")]
    Ended,
}

/// Changes the rate of a scheduled run while it goes (see [`Arrivals::switched`]). Cheap to
/// clone; the pacer notices a change within its longest nap (50 ms) and follows the new
/// schedule from the request it is at.
#[derive(Clone, Debug)]
pub struct RateControl {
    /// The pacer's plan.
    plan: Arc<watch::Sender<Plan>>,
    /// Told false once the schedule's gaps go below [`PRECISE_MIN_INTERVAL`] (the engine
    /// threads then leave real-time scheduling).
    precise: Option<Arc<watch::Sender<bool>>>,
}

impl RateControl {
    /// Also tells `precise` false once a change makes the schedule's gaps shorter than
    /// [`PRECISE_MIN_INTERVAL`].
    #[must_use]
    pub fn telling(self, precise: watch::Sender<bool>) -> Self {
        Self {
            precise: Some(Arc::new(precise)),
            ..self
        }
    }

    /// From offset `at` of the run (the same on every node of a test, so that their stripes
    /// still split one schedule) the schedule's arrivals come one `gap` apart; this node then
    /// sends at most `count` requests in all (`None`: until its deadline or the end of its
    /// schedule). Returns the schedule's first arrival on the new rate. An `at` already past
    /// moves the requests due since then to their new times at once (latency is still measured
    /// from those times).
    pub fn change(
        &self,
        at: Duration,
        gap: Duration,
        count: Option<u64>,
    ) -> Result<u64, ChangeError> {
        if gap.is_zero() {
            return Err(ChangeError::ZeroGap);
        }
        self.modify(count, |arrivals| {
            let switched = arrivals.switched(at, gap);
            let first = switched.last_switch().map_or(0, |(first, _)| first);
            (switched, first)
        })
    }

    /// From offset `at` of the run (the same on every node that restripes, see
    /// [`Arrivals::restriped`]) this node takes `stripe` of the schedule's remaining arrivals,
    /// and sends at most `count` requests in all (`None`: until its deadline or the end of its
    /// schedule). Returns the schedule's first arrival under the new stripe. As with
    /// [`RateControl::change`], an `at` already past moves the requests due since then to
    /// their new times at once.
    pub fn restripe(
        &self,
        at: Duration,
        stripe: Stripe,
        count: Option<u64>,
    ) -> Result<u64, ChangeError> {
        self.modify(count, |arrivals| {
            let restriped = arrivals.restriped(at, stripe);
            let first = restriped.last_restripe().map_or(0, |(first, _)| first);
            (restriped, first)
        })
    }

    /// Gives the pacer's plan the arrivals `change` makes of its own and the count `count`;
    /// returns the arrival `change` says the new schedule starts from. Tells `precise` when the
    /// gaps went below [`PRECISE_MIN_INTERVAL`].
    fn modify(
        &self,
        count: Option<u64>,
        change: impl FnOnce(Arrivals) -> (Arrivals, u64),
    ) -> Result<u64, ChangeError> {
        if self.plan.is_closed() {
            return Err(ChangeError::Ended);
        }
        let mut first = 0;
        let mut precise = true;
        self.plan.send_modify(|plan| {
            (plan.arrivals, first) = change(plan.arrivals.clone());
            plan.count = count;
            precise = plan.arrivals.shortest_gap() >= PRECISE_MIN_INTERVAL;
        });
        if !precise && let Some(tell) = &self.precise {
            tell.send_replace(false);
        }
        Ok(first)
    }
}

fn pace(
    mut plans: watch::Receiver<Plan>,
    queue: &async_channel::Sender<Instant>,
    cancel: &CancellationToken,
) {
    let mut plan = plans.borrow_and_update().clone();
    let mut precise = plan.arrivals.shortest_gap() >= PRECISE_MIN_INTERVAL;
    let changed = |plans: &watch::Receiver<Plan>| plans.has_changed().unwrap_or(false);
    let mut i = 0u64;
    loop {
        if changed(&plans) {
            plan = plans.borrow_and_update().clone();
            let was = precise;
            precise = plan.arrivals.shortest_gap() >= PRECISE_MIN_INTERVAL;
            if was && !precise {
                // Gaps below 1 ms: a real-time pacer could hog a core.
                leave_realtime();
            }
        }
        if plan.count.is_some_and(|n| i >= n) {
            break;
        }
        let Some(intended) = plan.intended(i) else {
            break;
        };
        if plan.deadline.is_some_and(|d| intended >= d) {
            break;
        }
        match wait_until(intended, cancel, precise, || changed(&plans)) {
            Wake::Due => {}
            Wake::Cancelled => break,
            // The schedule changed: request i may be due at another time now.
            Wake::Interrupted => continue,
        }
        if queue.send_blocking(intended).is_err() {
            break;
        }
        i += 1;
    }
    queue.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intended_times_do_not_drift() {
        let origin = Instant::now();
        let plan = Plan {
            origin,
            arrivals: Arrivals::every(Duration::from_micros(333)),
            count: None,
            deadline: None,
        };
        assert_eq!(
            plan.intended(3_000_000).unwrap() - origin,
            Duration::from_micros(999_000_000)
        );
    }

    fn ramp() -> Curve {
        // 0 -> 2,000/s over 15 s, back to 0 over 15 s: 30,000 arrivals.
        Curve::new(&[
            (Duration::from_secs(15), 2000.0),
            (Duration::from_secs(15), 0.0),
        ])
        .unwrap()
    }

    #[test]
    fn a_curve_places_arrival_i_where_its_area_reaches_i() {
        let curve = ramp();
        let mut last = None;
        for i in 0..30_000u64 {
            let t = curve.arrival(i).unwrap();
            // The closed form: area(t) = 2000 / 15 * t^2 / 2 on the way up, mirrored down.
            let exact = if i <= 15_000 {
                (i as f64 * 15.0 / 1000.0).sqrt()
            } else {
                30.0 - ((30_000 - i) as f64 * 15.0 / 1000.0).sqrt()
            };
            let error = (t.as_secs_f64() - exact).abs();
            assert!(error < 1e-7, "arrival {i} at {t:?}, exactly {exact} s");
            assert!(
                (curve.area(t) - i as f64).abs() < 1e-6,
                "area at arrival {i}"
            );
            assert!(
                last.is_none_or(|l| l < t),
                "arrival {i} not after the previous"
            );
            last = Some(t);
        }
        assert_eq!(curve.arrival(0), Some(Duration::ZERO));
        assert_eq!(curve.arrival(30_000), None);
        assert_eq!(curve.count_before(Duration::from_secs(30)), 30_000);
        assert_eq!(curve.count_before(Duration::from_secs(60)), 30_000);
        assert_eq!(curve.count_before(Duration::ZERO), 0);
        for ms in [1, 333, 7_500, 15_000, 15_001, 29_999] {
            let t = Duration::from_millis(ms);
            let n = curve.count_before(t);
            assert!(curve.arrival(n - 1).unwrap() < t, "{ms} ms");
            assert!(curve.arrival(n).is_none_or(|a| a >= t), "{ms} ms");
        }
        // A hold at 0 sends nothing; a constant stage is the constant schedule.
        let held = Curve::new(&[
            (Duration::from_secs(2), 0.0),
            (Duration::from_millis(1), 1000.0),
            (Duration::from_secs(1), 1000.0),
        ])
        .unwrap();
        assert!(held.arrival(0).unwrap() >= Duration::from_secs(2));
        for i in 1..1000 {
            let t = held.arrival(i).unwrap().as_secs_f64();
            assert!(
                (t - (2.001 + (i as f64 - 0.5) / 1000.0)).abs() < 1e-9,
                "{i}: {t}"
            );
        }
        assert_eq!(
            Curve::new(&[(Duration::from_secs(1), 0.0)]),
            Err(CurveError::Empty)
        );
        assert_eq!(
            Curve::new(&[(Duration::from_secs(1), 5.0), (Duration::ZERO, 5.0)]),
            Err(CurveError::Stage(1))
        );
    }

    #[test]
    fn stripes_split_a_schedule_into_disjoint_parts_whose_union_is_the_schedule() {
        for whole in [
            Arrivals::curve(ramp()),
            Arrivals::every(Duration::from_micros(333)),
        ] {
            let total = 30_000u64;
            let mut union = Vec::new();
            for k in 0..3 {
                let stripe = Stripe::new(k, 3).unwrap();
                let part = whole.clone().striped(stripe);
                assert_eq!(stripe.share(total), 10_000);
                union.extend((0..stripe.share(total)).map(|j| part.offset(j).unwrap()));
                if matches!(part.shape, Shape::Curve(_)) {
                    assert_eq!(part.offset(stripe.share(total)), None, "past the curve");
                }
            }
            union.sort();
            let schedule: Vec<Duration> = (0..total).map(|i| whole.arrival(i).unwrap()).collect();
            assert_eq!(union, schedule);
        }
        // Shares of a count that does not divide: the first stripes take one more.
        let shares: Vec<u64> = (0..3)
            .map(|k| Stripe::new(k, 3).unwrap().share(10))
            .collect();
        assert_eq!(shares, [4, 3, 3]);
        assert_eq!(Stripe::new(3, 3), None);
        let third = Arrivals::every(Duration::from_millis(1)).striped(Stripe::new(1, 3).unwrap());
        assert_eq!(third.offset(2), Some(Duration::from_millis(7)));
        assert_eq!(third.shortest_gap(), Duration::from_millis(3));
        assert_eq!(
            Arrivals::curve(ramp())
                .striped(Stripe::new(0, 4).unwrap())
                .shortest_gap(),
            Duration::from_millis(2)
        );
    }

    /// A switch keeps every arrival before its instant, puts the one reached then at the
    /// instant and computes the later ones from their index at the new gap (no drift).
    #[test]
    fn a_switch_follows_the_new_rate_from_its_instant_without_drift() {
        let ms = Duration::from_millis;
        let before = Arrivals::every(ms(10));
        let after = before.clone().switched(ms(2_005), ms(5));
        // Arrivals 0..=200 came at 0..=2,000 ms: unchanged.
        for i in 0..=200 {
            assert_eq!(after.arrival(i), before.arrival(i), "arrival {i}");
        }
        assert_eq!(after.last_switch(), Some((201, ms(2_005))));
        assert_eq!(after.arrival(201), Some(ms(2_005)));
        assert_eq!(after.arrival(202), Some(ms(2_010)));
        // A million arrivals later, still exactly on the grid.
        assert_eq!(
            after.arrival(201 + 1_000_000),
            Some(ms(2_005) + Duration::from_secs(5_000))
        );
        assert_eq!(after.count_before(ms(2_005)), 201);
        assert_eq!(after.count_before(ms(2_006)), 202);
        assert_eq!(after.count_before(ms(3_005)), 401);
        assert_eq!(after.shortest_gap(), ms(5));
        // A switch on an instant of an arrival keeps it there (nothing before it moves).
        let on_grid = before.clone().switched(ms(2_000), ms(20));
        assert_eq!(on_grid.last_switch(), Some((200, ms(2_000))));
        assert_eq!(on_grid.arrival(199), Some(ms(1_990)));
        assert_eq!(on_grid.arrival(201), Some(ms(2_020)));

        // A second change follows the first; one before it is taken at its instant, and one at
        // the same instant replaces it.
        let twice = after.clone().switched(ms(3_005), ms(1));
        assert_eq!(twice.last_switch(), Some((401, ms(3_005))));
        assert_eq!(twice.arrival(400), Some(ms(3_000)));
        assert_eq!(twice.arrival(402), Some(ms(3_006)));
        let back = twice.clone().switched(ms(1_000), ms(2));
        assert_eq!(back.last_switch(), Some((401, ms(3_005))));
        assert_eq!(back.arrival(402), Some(ms(3_007)));
        assert_eq!(back.arrival(300), after.arrival(300));

        // A curve switched mid-way keeps its arrivals before the instant.
        let curve = Arrivals::curve(ramp());
        let switched = curve.clone().switched(Duration::from_secs(10), ms(1));
        let first = curve.count_before(Duration::from_secs(10));
        assert_eq!(
            switched.last_switch(),
            Some((first, Duration::from_secs(10)))
        );
        assert_eq!(switched.arrival(first - 1), curve.arrival(first - 1));
        assert_eq!(
            switched.arrival(first + 30_000),
            Some(Duration::from_secs(40))
        );
    }

    /// Every driver switches its own stripe at the same instant: the stripes of the switched
    /// schedule are disjoint and their union is the switched schedule.
    #[test]
    fn stripes_switched_at_one_instant_still_split_one_schedule() {
        for whole in [
            Arrivals::curve(ramp()),
            Arrivals::every(Duration::from_micros(333)),
        ] {
            let at = Duration::from_millis(7_777);
            let gap = Duration::from_micros(125);
            let switched = whole.clone().switched(at, gap);
            let (first, _) = switched.last_switch().unwrap();
            let total = first + 20_000;
            let mut union = Vec::new();
            for k in 0..3 {
                let stripe = Stripe::new(k, 3).unwrap();
                // As a driver does it: its stripe first, the switch when the change comes.
                let part = whole.clone().striped(stripe).switched(at, gap);
                assert_eq!(part.last_switch(), Some((first, at)), "stripe {k}");
                union.extend((0..stripe.share(total)).map(|j| part.offset(j).unwrap()));
            }
            union.sort();
            let schedule: Vec<Duration> =
                (0..total).map(|i| switched.arrival(i).unwrap()).collect();
            assert_eq!(union, schedule);
            // The switched schedule's times: the old ones before the instant, then the new grid.
            assert!(
                schedule[..usize::try_from(first).unwrap()]
                    .iter()
                    .all(|t| *t < at)
            );
            for (k, t) in schedule[usize::try_from(first).unwrap()..]
                .iter()
                .enumerate()
            {
                assert_eq!(*t, at + gap * u32::try_from(k).unwrap());
            }
        }
    }

    /// Driver 1 of 3 dies; drivers 0 and 2 take stripes 0 and 1 of 2 from one instant on
    /// (after a rate change, and again when a second driver dies): before the instant each
    /// sent its old stripe, from it their union is the whole rest of the schedule, with no
    /// arrival twice, and each node's count of the first `n` arrivals agrees with its times.
    #[test]
    fn restriped_survivors_take_over_the_rest_of_the_schedule() {
        for whole in [
            Arrivals::curve(ramp()),
            Arrivals::every(Duration::from_micros(333)),
        ] {
            let (changed, at) = (Duration::from_millis(2_000), Duration::from_millis(7_777));
            let gap = Duration::from_micros(250);
            let schedule = whole.clone().switched(changed, gap);
            let first = schedule.count_before(at);
            let total = first + 20_000;
            let survivors = [(0, 0), (2, 1)];
            let mut union = Vec::new();
            for (k, rank) in survivors {
                let part = whole
                    .clone()
                    .striped(Stripe::new(k, 3).unwrap())
                    .switched(changed, gap)
                    .restriped(at, Stripe::new(rank, 2).unwrap());
                let (from, before) = part.last_restripe().unwrap();
                assert_eq!(from, first, "driver {k}");
                assert_eq!(before, Stripe::new(k, 3).unwrap().share(first));
                let mine = part.share(total);
                let times: Vec<Duration> = (0..mine).map(|j| part.offset(j).unwrap()).collect();
                assert!(
                    times.windows(2).all(|w| w[0] <= w[1]),
                    "driver {k} in order"
                );
                assert!(
                    times[..usize::try_from(before).unwrap()]
                        .iter()
                        .all(|t| *t < at)
                );
                union.extend(times);
            }
            union.sort();
            let dead = Stripe::new(1, 3).unwrap();
            let expected: Vec<Duration> = (0..total)
                .filter(|i| *i >= first || *i % 3 != dead.index())
                .map(|i| schedule.arrival(i).unwrap())
                .collect();
            assert_eq!(union, expected);

            // A second death: driver 2 alone from a later instant takes everything.
            let later = Duration::from_millis(9_000);
            let alone = whole
                .clone()
                .striped(Stripe::new(2, 3).unwrap())
                .switched(changed, gap)
                .restriped(at, Stripe::new(1, 2).unwrap())
                .restriped(later, Stripe::WHOLE);
            let (from, before) = alone.last_restripe().unwrap();
            assert_eq!(from, schedule.count_before(later));
            for j in before..before + 1_000 {
                assert_eq!(
                    alone.offset(j),
                    schedule.arrival(from + (j - before)),
                    "request {j}"
                );
            }
            assert!(alone.shortest_gap() <= gap);
        }
    }

    /// A pacer told of a change ahead of its instant releases the old schedule up to it and the
    /// new one from it; a change whose instant has passed releases the requests due since then
    /// at once, each with its own intended time, none early.
    #[test]
    fn the_pacer_follows_a_rate_change() {
        let ms = Duration::from_millis;
        let (tx, rx) = async_channel::bounded(QUEUE_CAPACITY);
        let origin = Instant::now() + ms(5);
        let plan = Plan {
            origin,
            arrivals: Arrivals::every(ms(10)),
            count: Some(1_000),
            deadline: Some(origin + ms(200)),
        };
        let (handle, control) = spawn_adjustable_pacer(plan, tx, CancellationToken::new()).unwrap();
        assert_eq!(control.change(ms(50), ms(2), None), Ok(5));
        assert_eq!(
            control.change(ms(1), Duration::ZERO, None),
            Err(ChangeError::ZeroGap)
        );
        let mut released = Vec::new();
        while let Ok(intended) = rx.recv_blocking() {
            released.push((intended - origin, Instant::now() >= intended));
        }
        handle.join().unwrap();
        let expected: Vec<Duration> = [0, 10, 20, 30, 40]
            .into_iter()
            .chain((50..200).step_by(2))
            .map(ms)
            .collect();
        let offsets: Vec<Duration> = released.iter().map(|r| r.0).collect();
        assert_eq!(offsets, expected);
        assert!(released.iter().all(|r| r.1), "a request was released early");
        assert_eq!(
            control.change(ms(300), ms(1), None),
            Err(ChangeError::Ended)
        );

        // Late: the change's instant (40 ms) has passed when it comes (at about 100 ms).
        let (tx, rx) = async_channel::bounded(QUEUE_CAPACITY);
        let origin = Instant::now();
        let plan = Plan {
            origin,
            arrivals: Arrivals::every(ms(40)),
            count: None,
            deadline: Some(origin + ms(200)),
        };
        let (handle, control) = spawn_adjustable_pacer(plan, tx, CancellationToken::new()).unwrap();
        std::thread::sleep(ms(100));
        assert_eq!(control.change(ms(40), ms(5), None), Ok(1));
        let mut released = Vec::new();
        while let Ok(intended) = rx.recv_blocking() {
            released.push(intended - origin);
        }
        handle.join().unwrap();
        // 0, 40, 80 went out on the old schedule; request 3 is the new schedule's arrival 3,
        // at 40 + 2 x 5 ms, released at once, and the rest follow the new grid.
        let mut expected = vec![ms(0), ms(40), ms(80)];
        expected.extend((50..200).step_by(5).map(ms));
        assert_eq!(released, expected);
    }

    /// A thread that got real-time scheduling leaves it when asked (where it could get it).
    #[cfg(target_os = "linux")]
    #[test]
    #[allow(unsafe_code)]
    fn a_real_time_thread_leaves_real_time_scheduling() {
        std::thread::spawn(|| {
            // SAFETY: reads the calling thread's own policy.
            let policy = || unsafe { libc::sched_getscheduler(0) };
            if raise_priority(true) && policy() == libc::SCHED_FIFO {
                leave_realtime();
                assert_eq!(policy(), libc::SCHED_OTHER);
            }
            leave_realtime();
            assert_ne!(policy(), libc::SCHED_FIFO);
        })
        .join()
        .unwrap();
    }

    /// A curve's requests go out at its arrival times, none early, and stop where it ends.
    #[test]
    fn the_pacer_follows_a_curve_to_its_end() {
        let curve = Curve::new(&[
            (Duration::from_millis(100), 2000.0),
            (Duration::from_millis(100), 0.0),
        ])
        .unwrap();
        let (tx, rx) = async_channel::bounded(QUEUE_CAPACITY);
        let plan = Plan {
            origin: Instant::now() + Duration::from_millis(2),
            arrivals: Arrivals::curve(curve).striped(Stripe::new(1, 2).unwrap()),
            count: None,
            deadline: None,
        };
        let handle = spawn_pacer(plan.clone(), tx, CancellationToken::new()).unwrap();
        let mut released = Vec::new();
        while let Ok(intended) = rx.recv_blocking() {
            released.push((intended, Instant::now()));
        }
        handle.join().unwrap();
        // 200 arrivals in all, every other one this node's.
        assert_eq!(released.len(), 100);
        for (j, (intended, at)) in released.iter().enumerate() {
            assert_eq!(Some(*intended), plan.intended(j as u64));
            assert!(at >= intended, "request {j} released early");
        }
    }

    #[test]
    fn pacer_releases_on_time_and_stops_at_the_bound() {
        let (tx, rx) = async_channel::bounded(1024);
        let origin = Instant::now() + Duration::from_millis(5);
        let plan = Plan {
            origin,
            arrivals: Arrivals::every(Duration::from_millis(2)),
            count: Some(50),
            deadline: None,
        };
        let handle = spawn_pacer(plan, tx, CancellationToken::new()).unwrap();
        let mut lags = Vec::new();
        while let Ok(intended) = rx.recv_blocking() {
            lags.push(Instant::now().saturating_duration_since(intended));
        }
        handle.join().unwrap();
        assert_eq!(lags.len(), 50);
        lags.sort();
        assert!(
            lags[25] < Duration::from_micros(500),
            "median lag {:?}",
            lags[25]
        );
    }

    /// Below 1 ms the pacer does not spin: requests come due in bunches, yet each keeps its own
    /// intended time and none is released early.
    #[test]
    fn short_gaps_release_every_request_with_its_own_time_never_early() {
        let (tx, rx) = async_channel::bounded(QUEUE_CAPACITY);
        let origin = Instant::now() + Duration::from_millis(2);
        let plan = Plan {
            origin,
            arrivals: Arrivals::every(Duration::from_micros(20)),
            count: Some(5_000),
            deadline: None,
        };
        let handle = spawn_pacer(plan.clone(), tx, CancellationToken::new()).unwrap();
        let mut released = Vec::new();
        while let Ok(intended) = rx.recv_blocking() {
            released.push((intended, Instant::now()));
        }
        handle.join().unwrap();
        assert_eq!(released.len(), 5_000);
        for (i, (intended, at)) in released.iter().enumerate() {
            assert_eq!(Some(*intended), plan.intended(i as u64));
            assert!(at >= intended, "request {i} released early");
        }
    }

    #[test]
    fn pacer_stops_on_cancel_and_deadline() {
        let (tx, rx) = async_channel::bounded(1024);
        let origin = Instant::now();
        let plan = Plan {
            origin,
            arrivals: Arrivals::every(Duration::from_millis(1)),
            count: None,
            deadline: Some(origin + Duration::from_millis(30)),
        };
        spawn_pacer(plan, tx, CancellationToken::new())
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(std::iter::from_fn(|| rx.try_recv().ok()).count(), 30);

        let (tx, _rx) = async_channel::bounded(1024);
        let cancel = CancellationToken::new();
        let plan = Plan {
            origin,
            arrivals: Arrivals::every(Duration::from_secs(10)),
            count: None,
            deadline: None,
        };
        let handle = spawn_pacer(plan, tx, cancel.clone()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        cancel.cancel();
        let t = Instant::now();
        handle.join().unwrap();
        assert!(t.elapsed() < Duration::from_millis(200));
    }
}
