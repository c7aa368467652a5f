//! Encoding and decoding of messages, with a size limit and validation.

use serde::{Serialize, de::DeserializeOwned};

use crate::{PROTOCOL_VERSION, Topic};

/// Largest message accepted on any topic. A metrics message with two compressed histograms is a
/// few kilobytes; anything near this size is hostile or broken.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Why bytes could not be decoded into a message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The message is larger than [`MAX_MESSAGE_BYTES`].
    #[error("message of {size} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Size received.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// The bytes are not JSON of the message's shape.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The message comes from a newer protocol version.
    #[error("unsupported protocol version {0} (this build speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion(u32),
    /// A field has a value the protocol does not allow.
    #[error("invalid field `{field}`: {reason}")]
    Invalid {
        /// The field's name on the wire.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl DecodeError {
    /// A short stable name for counting rejections by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Malformed(_) => "malformed",
            DecodeError::UnsupportedVersion(_) => "unsupported_version",
            DecodeError::Invalid { .. } => "invalid",
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DecodeError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// A message that travels on one topic.
pub trait Message: Serialize + DeserializeOwned {
    /// The topic it travels on.
    const TOPIC: Topic;

    /// The protocol version the sender spoke.
    fn protocol_version(&self) -> u32;

    /// Checks the values serde cannot (non-empty ids, ranges, encodings).
    fn validate(&self) -> Result<(), DecodeError>;
}

/// Encodes a message as JSON.
pub fn encode<M: Message>(message: &M) -> Vec<u8> {
    // Every message type is plain data with string keys; serialization cannot fail.
    serde_json::to_vec(message).unwrap_or_default()
}

/// Decodes and validates a message, rejecting anything oversized, malformed, invalid or newer.
pub fn decode<M: Message>(bytes: &[u8]) -> Result<M, DecodeError> {
    let message: M = parse(bytes)?;
    message.validate()?;
    Ok(message)
}

/// Parses a message, rejecting anything oversized, malformed or newer, without
/// [`Message::validate`].
pub(crate) fn parse<M: Message>(bytes: &[u8]) -> Result<M, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let message: M =
        serde_json::from_slice(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    let version = message.protocol_version();
    if version == 0 || version > PROTOCOL_VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    Ok(message)
}

/// Checks an identifier (node id, test id, report id): non-empty, at most 128 printable
/// characters, no whitespace.
pub(crate) fn check_id(field: &'static str, id: &str) -> Result<(), DecodeError> {
    if id.is_empty() {
        return Err(DecodeError::invalid(field, "must not be empty"));
    }
    if id.len() > 128 {
        return Err(DecodeError::invalid(field, "longer than 128 bytes"));
    }
    if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DecodeError::invalid(
            field,
            "contains whitespace or control characters",
        ));
    }
    Ok(())
}
