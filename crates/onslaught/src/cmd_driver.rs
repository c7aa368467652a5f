//! `onslaught driver`: a driver node over Kafka.

use std::sync::Arc;

use onslaught_driver::{DriverConfig, DriverStats};

use crate::exit;
use crate::flags::DriverArgs;
use crate::nodes::{DRAIN_TIMEOUT, TransportChoice, hostname, reachable_ip, shutdown_on_signal};

/// Runs until Ctrl-C or SIGTERM; a running test is stopped and its final metrics published.
pub async fn run(args: DriverArgs) -> anyhow::Result<u8> {
    let shutdown = shutdown_on_signal();
    let node_id = args.node_id.clone().unwrap_or_else(|| {
        let suffix: String = uuid_suffix();
        format!("{}-{suffix}", hostname())
    });
    let address = args.advertise.clone().unwrap_or_else(|| {
        let ip = reachable_ip(&args.kafka.brokers).map_or_else(hostname, |ip| ip.to_string());
        // Drivers listen on no port; a stable address lets a driver restarted under the same id
        // re-register at once instead of looking like a duplicate.
        format!("{ip}:0")
    });
    check_orchestrator(&args.orchestrator).await;
    let transport = TransportChoice::kafka(&args.kafka, &node_id)
        .connect()
        .await?;
    outln!(
        "driver {node_id} ({address}) ready; Kafka {}, orchestrator {}",
        args.kafka.brokers,
        args.orchestrator
    );
    let mut config = DriverConfig::new(node_id, address);
    config.secret = args.secret.as_deref().map(onslaught_protocol::Signer::new);
    config.allow_targets.clone_from(&args.allow_targets);
    config.orchestrator_timeout = args.orchestrator_timeout;
    config.engine_threads = args.threads.map(usize::from);
    let task = tokio::spawn(onslaught_driver::run(
        config,
        transport,
        Arc::new(DriverStats::default()),
        shutdown.clone(),
    ));
    shutdown.cancelled().await;
    match tokio::time::timeout(DRAIN_TIMEOUT, task).await {
        Ok(Ok(Ok(()))) => Ok(exit::OK),
        Ok(Ok(Err(e))) => Err(e.into()),
        _ => Ok(exit::COULD_NOT_RUN),
    }
}

fn uuid_suffix() -> String {
    format!("{:06x}", fastrand::u32(..0x00ff_ffff))
}

/// The orchestrator's address is informative (all coordination goes through Kafka): say early if
/// it cannot be reached, but keep going.
async fn check_orchestrator(url: &str) {
    let authority = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let reachable = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        tokio::net::TcpStream::connect(authority.as_str()),
    )
    .await;
    if !matches!(reachable, Ok(Ok(_))) {
        tracing::warn!("orchestrator {url} is not reachable yet; waiting for it on Kafka");
    }
}
