//! Helpers for tests that run the real `onslaught` binary: a target process, a run, /metrics.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// Every test that starts `onslaught run` holds this lock, so the load of one test does not skew
/// another's clock on a 2-core machine.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The binary under test.
pub fn onslaught() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onslaught"))
}

/// An `onslaught target` process on a free loopback port, killed on drop.
pub struct TargetProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl TargetProcess {
    pub fn start(extra: &[&str]) -> Self {
        Self::listen("127.0.0.1:0", extra)
    }

    /// The target on `address` (a loopback address with port 0).
    pub fn listen(address: &str, extra: &[&str]) -> Self {
        let mut child = onslaught()
            .args(["target", "--listen", address])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the target");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("the target prints its URL")
            .to_owned();
        Self { child, base }
    }

    /// GET /metrics, parsed.
    pub fn metrics(&self) -> serde_json::Value {
        let addr = self.base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap();
        serde_json::from_str(body).unwrap()
    }
}

impl Drop for TargetProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `onslaught run ARGS --quiet -o json --report-dir DIR` and parses its JSON output.
pub fn run_json(args: &[&str], report_dir: &Path) -> (serde_json::Value, Output) {
    let output = onslaught()
        .arg("run")
        .args(args)
        .args(["--quiet", "-o", "json", "--report-dir"])
        .arg(report_dir)
        .output()
        .expect("run onslaught");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (value, output)
}

/// A number at a JSON pointer.
pub fn num(value: &serde_json::Value, pointer: &str) -> f64 {
    value
        .pointer(pointer)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer}"))
}
