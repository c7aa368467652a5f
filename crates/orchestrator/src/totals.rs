//! Exact accumulation of interval metrics (`onslaught_stats::Measurements`): per node, per
//! test, and per second.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use onslaught_stats::{Counters, Histogram, Measurements};

use crate::report::Histograms;
use crate::views::{NamePoint, SeriesPoint, StatsView};

/// Totals as of their latest change, with what users read of them (the summaries, the encoded
/// histograms) computed at most once per change.
///
/// Cloning is cheap (three `Arc`s) and gives a consistent snapshot: a later [`Measured::add`]
/// copies the totals only if a snapshot still holds them, and starts fresh caches, so a snapshot
/// can be summarised and encoded on another thread (a checkpoint) while merging goes on; what it
/// computes lands in the caches of the state it was taken from, if nothing changed since.
#[derive(Clone, Debug, Default)]
pub struct Measured {
    /// Everything measured, merged.
    totals: Arc<Measurements>,
    /// End of the latest interval merged, ms since the node's start (the span of the rate).
    elapsed_ms: u64,
    /// The view of `totals`, once computed.
    stats: Arc<OnceLock<StatsView>>,
    /// The encoded histograms of `totals`, once computed.
    histograms: Arc<OnceLock<Histograms>>,
}

impl Measured {
    /// Adds one interval that ended `end_ms` after the node's start.
    pub fn add(&mut self, data: &Measurements, end_ms: u64) {
        Arc::make_mut(&mut self.totals).add(data);
        self.elapsed_ms = self.elapsed_ms.max(end_ms);
        self.stats = Arc::default();
        self.histograms = Arc::default();
    }

    /// The merge of `all` (the aggregate of a test's nodes, each with how many ms after the
    /// test's start time it started), spanning from the test's start to the latest end.
    /// A test of one node shares that node's totals (no copy: with a hundred request names
    /// a copy is tens of megabytes).
    pub fn sum<'a>(all: impl IntoIterator<Item = (&'a Measured, u64)>) -> Self {
        let mut all = all.into_iter();
        let Some(first) = all.next() else {
            return Self::default();
        };
        let Some(second) = all.next() else {
            let (only, offset_ms) = first;
            return Self {
                totals: Arc::clone(&only.totals),
                elapsed_ms: only.elapsed_ms.saturating_add(offset_ms),
                ..Self::default()
            };
        };
        let mut totals = Measurements::default();
        let mut elapsed_ms = 0;
        for (m, offset_ms) in [first, second].into_iter().chain(all) {
            totals.add(&m.totals);
            elapsed_ms = elapsed_ms.max(m.elapsed_ms.saturating_add(offset_ms));
        }
        Self {
            totals: Arc::new(totals),
            elapsed_ms,
            ..Self::default()
        }
    }

    /// Everything measured, merged.
    pub fn totals(&self) -> &Measurements {
        &self.totals
    }

    /// End of the latest interval merged, ms since the node's start.
    pub fn elapsed_ms(&self) -> u64 {
        self.elapsed_ms
    }

    /// What users read: counters, rate over the time measured, summaries.
    pub fn stats(&self) -> &StatsView {
        self.stats
            .get_or_init(|| StatsView::of(&self.totals, self.elapsed_ms as f64 / 1000.0))
    }

    /// The exact histograms, encoded for a report.
    pub fn histograms(&self) -> &Histograms {
        self.histograms.get_or_init(|| Histograms::of(&self.totals))
    }
}

/// Per-node bookkeeping inside a test.
#[derive(Clone, Debug, Default)]
pub struct NodeTotals {
    /// What the node measured.
    pub measured: Measured,
    /// Highest sequence number received.
    pub max_seq: u64,
    /// Messages received (distinct).
    pub received: u64,
    /// The final message arrived.
    pub finished: bool,
    /// When the node's run started, ms since the Unix epoch, as it reports it.
    pub started_at_ms: Option<u64>,
    /// The node was declared dead before finishing.
    pub lost: bool,
    /// When it was declared dead, ms since the Unix epoch.
    pub lost_at_ms: Option<u64>,
    /// Why the node ended its run early, from its final message.
    pub stopped: Option<String>,
    /// From its final message: µs from its run's start to its last send.
    pub last_send_us: Option<u64>,
    /// From its final message: µs from its run's start to the end of its last request.
    pub last_response_us: Option<u64>,
}

