//! Test support shared by the workspace's integration tests. Not part of the product.
//!
//! # Layout
//! - [`broker`]: [`Broker`], a real single-node Apache Kafka broker from `scripts/kafka-broker.sh`.
//! - [`process`]: [`Child`], a child process killed on drop, and reading its announced address.
//! - [`http`]: [`http::request`], a minimal HTTP/1.1 client for JSON APIs on loopback.
//! - [`kcat`]: reading and producing records with kcat, outside the client under test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod broker;
pub mod http;
pub mod kcat;
pub mod process;

pub use broker::Broker;
pub use process::Child;
