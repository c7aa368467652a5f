//! Answers one request: routes it, counts it, and applies its faults (delay, injected status,
//! `Connection: close`, reset).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use tokio::time::Instant;

use crate::Target;
use crate::faults::Faults;
use crate::metrics::Route;

/// The body of every response: small and fully in memory.
pub(crate) type Body = Full<Bytes>;

/// The service error that asks the connection task to drop the connection unanswered.
#[derive(Debug, thiserror::Error)]
#[error("reset requested by the request")]
pub(crate) struct Reset;

const PONG: &[u8] = br#"{"message":"pong"}"#;
const NOT_FOUND: &[u8] = br#"{"error":"not found","status":404}"#;

impl Target {
    /// Answers `request`, counting it on arrival and its response once handed back to hyper.
    pub(crate) async fn handle(&self, request: Request<Incoming>) -> Result<Response<Body>, Reset> {
        let arrived = Instant::now();
        let route = Route::of(request.uri().path());
        let counters = self.counters.route(route);
        counters.request_received();
        let response = self.respond(route, request, arrived).await?;
        counters.response_sent();
        Ok(response)
    }

    async fn respond(
        &self,
        route: Route,
        request: Request<Incoming>,
        arrived: Instant,
    ) -> Result<Response<Body>, Reset> {
        if route == Route::Metrics {
            return Ok(self.metrics_response());
        }
        let faults = match request.uri().query() {
            None => self.faults,
            Some(query) => match self.faults.with_query(query) {
                Ok(faults) => faults,
                Err(invalid) => {
                    return Ok(error_response(
                        StatusCode::BAD_REQUEST,
                        &invalid.to_string(),
                    ));
                }
            },
        };
        drain(request.into_body()).await;
        apply(faults, self.started, arrived, route).await
    }

    fn metrics_response(&self) -> Response<Body> {
        match serde_json::to_vec(&self.metrics()) {
            Ok(body) => json_response(StatusCode::OK, Bytes::from(body)),
            Err(err) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
        }
    }
}

/// Delays, then resets or answers as `faults` draw.
async fn apply(
    faults: Faults,
    clock_start: Instant,
    arrived: Instant,
    route: Route,
) -> Result<Response<Body>, Reset> {
    if let Some(release) = faults.release_at(clock_start, arrived) {
        tokio::time::sleep_until(release).await;
    }
    if faults.reset() {
        return Err(Reset);
    }
    let mut response = match faults.injected_status() {
        Some(status) => error_response(status, "injected failure"),
        None => route_response(route),
    };
    if faults.close() {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

/// Reads and discards the request body, so that the connection can be kept alive.
async fn drain(mut body: Incoming) {
    while !body.is_end_stream() {
        match body.frame().await {
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
}

fn route_response(route: Route) -> Response<Body> {
    match route {
        Route::Ping => json_response(StatusCode::OK, Bytes::from_static(PONG)),
        Route::Metrics | Route::Other => {
            json_response(StatusCode::NOT_FOUND, Bytes::from_static(NOT_FOUND))
        }
    }
}

fn error_response(status: StatusCode, message: &str) -> Response<Body> {
    if matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED) {
        let mut response = Response::new(Full::default());
        *response.status_mut() = status;
        return response;
    }
    let body = serde_json::json!({ "error": message, "status": status.as_u16() });
    json_response(status, Bytes::from(body.to_string()))
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
