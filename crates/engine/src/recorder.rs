//! The shared statistics sink workers record into, drained in intervals.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use onslaught_stats::{Counters, ErrorKind, Histogram};
use parking_lot::Mutex;

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
    /// Requests started since the run started (sent or not), readable without the lock.
    begun_total: AtomicU64,
    /// `begun_total` as of the latest drain (the attempts of the next interval start there).
    begun_drained: AtomicU64,
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
            begun_total: AtomicU64::new(0),
            begun_drained: AtomicU64::new(0),
            sent_total: AtomicU64::new(0),
            finished_total: AtomicU64::new(0),
            last_send: AtomicU64::new(0),
            origin: Instant::now(),
        }
    }

    /// Takes everything recorded since the previous call.
    pub fn take(&self) -> Interval {
        let mut into = Interval::new(self.scheduled);
        self.take_into(&mut into);
        into
    }

    /// Like [`Recorder::take`], but swaps into `into` (cleared first) so a caller that drains
    /// every second reuses two buffers instead of allocating new histograms each time.
    pub fn take_into(&self, into: &mut Interval) {
        into.clear(self.scheduled);
        let mut current = self.current.lock();
        std::mem::swap(&mut *current, into);
        // Attempts are counted without the lock; the ones begun since the last drain belong to
        // this interval (taken under the lock, so drains see a rising count).
        let begun = self.begun_total.load(Ordering::Relaxed);
        let before = self.begun_drained.swap(begun, Ordering::Relaxed);
        drop(current);
        into.counters.requests_attempted = begun.saturating_sub(before);
    }

    /// Requests started so far (sent, or failed before they could be).
    pub fn requests_attempted(&self) -> u64 {
        self.begun_total.load(Ordering::Relaxed)
    }

    /// Requests sent so far in this run.
    pub fn requests_sent(&self) -> u64 {
        self.sent_total.load(Ordering::Relaxed)
    }

    /// Requests finished so far (response, error or abort).
    pub fn requests_finished(&self) -> u64 {
        self.finished_total.load(Ordering::Relaxed)
    }

    /// A request starts: it is counted as attempted (without the lock), whether or not it can
    /// be sent.
    pub(crate) fn begin(&self) {
        self.begun_total.fetch_add(1, Ordering::Relaxed);
    }

    /// A begun request is handed to an open connection at `now`; `intended` is its scheduled
    /// time, if any.
    pub(crate) fn sent(&self, now: Instant, intended: Option<Instant>) {
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

    /// A complete response arrived; `written` bytes went out on its connection for it.
    pub(crate) fn response(
        &self,
        status: u16,
        latency: Duration,
        service: Duration,
        bytes: u64,
        written: u64,
    ) {
        self.finished_total.fetch_add(1, Ordering::Relaxed);
        let mut current = self.current.lock();
        current.counters.responses_received += 1;
        current.counters.bytes_received += bytes;
        current.counters.bytes_sent += written;
        current.counters.status(status);
        if status >= 500 {
            current.counters.error(ErrorKind::Status5xx);
        }
        current.latency.record(latency);
        current.service.record(service);
    }

    /// A request failed without a complete response; `written` bytes went out for it (none if
    /// its connection could not be opened).
    pub(crate) fn failure(&self, failure: &Failure, written: u64) {
        self.finished_total.fetch_add(1, Ordering::Relaxed);
        let mut current = self.current.lock();
        current.counters.error(failure.kind);
        current.counters.bytes_sent += written;
        match &failure.cause {
            Some(cause) => {
                let reason = format!("{}: {cause}", failure.kind.as_str());
                current.counters.reason(&reason, 1);
            }
            None => current.counters.reason(failure.kind.as_str(), 1),
        }
    }

    /// Counts every request that was begun but never finished as aborted (after a stop).
    pub(crate) fn abort_in_flight(&self) {
        let finished = self.finished_total.load(Ordering::Relaxed);
        let in_flight = self.requests_attempted().saturating_sub(finished);
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
        for _ in 0..4 {
            recorder.begin();
        }
        recorder.sent(
            t0 + Duration::from_millis(10),
            Some(t0 + Duration::from_millis(10)),
        );
        recorder.sent(
            t0 + Duration::from_millis(25),
            Some(t0 + Duration::from_millis(20)),
        );
        recorder.response(
            200,
            Duration::from_millis(3),
            Duration::from_millis(2),
            10,
            50,
        );
        recorder.response(
            503,
            Duration::from_millis(9),
            Duration::from_millis(4),
            10,
            50,
        );
        recorder.failure(&Failure::of(ErrorKind::Timeout), 0);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        recorder.failure(&Failure::because(ErrorKind::Connect, &refused), 0);
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
        let gaps = interval.send_gaps.unwrap();
        assert_eq!(gaps.len(), 1);
        assert!((gaps.quantile_micros(0.5) as i64 - 15_000).abs() < 20);
        assert_eq!(interval.latency.len(), 2);
        let next = recorder.take();
        assert_eq!(next.counters.requests_sent, 0);
        assert_eq!(next.counters.requests_attempted, 0);
        assert_eq!(recorder.requests_sent(), 2);
        assert_eq!(recorder.requests_finished(), 4);
    }
}
