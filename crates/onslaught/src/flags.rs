//! Command-line flags. Every flag can also come from an `ONSLAUGHT_*` environment variable;
//! flags win. Flag types stay in this crate: the libraries take validated config structs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use onslaught_orchestrator::export::Endpoint;

use crate::parse;

/// Distributed HTTP load testing: an orchestrator and drivers coordinated over Kafka.
#[derive(Debug, Parser)]
#[command(name = "onslaught", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a load test in one process: the orchestrator and N drivers over the in-process
    /// transport (no Kafka needed), against URL or the built-in target.
    Run(Box<RunArgs>),
    /// Serve the built-in HTTP target (GET /ping, GET /metrics).
    ///
    /// GET /ping answers {"message":"pong"}; GET /metrics answers the counts of requests served.
    /// For user flows: POST /login, GET /items/{id} (bearer token), GET /cart (session cookie),
    /// POST /echo. Latency, stalls, errors and closed connections can be added to test a load
    /// generator.
    Target(TargetArgs),
    /// Serve the dashboard with N in-process drivers and the built-in target, and wait for tests
    /// to be started from the dashboard or the API.
    Serve(ServeArgs),
    /// Run the orchestrator over Kafka, with the REST API and the dashboard.
    Orchestrator(Box<OrchestratorArgs>),
    /// Run a driver node over Kafka.
    Driver(DriverArgs),
    /// Make the self-contained HTML report page of a test from its report folder (the one
    /// holding test.json), one file that opens offline.
    Report(ReportArgs),
    /// Compare a test with a base run: throughput, error rate and each latency percentile, with
    /// a verdict per metric; exits 1 when one regressed past its tolerance.
    Compare(CompareArgs),
}

/// `onslaught compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The base run: its report folder (holding test.json) or its test.json; with --api, its
    /// test id.
    pub base: PathBuf,

    /// The new run, likewise.
    pub new: PathBuf,

    /// Read both runs from a running orchestrator's API (http://host:port) by test id instead
    /// of from report folders.
    #[arg(long, value_name = "URL", env = "ONSLAUGHT_API")]
    pub api: Option<String>,

    /// How much worse each metric may get, comma-separated: `p99=10%,error_rate=0.5pp,max=50ms`
    /// (metrics: throughput, error_rate, p50, p90, p95, p99, p99.9, max, mean). Defaults: 10% for
    /// throughput and the latencies, 0.5pp for the error rate, max not judged.
    #[arg(long, value_name = "SPEC", env = "ONSLAUGHT_MAX_REGRESSION")]
    pub max_regression: Option<String>,

    /// Also write a comparison page: NEW's HTML report with BASE's charts overlaid and the
    /// verdicts (both report folders, or both test ids with --api).
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
}

/// `onslaught report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The test's report folder (`<report-dir>/<test-id>`, holding test.json and node-*.json).
    pub test_dir: PathBuf,

    /// Where to write the page [default: TEST_DIR/report.html].
    #[arg(long, value_name = "OUT")]
    pub html: Option<PathBuf>,
}

/// `onslaught serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Number of drivers.
    #[arg(short = 'w', long, default_value_t = 3, env = "ONSLAUGHT_DRIVERS")]
    pub drivers: u32,

    /// Address for the dashboard and REST API.
    #[arg(
        short,
        long,
        default_value = "127.0.0.1:8080",
        env = "ONSLAUGHT_LISTEN"
    )]
    pub listen: SocketAddr,

    /// Folder for the JSON reports.
    #[arg(long, default_value = "reports", env = "ONSLAUGHT_REPORT_DIR")]
    pub report_dir: PathBuf,

    /// Push every test's per-second series as OpenTelemetry metrics to this OTLP/HTTP endpoint
    /// (protobuf; http:// only), e.g. http://127.0.0.1:4318/v1/metrics.
    #[arg(long, value_name = "URL", env = "ONSLAUGHT_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<Endpoint>,

    /// Require `Authorization: Bearer TOKEN` on mutating API routes.
    #[arg(long, env = "ONSLAUGHT_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// Limits of the API server.
    #[command(flatten)]
    pub limits: ServeLimitArgs,
}

