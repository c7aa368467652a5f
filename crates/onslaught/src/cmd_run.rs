//! `onslaught run`: orchestrator, N drivers and (by default) the built-in target in one process,
//! over the in-process transport. The same orchestrator and driver code runs distributed.

use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;
use onslaught_orchestrator::{ControlError, TestStatus, TestView};
use onslaught_plan::{Header, TestPlan, TestRequest, ValidationError};

use crate::flags::{Output, RunArgs, TestKind};
use crate::local::Local;
use crate::nodes::{check_report_dir, interrupted};
use crate::progress::Progress;
use crate::summary;
use crate::{distribution, exit, find_max, junit};

/// Duration used when neither --requests nor --duration is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// How long drivers have to stop after Ctrl-C.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs one test end to end and prints its summary.
pub async fn run(args: RunArgs) -> anyhow::Result<u8> {
    if args.drivers == 0 {
        errln!("error: --drivers must be at least 1");
        return Ok(exit::BAD_CONFIG);
    }
    if let Err(message) = check_report_dir(&args.report_dir) {
        errln!("error: {message}");
        return Ok(exit::BAD_CONFIG);
    }
    if let Err(message) = check_open_files(&args) {
        errln!("error: {message}");
        return Ok(exit::BAD_CONFIG);
    }
    let mut local =
        match Local::start(args.drivers, &args.report_dir, args.otlp_endpoint.clone()).await {
            Ok(local) => local,
            Err(e) => {
                errln!("error: {e:#}");
                return Ok(exit::COULD_NOT_RUN);
            }
        };
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let base = local.start_target().await?;
            if args.output == Output::Text {
                errln!("built-in target on {base} (no URL given)");
            }
            format!("{base}/ping")
        }
    };
    // The same request form and the same validation as the API's.
    let plan = match test_request(&args, &url)
        .and_then(|r| TestPlan::try_from(r).map_err(|e| flag_error(&e)))
    {
        Ok(plan) => plan,
        Err(message) => {
            errln!("error: {message}");
            local.shutdown().await;
            return Ok(exit::BAD_CONFIG);
        }
    };
    let dashboard = args.dashboard;
    if dashboard {
        let addr = local
            .start_dashboard(args.listen, None, onslaught_api::ServeLimits::default())
            .await?;
        errln!("dashboard: http://{addr}/");
    }
    let orchestrator = local.orchestrator.clone();
    if args.find_max {
        let search = find_max::Search {
            precision: args.find_max_precision,
            max_steps: args.find_max_steps,
        };
        let result = find_max::run(&orchestrator, &plan, args.drivers, search).await;
        local.shutdown().await;
        let (outcome, code) = result?;
        let written = find_max::write(&args.report_dir, &outcome);
        match args.output {
            Output::Json => outln!("{}", serde_json::to_string_pretty(&outcome)?),
            Output::Text | Output::Csv => {
                use std::io::Write as _;
                let _ = write!(std::io::stdout(), "{}", find_max::text(&outcome));
            }
        }
        return match written {
            Ok(path) => {
                errln!("find-max: the curve is in {}", path.display());
                Ok(code)
            }
            Err(e) => {
                errln!("error: cannot write find-max.json: {e:#}");
                Ok(exit::COULD_NOT_RUN)
            }
        };
    }
    let test = match orchestrator.create_test(plan).await {
        Ok(test) => test,
        Err(e) => {
            errln!("error: the test could not start: {e}");
            local.shutdown().await;
            return Ok(exit::COULD_NOT_RUN);
        }
    };
    let progress = (!args.quiet && args.output == Output::Text)
        .then(|| Progress::start(orchestrator.clone(), &test));
    let finished = tokio::select! {
        view = orchestrator.wait_test(&test.id) => view?,
        () = interrupted() => {
            errln!("interrupted: stopping the test and keeping what was measured");
            match orchestrator.stop_test(&test.id).await {
                // Conflict: it ended meanwhile.
                Ok(_) | Err(ControlError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            tokio::time::timeout(STOP_TIMEOUT, orchestrator.wait_test(&test.id))
                .await
                .context("drivers did not stop in time")??
        }
    };
    if let Some(progress) = progress {
        progress.finish().await;
    }
    match args.output {
        Output::Text => {
            use std::io::Write as _;
            let mut text = summary::text(&finished);
            match distribution::of_report(&finished) {
                Some(h) => {
                    text.push_str("\nLatency histogram:\n");
                    text.push_str(&distribution::ascii_histogram(&h));
                    if args.latency_spectrum {
                        text.push_str("\nLatency spectrum (ms):\n");
                        text.push_str(&distribution::spectrum(&h));
                    }
                }
                None if args.latency_spectrum => {
                    text.push_str("\nLatency spectrum: none (no responses, or no report)\n");
                }
                None => {}
            }
            let _ = write!(std::io::stdout(), "{text}");
        }
        Output::Json => outln!("{}", summary::json(&finished)?),
        Output::Csv => {
            use std::io::Write as _;
            let _ = write!(std::io::stdout(), "{}", summary::csv(&finished));
        }
    }
    if let Some(error) = &finished.report_error {
        errln!("error: {error}");
    }
    let mut junit_failed = false;
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, junit::report(&finished))
    {
        errln!("error: cannot write --junit {}: {e}", path.display());
        junit_failed = true;
    }
    if dashboard {
        errln!("the dashboard stays up with this test's results; press Ctrl-C to exit");
        interrupted().await;
    }
    let export = std::sync::Arc::clone(&local.orchestrator.stats().export);
    local.shutdown().await;
    if let Some(endpoint) = &args.otlp_endpoint {
        let load = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
        errln!(
            "OTLP export to {endpoint}: {} batches pushed, {} dropped",
            load(&export.pushed),
            load(&export.dropped)
        );
    }
    let code = if junit_failed {
        exit::COULD_NOT_RUN
    } else {
        exit_code(&finished)
    };
    if code == exit::THRESHOLDS_FAILED {
        let failed: Vec<&str> = finished
            .thresholds
            .iter()
            .filter(|t| !t.passed)
            .map(|t| t.expression.as_str())
            .collect();
        errln!("failed: thresholds not met: {}", failed.join(", "));
    }
    if code == exit::TEST_FAILED && finished.status == TestStatus::Completed {
        let a = &finished.aggregate;
        errln!(
            "failed: {:.2}% of {} requests got no accepted status (expected {}), more than \
             --max-error-ratio {}",
            a.failed_ratio() * 100.0,
            a.counters.requests_attempted.max(a.counters.requests_sent),
            finished.config.expected_statuses(),
            finished.config.max_error_ratio
        );
    }
    Ok(code)
}

