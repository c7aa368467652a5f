//! Ramping virtual users: closed load whose users follow a curve, as k6's ramping-vus.
//!
//! [`Users`] say how many users run at each moment: `floor(curve(t))` of the whole test, of
//! which a node runs one [`Stripe`] (user `i` is node `i mod n`'s, so the nodes' users add up to
//! the curve exactly). A node's users are ranked (`0..`, interleaved over its engine threads);
//! rank `r` is the test's user `r * n + k` and runs while that user is below the target. A user
//! is started when the curve reaches it (evenly as it rises) and stopped as it falls, only
//! between requests (or flow iterations): what it has in flight finishes, bounded by the request
//! timeout. [`Presence`] counts the users running and their time (`Counters::user_ms`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::schedule::{Curve, Stripe};

/// A curve's value is taken as reaching a whole number of users this close below it (the
/// curve's arithmetic rounds).
const EPSILON: f64 = 1e-9;

/// How many users run when: a curve of the whole test's users and this node's stripe of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Users {
    /// The whole test's users over time.
    curve: Arc<Curve>,
    /// Which of them are this node's.
    stripe: Stripe,
}

impl Users {
    /// The users of `curve`, all of them this node's.
    pub fn new(curve: Curve) -> Self {
        Self {
            curve: Arc::new(curve),
            stripe: Stripe::WHOLE,
        }
    }

    /// Only the users of `stripe`.
    #[must_use]
    pub fn striped(self, stripe: Stripe) -> Self {
        Self { stripe, ..self }
    }

    /// The whole test's users at `t` from the start: the curve's value, rounded down.
    pub fn target(&self, t: Duration) -> u64 {
        let value = self.curve.at(t) + EPSILON;
        if value.is_finite() && value > 0.0 {
            value.floor() as u64
        } else {
            0
        }
    }

    /// This node's users at `t`.
    pub fn mine(&self, t: Duration) -> u64 {
        self.stripe.share(self.target(t))
    }

    /// The most users this node runs at once (its connections).
    pub fn peak(&self) -> u64 {
        let peak = self.curve.peak() + EPSILON;
        self.stripe
            .share(if peak.is_finite() { peak as u64 } else { 0 })
    }

    /// Whether this node's user of rank `rank` runs at `t`.
    #[cfg(test)]
    fn runs(&self, rank: u64, t: Duration) -> bool {
        self.runs_in(self.stripe, rank, t)
    }

    /// Whether the user of rank `rank` in `stripe` runs at `t`.
    fn runs_in(&self, stripe: Stripe, rank: u64, t: Duration) -> bool {
        stripe
            .arrival(rank)
            .is_some_and(|user| user < self.target(t))
    }

    /// When, at or after `t`, this node's user of rank `rank` runs next; `None` if never.
    #[cfg(test)]
    fn next_start(&self, rank: u64, t: Duration) -> Option<Duration> {
        self.next_start_in(self.stripe, rank, t)
    }

    /// When, at or after `t`, the user of rank `rank` in `stripe` runs next; `None` if never.
    fn next_start_in(&self, stripe: Stripe, rank: u64, t: Duration) -> Option<Duration> {
        let user = stripe.arrival(rank)?;
        self.curve.reaches(user as f64 + 1.0 - EPSILON, t)
    }

    /// The most users of `stripe` at once.
    fn peak_in(&self, stripe: Stripe) -> u64 {
        let peak = self.curve.peak() + EPSILON;
        stripe.share(if peak.is_finite() { peak as u64 } else { 0 })
    }
}

/// A run's ramping users: the curve, its clock, and which users run now.
#[derive(Debug)]
pub(crate) struct Ramp {
    /// How many users run when.
    users: Users,
    /// Time 0 of the curve (the run's start).
    origin: Instant,
    /// Which users run, counted.
    roster: Roster,
    /// This node's stripes of the users from offsets of the run on (a takeover of users in
    /// total: the stripe widens), in order; before the first, the users' own stripe.
    restripes: RwLock<Vec<(Duration, Stripe)>>,
    /// Told when a stripe is added: users waiting for good look again.
    changed: Notify,
}

/// Which users (by rank) run, counted in a [`Presence`] as they start and stop.
#[derive(Debug)]
pub(crate) struct Roster {
    /// Whether each user (by rank) is running.
    running: Box<[AtomicBool]>,
    /// Counts running users and their time.
    presence: Arc<Presence>,
}

impl Roster {
    /// Users of ranks `0..ranks`, none running yet.
    pub(crate) fn new(ranks: usize, presence: Arc<Presence>) -> Self {
        Self {
            running: (0..ranks).map(|_| AtomicBool::new(false)).collect(),
            presence,
        }
    }

    /// Counts user `rank` as running from `now` (a read only, when it already runs).
    pub(crate) fn start(&self, rank: usize, now: Instant) {
        if let Some(flag) = self.running.get(rank)
            && !flag.load(Ordering::Relaxed)
            && !flag.swap(true, Ordering::AcqRel)
        {
            self.presence.change(now, 1);
        }
    }

