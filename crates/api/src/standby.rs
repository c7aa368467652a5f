//! The API of an orchestrator that stands by in a cluster, until it leads.
//!
//! [`standby`] gives a router that answers every request (reads and writes alike, the dashboard
//! included) with a `307 Temporary Redirect` to the same path on the active orchestrator's API
//! when the election names one, so a client never reads a standby's stale state and a write is
//! repeated there with its method and body; a `503` with the API's error body `{"error"}` and
//! `Retry-After: 1`
//! when no active orchestrator is known (an election under way, or this one taking over or
//! deposed). Once this orchestrator leads, [`Activation::activate`] hands it the full
//! [`crate::router`] and every request from then on goes there, on the same listener.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onslaught_transport::Standing;
use tokio::sync::watch;
use tower::ServiceExt;

/// What a standby's router answers from.
#[derive(Clone)]
struct Switch {
    /// This candidate's standing in the election.
    standing: watch::Receiver<Standing>,
    /// The full API, once this orchestrator leads.
    active: Arc<OnceLock<Router>>,
}

/// Hands the standby's router the full API once its orchestrator leads.
#[derive(Clone)]
pub struct Activation {
    active: Arc<OnceLock<Router>>,
}

impl Activation {
    /// From now on every request goes to `router` (a second call changes nothing).
    pub fn activate(&self, router: Router) {
        let _ = self.active.set(router);
    }
}

/// A router for an orchestrator standing by in its cluster (see the module's documentation),
/// and the handle that turns it into the full API.
pub fn standby(standing: watch::Receiver<Standing>) -> (Router, Activation) {
    let active = Arc::new(OnceLock::new());
    let switch = Switch {
        standing,
        active: Arc::clone(&active),
    };
    let router = Router::new().fallback(answer).with_state(switch);
    (router, Activation { active })
}

async fn answer(State(switch): State<Switch>, request: Request) -> Response {
    if let Some(router) = switch.active.get() {
        return match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    let reason = match &*switch.standing.borrow() {
        Standing::Standby {
            leader: Some(lease),
        } if !lease.api_url.is_empty() => {
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str());
            let location = format!("{}{path}", lease.api_url.trim_end_matches('/'));
            if let Ok(location) = HeaderValue::try_from(location) {
                return (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, location)],
                )
                    .into_response();
            }
            "the active orchestrator's address is not a valid URL".to_owned()
        }
        Standing::Standby { .. } => {
            "this orchestrator stands by and no active orchestrator is known yet (an election is under way); retry shortly".to_owned()
        }
        Standing::Leader(lease) => format!(
            "this orchestrator was just elected (epoch {}) and is taking over; retry shortly",
            lease.epoch
        ),
        Standing::Deposed(lease) => format!(
            "this orchestrator was deposed (its epoch {} is over); ask the active one",
            lease.epoch
        ),
    };
    // The error body every refusal has (`ApiError`'s), without its log line: a standby
    // answering so is expected, not a failure of this server.
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
        axum::Json(serde_json::json!({ "error": reason })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use onslaught_transport::Lease;

    use super::*;

    fn lease(epoch: u64) -> Lease {
        Lease {
            epoch,
            node_id: "orchestrator-a".into(),
            api_url: "http://127.0.0.1:9/".into(),
        }
    }

    async fn send(router: &Router, method: &str, uri: &str) -> Response {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        router.clone().oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn a_standby_redirects_reads_and_writes_to_the_leader_or_says_none_is_known() {
        let (tx, rx) = watch::channel(Standing::Standby { leader: None });
        let (router, activation) = standby(rx);

        let none = send(&router, "POST", "/api/tests").await;
        assert_eq!(none.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(none.headers()[header::RETRY_AFTER], "1");
        let body = axum::body::to_bytes(none.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(body["error"].as_str().unwrap().contains("stands by"));

        tx.send_replace(Standing::Standby {
            leader: Some(lease(4)),
        });
        for (method, uri) in [
            ("POST", "/api/tests/t-1/stop"),
            ("GET", "/api/tests?limit=2"),
        ] {
            let moved = send(&router, method, uri).await;
            assert_eq!(
                moved.status(),
                StatusCode::TEMPORARY_REDIRECT,
                "{method} {uri}"
            );
            assert_eq!(
                moved.headers()[header::LOCATION],
                format!("http://127.0.0.1:9{uri}")
            );
        }

        tx.send_replace(Standing::Leader(lease(5)));
        let taking_over = send(&router, "GET", "/api/tests").await;
        assert_eq!(taking_over.status(), StatusCode::SERVICE_UNAVAILABLE);

        activation
            .activate(Router::new().route("/api/tests", axum::routing::get(|| async { "mine" })));
        let served = send(&router, "GET", "/api/tests").await;
        assert_eq!(served.status(), StatusCode::OK);

        tx.send_replace(Standing::Deposed(lease(5)));
        assert_eq!(
            send(&router, "GET", "/api/tests").await.status(),
            StatusCode::OK,
            "the full API stays until the process stops it"
        );
    }
}
