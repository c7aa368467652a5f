//! Signed control messages: `test_config` and `trigger` carry an HMAC-SHA256 of their content
//! under a secret shared by the orchestrator and the drivers, so write access to the topics alone
//! cannot start load.
//!
//! The signature covers the message's JSON encoding without its `signature` field. Encoding is
//! deterministic (fixed field order, shortest round-trip floats), so a receiver re-encodes what it
//! decoded and checks the MAC in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{Heartbeat, Message, TestConfig, Trigger, encode};

/// A control message that can carry a signature.
pub trait Signed: Message + Clone {
    /// The signature, if any.
    fn signature(&self) -> Option<&str>;
    /// Sets or clears the signature.
    fn set_signature(&mut self, signature: Option<String>);
}

impl Signed for TestConfig {
    fn signature(&self) -> Option<&str> {
        self.signature.as_deref()
    }
    fn set_signature(&mut self, signature: Option<String>) {
        self.signature = signature;
    }
}

/// An orchestrator's heartbeat carries its epoch, which drivers trust only when signed.
impl Signed for Heartbeat {
    fn signature(&self) -> Option<&str> {
        self.signature.as_deref()
    }
    fn set_signature(&mut self, signature: Option<String>) {
        self.signature = signature;
    }
}

impl Signed for Trigger {
    fn signature(&self) -> Option<&str> {
        self.signature.as_deref()
    }
    fn set_signature(&mut self, signature: Option<String>) {
        self.signature = signature;
    }
}

/// Why a control message was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The message carries no signature.
    #[error("unsigned control message")]
    Unsigned,
    /// The signature does not match the content under our secret.
    #[error("forged or corrupted control message (bad signature)")]
    Forged,
}

impl SignatureError {
    /// A short stable name for counting.
    pub fn kind(self) -> &'static str {
        match self {
            SignatureError::Unsigned => "unsigned",
            SignatureError::Forged => "forged",
        }
    }
}

/// Signs and verifies control messages with a shared secret.
#[derive(Clone)]
pub struct Signer {
    /// The shared secret (never printed).
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<secret>)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl Signer {
    /// A signer for `secret`.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self {
            key: secret.as_ref().to_vec(),
        }
    }

    fn mac<M: Signed>(&self, message: &M) -> HmacSha256 {
        let mut unsigned = message.clone();
        unsigned.set_signature(None);
        // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| {
            HmacSha256::new_from_slice(b"onslaught")
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
        });
        mac.update(M::TOPIC.name().as_bytes());
        mac.update(&encode(&unsigned));
        mac
    }

    /// Signs `message` in place.
    pub fn sign<M: Signed>(&self, message: &mut M) {
        let tag = self.mac(message).finalize().into_bytes();
        message.set_signature(Some(STANDARD.encode(tag)));
    }

    /// Checks `message`'s signature.
    pub fn verify<M: Signed>(&self, message: &M) -> Result<(), SignatureError> {
        let signature = message.signature().ok_or(SignatureError::Unsigned)?;
        let tag = STANDARD
            .decode(signature)
            .map_err(|_| SignatureError::Forged)?;
        self.mac(message)
            .verify_slice(&tag)
            .map_err(|_| SignatureError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TriggerAction, decode};

    fn trigger() -> Trigger {
        Trigger {
            protocol_version: 1,
            test_id: "t1".into(),
            trigger: TriggerAction::Start,
            start_at_ms: 5,
            rate: None,
            rate_total: None,
            users: None,
            users_total: None,
            effective_at_ms: None,
            drivers: Vec::new(),
            issued_at_ms: 4,
            epoch: None,
            signature: None,
        }
    }

    #[test]
    fn signed_messages_verify_after_a_round_trip() {
        let signer = Signer::new("s3cret");
        let mut t = trigger();
        signer.sign(&mut t);
        let back: Trigger = decode(&encode(&t)).unwrap();
        assert_eq!(signer.verify(&back), Ok(()));
    }

    #[test]
    fn unsigned_forged_and_other_key_messages_are_refused() {
        let signer = Signer::new("s3cret");
        assert_eq!(signer.verify(&trigger()), Err(SignatureError::Unsigned));
        let mut t = trigger();
        signer.sign(&mut t);
        let mut changed = t.clone();
        changed.test_id = "t2".into();
        assert_eq!(signer.verify(&changed), Err(SignatureError::Forged));
        assert_eq!(Signer::new("other").verify(&t), Err(SignatureError::Forged));
        let mut garbage = t.clone();
        garbage.signature = Some("!!".into());
        assert_eq!(signer.verify(&garbage), Err(SignatureError::Forged));
        assert!(!format!("{signer:?}").contains("s3cret"));
    }
}
