//! Statistics for load tests: latency histograms, their summaries, and request counters.
//!
//! Latencies are recorded in whole microseconds into an [`Histogram`] (an HdrHistogram with three
//! significant digits). Histograms merge exactly by addition, so percentiles across drivers are
//! computed from the merged histogram and never averaged. Memory is fixed by the histogram's range,
//! not by the number of requests recorded.
//!
//! # Layout
//! - [`histogram`]: the microsecond histogram, its binary encoding and merging.
//! - [`summary`]: [`Summary`], the numbers users read (min, max, mean, median, mode, percentiles).
//! - [`counters`]: [`Counters`], requests, responses, errors by kind, status codes, bytes.
//! - [`measurements`]: [`Measurements`], the histograms and counters of a span of time with one
//!   exact `add` (an engine interval, a metrics message, a node's or a test's totals).
//!
//! `stats` knows nothing about HTTP, JSON, Kafka or async runtimes. [`Summary`] and
//! [`Counters`] derive `serde` and `schemars` so the wire, the API and the reports show them as
//! they are; the format is chosen at those edges.

pub mod counters;
pub mod histogram;
pub mod measurements;
pub mod summary;

pub use counters::{Counters, ErrorKind};
pub use histogram::{DecodeError, Histogram, SpectrumPoint};
pub use measurements::{Iterations, Measurements};
pub use summary::Summary;
