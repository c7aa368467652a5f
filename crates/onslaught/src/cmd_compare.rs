//! `onslaught compare BASE NEW [--max-regression SPEC]`: two tests' reports side by side, one
//! row per metric with its change and verdict (`onslaught_orchestrator::compare`), then per
//! request name (p50, p95, p99, error rate; a name in one run only says so); exit 1 when
//! a metric, of the whole or of a name, regressed past its tolerance, 2 when an input cannot be read. The reports come from
//! report folders, or with `--api URL` from a running orchestrator by test id.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use onslaught_orchestrator::compare::{
    self, Comparison, Metric, Presence, Row, Tolerances, Verdict,
};
use onslaught_orchestrator::html::{self, ReportFolder};
use onslaught_orchestrator::report::TestReport;

use crate::exit;
use crate::flags::CompareArgs;

/// How long one API request may take, connection included.
const API_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Prints the comparison; the exit code says whether anything regressed.
pub async fn run(args: &CompareArgs) -> anyhow::Result<u8> {
    if let Some(api) = &args.api {
        return run_api(args, api.trim_end_matches('/')).await;
    }
    let tolerances = match Tolerances::parse(args.max_regression.as_deref().unwrap_or("")) {
        Ok(t) => t,
        Err(e) => {
            errln!("error: --max-regression: {e}");
            return Ok(exit::BAD_CONFIG);
        }
    };
    let (base, new) = match (read(&args.base), read(&args.new)) {
        (Ok(base), Ok(new)) => (base, new),
        (Err(e), _) | (_, Err(e)) => {
            errln!("error: {e}");
            return Ok(exit::BAD_CONFIG);
        }
    };
    let comparison = compare::compare(&base, &new, &tolerances);
    outln!("{}", render(&base, &new, &comparison));
    if let Some(out) = &args.html {
        let folders = (folder_of(&args.base), folder_of(&args.new));
        let page = match (
            ReportFolder::read(&folders.0),
            ReportFolder::read(&folders.1),
        ) {
            (Ok(base), Ok(new)) => html::render_comparison(&base, &new, &comparison)?,
            (Err(e), _) | (_, Err(e)) => {
                errln!("error: --html: {e}");
                return Ok(exit::BAD_CONFIG);
            }
        };
        html::write_atomic(out, page.as_bytes())?;
        outln!("Comparison page: {}", out.display());
    }
    Ok(verdict(&comparison))
}

/// Prints the regressions (or that there is none) and gives the exit code.
fn verdict(comparison: &Comparison) -> u8 {
    let regressions: Vec<String> = comparison
        .regressions()
        .map(|r| format!("{} ({})", r.metric.name(), change(r)))
        .chain(
            comparison
                .name_regressions()
                .map(|(name, r)| format!("{name}: {} ({})", r.metric.name(), change(r))),
        )
        .collect();
    if regressions.is_empty() {
        outln!("No regression.");
        exit::OK
    } else {
        outln!("Regression: {}", regressions.join(", "));
        exit::TEST_FAILED
    }
}

/// The comparison of two tests an orchestrator knows, by id: their reports from
/// `GET /api/tests/{id}/report`, compared here as folders are; `--html` takes the page from
/// `GET /api/tests/{new}/compare.html`.
async fn run_api(args: &CompareArgs, api: &str) -> anyhow::Result<u8> {
    let tolerances = match Tolerances::parse(args.max_regression.as_deref().unwrap_or("")) {
        Ok(t) => t,
        Err(e) => {
            errln!("error: --max-regression: {e}");
            return Ok(exit::BAD_CONFIG);
        }
    };
    let ids = (args.base.to_string_lossy(), args.new.to_string_lossy());
    let (base, new) = match (
        fetch_report(api, &ids.0).await,
        fetch_report(api, &ids.1).await,
    ) {
        (Ok(base), Ok(new)) => (base, new),
        (Err(e), _) | (_, Err(e)) => {
            errln!("error: {e}");
            return Ok(exit::BAD_CONFIG);
        }
    };
    let comparison = compare::compare(&base, &new, &tolerances);
    outln!("{}", render(&base, &new, &comparison));
    if let Some(out) = &args.html {
        let query = serde_json::json!({
            "base": ids.0,
            "max_regression": args.max_regression.as_deref().unwrap_or(""),
        });
        let query = query_string(&query);
        let url = format!(
            "{api}/api/tests/{}/compare.html?{query}",
            url_escape(&ids.1)
        );
        match get(&url).await {
            Ok((200, page)) => {
                html::write_atomic(out, &page)?;
                outln!("Comparison page: {}", out.display());
            }
            Ok((status, body)) => {
                errln!(
                    "error: --html: {url} answered {status}: {}",
                    String::from_utf8_lossy(&body)
                );
                return Ok(exit::COULD_NOT_RUN);
            }
            Err(e) => {
                errln!("error: --html: {e}");
                return Ok(exit::COULD_NOT_RUN);
            }
        }
    }
    Ok(verdict(&comparison))
}

