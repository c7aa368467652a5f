//! `onslaught serve`: the orchestrator, N drivers, the built-in target and the dashboard in one
//! process, waiting for tests to be started from the dashboard or the API (like Locust's web UI,
//! but every driver is a real driver over the in-process transport).

use crate::exit;
use crate::flags::ServeArgs;
use crate::local::Local;
use crate::nodes::{check_report_dir, shutdown_on_signal};

/// Serves until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<u8> {
    if let Err(message) = check_report_dir(&args.report_dir) {
        errln!("error: {message}");
        return Ok(exit::BAD_CONFIG);
    }
    let shutdown = shutdown_on_signal();
    let mut local =
        Local::start(args.drivers, &args.report_dir, args.otlp_endpoint.clone()).await?;
    let target = local.start_target().await?;
    let addr = local
        .start_dashboard(args.listen, args.api_token.clone(), args.limits.limits())
        .await?;
    outln!("dashboard: http://{addr}/");
    outln!("target: {target}/ping");
    outln!(
        "{} drivers ready; start tests from the dashboard or POST /api/tests; Ctrl-C to exit",
        args.drivers
    );
    shutdown.cancelled().await;
    local.shutdown().await;
    Ok(exit::OK)
}