/// The flag a [`TestRequest`] field comes from, as `onslaught run --help` shows it.
fn flag_of(field: &str) -> Option<&'static str> {
    let field = field.split(['.', '[']).next().unwrap_or(field);
    Some(match field {
        "test_type" => "-t/--type",
        "url" => "URL",
        "method" => "-m/--method",
        "headers" => "-H/--header",
        "body" => "-d/--body",
        "body_base64" => "--body-file",
        "delay_ms" => "--delay",
        "rate" => "-r/--rate",
        "rate_total" => "--rate-total",
        "stages" => "--stages",
        "stages_total" => "--stages-total",
        "requests_per_driver" => "-n/--requests",
        "duration_ms" => "-z/--duration",
        "concurrency" => "-c/--concurrency",
        "timeout_ms" => "--timeout",
        "drivers" => "-w/--drivers",
        "expect_status" => "--expect-status",
        "max_error_ratio" => "--max-error-ratio",
        "max_start_skew_ms" => "--max-start-skew (max_start_skew_ms)",
        "thresholds" => "--threshold",
        "abort_on_fail" => "--abort-on-fail",
        "abort_grace_ms" => "--abort-grace",
        _ => return None,
    })
}

/// A refusal in the CLI's words: the flag named instead of the API field, in the field and in
/// the message (`invalid -z/--duration: ...`).
fn flag_error(e: &ValidationError) -> String {
    let mut message = String::new();
    let mut word = String::new();
    for c in e.message.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        let flag = if word.contains('_') || word == "rate" {
            flag_of(&word)
        } else {
            None
        };
        message.push_str(flag.unwrap_or(word.as_str()));
        word.clear();
        message.push(c);
    }
    message.pop();
    // A list's index stays (`--threshold[1]`: the second one given).
    let index = e.field.find('[').map_or("", |i| &e.field[i..]);
    let field = flag_of(&e.field).map_or_else(|| e.field.clone(), |f| format!("{f}{index}"));
    format!("invalid {field}: {message}")
}

