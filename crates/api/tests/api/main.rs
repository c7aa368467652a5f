//! The API over a real orchestrator, real drivers and the real built-in target: every route,
//! every refusal, auth and CORS, the event stream over a socket, metrics, and the OpenAPI
//! document against the router.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod contract;
mod dashboard;
mod documents;
mod errors;
mod events;
mod flow;
mod input;
mod limits;
mod load_change;
mod metrics;
mod openapi;
mod schema;
mod support;
