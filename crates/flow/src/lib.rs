//! Scenarios: what virtual users do, as users write it and as the engine runs it.
//!
//! A test with flows has one or more [`spec::FlowSpec`]s, each a weighted list of steps (a
//! request with its extractions and checks, or a think time); variables live per virtual
//! user, data rows come from named datasets. The serde forms in [`spec`] are part of the
//! documented test request (JSON or YAML, the API, the CLI's plan files).
//! [`Scenario::compile`] turns them, once, into what the engine runs: templates compiled with
//! minijinja (text without `{{` stays a literal), JSONPath (RFC 9535) and regex extraction,
//! checks, think times, request names (at most `max_names`, the rest under [`OTHER`]), and
//! errors that name their path in the document ([`CompileError`]).
//!
//! # Layout
//! - [`spec`]: the serde/schemars forms users write.
//! - [`scenario`]: [`Scenario`] (compiled flows, steps, rendering, judging) and [`Vu`], what a
//!   virtual user keeps.
//! - [`template`]: minijinja templates, the functions and variables they see.
//! - [`extract`]: variables from responses (JSONPath, regex, header, status).
//! - [`check`]: checks, expected statuses, think times.
//! - [`data`]: datasets and per-driver cursors (sequential, random, shard).
//! - [`error`]: [`CompileError`], a path and a message.
//!
//! `flow` knows nothing of the protocol, the transport or async runtimes.

pub mod check;
pub mod data;
pub mod error;
pub mod extract;
pub mod scenario;
pub mod spec;
pub mod template;

pub use check::StatusSet;
pub use error::CompileError;
pub use scenario::{OTHER, Scenario, ScenarioSpec, Step, Vu};
