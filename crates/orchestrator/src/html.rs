//! The self-contained HTML report of a test (`report.html` beside `test.json`): the dashboard's
//! report page (`dashboard/dist-report/report.html`, one file with every script and style
//! inlined, embedded in the binary by `build.rs`) with the report data filled into its
//! `<script type="application/json" id="report-data">` block.
//!
//! The data is what the report folder holds ([`ReportFolder`]: `test.json` and the node reports
//! it lists) plus the latency's percentile spectrum, computed here from the exact histogram, so
//! the page shows the files' own numbers. A binary built without the dashboard has no page to
//! fill: [`render`] says so ([`HtmlError::NotBuilt`]) and [`write_beside`] writes a short page
//! that says so instead of a broken one.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use onslaught_protocol::wire_stats::decode_histogram;
use schemars::JsonSchema;
use serde::Serialize;

use crate::compare::{Comparison, ComparisonRow, NameComparisonView};
use crate::report::{NodeReport, TestReport};

include!(concat!(env!("OUT_DIR"), "/report_template.rs"));

/// The report page's file name, beside `test.json`.
pub const FILE_NAME: &str = "report.html";

/// Where the page's data goes in the template: the whole text of its data block.
const DATA_MARKER: &str = "__ONSLAUGHT_REPORT_DATA__";

/// Steps per halving of the distance to 100% in the spectrum, as HdrHistogram's tools print it.
const SPECTRUM_TICKS: u32 = 5;

