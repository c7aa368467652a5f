//! The routes user flows exercise: `POST /login` (a token and a `session` cookie),
//! `GET /items/{id}` (needs the token), `GET /cart` (needs the cookie) and `/echo`.

use bytes::Bytes;
use hyper::header::{
    ALLOW, AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue, SET_COOKIE,
    WWW_AUTHENTICATE,
};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use serde::Deserialize;

use crate::Target;
use crate::handler::{Body, error_response, json_response, not_found};
use crate::sessions::{SESSION_COOKIE, Session};

/// The body `POST /login` takes.
#[derive(Debug, Deserialize)]
struct Credentials {
    user: String,
    password: String,
}

impl Target {
    /// `POST /login`: 200 with `{"token", "user"}` and a `session` cookie, 401 for bad
    /// credentials, 400 for a body that is not the credentials' JSON, 405 for other methods.
    pub(crate) fn login(&self, request: &Parts, body: &[u8]) -> Response<Body> {
        if request.method != Method::POST {
            let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, "use POST");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        let credentials: Credentials = match serde_json::from_slice(body) {
            Ok(credentials) => credentials,
            Err(err) => {
                let message = format!("expected {{\"user\": ..., \"password\": ...}}: {err}");
                return error_response(StatusCode::BAD_REQUEST, &message);
            }
        };
        let Some(token) = self
            .sessions
            .login(&credentials.user, &credentials.password)
        else {
            return error_response(StatusCode::UNAUTHORIZED, "bad credentials");
        };
        let body = serde_json::json!({ "token": token, "user": credentials.user });
        let mut response = json_response(StatusCode::OK, Bytes::from(body.to_string()));
        // Tokens are base64url and digits joined by dots: always a valid header value.
        if let Ok(cookie) = HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
        )) {
            response.headers_mut().insert(SET_COOKIE, cookie);
        }
        response
    }

    /// `GET /items/{id}`: 401 without a valid `Authorization: Bearer` token, then 404 for
    /// ids outside `1..=items`, else 200 with `{"id", "name", "user"}`. Every request with a
    /// valid token is counted for its account and compared with the `session` cookie.
    pub(crate) fn item(&self, request: &Parts) -> Response<Body> {
        let token = bearer(&request.headers);
        let Some((token, session)) =
            token.and_then(|token| Some((token, self.sessions.verify(token)?)))
        else {
            let mut response = error_response(StatusCode::UNAUTHORIZED, "missing or bad token");
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        };
        // A cookie equal to the verified token needs no second HMAC.
        let cookie = cookie(&request.headers, SESSION_COOKIE)
            .filter(|cookie| *cookie == token || self.sessions.verify(cookie).is_some());
        self.sessions.count_item(&session, token, cookie);
        let id = request
            .uri
            .path()
            .strip_prefix("/items/")
            .and_then(|id| id.parse::<u64>().ok())
            .filter(|id| (1..=self.items).contains(id));
        match id {
            None => not_found(),
            Some(id) => {
                let body = serde_json::json!({ "id": id, "name": format!("item {id}"), "user": session.user });
                json_response(StatusCode::OK, Bytes::from(body.to_string()))
            }
        }
    }

    /// `GET /cart`: 200 with `{"user", "items": []}` when the `session` cookie holds a valid
    /// token, 401 otherwise.
    pub(crate) fn cart(&self, request: &Parts) -> Response<Body> {
        match cookie(&request.headers, SESSION_COOKIE).and_then(|c| self.sessions.verify(c)) {
            Some(Session { user, .. }) => {
                let body = serde_json::json!({ "user": user, "items": [] });
                json_response(StatusCode::OK, Bytes::from(body.to_string()))
            }
            None => error_response(StatusCode::UNAUTHORIZED, "missing or bad session cookie"),
        }
    }
}

/// `/echo` (any method): the request's body, with its content type
/// (`application/octet-stream` when it has none).
pub(crate) fn echo(request: &Parts, body: Bytes) -> Response<Body> {
    let content_type = request
        .headers
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
    let mut response = Response::new(Body::new(body));
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

/// The token of an `Authorization: Bearer TOKEN` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of the first cookie called `name` in the `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(hyper::header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_str(value).unwrap()))
            .collect()
    }

    #[test]
    fn reads_bearer_tokens() {
        assert_eq!(
            bearer(&headers(&[(AUTHORIZATION, "Bearer abc")])),
            Some("abc")
        );
        assert_eq!(
            bearer(&headers(&[(AUTHORIZATION, "bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(bearer(&headers(&[(AUTHORIZATION, "Basic abc")])), None);
        assert_eq!(bearer(&headers(&[(AUTHORIZATION, "Bearer")])), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn finds_cookies_by_name() {
        let jar = headers(&[(COOKIE, "a=1; session=s.1.x"), (COOKIE, "session=later")]);
        assert_eq!(cookie(&jar, "session"), Some("s.1.x"));
        assert_eq!(cookie(&jar, "a"), Some("1"));
        assert_eq!(cookie(&jar, "sess"), None);
    }
}
