//! `onslaught-bench`: the parts of the benchmark that need onslaught's own crates.
//!
//! - `wire`: one real driver and the orchestrator over a counting in-process transport, running
//!   a real test against `--url`; prints the bytes and messages each topic carried per
//!   driver-second.
//! - `merge`: N simulated drivers (register, heartbeat every second, acknowledge the config,
//!   publish a metrics message every `--every-ms` with realistic histograms, then a final one)
//!   against a real orchestrator; prints the orchestrator's CPU while merging. In process (the
//!   orchestrator on a thread of its own, whose CPU time is read from
//!   /proc/self/task/TID/schedstat; `orchestrator_all_threads_core_percent` adds the blocking
//!   threads its runtime spawns, where checkpoints are written) or, with `--brokers`, over a
//!   real Kafka broker with the real `onslaught orchestrator` process (CPU from /proc/PID/stat).
//! - `recv-target`: a minimal HTTP/1.1 server that answers `{"message":"pong"}` and records the
//!   arrival time of every request (ns, little-endian u64) into `--out` when it gets SIGTERM or
//!   after `--seconds`: the receiver's view of a scheduled run's send times.
//!
//! Every command prints one JSON object on stdout. Arguments are `--name value` pairs.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use onslaught_orchestrator::{Orchestrator, OrchestratorConfig, TestPlan, TestRequest};
use onslaught_protocol::{
    Heartbeat, HeartbeatState, NodeState, PROTOCOL_VERSION, Register, Role, TestConfig, Topic,
    Trigger, TriggerAction, decode, encode, now_ms,
};
use serde_json::json;
use onslaught_stats::Histogram;
use tokio_util::sync::CancellationToken;
use onslaught_transport::{InProcess, Subscription, Transport, TransportError};

type Res<T> = Result<T, String>;

fn main() {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let opts = match parse_opts(&rest) {
        Ok(o) => o,
        Err(e) => fail(&e),
    };
    let outcome = match command.as_str() {
        "wire" => wire(&opts),
        "merge" => merge(&opts),
        "recv-target" => recv_target(&opts),
        _ => Err(format!(
            "usage: onslaught-bench wire|merge|recv-target [--name value]... (got `{command}`)"
        )),
    };
    match outcome {
        Ok(value) => println!("{value}"),
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("onslaught-bench: {message}");
    std::process::exit(1);
}

struct Opts(HashMap<String, String>);

fn parse_opts(args: &[String]) -> Res<Opts> {
    let mut map = HashMap::new();
    let mut it = args.iter();
    while let Some(name) = it.next() {
        let key = name
            .strip_prefix("--")
            .ok_or_else(|| format!("expected --name, got `{name}`"))?;
        let value = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
        map.insert(key.to_owned(), value.clone());
    }
    Ok(Opts(map))
}

impl Opts {
    fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> Res<T> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("bad --{name} `{v}`")),
        }
    }
    fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

fn runtime(threads: usize) -> Res<tokio::runtime::Runtime> {
    let mut b = if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    b.enable_all().build().map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Counting transport

/// Counts what is published through it, per topic, then passes it on.
struct Counting {
    inner: Arc<dyn Transport>,
    bytes: [AtomicU64; 5],
    messages: [AtomicU64; 5],
}

fn topic_index(topic: Topic) -> usize {
    Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0)
}

impl Counting {
    fn new(inner: Arc<dyn Transport>) -> Self {
        Self {
            inner,
            bytes: Default::default(),
            messages: Default::default(),
        }
    }
    fn report(&self, seconds: f64) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for topic in Topic::ALL {
            let i = topic_index(topic);
            let bytes = self.bytes[i].load(Ordering::Relaxed);
            let messages = self.messages[i].load(Ordering::Relaxed);
            out.insert(
                topic.name().to_owned(),
                json!({
                    "bytes": bytes,
                    "messages": messages,
                    "bytes_per_second": bytes as f64 / seconds,
                    "messages_per_second": messages as f64 / seconds,
                    "mean_message_bytes": if messages > 0 { bytes as f64 / messages as f64 } else { 0.0 },
                }),
            );
        }
        serde_json::Value::Object(out)
    }
}

