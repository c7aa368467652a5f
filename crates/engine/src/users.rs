//! A closed loop's users changed while it runs (`PATCH /api/tests/{id}` with `users`, as
//! Locust's web UI or k6's externally-controlled executor): [`UsersControl`] sets how many of
//! the run's users send from a stated offset of the run on.
//!
//! Users are ranked as ramping users are (`0..`, interleaved over the engine threads); the
//! users of rank below the limit send. Lowering the limit parks the users above it after their
//! request (or flow iteration) in flight; raising it wakes parked users and starts new ones on
//! their engine threads (a new user opens its connection with its first request). Per request a
//! user reads one atomic; nothing else on the request path changes. The recorder counts the users
//! running (`Counters::user_ms`), as for ramping users.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};

use crate::ramp::Roster;

/// The most users a run can be changed to (one connection each).
pub const MAX_USERS: u64 = 100_000;

/// Which users of a closed loop send: those of rank below the limit.
#[derive(Debug)]
pub(crate) struct Gate {
    /// Users of rank below this send.
    limit: AtomicU64,
    /// The run's budget of requests is spent: parked users end too.
    closed: AtomicBool,
    /// Told when the limit rises or the gate closes.
    changed: Notify,
    /// Which users run, counted.
    roster: Roster,
}

impl Gate {
    /// A gate letting `users` users through, counting them in `roster`.
    pub(crate) fn new(users: u64, roster: Roster) -> Self {
        Self {
            limit: AtomicU64::new(users),
            closed: AtomicBool::new(false),
            changed: Notify::new(),
            roster,
        }
    }

