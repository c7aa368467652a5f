//! Electing one active orchestrator among several: the seam ([`Candidate`], [`Election`],
//! [`Standing`], [`Lease`]); the Kafka transport implements it, the in-process one has a single
//! orchestrator and refuses.
//!
//! Each leadership has a [`Lease`]: its epoch (one more than the previous leadership's, never
//! shared by two), the leader's node id and the URL of its API. A candidate watches its
//! [`Standing`]: standing by (knowing the current lease or not), leading with its own lease, or
//! deposed (it led and lost the leadership; final).

use std::any::Any;

use tokio::sync::watch;

/// Who stands for election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Candidates with the same cluster name (over the same transport) elect one leader.
    pub cluster: String,
    /// The candidate's node id.
    pub node_id: String,
    /// Where the candidate's API answers once it leads (standbys redirect there).
    pub api_url: String,
}

/// One leadership: its epoch and who holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Grows by one at every election; no two leaderships share one.
    pub epoch: u64,
    /// The leader's node id.
    pub node_id: String,
    /// The leader's API.
    pub api_url: String,
}

/// A candidate's standing in its election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Another candidate leads (its lease, when one is known), or nobody yet.
    Standby {
        /// The latest lease known: the current leader's, or the last one's while a new one is
        /// being elected.
        leader: Option<Lease>,
    },
    /// This candidate leads.
    Leader(Lease),
    /// This candidate led and lost the leadership (its session expired, say, while it was
    /// frozen); another may lead now. Final: the candidate must stop acting as the leader.
    Deposed(Lease),
}

/// A running election: the candidate's standing, kept current until the election is dropped
/// (which leaves it: another candidate takes over without waiting for a timeout). Dropping it
/// may block a few seconds while the group is left: drop it off the async workers.
pub struct Election {
    /// The standing, as the implementation updates it.
    standing: watch::Receiver<Standing>,
    /// What keeps the implementation's side running; dropped with the election.
    _running: Box<dyn Any + Send + Sync>,
}

impl Election {
    /// An election whose standing arrives on `standing`, kept running by `running`.
    pub fn new(standing: watch::Receiver<Standing>, running: Box<dyn Any + Send + Sync>) -> Self {
        Self {
            standing,
            _running: running,
        }
    }

    /// The candidate's standing, and its changes.
    pub fn standing(&self) -> watch::Receiver<Standing> {
        self.standing.clone()
    }
}

impl std::fmt::Debug for Election {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Election")
            .field("standing", &*self.standing.borrow())
            .finish_non_exhaustive()
    }
}
