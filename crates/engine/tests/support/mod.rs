//! Set-up shared by the engine's test binaries: the built-in target on loopback, a load spec,
//! and a run drained into one interval.
#![allow(clippy::unwrap_used, dead_code)] // a failed set-up step should fail the test loudly

use std::sync::Arc;
use std::time::Duration;

use onslaught_engine::{LoadSpec, Mode, RequestTemplate};
use onslaught_stats::Measurements;
use onslaught_target::{Target, TargetConfig};
use tokio_util::sync::CancellationToken;

/// Held by each test that measures time or loads the CPU, so that within one test binary a
/// schedule is never timed while another test saturates the two cores of a CI machine.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// The built-in target on a free loopback port, and its base URL.
pub async fn serve(config: TargetConfig) -> (Arc<Target>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let target = Target::new(config);
    tokio::spawn(Arc::clone(&target).serve(listener, std::future::pending()));
    (target, format!("http://{addr}"))
}

/// A GET of `url` with a 5 s timeout.
pub fn spec(url: &str, mode: Mode, requests: Option<u64>, concurrency: u32) -> LoadSpec {
    LoadSpec {
        mode,
        requests,
        duration: None,
        concurrency,
        timeout: Duration::from_secs(5),
        insecure: false,
        threads: None,
        request: RequestTemplate::new("GET", url, &[], None).unwrap(),
        flows: None,
    }
}

/// Runs `spec` to the end: everything it recorded and how long it took.
pub async fn run(spec: LoadSpec) -> (Measurements, Duration) {
    let handle = onslaught_engine::start(spec, CancellationToken::new())
        .await
        .unwrap();
    let recorder = Arc::clone(&handle.recorder);
    let elapsed = handle.finished().await;
    (recorder.take(), elapsed)
}
