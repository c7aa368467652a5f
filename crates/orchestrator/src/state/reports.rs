//! What a test's reports and checkpoints are made of, and whether they are written.

use std::path::PathBuf;

use super::State;
use super::test::{Phase, Test};
use crate::export::Batch;
use crate::report::{NodeParts, NodeReport, ReportParts, TestReport};
use crate::totals::Series;

impl State {
    /// The reports of a test.
    pub fn reports(&self, id: &str) -> Option<(TestReport, Vec<NodeReport>)> {
        self.report_parts(id).map(ReportParts::build)
    }

    /// What the reports of a test are made of, to build elsewhere (not for a past test).
    pub fn report_parts(&self, id: &str) -> Option<ReportParts> {
        let test = self.live(id)?;
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
            accepted: test.plan.accepted(),
        })
    }

    /// The parts of the reports of every running test that changed since its last checkpoint
    /// (the first checkpoint of a test is due when it starts running).
    pub fn checkpoint_parts(&mut self) -> Vec<ReportParts> {
        let due: Vec<String> = self
            .tests
            .iter_mut()
            .filter_map(Test::live_mut)
            .filter_map(|t| match &mut t.phase {
                Phase::Running { checkpoint_due, .. } if *checkpoint_due => {
                    *checkpoint_due = false;
                    Some(t.id.clone())
                }
                _ => None,
            })
            .collect();
        due.iter().filter_map(|id| self.report_parts(id)).collect()
    }

    /// The seconds closed since the last call, of every running test (`all`: the orchestrator
    /// exports every test) or of those with an endpoint of their own: one export batch per test
    /// with any.
    pub fn export_closed(&mut self, all: bool) -> Vec<Batch> {
        let mut batches = Vec::new();
        for test in self.tests.iter_mut().filter_map(Test::live_mut) {
            let Phase::Running { started_at_ms, .. } = test.phase else {
                continue;
            };
            let to = test
                .plan
                .otlp_endpoint
                .as_ref()
                .and_then(|url| url.as_str().parse().ok());
            if !all && to.is_none() {
                continue;
            }
            let mut next = |key: Option<&String>, series: &Series| {
                let cursor = test.exported.entry(key.cloned()).or_default();
                let points = series.closed_from(*cursor);
                if let Some(last) = points.last() {
                    *cursor = last.second + 1;
                }
                points
            };
            let batch = Batch {
                test_id: test.id.clone(),
                test_type: test.plan.test_type().to_owned(),
                started_at_ms,
                test: next(None, &test.series),
                drivers: test
                    .node_series
                    .iter()
                    .map(|(node, series)| (node.clone(), next(Some(node), series)))
                    .collect(),
                to,
                ..Batch::default()
            };
            if !batch.is_empty() {
                batches.push(batch);
            }
        }
        batches
    }

    /// Whether test `id`'s plan names an OTLP endpoint of its own.
    pub fn exports_itself(&self, id: &str) -> bool {
        self.live(id)
            .is_some_and(|t| t.plan.otlp_endpoint.is_some())
    }

    /// Where a test's report is.
    pub fn report_path(&self, id: &str) -> Option<PathBuf> {
        self.test(id)?.report_path()
    }

    /// Whether a test is over with its reports written, or their writing failed (or the test
    /// failed before it ran): what a waiter needs, without building the test's view. `None` for
    /// an unknown test.
    pub fn is_done(&self, id: &str) -> Option<bool> {
        self.test(id).map(Test::is_done)
    }
}
