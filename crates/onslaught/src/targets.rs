//! vegeta-style targets files (its `http` format): each target a `METHOD URL` line, then
//! `Name: value` header lines and an optional `@path/to/body` line (relative to the targets
//! file), targets separated by blank lines, `#` comment lines. One target loads as a plain
//! request; several as one flow with one named step per target, on one origin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use onslaught_flow::spec::{FlowSpec, RequestSpec, StepSpec};
use onslaught_plan::{Header, TestRequest};

/// Most targets a file may hold (one step each).
pub const MAX_TARGETS: usize = 1_000;

/// Largest targets file read, and largest body file, in bytes.
const MAX_FILE_BYTES: u64 = onslaught_api::MAX_BODY_BYTES as u64;

/// The flow a targets file of several targets becomes.
pub const FLOW_NAME: &str = "targets";

/// Why a targets file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct TargetsError {
    /// The targets file.
    pub path: PathBuf,
    /// The line at fault (1-based; 0 for the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// One target as written.
#[derive(Debug, PartialEq)]
struct Target {
    method: String,
    url: url::Url,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

/// Reads the targets file at `path` into a test request (load settings left at their
/// defaults, for the flags to give).
pub fn load(path: &Path) -> Result<TestRequest, TargetsError> {
    let error = |line, message: String| TargetsError {
        path: path.to_owned(),
        line,
        message,
    };
    let text = read_limited(path).map_err(|e| error(0, e))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    let targets = parse(&text, folder).map_err(|(line, message)| error(line, message))?;
    request(targets).map_err(|(line, message)| error(line, message))
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(bytes)
}

/// The targets of a file's text, each with the line it starts on.
fn parse(text: &[u8], folder: &Path) -> Result<Vec<(usize, Target)>, (usize, String)> {
    let text = std::str::from_utf8(text).map_err(|e| (0, format!("not UTF-8 text: {e}")))?;
    let mut targets: Vec<(usize, Target)> = Vec::new();
    // Whether the current target is still open to header and body lines.
    let mut open = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            open = false;
            continue;
        }
        match targets.last_mut() {
            Some((_, target)) if open => {
                if let Some(body) = line.strip_prefix('@') {
                    if target.body.is_some() {
                        return Err((number, "a target has one @body line".to_owned()));
                    }
                    let file = folder.join(body.trim());
                    let bytes = read_limited(&file)
                        .map_err(|e| (number, format!("body {}: {e}", file.display())))?;
                    target.body = Some(bytes);
                } else if target.body.is_some() {
                    return Err((
                        number,
                        "headers go before the @body line; separate targets by a blank line"
                            .to_owned(),
                    ));
                } else {
                    let (name, value) = crate::parse::header(line).map_err(|e| {
                        (
                            number,
                            format!("{e} (or start a new target after a blank line)"),
                        )
                    })?;
                    target.headers.push((name, value));
                }
            }
            _ => {
                if targets.len() == MAX_TARGETS {
                    return Err((number, format!("more than {MAX_TARGETS} targets")));
                }
                targets.push((number, target_line(line).map_err(|e| (number, e))?));
                open = true;
            }
        }
    }
    if targets.is_empty() {
        return Err((
            0,
            "no target (lines like `GET http://127.0.0.1:8000/ping`)".to_owned(),
        ));
    }
    Ok(targets)
}

/// A `METHOD URL` line.
fn target_line(line: &str) -> Result<Target, String> {
    let mut words = line.split_whitespace();
    let (Some(method), Some(url), None) = (words.next(), words.next(), words.next()) else {
        return Err(format!(
            "`{line}` is not a target line like `GET http://host/path`"
        ));
    };
    if !method.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!("`{method}` is not an HTTP method"));
    }
    let url = onslaught_plan::parse_url(url).map_err(|e| format!("`{url}`: {e}"))?;
    Ok(Target {
        method: method.to_ascii_uppercase(),
        url,
        headers: Vec::new(),
        body: None,
    })
}

