//! Request, response and connection counters, kept with relaxed atomics so that counting
//! costs next to nothing, and [`MetricsSnapshot`], their serializable view.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The routes the target counts separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/ping`: the cheap health answer load tests hit.
    Ping,
    /// `/metrics`: these counters.
    Metrics,
    /// Every other path (answered 404).
    Other,
}

impl Route {
    /// The route serving `path`.
    pub(crate) fn of(path: &str) -> Route {
        match path {
            "/ping" => Route::Ping,
            "/metrics" => Route::Metrics,
            _ => Route::Other,
        }
    }
}

/// Counters for one route.
#[derive(Debug, Default)]
pub(crate) struct RouteCounters {
    /// Requests whose head was read and handed to the handler.
    requests_received: AtomicU64,
    /// Responses handed to hyper for writing.
    responses_sent: AtomicU64,
}

impl RouteCounters {
    pub(crate) fn request_received(&self) {
        self.requests_received.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn response_sent(&self) {
        self.responses_sent.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> RouteSnapshot {
        RouteSnapshot {
            requests_received: self.requests_received.load(Ordering::Relaxed),
            responses_sent: self.responses_sent.load(Ordering::Relaxed),
        }
    }
}

/// Every counter of one target.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    ping: RouteCounters,
    metrics: RouteCounters,
    other: RouteCounters,
    /// Connections accepted by the listener.
    connections_accepted: AtomicU64,
}

impl Counters {
    pub(crate) fn route(&self, route: Route) -> &RouteCounters {
        match route {
            Route::Ping => &self.ping,
            Route::Metrics => &self.metrics,
            Route::Other => &self.other,
        }
    }

    pub(crate) fn connection_accepted(&self) {
        self.connections_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now; totals are the sums over routes.
    pub(crate) fn snapshot(&self, uptime_ms: u64) -> MetricsSnapshot {
        let routes = RoutesSnapshot {
            ping: self.ping.snapshot(),
            metrics: self.metrics.snapshot(),
            other: self.other.snapshot(),
        };
        let all = [routes.ping, routes.metrics, routes.other];
        MetricsSnapshot {
            requests_received: all.iter().map(|r| r.requests_received).sum(),
            responses_sent: all.iter().map(|r| r.responses_sent).sum(),
            routes,
            connections_accepted: self.connections_accepted.load(Ordering::Relaxed),
            uptime_ms,
        }
    }
}

/// What `GET /metrics` answers.
///
/// The counters are read one by one, not atomically together, so a snapshot taken under load
/// may be off by the requests in flight. A `/metrics` request counts itself as received but
/// not yet as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Requests received on every route.
    pub requests_received: u64,
    /// Responses handed to hyper for writing on every route (resets send none).
    pub responses_sent: u64,
    /// The same two counters per route.
    pub routes: RoutesSnapshot,
    /// Connections accepted since the target started serving.
    pub connections_accepted: u64,
    /// Milliseconds since the target was created.
    pub uptime_ms: u64,
}

/// Counters per route, keyed in JSON by path (`"/ping"`, `"/metrics"`) or `"other"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutesSnapshot {
    /// `/ping`.
    #[serde(rename = "/ping")]
    pub ping: RouteSnapshot,
    /// `/metrics`.
    #[serde(rename = "/metrics")]
    pub metrics: RouteSnapshot,
    /// Every other path.
    pub other: RouteSnapshot,
}

/// The counters of one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSnapshot {
    /// Requests received.
    pub requests_received: u64,
    /// Responses handed to hyper for writing.
    pub responses_sent: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sums_routes() {
        let counters = Counters::default();
        counters.route(Route::of("/ping")).request_received();
        counters.route(Route::of("/ping")).response_sent();
        counters.route(Route::of("/nope")).request_received();
        counters.connection_accepted();
        let snapshot = counters.snapshot(7);
        assert_eq!(snapshot.requests_received, 2);
        assert_eq!(snapshot.responses_sent, 1);
        assert_eq!(snapshot.routes.other.requests_received, 1);
        assert_eq!(snapshot.connections_accepted, 1);

        let json = serde_json::to_value(snapshot).unwrap();
        assert_eq!(json["routes"]["/ping"]["responses_sent"], 1);
        assert_eq!(json["uptime_ms"], 7);
    }
}
