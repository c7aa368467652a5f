//! `onslaught orchestrator`: the orchestrator over Kafka, with the REST API and the dashboard.

use anyhow::Context;
use onslaught_orchestrator::{Orchestrator, OrchestratorConfig};

use crate::exit;
use crate::flags::OrchestratorArgs;
use crate::nodes::{DRAIN_TIMEOUT, TransportChoice, check_report_dir, shutdown_on_signal};

/// Runs until Ctrl-C or SIGTERM.
pub async fn run(args: OrchestratorArgs) -> anyhow::Result<u8> {
    if let Err(message) = check_report_dir(&args.report_dir) {
        errln!("error: {message}");
        return Ok(exit::BAD_CONFIG);
    }
    let shutdown = shutdown_on_signal();
    let mut config = OrchestratorConfig::new(&args.report_dir);
    config.missing_after = args.missing_after;
    config.dead_after = args.dead_after;
    config.secret = args.secret.as_deref().map(onslaught_protocol::Signer::new);
    config.otlp_endpoint = args.otlp_endpoint.clone();
    let transport = TransportChoice::kafka(&args.kafka, &config.node_id)
        .connect()
        .await?;
    let orchestrator = Orchestrator::new(config, transport);
    let consumer = orchestrator.spawn(shutdown.clone()).await?;

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let options = onslaught_api::ApiOptions {
        api_token: args.api_token.clone(),
        dashboard_dir: args.dashboard_dir.clone(),
        allowed_origin: args.allowed_origin.clone(),
    };
    let router = onslaught_api::router(orchestrator.clone(), options);
    outln!(
        "orchestrator ready: dashboard and API at http://{addr}/ (Kafka {})",
        args.kafka.brokers
    );
    let stop = shutdown.clone();
    onslaught_api::serve_with(listener, router, args.limits.limits(), async move {
        stop.cancelled().await;
    })
    .await?;
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, consumer).await;
    Ok(exit::OK)
}
