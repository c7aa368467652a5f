//! Why an operation on a test was refused: [`ControlError`], and [`DriverShortage`], the one
//! answer to "are there enough drivers".

use onslaught_transport::TransportError;

/// Why an operation on a test was refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No test has this id.
    #[error("no test with id `{0}`")]
    NotFound(String),
    /// The test cannot do this now (already started, no live drivers, ...).
    #[error("{0}")]
    Conflict(String),
    /// Not enough drivers are live and free for the test.
    #[error(transparent)]
    Drivers(#[from] DriverShortage),
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// A value given for the operation is out of bounds (a new rate, in the test's split).
    #[error(transparent)]
    Invalid(#[from] onslaught_plan::ValidationError),
}

/// Why a test cannot have the drivers it asks for now (an answer of 409 in the API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DriverShortage {
    /// No driver is alive.
    #[error("no live drivers are available to run the test")]
    NoneLive,
    /// Every live driver runs another test.
    #[error("no driver is free: all {busy} live driver(s) are busy with another test")]
    AllBusy {
        /// Live drivers busy with another test.
        busy: usize,
    },
    /// Fewer live idle drivers than the test asks for.
    #[error(
        "the test asks for {wanted} drivers but {idle} are live and idle ({busy} busy with another test)"
    )]
    TooFew {
        /// Drivers the test asks for.
        wanted: usize,
        /// Live drivers free to run it.
        idle: usize,
        /// Live drivers busy with another test.
        busy: usize,
    },
}
