//! A whole system in one process: the orchestrator, N drivers over the in-process transport, and
//! optionally the built-in target and the dashboard. Used by `onslaught run` and `onslaught serve`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use onslaught_driver::{DriverConfig, DriverStats};
use onslaught_orchestrator::export::Endpoint;
use onslaught_orchestrator::{Orchestrator, OrchestratorConfig};
use onslaught_target::{Target, TargetConfig};
use onslaught_transport::Transport;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::nodes::TransportChoice;

/// How long drivers have to come up.
const DRIVERS_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The running pieces; [`Local::shutdown`] stops them all.
pub struct Local {
    /// The orchestrator.
    pub orchestrator: Orchestrator,
    /// Cancelled to stop everything.
    pub stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Local {
    /// Starts the orchestrator (exporting to `otlp_endpoint`, if any) and `drivers` drivers
    /// (`driver-1`...), and waits until every driver is registered and idle.
    pub async fn start(
        drivers: u32,
        report_dir: &Path,
        otlp_endpoint: Option<Endpoint>,
    ) -> anyhow::Result<Local> {
        let stop = CancellationToken::new();
        let transport: Arc<dyn Transport> = TransportChoice::InProcess.connect().await?;
        let mut config = OrchestratorConfig::new(report_dir);
        config.otlp_endpoint = otlp_endpoint;
        let orchestrator = Orchestrator::new(config, Arc::clone(&transport));
        let mut tasks = vec![orchestrator.spawn(stop.clone()).await?];
        // The drivers share this machine's cores: give each its share of engine threads.
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let threads = (cores / usize::try_from(drivers.max(1)).unwrap_or(1)).max(1);
        for i in 1..=drivers {
            let mut config = DriverConfig::new(format!("driver-{i}"), "in-process");
            config.engine_threads = Some(threads);
            let run = onslaught_driver::run(
                config,
                Arc::clone(&transport),
                Arc::new(DriverStats::default()),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                if let Err(e) = run.await {
                    tracing::error!("driver stopped: {e}");
                }
            }));
        }
        let local = Local {
            orchestrator,
            stop,
            tasks,
        };
        let ready = local
            .orchestrator
            .wait_for_drivers(drivers as usize, DRIVERS_READY_TIMEOUT)
            .await;
        if ready < drivers as usize {
            local.shutdown().await;
            anyhow::bail!("only {ready} of {drivers} drivers came up");
        }
        Ok(local)
    }

    /// Starts the built-in target on a free loopback port; returns its base URL.
    pub async fn start_target(&mut self) -> anyhow::Result<String> {
        let listener = onslaught_target::listen(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .context("cannot start the built-in target")?;
        let addr = listener.local_addr()?;
        let stop = self.stop.clone();
        self.tasks.push(tokio::spawn(async move {
            let serve = Target::new(TargetConfig::default())
                .serve(listener, async move { stop.cancelled().await });
            if let Err(e) = serve.await {
                tracing::error!("the built-in target stopped: {e}");
            }
        }));
        Ok(format!("http://{addr}"))
    }

    /// Serves the REST API and the dashboard on `listen` within `limits`; returns the address
    /// bound.
    pub async fn start_dashboard(
        &mut self,
        listen: SocketAddr,
        api_token: Option<String>,
        limits: onslaught_api::ServeLimits,
    ) -> anyhow::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} for the dashboard"))?;
        let addr = listener.local_addr()?;
        let options = onslaught_api::ApiOptions {
            api_token,
            // The dashboard built into the binary.
            dashboard_dir: None,
            allowed_origin: None,
        };
        let router = onslaught_api::router(self.orchestrator.clone(), options);
        let stop = self.stop.clone();
        self.tasks.push(tokio::spawn(async move {
            let serve = onslaught_api::serve_with(listener, router, limits, async move {
                stop.cancelled().await
            });
            if let Err(e) = serve.await {
                tracing::error!("the API server stopped: {e}");
            }
        }));
        Ok(addr)
    }

    /// Stops everything and waits for it (running tests are interrupted and reported).
    pub async fn shutdown(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
