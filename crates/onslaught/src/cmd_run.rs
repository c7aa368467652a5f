//! `onslaught run`: orchestrator, N drivers and (by default) the built-in target in one process,
//! over the in-process transport. The same orchestrator and driver code runs distributed.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use driver::{DriverConfig, DriverStats};
use orchestrator::{
    ControlError, Orchestrator, OrchestratorConfig, TestRequest, TestStatus, TestView,
};
use protocol::Header;
use target::{Target, TargetConfig};
use tokio_util::sync::CancellationToken;
use transport::Transport;

use crate::exit;
use crate::flags::{Output, RunArgs, TestKind};
use crate::nodes::{TransportChoice, dashboard_dir};
use crate::progress::Progress;
use crate::summary;

/// How long drivers have to come up.
const DRIVERS_READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Duration used when neither --requests nor --duration is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// Runs one test end to end and prints its summary.
pub async fn run(args: RunArgs) -> anyhow::Result<u8> {
    if args.drivers == 0 {
        eprintln!("error: --drivers must be at least 1");
        return Ok(exit::BAD_CONFIG);
    }
    let shutdown = CancellationToken::new();
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .context("cannot start the built-in target")?;
            let addr = listener.local_addr()?;
            let stop = shutdown.clone();
            tokio::spawn(
                Target::new(TargetConfig::default())
                    .serve(listener, async move { stop.cancelled().await }),
            );
            if args.output == Output::Text {
                eprintln!("built-in target on http://{addr} (no URL given)");
            }
            format!("http://{addr}/ping")
        }
    };
    let request = match test_request(&args, &url) {
        Ok(r) => r,
        Err(message) => {
            eprintln!("error: {message}");
            return Ok(exit::BAD_CONFIG);
        }
    };
    if let Err(e) = request.validate() {
        eprintln!("error: invalid {}: {}", e.field, e.message);
        return Ok(exit::BAD_CONFIG);
    }

    let transport: Arc<dyn Transport> = TransportChoice::InProcess.connect().await?;
    let orchestrator = Orchestrator::new(
        OrchestratorConfig::new(&args.report_dir),
        Arc::clone(&transport),
    );
    let orchestrator_task = orchestrator.spawn(shutdown.clone())?;
    let dashboard = if args.dashboard {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {} for the dashboard", args.listen))?;
        let addr = listener.local_addr()?;
        let options = api::ApiOptions {
            api_token: None,
            dashboard_dir: dashboard_dir(None),
            allowed_origin: None,
        };
        let router = api::router(orchestrator.clone(), options);
        let stop = shutdown.clone();
        eprintln!("dashboard: http://{addr}/");
        Some(tokio::spawn(api::serve(listener, router, async move {
            stop.cancelled().await
        })))
    } else {
        None
    };
    let mut drivers = Vec::new();
    for i in 1..=args.drivers {
        let config = DriverConfig::new(format!("driver-{i}"), "in-process");
        let task = driver::run(
            config,
            Arc::clone(&transport),
            Arc::new(DriverStats::default()),
            shutdown.clone(),
        );
        drivers.push(tokio::spawn(task));
    }
    let ready = orchestrator
        .wait_for_drivers(args.drivers as usize, DRIVERS_READY_TIMEOUT)
        .await;
    if ready < args.drivers as usize {
        eprintln!("error: only {ready} of {} drivers came up", args.drivers);
        shutdown.cancel();
        return Ok(exit::COULD_NOT_RUN);
    }

    let test = match orchestrator.create_test(request).await {
        Ok(test) => test,
        Err(ControlError::Invalid(e)) => {
            eprintln!("error: invalid {}: {}", e.field, e.message);
            shutdown.cancel();
            return Ok(exit::BAD_CONFIG);
        }
        Err(e) => {
            eprintln!("error: the test could not start: {e}");
            shutdown.cancel();
            return Ok(exit::COULD_NOT_RUN);
        }
    };
    let progress = (!args.quiet && args.output == Output::Text)
        .then(|| Progress::start(orchestrator.clone(), &test));
    let finished = tokio::select! {
        view = orchestrator.wait_test(&test.id) => view?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: stopping the test and keeping what was measured");
            orchestrator.stop_test(&test.id).await?;
            tokio::time::timeout(Duration::from_secs(15), orchestrator.wait_test(&test.id))
                .await
                .context("drivers did not stop in time")??
        }
    };
    if let Some(progress) = progress {
        progress.finish().await;
    }
    match args.output {
        Output::Text => print!("{}", summary::text(&finished)),
        Output::Json => println!("{}", summary::json(&finished)?),
    }
    if dashboard.is_some() {
        eprintln!("the dashboard stays up with this test's results; press Ctrl-C to exit");
        let _ = tokio::signal::ctrl_c().await;
    }
    shutdown.cancel();
    if let Some(server) = dashboard {
        let _ = server.await;
    }
    for task in drivers {
        let _ = task.await;
    }
    let _ = orchestrator_task.await;
    Ok(exit_code(&finished))
}

/// The test the flags describe.
fn test_request(args: &RunArgs, url: &str) -> Result<TestRequest, String> {
    let kind = match args.kind {
        TestKind::Avalanche => "avalanche",
        TestKind::Tsunami => "tsunami",
    };
    let mut request = TestRequest::new(kind, url);
    request.method.clone_from(&args.method);
    request.headers = args
        .headers
        .iter()
        .map(|(name, value)| Header {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    request.body = match &args.body_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --body-file {}: {e}", path.display()))?,
        ),
        None => args.body.clone(),
    };
    request.delay_ms = args.delay.map(|d| d.as_secs_f64() * 1000.0);
    request.rate = args.rate;
    request.requests_per_driver = args.requests;
    request.duration_ms = args
        .duration
        .or(args.requests.is_none().then_some(DEFAULT_DURATION))
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    request.concurrency = args.concurrency;
    request.timeout_ms = u64::try_from(args.timeout.as_millis()).unwrap_or(u64::MAX);
    request.insecure = args.insecure;
    request.drivers = Some(args.drivers);
    request.start = true;
    Ok(request)
}

/// Ran and passed; ran and failed; aborted; could not run.
fn exit_code(test: &TestView) -> u8 {
    match test.status {
        TestStatus::Completed if test.aggregate.success_ratio > 0.0 => exit::OK,
        TestStatus::Completed | TestStatus::Degraded => exit::TEST_FAILED,
        TestStatus::Aborted | TestStatus::Interrupted => exit::ABORTED,
        _ => exit::COULD_NOT_RUN,
    }
}
