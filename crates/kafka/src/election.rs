//! Leader election through Kafka itself: the candidates of a cluster are members of one consumer
//! group subscribed to a one-partition topic (`{prefix}leader`); the member the group assigns
//! that partition leads. No coordination service besides the broker.
//!
//! - Taking over: a leader that dies stops heartbeating to the group coordinator; once its
//!   session times out ([`SESSION_TIMEOUT`]) the group rebalances and a standby is assigned the
//!   partition. A leader that leaves cleanly (its election dropped) hands over at once.
//!   `cooperative-sticky` assignment keeps the partition where it is when candidates join, so a
//!   standby starting never deposes the leader.
//! - The epoch: the group's committed offset of the partition *is* the last leadership's epoch,
//!   with the lease (`node_id api_url`) as its metadata. A newly assigned member reads it and
//!   commits epoch + 1. The broker refuses a commit from an older group generation, so a member
//!   that was assigned the partition, froze, and was replaced cannot commit the same epoch as its
//!   successor: no two leaderships share an epoch. The topic itself never holds a message.
//! - Standing by: a standby reads the committed lease every [`REFRESH_EVERY`], so it knows whom
//!   to redirect to.
//! - Deposed: a leader whose partition is revoked or lost (its session expired while it was
//!   frozen or cut off) is deposed for good.
//!
//! The group's consumer lives on a thread of its own, polled every [`POLL_EVERY`]: rebalance
//! callbacks run there, and so do the blocking offset calls (each bounded by [`CALL_TIMEOUT`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use onslaught_transport::{Candidate, Election, Lease, Standing, TransportError};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::watch;

use crate::KafkaConfig;
use crate::context::Context;

/// How long a silent member stays in the group: the bound on a takeover after a leader dies
/// (plus a rebalance, about a heartbeat). Brokers accept 6 s and up by default
/// (`group.min.session.timeout.ms`); `--kafka-config session.timeout.ms=...` overrides it.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(6);
/// How often members tell the coordinator they are alive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// The consumer is polled this often (rebalance callbacks run in the poll).
const POLL_EVERY: Duration = Duration::from_millis(200);
/// A standby reads the current lease this often; a newly assigned leader whose commit failed
/// tries again this often.
const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// The bound on each blocking offset call.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Joins the election of `candidate.cluster` on the topic `topic` (which must exist). Returns
/// once the consumer is made and subscribed; the group is joined in the background.
pub(crate) fn elect(
    config: &KafkaConfig,
    topic: &str,
    candidate: Candidate,
) -> Result<Election, TransportError> {
    let group = format!("onslaught-{topic}-{}", candidate.cluster);
    let (events, received) = mpsc::channel();
    let consumer: BaseConsumer<ElectionContext> = config
        .election(&group, SESSION_TIMEOUT, HEARTBEAT_EVERY)
        .create_with_context(ElectionContext {
            topic: topic.to_owned(),
            events,
        })
        .map_err(|e| broker_error(topic, "creating the election's consumer", &e))?;
    consumer
        .subscribe(&[topic])
        .map_err(|e| broker_error(topic, "joining the election", &e))?;
    let (standing, watched) = watch::channel(Standing::Standby { leader: None });
    let stop = Arc::new(AtomicBool::new(false));
    let (left, gone) = mpsc::channel::<()>();
    let member = Member {
        consumer,
        topic: topic.to_owned(),
        candidate,
        events: received,
        standing,
        assigned: false,
        lease: None,
    };
    let stopping = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("leader-election".to_owned())
        .spawn(move || {
            member.run(&stopping);
            // The member (its consumer) is dropped by now: the group was left.
            let _ = left.send(());
        })
        .map_err(|e| TransportError::Broker(format!("starting the election's thread: {e}")))?;
    tracing::info!(group, topic, "standing for election");
    Ok(Election::new(
        watched,
        Box::new(Leave {
            stop,
            gone: std::sync::Mutex::new(gone),
        }),
    ))
}

/// Dropped with the [`Election`]: stops the member's thread, which then leaves the group, and
/// waits for that at most [`LEAVE_WITHIN`] (blocking: drop it off the async workers).
struct Leave {
    stop: Arc<AtomicBool>,
    /// Closed or sent on once the member's thread is done.
    gone: std::sync::Mutex<mpsc::Receiver<()>>,
}

/// How long dropping an election waits for the group to be left.
const LEAVE_WITHIN: Duration = Duration::from_secs(5);

impl Drop for Leave {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Ok(gone) = self.gone.lock() {
            let _ = gone.recv_timeout(LEAVE_WITHIN);
        }
    }
}

/// What a rebalance did to the election's partition.
#[derive(Debug)]
enum Event {
    /// This member owns it now.
    Assigned,
    /// This member no longer owns it (revoked in a rebalance, or lost with the session).
    Revoked,
}

/// The consumer's context: librdkafka's logs as every client's, and rebalances as [`Event`]s.
struct ElectionContext {
    /// The election's topic.
    topic: String,
    /// To the member's loop (same thread: callbacks run inside its poll).
    events: mpsc::Sender<Event>,
}

impl ClientContext for ElectionContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        Context.log(level, facility, message);
    }

    fn error(&self, error: RdKafkaError, reason: &str) {
        Context.error(error, reason);
    }
}

impl ConsumerContext for ElectionContext {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let ours = |tpl: &TopicPartitionList| {
            tpl.elements()
                .iter()
                .any(|e| e.topic() == self.topic && e.partition() == 0)
        };
        let event = match rebalance {
            Rebalance::Assign(tpl) if ours(tpl) => {
                // Nothing is ever read from the partition: no fetching.
                if let Err(error) = consumer.pause(tpl) {
                    tracing::debug!(%error, "cannot pause the election's partition");
                }
                Event::Assigned
            }
            Rebalance::Revoke(tpl) if ours(tpl) => Event::Revoked,
            Rebalance::Assign(_) | Rebalance::Revoke(_) => return,
            Rebalance::Error(error) => {
                tracing::warn!(%error, "election: rebalance failed");
                return;
            }
        };
        let _ = self.events.send(event);
    }
}