/// Why a report page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    /// This binary was built without the dashboard's report page.
    #[error(
        "this onslaught binary was built without the dashboard, so it has no report page: \
         run `cd dashboard && npm ci && npm run build`, then build onslaught again"
    )]
    NotBuilt,
    /// The embedded page has no data block (or more than one).
    #[error("the embedded report page has {0} data blocks instead of one")]
    Template(usize),
    /// `dir` is not a report folder (no `test.json` in it).
    #[error("{0} is not a report folder: it has no test.json")]
    NotAReport(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// A report file is not a report.
    #[error("{path} is not a report file: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: serde_json::Error,
    },
    /// A histogram of the report (the aggregate latency, a flow's durations) cannot be decoded.
    #[error("a histogram of {path} cannot be decoded: {reason}")]
    Histogram {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// A report folder as written: the aggregate report and the node reports it lists.
#[derive(Clone, Debug)]
pub struct ReportFolder {
    /// The folder.
    pub dir: PathBuf,
    /// `test.json`.
    pub report: TestReport,
    /// Each node's report, by node id.
    pub nodes: BTreeMap<String, NodeReport>,
}

impl ReportFolder {
    /// Reads `dir/test.json` and the node reports it lists. A node report is looked up by its
    /// file name in `dir` (the folder may have moved since it was written).
    pub fn read(dir: &Path) -> Result<Self, HtmlError> {
        let test_json = dir.join("test.json");
        if !test_json.is_file() {
            return Err(HtmlError::NotAReport(dir.to_owned()));
        }
        let report: TestReport = read_json(&test_json)?;
        let mut nodes = BTreeMap::new();
        for (node_id, written) in &report.node_reports {
            let name = Path::new(written)
                .file_name()
                .map_or_else(|| PathBuf::from(written), PathBuf::from);
            let node: NodeReport = read_json(&dir.join(name))?;
            nodes.insert(node_id.clone(), node);
        }
        Ok(Self {
            dir: dir.to_owned(),
            report,
            nodes,
        })
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, HtmlError> {
    let bytes = std::fs::read(path).map_err(|source| HtmlError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| HtmlError::Parse {
        path: path.to_owned(),
        source,
    })
}

/// What the report page reads from its data block.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReportPage<'a> {
    /// `test.json` as written.
    pub report: &'a TestReport,
    /// Each node's report file as written, by node id.
    pub nodes: &'a BTreeMap<String, NodeReport>,
    /// The aggregate latency's percentile spectrum (from `report.histograms.latency`), in
    /// HdrHistogram's percentile distribution steps.
    pub spectrum: Vec<SpectrumStep>,
    /// Per flow: its iteration durations' percentile spectrum (from
    /// `report.histograms.flows`); absent for a test without flows.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub flow_spectra: BTreeMap<String, Vec<SpectrumStep>>,
    /// On a comparison page (`onslaught compare --html`): the base run and the verdicts; this
    /// page's own run is the new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseRun<'a>>,
}

/// The base run of a comparison page.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BaseRun<'a> {
    /// The base run's `test.json`.
    pub report: &'a TestReport,
    /// Its latency spectrum.
    pub spectrum: Vec<SpectrumStep>,
    /// One row per metric, as `onslaught compare` prints them.
    pub rows: Vec<ComparisonRow>,
    /// Per request name of either run (tests with flows), as `onslaught compare` prints them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_name: Vec<NameComparisonView>,
}

/// One step of a latency percentile spectrum.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, JsonSchema)]
pub struct SpectrumStep {
    /// Latency at this step, ms.
    pub ms: f64,
    /// Percentile reached, 0..=1.
    pub quantile: f64,
    /// Responses at or below this latency.
    pub count: u64,
}

/// The aggregate latency's spectrum of `report`.
pub fn spectrum(report: &TestReport, path: &Path) -> Result<Vec<SpectrumStep>, HtmlError> {
    spectrum_of("histograms.latency", &report.histograms.latency, path)
}

/// Each flow's iteration-duration spectrum of `report`.
pub fn flow_spectra(
    report: &TestReport,
    path: &Path,
) -> Result<BTreeMap<String, Vec<SpectrumStep>>, HtmlError> {
    report
        .histograms
        .flows
        .iter()
        .map(|(name, encoded)| {
            Ok((
                name.clone(),
                spectrum_of("histograms.flows", encoded, path)?,
            ))
        })
        .collect()
}

/// The spectrum of the histogram `encoded` (at `field` of the report at `path`).
fn spectrum_of(
    field: &'static str,
    encoded: &str,
    path: &Path,
) -> Result<Vec<SpectrumStep>, HtmlError> {
    if encoded.is_empty() {
        return Ok(Vec::new());
    }
    let histogram = decode_histogram(field, encoded).map_err(|e| HtmlError::Histogram {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(histogram
        .spectrum(SPECTRUM_TICKS)
        .into_iter()
        .map(|p| SpectrumStep {
            ms: p.micros as f64 / 1000.0,
            quantile: p.quantile,
            count: p.count,
        })
        .collect())
}

/// The report page of `folder`.
pub fn render(folder: &ReportFolder) -> Result<String, HtmlError> {
    let template = TEMPLATE.ok_or(HtmlError::NotBuilt)?;
    let page = ReportPage {
        report: &folder.report,
        nodes: &folder.nodes,
        spectrum: spectrum(&folder.report, &folder.dir.join("test.json"))?,
        flow_spectra: flow_spectra(&folder.report, &folder.dir.join("test.json"))?,
        base: None,
    };
    fill(template, &page)
}

/// The comparison page of `new` against `base`: `new`'s report page with the base run's charts
/// overlaid and the comparison's verdicts.
pub fn render_comparison(
    base: &ReportFolder,
    new: &ReportFolder,
    comparison: &Comparison,
) -> Result<String, HtmlError> {
    let template = TEMPLATE.ok_or(HtmlError::NotBuilt)?;
    let page = ReportPage {
        report: &new.report,
        nodes: &new.nodes,
        spectrum: spectrum(&new.report, &new.dir.join("test.json"))?,
        flow_spectra: flow_spectra(&new.report, &new.dir.join("test.json"))?,
        base: Some(BaseRun {
            report: &base.report,
            spectrum: spectrum(&base.report, &base.dir.join("test.json"))?,
            rows: comparison.rows.iter().map(ComparisonRow::of).collect(),
            by_name: comparison
                .by_name
                .iter()
                .map(NameComparisonView::of)
                .collect(),
        }),
    };
    fill(template, &page)
}

/// `template` with `data` as the text of its one data block.
fn fill(template: &str, data: &impl Serialize) -> Result<String, HtmlError> {
    let blocks = template.matches(DATA_MARKER).count();
    if blocks != 1 {
        return Err(HtmlError::Template(blocks));
    }
    let json = serde_json::to_string(data).map_err(|source| HtmlError::Parse {
        path: PathBuf::from("report data"),
        source,
    })?;
    Ok(template.replacen(DATA_MARKER, &script_safe(&json), 1))
}

/// JSON that cannot end its `<script>` block or open another (`</script>`, `<!--`): `<`, `>`
/// and `&` occur only inside JSON strings, where their `\u` escapes mean the same.
fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

/// The page written instead of the report when this binary has no dashboard: it says so, and
/// where the numbers are.
fn not_built_page(folder: &ReportFolder) -> String {
    let id: String = folder
        .report
        .test
        .id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>onslaught \
         report {id}: not available</title></head><body>\n<h1>No report page for test \
         {id}</h1>\n<p>{}</p>\n<p>The numbers are in <code>test.json</code> beside this file; \
         <code>onslaught report FOLDER</code> makes this page again from them.</p>\n</body></html>\n",
        HtmlError::NotBuilt
    )
}

/// Writes `dir/report.html` from the report folder `dir` (atomically); returns its path. A
/// binary without the dashboard writes a page saying so (and logs it).
pub fn write_beside(dir: &Path) -> Result<PathBuf, HtmlError> {
    let folder = ReportFolder::read(dir)?;
    let page = match render(&folder) {
        Err(HtmlError::NotBuilt) => {
            tracing::warn!(
                test_id = folder.report.test.id,
                "{}; report.html says so",
                HtmlError::NotBuilt
            );
            not_built_page(&folder)
        }
        other => other?,
    };
    let path = dir.join(FILE_NAME);
    write_atomic(&path, page.as_bytes())?;
    Ok(path)
}

/// Writes `report.html` beside a final `test.json` (the report writer's one call after the JSON
/// reports). A page that cannot be made is logged; the JSON reports stand without it.
pub fn write_page_beside(test_json: &Path) {
    let Some(dir) = test_json.parent() else {
        return;
    };
    if let Err(e) = write_beside(dir) {
        tracing::warn!(folder = %dir.display(), "cannot write report.html: {e}");
    }
}

/// Writes `bytes` to `path` through a temporary file beside it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), HtmlError> {
    let io = |source| HtmlError::Io {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("html.tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Whether this binary carries the report page.
pub fn is_built() -> bool {
    TEMPLATE.is_some()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn data_cannot_close_its_script_block() {
        let template = "<script type=\"application/json\" id=\"report-data\">__ONSLAUGHT_REPORT_DATA__</script>";
        let data = serde_json::json!({ "message": "</script><script>alert(1)</script><!-- & -->" });
        let page = fill(template, &data).unwrap();
        assert_eq!(page.matches("</script>").count(), 1, "{page}");
        assert!(!page.contains("<!--"));
        let inner = page
            .strip_prefix("<script type=\"application/json\" id=\"report-data\">")
            .and_then(|p| p.strip_suffix("</script>"))
            .unwrap();
        let back: serde_json::Value = serde_json::from_str(inner).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn a_template_needs_exactly_one_data_block() {
        assert!(matches!(
            fill("<p>none</p>", &1),
            Err(HtmlError::Template(0))
        ));
        let two = format!("{DATA_MARKER}{DATA_MARKER}");
        assert!(matches!(fill(&two, &1), Err(HtmlError::Template(2))));
    }

    #[test]
    fn the_embedded_page_has_one_data_block() {
        match TEMPLATE {
            Some(template) => assert_eq!(template.matches(DATA_MARKER).count(), 1),
            None => assert!(
                std::env::var_os("ONSLAUGHT_REQUIRE_DASHBOARD").is_none(),
                "ONSLAUGHT_REQUIRE_DASHBOARD is set but dashboard/dist-report was not built"
            ),
        }
    }

    #[test]
    fn a_folder_without_test_json_is_not_a_report() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            ReportFolder::read(dir.path()),
            Err(HtmlError::NotAReport(_))
        ));
    }
}
