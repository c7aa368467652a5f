//! Everything measured over a span of time, with one exact `add`.

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
    /// Requests, responses, errors, status codes, bytes.
    pub counters: Counters,
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
    }

    /// Adds `other` into these measurements (exact).
    pub fn add(&mut self, other: &Measurements) {
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
        let mut cleared = whole.clone();
        cleared.clear(false);
        assert!(cleared.latency.is_empty() && cleared.service.is_empty());
        assert!(cleared.send_gaps.is_none() && cleared.send_lag.is_none());
        assert_eq!(cleared.counters, Counters::default());
    }
}
