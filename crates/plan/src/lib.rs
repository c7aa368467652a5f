//! A load test's plan, from what users write to what runs.
//!
//! [`TestRequest`] is the documented JSON form (API body, the CLI's flags, report files, the
//! wire's `test_config.plan`); [`TestPlan`] is the same test as typed values (`http::Method`, a
//! parsed `url::Url`, the load model as [`Load`], `Duration`s, decoded body bytes, typed
//! headers). `TestPlan::try_from(TestRequest)` is the one validation, naming the field it
//! rejects; a plan writes itself back as a canonical `TestRequest` (`From<&TestPlan>`), and
//! serde goes through that form both ways.
//!
//! # Layout
//! - [`request`]: [`TestRequest`], its defaults, bounds and schema.
//! - [`change`]: [`LoadChangeRequest`] and [`NewLoad`], a running test's new rate
//!   ([`NewRate`]) or users ([`NewUsers`]), and how a
//!   [`Schedule`] takes it.
//! - [`document`]: a [`TestRequest`] from a JSON or YAML document, errors naming their path.
//! - [`plan`]: [`TestPlan`] and its parts, the validation, the way back.
//! - [`expect`]: [`ExpectStatus`], which response statuses count as success, and
//!   [`Accepted`], the same per request name of a test's flows.
//! - [`stages`]: [`Stages`], a rate curve (ramping arrival rate) or a users curve (ramping
//!   virtual users).
//! - [`threshold`]: [`Threshold`], a pass/fail rule in k6's expression style, parsed once.
//! - [`target`]: target URL rules.
//!
//! `plan` knows nothing of the protocol, the engine, HTTP serving or async.

pub mod change;
pub mod document;
pub mod expect;
pub mod plan;
pub mod request;
pub mod stages;
pub mod target;
pub mod threshold;

pub use change::{LoadChangeError, LoadChangeRequest, MAX_USERS_TOTAL, NewLoad, NewRate, NewUsers};
pub use document::{DocumentError, Syntax};
pub use expect::{Accepted, ExpectStatus};
pub use plan::{
    Body, Bound, Load, PlanHeader, Rate, Schedule, Split, TestPlan, Users, ValidationError,
};
pub use request::{Header, Stage, TestRequest};
pub use stages::{Ramp, Stages};
pub use target::{parse_url, valid_url};
pub use threshold::{Comparison, LatencyStat, Metric, Threshold};