/// Checks that the connections asked for fit under the open-file limit (raised to the hard
/// limit first): each connection holds a descriptor, and so does the built-in target's end of
/// it, as it runs in this process.
fn check_open_files(args: &RunArgs) -> Result<(), String> {
    let Some(limit) = onslaught_engine::limits::raise_open_files() else {
        return Ok(());
    };
    let connections = u64::from(args.drivers) * u64::from(args.concurrency);
    let ends = if args.url.is_some() { 1 } else { 2 };
    let needed = connections.saturating_mul(ends);
    if onslaught_engine::limits::fits(needed, limit) {
        return Ok(());
    }
    let target = if args.url.is_some() {
        ""
    } else {
        " and as many for the built-in target's ends"
    };
    Err(format!(
        "invalid -c/--concurrency {}: {} driver(s) x {} connections need {} open files{target}, \
         beyond this process's limit of {} (ulimit -n, {} kept for itself); lower \
         -c/--concurrency or --drivers, or raise the limit",
        args.concurrency,
        args.drivers,
        summary::count(u64::from(args.concurrency)),
        summary::count(connections),
        summary::count(limit),
        onslaught_engine::limits::RESERVED_FILES,
    ))
}

/// The test the flags describe.
fn test_request(args: &RunArgs, url: &str) -> Result<TestRequest, String> {
    // A rate, a delay or stages mean a schedule: tsunami unless --type says otherwise.
    let scheduled = args.rate.is_some()
        || args.delay.is_some()
        || args.rate_total.is_some()
        || args.stages.is_some()
        || args.stages_total.is_some();
    let kind = match args.kind {
        Some(TestKind::Avalanche) => "avalanche",
        Some(TestKind::Tsunami) => "tsunami",
        None if scheduled => "tsunami",
        None => "avalanche",
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
    match &args.body_file {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("cannot read --body-file {}: {e}", path.display()))?;
            // Text goes as text (shown as such in reports), other bytes as base64.
            match String::from_utf8(bytes) {
                Ok(text) => request.body = Some(text),
                Err(e) => {
                    request.body_base64 =
                        Some(base64::engine::general_purpose::STANDARD.encode(e.into_bytes()));
                }
            }
        }
        None => request.body.clone_from(&args.body),
    }
    request.delay_ms = args.delay.map(|d| d.as_secs_f64() * 1000.0);
    request.rate = args.rate;
    request.rate_total = args.rate_total;
    request.stages = args.stages.clone().map(|s| s.0).unwrap_or_default();
    request.stages_total = args.stages_total.clone().map(|s| s.0).unwrap_or_default();
    let curve = args.stages.is_some() || args.stages_total.is_some();
    request.requests_per_driver = args.requests;
    request.duration_ms = args
        .duration
        .or((args.requests.is_none() && !curve).then_some(DEFAULT_DURATION))
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    request.concurrency = args.concurrency;
    request.timeout_ms = u64::try_from(args.timeout.as_millis()).unwrap_or(u64::MAX);
    request.insecure = args.insecure;
    request.max_start_skew_ms = u64::try_from(args.max_start_skew.as_millis()).unwrap_or(u64::MAX);
    request.drivers = Some(args.drivers);
    request.expect_status.clone_from(&args.expect_status);
    request.max_error_ratio = args.max_error_ratio;
    request.thresholds.clone_from(&args.thresholds);
    request.abort_on_fail = args.abort_on_fail;
    request.abort_grace_ms = u64::try_from(args.abort_grace.as_millis()).unwrap_or(u64::MAX);
    request.start = true;
    Ok(request)
}

/// Ran and passed (see [`TestView::passed`]); ran and a threshold failed (or stopped it);
/// ran and failed otherwise; aborted; could not run (or its report could not be kept).
fn exit_code(test: &TestView) -> u8 {
    if test.report_error.is_some() {
        return exit::COULD_NOT_RUN;
    }
    if test.aborted_by_threshold
        || (matches!(test.status, TestStatus::Completed | TestStatus::Degraded)
            && !test.thresholds_passed())
    {
        return exit::THRESHOLDS_FAILED;
    }
    match test.status {
        TestStatus::Completed if test.passed() => exit::OK,
        TestStatus::Completed | TestStatus::Degraded => exit::TEST_FAILED,
        TestStatus::Aborted | TestStatus::Interrupted => exit::ABORTED,
        _ => exit::COULD_NOT_RUN,
    }
}
