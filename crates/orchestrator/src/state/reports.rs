//! What a test's reports and checkpoints are made of, and whether they are written.

use std::path::PathBuf;

use super::State;
use crate::report::{NodeParts, NodeReport, ReportParts, TestReport};
use crate::totals::Series;
use crate::views::TestStatus;

impl State {
    /// The reports of a test.
    pub fn reports(&self, id: &str) -> Option<(TestReport, Vec<NodeReport>)> {
        self.report_parts(id).map(ReportParts::build)
    }

    /// What the reports of a test are made of, to build elsewhere (not for a past test).
    pub fn report_parts(&self, id: &str) -> Option<ReportParts> {
        let test = self.test(id)?;
        if test.past.is_some() {
            return None;
        }
        let mut view = test.view_without_stats();
        let nodes = test
            .nodes
            .iter()
            .map(|(node_id, n)| NodeParts {
                node_id: node_id.clone(),
                measured: n.measured.clone(),
                facts: view.node_facts.remove(node_id).unwrap_or_default(),
                series: test
                    .node_series
                    .get(node_id)
                    .map(Series::points)
                    .unwrap_or_default(),
            })
            .collect();
        Some(ReportParts {
            test: view,
            aggregate: test.aggregate.get().cloned(),
            nodes,
        })
    }

    /// The parts of the reports of every running test that changed since its last checkpoint
    /// (the first checkpoint of a test is due when it starts running).
    pub fn checkpoint_parts(&mut self) -> Vec<ReportParts> {
        let due: Vec<String> = self
            .tests
            .iter_mut()
            .filter(|t| t.status == TestStatus::Running && t.past.is_none() && t.checkpoint_due)
            .map(|t| {
                t.checkpoint_due = false;
                t.id.clone()
            })
            .collect();
        due.iter().filter_map(|id| self.report_parts(id)).collect()
    }

    /// The aggregate report is on disk at `path`.
    pub fn set_report_path(&mut self, id: &str, path: PathBuf) {
        if let Some(test) = self.test_mut(id) {
            test.report_path = Some(path);
        }
    }

    /// The final report could not be written: the test is done without one.
    pub fn set_report_error(&mut self, id: &str, error: String) {
        if let Some(test) = self.test_mut(id) {
            test.report_error = Some(error);
        }
    }

    /// Where a test's report is.
    pub fn report_path(&self, id: &str) -> Option<PathBuf> {
        self.test(id)?.report_path.clone()
    }

    /// Whether a test is over with its reports written, or their writing failed (or the test
    /// failed before it ran): what a waiter needs, without building the test's view. `None` for
    /// an unknown test.
    pub fn is_done(&self, id: &str) -> Option<bool> {
        self.test(id).map(|t| {
            let status = t.past.as_ref().map_or(t.status, |p| p.status);
            status.is_final()
                && (t.report_path.is_some()
                    || t.report_error.is_some()
                    || status == TestStatus::Failed)
        })
    }
}
