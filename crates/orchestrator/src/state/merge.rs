//! Merging a metrics message into its running test.

use std::cell::OnceCell;
use std::time::Instant;

use onslaught_protocol::Metrics;
use onslaught_stats::Measurements;

use super::State;
use super::test::Phase;
use crate::stats::OrchestratorStats;
use crate::totals::{Series, second_of, shift_ms};

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
        test.aggregate = OnceCell::new();
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
