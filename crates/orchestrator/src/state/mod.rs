//! The orchestrator's memory: drivers it has heard of, tests it knows, and how each incoming
//! message changes them. Everything here is synchronous and guarded by one lock in `lib.rs`.
//!
//! # Layout
//! - [`nodes`]: drivers, their liveness, and the one rule for "enough drivers".
//! - `test`: one test, its lifecycle (stop, failure, interruption) and its view.
//! - `start`: picking drivers, the acknowledgements of the config, and the start trigger.
//! - `merge`: how a metrics message is merged into a running test.
//! - `reports`: what the reports and checkpoints of a test are made of.

mod merge;
pub mod nodes;
mod reports;
mod start;
mod test;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::config::OrchestratorConfig;
use crate::report::TestReport;
use crate::request::TestRequest;
use crate::views::{TestStatus, TestView};

pub use nodes::Node;
pub use start::Acks;
use test::Test;

/// Nodes and tests.
#[derive(Debug, Default)]
pub struct State {
    nodes: BTreeMap<String, Node>,
    tests: Vec<Test>,
    index: HashMap<String, usize>,
}

impl State {
    /// A state that shows `history` (reports of earlier runs) as past tests.
    pub fn with_history(history: Vec<TestReport>) -> Self {
        let mut state = Self::default();
        for report in history {
            let mut view = report.test;
            if !view.status.is_final() {
                view.status = TestStatus::Interrupted;
            }
            let mut test = Test::new(&view.id, view.config.clone());
            test.status = view.status;
            test.created_at_ms = view.created_at_ms;
            test.report_path = view.report_path.as_ref().map(PathBuf::from);
            test.past = Some(Box::new(view));
            state.push(test);
        }
        state
    }

    fn push(&mut self, test: Test) {
        self.index.insert(test.id.clone(), self.tests.len());
        self.tests.push(test);
    }

    fn test_mut(&mut self, id: &str) -> Option<&mut Test> {
        let i = *self.index.get(id)?;
        self.tests.get_mut(i)
    }

    fn test(&self, id: &str) -> Option<&Test> {
        self.tests.get(*self.index.get(id)?)
    }

    /// Records a new test.
    pub fn create(&mut self, id: &str, request: TestRequest) {
        self.push(Test::new(id, request));
    }

    /// One test's view.
    pub fn view(&self, id: &str, _config: &OrchestratorConfig) -> Option<TestView> {
        self.test(id).map(Test::view)
    }

    /// Tests newest first, paged, and the total.
    pub fn views(
        &self,
        offset: usize,
        limit: usize,
        _config: &OrchestratorConfig,
    ) -> (Vec<TestView>, usize) {
        let views = self
            .tests
            .iter()
            .rev()
            .skip(offset)
            .take(limit)
            .map(Test::view)
            .collect();
        (views, self.tests.len())
    }
}
