//! Who may do what: with a token configured, every mutating request needs
//! `Authorization: Bearer <token>` (compared in constant time); reads and the event stream stay
//! open. CORS headers go to one configured origin only, never `*`.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{ApiError, AppState};

/// Refuses a mutating request that lacks the configured bearer token.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = state.token.as_deref() else {
        return next.run(request).await;
    };
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || bearer_matches(request.headers().get(header::AUTHORIZATION), token) {
        return next.run(request).await;
    }
    ApiError::Unauthorized.into_response()
}

/// Whether `authorization` is `Bearer <token>`. Never logs or returns what was sent.
fn bearer_matches(authorization: Option<&HeaderValue>, token: &str) -> bool {
    let Some(value) = authorization else {
        return false;
    };
    let value = value.as_bytes();
    let Some((scheme, credentials)) = value.split_at_checked(7) else {
        return false;
    };
    scheme.eq_ignore_ascii_case(b"bearer ") && bool::from(credentials.ct_eq(token.as_bytes()))
}

/// CORS for exactly `origin`; `None` (and an error logged) for `*` or an unusable value.
pub(crate) fn cors(origin: &str) -> Option<CorsLayer> {
    let origin = origin.trim().trim_end_matches('/');
    if origin.is_empty() {
        return None;
    }
    if origin == "*" {
        tracing::error!("refusing to allow every origin (`*`); CORS stays off");
        return None;
    }
    let Ok(value) = HeaderValue::from_str(origin) else {
        tracing::error!("the allowed origin is not a valid header value; CORS stays off");
        return None;
    };
    Some(
        CorsLayer::new()
            // A list (not `exact`): other origins get no `Access-Control-Allow-Origin` at all.
            .allow_origin(AllowOrigin::list([value]))
            .allow_methods([Method::GET, Method::POST, Method::PATCH])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::HeaderName::from_static("x-requested-by"),
            ]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_must_match_exactly() {
        let v = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(bearer_matches(Some(&v("Bearer s3cret")), "s3cret"));
        assert!(bearer_matches(Some(&v("bearer s3cret")), "s3cret"));
        assert!(!bearer_matches(Some(&v("Bearer s3cre")), "s3cret"));
        assert!(!bearer_matches(Some(&v("Bearer s3cretx")), "s3cret"));
        assert!(!bearer_matches(Some(&v("Basic s3cret")), "s3cret"));
        assert!(!bearer_matches(Some(&v("Bearer")), "s3cret"));
        assert!(!bearer_matches(None, "s3cret"));
    }

    #[test]
    fn every_origin_is_refused() {
        assert!(cors("*").is_none());
        assert!(cors("").is_none());
        assert!(cors("http://localhost:5173").is_some());
    }
}
