//! Reading and writing topics with kcat (Debian's Kafka command-line client, installed by
//! `scripts/setup.sh`), independently of the Kafka client under test.

use std::io::Write;
use std::process::{Command, Stdio};

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    /// The record's key (empty when it has none).
    pub key: String,
    /// The payload as text.
    pub payload: String,
}

impl Record {
    /// The payload parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// Every record of `topic` from the beginning up to its current end, all partitions (per
/// partition in order). Keys and payloads must not contain newlines (JSON payloads do not).
pub fn consume(bootstrap: &str, topic: &str) -> Vec<Record> {
    let output = Command::new("kcat")
        .args([
            "-b",
            bootstrap,
            "-C",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
        ])
        .args(["-f", "%k\\t%s\\n"])
        .stdin(Stdio::null())
        .output()
        .expect("kcat is installed (scripts/setup.sh)");
    assert!(
        output.status.success(),
        "kcat -C -t {topic} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (key, payload) = line.split_once('\t').unwrap_or(("", line));
            Record {
                key: key.to_owned(),
                payload: payload.to_owned(),
            }
        })
        .collect()
}

/// Publishes one record on `topic` with `key` (acknowledged by the broker before returning).
/// `payload` must be a single line.
pub fn produce(bootstrap: &str, topic: &str, key: &str, payload: &str) {
    assert!(!payload.contains('\n'), "kcat -P sends one record per line");
    let mut child = Command::new("kcat")
        .args(["-b", bootstrap, "-P", "-t", topic, "-k", key])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat is installed (scripts/setup.sh)");
    {
        let mut stdin = child.stdin.take().expect("piped stdin");
        writeln!(stdin, "{payload}").expect("write to kcat");
    }
    let output = child.wait_with_output().expect("wait for kcat");
    assert!(
        output.status.success(),
        "kcat -P -t {topic} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
