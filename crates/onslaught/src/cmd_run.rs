//! `onslaught run`: orchestrator, N drivers and (by default) the built-in target in one process,
//! over the in-process transport. The same orchestrator and driver code runs distributed.

use std::time::Duration;

use anyhow::Context;
use orchestrator::{ControlError, TestRequest, TestStatus, TestView};
use protocol::Header;

use crate::exit;
use crate::flags::{Output, RunArgs, TestKind};
use crate::local::Local;
use crate::progress::Progress;
use crate::summary;

/// Duration used when neither --requests nor --duration is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// Runs one test end to end and prints its summary.
pub async fn run(args: RunArgs) -> anyhow::Result<u8> {
    if args.drivers == 0 {
        eprintln!("error: --drivers must be at least 1");
        return Ok(exit::BAD_CONFIG);
    }
    let mut local = match Local::start(args.drivers, &args.report_dir).await {
        Ok(local) => local,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(exit::COULD_NOT_RUN);
        }
    };
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let base = local.start_target().await?;
            if args.output == Output::Text {
                eprintln!("built-in target on {base} (no URL given)");
            }
            format!("{base}/ping")
        }
    };
    let request = match test_request(&args, &url).and_then(|r| {
        r.validate()
            .map_err(|e| format!("invalid {}: {}", e.field, e.message))?;
        Ok(r)
    }) {
        Ok(r) => r,
        Err(message) => {
            eprintln!("error: {message}");
            local.shutdown().await;
            return Ok(exit::BAD_CONFIG);
        }
    };
    let dashboard = args.dashboard;
    if dashboard {
        let addr = local.start_dashboard(args.listen, None).await?;
        eprintln!("dashboard: http://{addr}/");
    }
    let orchestrator = local.orchestrator.clone();
    let test = match orchestrator.create_test(request).await {
        Ok(test) => test,
        Err(ControlError::Invalid(e)) => {
            eprintln!("error: invalid {}: {}", e.field, e.message);
            local.shutdown().await;
            return Ok(exit::BAD_CONFIG);
        }
        Err(e) => {
            eprintln!("error: the test could not start: {e}");
            local.shutdown().await;
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
    if dashboard {
        eprintln!("the dashboard stays up with this test's results; press Ctrl-C to exit");
        let _ = tokio::signal::ctrl_c().await;
    }
    local.shutdown().await;
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