impl NodeTotals {
    /// Merges the node's message number `seq`, an interval that ended `end_ms` after its start.
    pub fn add(&mut self, data: &Measurements, seq: u64, end_ms: u64) {
        self.measured.add(data, end_ms);
        self.received += 1;
        self.max_seq = self.max_seq.max(seq);
    }

    /// Messages missing from the sequence (sent but never received).
    pub fn missing_messages(&self) -> u64 {
        self.max_seq.saturating_sub(self.received)
    }

    /// How many ms after the test's start time (`test_start_ms`) the node's run started, if
    /// it said when (negative: before, by clock skew).
    pub fn start_offset_ms(&self, test_start_ms: Option<u64>) -> Option<i64> {
        let started = i64::try_from(self.started_at_ms?).ok()?;
        let test = i64::try_from(test_start_ms?).ok()?;
        Some(started.saturating_sub(test))
    }
}

/// What a start offset shifts a node's intervals by on the test's clock (never backwards).
pub fn shift_ms(offset_ms: Option<i64>) -> u64 {
    offset_ms.map_or(0, |o| u64::try_from(o).unwrap_or(0))
}

/// One second of the aggregate, still open for late messages: what its point shows and no
/// more (the latency histogram and the counters; service times, send gaps and lags would cost
/// a histogram addition each per message and are never shown per second).
#[derive(Debug, Default)]
struct Bucket {
    /// Latencies of the second's intervals.
    latency: Histogram,
    /// Counters of the second's intervals.
    counters: Counters,
    /// Requests sent per node.
    nodes: BTreeMap<String, u64>,
    /// Per request name (the aggregate's series only).
    names: BTreeMap<String, NameBucket>,
    /// The second's point as of its latest change, once computed (by a view or a checkpoint
    /// while the second is open): closing it unchanged since takes it as it is.
    point: OnceCell<SeriesPoint>,
}

/// One request name's part of an open second: its counts, and its latencies as a sparse copy
/// of their histogram (bucket value -> count; exact, see `Histogram::recorded`): a name's
/// dense histogram takes tens of kilobytes, and 100 names times the open seconds would take
/// tens of megabytes, where a second's few distinct buckets take a few.
#[derive(Debug, Default)]
struct NameBucket {
    requests: u64,
    responses: u64,
    errors: u64,
    latency: BTreeMap<u64, u64>,
}

impl NameBucket {
    fn add(&mut self, part: &Measurements) {
        self.requests += part.counters.requests_sent;
        self.responses += part.counters.responses_received;
        self.errors += part.counters.error_count();
        for (value, count) in part.latency.recorded() {
            *self.latency.entry(value).or_default() += count;
        }
    }

    /// The second's numbers of this name (the histogram rebuilt for a moment, exactly).
    fn point(&self) -> NamePoint {
        let summary = (!self.latency.is_empty()).then(|| {
            let mut latency = onslaught_stats::Histogram::new();
            for (&value, &count) in &self.latency {
                latency.record_micros_n(value, count);
            }
            latency.summary()
        });
        NamePoint {
            requests: self.requests,
            responses: self.responses,
            errors: self.errors,
            p50: summary.map(|s| s.median),
            p90: summary.map(|s| s.p90),
            p95: summary.map(|s| s.p95),
            p99: summary.map(|s| s.p99),
            max: summary.map(|s| s.max),
        }
    }
}

/// A per-second time series (of a test's aggregate, or of one node). Seconds stay open (with a
/// full histogram) while messages for them can still arrive, then shrink to a [`SeriesPoint`],
/// so memory grows by a few dozen bytes per second of test (and per request name of the
/// aggregate's), not by a histogram.
#[derive(Debug)]
pub struct Series {
    open: BTreeMap<u64, Bucket>,
    closed: BTreeMap<u64, SeriesPoint>,
    /// Seconds behind the newest one that stay open.
    open_seconds: u64,
    /// Whether each second keeps its request names' parts (the aggregate's series).
    names: bool,
}

