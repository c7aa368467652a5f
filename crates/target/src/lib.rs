//! A fast built-in HTTP/1.1 server to load-test against, which misbehaves on demand.
//!
//! [`Target`] answers `/ping` with `{"message":"pong"}`, `/metrics` with a
//! [`MetricsSnapshot`] in JSON, and every other path with a 404, except the routes of user
//! flows: `POST /login` (a token and a `session` cookie for [`Accounts`]), `GET /items/{id}`
//! (needs the token), `GET /cart` (needs the cookie) and `/echo`. It can add latency, stall
//! periodically, answer errors, close connections or reset them: server-wide through
//! [`TargetConfig`], and per request through query parameters on any route but `/metrics`
//! (`latency=10ms` or `latency=5ms..50ms`, `status=503`, `error_ratio=0.2`,
//! `error_status=502`, `close=1`, `reset=1`, `stall_every=1s&stall_for=200ms`). A query
//! parameter overrides its config field; an invalid one gets a 400.
//!
//! With [`TargetConfig::latency_per_in_flight`] `K` and a fixed latency `L`, each request waits
//! `L + K x n` for the `n` requests in flight when it arrives; under an open load of `R`
//! requests per second that settles at `L / (1 - K R)` (Little's law), so the highest rate
//! whose p99 stays under `T` is `(1 - L / T) / K`.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use onslaught_target::{Target, TargetConfig};
//!
//! let listener = onslaught_target::listen("127.0.0.1:8080".parse().expect("an address"))?;
//! let target = Target::new(TargetConfig::default());
//! target.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! # Layout
//!
//! - `config`: [`TargetConfig`] and its parts ([`Latency`], [`Stall`]), parsed from text.
//! - `accounts`: who may log in ([`Accounts`]), a list read from CSV ([`AccountList`]).
//! - `sessions`: HMAC-signed tokens and the counts of logins and authenticated requests.
//! - `faults`: the misbehaviour of one request (config overridden by query) and its draws.
//! - `metrics`: atomic counters and their serializable [`MetricsSnapshot`].
//! - `handler`: one request to one response (or a reset); counts requests in flight.
//! - `flows`: the answers of `/login`, `/items/{id}`, `/cart` and `/echo`.
//! - `server`: [`Target`], the accept loop and the per-connection tasks; [`listen`] binds with
//!   the system's largest listen backlog.
//!
//! Nothing here parses command-line flags: the binary crate does, and builds a
//! [`TargetConfig`].

mod accounts;
mod config;
mod faults;
mod flows;
mod handler;
mod metrics;
mod server;
mod sessions;

pub use accounts::{AccountList, Accounts, AccountsError, DEFAULT_PASSWORD, MAX_ACCOUNTS};
pub use config::{DEFAULT_ITEMS, Latency, ParseError, Stall, TargetConfig};
pub use metrics::{MetricsSnapshot, RouteSnapshot, RoutesSnapshot};
pub use server::{Target, listen, max_backlog};
pub use sessions::{AccountSnapshot, SessionsSnapshot};
