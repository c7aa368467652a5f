//! The shared statistics sink workers record into, drained in intervals.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use stats::{Counters, ErrorKind, Histogram};

use crate::LATE_TOLERANCE;

/// Everything recorded between two drains.
#[derive(Clone, Debug, Default)]
pub struct Interval {
    /// Latency of completed requests: from the intended send time in scheduled mode, from the
    /// actual send otherwise.
    pub latency: Histogram,
    /// Service time of completed requests: from the actual send.
    pub service: Histogram,
    /// Scheduled mode: gaps between consecutive actual sends.
    pub send_gaps: Option<Histogram>,
    /// Scheduled mode: how late each send started after its intended time.
    pub send_lag: Option<Histogram>,
    /// Counters.
    pub counters: Counters,
}

impl Interval {
    fn new(scheduled: bool) -> Self {
        Self {
            send_gaps: scheduled.then(Histogram::new),
            send_lag: scheduled.then(Histogram::new),
            ..Self::default()
        }
    }

    /// Empties the interval, keeping its allocations.
    pub fn clear(&mut self, scheduled: bool) {
        self.latency.clear();
        self.service.clear();
        for h in [&mut self.send_gaps, &mut self.send_lag] {
            match (h.as_mut(), scheduled) {
                (Some(h), true) => h.clear(),
                (None, true) => *h = Some(Histogram::new()),
                (_, false) => *h = None,
            }
        }
        self.counters = Counters::default();
    }

    /// Adds another interval into this one (exact).
    pub fn add(&mut self, other: &Interval) {
        self.latency.add(&other.latency);
        self.service.add(&other.service);
        merge_optional(&mut self.send_gaps, other.send_gaps.as_ref());
        merge_optional(&mut self.send_lag, other.send_lag.as_ref());
        self.counters.add(&other.counters);
    }
}

fn merge_optional(into: &mut Option<Histogram>, from: Option<&Histogram>) {
    if let Some(from) = from {
        into.get_or_insert_with(Histogram::new).add(from);
    }
}

/// Where workers record. Drain it with [`Recorder::take`] at least once a second; memory stays
/// the size of one [`Interval`] however many requests run.
#[derive(Debug)]
pub struct Recorder {
    /// The interval being filled.
    current: Mutex<Interval>,
    /// Whether sends follow a schedule (gap and lag histograms exist).
    scheduled: bool,
    /// Requests sent since the run started, readable without the lock (progress display).
    sent_total: AtomicU64,
    /// Requests finished (response or error) since the run started.
    finished_total: AtomicU64,
    /// Time of the latest send, in ns since `origin` plus one (0: none yet).
    last_send: AtomicU64,
    /// The clock origin for `last_send`.
    origin: Instant,
}

impl Recorder {
    /// An empty recorder.
    pub fn new(scheduled: bool) -> Self {
        Self {
            current: Mutex::new(Interval::new(scheduled)),
            scheduled,
            sent_total: AtomicU64::new(0),
            finished_total: AtomicU64::new(0),
            last_send: AtomicU64::new(0),
            origin: Instant::now(),
        }
    }

    /// Takes everything recorded since the previous call.
    pub fn take(&self) -> Interval {
        let fresh = Interval::new(self.scheduled);
        std::mem::replace(&mut *self.current.lock(), fresh)
    }

    /// Like [`Recorder::take`], but swaps into `into` (cleared first) so a caller that drains
    /// every second reuses two buffers instead of allocating new histograms each time.
    pub fn take_into(&self, into: &mut Interval) {
        into.clear(self.scheduled);
        std::mem::swap(&mut *self.current.lock(), into);
    }

    /// Requests sent so far in this run.
    pub fn requests_sent(&self) -> u64 {
        self.sent_total.load(Ordering::Relaxed)
    }

    /// Requests finished so far (response, error or abort).
    pub fn requests_finished(&self) -> u64 {
        self.finished_total.load(Ordering::Relaxed)
    }

