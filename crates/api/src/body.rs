//! The JSON request body: declared as JSON, at most [`crate::MAX_BODY_BYTES`], arrived within
//! the server's body deadline, and decoded so that a decoding error names the field at fault
//! (`concurrency`, `headers[0].name`). [`Plan`] takes a test's body on to its [`TestPlan`].

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use bytes::Bytes;
use onslaught_plan::{TestPlan, TestRequest};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::ApiError;
use crate::server::BodyTimeout;

/// A test's body: decoded as a [`TestRequest`], then made a [`TestPlan`] by the one validation;
/// a refusal is a 400 naming the field.
pub(crate) struct Plan(pub TestPlan);

impl<S: Send + Sync> FromRequest<S> for Plan {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBody(request) = JsonBody::<TestRequest>::from_request(request, state).await?;
        let plan = TestPlan::try_from(request).map_err(|e| ApiError::BadRequest {
            message: e.to_string(),
            field: Some(e.field),
        })?;
        Ok(Plan(plan))
    }
}

/// A body decoded from JSON; every rejection is an [`ApiError`].
pub(crate) struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let declared_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        if !declared_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let deadline = request.extensions().get::<BodyTimeout>().copied();
        let read = Bytes::from_request(request, state);
        let read = match deadline {
            Some(BodyTimeout(limit)) => tokio::time::timeout(limit, read)
                .await
                .map_err(|_| ApiError::RequestTimeout(limit))?,
            None => read.await,
        };
        let bytes = read.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest {
                    message: format!("cannot read the body: {}", rejection.body_text()),
                    field: None,
                }
            }
        })?;
        decode(&bytes).map(JsonBody)
    }
}

/// `application/json` or `application/<something>+json`, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
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
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/jsonx"));
        assert!(!is_json(""));
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
