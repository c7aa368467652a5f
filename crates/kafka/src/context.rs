//! [`Context`]: librdkafka's log lines and global errors, sent to `tracing`.

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError as RdKafkaError, RDKafkaErrorCode};

/// The context of every client this crate makes.
///
/// librdkafka reconnects by itself, so the errors it logs (a refused connection, a failed
/// authentication) become warnings. Its error events repeat those log lines (and rdkafka
/// hands a producer's twice), so only fatal ones are recorded above debug level.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Context;

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
                tracing::error!(target: "librdkafka", facility, "{message}");
            }
            RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", facility, "{message}");
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", facility, "{message}");
            }
            RDKafkaLogLevel::Debug => {
                tracing::debug!(target: "librdkafka", facility, "{message}");
            }
        }
    }

    fn error(&self, error: RdKafkaError, reason: &str) {
        if is_fatal(&error) {
            tracing::error!(target: "librdkafka", %error, "fatal: {reason}");
        } else {
            tracing::debug!(target: "librdkafka", %error, "{reason}");
        }
    }
}

impl ConsumerContext for Context {}

/// Whether `error` leaves the client unusable.
pub(crate) fn is_fatal(error: &RdKafkaError) -> bool {
    matches!(error, RdKafkaError::MessageConsumptionFatal(_))
        || error.rdkafka_error_code() == Some(RDKafkaErrorCode::Fatal)
}