/// Limits of the API server (`orchestrator` and `serve`), against slow or too many clients.
#[derive(Debug, Args)]
pub struct ServeLimitArgs {
    /// Close a connection that has not sent a whole request head within this time.
    #[arg(long, value_parser = parse::duration, default_value = "10s", env = "ONSLAUGHT_HEADER_TIMEOUT")]
    pub header_timeout: Duration,

    /// Answer 408 and close when a request body has not fully arrived within this time.
    #[arg(long, value_parser = parse::duration, default_value = "30s", env = "ONSLAUGHT_BODY_TIMEOUT")]
    pub body_timeout: Duration,

    /// Connections served at once; more wait until one closes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..), env = "ONSLAUGHT_MAX_CONNECTIONS")]
    pub max_connections: u32,
}

impl ServeLimitArgs {
    /// The limits the API server takes.
    pub fn limits(&self) -> onslaught_api::ServeLimits {
        onslaught_api::ServeLimits {
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }
}

/// How to reach Kafka (shared by the orchestrator and the driver).
#[derive(Debug, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers, HOST:PORT[,HOST:PORT...].
    #[arg(short, long, env = "ONSLAUGHT_BROKERS")]
    pub brokers: String,

    /// Prefix for the topic names, for clusters shared with other systems.
    #[arg(long, default_value = "", env = "ONSLAUGHT_TOPIC_PREFIX")]
    pub topic_prefix: String,

    /// librdkafka setting passed straight through, KEY=VALUE (repeatable; in
    /// ONSLAUGHT_KAFKA_CONFIG, one per line), e.g. security.protocol=SASL_SSL.
    #[arg(long = "kafka-config", value_parser = parse::key_value, env = "ONSLAUGHT_KAFKA_CONFIG", value_delimiter = '\n')]
    pub kafka_config: Vec<(String, String)>,
}

/// `onslaught orchestrator`.
#[derive(Debug, Args)]
pub struct OrchestratorArgs {
    /// Kafka.
    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// Address for the REST API and the dashboard.
    #[arg(
        short,
        long,
        default_value = "127.0.0.1:8080",
        env = "ONSLAUGHT_LISTEN"
    )]
    pub listen: SocketAddr,

    /// Folder for the JSON reports (and the test history reloaded at start).
    #[arg(long, default_value = "reports", env = "ONSLAUGHT_REPORT_DIR")]
    pub report_dir: PathBuf,

    /// Push every test's per-second series as OpenTelemetry metrics to this OTLP/HTTP endpoint
    /// (protobuf; http:// only), e.g. http://127.0.0.1:4318/v1/metrics.
    #[arg(long, value_name = "URL", env = "ONSLAUGHT_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<Endpoint>,

    /// Require `Authorization: Bearer TOKEN` on mutating API routes.
    #[arg(long, env = "ONSLAUGHT_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// Origin allowed to call the API from a browser (CORS); none by default.
    #[arg(long, env = "ONSLAUGHT_ALLOWED_ORIGIN")]
    pub allowed_origin: Option<String>,

    /// Serve the dashboard from this folder (e.g. `dashboard/dist` while developing it) instead
    /// of the one built into the binary.
    #[arg(long, env = "ONSLAUGHT_DASHBOARD_DIR")]
    pub dashboard_dir: Option<PathBuf>,

    /// Shared secret: sign test_config and trigger messages (HMAC-SHA256) so drivers started
    /// with the same secret obey only this orchestrator.
    #[arg(long, env = "ONSLAUGHT_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// A driver silent this long is shown as missing.
    #[arg(long, value_parser = parse::duration, default_value = "3s", env = "ONSLAUGHT_MISSING_AFTER")]
    pub missing_after: Duration,

    /// A driver silent this long is dead; a running test stops waiting for it.
    #[arg(long, value_parser = parse::duration, default_value = "10s", env = "ONSLAUGHT_DEAD_AFTER")]
    pub dead_after: Duration,

    /// Run as one of a cluster of orchestrators with this name (same Kafka brokers and topic
    /// prefix): one is elected active through Kafka, the others stand by (their API redirects
    /// to the active one) and take over when it dies. Share --report-dir between them.
    #[arg(long, value_name = "NAME", env = "ONSLAUGHT_CLUSTER", value_parser = parse::cluster_name)]
    pub cluster: Option<String>,

    /// With --cluster: the URL of this orchestrator's API as the others' clients reach it (where
    /// standbys redirect to); by default http://<--listen address>.
    #[arg(
        long,
        value_name = "URL",
        env = "ONSLAUGHT_ADVERTISE_URL",
        requires = "cluster"
    )]
    pub advertise_url: Option<String>,

    /// Limits of the API server.
    #[command(flatten)]
    pub limits: ServeLimitArgs,
}