    /// Counts user `rank` as stopped from `now`.
    pub(crate) fn stop(&self, rank: usize, now: Instant) {
        if let Some(flag) = self.running.get(rank)
            && flag.load(Ordering::Relaxed)
            && flag.swap(false, Ordering::AcqRel)
        {
            self.presence.change(now, -1);
        }
    }
}

/// Whether a user may send now.
pub(crate) enum Turn {
    /// It runs now.
    Run,
    /// Not now; it runs again at this time (`None`: never).
    Wait(Option<Instant>),
}

impl Ramp {
    pub(crate) fn new(
        users: Users,
        origin: Instant,
        ranks: usize,
        presence: Arc<Presence>,
    ) -> Self {
        Self {
            users,
            origin,
            roster: Roster::new(ranks, presence),
            restripes: RwLock::new(Vec::new()),
            changed: Notify::new(),
        }
    }

    /// This node's stripe at `t`, and when the next one takes over, if one is due.
    fn stripe_at(&self, t: Duration) -> (Stripe, Option<Duration>) {
        let restripes = self.restripes.read();
        let next = restripes.iter().find(|(at, _)| *at > t).map(|(at, _)| *at);
        let stripe = restripes
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .map_or(self.users.stripe, |(_, stripe)| *stripe);
        (stripe, next)
    }

    /// Whether user `rank` runs at `now`; starts or stops it in the count.
    pub(crate) fn turn(&self, rank: usize, now: Instant) -> Turn {
        let t = now.saturating_duration_since(self.origin);
        let rank_u64 = rank as u64;
        let (stripe, next_stripe) = self.stripe_at(t);
        if self.users.runs_in(stripe, rank_u64, t) {
            self.roster.start(rank, now);
            return Turn::Run;
        }
        self.roster.stop(rank, now);
        // The next start in this stripe, or the next stripe's instant (to look again then).
        let next = match (self.users.next_start_in(stripe, rank_u64, t), next_stripe) {
            (Some(start), Some(switch)) => Some(start.min(switch)),
            (start, switch) => start.or(switch),
        };
        Turn::Wait(next.map(|at| (self.origin + at).max(now + Duration::from_micros(100))))
    }

    /// Waits until a stripe is added (a user the curve leaves out for good may be needed by
    /// it), or until `deadline`.
    pub(crate) async fn restriped(&self, deadline: Instant) {
        let changed = self.changed.notified();
        tokio::select! {
            () = changed => {}
            () = tokio::time::sleep_until(deadline.into()) => {}
        }
    }

    /// From offset `at` of the run on, this node runs the users of `stripe` (a takeover of
    /// users in total); returns the ranks it needs at the curve's peak. A stripe for an
    /// earlier offset than one already taken is refused (`None`).
    pub(crate) fn restripe(&self, at: Duration, stripe: Stripe) -> Option<u64> {
        {
            let mut restripes = self.restripes.write();
            if restripes.last().is_some_and(|(last, _)| *last > at) {
                return None;
            }
            restripes.push((at, stripe));
        }
        self.changed.notify_waiters();
        Some(self.users.peak_in(stripe))
    }

    /// Counts user `rank` as stopped from `now`.
    pub(crate) fn stop(&self, rank: usize, now: Instant) {
        self.roster.stop(rank, now);
    }
}

/// Users running now and the time they ran: a changing count integrated over time, drained
/// with each interval as user-milliseconds (a second's mean running users are its
/// `user_ms / 1000`). Changes happen only as users start and stop, never per request.
#[derive(Debug)]
pub struct Presence {
    clock: Mutex<Clock>,
}

#[derive(Debug)]
struct Clock {
    /// Users running now.
    running: u64,
    /// Since when `running` has held.
    since: Instant,
    /// User-nanoseconds not yet drained.
    user_ns: u128,
}

impl Presence {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            clock: Mutex::new(Clock {
                running: 0,
                since: now,
                user_ns: 0,
            }),
        }
    }

    /// Users running now.
    pub fn running(&self) -> u64 {
        self.clock.lock().running
    }

    fn change(&self, now: Instant, by: i64) {
        let mut clock = self.clock.lock();
        clock.advance(now);
        clock.running = clock.running.saturating_add_signed(by);
    }

    /// The user-milliseconds since the last drain (the part of a millisecond left stays).
    pub(crate) fn drain(&self, now: Instant) -> u64 {
        let mut clock = self.clock.lock();
        clock.advance(now);
        let ms = clock.user_ns / 1_000_000;
        clock.user_ns -= ms * 1_000_000;
        u64::try_from(ms).unwrap_or(u64::MAX)
    }

    /// Every user stopped at `now` (the run is over).
    pub(crate) fn end(&self, now: Instant) {
        let mut clock = self.clock.lock();
        clock.advance(now);
        clock.running = 0;
    }
}

