//! Support for the Kafka tests: logging, and the real broker from `testkit`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub use onslaught_testkit::Broker;

/// Sends `tracing` (librdkafka's logs included) to the test output; `RUST_LOG` filters,
/// warnings by default.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
