//! Extraction: a variable taken from a response by JSONPath (RFC 9535), regular expression,
//! header or status.

use http::HeaderName;
use minijinja::value::Value;
use serde_json_path::JsonPath;

use crate::error::CompileError;
use crate::spec::ExtractSpec;

/// Where a variable comes from, compiled.
#[derive(Debug)]
pub enum Source {
    /// The first match of a JSONPath in the JSON body.
    Json(JsonPath),
    /// The first capture group (or the whole match) of a regular expression over the body.
    Regex(regex::bytes::Regex),
    /// A response header's value.
    Header(HeaderName),
    /// The response status.
    Status,
}

/// One variable to extract.
#[derive(Debug)]
pub struct Extraction {
    /// The variable's name.
    pub variable: String,
    /// Its source.
    pub source: Source,
    /// The check name a failure counts under (`extract token`).
    pub check: String,
}

/// The parts of a response extraction reads.
pub struct Response<'a> {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: &'a http::HeaderMap,
    /// The body.
    pub body: &'a [u8],
}

impl Extraction {
    /// Compiles `spec` for `variable`; `path` is the spec's place in the document.
    pub fn compile(variable: &str, spec: &ExtractSpec, path: &str) -> Result<Self, CompileError> {
        let given = usize::from(spec.json.is_some())
            + usize::from(spec.regex.is_some())
            + usize::from(spec.header.is_some())
            + usize::from(spec.status);
        if given != 1 {
            return Err(CompileError::new(
                path,
                "give exactly one of json, regex, header, status",
            ));
        }
        let source =
            if let Some(json) = &spec.json {
                Source::Json(
                    JsonPath::parse(json)
                        .map_err(|e| CompileError::new(format!("{path}.json"), e.to_string()))?,
                )
            } else if let Some(re) = &spec.regex {
                Source::Regex(
                    regex::bytes::Regex::new(re)
                        .map_err(|e| CompileError::new(format!("{path}.regex"), e.to_string()))?,
                )
            } else if let Some(header) = &spec.header {
                Source::Header(HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                    CompileError::new(format!("{path}.header"), "is not a header name")
                })?)
            } else {
                Source::Status
            };
        Ok(Self {
            variable: variable.to_owned(),
            source,
            check: format!("extract {variable}"),
        })
    }

    /// The value from `response`, or `None` when it is not there. `json` is the body parsed
    /// once for every JSON extraction of the step (`None`: not JSON).
    pub fn apply(
        &self,
        response: &Response<'_>,
        json: Option<&serde_json::Value>,
    ) -> Option<Value> {
        match &self.source {
            Source::Json(path) => {
                let found = path.query(json?).first()?;
                Some(match found {
                    serde_json::Value::String(s) => Value::from(s.as_str()),
                    other => Value::from(other.to_string()),
                })
            }
            Source::Regex(re) => {
                let captures = re.captures(response.body)?;
                let m = captures.get(1).or_else(|| captures.get(0))?;
                Some(Value::from(
                    String::from_utf8_lossy(m.as_bytes()).into_owned(),
                ))
            }
            Source::Header(name) => response
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(Value::from),
            Source::Status => Some(Value::from(response.status.to_string())),
        }
    }

    /// Whether this extraction reads the body as JSON.
    pub fn needs_json(&self) -> bool {
        matches!(self.source, Source::Json(_))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn spec(f: impl FnOnce(&mut ExtractSpec)) -> ExtractSpec {
        let mut s = ExtractSpec::default();
        f(&mut s);
        s
    }

    #[test]
    fn each_source_extracts_or_misses() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-id", http::HeaderValue::from_static("42"));
        let body = br#"{"token":"t-1","n":{"v":[1,2]}}"#;
        let json: serde_json::Value = serde_json::from_slice(body).unwrap();
        let r = Response {
            status: 201,
            headers: &headers,
            body,
        };
        let get = |s: ExtractSpec| {
            Extraction::compile("x", &s, "p")
                .unwrap()
                .apply(&r, Some(&json))
                .map(|v| v.to_string())
        };
        assert_eq!(
            get(spec(|s| s.json = Some("$.token".into()))).as_deref(),
            Some("t-1")
        );
        assert_eq!(
            get(spec(|s| s.json = Some("$.n.v".into()))).as_deref(),
            Some("[1,2]")
        );
        assert_eq!(get(spec(|s| s.json = Some("$.missing".into()))), None);
        assert_eq!(
            get(spec(|s| s.regex = Some(r#""token":"([^"]+)""#.into()))).as_deref(),
            Some("t-1")
        );
        assert_eq!(
            get(spec(|s| s.header = Some("X-Id".into()))).as_deref(),
            Some("42")
        );
        assert_eq!(get(spec(|s| s.status = true)).as_deref(), Some("201"));
    }

    #[test]
    fn bad_specs_name_their_path() {
        let e =
            Extraction::compile("t", &spec(|s| s.json = Some("$.[".into())), "a.b").unwrap_err();
        assert_eq!(e.path, "a.b.json");
        let e = Extraction::compile("t", &spec(|s| s.regex = Some("(".into())), "a.b").unwrap_err();
        assert_eq!(e.path, "a.b.regex");
        let e = Extraction::compile("t", &ExtractSpec::default(), "a.b").unwrap_err();
        assert_eq!(e.path, "a.b");
        let two = spec(|s| {
            s.status = true;
            s.header = Some("a".into());
        });
        assert!(Extraction::compile("t", &two, "a.b").is_err());
    }
}