impl Transport for Counting {
    fn publish(
        &self,
        topic: Topic,
        key: &str,
        payload: Bytes,
    ) -> BoxFuture<'_, Result<(), TransportError>> {
        let i = topic_index(topic);
        self.bytes[i].fetch_add(payload.len() as u64, Ordering::Relaxed);
        self.messages[i].fetch_add(1, Ordering::Relaxed);
        self.inner.publish(topic, key, payload)
    }
    fn subscribe(&self, topic: Topic) -> BoxFuture<'_, Result<Subscription, TransportError>> {
        self.inner.subscribe(topic)
    }
}

fn temp_dir(tag: &str) -> Res<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "onslaught-bench-{tag}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

// ---------------------------------------------------------------------------------------------
// wire: real driver, real orchestrator, counted bytes

fn wire(opts: &Opts) -> Res<serde_json::Value> {
    let url = opts.str("url").ok_or("--url is required")?.to_owned();
    let seconds: u64 = opts.get("seconds", 10)?;
    let rate: f64 = opts.get("rate", 0.0)?;
    let concurrency: u32 = opts.get("concurrency", 64)?;
    let rt = runtime(0)?;
    rt.block_on(async move {
        let inner: Arc<dyn Transport> = Arc::new(InProcess::new());
        let driver_side = Arc::new(Counting::new(Arc::clone(&inner)));
        let orchestrator_side = Arc::new(Counting::new(Arc::clone(&inner)));
        let reports = temp_dir("wire")?;
        let stop = CancellationToken::new();
        let orchestrator = Orchestrator::new(
            OrchestratorConfig::new(&reports),
            Arc::clone(&orchestrator_side) as Arc<dyn Transport>,
        );
        let consumer = orchestrator
            .spawn(stop.clone())
            .await
            .map_err(|e| e.to_string())?;
        let driver_task = tokio::spawn(onslaught_driver::run(
            onslaught_driver::DriverConfig::new("bench-driver-1", "in-process"),
            Arc::clone(&driver_side) as Arc<dyn Transport>,
            Arc::new(onslaught_driver::DriverStats::default()),
            stop.clone(),
        ));
        if orchestrator
            .wait_for_drivers(1, Duration::from_secs(10))
            .await
            < 1
        {
            return Err("the driver did not come up".to_owned());
        }
        let kind = if rate > 0.0 { "tsunami" } else { "avalanche" };
        let mut request = TestRequest::new(kind, &url);
        request.duration_ms = Some(seconds * 1000);
        request.concurrency = concurrency;
        request.drivers = Some(1);
        request.rate = (rate > 0.0).then_some(rate);
        request.start = true;
        let started = Instant::now();
        let test = orchestrator
            .create_test(TestPlan::try_from(request).map_err(|e| e.to_string())?)
            .await
            .map_err(|e| e.to_string())?;
        let done = orchestrator
            .wait_test(&test.id)
            .await
            .map_err(|e| e.to_string())?;
        let wall = started.elapsed().as_secs_f64();
        stop.cancel();
        let _ = consumer.await;
        let _ = driver_task.await;
        let _ = std::fs::remove_dir_all(&reports);
        Ok(json!({
            "kind": kind,
            "rate": rate,
            "seconds": wall,
            "requests_sent": done.aggregate.counters.requests_sent,
            "status": format!("{:?}", done.status),
            "driver": driver_side.report(wall),
            "orchestrator": orchestrator_side.report(wall),
        }))
    })
}

// ---------------------------------------------------------------------------------------------
// merge: simulated drivers against a real orchestrator

/// What every simulated driver shares: the test being run, as the control topics announce it.
#[derive(Clone, Debug, Default)]
struct Control {
    config: Option<TestConfig>,
    trigger: Option<Trigger>,
}