/// `onslaught driver`.
#[derive(Debug, Args)]
pub struct DriverArgs {
    /// Kafka.
    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// The orchestrator's URL (coordination goes through Kafka; this is checked and logged).
    #[arg(long, env = "ONSLAUGHT_ORCHESTRATOR")]
    pub orchestrator: String,

    /// This driver's unique id (default: hostname plus a random suffix).
    #[arg(long, env = "ONSLAUGHT_NODE_ID")]
    pub node_id: Option<String>,

    /// The address announced in `register` as node_IP (default: this machine's IP toward the
    /// brokers).
    #[arg(long, env = "ONSLAUGHT_ADVERTISE")]
    pub advertise: Option<String>,

    /// Shared secret: obey only test_config and trigger messages signed with it (unsigned and
    /// forged ones are ignored and counted).
    #[arg(long, env = "ONSLAUGHT_SECRET", hide_env_values = true)]
    pub secret: Option<String>,

    /// Only load-test targets matching these patterns: host, *.domain, IP or CIDR (repeatable,
    /// or comma-separated in ONSLAUGHT_ALLOW_TARGET). Others are refused with a reason.
    #[arg(long = "allow-target", env = "ONSLAUGHT_ALLOW_TARGET", value_delimiter = ',', value_parser = parse::target_pattern)]
    pub allow_targets: Vec<onslaught_driver::allow::TargetPattern>,

    /// Stop a running test when the orchestrator has been silent this long (meanwhile the test
    /// runs on and its metrics keep going to Kafka, so a restarted orchestrator resumes it).
    #[arg(long, value_parser = parse::duration, default_value = "30s", env = "ONSLAUGHT_ORCHESTRATOR_TIMEOUT")]
    pub orchestrator_timeout: Duration,

    /// Engine threads that send the load, each with its share of the connections (like wrk's
    /// -t). Default: one per core this process may run on.
    #[arg(long, env = "ONSLAUGHT_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// The kind of load test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TestKind {
    /// Requests go out as soon as a connection is free (closed loop).
    Avalanche,
    /// Requests go out on a fixed schedule: --delay between sends, --rate or --rate-total per
    /// second, or a rate curve (--stages, --stages-total).
    Tsunami,
}

/// How the end-of-run summary is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A summary for people.
    Text,
    /// The aggregate report as JSON on stdout.
    Json,
    /// The per-second series as CSV on stdout: the test's counts and latency percentiles, and
    /// the requests of each driver.
    Csv,
}