/// A test's report from the API.
async fn fetch_report(api: &str, id: &str) -> Result<TestReport, String> {
    let url = format!("{api}/api/tests/{}/report", url_escape(id));
    match get(&url).await? {
        (200, body) => {
            serde_json::from_slice(&body).map_err(|e| format!("{url} did not answer a report: {e}"))
        }
        (status, body) => Err(format!(
            "{url} answered {status}: {}",
            String::from_utf8_lossy(&body).trim()
        )),
    }
}

/// `key=value&...` of a JSON object of strings, percent-encoded.
fn query_string(object: &serde_json::Value) -> String {
    object
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{}={}", url_escape(k), url_escape(v.as_str().unwrap_or(""))))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn url_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// One HTTP/1.1 GET of an http:// URL, bounded by [`API_TIMEOUT`]: its status and body.
async fn get(url: &str) -> Result<(u16, bytes::Bytes), String> {
    use http_body_util::BodyExt as _;
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("--api: `{url}` is not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("--api: `{url}`: give an http:// address"));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| format!("--api: `{url}` has no host"))?
        .clone();
    let port = authority.port_u16().unwrap_or(80);
    let fetch = async {
        let stream = tokio::net::TcpStream::connect((authority.host(), port))
            .await
            .map_err(|e| format!("cannot reach {authority}: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("{authority}: {e}"))?;
        let driving = tokio::spawn(connection);
        let request = hyper::Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(hyper::header::HOST, authority.as_str())
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .to_bytes();
        driving.abort();
        Ok((status, body))
    };
    tokio::time::timeout(API_TIMEOUT, fetch)
        .await
        .map_err(|_| format!("{url}: no answer within {API_TIMEOUT:?}"))?
}

/// The report folder of an argument: itself, or the folder of its test.json.
fn folder_of(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_owned()
    } else {
        path.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

/// A report folder's `test.json`, or the file itself.
fn read(path: &Path) -> Result<TestReport, String> {
    let file: PathBuf = if path.is_dir() {
        path.join("test.json")
    } else {
        path.to_owned()
    };
    let bytes = std::fs::read(&file).map_err(|e| {
        format!(
            "{}: {e} (give a report folder or its test.json)",
            file.display()
        )
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a report file: {e}", file.display()))
}

fn value(metric: Metric, v: Option<f64>) -> String {
    match (metric, v) {
        (_, None) => "-".to_owned(),
        (Metric::Throughput, Some(v)) => format!("{v:.1}/s"),
        (Metric::ErrorRate, Some(v)) => format!("{:.2}%", v * 100.0),
        (Metric::Latency(_), Some(v)) => format!("{v:.3}ms"),
    }
}

fn change(row: &Row) -> String {
    match (row.metric, row.base, row.new) {
        (Metric::ErrorRate, Some(b), Some(n)) => format!("{:+.2}pp", (n - b) * 100.0),
        _ => match row.relative_change() {
            Some(c) => format!("{:+.1}%", c * 100.0),
            None if row.base == row.new => "0".to_owned(),
            None => "-".to_owned(),
        },
    }
}

fn render(base: &TestReport, new: &TestReport, c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Base  {} ({}, {})",
        base.test.id,
        status(base),
        base.test.config.url
    );
    let _ = writeln!(
        out,
        "New   {} ({}, {})\n",
        new.test.id,
        status(new),
        new.test.config.url
    );
    let _ = writeln!(
        out,
        "{:<12} {:>14} {:>14} {:>11} {:>10}  verdict",
        "metric", "base", "new", "change", "tolerance"
    );
    for row in &c.rows {
        row_line(&mut out, "", row);
    }
    if !c.by_name.is_empty() {
        let _ = writeln!(out, "\nPer request:");
        for name in &c.by_name {
            let note = match name.presence {
                Presence::Both => "",
                Presence::BaseOnly => "  (in the base run only)",
                Presence::NewOnly => "  (in the new run only)",
            };
            let _ = writeln!(out, "{}{note}", name.name);
            for row in &name.rows {
                row_line(&mut out, "  ", row);
            }
        }
    }
    out
}

/// One metric's line of the table, indented by `indent`.
fn row_line(out: &mut String, indent: &str, row: &Row) {
    let _ = writeln!(
        out,
        "{indent}{:<width$} {:>14} {:>14} {:>11} {:>10}  {}",
        row.metric.name(),
        value(row.metric, row.base),
        value(row.metric, row.new),
        change(row),
        row.tolerance.map_or("-".to_owned(), |t| t.to_string()),
        match row.verdict {
            Verdict::Ok => "ok",
            Verdict::Regression => "REGRESSION",
            Verdict::Info => "-",
        },
        width = 12 - indent.len()
    );
}

fn status(report: &TestReport) -> String {
    serde_json::to_value(report.test.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