/// Histograms shaped like a driver's interval at ~20k requests/s: body 0.2-3 ms, a tail to 50 ms.
fn template_histograms(samples: usize) -> (String, String, onslaught_stats::Summary, u64) {
    let mut latency = Histogram::new();
    let mut service = Histogram::new();
    for _ in 0..samples {
        let base = 200 + fastrand::u64(0..2_800);
        let v = if fastrand::u32(0..1000) < 5 {
            base + fastrand::u64(0..50_000)
        } else {
            base
        };
        latency.record_micros(v);
        service.record_micros(v.saturating_sub(fastrand::u64(0..100)).max(1));
    }
    let summary = latency.summary();
    (
        onslaught_protocol::wire_stats::encode_histogram(&latency),
        onslaught_protocol::wire_stats::encode_histogram(&service),
        summary,
        samples as u64,
    )
}

struct Sim {
    transport: Arc<dyn Transport>,
    control: tokio::sync::watch::Receiver<Control>,
    every: Duration,
    hist: Arc<(String, String, onslaught_stats::Summary, u64)>,
    published: Arc<AtomicU64>,
}

async fn publish_msg<M: onslaught_protocol::Message>(transport: &Arc<dyn Transport>, key: &str, m: &M) {
    // A simulated driver does not retry: a failed publish is visible in the orchestrator's
    // missing-message count.
    let _ = transport
        .publish(M::TOPIC, key, Bytes::from(encode(m)))
        .await;
}

impl Sim {
    async fn run(mut self, id: String, offset: Duration, shutdown: CancellationToken) {
        publish_msg(&self.transport, &id, &Register::new(&id, "simulated")).await;
        let start = tokio::time::Instant::now() + offset;
        let mut heartbeat = tokio::time::interval_at(start, Duration::from_secs(1));
        let mut metrics = tokio::time::interval_at(start, self.every);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        metrics.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut state = HeartbeatState::idle();
        let mut test: Option<(TestConfig, u64)> = None; // config, start_at_ms
        let mut seq = 0u64;
        let mut last_end = 0u64;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = heartbeat.tick() => {
                    publish_msg(&self.transport, &id, &Heartbeat::new(&id, Role::Driver, state.clone())).await;
                }
                changed = self.control.changed() => {
                    if changed.is_err() { break; }
                    let control = self.control.borrow_and_update().clone();
                    if let Some(config) = control.config.filter(|c| c.drivers.contains(&id)) {
                        let fresh = test.as_ref().is_none_or(|(t, _)| t.test_id != config.test_id);
                        if fresh {
                            state = HeartbeatState::for_test(NodeState::Configured, &config.test_id);
                            publish_msg(&self.transport, &id, &Heartbeat::new(&id, Role::Driver, state.clone())).await;
                            test = Some((config, 0));
                            seq = 0;
                            last_end = 0;
                        }
                        if let (Some((config, at)), Some(trigger)) = (test.as_mut(), control.trigger)
                            && trigger.test_id == config.test_id
                            && trigger.trigger == TriggerAction::Start
                            && state.state == NodeState::Configured
                        {
                            *at = trigger.start_at_ms;
                            state = HeartbeatState::for_test(NodeState::Running, &config.test_id);
                            publish_msg(&self.transport, &id, &Heartbeat::new(&id, Role::Driver, state.clone())).await;
                        }
                    }
                }
                _ = metrics.tick() => {
                    let Some((config, start_at)) = test.as_ref() else { continue };
                    if state.state != NodeState::Running || now_ms() < *start_at { continue; }
                    let elapsed = now_ms() - start_at;
                    let duration = config
                        .plan
                        .bound
                        .duration()
                        .map_or(10_000, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                    let is_final = elapsed >= duration;
                    let end = elapsed.min(duration);
                    seq += 1;
                    let (lat, svc, summary, count) = &*self.hist;
                    let message = metrics_message(MetricsFields {
                        node_id: &id,
                        test_id: &config.test_id,
                        seq,
                        is_final,
                        start_ms: last_end,
                        end_ms: end.max(last_end),
                        latency: lat,
                        service: svc,
                        summary: *summary,
                        count: *count,
                    });
                    last_end = end.max(last_end);
                    let _ = self.transport.publish(Topic::Metrics, &id, Bytes::from(message)).await;
                    self.published.fetch_add(1, Ordering::Relaxed);
                    if is_final {
                        state = HeartbeatState::for_test(NodeState::Finished, &config.test_id);
                        publish_msg(&self.transport, &id, &Heartbeat::new(&id, Role::Driver, state.clone())).await;
                        state = HeartbeatState::idle();
                        test = None;
                    }
                }
            }
        }
    }
}