/// `onslaught run`.
///
/// With a plan file, the file gives the test and any load flag given (on the command line or in
/// its environment variable) overrides the file's setting: flags, then the file, then the
/// defaults shown here.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// URL to load, or a plan file (YAML, or JSON for `.json`): the document POST /api/tests
    /// takes, with flows, datasets (`csv:` files read relative to it) and load settings.
    /// Anything not starting with http:// or https:// is a file. Default: start the built-in
    /// target and load its /ping.
    #[arg(value_name = "URL|PLAN", env = "ONSLAUGHT_URL")]
    pub url: Option<String>,

    /// A vegeta-style targets file: `METHOD URL` lines, each followed by `Name: value` header
    /// lines and an optional `@body-file` line (relative to the targets file), targets separated
    /// by blank lines. Several targets run as one flow, one named request each.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "url",
        env = "ONSLAUGHT_TARGETS"
    )]
    pub targets: Option<PathBuf>,

    /// Number of drivers [default: the plan file's `drivers`, else 3].
    #[arg(short = 'w', long, env = "ONSLAUGHT_DRIVERS")]
    pub drivers: Option<u32>,

    /// Test type [default: tsunami with a schedule (--rate, --delay, --rate-total, --stages,
    /// --stages-total), else avalanche].
    #[arg(short = 't', long = "type", value_enum, env = "ONSLAUGHT_TYPE")]
    pub kind: Option<TestKind>,

    /// Tsunami: gap between request sends on each driver (e.g. 10ms); implies --type tsunami.
    #[arg(long, value_parser = parse::duration, conflicts_with = "rate", env = "ONSLAUGHT_DELAY")]
    pub delay: Option<Duration>,

    /// Tsunami: requests per second PER DRIVER (total = rate x drivers; the default way);
    /// implies --type tsunami.
    #[arg(short = 'r', long, env = "ONSLAUGHT_RATE")]
    pub rate: Option<f64>,

    /// Tsunami: requests per second IN TOTAL over all drivers (each driver = total / drivers:
    /// driver k of n takes every arrival i with i mod n = k); instead of --rate.
    #[arg(long, env = "ONSLAUGHT_RATE_TOTAL", conflicts_with_all = ["rate", "delay"])]
    pub rate_total: Option<f64>,

    /// Tsunami: a rate curve PER DRIVER, DURATION:TARGET stages from 0 requests per second
    /// (`30s:100,2m:500,30s:0`: up to 100/s in 30 s, to 500/s in 2 min, down to 0 in 30 s); the
    /// test lasts the stages unless --duration is shorter. With --type avalanche the targets
    /// are VIRTUAL USERS (`30s:50,1m:50,10s:0`: ramping users, as k6's ramping-vus; one
    /// connection each, so -c is the peak).
    #[arg(long, value_parser = parse::stages, env = "ONSLAUGHT_STAGES",
          conflicts_with_all = ["rate", "delay", "rate_total"])]
    pub stages: Option<parse::StageList>,

    /// As --stages, the targets IN TOTAL over all drivers (a rate split as --rate-total; with
    /// --type avalanche, users split so the drivers' users add up to the curve).
    #[arg(long, value_parser = parse::stages, env = "ONSLAUGHT_STAGES_TOTAL",
          conflicts_with_all = ["rate", "delay", "rate_total", "stages"])]
    pub stages_total: Option<parse::StageList>,

    /// Statuses that count as success: statuses and classes, comma-separated (200,404 or 2xx).
    /// Others count as errors [default: 2xx,3xx].
    #[arg(long, value_parser = parse::expect_status, env = "ONSLAUGHT_EXPECT_STATUS")]
    pub expect_status: Option<onslaught_orchestrator::ExpectStatus>,

    /// Largest share of failed requests (0 to 1) with which the run still exits 0; by default
    /// any failed request makes it exit 1 [default: 0].
    #[arg(long, value_parser = parse::ratio, env = "ONSLAUGHT_MAX_ERROR_RATIO")]
    pub max_error_ratio: Option<f64>,

    /// A threshold judged on the merged numbers of all drivers, k6-style (`p99<250ms`,
    /// `error_rate<1%`, `rps>900`, `p99[30s]<300ms`); repeatable. A failed one makes the run
    /// exit 99. In the environment: separated by `;`.
    #[arg(
        long = "threshold",
        value_name = "EXPR",
        env = "ONSLAUGHT_THRESHOLDS",
        value_delimiter = ';'
    )]
    pub thresholds: Vec<String>,

    /// Stop the test on every driver as soon as a threshold fails (after --abort-grace).
    #[arg(long, env = "ONSLAUGHT_ABORT_ON_FAIL")]
    pub abort_on_fail: bool,

    /// With --abort-on-fail: how long after the start failing thresholds do not stop the test
    /// [default: 0s].
    #[arg(long, value_parser = parse::duration, env = "ONSLAUGHT_ABORT_GRACE")]
    pub abort_grace: Option<Duration>,

    /// Also write a JUnit XML report (one test case per threshold) to FILE, for CI systems.
    #[arg(long, value_name = "FILE", env = "ONSLAUGHT_JUNIT")]
    pub junit: Option<PathBuf>,

    /// Find the highest rate at which every --threshold holds: run steps of --duration each,
    /// from --rate (per driver) doubling until one fails, then bisecting; prints the curve of
    /// latency against rate and writes it to find-max.json in --report-dir. Exits 0 when a
    /// rate passed, 99 when none did.
    #[arg(long, requires = "thresholds", requires = "rate", conflicts_with_all = ["requests", "delay"], env = "ONSLAUGHT_FIND_MAX")]
    pub find_max: bool,

    /// With --find-max: stop once the lowest failing rate is within this share (0 to 1) of the
    /// highest passing one.
    #[arg(long, value_parser = parse::ratio, default_value_t = 0.05, env = "ONSLAUGHT_FIND_MAX_PRECISION")]
    pub find_max_precision: f64,

    /// With --find-max: most steps (tests) run.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100), env = "ONSLAUGHT_FIND_MAX_STEPS")]
    pub find_max_steps: u32,

    /// Concurrent connections per driver (also the cap on requests in flight; with flows, on
    /// virtual users) [default: 50].
    #[arg(short = 'c', long, env = "ONSLAUGHT_CONCURRENCY")]
    pub concurrency: Option<u32>,

    /// Requests PER DRIVER (total = requests x drivers); accepts 10k, 1m.
    #[arg(short = 'n', long, value_parser = parse::count, env = "ONSLAUGHT_REQUESTS")]
    pub requests: Option<u64>,

    /// With flows: flow iterations PER DRIVER (all its virtual users together); accepts 10k.
    #[arg(long, value_parser = parse::count, env = "ONSLAUGHT_ITERATIONS")]
    pub iterations: Option<u64>,

    /// Time bound per driver (e.g. 30s, 5m). Default 10s when neither the flags nor the plan
    /// file give a request count, an iteration count, stages or a duration.
    #[arg(short = 'z', long, value_parser = parse::duration, env = "ONSLAUGHT_DURATION")]
    pub duration: Option<Duration>,

    /// Per-request timeout [default: 30s].
    #[arg(long, value_parser = parse::duration, env = "ONSLAUGHT_TIMEOUT")]
    pub timeout: Option<Duration>,

    /// HTTP method [default: GET]. Not with a plan's flows, which say their own.
    #[arg(short = 'm', long, env = "ONSLAUGHT_METHOD")]
    pub method: Option<String>,

    /// Request header `Name: value` (repeatable; in ONSLAUGHT_HEADERS, one per line); with a
    /// plan file, added to its headers (with flows, to `defaults.headers`), replacing one of the
    /// same name.
    #[arg(short = 'H', long = "header", value_parser = parse::header, env = "ONSLAUGHT_HEADERS", value_delimiter = '\n')]
    pub headers: Vec<(String, String)>,

    /// Request body.
    #[arg(
        short = 'd',
        long,
        conflicts_with = "body_file",
        env = "ONSLAUGHT_BODY"
    )]
    pub body: Option<String>,

    /// Read the request body from a file (any bytes, at most 64 KiB).
    #[arg(long, env = "ONSLAUGHT_BODY_FILE")]
    pub body_file: Option<PathBuf>,

    /// Skip TLS certificate verification.
    #[arg(long, env = "ONSLAUGHT_INSECURE")]
    pub insecure: bool,

    /// Warn (summary and reports) about a driver that starts more than this after the test's
    /// start time (e.g. 500ms, at most 10m) [default: 500ms].
    #[arg(long, value_parser = parse::duration, env = "ONSLAUGHT_MAX_START_SKEW")]
    pub max_start_skew: Option<Duration>,

    /// Folder for the JSON reports.
    #[arg(long, default_value = "reports", env = "ONSLAUGHT_REPORT_DIR")]
    pub report_dir: PathBuf,

    /// Push every test's per-second series as OpenTelemetry metrics to this OTLP/HTTP endpoint
    /// (protobuf; http:// only), e.g. http://127.0.0.1:4318/v1/metrics.
    #[arg(long, value_name = "URL", env = "ONSLAUGHT_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<Endpoint>,

    /// Summary format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text, env = "ONSLAUGHT_OUTPUT")]
    pub output: Output,

    /// Hide the live progress display.
    #[arg(long, env = "ONSLAUGHT_QUIET")]
    pub quiet: bool,

    /// Add the latency's detailed percentile spectrum to the text summary (HdrHistogram's
    /// percentile distribution, as wrk2 prints it; hdrhistogram.org's plotter reads it).
    #[arg(long, env = "ONSLAUGHT_LATENCY_SPECTRUM")]
    pub latency_spectrum: bool,

    /// Also serve the dashboard and REST API (on --listen) and keep serving after the test
    /// until Ctrl-C.
    #[arg(long, env = "ONSLAUGHT_DASHBOARD")]
    pub dashboard: bool,

    /// Address for --dashboard.
    #[arg(long, default_value = "127.0.0.1:8080", env = "ONSLAUGHT_LISTEN")]
    pub listen: SocketAddr,
}

