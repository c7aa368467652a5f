//! Request, response and connection counters, kept with relaxed atomics so that counting
//! costs next to nothing, and [`MetricsSnapshot`], their serializable view.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::sessions::SessionsSnapshot;

/// The routes the target counts separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/ping`: the cheap health answer load tests hit.
    Ping,
    /// `/metrics`: these counters.
    Metrics,
    /// `/login`: issues tokens.
    Login,
    /// `/items/{id}`: needs a token.
    Items,
    /// `/echo`: answers the request's body.
    Echo,
    /// `/cart`: needs the session cookie.
    Cart,
    /// Every other path (answered 404).
    Other,
}

impl Route {
    /// The route serving `path`.
    pub(crate) fn of(path: &str) -> Route {
        match path {
            "/ping" => Route::Ping,
            "/metrics" => Route::Metrics,
            "/login" => Route::Login,
            "/echo" => Route::Echo,
            "/cart" => Route::Cart,
            _ if path.starts_with("/items/") => Route::Items,
            _ => Route::Other,
        }
    }

    /// The largest body the route reads, or `None` when it discards the body unread.
    pub(crate) fn body_limit(self) -> Option<usize> {
        match self {
            Route::Login => Some(64 * 1024),
            Route::Echo => Some(1024 * 1024),
            Route::Ping | Route::Metrics | Route::Items | Route::Cart | Route::Other => None,
        }
    }
}

/// The lowest status counted on its own: the target sends no informational responses.
const FIRST_STATUS: u16 = 200;
/// How many statuses are counted on their own: `200..=599`.
const STATUSES: usize = 400;

/// Counters for one route.
#[derive(Debug)]
pub(crate) struct RouteCounters {
    /// Requests whose head was read and handed to the handler.
    requests_received: AtomicU64,
    /// Responses handed to hyper for writing, by status from 200 (index 0) to 599: one
    /// atomic add per response, as a single counter would cost.
    statuses: [AtomicU64; STATUSES],
}