/// Subscribes once to the control topics and shares what arrives with every simulated driver.
async fn control_feed(
    transport: &Arc<dyn Transport>,
    shutdown: CancellationToken,
) -> Res<tokio::sync::watch::Receiver<Control>> {
    let mut configs = transport
        .subscribe(Topic::TestConfig)
        .await
        .map_err(|e| e.to_string())?;
    let mut triggers = transport
        .subscribe(Topic::Trigger)
        .await
        .map_err(|e| e.to_string())?;
    let (tx, rx) = tokio::sync::watch::channel(Control::default());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(p) = configs.recv() => {
                    if let Ok(c) = decode::<TestConfig>(&p) {
                        tx.send_modify(|s| { s.config = Some(c); s.trigger = None; });
                    }
                }
                Some(p) = triggers.recv() => {
                    if let Ok(t) = decode::<Trigger>(&p) {
                        tx.send_modify(|s| s.trigger = Some(t));
                    }
                }
                else => break,
            }
        }
    });
    Ok(rx)
}

async fn spawn_sims(
    n: usize,
    transport: &Arc<dyn Transport>,
    every: Duration,
    shutdown: &CancellationToken,
    published: &Arc<AtomicU64>,
) -> Res<Vec<tokio::task::JoinHandle<()>>> {
    let control = control_feed(transport, shutdown.clone()).await?;
    let hist = Arc::new(template_histograms(10_000));
    let mut tasks = Vec::new();
    for i in 0..n {
        let sim = Sim {
            transport: Arc::clone(transport),
            control: control.clone(),
            every,
            hist: Arc::clone(&hist),
            published: Arc::clone(published),
        };
        // Spread the drivers' timers over the period, as independent machines would be.
        let offset = Duration::from_micros((i as u64 * 1_000_000) / n as u64);
        tasks.push(tokio::spawn(sim.run(
            format!("sim-{i:05}"),
            offset,
            shutdown.clone(),
        )));
    }
    Ok(tasks)
}

/// CPU time of one thread of this process, in seconds (from the scheduler's ns accounting).
fn thread_cpu(tid: &str) -> Res<f64> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .map_err(|e| e.to_string())?;
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or("bad schedstat")?;
    Ok(ns as f64 / 1e9)
}

/// CPU time of every thread of this process named `orchestrator`, in seconds: the
/// orchestrator's event loop and the blocking threads its runtime spawns (they inherit the name),
/// where checkpoints are summarised, encoded and written.
fn orchestrator_threads_cpu() -> Res<f64> {
    let mut total = 0.0;
    for task in std::fs::read_dir("/proc/self/task").map_err(|e| e.to_string())? {
        let tid = task.map_err(|e| e.to_string())?.file_name();
        let tid = tid.to_string_lossy();
        let comm =
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default();
        if comm.trim_end() == "orchestrator" {
            // A thread may end between listing and reading: it then counts as 0.
            total += thread_cpu(&tid).unwrap_or(0.0);
        }
    }
    Ok(total)
}

/// user+sys CPU time of a whole process, in seconds.
fn process_cpu(pid: u32) -> Res<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let after = text.rsplit_once(')').ok_or("bad stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    let utime: f64 = fields
        .get(11)
        .and_then(|v| v.parse().ok())
        .ok_or("bad utime")?;
    let stime: f64 = fields
        .get(12)
        .and_then(|v| v.parse().ok())
        .ok_or("bad stime")?;
    Ok((utime + stime) / 100.0) // USER_HZ is 100 on Linux
}

