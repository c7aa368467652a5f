//! [`CompileError`]: what is wrong in a scenario, and where in the document.

/// A part of the scenario that cannot run, named by its path in the test document
/// (`flows[0].steps[2].extract.token.json`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CompileError {
    /// Where, as a path into the document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl CompileError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}
