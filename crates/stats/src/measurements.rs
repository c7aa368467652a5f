//! Everything measured over a span of time, with one exact `add`.

use std::collections::BTreeMap;

use crate::{Counters, Histogram};

/// What was measured over a span of time: one engine interval, a metrics message, one second of
/// a series, a node's totals or a whole test's. Every merge is [`Measurements::add`]: histogram
/// addition and counter sums, so the sum of intervals is exactly what one interval spanning them
/// would hold.
///
/// A new metric is a field here, summed in [`Measurements::add`] (or a counter in [`Counters`]),
/// and recorded by the engine; the wire, the views and the reports follow.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measurements {
    /// Latency of completed requests: from the intended send time in scheduled mode, from the
    /// actual send otherwise.
    pub latency: Histogram,
    /// Service time of completed requests: from the actual send.
    pub service: Histogram,
    /// Scheduled mode: gaps between consecutive actual sends.
    pub send_gaps: Option<Histogram>,
    /// Scheduled mode: how late each send started after its intended time.
    pub send_lag: Option<Histogram>,
    /// Requests, responses, errors, status codes, bytes, checks.
    pub counters: Counters,
    /// Per request name, for a test whose requests have more than one name (the steps of its
    /// flows): the measurements of that name's requests only (their own `by_name` and `flows`
    /// empty). Empty for a test of one request: the whole is that request's.
    pub by_name: BTreeMap<String, Measurements>,
    /// Per flow: the iterations of its virtual users (empty for a test without flows).
    pub flows: BTreeMap<String, Iterations>,
}

/// The iterations of one flow: what its virtual users began, finished, gave up and could not
/// start, and how long finished iterations took.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Iterations {
    /// Iterations begun.
    pub started: u64,
    /// Iterations that ran every step.
    pub completed: u64,
    /// Iterations stopped before their last step (a failed request, check or extraction, when
    /// the plan says to stop), or by the end of the test.
    pub interrupted: u64,
    /// Open load: iterations due on the schedule that could not start because every virtual
    /// user was busy (k6's dropped iterations); never counted as started.
    pub dropped: u64,
    /// Duration of completed iterations, from the iteration's intended start (its scheduled
    /// time in open load), think times included.
    pub duration: Histogram,
}

impl Iterations {
    /// Adds `other` into these iterations (exact).
    pub fn add(&mut self, other: &Iterations) {
        self.started += other.started;
        self.completed += other.completed;
        self.interrupted += other.interrupted;
        self.dropped += other.dropped;
        self.duration.add(&other.duration);
    }
}

impl Measurements {
    /// Empty measurements; `scheduled` ones hold the send gap and lag histograms.
    pub fn new(scheduled: bool) -> Self {
        Self {
            send_gaps: scheduled.then(Histogram::new),
            send_lag: scheduled.then(Histogram::new),
            ..Self::default()
        }
    }

    /// Empties the measurements, keeping their allocations.
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
        self.by_name.clear();
        self.flows.clear();
    }

    /// Adds `other` into these measurements (exact).
    pub fn add(&mut self, other: &Measurements) {
        self.add_whole(other);
        for (name, part) in &other.by_name {
            match self.by_name.get_mut(name) {
                Some(mine) => mine.add(part),
                None => {
                    self.by_name.insert(name.clone(), part.clone());
                }
            }
        }
        for (name, part) in &other.flows {
            self.flows.entry(name.clone()).or_default().add(part);
        }
    }
}

impl Measurements {
    /// Adds the whole of `other` (its histograms and counters) but not its per-name and
    /// per-flow parts: for what keeps many spans and shows only the whole (per-second
    /// buckets), where a hundred names would multiply the memory.
    pub fn add_whole(&mut self, other: &Measurements) {
        self.latency.add(&other.latency);
        self.service.add(&other.service);
        add_optional(&mut self.send_gaps, other.send_gaps.as_ref());
        add_optional(&mut self.send_lag, other.send_lag.as_ref());
        self.counters.add(&other.counters);
    }
}

fn add_optional(into: &mut Option<Histogram>, from: Option<&Histogram>) {
    if let Some(from) = from {
        into.get_or_insert_with(Histogram::new).add(from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adding the parts gives what one span holding every sample would: the merge is exact.
    #[test]
    fn add_is_exact_and_keeps_optional_histograms() {
        let mut whole = Measurements::new(true);
        let mut parts = [Measurements::new(false), Measurements::new(true)];
        for (i, v) in [120_u64, 4_000, 77, 1_000_000, 5].into_iter().enumerate() {
            for m in [&mut whole, &mut parts[i % 2]] {
                m.latency.record_micros(v);
                m.service.record_micros(v / 2);
                if let Some(lag) = m.send_lag.as_mut() {
                    lag.record_micros(v);
                }
                m.counters.requests_sent += 1;
                m.counters.status(200);
            }
        }
        let mut sum = Measurements::default();
        for part in &parts {
            sum.add(part);
        }
        assert_eq!(sum.latency.summary(), whole.latency.summary());
        assert_eq!(sum.service.summary(), whole.service.summary());
        assert_eq!(sum.counters, whole.counters);
        assert_eq!(sum.send_lag.map(|h| h.len()), Some(2));
        assert!(sum.send_gaps.is_some_and(|h| h.is_empty()));
        // Per-name and per-flow parts merge by name, exactly.
        let mut a = Measurements::new(false);
        let mut b = Measurements::new(false);
        for (m, v) in [(&mut a, 100), (&mut b, 300)] {
            let login = m.by_name.entry("login".into()).or_default();
            login.latency.record_micros(v);
            login.counters.check_failed("status");
            let buy = m.flows.entry("buy".into()).or_default();
            buy.started += 2;
            buy.completed += 1;
            buy.duration.record_micros(v * 10);
        }
        b.by_name
            .entry("item".into())
            .or_default()
            .counters
            .requests_sent = 7;
        a.add(&b);
        assert_eq!(a.by_name["login"].latency.len(), 2);
        assert_eq!(a.by_name["login"].counters.failed_checks["status"], 2);
        assert_eq!(a.by_name["item"].counters.requests_sent, 7);
        assert_eq!((a.flows["buy"].started, a.flows["buy"].completed), (4, 2));
        assert_eq!(a.flows["buy"].duration.len(), 2);
        let mut cleared = whole.clone();
        cleared.clear(false);
        assert!(cleared.latency.is_empty() && cleared.service.is_empty());
        assert!(cleared.send_gaps.is_none() && cleared.send_lag.is_none());
        assert_eq!(cleared.counters, Counters::default());
        let mut whole = Measurements::default();
        whole.add_whole(&a);
        assert!(whole.by_name.is_empty() && whole.flows.is_empty());
        assert_eq!(whole.latency, a.latency);
        assert_eq!(whole.counters, a.counters);
        a.clear(false);
        assert!(a.by_name.is_empty() && a.flows.is_empty());
    }
}