fn merge(opts: &Opts) -> Res<serde_json::Value> {
    let drivers: usize = opts.get("drivers", 100)?;
    let seconds: u64 = opts.get("seconds", 20)?;
    let every_ms: u64 = opts.get("every-ms", 500)?;
    let idle_seconds: u64 = opts.get("idle-seconds", 5)?;
    let warmup: u64 = opts.get("warmup", 2)?;
    if seconds <= warmup + 1 {
        return Err("--seconds must exceed --warmup by more than 1".to_owned());
    }
    match opts.str("brokers") {
        None => merge_in_process(drivers, seconds, every_ms, idle_seconds, warmup),
        Some(brokers) => {
            let onslaught = opts
                .str("onslaught")
                .ok_or("--onslaught PATH is required with --brokers")?;
            merge_kafka(
                brokers,
                onslaught,
                drivers,
                seconds,
                every_ms,
                idle_seconds,
                warmup,
            )
        }
    }
}

fn merge_in_process(
    drivers: usize,
    seconds: u64,
    every_ms: u64,
    idle_seconds: u64,
    warmup: u64,
) -> Res<serde_json::Value> {
    let transport: Arc<dyn Transport> = Arc::new(InProcess::new());
    let reports = temp_dir("merge")?;
    let shutdown = CancellationToken::new();
    // The orchestrator: a thread and a single-threaded runtime of its own.
    let (tid_tx, tid_rx) = std::sync::mpsc::channel::<String>();
    let (orch_tx, orch_rx) = std::sync::mpsc::channel::<Orchestrator>();
    let orch_transport = Arc::clone(&transport);
    let orch_shutdown = shutdown.clone();
    let orch_reports = reports.clone();
    let orch_thread = std::thread::Builder::new()
        .name("orchestrator".to_owned())
        .spawn(move || -> Res<()> {
            let tid = std::fs::read_link("/proc/thread-self")
                .map_err(|e| e.to_string())?
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .ok_or("no tid")?;
            let _ = tid_tx.send(tid);
            // Its blocking threads (checkpoints) carry the name too, so they are counted.
            let rt = tokio::runtime::Builder::new_current_thread()
                .thread_name("orchestrator")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let orchestrator =
                    Orchestrator::new(OrchestratorConfig::new(&orch_reports), orch_transport);
                let consumer = orchestrator
                    .spawn(orch_shutdown.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = orch_tx.send(orchestrator.clone());
                orch_shutdown.cancelled().await;
                let _ = consumer.await;
                Ok(())
            })
        })
        .map_err(|e| e.to_string())?;
    let tid = tid_rx.recv().map_err(|e| e.to_string())?;
    let orchestrator = orch_rx.recv().map_err(|e| e.to_string())?;

    // The simulated drivers: the other runtime.
    let rt = runtime(1)?;
    let published = Arc::new(AtomicU64::new(0));
    let result = rt.block_on(async {
        let sims = spawn_sims(
            drivers,
            &transport,
            Duration::from_millis(every_ms),
            &shutdown,
            &published,
        ).await?;
        let ready = orchestrator
            .wait_for_drivers(drivers, Duration::from_secs(30))
            .await;
        if ready < drivers {
            return Err(format!("only {ready} of {drivers} simulated drivers came up"));
        }
        // Idle: heartbeats only.
        let c0 = thread_cpu(&tid)?;
        tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
        let idle_cpu = thread_cpu(&tid)? - c0;

        let mut request = TestRequest::new("avalanche", "http://127.0.0.1:9/ping");
        request.duration_ms = Some(seconds * 1000);
        request.concurrency = 1;
        request.drivers = Some(drivers as u32);
        request.start = true;
        let messages0 = orchestrator.stats().metrics_messages.load(Ordering::Relaxed);
        let test = orchestrator
            .create_test(TestPlan::try_from(request).map_err(|e| e.to_string())?)
            .await
            .map_err(|e| e.to_string())?;
        // Measure the steady state: from warm-up to one second before the end.
        tokio::time::sleep(Duration::from_millis(250 + warmup * 1000)).await;
        let window = seconds - warmup - 1;
        let m1 = orchestrator.stats().metrics_messages.load(Ordering::Relaxed);
        let c1 = thread_cpu(&tid)?;
        let all1 = orchestrator_threads_cpu()?;
        let t1 = Instant::now();
        tokio::time::sleep(Duration::from_secs(window)).await;
        let c2 = thread_cpu(&tid)?;
        let all2 = orchestrator_threads_cpu()?;
        let m2 = orchestrator.stats().metrics_messages.load(Ordering::Relaxed);
        let wall = t1.elapsed().as_secs_f64();
        // What one look at the test costs (the API, the dashboard's stream and `wait_test` build
        // this view on every change).
        let v0 = Instant::now();
        let _ = orchestrator.test(&test.id);
        let view_ms = v0.elapsed().as_secs_f64() * 1e3;
        // Poll rather than `wait_test`: that builds the view on every message, which at 1,000
        // drivers would measure the view, not the merge.
        let deadline = Instant::now() + Duration::from_secs(seconds + 60);
        let done = loop {
            let view = orchestrator
                .test(&test.id)
                .ok_or_else(|| "the test vanished".to_owned())?;
            if view.status.is_final() && view.report_path.is_some() {
                break view;
            }
            if Instant::now() > deadline {
                return Err(format!("the test did not finish (status {:?})", view.status));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let merged = orchestrator.stats().metrics_messages.load(Ordering::Relaxed) - messages0;
        shutdown.cancel();
        for s in sims {
            let _ = s.await;
        }
        let busy = c2 - c1;
        let window_messages = m2 - m1;
        Ok(json!({
            "transport": "in-process",
            "drivers": drivers,
            "every_ms": every_ms,
            "window_seconds": wall,
            "orchestrator_cpu_seconds": busy,
            "orchestrator_core_percent": busy / wall * 100.0,
            "orchestrator_all_threads_core_percent": (all2 - all1) / wall * 100.0,
            "messages_in_window": window_messages,
            "cpu_us_per_metrics_message": if window_messages > 0 { busy / window_messages as f64 * 1e6 } else { 0.0 },
            "idle_heartbeats_core_percent": idle_cpu / idle_seconds as f64 * 100.0,
            "view_ms": view_ms,
            "metrics_messages_merged": merged,
            "metrics_messages_published": published.load(Ordering::Relaxed),
            "status": format!("{:?}", done.status),
            "message": done.message,
            "template_message_bytes": template_message_bytes(),
        }))
    });
    shutdown.cancel();
    let _ = orch_thread.join();
    let _ = std::fs::remove_dir_all(&reports);
    result
}

fn template_message_bytes() -> usize {
    let (lat, svc, summary, count) = template_histograms(10_000);
    let test_id = format!("t-{}", "0".repeat(32));
    metrics_message(MetricsFields {
        node_id: "sim-00000",
        test_id: &test_id,
        seq: 1,
        is_final: false,
        start_ms: 0,
        end_ms: 500,
        latency: &lat,
        service: &svc,
        summary,
        count,
    })
    .len()
}

/// What a simulated metrics message says.
struct MetricsFields<'a> {
    node_id: &'a str,
    test_id: &'a str,
    seq: u64,
    is_final: bool,
    start_ms: u64,
    end_ms: u64,
    latency: &'a str,
    service: &'a str,
    summary: onslaught_stats::Summary,
    count: u64,
}

