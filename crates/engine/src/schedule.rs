//! The pacer: releases scheduled requests at absolute times from a dedicated thread.
//!
//! Intended send times are `origin + i * interval`, computed from `i`, never by adding gaps
//! (so the schedule cannot drift). The pacer never waits for responses: if every connection is
//! busy, released requests queue (up to [`QUEUE_CAPACITY`]) and the pacer keeps its schedule;
//! a request's latency is still measured from its intended time.
//!
//! Timing uses a thread of its own because the async runtime's timer has 1 ms granularity. At
//! gaps of 1 ms and more ([`PRECISE_MIN_INTERVAL`]) the pacer is precise: it runs real-time when
//! allowed, sleeps with the OS until just before the intended time, then spins briefly. At
//! shorter gaps spinning would take a whole core, so it only sleeps with the OS (tens of
//! microseconds of wake-up slack) and releases every request that has come due on waking, each
//! with its own intended time: sends bunch by that slack, the rate and the latencies stay exact.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// Released requests waiting for a free connection, at most. Beyond it the pacer waits, then
/// releases the overdue requests at once with their original intended times.
pub const QUEUE_CAPACITY: usize = 65_536;

/// Sleep with the OS until this close to the deadline, then spin.
const SPIN_WINDOW: Duration = Duration::from_micros(120);

/// Longest single OS sleep, so cancellation is noticed quickly.
const MAX_NAP: Duration = Duration::from_millis(50);

/// The schedule.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Time of request 0.
    pub origin: Instant,
    /// Gap between intended send times.
    pub interval: Duration,
    /// Requests to release, if bounded by count.
    pub count: Option<u64>,
    /// No request is released at or after this time, if bounded by time.
    pub deadline: Option<Instant>,
}

impl Plan {
    /// Intended send time of request `i`.
    pub fn intended(&self, i: u64) -> Instant {
        let nanos = self.interval.as_nanos().saturating_mul(u128::from(i));
        self.origin + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// Sleeps until `deadline`, unless `cancel` fires first; returns false when cancelled. With
/// `spin`, precisely (to a few microseconds: the OS sleep ends [`SPIN_WINDOW`] early and the
/// rest is spun); without, the OS wakes the thread at the deadline or a little after.
pub fn sleep_until(deadline: Instant, cancel: &CancellationToken, spin: bool) -> bool {
    let window = if spin { SPIN_WINDOW } else { Duration::ZERO };
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
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

/// Starts the pacer thread. It sends each intended time into `queue` at that time, and ends
/// when the plan is exhausted, `cancel` fires, or the workers are gone.
pub fn spawn_pacer(
    plan: Plan,
    queue: async_channel::Sender<Instant>,
    cancel: CancellationToken,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("onslaught-pacer".to_owned())
        .spawn(move || {
            raise_priority(plan.interval >= PRECISE_MIN_INTERVAL);
            pace(plan, &queue, &cancel);
        })
}

fn pace(plan: Plan, queue: &async_channel::Sender<Instant>, cancel: &CancellationToken) {
    let precise = plan.interval >= PRECISE_MIN_INTERVAL;
    let mut i = 0u64;
    while plan.count.is_none_or(|n| i < n) {
        let intended = plan.intended(i);
        if plan.deadline.is_some_and(|d| intended >= d) {
            break;
        }
        if !sleep_until(intended, cancel, precise) {
            break;
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
            interval: Duration::from_micros(333),
            count: None,
            deadline: None,
        };
        assert_eq!(
            plan.intended(3_000_000) - origin,
            Duration::from_micros(999_000_000)
        );
    }

    #[test]
    fn pacer_releases_on_time_and_stops_at_the_bound() {
        let (tx, rx) = async_channel::bounded(1024);
        let origin = Instant::now() + Duration::from_millis(5);
        let plan = Plan {
            origin,
            interval: Duration::from_millis(2),
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
            interval: Duration::from_micros(20),
            count: Some(5_000),
            deadline: None,
        };
        let handle = spawn_pacer(plan, tx, CancellationToken::new()).unwrap();
        let mut released = Vec::new();
        while let Ok(intended) = rx.recv_blocking() {
            released.push((intended, Instant::now()));
        }
        handle.join().unwrap();
        assert_eq!(released.len(), 5_000);
        for (i, (intended, at)) in released.iter().enumerate() {
            assert_eq!(*intended, plan.intended(i as u64));
            assert!(at >= intended, "request {i} released early");
        }
    }

    #[test]
    fn pacer_stops_on_cancel_and_deadline() {
        let (tx, rx) = async_channel::bounded(1024);
        let origin = Instant::now();
        let plan = Plan {
            origin,
            interval: Duration::from_millis(1),
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
            interval: Duration::from_secs(10),
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
