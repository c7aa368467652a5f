//! The live progress display of `onslaught run`: one bar per driver with its rate and p99. A
//! run bounded by a request count shows requests sent of the count; a run bounded only by time
//! shows the time gone of its duration.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use onslaught_orchestrator::{Orchestrator, TestView};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running display; drawn on stderr only when it is a terminal.
pub struct Progress {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Progress {
    /// Starts drawing the progress of `test`.
    pub fn start(orchestrator: Orchestrator, test: &TestView) -> Self {
        let stop = CancellationToken::new();
        let id = test.id.clone();
        let per_driver = test.config.requests_per_driver;
        let duration_ms = test.config.duration_ms.filter(|_| per_driver.is_none());
        let drivers = test.drivers.clone();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            let template = if duration_ms.is_some() {
                "{prefix:>10} {bar:30.cyan/blue} {msg}"
            } else {
                "{prefix:>10} {bar:30.cyan/blue} {pos:>9}/{len:9} {msg}"
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            let length = duration_ms.or(per_driver).unwrap_or(0);
            let bars: Vec<(String, ProgressBar)> = drivers
                .iter()
                .map(|d| {
                    let bar = multi.add(ProgressBar::new(length));
                    bar.set_style(style.clone());
                    bar.set_prefix(d.clone());
                    (d.clone(), bar)
                })
                .collect();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let Some(view) = orchestrator.test(&id) else {
                    break;
                };
                // Time since the synchronized start, the same for every driver.
                let gone_ms = view.started_at_ms.map_or(0, |start| {
                    onslaught_protocol::now_ms().saturating_sub(start)
                });
                for (driver, bar) in &bars {
                    if let Some(stats) = view.nodes.get(driver) {
                        let numbers = format!(
                            "{:>9.1} req/s  p99 {:>8.2} ms  errors {}",
                            stats.rps,
                            stats.latency.p99,
                            stats.counters.error_count()
                        );
                        match duration_ms {
                            Some(total_ms) => {
                                bar.set_position(gone_ms.min(total_ms));
                                bar.set_message(format!(
                                    "{:>6.1}s/{:.1}s  sent {:>9}  {numbers}",
                                    gone_ms.min(total_ms) as f64 / 1000.0,
                                    total_ms as f64 / 1000.0,
                                    stats.counters.requests_sent
                                ));
                            }
                            None => {
                                if per_driver.is_none() {
                                    bar.set_length(stats.counters.requests_sent.max(1));
                                }
                                bar.set_position(stats.counters.requests_sent);
                                bar.set_message(numbers);
                            }
                        }
                    }
                }
            }
            for (_, bar) in bars {
                bar.finish_and_clear();
            }
            let _ = multi.clear();
        });
        Self { stop, task }
    }

    /// Stops and clears the display.
    pub async fn finish(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}
