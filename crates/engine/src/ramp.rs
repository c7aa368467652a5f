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

use parking_lot::Mutex;

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
    fn runs(&self, rank: u64, t: Duration) -> bool {
        self.stripe
            .arrival(rank)
            .is_some_and(|user| user < self.target(t))
    }

    /// When, at or after `t`, this node's user of rank `rank` runs next; `None` if never.
    fn next_start(&self, rank: u64, t: Duration) -> Option<Duration> {
        let user = self.stripe.arrival(rank)?;
        self.curve.reaches(user as f64 + 1.0 - EPSILON, t)
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
        }
    }

    /// Whether user `rank` runs at `now`; starts or stops it in the count.
    pub(crate) fn turn(&self, rank: usize, now: Instant) -> Turn {
        let t = now.saturating_duration_since(self.origin);
        let rank_u64 = rank as u64;
        if self.users.runs(rank_u64, t) {
            self.roster.start(rank, now);
            return Turn::Run;
        }
        self.roster.stop(rank, now);
        Turn::Wait(
            self.users
                .next_start(rank_u64, t)
                .map(|at| (self.origin + at).max(now + Duration::from_micros(100))),
        )
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