    /// Waits until user `rank` may send (`true`), or until it never will: past `deadline`, or
    /// above the limit once the gate is closed (`false`).
    pub(crate) async fn admit(&self, rank: usize, deadline: Option<Instant>) -> bool {
        loop {
            // Registered before the check, so a change between the two is not missed.
            let changed = self.changed.notified();
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                self.roster.stop(rank, now);
                return false;
            }
            if (rank as u64) < self.limit.load(Ordering::Acquire) {
                // It runs: whether requests are left is for the budget to say (its thread may
                // hold some it claimed ahead).
                self.roster.start(rank, now);
                return true;
            }
            self.roster.stop(rank, now);
            if self.closed.load(Ordering::Acquire) {
                return false;
            }
            match deadline {
                Some(deadline) => {
                    tokio::select! {
                        () = changed => {}
                        () = tokio::time::sleep_until(deadline.into()) => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    /// User `rank` ends (the budget is spent): it stops counting, and every parked user ends.
    pub(crate) fn close(&self, rank: usize, now: Instant) {
        self.roster.stop(rank, now);
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.changed.notify_waiters();
        }
    }

    fn set(&self, users: u64) {
        self.limit.store(users, Ordering::Release);
        self.changed.notify_waiters();
    }
}

/// Why a change of users was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsersError {
    /// Beyond [`MAX_USERS`].
    #[error("{0} users is more than a run may have ({MAX_USERS})")]
    TooMany(u64),
    /// The run is over.
    #[error("the run has ended")]
    Ended,
    /// A change for an earlier instant than one already taken.
    #[error("a change for an instant before one already taken")]
    Earlier,
}

/// Starts the users of ranks `from..to` on their engine threads (rank `r` is thread
/// `r mod n`'s); a thread that has ended takes none (its run is over).
pub(crate) fn start_ranks(starters: &[mpsc::UnboundedSender<usize>], from: u64, to: u64) {
    let threads = starters.len().max(1);
    for rank in from..to {
        let Ok(rank) = usize::try_from(rank) else {
            break;
        };
        if let Some(starter) = starters.get(rank % threads) {
            let _ = starter.send(rank);
        }
    }
}

/// Widens a ramping run's stripe of users in total from a stated offset of the run on (the
/// drivers left taking over the users of drivers that died). Cheap to clone.
#[derive(Clone, Debug)]
pub struct RampControl {
    inner: Arc<RampInner>,
}

#[derive(Debug)]
struct RampInner {
    ramp: Arc<crate::ramp::Ramp>,
    /// Starts a user of a rank on its engine thread.
    starters: Vec<mpsc::UnboundedSender<usize>>,
    /// Users started so far (ranks below exist).
    started: AtomicU64,
}

impl RampControl {
    pub(crate) fn new(
        ramp: Arc<crate::ramp::Ramp>,
        started: u64,
        starters: Vec<mpsc::UnboundedSender<usize>>,
    ) -> Self {
        Self {
            inner: Arc::new(RampInner {
                ramp,
                starters,
                started: AtomicU64::new(started),
            }),
        }
    }

    /// From offset `at` of the run on, this node runs the users of `stripe` (of the curve's
    /// users in total); users beyond those it began with start now and wait for the curve.
    pub fn restripe(&self, at: Duration, stripe: crate::Stripe) -> Result<(), UsersError> {
        if self
            .inner
            .starters
            .iter()
            .all(mpsc::UnboundedSender::is_closed)
        {
            return Err(UsersError::Ended);
        }
        let needed = self
            .inner
            .ramp
            .restripe(at, stripe)
            .ok_or(UsersError::Earlier)?
            .min(MAX_USERS);
        let started = self.inner.started.fetch_max(needed, Ordering::AcqRel);
        start_ranks(&self.inner.starters, started, needed);
        Ok(())
    }
}

/// Changes how many users of a closed-loop run send, from a stated offset of the run on. Cheap
/// to clone.
#[derive(Clone, Debug)]
pub struct UsersControl {
    inner: Arc<Control>,
}

#[derive(Debug)]
struct Control {
    gate: Arc<Gate>,
    /// The run's start: offsets are from it.
    origin: Instant,
    /// Starts a user of a rank on its engine thread (rank `r` is thread `r mod n`'s).
    starters: Vec<mpsc::UnboundedSender<usize>>,
    /// Users started so far (ranks below exist).
    started: AtomicU64,
    /// The offset of the change in force (a change for an earlier offset arriving later is
    /// not applied over it).
    applied: Mutex<Option<Duration>>,
}

impl UsersControl {
    pub(crate) fn new(
        gate: Arc<Gate>,
        origin: Instant,
        started: u64,
        starters: Vec<mpsc::UnboundedSender<usize>>,
    ) -> Self {
        Self {
            inner: Arc::new(Control {
                gate,
                origin,
                starters,
                started: AtomicU64::new(started),
                applied: Mutex::new(None),
            }),
        }
    }

    /// From offset `at` of the run, `users` users send (the lowest ranks; users above finish
    /// their request in flight, then wait). An `at` already past applies at once. Must be
    /// called within a tokio runtime (the change waits for its instant on it).
    pub fn change(&self, at: Duration, users: u64) -> Result<(), UsersError> {
        if users > MAX_USERS {
            return Err(UsersError::TooMany(users));
        }
        if self
            .inner
            .starters
            .iter()
            .all(mpsc::UnboundedSender::is_closed)
        {
            return Err(UsersError::Ended);
        }
        let control = Arc::clone(&self.inner);
        tokio::spawn(async move {
            tokio::time::sleep_until((control.origin + at).into()).await;
            control.apply(at, users);
        });
        Ok(())
    }
}

impl Control {
    fn apply(&self, at: Duration, users: u64) {
        {
            let mut applied = self.applied.lock();
            if applied.is_some_and(|earlier| earlier > at) {
                return;
            }
            *applied = Some(at);
        }
        self.gate.set(users);
        let started = self.started.fetch_max(users, Ordering::AcqRel);
        start_ranks(&self.starters, started, users);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ramp::Presence;

    fn gate(users: u64) -> (Arc<Gate>, Arc<Presence>) {
        let presence = Arc::new(Presence::new(Instant::now()));
        let roster = Roster::new(8, Arc::clone(&presence));
        (Arc::new(Gate::new(users, roster)), presence)
    }

    #[tokio::test]
    async fn users_above_the_limit_wait_until_it_rises_and_new_ranks_start() {
        let (gate, presence) = gate(2);
        assert!(gate.admit(0, None).await && gate.admit(1, None).await);
        assert_eq!(presence.running(), 2);
        let parked = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.admit(2, None).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!parked.is_finished());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let control = UsersControl::new(Arc::clone(&gate), Instant::now(), 3, vec![tx]);
        control.change(Duration::from_millis(30), 5).unwrap();
        assert!(parked.await.unwrap(), "woken by the rise");
        // Ranks 3 and 4 did not exist: they are started.
        assert_eq!((rx.recv().await, rx.recv().await), (Some(3), Some(4)));
        // Lowered: rank 1 waits after its request in flight.
        control.change(Duration::from_millis(30), 1).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let deadline = Instant::now() + Duration::from_millis(30);
        assert!(
            !gate.admit(1, Some(deadline)).await,
            "parked until the deadline"
        );
        assert!(rx.try_recv().is_err(), "nothing new to start");
    }

    #[tokio::test]
    async fn a_closed_gate_ends_parked_users() {
        let (gate, presence) = gate(1);
        let parked = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.admit(3, None).await }
        });
        assert!(gate.admit(0, None).await);
        tokio::time::sleep(Duration::from_millis(10)).await;
        gate.close(0, Instant::now());
        assert!(!parked.await.unwrap());
        assert_eq!(presence.running(), 0);
    }

    #[tokio::test]
    async fn a_change_for_an_earlier_instant_does_not_override_a_later_one() {
        let (gate, _) = gate(1);
        let (tx, _rx) = mpsc::unbounded_channel();
        let control = UsersControl::new(Arc::clone(&gate), Instant::now(), 1, vec![tx]);
        control.inner.apply(Duration::from_secs(2), 4);
        control.inner.apply(Duration::from_secs(1), 2);
        assert_eq!(gate.limit.load(Ordering::Acquire), 4);
        assert_eq!(
            control.change(Duration::ZERO, MAX_USERS + 1),
            Err(UsersError::TooMany(MAX_USERS + 1))
        );
    }
}
