//! Child processes for end-to-end tests: killed on drop, and their announced addresses read from
//! their first lines of output. Fault tests also kill them (SIGKILL), stop them (SIGTERM) or
//! freeze them (SIGSTOP/SIGCONT).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running child process; killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct Child {
    inner: std::process::Child,
    /// The first stdout line containing the awaited marker.
    pub announced: String,
}

impl Child {
    /// Spawns `command` (stdout piped, stderr to `log` if given) and waits up to `timeout` for a
    /// stdout line containing `marker`. Later stdout is drained in the background.
    pub fn spawn(
        mut command: Command,
        marker: &str,
        timeout: Duration,
        log: Option<&std::path::Path>,
    ) -> Child {
        command.stdout(Stdio::piped()).stdin(Stdio::null());
        match log {
            Some(path) => command.stderr(std::fs::File::create(path).expect("create the log file")),
            None => command.stderr(Stdio::null()),
        };
        let mut inner = command.spawn().expect("spawn the child process");
        let stdout = inner.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        let marker = marker.to_owned();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && line.contains(&marker) {
                    let _ = tx.send(line);
                    sent = true;
                }
            }
        });
        let announced = match rx.recv_timeout(timeout) {
            Ok(line) => line,
            Err(_) => {
                let _ = inner.kill();
                panic!("the child did not announce itself within {timeout:?} (log: {log:?})");
            }
        };
        Child { inner, announced }
    }

    /// The first `http://host:port` in the announced line, without a trailing slash.
    pub fn url(&self) -> String {
        self.announced
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("an http:// URL in the announced line")
            .trim_end_matches('/')
            .to_owned()
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.inner.id()
    }

    /// Sends SIGTERM and waits up to `timeout` for a clean exit; returns whether it exited.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.inner.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if matches!(self.inner.try_wait(), Ok(Some(_))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Sends a signal by name (`STOP`, `CONT`, `TERM`, ...) without waiting; returns whether
    /// `kill` accepted it.
    pub fn signal(&self, name: &str) -> bool {
        Command::new("kill")
            .args(["-s", name, &self.inner.id().to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Freezes the process (SIGSTOP): it sends and answers nothing until [`Child::resume`], as
    /// if cut off from the network (its peers see its connections stall, not close).
    pub fn pause(&self) -> bool {
        self.signal("STOP")
    }

    /// Lets a paused process run again (SIGCONT).
    pub fn resume(&self) -> bool {
        self.signal("CONT")
    }

    /// Whether the process is still running (not exited; a paused process runs).
    pub fn is_running(&mut self) -> bool {
        matches!(self.inner.try_wait(), Ok(None))
    }

    /// The exit code once the process has exited by itself (`None` while it runs, or when a
    /// signal ended it).
    pub fn exit_code(&mut self) -> Option<i32> {
        self.inner.try_wait().ok().flatten().and_then(|s| s.code())
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.inner.kill();
        let _ = self.inner.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}
