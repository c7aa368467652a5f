//! The live progress display of `onslaught run`: one bar per driver with its rate and p99.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use orchestrator::{Orchestrator, TestView};
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
        let drivers = test.drivers.clone();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            let style = ProgressStyle::with_template(
                "{prefix:>10} {bar:30.cyan/blue} {pos:>9}/{len:9} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            let bars: Vec<(String, ProgressBar)> = drivers
                .iter()
                .map(|d| {
                    let bar = multi.add(ProgressBar::new(per_driver.unwrap_or(0)));
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
                for (driver, bar) in &bars {
                    if let Some(stats) = view.nodes.get(driver) {
                        if per_driver.is_none() {
                            bar.set_length(stats.requests_sent.max(1));
                        }
                        bar.set_position(stats.requests_sent);
                        bar.set_message(format!(
                            "{:>9.1} req/s  p99 {:>8.2} ms  errors {}",
                            stats.rps,
                            stats.latency.p99,
                            stats.errors.values().sum::<u64>()
                        ));
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
