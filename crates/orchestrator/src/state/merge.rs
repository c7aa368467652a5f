//! Merging a metrics message into its running test.

use std::cell::OnceCell;
use std::time::Instant;

use onslaught_protocol::Metrics;
use onslaught_protocol::wire_stats::MAX_NAMES;
use onslaught_stats::Measurements;

use super::State;
use super::test::Phase;
use crate::stats::OrchestratorStats;
use crate::totals::{Series, second_of, shift_ms};

/// The name that request names past [`MAX_NAMES`] per node count under.
pub const OTHER_NAMES: &str = "other";

/// `data` with the request names (and flows) that would take a node's `totals` past
/// [`MAX_NAMES`] distinct ones folded into [`OTHER_NAMES`]; `None` when nothing needs folding.
/// Drivers already fold past the plan's limit: this bounds what a faulty one makes the
/// orchestrator keep.
fn fold_names(totals: &Measurements, data: &Measurements) -> Option<Measurements> {
    let new_names = data
        .by_name
        .keys()
        .filter(|n| !totals.by_name.contains_key(*n))
        .count();
    let new_flows = data
        .flows
        .keys()
        .filter(|n| !totals.flows.contains_key(*n))
        .count();
    if totals.by_name.len() + new_names <= MAX_NAMES && totals.flows.len() + new_flows <= MAX_NAMES
    {
        return None;
    }
    let mut folded = Measurements {
        by_name: Default::default(),
        flows: Default::default(),
        ..data.clone()
    };
    // Room for the names kept and for `other`.
    let mut room = MAX_NAMES.saturating_sub(totals.by_name.len() + 1);
    for (name, part) in &data.by_name {
        let keep = totals.by_name.contains_key(name) || {
            let fits = room > 0;
            room = room.saturating_sub(1);
            fits
        };
        let name = if keep { name.as_str() } else { OTHER_NAMES };
        folded.by_name.entry(name.to_owned()).or_default().add(part);
    }
    let mut room = MAX_NAMES.saturating_sub(totals.flows.len() + 1);
    for (name, flow) in &data.flows {
        let keep = totals.flows.contains_key(name) || {
            let fits = room > 0;
            room = room.saturating_sub(1);
            fits
        };
        let name = if keep { name.as_str() } else { OTHER_NAMES };
        folded.flows.entry(name.to_owned()).or_default().add(flow);
    }
    Some(folded)
}

impl State {
    /// Merges a metrics message. Returns the id of a test that just completed, or why the
    /// message was skipped.
    pub fn metrics(
        &mut self,
        m: &Metrics,
        data: &Measurements,
        stats: &OrchestratorStats,
    ) -> Result<Option<String>, &'static str> {
        if let Some(node) = self.nodes.get_mut(&m.node_id) {
            node.last_seen = Instant::now();
        }
        let test = self.test_mut(&m.test_id).ok_or("unknown_test")?;
        let Some(test) = test.live_mut() else {
            return Err("test_not_running");
        };
        let Phase::Running {
            started_at_ms,
            checkpoint_due,
            ..
        } = &mut test.phase
        else {
            return Err("test_not_running");
        };
        if !test.seen.insert(m.report_id.clone()) {
            stats
                .duplicates
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err("duplicate");
        }
        let Some(node) = test.nodes.get_mut(&m.node_id) else {
            return Err("unknown_node");
        };
        stats
            .metrics_messages
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Dropped before the node's totals change: a test of one node shares them with its
        // aggregate, and adding while the aggregate still held them would copy them.
        test.aggregate = OnceCell::new();
        let folded = fold_names(node.measured.totals(), data);
        let data = folded.as_ref().unwrap_or(data);
        node.add(data, m.seq, m.interval_end_ms);
        if node.started_at_ms.is_none() {
            node.started_at_ms = m.started_at_ms;
        }
        // Every node's intervals go on the test's clock: a node that started late counts in
        // later seconds.
        let shift = shift_ms(node.start_offset_ms(Some(*started_at_ms)));
        let (start_ms, end_ms) = (
            m.interval_start_ms.saturating_add(shift),
            m.interval_end_ms.saturating_add(shift),
        );
        if m.is_final {
            node.finished = true;
            node.stopped.clone_from(&m.stopped);
            node.last_send_us = m.last_send_us;
            node.last_response_us = m.last_response_us;
        }
        *checkpoint_due = true;
        if m.sent_at_ms > 0 {
            test.last_metrics_sent_at_ms = test.last_metrics_sent_at_ms.max(Some(m.sent_at_ms));
        }
        test.series.add(&m.node_id, start_ms, end_ms, data);
        if let Some(recent) = &mut test.recent {
            recent.add(second_of(start_ms, end_ms), data);
        }
        test.node_series
            .entry(m.node_id.clone())
            .or_insert_with(Series::node)
            .add(&m.node_id, start_ms, end_ms, data);
        let completed = test.complete_if_done().then(|| test.id.clone());
        if m.is_final {
            self.finished_with(&m.node_id, &m.test_id);
        }
        Ok(completed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn names(range: std::ops::Range<usize>) -> Measurements {
        let mut m = Measurements::default();
        for i in range {
            let part = m.by_name.entry(format!("n{i}")).or_default();
            part.counters.requests_sent = 1;
            m.flows.entry(format!("f{i}")).or_default().started = 1;
        }
        m
    }

    /// A node never makes the orchestrator keep more than `MAX_NAMES` names: the rest count
    /// under `other`, nothing is lost.
    #[test]
    fn names_past_the_limit_fold_into_other() {
        let mut totals = names(0..MAX_NAMES - 10);
        assert!(fold_names(&totals, &names(0..MAX_NAMES - 10)).is_none());
        let data = names(MAX_NAMES - 20..MAX_NAMES + 20);
        let folded = fold_names(&totals, &data).unwrap();
        totals.add(&folded);
        assert_eq!(totals.by_name.len(), MAX_NAMES);
        assert_eq!(totals.flows.len(), MAX_NAMES);
        let sent: u64 = totals
            .by_name
            .values()
            .map(|p| p.counters.requests_sent)
            .sum();
        assert_eq!(sent, (MAX_NAMES - 10 + 40) as u64);
        // 10 known names, 9 new ones fit beside `other`, 21 fold into it.
        assert_eq!(totals.by_name[OTHER_NAMES].counters.requests_sent, 21);
        let started: u64 = totals.flows.values().map(|f| f.started).sum();
        assert_eq!(started, (MAX_NAMES - 10 + 40) as u64);
        // Once full, known names still count as themselves.
        let again = fold_names(&totals, &names(0..3)).is_none();
        assert!(again);
    }
}
