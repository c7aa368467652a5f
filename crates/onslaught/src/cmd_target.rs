//! `onslaught target`: the built-in HTTP server, until Ctrl-C.

use anyhow::Context;
use onslaught_target::{Stall, Target, TargetConfig};

use crate::exit;
use crate::flags::TargetArgs;
use crate::nodes::shutdown_on_signal;

/// Serves until Ctrl-C or SIGTERM.
pub async fn run(args: TargetArgs) -> anyhow::Result<u8> {
    let shutdown = shutdown_on_signal();
    let config = TargetConfig {
        latency: args.latency,
        stall: args
            .stall_every
            .zip(args.stall_for)
            .map(|(every, duration)| Stall { every, duration }),
        error_ratio: args.error_ratio,
        error_status: args.error_status,
        close_ratio: args.close_ratio,
    };
    let listener = onslaught_target::listen(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    outln!("target listening on http://{addr} (GET /ping, GET /metrics)");
    Target::new(config)
        .serve(listener, async move { shutdown.cancelled().await })
        .await?;
    Ok(exit::OK)
}
