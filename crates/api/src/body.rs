//! A test's request body: declared as JSON or YAML, at most [`crate::MAX_BODY_BYTES`],
//! arrived within the server's body deadline, and decoded so that a decoding error names the
//! field at fault by its path in the document (`concurrency`, `headers[0].name`,
//! `flows[0].steps[2].extract`). [`Plan`] takes it on to its [`TestPlan`].

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use bytes::Bytes;
use onslaught_plan::{LoadChangeRequest, NewLoad, TestPlan, TestRequest, document};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::ApiError;
use crate::server::BodyTimeout;

/// A test's body: decoded as a [`TestRequest`] (JSON or YAML, by content type), then made a
/// [`TestPlan`] by the one validation; a refusal is a 400 naming the field.
pub(crate) struct Plan(pub TestPlan);

impl<S: Send + Sync> FromRequest<S> for Plan {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let syntax = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(syntax_of)
            .ok_or(ApiError::UnsupportedMediaType)?;
        let bytes = read(request, state).await?;
        let request: TestRequest = match syntax {
            document::Syntax::Json => decode(&bytes)?,
            document::Syntax::Yaml => {
                let text = std::str::from_utf8(&bytes).map_err(|e| ApiError::BadRequest {
                    message: format!("the body is not UTF-8 text: {e}"),
                    field: None,
                })?;
                document::from_yaml(text).map_err(|e| ApiError::BadRequest {
                    message: e.to_string(),
                    field: e.path,
                })?
            }
        };
        refuse_files(&request)?;
        let plan = TestPlan::try_from(request).map_err(|e| ApiError::BadRequest {
            message: e.to_string(),
            field: Some(e.field),
        })?;
        Ok(Plan(plan))
    }
}

/// A new load for a running test (`PATCH /api/tests/{id}`): a JSON [`LoadChangeRequest`],
/// made a [`NewLoad`] by its one validation; a refusal is a 400 naming the field.
pub(crate) struct LoadChange(pub NewLoad);

impl<S: Send + Sync> FromRequest<S> for LoadChange {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let syntax = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(syntax_of);
        if syntax != Some(document::Syntax::Json) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read(request, state).await?;
        let change: LoadChangeRequest = decode(&bytes)?;
        NewLoad::try_from(change)
            .map(LoadChange)
            .map_err(|e| ApiError::BadRequest {
                message: e.to_string(),
                field: Some(e.field),
            })
    }
}

/// A dataset's `csv` names a file on the machine of whoever wrote the plan: the CLI reads it
/// into `rows`; the API cannot.
fn refuse_files(request: &TestRequest) -> Result<(), ApiError> {
    match request.data.iter().find(|(_, set)| set.csv.is_some()) {
        Some((name, _)) => Err(ApiError::field(
            &format!("data.{name}.csv"),
            format!(
                "data.{name}.csv: the API takes a dataset's rows only (`rows: [{{column: value}},                  ...]`); a CSV file is read by `onslaught run PLAN`, which sends its rows"
            ),
        )),
        None => Ok(()),
    }
}

/// The body's bytes, within the server's body deadline and size limit.
async fn read<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    let deadline = request.extensions().get::<BodyTimeout>().copied();
    let read = Bytes::from_request(request, state);
    let read = match deadline {
        Some(BodyTimeout(limit)) => tokio::time::timeout(limit, read)
            .await
            .map_err(|_| ApiError::RequestTimeout(limit))?,
        None => read.await,
    };
    read.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest {
                message: format!("cannot read the body: {}", rejection.body_text()),
                field: None,
            }
        }
    })
}

/// The syntax a content type declares, with any parameters: JSON for `application/json` and
/// `application/<something>+json`; YAML for `application/yaml`, `application/x-yaml` and
/// `text/yaml` (and `+yaml`).
fn syntax_of(content_type: &str) -> Option<document::Syntax> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    let yaml = matches!(
        essence.as_str(),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml"
    ) || essence
        .strip_prefix("application/")
        .is_some_and(|sub| sub.ends_with("+yaml"));
    if json {
        Some(document::Syntax::Json)
    } else if yaml {
        Some(document::Syntax::Yaml)
    } else {
        None
    }
}

/// Decodes `bytes` as one JSON value of type `T`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        // serde_json reports some shape errors (an array too long for what it fills) as syntax
        // errors; in a body that is valid JSON they concern the field at `path`.
        let valid_json = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
        decoding_error(&path, e.inner(), valid_json)
    })?;
    deserializer
        .end()
        .map_err(|e| decoding_error(".", &e, false))?;
    Ok(value)
}

/// A 400 for a body that did not decode; names the field when the error points at one.
fn decoding_error(path: &str, error: &serde_json::Error, valid_json: bool) -> ApiError {
    let full = error.to_string();
    // serde_json appends " at line L column C"; the field says more than the position.
    let message = match full.rsplit_once(" at line ") {
        Some((message, _)) if error.line() > 0 => message.to_owned(),
        _ => full.clone(),
    };
    match error.classify() {
        Category::Data => ApiError::BadRequest {
            field: field_of(path, &message),
            message,
        },
        Category::Syntax if valid_json && path != "." => ApiError::BadRequest {
            message: format!("{path} has the wrong shape: {message}"),
            field: Some(path.to_owned()),
        },
        Category::Syntax | Category::Eof | Category::Io => ApiError::BadRequest {
            message: format!("the body is not valid JSON: {full}"),
            field: None,
        },
    }
}

/// The field a data error concerns: its path, or for a missing or unknown field the field
/// itself (serde reports those at the enclosing object).
fn field_of(path: &str, message: &str) -> Option<String> {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (path, named) {
        (".", Some(name)) => Some(name.to_owned()),
        // An unknown field's path already ends with it; a missing one's is the parent's.
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            Some(path.to_owned())
        }
        (parent, Some(name)) => Some(format!("{parent}.{name}")),
        (".", None) => None,
        (path, None) => Some(path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        use document::Syntax::{Json, Yaml};
        assert_eq!(syntax_of("application/json"), Some(Json));
        assert_eq!(syntax_of("Application/JSON; charset=utf-8"), Some(Json));
        assert_eq!(syntax_of("application/merge-patch+json"), Some(Json));
        assert_eq!(syntax_of("text/plain"), None);
        assert_eq!(syntax_of("application/jsonx"), None);
        assert_eq!(syntax_of(""), None);
        assert_eq!(syntax_of("application/yaml"), Some(Yaml));
        assert_eq!(syntax_of("application/x-yaml; charset=utf-8"), Some(Yaml));
        assert_eq!(syntax_of("Text/YAML"), Some(Yaml));
        assert_eq!(syntax_of("application/yamlx"), None);
    }

    #[test]
    fn fields_are_found() {
        assert_eq!(
            field_of("concurrency", "invalid type"),
            Some("concurrency".into())
        );
        assert_eq!(field_of(".", "missing field `url`"), Some("url".into()));
        assert_eq!(
            field_of("headers[0]", "missing field `name`"),
            Some("headers[0].name".into())
        );
        assert_eq!(
            field_of("bogus", "unknown field `bogus`, expected one of"),
            Some("bogus".into())
        );
        assert_eq!(field_of(".", "invalid type: sequence"), None);
    }
}
