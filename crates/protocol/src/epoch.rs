//! Leadership epochs: which orchestrator's commands a driver obeys.
//!
//! Orchestrators of one cluster elect an active one; each leadership has an epoch, a number that
//! grows by one at every election (`kafka` keeps it with the broker, fenced by the consumer
//! group's generation, so two leaderships never share one). The active orchestrator stamps its
//! epoch on every `test_config`, `trigger` and heartbeat it sends. A driver keeps a [`Fence`]:
//! the highest epoch it has seen; a command with a lower one comes from a deposed orchestrator
//! (one frozen or cut off while another took over) and is refused and counted, whatever it asks.
//!
//! A message without an epoch (an orchestrator that was not elected: `onslaught run`, or
//! `onslaught orchestrator` without `--cluster`) counts as epoch 0: obeyed by a driver that has
//! never seen an elected orchestrator, refused by one that has (a restarted driver forgets).

use crate::{TestConfig, Trigger};

/// A control message stamped with its sender's epoch.
pub trait Stamped {
    /// The sender's epoch, if it was elected.
    fn epoch(&self) -> Option<u64>;
    /// Stamps the message (before it is signed: the signature covers the epoch).
    fn set_epoch(&mut self, epoch: Option<u64>);
}

impl Stamped for TestConfig {
    fn epoch(&self) -> Option<u64> {
        self.epoch
    }
    fn set_epoch(&mut self, epoch: Option<u64>) {
        self.epoch = epoch;
    }
}

impl Stamped for Trigger {
    fn epoch(&self) -> Option<u64> {
        self.epoch
    }
    fn set_epoch(&mut self, epoch: Option<u64>) {
        self.epoch = epoch;
    }
}

/// The highest epoch a driver has seen, and the rule that refuses lower ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fence {
    /// Highest epoch seen so far; 0 before any elected orchestrator was heard.
    highest: u64,
}

/// Why a message was refused: it carries an epoch lower than one already seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stale epoch {epoch}: an orchestrator with epoch {highest} has taken over")]
pub struct StaleEpoch {
    /// The message's epoch (0 when it had none).
    pub epoch: u64,
    /// The highest epoch seen.
    pub highest: u64,
}

impl Fence {
    /// The highest epoch seen (0: none).
    pub fn highest(&self) -> u64 {
        self.highest
    }

    /// Whether a message stamped `epoch` may be obeyed, without raising the fence (for a
    /// message that cannot be trusted to raise it: an orchestrator's heartbeat whose signature
    /// was not checked).
    pub fn check(&self, epoch: Option<u64>) -> Result<(), StaleEpoch> {
        let epoch = epoch.unwrap_or(0);
        if epoch < self.highest {
            return Err(StaleEpoch {
                epoch,
                highest: self.highest,
            });
        }
        Ok(())
    }

    /// Admits a message stamped `epoch` (`None`: epoch 0) when it is at least the highest seen,
    /// which it then becomes; refuses it otherwise.
    pub fn admit(&mut self, epoch: Option<u64>) -> Result<(), StaleEpoch> {
        self.check(epoch)?;
        self.highest = epoch.unwrap_or(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstamped_messages_pass_until_an_elected_orchestrator_is_heard() {
        let mut fence = Fence::default();
        assert_eq!(fence.admit(None), Ok(()));
        assert_eq!(fence.admit(None), Ok(()));
        assert_eq!(fence.highest(), 0);
        assert_eq!(fence.admit(Some(1)), Ok(()));
        assert_eq!(
            fence.admit(None),
            Err(StaleEpoch {
                epoch: 0,
                highest: 1
            })
        );
    }

    #[test]
    fn a_higher_epoch_takes_over_and_the_lower_one_is_refused_from_then_on() {
        let mut fence = Fence::default();
        assert_eq!(fence.admit(Some(4)), Ok(()));
        assert_eq!(fence.admit(Some(4)), Ok(()), "the same leader, again");
        assert_eq!(fence.admit(Some(5)), Ok(()));
        assert_eq!(fence.highest(), 5);
        for _ in 0..3 {
            assert_eq!(
                fence.admit(Some(4)),
                Err(StaleEpoch {
                    epoch: 4,
                    highest: 5
                })
            );
        }
        assert_eq!(fence.highest(), 5, "a refused message changes nothing");
        assert_eq!(fence.admit(Some(5)), Ok(()));
    }

    #[test]
    fn a_check_refuses_like_admit_but_never_raises() {
        let mut fence = Fence::default();
        assert_eq!(fence.check(Some(9)), Ok(()));
        assert_eq!(fence.highest(), 0);
        assert_eq!(fence.admit(Some(3)), Ok(()));
        assert!(fence.check(Some(2)).is_err());
        assert!(fence.check(None).is_err());
        assert_eq!(fence.check(Some(3)), Ok(()));
    }

    #[test]
    fn epochs_may_skip_numbers() {
        // An election that failed half-way (its commit refused) leaves a gap.
        let mut fence = Fence::default();
        assert_eq!(fence.admit(Some(2)), Ok(()));
        assert_eq!(fence.admit(Some(9)), Ok(()));
        assert!(fence.admit(Some(8)).is_err());
    }

    #[test]
    fn the_epoch_is_on_the_wire_only_when_set_and_old_shapes_still_decode() {
        let mut trigger = Trigger {
            protocol_version: crate::PROTOCOL_VERSION,
            test_id: "t".into(),
            trigger: crate::TriggerAction::Start,
            start_at_ms: 0,
            rate: None,
            rate_total: None,
            users: None,
            users_total: None,
            effective_at_ms: None,
            drivers: Vec::new(),
            issued_at_ms: 1,
            epoch: None,
            signature: None,
        };
        assert!(!String::from_utf8_lossy(&crate::encode(&trigger)).contains("epoch"));
        trigger.set_epoch(Some(7));
        let decoded: Trigger = crate::decode(&crate::encode(&trigger)).unwrap();
        assert_eq!(decoded.epoch(), Some(7));
        // The assignment's shape, without epoch.
        let old: Trigger = crate::decode(br#"{"test_id":"t","trigger":"YES"}"#).unwrap();
        assert_eq!(old.epoch(), None);
    }

    #[test]
    fn the_signature_covers_the_epoch() {
        let signer = crate::Signer::new("s3cret");
        let mut trigger: Trigger = crate::decode(br#"{"test_id":"t","trigger":"STOP"}"#).unwrap();
        trigger.set_epoch(Some(3));
        signer.sign(&mut trigger);
        assert!(signer.verify(&trigger).is_ok());
        trigger.set_epoch(Some(4));
        assert!(
            signer.verify(&trigger).is_err(),
            "a raised epoch is a forgery"
        );
    }
}
