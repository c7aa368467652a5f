//! JSON reports at the end of a test: one for the test (aggregate), one per node.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use onslaught_protocol::wire_stats::encode_histogram_fast;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::{Deserialize, Serialize};

use onslaught_stats::Measurements;

use crate::totals::{Measured, shift_ms};
use crate::views::{NodeFacts, SeriesPoint, StatsView, TestStatus, TestView};
use onslaught_plan::{Accepted, TestRequest};

/// The version of the report files written (`report_version`). Files without one were written
/// before it existed, in the format of version 1.
pub const REPORT_VERSION: u32 = 1;

fn unversioned() -> u32 {
    1
}

/// Exact histograms kept in a report so results can be re-merged or re-analysed later.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Histograms {
    /// Latency histogram (µs), HdrHistogram V2 deflate, base64.
    pub latency: String,
    /// Service-time histogram, same encoding.
    pub service_time: String,
    /// The same per request name (absent for a test of one request).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_name: BTreeMap<String, Histograms>,
    /// Per flow: the duration of its completed iterations (µs, from their intended start,
    /// think times included), same encoding (absent for a test without flows).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flows: BTreeMap<String, String>,
}

impl Histograms {
    /// Encodes the histograms of `totals` (deflated for speed: a checkpoint encodes every
    /// node's), of each of its names, and each flow's iteration durations.
    pub fn of(totals: &Measurements) -> Self {
        Self {
            latency: encode_histogram_fast(&totals.latency),
            service_time: encode_histogram_fast(&totals.service),
            by_name: totals
                .by_name
                .iter()
                .map(|(name, part)| (name.clone(), Histograms::of(part)))
                .collect(),
            flows: totals
                .flows
                .iter()
                .map(|(name, flow)| (name.clone(), encode_histogram_fast(&flow.duration)))
                .collect(),
        }
    }
}

/// The aggregate report of one test (`<report_dir>/<test_id>/test.json`): the test as the API
/// shows it at its end, plus `report_version`, exact HdrHistograms and the per-node reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "Report")]
pub struct TestReport {
    /// Format version of this file: 1. Files written before the field existed are read as 1.
    #[serde(default = "unversioned")]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NodeReport {
    /// Format version of this file: 1. Files written before the field existed are read as 1.
    #[serde(default = "unversioned")]
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
    /// This node's own numbers per second (requests, responses, errors, latencies), on the
    /// test's clock (second 0 starts at the test's start time, so a late start shows).
    pub series: Vec<SeriesPoint>,
    /// Exact histograms.
    pub histograms: Histograms,
}

/// What the reports of a test are made of, taken under the state's lock without summarising or
/// encoding anything; [`ReportParts::build`] does that work, on any thread.
#[derive(Debug)]
pub struct ReportParts {
    /// The test's view, with empty statistics.
    pub test: TestView,
    /// All nodes merged, if already computed since the last change (else `build` sums them).
    pub aggregate: Option<Measured>,
    /// Per node: what it measured, its bookkeeping and its requests per second.
    pub nodes: Vec<NodeParts>,
    /// The statuses that count as success, per request name (the plan's).
    pub accepted: Accepted,
}

/// One node's part of [`ReportParts`].
#[derive(Debug)]
pub struct NodeParts {
    /// Node id.
    pub node_id: String,
    /// What it measured.
    pub measured: Measured,
    /// Bookkeeping.
    pub facts: NodeFacts,
    /// Requests it sent per second.
    pub series: Vec<SeriesPoint>,
}

impl ReportParts {
    /// The test id.
    pub fn id(&self) -> &str {
        &self.test.id
    }

    /// The aggregate report and the node reports. Summaries and encodings already computed
    /// since the nodes' last change are reused, and the ones computed here are kept for later.
    pub fn build(self) -> (TestReport, Vec<NodeReport>) {
        let mut test = self.test;
        let aggregate = self.aggregate.unwrap_or_else(|| {
            Measured::sum(
                self.nodes
                    .iter()
                    .map(|n| (&n.measured, shift_ms(n.facts.start_offset_ms))),
            )
        });
        let accepted = &self.accepted;
        test.aggregate = aggregate.stats().clone().judged(accepted);
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for node in self.nodes {
            let stats = node.measured.stats().clone().judged(accepted);
            test.nodes
                .insert(node.node_id.clone(), stats.without_names());
            test.node_facts
                .insert(node.node_id.clone(), node.facts.clone());
            nodes.push(NodeReport {
                report_version: REPORT_VERSION,
                test_id: test.id.clone(),
                node_id: node.node_id,
                config: test.config.clone(),
                status: test.status,
                started_at_ms: test.started_at_ms,
                ended_at_ms: test.ended_at_ms,
                stats,
                facts: node.facts,
                series: node.series,
                histograms: node.measured.histograms().clone(),
            });
        }
        let report = TestReport {
            report_version: REPORT_VERSION,
            histograms: aggregate.histograms().clone(),
            node_reports: BTreeMap::new(),
            test,
        };
        (report, nodes)
    }
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
pub(crate) fn safe_name(id: &str) -> String {
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

/// The JSON Schema (2020-12) of the aggregate report file as written (`docs/report.schema.json`).
pub fn test_report_schema() -> schemars::Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<TestReport>()
}

/// The JSON Schema (2020-12) of a node's report file as written
/// (`docs/node-report.schema.json`).
pub fn node_report_schema() -> schemars::Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<NodeReport>()
}

/// Reads every aggregate report under `dir` (for history after a restart). Files of a later
/// `report_version` than this build knows are skipped.
pub fn load_all(dir: &Path) -> Vec<TestReport> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut reports: Vec<TestReport> = entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("test.json")).ok())
        .filter_map(|bytes| serde_json::from_slice::<TestReport>(&bytes).ok())
        .filter(|report| {
            let known = report.report_version <= REPORT_VERSION;
            if !known {
                tracing::warn!(
                    test = %report.test.id,
                    version = report.report_version,
                    "skipping a report written by a later version"
                );
            }
            known
        })
        .collect();
    reports.sort_by_key(|r| r.test.created_at_ms);
    reports
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn file_names_cannot_escape_the_report_dir() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name("driver-1"), "driver-1");
    }
}