/// A `metrics` message as a driver sends it, built as JSON so that optional fields added to
/// `onslaught_protocol::Metrics` later do not break this helper.
fn metrics_message(f: MetricsFields<'_>) -> Vec<u8> {
    let counters = onslaught_stats::Counters {
        requests_attempted: f.count,
        requests_sent: f.count,
        responses_received: f.count,
        status_codes: [(200, f.count)].into_iter().collect(),
        bytes_sent: f.count * 60,
        bytes_received: f.count * 120,
        ..onslaught_stats::Counters::default()
    };
    let mut summary = Vec::new();
    let _ = onslaught_protocol::wire_stats::assignment_names::serialize(
        &f.summary,
        &mut serde_json::Serializer::new(&mut summary),
    );
    let summary: serde_json::Value = serde_json::from_slice(&summary).unwrap_or_default();
    let value = json!({
        "protocol_version": PROTOCOL_VERSION,
        "node_id": f.node_id,
        "test_id": f.test_id,
        "report_id": format!("{}:{}:{}", f.test_id, f.node_id, f.seq),
        "seq": f.seq,
        "final": f.is_final,
        "interval_start_ms": f.start_ms,
        "interval_end_ms": f.end_ms,
        "sent_at_ms": now_ms(),
        "metrics": summary,
        "histogram": f.latency,
        "service_histogram": f.service,
        "counters": counters,
    });
    serde_json::to_vec(&value).unwrap_or_default()
}