impl Default for Series {
    fn default() -> Self {
        Self::aggregate()
    }
}

/// The second that an interval belongs to: the one holding its midpoint.
pub fn second_of(start_ms: u64, end_ms: u64) -> u64 {
    (start_ms + end_ms.max(start_ms)) / 2 / 1000
}

impl Series {
    /// The series of a test's aggregate: messages from many nodes interleave, so three seconds
    /// behind the newest stay open.
    pub fn aggregate() -> Self {
        Self {
            open: BTreeMap::new(),
            closed: BTreeMap::new(),
            open_seconds: 3,
            names: true,
        }
    }

    /// The series of one node: its messages arrive in order, so one second behind the newest
    /// stays open (two histograms per node); the whole only, no request names.
    pub fn node() -> Self {
        Self {
            open_seconds: 1,
            names: false,
            ..Self::aggregate()
        }
    }

    /// Adds a node's interval that ran from `start_ms` to `end_ms` on the test's clock (ms
    /// since the test's start time). It counts in the second holding its midpoint: metrics
    /// intervals end on second boundaries, give or take a millisecond, so bucketing by the end
    /// would make seconds alternate.
    pub fn add(&mut self, node_id: &str, start_ms: u64, end_ms: u64, data: &Measurements) {
        let second = second_of(start_ms, end_ms);
        if let Some(point) = self.closed.get_mut(&second) {
            // Too late for the percentiles of its second; its counts still count.
            point.requests += data.counters.requests_sent;
            point.responses += data.counters.responses_received;
            point.errors += data.counters.error_count();
            if data.counters.user_ms > 0 {
                *point.users.get_or_insert(0.0) += data.counters.user_ms as f64 / 1000.0;
            }
            *point.nodes.entry(node_id.to_owned()).or_default() += data.counters.requests_sent;
            if self.names {
                for (name, part) in &data.by_name {
                    let named = point.by_name.entry(name.clone()).or_default();
                    named.requests += part.counters.requests_sent;
                    named.responses += part.counters.responses_received;
                    named.errors += part.counters.error_count();
                }
            }
            return;
        }
        let bucket = self.open.entry(second).or_default();
        bucket.point.take();
        // An open second keeps its names' latencies (sparse, a few seconds' worth); a closed
        // one their summaries.
        bucket.latency.add(&data.latency);
        bucket.counters.add(&data.counters);
        if self.names {
            for (name, part) in &data.by_name {
                bucket.names.entry(name.clone()).or_default().add(part);
            }
        }
        *bucket.nodes.entry(node_id.to_owned()).or_default() += data.counters.requests_sent;
        let newest = self.open.keys().next_back().copied().unwrap_or(0);
        while let Some((&first, _)) = self.open.first_key_value() {
            if first + self.open_seconds >= newest {
                break;
            }
            self.close(first);
        }
    }

    fn close(&mut self, second: u64) {
        if let Some(mut bucket) = self.open.remove(&second) {
            let point = bucket
                .point
                .take()
                .unwrap_or_else(|| point(second, &bucket));
            self.closed.insert(second, point);
        }
    }

    /// Closes every second (at the end of a test).
    pub fn close_all(&mut self) {
        let seconds: Vec<u64> = self.open.keys().copied().collect();
        for s in seconds {
            self.close(s);
        }
    }

    /// The closed seconds from `from` on, in order (what the export pushes as seconds close).
    pub fn closed_from(&self, from: u64) -> Vec<SeriesPoint> {
        self.closed.range(from..).map(|(_, p)| p.clone()).collect()
    }

    /// Every second so far, in order.
    pub fn points(&self) -> Vec<SeriesPoint> {
        let mut points: Vec<SeriesPoint> = self.closed.values().cloned().collect();
        points.extend(
            self.open
                .iter()
                .map(|(s, b)| b.point.get_or_init(|| point(*s, b)).clone()),
        );
        points.sort_by_key(|p| p.second);
        points
    }
}

