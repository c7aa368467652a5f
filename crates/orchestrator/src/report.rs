//! JSON reports at the end of a test: one for the test (aggregate), one per node.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use protocol::wire_stats::encode_histogram;
use serde::{Deserialize, Serialize};

use crate::TestRequest;
use crate::totals::Totals;
use crate::views::{NodeFacts, SeriesPoint, StatsView, TestStatus, TestView};

/// Exact histograms kept in a report so results can be re-merged or re-analysed later.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Histograms {
    /// Latency histogram (µs), HdrHistogram V2 deflate, base64.
    pub latency: String,
    /// Service-time histogram, same encoding.
    pub service_time: String,
}

impl Histograms {
    /// Encodes the histograms of `totals`.
    pub fn of(totals: &Totals) -> Self {
        Self {
            latency: encode_histogram(&totals.latency),
            service_time: encode_histogram(&totals.service),
        }
    }
}

/// The aggregate report of one test (`<report_dir>/<test_id>/test.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestReport {
    /// Schema version of this file.
    pub report_version: u32,
    /// The test as the API shows it at its end (config, times, status, stats, series).
    #[serde(flatten)]
    pub test: TestView,
    /// Exact aggregate histograms.
    pub histograms: Histograms,
    /// The per-node report files, by node id.
    pub node_reports: BTreeMap<String, String>,
}

/// The report of one node in one test (`<report_dir>/<test_id>/node-<node_id>.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// Schema version of this file.
    pub report_version: u32,
    /// Test id.
    pub test_id: String,
    /// Node id.
    pub node_id: String,
    /// The test's configuration.
    pub config: TestRequest,
    /// The test's status.
    pub status: TestStatus,
    /// Start time, ms since the Unix epoch.
    pub started_at_ms: Option<u64>,
    /// End time.
    pub ended_at_ms: Option<u64>,
    /// What the node measured.
    pub stats: StatsView,
    /// Bookkeeping (finished, lost, messages).
    pub facts: NodeFacts,
    /// Requests this node sent per second.
    pub series: Vec<SeriesPoint>,
    /// Exact histograms.
    pub histograms: Histograms,
}

/// Writes `report` and every node report into `dir/<test_id>/`, atomically per file. Returns
/// the path of the aggregate report.
pub fn write(dir: &Path, mut report: TestReport, nodes: Vec<NodeReport>) -> io::Result<PathBuf> {
    let folder = dir.join(safe_name(&report.test.id));
    std::fs::create_dir_all(&folder)?;
    for node in &nodes {
        let path = folder.join(format!("node-{}.json", safe_name(&node.node_id)));
        write_json(&path, node)?;
        report
            .node_reports
            .insert(node.node_id.clone(), path.display().to_string());
    }
    let path = folder.join("test.json");
    report.test.report_path = Some(path.display().to_string());
    write_json(&path, &report)?;
    Ok(path)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Ids come from the network: keep file names to a safe alphabet.
fn safe_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_owned()
}

/// Reads every aggregate report under `dir` (for history after a restart).
pub fn load_all(dir: &Path) -> Vec<TestReport> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut reports: Vec<TestReport> = entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("test.json")).ok())
        .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
        .collect();
    reports.sort_by_key(|r| r.test.created_at_ms);
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_escape_the_report_dir() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name("driver-1"), "driver-1");
    }
}