/// A tiny HTTP/1.1 exchange with the orchestrator's API: returns status and body.
fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> Res<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("bad HTTP response")?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn free_port() -> Res<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn merge_kafka(
    brokers: &str,
    onslaught: &str,
    drivers: usize,
    seconds: u64,
    every_ms: u64,
    idle_seconds: u64,
    warmup: u64,
) -> Res<serde_json::Value> {
    let reports = temp_dir("merge-kafka")?;
    let port = free_port()?;
    let api = format!("127.0.0.1:{port}");
    let prefix = format!("bench{}-", fastrand::u32(..));
    let mut child = std::process::Command::new(onslaught)
        .args(["orchestrator", "--brokers", brokers, "--listen", &api])
        .args(["--topic-prefix", &prefix])
        .arg("--report-dir")
        .arg(&reports)
        .env("ONSLAUGHT_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {onslaught}: {e}"))?;
    let pid = child.id();
    let result = (|| -> Res<serde_json::Value> {
        // Wait for the API.
        let deadline = Instant::now() + Duration::from_secs(60);
        while http(&api, "GET", "/api/nodes", None).is_err() {
            if Instant::now() > deadline {
                return Err("the orchestrator's API did not come up".to_owned());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let rt = runtime(1)?;
        rt.block_on(async {
            let mut config = onslaught_kafka::KafkaConfig::new(brokers);
            config.topic_prefix.clone_from(&prefix);
            config.client_id = "onslaught-bench-sims".to_owned();
            let transport: Arc<dyn Transport> = Arc::new(
                onslaught_kafka::KafkaTransport::connect(config)
                    .await
                    .map_err(|e| e.to_string())?,
            );
            let shutdown = CancellationToken::new();
            let published = Arc::new(AtomicU64::new(0));
            let sims = spawn_sims(
                drivers,
                &transport,
                Duration::from_millis(every_ms),
                &shutdown,
                &published,
            ).await?;
            // Wait until the orchestrator lists every simulated driver.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let (_, body) = http(&api, "GET", "/api/nodes", None)?;
                let seen = body.matches("\"sim-").count();
                if seen >= drivers {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("the orchestrator sees {seen} of {drivers} drivers"));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let c0 = process_cpu(pid)?;
            tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
            let idle_cpu = process_cpu(pid)? - c0;
            let body = json!({
                "test_type": "avalanche", "url": "http://127.0.0.1:9/ping",
                "duration_ms": seconds * 1000, "drivers": drivers, "concurrency": 1, "start": true,
            })
            .to_string();
            let (status, created) = http(&api, "POST", "/api/tests", Some(&body))?;
            if !(200..300).contains(&status) {
                return Err(format!("POST /api/tests: {status} {created}"));
            }
            let id = serde_json::from_str::<serde_json::Value>(&created)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned))
                .ok_or("no test id in the API's answer")?;
            tokio::time::sleep(Duration::from_millis(250 + warmup * 1000)).await;
            let window = seconds - warmup - 1;
            let c1 = process_cpu(pid)?;
            let t1 = Instant::now();
            tokio::time::sleep(Duration::from_secs(window)).await;
            let c2 = process_cpu(pid)?;
            let wall = t1.elapsed().as_secs_f64();
            // Wait for the end of the test.
            let deadline = Instant::now() + Duration::from_secs(seconds + 60);
            let view = loop {
                let (_, body) = http(&api, "GET", &format!("/api/tests/{id}"), None)?;
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let status = v["status"].as_str().unwrap_or("").to_owned();
                if ["completed", "degraded", "failed", "aborted", "interrupted"]
                    .contains(&status.as_str())
                {
                    break v;
                }
                if Instant::now() > deadline {
                    return Err(format!("the test did not finish (status {status})"));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            };
            shutdown.cancel();
            for s in sims {
                let _ = s.await;
            }
            let busy = c2 - c1;
            let per_second = drivers as f64 * 1000.0 / every_ms as f64;
            Ok(json!({
                "transport": "kafka",
                "drivers": drivers,
                "every_ms": every_ms,
                "window_seconds": wall,
                "orchestrator_cpu_seconds": busy,
                "orchestrator_core_percent": busy / wall * 100.0,
                "messages_in_window": (per_second * wall) as u64,
                "cpu_us_per_metrics_message": busy / (per_second * wall) * 1e6,
                "idle_heartbeats_core_percent": idle_cpu / idle_seconds as f64 * 100.0,
                "metrics_messages_published": published.load(Ordering::Relaxed),
                "status": view["status"],
                "message": view["message"],
                "note": "whole orchestrator process (API, librdkafka threads), user+sys from /proc/PID/stat",
            }))
        })
    })();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&reports);
    result
}

