//! The orchestrator's memory: drivers it has heard of, tests it knows, and how each incoming
//! message changes them. Everything here is synchronous and guarded by one lock in `lib.rs`.
//!
//! # Layout
//! - [`nodes`]: drivers, their liveness, and the one rule for "enough drivers".
//! - `test`: one test, its lifecycle (stop, failure, interruption) and its view.
//! - `start`: picking drivers, the acknowledgements of the config, and the start trigger.
//! - `load`: a running test's rate changed, at one instant for every driver.
//! - `takeover`: drivers of a test in total taking over the share of drivers that died.
//! - `merge`: how a metrics message is merged into a running test.
//! - `reports`: what the reports and checkpoints of a test are made of.
//! - `resume`: the consumer's position on `metrics`, where each running test's messages begin,
//!   and a test carried on after a restart.

mod load;
mod merge;
pub mod nodes;
mod reports;
mod resume;
mod start;
mod takeover;
mod test;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use onslaught_plan::TestPlan;

use crate::config::OrchestratorConfig;
use crate::report::TestReport;
use crate::views::TestView;

pub use load::{LOAD_CHANGE_LEAD_MS, MAX_LOAD_CHANGES};
pub use nodes::Node;
pub use start::Acks;
pub use takeover::MAX_TAKEOVERS;
use test::{LiveTest, Test};

/// Nodes and tests.
#[derive(Debug, Default)]
pub struct State {
    nodes: BTreeMap<String, Node>,
    tests: Vec<Test>,
    index: HashMap<String, usize>,
    /// Positions on the `metrics` topic, for resuming after a restart.
    replay: resume::Replay,
}

impl State {
    /// A state that shows `history` (reports of earlier runs) as past tests.
    pub fn with_history(history: Vec<TestReport>) -> Self {
        let mut state = Self::default();
        for report in history {
            state.push(Test::past(report.test));
        }
        state
    }

    fn push(&mut self, test: Test) {
        self.index.insert(test.id().to_owned(), self.tests.len());
        self.tests.push(test);
    }

    fn test_mut(&mut self, id: &str) -> Option<&mut Test> {
        let i = *self.index.get(id)?;
        self.tests.get_mut(i)
    }

    fn test(&self, id: &str) -> Option<&Test> {
        self.tests.get(*self.index.get(id)?)
    }

    /// A test this orchestrator created (not one loaded from a past report).
    fn live(&self, id: &str) -> Option<&LiveTest> {
        self.test(id)?.live()
    }

    /// A test this orchestrator created (not one loaded from a past report).
    fn live_mut(&mut self, id: &str) -> Option<&mut LiveTest> {
        self.test_mut(id)?.live_mut()
    }

    /// Records a new test.
    pub fn create(&mut self, id: &str, plan: TestPlan) {
        self.push(Test::Live(Box::new(LiveTest::new(id, plan))));
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
