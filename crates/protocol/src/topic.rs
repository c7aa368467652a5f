//! The five topics of the system.

/// A topic of the mission's protocol. Names are exact; deployments may add a prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// Drivers announce themselves to the orchestrator.
    Register,
    /// The orchestrator sends a test's configuration to every driver.
    TestConfig,
    /// The orchestrator starts (or stops) a configured test.
    Trigger,
    /// Drivers publish their interval statistics.
    Metrics,
    /// Every node publishes its liveness and state.
    Heartbeat,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 5] = [
        Topic::Register,
        Topic::TestConfig,
        Topic::Trigger,
        Topic::Metrics,
        Topic::Heartbeat,
    ];

    /// The topic's name on the broker.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Register => "register",
            Topic::TestConfig => "test_config",
            Topic::Trigger => "trigger",
            Topic::Metrics => "metrics",
            Topic::Heartbeat => "heartbeat",
        }
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