// ---------------------------------------------------------------------------------------------
// recv-target: answers every request and timestamps its arrival

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 18\r\n\r\n{\"message\":\"pong\"}";

fn recv_target(opts: &Opts) -> Res<serde_json::Value> {
    let listen = opts.str("listen").unwrap_or("127.0.0.1:0").to_owned();
    let out = PathBuf::from(opts.str("out").ok_or("--out is required")?);
    let seconds: u64 = opts.get("seconds", 60)?;
    let rt = runtime(0)?;
    rt.block_on(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("recv-target listening on http://{addr}");
        // Tell the caller the port on stderr only; stdout carries the final JSON.
        let origin = Instant::now();
        let arrivals = Arc::new(parking_lot::Mutex::new(Vec::<u64>::with_capacity(1 << 20)));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        let deadline = tokio::time::sleep(Duration::from_secs(seconds));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = term.recv() => break,
                () = &mut deadline => break,
                accepted = listener.accept() => {
                    let Ok((mut stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let arrivals = Arc::clone(&arrivals);
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut out = Vec::with_capacity(4096);
                        // Bytes of a request-end marker "\r\n\r\n" matched so far, across reads.
                        let mut matched = 0usize;
                        loop {
                            let n = match stream.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            let now = u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
                            let mut ends = 0usize;
                            for &b in &buf[..n] {
                                let want = b"\r\n\r\n"[matched];
                                if b == want {
                                    matched += 1;
                                    if matched == 4 { ends += 1; matched = 0; }
                                } else {
                                    matched = usize::from(b == b'\r');
                                }
                            }
                            if ends == 0 { continue; }
                            {
                                let mut a = arrivals.lock();
                                for _ in 0..ends { a.push(now); }
                            }
                            out.clear();
                            for _ in 0..ends { out.extend_from_slice(RESPONSE); }
                            if stream.write_all(&out).await.is_err() { break; }
                        }
                    });
                }
            }
        }
        let arrivals = arrivals.lock().clone();
        let mut bytes = Vec::with_capacity(arrivals.len() * 8);
        for a in &arrivals {
            bytes.extend_from_slice(&a.to_le_bytes());
        }
        std::fs::write(&out, bytes).map_err(|e| e.to_string())?;
        Ok(json!({"requests": arrivals.len(), "out": out.display().to_string()}))
    })
}