impl Default for RouteCounters {
    fn default() -> Self {
        Self {
            requests_received: AtomicU64::new(0),
            statuses: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl RouteCounters {
    pub(crate) fn request_received(&self) {
        self.requests_received.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a response of `status` (a status outside 200..=599, which the target never
    /// sends, is counted as 599).
    pub(crate) fn response_sent(&self, status: u16) {
        let index = match status.checked_sub(FIRST_STATUS).map(usize::from) {
            Some(index) if index < STATUSES => index,
            _ => STATUSES - 1,
        };
        self.statuses[index].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> RouteSnapshot {
        let statuses: BTreeMap<u16, u64> = (FIRST_STATUS..)
            .zip(&self.statuses)
            .map(|(status, count)| (status, count.load(Ordering::Relaxed)))
            .filter(|&(_, count)| count > 0)
            .collect();
        RouteSnapshot {
            requests_received: self.requests_received.load(Ordering::Relaxed),
            responses_sent: statuses.values().sum(),
            statuses,
        }
    }
}

/// Every counter of one target.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    ping: RouteCounters,
    metrics: RouteCounters,
    login: RouteCounters,
    items: RouteCounters,
    echo: RouteCounters,
    cart: RouteCounters,
    other: RouteCounters,
    /// Connections accepted by the listener.
    connections_accepted: AtomicU64,
}

impl Counters {
    pub(crate) fn route(&self, route: Route) -> &RouteCounters {
        match route {
            Route::Ping => &self.ping,
            Route::Metrics => &self.metrics,
            Route::Login => &self.login,
            Route::Items => &self.items,
            Route::Echo => &self.echo,
            Route::Cart => &self.cart,
            Route::Other => &self.other,
        }
    }

    pub(crate) fn connection_accepted(&self) {
        self.connections_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now; totals are the sums over routes.
    pub(crate) fn snapshot(&self, uptime_ms: u64, sessions: SessionsSnapshot) -> MetricsSnapshot {
        let routes = RoutesSnapshot {
            ping: self.ping.snapshot(),
            metrics: self.metrics.snapshot(),
            login: self.login.snapshot(),
            items: self.items.snapshot(),
            echo: self.echo.snapshot(),
            cart: self.cart.snapshot(),
            other: self.other.snapshot(),
        };
        let all = routes.all();
        MetricsSnapshot {
            requests_received: all.iter().map(|r| r.requests_received).sum(),
            responses_sent: all.iter().map(|r| r.responses_sent).sum(),
            connections_accepted: self.connections_accepted.load(Ordering::Relaxed),
            uptime_ms,
            routes,
            sessions,
        }
    }
}

/// What `GET /metrics` answers.
///
/// The counters are read one by one, not atomically together, so a snapshot taken under load
/// may be off by the requests in flight. A `/metrics` request counts itself as received but
/// not yet as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Requests received on every route.
    pub requests_received: u64,
    /// Responses handed to hyper for writing on every route (resets send none).
    pub responses_sent: u64,
    /// The same counters per route, with responses by status.
    pub routes: RoutesSnapshot,
    /// Connections accepted since the target started serving.
    pub connections_accepted: u64,
    /// Milliseconds since the target was created.
    pub uptime_ms: u64,
    /// Logins, and requests authorized by their tokens, in total and per listed account.
    pub sessions: SessionsSnapshot,
}

/// Counters per route, keyed in JSON by path (`"/ping"`, `"/items"` for every `/items/{id}`)
/// or `"other"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutesSnapshot {
    /// `/ping`.
    #[serde(rename = "/ping")]
    pub ping: RouteSnapshot,
    /// `/metrics`.
    #[serde(rename = "/metrics")]
    pub metrics: RouteSnapshot,
    /// `/login`.
    #[serde(rename = "/login")]
    pub login: RouteSnapshot,
    /// `/items/{id}`, every id.
    #[serde(rename = "/items")]
    pub items: RouteSnapshot,
    /// `/echo`.
    #[serde(rename = "/echo")]
    pub echo: RouteSnapshot,
    /// `/cart`.
    #[serde(rename = "/cart")]
    pub cart: RouteSnapshot,
    /// Every other path.
    pub other: RouteSnapshot,
}

impl RoutesSnapshot {
    fn all(&self) -> [&RouteSnapshot; 7] {
        [
            &self.ping,
            &self.metrics,
            &self.login,
            &self.items,
            &self.echo,
            &self.cart,
            &self.other,
        ]
    }
}

/// The counters of one route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteSnapshot {
    /// Requests received.
    pub requests_received: u64,
    /// Responses handed to hyper for writing: the sum of `statuses`.
    pub responses_sent: u64,
    /// Responses by status code, only the codes sent (in JSON, keys such as `"200"`).
    pub statuses: BTreeMap<u16, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sums_routes() {
        let counters = Counters::default();
        counters.route(Route::of("/ping")).request_received();
        counters.route(Route::of("/ping")).response_sent(200);
        counters.route(Route::of("/nope")).request_received();
        counters.route(Route::of("/items/7")).response_sent(401);
        counters.route(Route::of("/items/8")).response_sent(200);
        counters.route(Route::of("/items/9")).response_sent(200);
        counters.connection_accepted();
        let sessions = crate::sessions::Sessions::new(crate::Accounts::default()).snapshot();
        let snapshot = counters.snapshot(7, sessions);
        assert_eq!(snapshot.requests_received, 2);
        assert_eq!(snapshot.responses_sent, 4);
        assert_eq!(snapshot.routes.other.requests_received, 1);
        assert_eq!(snapshot.routes.items.responses_sent, 3);
        assert_eq!(snapshot.routes.items.statuses[&200], 2);
        assert_eq!(snapshot.connections_accepted, 1);

        let json = serde_json::to_value(snapshot).unwrap();
        assert_eq!(json["routes"]["/ping"]["responses_sent"], 1);
        assert_eq!(json["routes"]["/ping"]["statuses"]["200"], 1);
        assert_eq!(json["routes"]["/items"]["statuses"]["401"], 1);
        assert_eq!(json["uptime_ms"], 7);
        assert_eq!(json["sessions"]["logins"], 0);
    }

    #[test]
    fn routes_are_told_apart_by_path() {
        assert_eq!(Route::of("/"), Route::Other);
        assert_eq!(Route::of("/items"), Route::Other);
        assert_eq!(Route::of("/items/"), Route::Items);
        assert_eq!(Route::of("/items/12"), Route::Items);
        assert_eq!(Route::of("/login"), Route::Login);
        assert_eq!(Route::of("/login/"), Route::Other);
        assert_eq!(Route::of("/echo"), Route::Echo);
        assert_eq!(Route::of("/cart"), Route::Cart);
    }

    #[test]
    fn out_of_range_statuses_are_counted_as_599() {
        let counters = RouteCounters::default();
        counters.response_sent(999);
        counters.response_sent(100);
        counters.response_sent(599);
        assert_eq!(counters.snapshot().statuses[&599], 3);
    }
}
