//! A real, throwaway Apache Kafka broker for tests, started with `scripts/kafka-broker.sh`.
//!
//! [`Broker::shared`] is one broker per test binary, started on first use and stopped by the
//! script's watchdog when the test process exits (statics are never dropped). [`Broker::start`]
//! is a broker of one's own, stopped and deleted on drop; [`Broker::stop`] and
//! [`Broker::restart`] take it down and bring it back on the same port with its data (fault
//! tests). Broker folders live under the system
//! temp folder in `onslaught-kafka-brokers/PID-N`; folders left by earlier, dead test processes
//! are removed on the next start.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The script, from this crate's folder.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/kafka-broker.sh");

/// A running single-node broker.
#[derive(Debug)]
pub struct Broker {
    /// Its folder (config, data, log).
    dir: PathBuf,
    /// `127.0.0.1:PORT`.
    pub bootstrap: String,
}

impl Broker {
    /// The broker shared by every test of this binary.
    pub fn shared() -> &'static Broker {
        static SHARED: OnceLock<Broker> = OnceLock::new();
        SHARED.get_or_init(Broker::start)
    }

    /// A broker of one's own.
    pub fn start() -> Broker {
        Broker::start_on("127.0.0.1")
    }

    /// A broker of one's own whose client listener binds and advertises `host` (an address of
    /// this machine, e.g. the host side of a test's veth pair).
    pub fn start_on(host: &str) -> Broker {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join("onslaught-kafka-brokers");
        std::fs::create_dir_all(&root).unwrap();
        sweep(&root);
        let pid = std::process::id();
        let dir = root.join(format!("{pid}-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
        let started = Instant::now();
        let output = Command::new("bash")
            .arg(SCRIPT)
            .arg("start")
            .arg("--dir")
            .arg(&dir)
            .args(["--host", host])
            .args(["--owner-pid", &pid.to_string()])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/kafka-broker.sh");
        assert!(output.status.success(), "kafka-broker.sh start failed");
        let bootstrap = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        assert!(
            bootstrap.starts_with(&format!("{host}:")),
            "odd address {bootstrap:?}"
        );
        eprintln!("kafka broker {bootstrap} ready in {:?}", started.elapsed());
        Broker { dir, bootstrap }
    }

    /// Stops the broker, keeping its folder (idempotent).
    pub fn stop(&self) {
        script_stop(&self.dir, false);
    }

    /// Starts a stopped broker again with its data, on the same client port (so clients that
    /// know `bootstrap` reconnect by themselves). Panics if it cannot start or the port was
    /// taken meanwhile. A running broker is left alone.
    pub fn restart(&self) {
        let started = Instant::now();
        let pid = std::process::id();
        let output = Command::new("bash")
            .arg(SCRIPT)
            .arg("start")
            .arg("--dir")
            .arg(&self.dir)
            .args(["--port", &self.port().to_string()])
            .args(["--owner-pid", &pid.to_string()])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/kafka-broker.sh");
        assert!(
            output.status.success(),
            "kafka-broker.sh start (again) failed"
        );
        let bootstrap = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        assert_eq!(
            bootstrap, self.bootstrap,
            "the broker came back on another address"
        );
        eprintln!(
            "kafka broker {bootstrap} started again in {:?}",
            started.elapsed()
        );
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.bootstrap
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("bootstrap ends with :PORT")
    }

    /// Its folder (config, data, `broker.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        script_stop(&self.dir, true);
    }
}

fn script_stop(dir: &Path, remove: bool) {
    let mut command = Command::new("bash");
    command.arg(SCRIPT).arg("stop").arg("--dir").arg(dir);
    if remove {
        command.arg("--rm");
    }
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("kafka-broker.sh stop --dir {} failed", dir.display());
    }
}

/// Stops and deletes the broker folders of test processes that are gone.
fn sweep(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.split('-').next()) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            script_stop(&entry.path(), true);
        }
    }
}