/// One candidate's side of the election, on its own thread.
struct Member {
    consumer: BaseConsumer<ElectionContext>,
    topic: String,
    candidate: Candidate,
    events: mpsc::Receiver<Event>,
    standing: watch::Sender<Standing>,
    /// The group assigned this member the partition.
    assigned: bool,
    /// This member's lease, once it committed one: it leads.
    lease: Option<Lease>,
}

impl Member {
    /// Polls until `stop` is set or the member is deposed, then leaves the group (closing the
    /// consumer sends the coordinator a leave, so a standby takes over without a timeout).
    fn run(mut self, stop: &AtomicBool) {
        let mut refreshed: Option<Instant> = None;
        while !stop.load(Ordering::Relaxed) {
            // A message would be a mistake (the topic holds none); errors are logged by the
            // context.
            let _ = self.consumer.poll(POLL_EVERY);
            while let Ok(event) = self.events.try_recv() {
                match event {
                    Event::Assigned => self.assigned = true,
                    Event::Revoked => {
                        self.assigned = false;
                        if let Some(lease) = self.lease.take() {
                            tracing::warn!(
                                epoch = lease.epoch,
                                "election: the leadership was revoked or lost"
                            );
                            self.standing.send_replace(Standing::Deposed(lease));
                            return;
                        }
                    }
                }
            }
            if self.lease.is_some() || refreshed.is_some_and(|t| t.elapsed() < REFRESH_EVERY) {
                continue;
            }
            refreshed = Some(Instant::now());
            if self.assigned {
                self.take_lease();
            } else {
                self.follow();
            }
        }
    }

    /// The partition of the election, for offset calls.
    fn partition(&self) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&self.topic, 0);
        tpl
    }

    /// The last committed lease, if any.
    fn current(&self) -> Result<Option<Lease>, RdKafkaError> {
        let committed = self
            .consumer
            .committed_offsets(self.partition(), CALL_TIMEOUT)?;
        Ok(committed.elements().first().and_then(|element| {
            match element.offset() {
                Offset::Offset(epoch) => u64::try_from(epoch).ok(),
                _ => None,
            }
            .map(|epoch| parse_lease(epoch, element.metadata()))
        }))
    }

    /// A standby: learns who leads.
    fn follow(&mut self) {
        match self.current() {
            Ok(leader) => {
                self.standing.send_if_modified(|standing| {
                    let next = Standing::Standby { leader };
                    let changed = *standing != next;
                    *standing = next;
                    changed
                });
            }
            Err(error) => tracing::debug!(%error, "election: cannot read the current lease"),
        }
    }

    /// Assigned the partition: commits the next epoch with this member's lease. The broker
    /// refuses the commit when the group moved on meanwhile (then a rebalance follows).
    fn take_lease(&mut self) {
        let previous = match self.current() {
            Ok(previous) => previous,
            Err(error) => {
                tracing::warn!(%error, "election: cannot read the last epoch; retrying");
                return;
            }
        };
        let lease = Lease {
            epoch: previous.as_ref().map_or(0, |l| l.epoch) + 1,
            node_id: self.candidate.node_id.clone(),
            api_url: self.candidate.api_url.clone(),
        };
        let mut tpl = TopicPartitionList::new();
        let committed = i64::try_from(lease.epoch)
            .map_err(|_| "epoch out of range".to_owned())
            .and_then(|epoch| {
                tpl.add_partition_offset(&self.topic, 0, Offset::Offset(epoch))
                    .map_err(|e| e.to_string())
            })
            .and_then(|()| {
                if let Some(element) = tpl.elements_for_topic(&self.topic).first_mut() {
                    element.set_metadata(format_lease(&lease));
                }
                self.consumer
                    .commit(&tpl, CommitMode::Sync)
                    .map_err(|e| e.to_string())
            });
        match committed {
            Ok(()) => {
                tracing::info!(
                    epoch = lease.epoch,
                    previous = previous.map(|l| l.node_id),
                    "election: this orchestrator leads"
                );
                self.lease = Some(lease.clone());
                self.standing.send_replace(Standing::Leader(lease));
            }
            Err(error) => {
                tracing::warn!(error, "election: cannot commit the new epoch; retrying");
            }
        }
    }
}

/// A lease as the committed offset's metadata: `node_id api_url`.
fn format_lease(lease: &Lease) -> String {
    format!("{} {}", lease.node_id, lease.api_url)
}

/// The lease of `epoch` from its metadata (what [`format_lease`] wrote; empty parts when it is
/// something else).
fn parse_lease(epoch: u64, metadata: &str) -> Lease {
    let mut parts = metadata.split_whitespace();
    Lease {
        epoch,
        node_id: parts.next().unwrap_or_default().to_owned(),
        api_url: parts.next().unwrap_or_default().to_owned(),
    }
}

fn broker_error(topic: &str, doing: &str, error: &RdKafkaError) -> TransportError {
    TransportError::Broker(format!("{topic}: {doing}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_survives_its_metadata() {
        let lease = Lease {
            epoch: 7,
            node_id: "orchestrator-a1".into(),
            api_url: "http://127.0.0.1:8080".into(),
        };
        assert_eq!(parse_lease(7, &format_lease(&lease)), lease);
        let foreign = parse_lease(3, "");
        assert_eq!((foreign.epoch, foreign.node_id.as_str()), (3, ""));
    }
}
