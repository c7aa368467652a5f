//! `onslaught run`: orchestrator, N drivers and (by default) the built-in target in one process,
//! over the in-process transport. The same orchestrator and driver code runs distributed.

use std::path::PathBuf;
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

/// Duration used when neither the flags nor the plan file bound the test.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// Drivers started when neither --drivers nor the plan file says.
const DEFAULT_DRIVERS: u32 = 3;

/// Where the test comes from.
enum Source {
    /// The built-in target's /ping, started in this process.
    BuiltIn,
    /// A URL given on the command line.
    Url(String),
    /// A plan file (YAML or JSON).
    Plan(PathBuf),
    /// A vegeta-style targets file.
    Targets(PathBuf),
}

impl Source {
    fn of(args: &RunArgs) -> Self {
        match (&args.targets, &args.url) {
            (Some(file), _) => Self::Targets(file.clone()),
            (None, None) => Self::BuiltIn,
            (None, Some(url)) if is_url(url) => Self::Url(url.clone()),
            (None, Some(file)) => Self::Plan(PathBuf::from(file)),
        }
    }

    /// The test as the source gives it, before the flags.
    fn request(&self) -> Result<TestRequest, String> {
        match self {
            // The URL of the built-in target is set once it runs.
            Self::BuiltIn => Ok(TestRequest::new("avalanche", "")),
            Self::Url(url) => Ok(TestRequest::new("avalanche", url)),
            Self::Plan(path) if !path.exists() => Err(format!(
                "{} is neither a URL (http:// or https://) nor a plan file that exists",
                path.display()
            )),
            Self::Plan(path) => crate::planfile::load(path).map_err(|e| e.to_string()),
            Self::Targets(path) => crate::targets::load(path).map_err(|e| e.to_string()),
        }
    }

    /// A refusal by the validation, in the words of what the user wrote.
    fn refusal(&self, e: &ValidationError) -> String {
        match self {
            Self::Plan(path) => format!("invalid plan {}: {e}", path.display()),
            Self::Targets(path) => format!("{}: {}", path.display(), flag_error(e)),
            Self::BuiltIn | Self::Url(_) => flag_error(e),
        }
    }
}

