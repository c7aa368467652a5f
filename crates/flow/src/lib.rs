//! Scenarios: what virtual users do, as users write it and as the engine runs it.
//!
//! A test with flows has one or more [`spec::FlowSpec`]s, each a weighted list of steps (a
//! request with its extractions and checks, or a think time); variables live per virtual
//! user, data rows come from named datasets. The serde forms in [`spec`] are part of the
//! documented test request (JSON or YAML, the API, the CLI's plan files).
//!
//! # Layout
//! - [`spec`]: the serde/schemars forms users write.
//!
//! `flow` knows nothing of the protocol, the transport or async runtimes.

pub mod spec;
