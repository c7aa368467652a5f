//! `onslaught orchestrator`: the orchestrator over Kafka, with the REST API and the dashboard;
//! with `--cluster`, one of several, elected active through Kafka or standing by.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use onslaught_orchestrator::{Orchestrator, OrchestratorConfig};
use onslaught_transport::{Candidate, Standing, Transport};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::exit;
use crate::flags::OrchestratorArgs;
use crate::nodes::{DRAIN_TIMEOUT, TransportChoice, check_report_dir, shutdown_on_signal};

/// Runs until Ctrl-C or SIGTERM (or, in a cluster, until deposed).
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
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    if let Some(cluster) = args.cluster.clone() {
        return clustered(&args, config, transport, listener, shutdown, cluster).await;
    }

    let orchestrator = Orchestrator::new(config, transport);
    let consumer = orchestrator.spawn(shutdown.clone()).await?;
    let addr = listener.local_addr()?;
    let router = onslaught_api::router(orchestrator.clone(), api_options(&args));
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

fn api_options(args: &OrchestratorArgs) -> onslaught_api::ApiOptions {
    onslaught_api::ApiOptions {
        api_token: args.api_token.clone(),
        dashboard_dir: args.dashboard_dir.clone(),
        allowed_origin: args.allowed_origin.clone(),
    }
}

/// One orchestrator of a cluster: stands for election, serves the standby API (redirects to the
/// active orchestrator) until elected, then takes over: the orchestrator is built with its
/// epoch, resumes the running tests from the shared report folder and the metrics topic, and
/// the same listener serves the full API. Deposed, it stops at once (nothing more published
/// or written) and exits with [`exit::DEPOSED`]. On shutdown it hands its running tests over
/// (last checkpoint) before leaving the election, so a standby takes over at once.
async fn clustered(
    args: &OrchestratorArgs,
    mut config: OrchestratorConfig,
    transport: Arc<dyn Transport>,
    listener: TcpListener,
    shutdown: CancellationToken,
    cluster: String,
) -> anyhow::Result<u8> {
    let addr = listener.local_addr()?;
    let api_url = args
        .advertise_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let election = transport
        .elect(Candidate {
            cluster: cluster.clone(),
            node_id: config.node_id.clone(),
            api_url,
        })
        .await
        .with_context(|| format!("cannot stand for election in cluster {cluster}"))?;
    let mut standing = election.standing();
    let (router, activation) = onslaught_api::standby::standby(election.standing());
    let stop_serving = CancellationToken::new();
    let serving = {
        let stop = stop_serving.clone();
        let limits = args.limits.limits();
        tokio::spawn(async move {
            onslaught_api::serve_with(listener, router, limits, stop.cancelled_owned()).await
        })
    };
    outln!(
        "orchestrator {} standing by in cluster {cluster}: API at http://{addr}/ (redirects to the active orchestrator) (Kafka {})",
        config.node_id,
        args.kafka.brokers
    );

    let lease = loop {
        let current = standing.borrow_and_update().clone();
        match current {
            Standing::Leader(lease) => break Some(lease),
            Standing::Deposed(_) => break None,
            Standing::Standby { .. } => {}
        }
        tokio::select! {
            () = shutdown.cancelled() => break None,
            changed = standing.changed() => if changed.is_err() { break None },
        }
    };
    let Some(lease) = lease else {
        stop_serving.cancel();
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, serving).await;
        let _ = tokio::task::spawn_blocking(move || drop(election)).await;
        return Ok(exit::OK);
    };

    let elected = Instant::now();
    config.epoch = Some(lease.epoch);
    let orchestrator = Orchestrator::new(config, transport);
    let consumer = orchestrator.spawn(shutdown.clone()).await?;
    activation.activate(onslaught_api::router(
        orchestrator.clone(),
        api_options(args),
    ));
    outln!(
        "orchestrator active in cluster {cluster} (epoch {}), taking over in {} ms: dashboard and API at http://{addr}/ (Kafka {})",
        lease.epoch,
        elected.elapsed().as_millis(),
        args.kafka.brokers
    );

    let deposed = loop {
        tokio::select! {
            () = shutdown.cancelled() => break false,
            () = orchestrator.deposed() => break true,
            changed = standing.changed() => {
                if changed.is_err() {
                    break false;
                }
                if let Standing::Deposed(lease) = &*standing.borrow_and_update() {
                    orchestrator.depose(&format!(
                        "the election took epoch {} away",
                        lease.epoch
                    ));
                    break true;
                }
            }
        }
    };
    stop_serving.cancel();
    // The hand-over's last checkpoint is written before the election is left.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, consumer).await;
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, serving).await;
    // Leaving the election waits for the broker: off the async workers.
    let _ = tokio::task::spawn_blocking(move || drop(election)).await;
    if deposed {
        errln!(
            "deposed: another orchestrator of cluster {cluster} leads now (this one's epoch {} is over); restart to stand by again",
            lease.epoch
        );
        return Ok(exit::DEPOSED);
    }
    Ok(exit::OK)
}
