//! [`ApiError`]: every refusal the API gives, as a status code and a JSON body
//! `{"error": "...", "field": "..."}` (`field` only on a 400 that concerns one field).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onslaught_orchestrator::ControlError;
use serde::Serialize;

use crate::MAX_BODY_BYTES;

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or a field is out of range (400).
    #[error("{message}")]
    BadRequest {
        /// What is wrong.
        message: String,
        /// The request field at fault (`url`, `headers[0].name`), when one is.
        field: Option<String>,
    },
    /// A mutating request without the right bearer token (401).
    #[error("a valid API token is needed: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// No such test, or no such route (404).
    #[error("{0}")]
    NotFound(String),
    /// The route exists, but not for this method (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The test cannot do this now: already started, no live drivers, ... (409).
    #[error("{0}")]
    Conflict(String),
    /// The body did not arrive within the server's body deadline (408).
    #[error("the request body did not arrive within {0:?}")]
    RequestTimeout(std::time::Duration),
    /// The body is larger than the limit (413).
    #[error("the request body is larger than {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    /// The body is not declared as JSON or YAML (415).
    #[error(
        "send the body as JSON (`Content-Type: application/json`) or YAML (`application/yaml`)"
    )]
    UnsupportedMediaType,
    /// Something on the orchestrator's side failed (500).
    #[error("{0}")]
    Internal(String),
    /// The message transport to the drivers failed (503).
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    /// A 400 about one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    /// The status code this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::NotFound(_) => Self::NotFound(e.to_string()),
            ControlError::Conflict(message) => Self::Conflict(message),
            ControlError::Drivers(shortage) => Self::Conflict(shortage.to_string()),
            ControlError::Transport(_) => Self::Unavailable(e.to_string()),
            ControlError::Invalid(invalid) => Self::BadRequest {
                message: invalid.to_string(),
                field: Some(invalid.field),
            },
        }
    }
}

/// The JSON body of every error answer.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "Error", extend("additionalProperties" = false))]
pub(crate) struct ErrorBody<'a> {
    /// What went wrong.
    error: String,
    /// The request field at fault (400 only), e.g. `url` or `headers[0].name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), "API request failed: {self}");
        }
        let field = match &self {
            Self::BadRequest { field, .. } => field.as_deref(),
            _ => None,
        };
        let body = ErrorBody {
            error: self.to_string(),
            field,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"onslaught\""),
            );
        }
        response
    }
}
