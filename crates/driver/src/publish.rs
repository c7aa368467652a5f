//! Publishing that survives a broker outage: retry with backoff until accepted or shut down.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use protocol::{Message, encode};
use tokio_util::sync::CancellationToken;
use transport::Transport;

use crate::DriverStats;

/// Publishes `message`, retrying with exponential backoff (100 ms up to 5 s) until the
/// transport accepts it. Gives up only when `shutdown` fires; returns whether it was published.
pub async fn publish<M: Message>(
    transport: &Arc<dyn Transport>,
    key: &str,
    message: &M,
    stats: &DriverStats,
    shutdown: &CancellationToken,
) -> bool {
    let payload = Bytes::from(encode(message));
    let mut backoff = Duration::from_millis(100);
    loop {
        match transport.publish(M::TOPIC, key, payload.clone()).await {
            Ok(()) => return true,
            Err(e) => {
                stats.publish_retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(topic = %M::TOPIC, "publish failed, retrying in {backoff:?}: {e}");
                tokio::select! {
                    () = shutdown.cancelled() => return false,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