impl Clock {
    fn advance(&mut self, now: Instant) {
        if now > self.since {
            let elapsed = (now - self.since).as_nanos();
            self.user_ns += elapsed * u128::from(self.running);
            self.since = now;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn users() -> Users {
        // 0 -> 10 over 2 s, 10 for 1 s, 10 -> 0 over 1 s.
        Users::new(
            Curve::new(&[
                (Duration::from_secs(2), 10.0),
                (Duration::from_secs(1), 10.0),
                (Duration::from_secs(1), 0.0),
            ])
            .unwrap(),
        )
    }

    #[test]
    fn users_start_evenly_as_the_curve_rises_and_stop_as_it_falls() {
        let u = users();
        let ms = Duration::from_millis;
        assert_eq!(u.target(ms(0)), 0);
        assert_eq!(u.target(ms(199)), 0);
        assert_eq!(u.target(ms(200)), 1);
        assert_eq!(u.target(ms(1_000)), 5);
        assert_eq!(u.target(ms(2_000)), 10);
        assert_eq!(u.target(ms(2_900)), 10);
        assert_eq!(u.target(ms(3_500)), 5);
        assert_eq!(u.target(ms(4_000)), 0);
        assert_eq!(u.peak(), 10);
        // User 4 (the fifth) starts when the curve reaches 5.
        let near = |a: Option<Duration>, b: Duration| {
            a.is_some_and(|a| a.abs_diff(b) < Duration::from_micros(1))
        };
        assert!(near(u.next_start(4, ms(0)), ms(1_000)));
        assert!(near(u.next_start(9, ms(0)), ms(2_000)));
        assert!(near(u.next_start(4, ms(1_500)), ms(1_500)));
        // Once stopped on the way down, never again.
        assert_eq!(u.next_start(9, ms(3_200)), None);
        assert!(u.runs(9, ms(2_500)) && !u.runs(9, ms(3_200)));
    }

    #[test]
    fn stripes_split_the_users_exactly() {
        let whole = users();
        let stripes: Vec<Users> = (0..3)
            .map(|k| whole.clone().striped(Stripe::new(k, 3).unwrap()))
            .collect();
        for t in (0..=40).map(|i| Duration::from_millis(i * 100)) {
            let sum: u64 = stripes.iter().map(|s| s.mine(t)).sum();
            assert_eq!(sum, whole.target(t), "at {t:?}");
            for (k, s) in stripes.iter().enumerate() {
                let running = (0..4).filter(|r| s.runs(*r, t)).count() as u64;
                assert_eq!(running, s.mine(t), "driver {k} at {t:?}");
            }
        }
        assert_eq!(
            stripes.iter().map(Users::peak).collect::<Vec<_>>(),
            [4, 3, 3]
        );
    }

    /// A takeover widens the node's stripe from its instant: the users of the new stripe run
    /// from then on, one left out for good waits for it, and an earlier instant is refused.
    #[test]
    fn a_wider_stripe_runs_more_users_from_its_instant() {
        // 6 users from 1 ms on; this node has every second one: users 0, 2, 4 (ranks 0-2).
        let curve = Curve::new(&[
            (Duration::from_millis(1), 6.0),
            (Duration::from_secs(10), 6.0),
        ])
        .unwrap();
        let users = Users::new(curve).striped(Stripe::new(0, 2).unwrap());
        let origin = Instant::now();
        let ramp = Ramp::new(users, origin, 8, Arc::new(Presence::new(origin)));
        let at = |ms: u64| origin + Duration::from_millis(ms);
        assert!(matches!(ramp.turn(2, at(500)), Turn::Run));
        assert!(
            matches!(ramp.turn(3, at(500)), Turn::Wait(None)),
            "user 6 never runs"
        );
        // From 1 s on the node has them all: ranks 0-5 are users 0-5.
        assert_eq!(
            ramp.restripe(Duration::from_secs(1), Stripe::WHOLE),
            Some(6)
        );
        match ramp.turn(3, at(500)) {
            Turn::Wait(Some(when)) => assert_eq!(when, at(1_000)),
            _ => panic!("rank 3 waits for the new stripe"),
        }
        assert!(matches!(ramp.turn(3, at(1_000)), Turn::Run));
        assert!(matches!(ramp.turn(5, at(1_500)), Turn::Run));
        assert!(matches!(ramp.turn(6, at(1_500)), Turn::Wait(None)));
        assert_eq!(
            ramp.restripe(Duration::from_millis(900), Stripe::WHOLE),
            None
        );
    }

    #[test]
    fn presence_integrates_running_users() {
        let t0 = Instant::now();
        let p = Presence::new(t0);
        p.change(t0, 1);
        p.change(t0 + Duration::from_millis(500), 1);
        assert_eq!(p.running(), 2);
        // 1 user for 500 ms, then 2 for 500 ms.
        assert_eq!(p.drain(t0 + Duration::from_secs(1)), 1_500);
        p.end(t0 + Duration::from_millis(1_250));
        assert_eq!(p.drain(t0 + Duration::from_secs(2)), 500);
        assert_eq!(p.running(), 0);
    }
}