/// One target as a plain request; several as a flow of one step each on the first one's
/// origin.
fn request(mut targets: Vec<(usize, Target)>) -> Result<TestRequest, (usize, String)> {
    if targets.len() == 1 {
        let (_, target) = targets.remove(0);
        let mut request = TestRequest::new("avalanche", target.url.as_str());
        request.method = target.method;
        request.headers = target
            .headers
            .into_iter()
            .map(|(name, value)| Header { name, value })
            .collect();
        match target.body.map(String::from_utf8) {
            Some(Ok(text)) => request.body = Some(text),
            Some(Err(bytes)) => {
                request.body_base64 =
                    Some(base64::engine::general_purpose::STANDARD.encode(bytes.into_bytes()));
            }
            None => {}
        }
        return Ok(request);
    }
    let origin = targets[0].1.url.origin();
    let base = origin.ascii_serialization();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut steps = Vec::with_capacity(targets.len());
    for (line, target) in targets {
        if target.url.origin() != origin {
            return Err((
                line,
                format!(
                    "{} is not on {base}, the first target's origin: the targets of one file \
                     share one origin",
                    target.url
                ),
            ));
        }
        let path = match target.url.query() {
            Some(query) => format!("{}?{query}", target.url.path()),
            None => target.url.path().to_owned(),
        };
        let body = target
            .body
            .map(String::from_utf8)
            .transpose()
            .map_err(|_| {
                (
                    line,
                    "with several targets, a body must be UTF-8 text".to_owned(),
                )
            })?;
        // Targets of the same method and path get a number, so each is its own name.
        let name = format!("{} {path}", target.method);
        let seen = names.entry(name.clone()).or_default();
        *seen += 1;
        let name = if *seen == 1 {
            name
        } else {
            format!("{name} #{seen}")
        };
        steps.push(StepSpec {
            name: Some(name),
            request: Some(RequestSpec {
                method: target.method,
                url: path,
                headers: target.headers.into_iter().collect(),
                body,
                json: None,
            }),
            think: None,
            extract: BTreeMap::new(),
            check: None,
            on_failure: Default::default(),
        });
    }
    let mut request = TestRequest::new("avalanche", &base);
    request.flows = vec![FlowSpec {
        name: FLOW_NAME.to_owned(),
        weight: 1,
        steps,
    }];
    Ok(request)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn load_text(text: &str, files: &[(&str, &[u8])]) -> Result<TestRequest, TargetsError> {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let path = dir.path().join("t.targets");
        std::fs::write(&path, text).unwrap();
        load(&path)
    }

    #[test]
    fn one_target_is_a_plain_request() {
        let request = load_text(
            "# a comment\nPOST http://127.0.0.1:8000/echo\nContent-Type: text/plain\nX-A: 1\n@body.txt\n",
            &[("body.txt", b"hello")],
        )
        .unwrap();
        assert_eq!(request.url, "http://127.0.0.1:8000/echo");
        assert_eq!(request.method, "POST");
        assert_eq!(request.headers.len(), 2);
        assert_eq!(request.headers[0].name, "Content-Type");
        assert_eq!(request.headers[0].value, "text/plain");
        assert_eq!(request.body.as_deref(), Some("hello"));
        assert!(request.flows.is_empty());

        let binary = load_text(
            "PUT http://127.0.0.1:8000/echo\n@b.bin\n",
            &[("b.bin", &[0xff, 0x00])],
        )
        .unwrap();
        assert_eq!(binary.body_base64.as_deref(), Some("/wA="));
    }

    #[test]
    fn several_targets_are_one_flow_of_named_steps() {
        let request = load_text(
            "GET http://127.0.0.1:8000/ping\n\n\nGET http://127.0.0.1:8000/items/1?x=y\nAuthorization: Bearer t\n\nget http://127.0.0.1:8000/ping\n\nPOST http://127.0.0.1:8000/echo\n@b.json\n",
            &[("b.json", b"{\"a\": 1}")],
        )
        .unwrap();
        assert_eq!(request.url, "http://127.0.0.1:8000");
        assert_eq!(request.flows.len(), 1);
        let steps = &request.flows[0].steps;
        let names: Vec<_> = steps.iter().map(|s| s.name.clone().unwrap()).collect();
        assert_eq!(
            names,
            [
                "GET /ping",
                "GET /items/1?x=y",
                "GET /ping #2",
                "POST /echo"
            ]
        );
        let item = steps[1].request.as_ref().unwrap();
        assert_eq!(item.url, "/items/1?x=y");
        assert_eq!(item.headers["Authorization"], "Bearer t");
        let echo = steps[3].request.as_ref().unwrap();
        assert_eq!(echo.body.as_deref(), Some("{\"a\": 1}"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = |text: &str| load_text(text, &[]).unwrap_err().to_string();
        assert!(e("").contains(":0: no target"), "{}", e(""));
        let message = e("GET http://127.0.0.1/a\nnot a header\n");
        assert!(message.contains(":2: header"), "{message}");
        let message = e("GET http://127.0.0.1/a\n\nGET http://127.0.0.2/b\n");
        assert!(
            message.contains(":3:") && message.contains("origin"),
            "{message}"
        );
        let message = e("GET ftp://127.0.0.1/a\n");
        assert!(message.contains(":1:"), "{message}");
        let message = e("GET\n");
        assert!(message.contains(":1:"), "{message}");
        let message = e("GET http://127.0.0.1/a\n@missing.json\n");
        assert!(message.contains(":2: body"), "{message}");
        let message = load_text("GET http://127.0.0.1/a\n@x\nX: y\n", &[("x", b"b")])
            .unwrap_err()
            .to_string();
        assert!(message.contains(":3: headers go before"), "{message}");
    }
}
