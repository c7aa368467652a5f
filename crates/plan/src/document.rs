//! A test request as a document, JSON or YAML (a plan file, an API body): decoded into a
//! [`TestRequest`] so that an error names its path in the document
//! (`flows[0].steps[2].extract: unknown field ...`).

use serde::de::DeserializeOwned;

use crate::TestRequest;

/// The syntaxes a plan document may be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// JSON.
    Json,
    /// YAML (1.2; a JSON document is also YAML).
    Yaml,
}

/// A document that is not a test request: where in it and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", path.as_ref().map(|p| format!("{p}: ")).unwrap_or_default())]
pub struct DocumentError {
    /// The path of the value at fault (`flows[0].steps[2].extract`; for an unknown or missing
    /// field, the field itself), when the error concerns one.
    pub path: Option<String>,
    /// What is wrong, without the path.
    pub message: String,
}

/// Decodes `text` as a [`TestRequest`] written in `syntax`.
pub fn parse(text: &str, syntax: Syntax) -> Result<TestRequest, DocumentError> {
    match syntax {
        Syntax::Json => from_json(text),
        Syntax::Yaml => from_yaml(text),
    }
}

/// Decodes one JSON value.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, DocumentError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        match inner.classify() {
            serde_json::error::Category::Data => located(&path, message),
            _ => DocumentError {
                path: None,
                message: format!("not valid JSON: {message}"),
            },
        }
    })?;
    deserializer.end().map_err(|e| DocumentError {
        path: None,
        message: format!("not valid JSON: {e}"),
    })?;
    Ok(value)
}

/// Decodes one YAML document: the YAML becomes a JSON value first (so its scalars keep their
/// types: `false` is a boolean, never the text "false"), which is then decoded as JSON is.
pub fn from_yaml<T: DeserializeOwned>(text: &str) -> Result<T, DocumentError> {
    let value: serde_json::Value = serde_yaml_ng::from_str(text).map_err(|e| DocumentError {
        path: None,
        message: format!("not valid YAML: {e}"),
    })?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        located(&path, e.into_inner().to_string())
    })
}

/// An error at `path` (serde_path_to_error's form, `.` for the root), with the path of a
/// missing or unknown field completed by the field's name (serde reports those at the
/// enclosing object).
fn located(path: &str, message: String) -> DocumentError {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    let path = match (path, named) {
        (".", Some(name)) => Some(name.to_owned()),
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            Some(path.to_owned())
        }
        (parent, Some(name)) => Some(format!("{parent}.{name}")),
        (".", None) => None,
        (path, None) => Some(path.to_owned()),
    };
    // serde_json and serde_yaml_ng append the position; the path says more.
    let message = match message.rsplit_once(" at line ") {
        Some((message, _)) => message.to_owned(),
        None => message,
    };
    DocumentError { path, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "
name: shop
base_url: http://127.0.0.1:8000
test_type: tsunami
rate: 10
duration_ms: 1000
data:
  accounts: {rows: [{user: a, password: b}], order: shard}
flows:
  - name: buy
    steps:
      - name: login
        request: {method: POST, url: /login, json: {user: '{{ accounts.user }}'}}
        extract: {token: {json: $.token}}
      - think: 10ms
      - request: {url: /items/1}
";

    #[test]
    fn yaml_and_json_give_the_same_request() {
        let yaml = parse(PLAN, Syntax::Yaml).expect("yaml");
        assert_eq!(yaml.url, "http://127.0.0.1:8000");
        assert_eq!(yaml.flows[0].steps.len(), 3);
        let json = serde_json::to_string(&yaml).expect("serialize");
        assert_eq!(parse(&json, Syntax::Json).expect("json"), yaml);
        // JSON is YAML too.
        assert_eq!(parse(&json, Syntax::Yaml).expect("json as yaml"), yaml);
    }

    #[test]
    fn yaml_scalars_keep_their_types() {
        let e = parse(&PLAN.replace("name: shop", "name: false"), Syntax::Yaml)
            .expect_err("a boolean name");
        assert_eq!(e.path.as_deref(), Some("name"), "{e}");
    }

    #[test]
    fn errors_name_the_path() {
        let bad = PLAN.replace(
            "extract: {token: {json: $.token}}",
            "extract: {token: {jsn: x}}",
        );
        let e = parse(&bad, Syntax::Yaml).expect_err("unknown field");
        assert_eq!(
            e.path.as_deref(),
            Some("flows[0].steps[0].extract.token.jsn")
        );
        assert!(e.message.starts_with("unknown field `jsn`"), "{e}");
        assert!(
            e.to_string()
                .starts_with("flows[0].steps[0].extract.token.jsn: unknown field"),
            "{e}"
        );

        let bad = PLAN.replace("rate: 10", "rate: fast");
        let e = parse(&bad, Syntax::Yaml).expect_err("wrong type");
        assert_eq!(e.path.as_deref(), Some("rate"));

        let bad = PLAN.replace("test_type: tsunami\n", "");
        let e = parse(&bad, Syntax::Yaml).expect_err("missing");
        assert_eq!(e.path.as_deref(), Some("test_type"));

        let e = parse("name: [unclosed", Syntax::Yaml).expect_err("syntax");
        assert_eq!(e.path, None);
        assert!(e.message.starts_with("not valid YAML"), "{e}");

        let e = parse(r#"{"test_type": "avalanche", "url": 3}"#, Syntax::Json).expect_err("json");
        assert_eq!(e.path.as_deref(), Some("url"));
        let e = parse("{", Syntax::Json).expect_err("json syntax");
        assert_eq!(e.path, None);
        assert!(e.message.starts_with("not valid JSON"), "{e}");
    }
}