/// `onslaught target`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Address to listen on.
    #[arg(
        short,
        long,
        default_value = "127.0.0.1:8080",
        env = "ONSLAUGHT_TARGET_LISTEN"
    )]
    pub listen: SocketAddr,

    /// Added latency on every request: fixed (10ms) or a uniform range (5ms..50ms).
    #[arg(long, env = "ONSLAUGHT_TARGET_LATENCY")]
    pub latency: Option<onslaught_target::Latency>,

    /// Stall period: every this long, hold arriving requests for --stall-for.
    #[arg(long, value_parser = parse::duration, requires = "stall_for", env = "ONSLAUGHT_TARGET_STALL_EVERY")]
    pub stall_every: Option<Duration>,

    /// Stall length within each period.
    #[arg(long, value_parser = parse::duration, requires = "stall_every", env = "ONSLAUGHT_TARGET_STALL_FOR")]
    pub stall_for: Option<Duration>,

    /// Fraction of requests answered with --error-status.
    #[arg(long, value_parser = parse::ratio, default_value_t = 0.0, env = "ONSLAUGHT_TARGET_ERROR_RATIO")]
    pub error_ratio: f64,

    /// Status for --error-ratio.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(200..=599), env = "ONSLAUGHT_TARGET_ERROR_STATUS")]
    pub error_status: u16,

    /// Fraction of responses that close their connection.
    #[arg(long, value_parser = parse::ratio, default_value_t = 0.0, env = "ONSLAUGHT_TARGET_CLOSE_RATIO")]
    pub close_ratio: f64,

    /// Latency added per request in flight, on top of --latency: latency grows with load.
    /// Under an open load of R req/s the latency settles at L / (1 - K x R).
    #[arg(long, value_parser = parse::duration, env = "ONSLAUGHT_TARGET_LATENCY_PER_IN_FLIGHT")]
    pub latency_per_in_flight: Option<Duration>,

    /// CSV file of `user,password` lines (at most 10,000) that POST /login accepts, each
    /// counted in /metrics. Without it, any user logs in with --password.
    #[arg(long, env = "ONSLAUGHT_TARGET_ACCOUNTS", conflicts_with = "password")]
    pub accounts: Option<PathBuf>,

    /// The password any user logs in with when no --accounts file is given.
    #[arg(long, default_value = onslaught_target::DEFAULT_PASSWORD, env = "ONSLAUGHT_TARGET_PASSWORD")]
    pub password: String,

    /// The highest id GET /items/{id} finds; higher ids get a 404.
    #[arg(long, default_value_t = onslaught_target::DEFAULT_ITEMS, env = "ONSLAUGHT_TARGET_ITEMS")]
    pub items: u64,
}