fn point(second: u64, bucket: &Bucket) -> SeriesPoint {
    let counters = &bucket.counters;
    // No latency without responses. The numbers a summary would give, in one pass (a node's
    // second closes with nearly every message it sends).
    let latency = (!bucket.latency.is_empty()).then(|| {
        let ([p50, p90, p95, p99], mean) =
            bucket.latency.quantiles_and_mean([0.5, 0.9, 0.95, 0.99]);
        let ms = |micros: u64| micros as f64 / 1000.0;
        (
            [ms(p50), ms(p90), ms(p95), ms(p99)],
            ms(bucket.latency.max_micros()),
            mean / 1000.0,
        )
    });
    SeriesPoint {
        second,
        requests: counters.requests_sent,
        responses: counters.responses_received,
        errors: counters.error_count(),
        p50: latency.map(|(q, _, _)| q[0]),
        p90: latency.map(|(q, _, _)| q[1]),
        p95: latency.map(|(q, _, _)| q[2]),
        p99: latency.map(|(q, _, _)| q[3]),
        max: latency.map(|(_, max, _)| max),
        mean: latency.map(|(_, _, mean)| mean),
        users: (counters.user_ms > 0).then(|| counters.user_ms as f64 / 1000.0),
        nodes: bucket.nodes.clone(),
        by_name: bucket
            .names
            .iter()
            .map(|(name, part)| (name.clone(), part.point()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(requests: u64, latency_us: u64) -> Measurements {
        let mut latency = Histogram::new();
        for _ in 0..requests {
            latency.record_micros(latency_us);
        }
        let mut counters = Counters::default();
        counters.requests_sent = requests;
        counters.responses_received = requests;
        Measurements {
            service: latency.clone(),
            latency,
            send_gaps: None,
            send_lag: None,
            counters,
            ..Measurements::default()
        }
    }

    #[test]
    fn percentiles_are_merged_not_averaged() {
        // Node a: 99 fast requests; node b: 1 slow request. The average of node p99s would be
        // (1 + 100) / 2; the true p99 of the 100 requests is 1 ms, and the max is 100 ms.
        let mut totals = Measurements::default();
        totals.add(&data(99, 1_000));
        totals.add(&data(1, 100_000));
        let view = StatsView::of(&totals, 1.0);
        assert_eq!(view.latency.p99, 1.0);
        assert!(
            (view.latency.max - 100.0).abs() < 0.1,
            "max {}",
            view.latency.max
        );
        assert_eq!(view.counters.requests_sent, 100);
    }

    /// Send lags are merged exactly like latencies, into node totals and from them into the
    /// aggregate; an unscheduled test has none.
    #[test]
    fn send_lag_is_merged_per_node_and_into_the_aggregate() {
        let scheduled = |requests: u64, lag_us: u64| {
            let mut d = data(requests, 1_000);
            let mut lag = Histogram::new();
            for _ in 0..requests {
                lag.record_micros(lag_us);
            }
            d.send_lag = Some(lag);
            d
        };
        let (mut a, mut b) = (Measurements::default(), Measurements::default());
        a.add(&scheduled(99, 20));
        b.add(&scheduled(1, 5_000));
        let mut aggregate = Measurements::default();
        aggregate.add(&a);
        aggregate.add(&b);
        let lag = StatsView::of(&aggregate, 1.0).send_lag.unwrap();
        assert_eq!(lag.p99, 0.02);
        assert!((lag.max - 5.0).abs() < 0.01, "max {}", lag.max);
        assert!(
            StatsView::of(&Measurements::default(), 1.0)
                .send_lag
                .is_none()
        );
    }

    #[test]
    fn measured_caches_follow_every_change_and_snapshots_keep_theirs() {
        let mut node = NodeTotals::default();
        node.add(&data(10, 1_000), 1, 1_000);
        let snapshot = node.measured.clone();
        assert_eq!(snapshot.stats().counters.requests_sent, 10);
        assert_eq!(snapshot.stats().rps, 10.0);
        let first = node.measured.histograms().clone();
        // The snapshot's computation filled the node's cache: same change, same cells.
        assert!(std::ptr::eq(node.measured.stats(), snapshot.stats()));
        node.add(&data(30, 9_000), 2, 2_000);
        let stats = node.measured.stats();
        assert_eq!(stats.counters.requests_sent, 40);
        assert_eq!(stats.rps, 20.0);
        assert!(
            (stats.latency.max - 9.0).abs() < 0.01,
            "{}",
            stats.latency.max
        );
        assert_ne!(node.measured.histograms(), &first);
        // The snapshot still shows the totals as they were when it was taken.
        assert_eq!(snapshot.stats().counters.requests_sent, 10);
        assert_eq!(snapshot.histograms(), &first);
        assert_eq!(snapshot.elapsed_ms(), 1_000);
        assert_eq!((node.received, node.max_seq), (2, 2));
    }

    #[test]
    fn series_buckets_by_second_and_closes_old_seconds() {
        let mut series = Series::default();
        series.add("a", 0, 1000, &data(10, 2_000));
        series.add("b", 500, 1001, &data(5, 4_000));
        series.add("a", 1001, 2000, &data(7, 2_000));
        for s in 3..10 {
            series.add("a", s * 1000 - 1000, s * 1000, &data(1, 1_000));
        }
        assert!(series.open.len() <= 4);
        series.add("b", 0, 999, &data(3, 1_000)); // late for second 0
        let points = series.points();
        assert_eq!(points[0].second, 0);
        assert_eq!(points[0].requests, 18);
        assert_eq!(points[0].nodes["b"], 8);
        assert_eq!(points[1].requests, 7);
        assert_eq!(points.len(), 9);
    }

    /// A point computed while its second is open is the one the second closes with, unless a
    /// message came since; and it is what a summary of the second's latencies says.
    #[test]
    fn an_open_seconds_point_is_kept_until_the_second_changes() {
        let mut series = Series::node();
        series.add("a", 0, 1000, &data(10, 2_000));
        let early = series.points();
        assert!(series.open[&0].point.get().is_some());
        series.add("a", 0, 1000, &data(10, 9_000));
        assert!(series.open[&0].point.get().is_none());
        let both = series.points();
        assert_ne!(early, both);
        series.add("a", 5_000, 6_000, &data(1, 1_000));
        let closed = &series.points()[0];
        assert_eq!(closed, &both[0]);
        let mut whole = data(10, 2_000);
        whole.add(&data(10, 9_000));
        let summary = whole.latency.summary();
        assert_eq!(
            (closed.p50, closed.p99, closed.max, closed.mean),
            (
                Some(summary.median),
                Some(summary.p99),
                Some(summary.max),
                Some(summary.mean)
            )
        );
    }

    /// Per-second buckets keep the whole only: names would multiply their memory.
    #[test]
    fn an_aggregate_second_keeps_its_names_summaries_and_a_nodes_none() {
        let mut named = data(3, 1_000);
        named.by_name.insert("login".to_owned(), data(1, 2_000));
        named.by_name.insert("item".to_owned(), data(2, 1_000));
        named.flows.entry("buy".to_owned()).or_default().started = 1;
        let mut series = Series::aggregate();
        series.add("d1", 0, 1000, &named);
        let bucket = &series.open[&0];
        // An open second: the names' latencies (sparse), no flows, no dense names.
        assert_eq!(bucket.names.len(), 2);
        assert_eq!(bucket.names["item"].latency.len(), 1);
        assert_eq!(bucket.counters.requests_sent, 3);
        // Closed (four seconds later), it keeps each name's counts and percentiles only; a late
        // message still adds to the names' counts.
        series.add("d1", 4_000, 5_000, &data(1, 1_000));
        assert!(!series.open.contains_key(&0));
        series.add("d2", 0, 1000, &named);
        let point = &series.points()[0];
        assert_eq!(point.requests, 6);
        assert_eq!(point.by_name["login"].requests, 2);
        assert_eq!(point.by_name["item"].requests, 4);
        assert!((point.by_name["login"].p99.unwrap() - 2.0).abs() < 0.01);
        // A node's series keeps the whole only.
        let mut node = Series::node();
        node.add("d1", 0, 1000, &named);
        assert!(node.open[&0].names.is_empty());
        assert!(node.points()[0].by_name.is_empty());
    }
}
