//! Answers one request: routes it, counts it, and applies its faults (delay, injected status,
//! `Connection: close`, reset) before the route's own answer (see `flows` for the routes that
//! read bodies, tokens and cookies).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};
use tokio::time::Instant;

use crate::Target;
use crate::flows;
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
    /// Answers `request`, counting it on arrival and its response, by status, once handed
    /// back to hyper.
    pub(crate) async fn handle(&self, request: Request<Incoming>) -> Result<Response<Body>, Reset> {
        let arrived = Instant::now();
        let route = Route::of(request.uri().path());
        let counters = self.counters.route(route);
        counters.request_received();
        let response = self.respond(route, request, arrived).await?;
        counters.response_sent(response.status().as_u16());
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
        // Counted only when latency depends on it: the default path stays free of it.
        let in_flight = faults.grows_with_load().then(|| self.in_flight.enter());
        let (parts, body) = request.into_parts();
        let body = match route.body_limit() {
            None => {
                drain(body).await;
                Bytes::new()
            }
            Some(limit) => match read(body, limit).await {
                Ok(body) => body,
                Err(refusal) => return Ok(refusal),
            },
        };
        let others = in_flight.as_ref().map_or(0, InFlightGuard::others);
        if let Some(release) = faults.release_at(self.started, arrived, others) {
            tokio::time::sleep_until(release).await;
        }
        if faults.reset() {
            return Err(Reset);
        }
        let mut response = match faults.injected_status() {
            Some(status) => error_response(status, "injected failure"),
            None => self.route_response(route, &parts, body),
        };
        if faults.close() {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        Ok(response)
    }

    fn metrics_response(&self) -> Response<Body> {
        match serde_json::to_vec(&self.metrics()) {
            Ok(body) => json_response(StatusCode::OK, Bytes::from(body)),
            Err(err) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
        }
    }

    /// The route's own answer, once faults let it through.
    fn route_response(&self, route: Route, request: &Parts, body: Bytes) -> Response<Body> {
        match route {
            Route::Ping => json_response(StatusCode::OK, Bytes::from_static(PONG)),
            Route::Login => self.login(request, &body),
            Route::Items => self.item(request),
            Route::Echo => flows::echo(request, body),
            Route::Cart => self.cart(request),
            Route::Metrics | Route::Other => not_found(),
        }
    }
}

/// Requests being answered (all routes but `/metrics`), counted while latency grows with them.
#[derive(Debug, Default)]
pub(crate) struct InFlight(AtomicU64);

impl InFlight {
    /// Counts a request in until the guard is dropped (answered, or its connection gone).
    fn enter(&self) -> InFlightGuard<'_> {
        let others = self.0.fetch_add(1, Ordering::Relaxed);
        InFlightGuard {
            in_flight: self,
            others,
        }
    }
}

/// One request counted in [`InFlight`].
struct InFlightGuard<'a> {
    /// The counter to leave on drop.
    in_flight: &'a InFlight,
    /// The other requests in flight when this one arrived.
    others: u64,
}

impl InFlightGuard<'_> {
    fn others(&self) -> u64 {
        self.others
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.in_flight.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Reads a body of at most `limit` bytes; a 413 (too large) or 400 (broken) otherwise.
async fn read(body: Incoming, limit: usize) -> Result<Bytes, Response<Body>> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("body larger than {limit} bytes"),
        )),
        Err(err) => Err(error_response(
            StatusCode::BAD_REQUEST,
            &format!("cannot read the body: {err}"),
        )),
    }
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

pub(crate) fn not_found() -> Response<Body> {
    json_response(StatusCode::NOT_FOUND, Bytes::from_static(NOT_FOUND))
}

pub(crate) fn error_response(status: StatusCode, message: &str) -> Response<Body> {
    if matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED) {
        let mut response = Response::new(Full::default());
        *response.status_mut() = status;
        return response;
    }
    let body = serde_json::json!({ "error": message, "status": status.as_u16() });
    json_response(status, Bytes::from(body.to_string()))
}

pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