/// A URL, as opposed to a plan file's path: it starts with a scheme (`http://`, `https://`;
/// others are URLs the validation refuses).
fn is_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// How long drivers have to stop after Ctrl-C.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Runs one test end to end and prints its summary.
pub async fn run(args: RunArgs) -> anyhow::Result<u8> {
    let source = Source::of(&args);
    // The file's test with the flags over it (flags, then the file, then the defaults).
    let mut request = match source
        .request()
        .and_then(|mut request| with_flags(&mut request, &args).map(|()| request))
    {
        Ok(request) => request,
        Err(message) => {
            errln!("error: {message}");
            return Ok(exit::BAD_CONFIG);
        }
    };
    let drivers = request.drivers.unwrap_or(DEFAULT_DRIVERS);
    if drivers == 0 {
        errln!("error: --drivers must be at least 1");
        return Ok(exit::BAD_CONFIG);
    }
    if let Err(message) = check_report_dir(&args.report_dir) {
        errln!("error: {message}");
        return Ok(exit::BAD_CONFIG);
    }
    let built_in = matches!(source, Source::BuiltIn);
    if let Err(message) = check_open_files(drivers, request.concurrency, built_in) {
        errln!("error: {message}");
        return Ok(exit::BAD_CONFIG);
    }
    let mut local = match Local::start(drivers, &args.report_dir, args.otlp_endpoint.clone()).await
    {
        Ok(local) => local,
        Err(e) => {
            errln!("error: {e:#}");
            return Ok(exit::COULD_NOT_RUN);
        }
    };
    if built_in {
        let base = local.start_target().await?;
        if args.output == Output::Text {
            errln!("built-in target on {base} (no URL given)");
        }
        request.url = format!("{base}/ping");
    }
    // The same request form and the same validation as the API's.
    let plan = match TestPlan::try_from(request).map_err(|e| source.refusal(&e)) {
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
        let result = find_max::run(&orchestrator, &plan, drivers, search).await;
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
            let distributions = distribution::of_report(&finished).unwrap_or_default();
            match &distributions.latency {
                Some(h) => {
                    text.push_str("\nLatency histogram:\n");
                    text.push_str(&distribution::ascii_histogram(h));
                    if args.latency_spectrum {
                        text.push_str("\nLatency spectrum (ms):\n");
                        text.push_str(&distribution::spectrum(h));
                    }
                }
                None if args.latency_spectrum => {
                    text.push_str("\nLatency spectrum: none (no responses, or no report)\n");
                }
                None => {}
            }
            for (flow, h) in &distributions.flows {
                text.push_str(&format!("\nIteration duration histogram, flow {flow}:\n"));
                text.push_str(&distribution::ascii_histogram(h));
                if args.latency_spectrum {
                    text.push_str(&format!(
                        "\nIteration duration spectrum (ms), flow {flow}:\n"
                    ));
                    text.push_str(&distribution::spectrum(h));
                }
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
        "iterations_per_driver" => "--iterations",
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
/// it when it runs in this process.
fn check_open_files(drivers: u32, concurrency: u32, built_in: bool) -> Result<(), String> {
    let Some(limit) = onslaught_engine::limits::raise_open_files() else {
        return Ok(());
    };
    let connections = u64::from(drivers) * u64::from(concurrency);
    let ends = if built_in { 2 } else { 1 };
    let needed = connections.saturating_mul(ends);
    if onslaught_engine::limits::fits(needed, limit) {
        return Ok(());
    }
    let target = if built_in {
        " and as many for the built-in target's ends"
    } else {
        ""
    };
    Err(format!(
        "invalid -c/--concurrency {concurrency}: {drivers} driver(s) x {} connections need {} \
         open files{target}, beyond this process's limit of {} (ulimit -n, {} kept for itself); \
         lower -c/--concurrency or --drivers, or raise the limit",
        summary::count(u64::from(concurrency)),
        summary::count(connections),
        summary::count(limit),
        onslaught_engine::limits::RESERVED_FILES,
    ))
}

/// Puts the flags given over `request` (the plan file's, or defaults): each load flag given
/// replaces the file's setting; `-H` adds or replaces a header; the request flags (`-m`, `-d`,
/// `--body-file`) are for a test without flows. Then the defaults of what neither gave.
fn with_flags(request: &mut TestRequest, args: &RunArgs) -> Result<(), String> {
    let flows = !request.flows.is_empty();
    // A rate, a delay or stages mean a schedule: tsunami unless --type says otherwise; a
    // schedule given replaces the file's whole schedule.
    let schedule_given = args.rate.is_some()
        || args.delay.is_some()
        || args.rate_total.is_some()
        || args.stages.is_some()
        || args.stages_total.is_some();
    let set_schedule = |request: &mut TestRequest| {
        request.rate = args.rate;
        request.delay_ms = args.delay.map(|d| d.as_secs_f64() * 1000.0);
        request.rate_total = args.rate_total;
        request.stages = args.stages.clone().map(|s| s.0).unwrap_or_default();
        request.stages_total = args.stages_total.clone().map(|s| s.0).unwrap_or_default();
    };
    if schedule_given {
        set_schedule(request);
    }
    match args.kind {
        Some(TestKind::Avalanche) => {
            request.test_type = "avalanche".to_owned();
            // No schedule flag given: the file's schedule goes with its type.
            set_schedule(request);
        }
        Some(TestKind::Tsunami) => request.test_type = "tsunami".to_owned(),
        None if schedule_given => request.test_type = "tsunami".to_owned(),
        None => {}
    }
    if let Some(method) = &args.method {
        if flows {
            return Err("-m/--method: the plan's flows say each step's method".to_owned());
        }
        request.method.clone_from(method);
    }
    for (name, value) in &args.headers {
        if flows {
            request
                .defaults
                .get_or_insert_with(Default::default)
                .headers
                .insert(name.clone(), value.clone());
        } else {
            request
                .headers
                .retain(|h| !h.name.eq_ignore_ascii_case(name));
            request.headers.push(Header {
                name: name.clone(),
                value: value.clone(),
            });
        }
    }
    if (args.body.is_some() || args.body_file.is_some()) && flows {
        return Err("-d/--body: the plan's flows say each step's body".to_owned());
    }
    if let Some(path) = &args.body_file {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read --body-file {}: {e}", path.display()))?;
        // Text goes as text (shown as such in reports), other bytes as base64.
        match String::from_utf8(bytes) {
            Ok(text) => {
                request.body = Some(text);
                request.body_base64 = None;
            }
            Err(e) => {
                request.body = None;
                request.body_base64 =
                    Some(base64::engine::general_purpose::STANDARD.encode(e.into_bytes()));
            }
        }
    } else if let Some(body) = &args.body {
        request.body = Some(body.clone());
        request.body_base64 = None;
    }
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if let Some(requests) = args.requests {
        request.requests_per_driver = Some(requests);
    }
    if let Some(iterations) = args.iterations {
        request.iterations_per_driver = Some(iterations);
    }
    if let Some(duration) = args.duration {
        request.duration_ms = Some(millis(duration));
    }
    if request.requests_per_driver.is_none()
        && request.iterations_per_driver.is_none()
        && request.duration_ms.is_none()
        && request.stages.is_empty()
        && request.stages_total.is_empty()
    {
        request.duration_ms = Some(millis(DEFAULT_DURATION));
    }
    if let Some(concurrency) = args.concurrency {
        request.concurrency = concurrency;
    }
    if let Some(timeout) = args.timeout {
        request.timeout_ms = millis(timeout);
    }
    request.insecure |= args.insecure;
    if let Some(skew) = args.max_start_skew {
        request.max_start_skew_ms = millis(skew);
    }
    request.drivers = Some(args.drivers.or(request.drivers).unwrap_or(DEFAULT_DRIVERS));
    if args.expect_status.is_some() {
        request.expect_status.clone_from(&args.expect_status);
    }
    if let Some(ratio) = args.max_error_ratio {
        request.max_error_ratio = ratio;
    }
    if !args.thresholds.is_empty() {
        request.thresholds.clone_from(&args.thresholds);
    }
    request.abort_on_fail |= args.abort_on_fail;
    if let Some(grace) = args.abort_grace {
        request.abort_grace_ms = millis(grace);
    }
    request.start = true;
    Ok(())
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
