//! The load engine: sends HTTP requests to one target and records what happens.
//!
//! A run has a [`LoadSpec`]: a mode, bounds (request count and/or duration), a number of
//! keep-alive connections, a per-request timeout and a request template. [`start`] spawns one
//! worker task per connection on the current tokio runtime and returns a [`RunHandle`]; the
//! caller drains interval statistics from the handle's [`Recorder`] as often as it likes and
//! awaits the run's end.
//!
//! - [`Mode::Avalanche`]: every worker sends its next request as soon as its previous response
//!   is complete (closed loop, first come first served).
//! - [`Mode::Scheduled`]: a pacer thread releases requests at absolute times
//!   `start + i * interval`; workers take them in order. Latency is measured from the intended
//!   send time (no coordinated omission); service time from the actual send is recorded too.
//!
//! A failed request (connect error, timeout, reset, 5xx) is counted by kind and never stops the
//! run. Memory is fixed: no per-request sample is kept.
//!
//! # Layout
//! - [`spec`]: [`LoadSpec`], [`Mode`], [`RequestTemplate`], validation of a URL into a target.
//! - [`recorder`]: [`Recorder`] and [`Interval`], the shared statistics sink.
//! - [`schedule`]: the pacer thread and precise sleeping.
//! - `connection`: TCP and TLS connections, HTTP/1.1 handshakes.
//! - `worker`: one connection's request loop.
//!
//! `engine` knows nothing of Kafka, JSON or the protocol.

mod connection;
pub mod recorder;
pub mod schedule;
pub mod spec;
mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use recorder::{Interval, Recorder};
pub use spec::{LoadSpec, Mode, RequestTemplate, SpecError};

/// A send that starts more than this after its intended time counts as late.
pub const LATE_TOLERANCE: Duration = Duration::from_millis(1);

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The target's host name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// Host name.
        host: String,
        /// Resolver error.
        reason: String,
    },
    /// The pacer thread could not start.
    #[error("cannot start the pacer thread: {0}")]
    Thread(std::io::Error),
    /// TLS could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// A running load test on this node.
pub struct RunHandle {
    /// Where workers record; drain it with [`Recorder::take`].
    pub recorder: Arc<Recorder>,
    /// When the run started (the schedule's origin).
    pub started: Instant,
    /// Worker tasks (and the pacer's join task).
    tasks: JoinSet<()>,
    /// Stops the run early.
    cancel: CancellationToken,
}

impl RunHandle {
    /// Stops sending; in-flight requests are abandoned and counted as aborted.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// A token that stops the run when cancelled.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Waits until every request has a response, an error, or was aborted.
    pub async fn finished(mut self) -> Duration {
        while self.tasks.join_next().await.is_some() {}
        self.started.elapsed()
    }
}

/// Starts a run on the current tokio runtime. `cancel` stops it early.
pub async fn start(spec: LoadSpec, cancel: CancellationToken) -> Result<RunHandle, EngineError> {
    let connector = connection::Connector::new(&spec).await?;
    let recorder = Arc::new(Recorder::new(matches!(spec.mode, Mode::Scheduled { .. })));
    let started = Instant::now();
    let deadline = spec.duration.map(|d| started + d);
    let spec = Arc::new(spec);
    let mut tasks = JoinSet::new();

    let jobs = match spec.mode {
        Mode::Avalanche => worker::Jobs::permits(spec.requests, deadline),
        Mode::Scheduled { interval } => {
            let (tx, rx) = async_channel::bounded(schedule::QUEUE_CAPACITY);
            let plan = schedule::Plan {
                origin: started,
                interval,
                count: spec.requests,
                deadline,
            };
            let pacer =
                schedule::spawn_pacer(plan, tx, cancel.clone()).map_err(EngineError::Thread)?;
            tasks.spawn_blocking(move || {
                let _ = pacer.join();
            });
            worker::Jobs::scheduled(rx)
        }
    };

    let worker_shared = Arc::new(worker::Shared {
        spec: Arc::clone(&spec),
        connector,
        recorder: Arc::clone(&recorder),
        jobs,
        cancel: cancel.clone(),
        next_connection: std::sync::atomic::AtomicUsize::new(0),
    });
    for _ in 0..spec.concurrency {
        tasks.spawn(worker::run(Arc::clone(&worker_shared)));
    }
    Ok(RunHandle {
        recorder,
        started,
        tasks,
        cancel,
    })
}