    /// A request starts being sent at `now`; `intended` is its scheduled time, if any.
    pub(crate) fn sent(&self, now: Instant, intended: Option<Instant>, bytes: u64) {
        self.sent_total.fetch_add(1, Ordering::Relaxed);
        let mut gap = None;
        if self.scheduled {
            let stamp = u64::try_from(now.saturating_duration_since(self.origin).as_nanos())
                .unwrap_or(u64::MAX - 1)
                + 1;
            let previous = self.last_send.swap(stamp, Ordering::AcqRel);
            if previous != 0 {
                gap = Some(Duration::from_nanos(stamp.saturating_sub(previous)));
            }
        }
        let lag = intended.map(|i| now.saturating_duration_since(i));
        let mut current = self.current.lock();
        current.counters.requests_sent += 1;
        current.counters.bytes_sent += bytes;
        if let (Some(gap), Some(h)) = (gap, current.send_gaps.as_mut()) {
            h.record(gap);
        }
        if let Some(lag) = lag {
            if lag > LATE_TOLERANCE {
                current.counters.late_sends += 1;
            }
            if let Some(h) = current.send_lag.as_mut() {
                h.record(lag);
            }
        }
    }

    /// A complete response arrived.
    pub(crate) fn response(&self, status: u16, latency: Duration, service: Duration, bytes: u64) {
        self.finished_total.fetch_add(1, Ordering::Relaxed);
        let mut current = self.current.lock();
        current.counters.responses_received += 1;
        current.counters.bytes_received += bytes;
        current.counters.status(status);
        if status >= 500 {
            current.counters.error(ErrorKind::Status5xx);
        }
        current.latency.record(latency);
        current.service.record(service);
    }

    /// A request failed without a complete response.
    pub(crate) fn failure(&self, kind: ErrorKind) {
        self.finished_total.fetch_add(1, Ordering::Relaxed);
        self.current.lock().counters.error(kind);
    }

    /// Counts every request that was sent but never finished as aborted (after a stop).
    pub(crate) fn abort_in_flight(&self) {
        let finished = self.finished_total.load(Ordering::Relaxed);
        let in_flight = self.requests_sent().saturating_sub(finished);
        if in_flight == 0 {
            return;
        }
        self.finished_total.fetch_add(in_flight, Ordering::Relaxed);
        *self
            .current
            .lock()
            .counters
            .errors
            .entry(ErrorKind::Aborted)
            .or_default() += in_flight;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_drains_and_counts_lateness() {
        let recorder = Recorder::new(true);
        let t0 = Instant::now();
        recorder.sent(
            t0 + Duration::from_millis(10),
            Some(t0 + Duration::from_millis(10)),
            50,
        );
        recorder.sent(
            t0 + Duration::from_millis(25),
            Some(t0 + Duration::from_millis(20)),
            50,
        );
        recorder.response(200, Duration::from_millis(3), Duration::from_millis(2), 10);
        recorder.response(503, Duration::from_millis(9), Duration::from_millis(4), 10);
        recorder.failure(ErrorKind::Timeout);
        let interval = recorder.take();
        assert_eq!(interval.counters.requests_sent, 2);
        assert_eq!(interval.counters.late_sends, 1);
        assert_eq!(interval.counters.responses_received, 2);
        assert_eq!(interval.counters.errors[&ErrorKind::Status5xx], 1);
        assert_eq!(interval.counters.errors[&ErrorKind::Timeout], 1);
        let gaps = interval.send_gaps.unwrap();
        assert_eq!(gaps.len(), 1);
        assert!((gaps.quantile_micros(0.5) as i64 - 15_000).abs() < 20);
        assert_eq!(interval.latency.len(), 2);
        assert_eq!(recorder.take().counters.requests_sent, 0);
        assert_eq!(recorder.requests_sent(), 2);
        assert_eq!(recorder.requests_finished(), 3);
    }
}
